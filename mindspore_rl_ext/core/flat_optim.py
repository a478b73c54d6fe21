"""Fused optimiser: one Adam kernel and one Polyak chain per network, over flat buffers.

MindSpore's ``nn.Adam`` launches one Adam kernel per parameter tensor and ``polyak``
four kernels (Mul, Mul, Add, Assign) per tensor; at batch 256 on a CPU, those launches
(~10 us each) cost more than the arithmetic. Here every network's parameters, and
its Adam moments, are copied into one contiguous float32 buffer each (:class:`FlatParams`)
at the start of a compiled training call and back at its end, so inside the call's
thousand steps:

* a network reads its weights as views of the buffer (``ops.split``, one kernel) through
  its ``forward(weights, ...)``; the gradient w.r.t. the buffer is their concatenation;
* :class:`FlatAdam` runs MindSpore's own ``Adam`` kernel once over the buffer -- the maths
  of ``nn.Adam``, bit for bit: lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t), m += (g - m)(1 -
  beta1), v += (g^2 - v)(1 - beta2), w -= lr_t m / (sqrt(v) + eps) (eps outside the bias
  correction, as TensorFlow's), lr from the optimiser's schedule at the pre-step count;
* :class:`AdamClock` advances the step count and beta powers once per update for all the
  optimisers of an update (they step together), instead of once per optimiser;
* Polyak averaging of targets is one chain over two buffers (``polyak`` on them).

Outside a training call the per-parameter Parameters (and ``nn.Adam``'s per-parameter
moments, beta powers and step) hold the state, as before: checkpoints, evaluation copies
and ``write_params`` see the same names and layout, and old checkpoints load. The flat
buffers are scratch: held in plain lists, so they are not in ``parameters_and_names``
(never checkpointed), and written only in-graph (``pack``/``unpack``), which is the only
write a compiled graph sees (see :mod:`mindspore_rl_ext.core.weights`).

``fused=False`` gives the per-parameter path (``nn.Adam`` and per-tensor Polyak) through
the same interface: the reference the fused path is tested against.
"""
import itertools

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.ops.auto_generate import SplitWithSize

from mindspore_rl_ext.core.weights import polyak

_ids = itertools.count()


class ParamList(nn.Cell):
    """A list of Parameters read and updated one by one (the per-parameter path)."""

    def __init__(self, params):
        super().__init__()
        # plain tuples (not ParameterTuple): nothing is registered under this cell, so the
        # parameters keep their names and checkpoint entries
        self.params = tuple(params)
        self.grad_params = self.params

    def read(self):
        return self.params

    def pack(self):
        return True

    def unpack(self):
        return True

    def polyak_to(self, target, tau):
        """``target <- (1 - tau) target + tau self``, parameter by parameter."""
        return polyak(target.params, self.params, tau)


class FlatParams(nn.Cell):
    """One flat float32 buffer mirroring ``params`` (same order), for a training call.

    ``read()``: tensors shaped like ``params``, split from the buffer (differentiable:
    gradients w.r.t. ``grad_params`` come back as one flat tensor); ``pack()``: buffer <-
    the parameters; ``unpack()``: parameters <- the buffer (both in-graph)."""

    def __init__(self, params):
        super().__init__()
        self.params = tuple(params)
        for p in self.params:
            if p.dtype != ms.float32:
                raise ValueError(f"FlatParams: parameter '{p.name}' is {p.dtype}, not float32")
        self.shapes = tuple(tuple(p.shape) for p in self.params)
        self.sizes = tuple(int(np.prod(s)) for s in self.shapes)
        flat = np.concatenate([p.asnumpy().reshape(-1) for p in self.params])
        # a plain list: scratch state, left out of parameters_and_names (never checkpointed)
        self.buffer = [Parameter(Tensor(flat), name=f"flat_buffer_{next(_ids)}")]
        self.grad_params = tuple(self.buffer)

    def read(self):
        return split_flat(self.buffer[0], self.sizes, self.shapes)

    def pack(self):
        return ops.assign(self.buffer[0], ops.concat([p.reshape(-1) for p in self.params]))

    def unpack(self):
        for param, value in zip(self.params, self.read()):
            ops.assign(param, value)
        return True

    def polyak_to(self, target, tau):
        """``target <- (1 - tau) target + tau self`` over the two buffers (same layout)."""
        return polyak(target.buffer, self.buffer, tau)


