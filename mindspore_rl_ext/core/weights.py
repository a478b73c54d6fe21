"""Writing weights: host copies before compilation, in-graph writes after, Polyak averaging.

The MindSpore trap behind this module (MindSpore 2.10): once a graph with control flow
(our in-graph training loop, :mod:`mindspore_rl_ext.core.training_loop`) has been
compiled, ``Parameter.set_data`` / ``assign_value`` from Python give the parameter new
storage that the compiled graph never reads again; the training graph keeps updating
the old storage and the write is silently lost. Only an ``ops.assign`` *inside* a graph
writes the storage every graph shares. So:

* before any graph that uses the target is compiled (while building networks), copy on
  the host with :func:`copy_weights`;
* after that (loading a checkpoint into a live trainer, syncing an eval policy, writing
  rows), go through a graph: :class:`WeightCopy`, :func:`write_params`;
* target networks are averaged in-graph by :func:`polyak`, one convention everywhere:
  ``target <- (1 - tau) * target + tau * source``.
"""
import mindspore as ms
from mindspore import ParameterTuple, nn, ops


def polyak(targets, sources, tau):
    """``target <- (1 - tau) * target + tau * source`` for each pair; graph-safe (call it
    inside a compiled step). An EMA with decay d is ``polyak(ema, online, 1 - d)``."""
    for target, source in zip(targets, sources):
        ops.assign(target, target * (1.0 - tau) + source * tau)
    return tau


def copy_weights(source, target, freeze=False):
    """Host copy of ``source``'s parameters into ``target`` (same architecture, matched by
    relative name). Only before a graph using ``target`` is compiled (else WeightCopy).
    ``freeze``: mark the target's parameters non-trainable (target networks)."""
    values = dict(source.parameters_and_names())
    for name, param in target.parameters_and_names():
        param.set_data(values[name].value().copy())
        if freeze:
            param.requires_grad = False


class ParameterWriter(nn.Cell):
    """``writer(values)`` assigns ``values[i]`` to ``params[i]`` inside a graph."""

    def __init__(self, params):
        super().__init__()
        self.params = ParameterTuple(params)

    def construct(self, values):
        for param, value in zip(self.params, values):
            ops.assign(param, value)
        return True


class WeightCopy(nn.Cell):
    """``copy()`` assigns each source parameter to the target parameter of the same
    relative name (two cells of the same architecture), inside a graph."""

    def __init__(self, source, target):
        super().__init__()
        values = dict(source.parameters_and_names())
        pairs = [(values[name], param) for name, param in target.parameters_and_names()]
        self.sources = ParameterTuple([s for s, _ in pairs])
        self.targets = ParameterTuple([t for _, t in pairs])

    def construct(self):
        for source, target in zip(self.sources, self.targets):
            ops.assign(target, source)
        return True


def write_params(params, arrays):
    """Assign numpy ``arrays`` to ``params`` (same order, shapes checked by the caller)."""
    values = tuple(ms.Tensor(a, dtype=p.dtype) for p, a in zip(params, arrays))
    ParameterWriter(params)(values)
