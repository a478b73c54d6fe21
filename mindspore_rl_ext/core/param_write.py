"""Writing parameter values so that every compiled graph sees them.

MindSpore 2.10: once a graph with control flow (our in-graph training loop) has been
compiled, ``Parameter.set_data`` / ``assign_value`` from Python give the parameter new
storage that graph never reads again; only an ``ops.assign`` *inside* a graph writes the
storage every graph shares. So all writes after construction go through these cells.
"""
import mindspore as ms
from mindspore import ParameterTuple, nn, ops


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