_SPLIT = SplitWithSize()  # copies (Slice kernels); its gradient is one Concat


def split_flat(flat, sizes, shapes):
    """Views of a flat tensor: pieces of ``sizes``, reshaped to ``shapes``."""
    if len(sizes) == 1:
        return (flat.reshape(shapes[0]),)
    pieces = _SPLIT(flat, sizes, 0)
    return tuple(piece.reshape(shape) for piece, shape in zip(pieces, shapes))


def param_store(params, fused):
    """FlatParams (fused) or ParamList over ``params``."""
    return FlatParams(params) if fused else ParamList(params)


class FlatAdam(nn.Adam):
    """``nn.Adam`` (same parameters, moments, names, maths) that also updates through
    flat buffers.

    ``weights``: the parameters' store (FlatParams when ``fused``, else ParamList);
    ``read()`` them for the forward pass, differentiate w.r.t. ``weights.grad_params``,
    then ``apply(grads, clock)``: one Adam kernel over the buffer (fused; ``clock`` from
    :meth:`AdamClock.advance`) or ``nn.Adam``'s own per-parameter step (not fused).
    Only plain single-group Adam (no weight decay, no group learning rates)."""

    def __init__(self, params, learning_rate, fused=True, **adam_kwargs):
        super().__init__(list(params), learning_rate=learning_rate, **adam_kwargs)
        if self.is_group or self.exec_weight_decay or self.need_scale or self.use_amsgrad \
                or self.use_lazy or self.use_offload or self.use_nesterov:
            raise ValueError("FlatAdam supports plain Adam only (one group, no weight decay, no "
                             "loss scale, no amsgrad/lazy/offload/nesterov)")
        self.fused = bool(fused)
        self.weights = param_store(self._parameters, self.fused)
        if self.fused:
            self.flat_m = FlatParams(self.moment1)
            self.flat_v = FlatParams(self.moment2)

    def lr_at(self, step):
        """The learning rate at optimiser step ``step`` (as ``get_lr`` at that step)."""
        if self.dynamic_lr:
            return self.learning_rate(step).reshape(())
        return self.learning_rate

    def apply(self, grads, clock):
        if not self.fused:
            return self.construct(grads)
        step, beta1_power, beta2_power = clock
        return self.opt(self.weights.buffer[0], self.flat_m.buffer[0], self.flat_v.buffer[0],
                        beta1_power, beta2_power, self.lr_at(step), self.beta1, self.beta2,
                        self.eps, grads[0])

    def pack(self):
        if self.fused:
            for store in (self.weights, self.flat_m, self.flat_v):
                store.pack()
        return True

    def unpack(self):
        if self.fused:
            for store in (self.weights, self.flat_m, self.flat_v):
                store.unpack()
        return True


class AdamClock(nn.Cell):
    """Step count and beta powers shared by FlatAdam optimisers that always step together
    (one update = one step of each): advanced once per update, in the first optimiser's
    Parameters, and copied to the others at the end of a training call (``unpack``)."""

    def __init__(self, optimizers):
        super().__init__()
        betas = {(float(o.beta1.asnumpy()), float(o.beta2.asnumpy())) for o in optimizers}
        if len(betas) != 1:
            raise ValueError(f"AdamClock: the optimisers' (beta1, beta2) differ: {sorted(betas)}")
        self.optimizers = tuple(optimizers)
        self.lead = optimizers[0]

    def advance(self):
        """(step before this update, beta1^t, beta2^t), the step counted; what ``nn.Adam``
        computes at the start of its step."""
        lead = self.lead
        step = lead.global_step.value()
        ops.assign_add(lead.global_step, lead.global_step_increase_tensor)
        beta1_power = lead.beta1_power * lead.beta1
        ops.assign(lead.beta1_power, beta1_power)
        beta2_power = lead.beta2_power * lead.beta2
        ops.assign(lead.beta2_power, beta2_power)
        return step, beta1_power, beta2_power

    def unpack(self):
        lead = self.lead
        for opt in self.optimizers[1:]:
            ops.assign(opt.global_step, lead.global_step)
            ops.assign(opt.beta1_power, lead.beta1_power)
            ops.assign(opt.beta2_power, lead.beta2_power)
        return True
