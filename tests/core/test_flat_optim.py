"""Fused optimiser over flat buffers: Adam equal to nn.Adam and to a NumPy Adam, Polyak over
flat buffers equal to per-parameter NumPy, buffers invisible to checkpoints, bad input."""
import math

import mindspore as ms
import numpy as np
import pytest
from mindspore import Parameter, Tensor, nn, ops

from mindspore_rl_ext.core.flat_optim import AdamClock, FlatAdam, FlatParams, ParamList

SHAPES = [(3, 4), (4,), (1,), (2, 3)]


def make_params(seed, prefix):
    rng = np.random.default_rng(seed)
    return [Parameter(Tensor(rng.standard_normal(s).astype(np.float32)), name=f"{prefix}{i}")
            for i, s in enumerate(SHAPES)]


class QuadraticTraining(nn.Cell):
    """``n`` Adam steps on L = sum_i 0.5 sum(a_i (p_i - t_i)^2) (gradient a_i (p_i - t_i)),
    through FlatAdam (fused or not) in one graph call, as a training loop runs them."""

    def __init__(self, params, lr, fused, betas=(0.9, 0.999)):
        super().__init__()
        rng = np.random.default_rng(7)
        self.scales = tuple(Tensor(rng.uniform(0.5, 2.0, p.shape).astype(np.float32)) for p in params)
        self.goals = tuple(Tensor(rng.standard_normal(p.shape).astype(np.float32)) for p in params)
        self.opt = FlatAdam(params, lr, fused, beta1=betas[0], beta2=betas[1])
        self.clock = AdamClock([self.opt])
        self.fused = fused
        self.grad = ms.value_and_grad(self.loss, None, self.opt.weights.grad_params)

    def loss(self):
        total = 0.0
        for w, a, t in zip(self.opt.weights.read(), self.scales, self.goals):
            total = total + (0.5 * a * (w - t) * (w - t)).sum()
        return total

    def construct(self, n):
        self.opt.pack()
        i = ops.zeros((), ms.int32)
        while i < n:
            clock = self.clock.advance() if self.fused else None
            _, grads = self.grad()
            self.opt.apply(grads, clock)
            i = i + 1
        self.opt.unpack()
        return i


def numpy_adam(params, scales, goals, lr_at, steps, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as MindSpore's kernel computes it (eps added to sqrt(v), outside the bias
    correction), float64."""
    w = [p.astype(np.float64) for p in params]
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    for t in range(1, steps + 1):
        lr_t = lr_at(t - 1) * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for i in range(len(w)):
            g = scales[i] * (w[i] - goals[i])
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            w[i] = w[i] - lr_t * m[i] / (np.sqrt(v[i]) + eps)
    return w, m, v


def run(lr, fused, steps, calls=1):
    params = make_params(0, "w")
    cell = QuadraticTraining(params, lr, fused)
    for _ in range(calls):
        cell(Tensor(steps, ms.int32))
    return cell


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_fused_adam_equals_nn_adam_and_numpy_adam(schedule):
    def lr():
        return nn.CosineDecayLR(0.0, 0.05, 8) if schedule == "cosine" else 0.05

    fused, reference = run(lr(), True, 3, calls=2), run(lr(), False, 3, calls=2)  # 6 steps
    for p, q in zip(fused.opt.parameters, reference.opt.parameters):
        np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-6, atol=1e-7)
    for p, q in zip(fused.opt.moment2, reference.opt.moment2):
        np.testing.assert_allclose(p.asnumpy(), q.asnumpy(), rtol=1e-6, atol=1e-9)
    assert int(fused.opt.global_step.asnumpy()[0]) == int(reference.opt.global_step.asnumpy()[0]) == 6
    assert float(fused.opt.beta1_power.asnumpy()) == pytest.approx(0.9 ** 6, rel=1e-6)

    def lr_at(step):
        if schedule == "constant":
            return 0.05
        return 0.5 * 0.05 * (1 + math.cos(math.pi * min(step, 8) / 8))

    w, m, _ = numpy_adam([p.asnumpy() for p in make_params(0, "w")],
                         [s.asnumpy() for s in fused.scales], [t.asnumpy() for t in fused.goals],
                         lr_at, 6)
    for p, expected in zip(fused.opt.parameters, w):
        np.testing.assert_allclose(p.asnumpy(), expected, rtol=1e-5, atol=1e-6)
    for p, expected in zip(fused.opt.moment1, m):
        np.testing.assert_allclose(p.asnumpy(), expected, rtol=1e-5, atol=1e-6)


def test_eps_is_added_outside_the_bias_correction():
    """With g = 1e-6 on step 1, m/(sqrt(v)+eps) differs between eps placements by ~1%."""
    p = Parameter(Tensor(np.zeros(1, np.float32)), name="p")

    class Linear(nn.Cell):
        def __init__(self):
            super().__init__()
            self.opt = FlatAdam([p], 1.0, True, eps=1e-8)
            self.clock = AdamClock([self.opt])
            self.grad = ms.value_and_grad(self.loss, None, self.opt.weights.grad_params)

        def loss(self):
            return (self.opt.weights.read()[0] * 1e-6).sum()

        def construct(self):
            self.opt.pack()
            _, grads = self.grad()
            self.opt.apply(grads, self.clock.advance())
            self.opt.unpack()
            return True

    Linear()()
    g, b2 = 1e-6, 0.999
    lr_t = math.sqrt(1 - b2) / (1 - 0.9)
    m, v = 0.1 * g, (1 - b2) * g * g
    expected = -lr_t * m / (math.sqrt(v) + 1e-8)  # MindSpore/TF: eps on sqrt(v)
    torch_style = -(m / 0.1) / (math.sqrt(v / (1 - b2)) + 1e-8)  # eps on sqrt(v_hat)
    assert abs(expected - torch_style) > 0.005
    assert float(p.asnumpy()[0]) == pytest.approx(expected, rel=1e-4)


class PolyakCell(nn.Cell):
    def __init__(self, source, target, tau):
        super().__init__()
        self.source, self.target, self.tau = source, target, tau

    def construct(self):
        self.source.pack()
        self.target.pack()
        self.source.polyak_to(self.target, self.tau)
        self.target.unpack()
        return True


def test_polyak_over_flat_buffers_equals_per_parameter_numpy():
    sources, targets = make_params(1, "s"), make_params(2, "t")
    before = [t.asnumpy().copy() for t in targets]
    PolyakCell(FlatParams(sources), FlatParams(targets), 0.005)()
    for t, b, s in zip(targets, before, sources):
        np.testing.assert_allclose(t.asnumpy(), 0.995 * b.astype(np.float64) + 0.005 * s.asnumpy(),
                                   rtol=1e-6, atol=1e-7)
    per_param_t = make_params(2, "u")
    PolyakCell(ParamList(make_params(1, "r")), ParamList(per_param_t), 0.005)()
    for a, b in zip(targets, per_param_t):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


def test_flat_buffers_are_not_checkpoint_entries_and_pack_unpack_round_trip():
    params = make_params(3, "w")
    cell = QuadraticTraining(params, 0.1, True)
    names = [n for n, _ in cell.parameters_and_names()]
    reference = [n for n, _ in QuadraticTraining(make_params(3, "w"), 0.1, False).parameters_and_names()]
    assert names == reference  # same entries (moments, beta powers, step) as nn.Adam's
    assert not any("flat" in n for n in names)
    cell(Tensor(0, ms.int32))  # pack + unpack only
    for p, q in zip(params, make_params(3, "w")):
        np.testing.assert_array_equal(p.asnumpy(), q.asnumpy())


def test_bad_input_is_refused_naming_what_is_wrong():
    with pytest.raises(ValueError, match="plain Adam only"):
        FlatAdam(make_params(4, "w"), 0.1, True, weight_decay=0.1)
    a = FlatAdam(make_params(5, "a"), 0.1, True)
    b = FlatAdam(make_params(6, "b"), 0.1, True, beta1=0.5)
    with pytest.raises(ValueError, match="beta1, beta2"):
        AdamClock([a, b])
    half = Parameter(Tensor(np.zeros(2, np.float16)), name="h")
    with pytest.raises(ValueError, match="'h' is Float16, not float32"):
        FlatParams([half])
