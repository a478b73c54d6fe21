"""DDPM schedule values, the noise network and the reverse-chain sampler (nets/diffusion.py)."""
import math

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn, ops

from mindspore_rl_ext.nets.diffusion import (Diffusion, DiffusionSchedule, SinusoidalPosEmb,
                                             make_beta_schedule, numpy_reverse_chain,
                                             vp_beta_schedule)


def test_vp_schedule_T5_matches_the_spec():
    betas = vp_beta_schedule(5)
    np.testing.assert_allclose(betas, [0.19587, 0.45882, 0.63578, 0.75488, 0.83503], atol=1e-5)
    sch = DiffusionSchedule(betas)
    np.testing.assert_allclose(sch.alphas_cumprod, [0.80413, 0.43518, 0.15850, 0.03885, 0.00641],
                               atol=1e-5)


def test_schedule_buffers_are_the_standard_ddpm_ones():
    sch = DiffusionSchedule.create("vp", 5)
    ab, ab_prev = sch.alphas_cumprod, sch.alphas_cumprod_prev
    assert ab_prev[0] == 1.0 and np.allclose(ab_prev[1:], ab[:-1])
    np.testing.assert_allclose(sch.sqrt_recip_alphas_cumprod * sch.sqrt_alphas_cumprod, 1.0)
    # posterior variance is 0 at t = 0, its log clamped at log(1e-20)
    assert sch.posterior_variance[0] == 0.0
    assert sch.posterior_log_variance_clipped[0] == pytest.approx(math.log(1e-20))
    # noise-free x_t = sqrt(ab_t) x0 has posterior mean sqrt(ab_{t-1}) x0
    x0 = 0.7
    mean = sch.posterior_mean_coef1 * x0 + sch.posterior_mean_coef2 * np.sqrt(ab) * x0
    np.testing.assert_allclose(mean, np.sqrt(ab_prev) * x0, rtol=1e-12)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_other_schedules(name):
    betas = make_beta_schedule(name, 100)
    assert betas.shape == (100,) and np.all(betas > 0) and np.all(betas <= 0.999)
    assert np.all(np.diff(betas) >= -1e-12)  # non-decreasing


def test_unknown_schedule_and_bad_T_raise():
    with pytest.raises(ValueError, match="beta_schedule 'sigmoid'"):
        make_beta_schedule("sigmoid", 5)
    with pytest.raises(ValueError, match="T"):
        make_beta_schedule("vp", 0)


class _Emb(nn.Cell):
    def __init__(self):
        super().__init__()
        self.emb = SinusoidalPosEmb(16)

    def construct(self, t):
        return self.emb(t)


def test_sinusoidal_embedding_sin_first_with_the_spec_frequencies():
    freqs = np.asarray(SinusoidalPosEmb(16).freqs.asnumpy()).ravel()
    np.testing.assert_allclose(freqs, [1, .268, .0720, .0193, .00518, .00139, .00037, 1e-4],
                               rtol=0.02)
    t = np.array([0, 1, 4], np.int32)
    out = _Emb()(Tensor(t)).asnumpy()
    expected = np.concatenate([np.sin(t[:, None] * freqs), np.cos(t[:, None] * freqs)], 1)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_noise_network_shapes_and_pytorch_default_init():
    d = Diffusion(obs_dim=3, act_dim=2, hidden_dim=32)
    mid = d.model.mid.layers
    assert [tuple(layer.weight.shape) for layer in mid] == [(32, 2 + 16 + 3), (32, 32), (32, 32)]
    assert tuple(d.model.final.weight.shape) == (2, 32)
    w = mid[0].weight.asnumpy()
    assert np.abs(w).max() <= 1.0 / math.sqrt(21) + 1e-6  # kaiming-uniform(a=sqrt 5) bound


class _Eps(nn.Cell):
    def __init__(self, diffusion):
        super().__init__()
        self.d = diffusion

    def construct(self, x, t, s):
        return self.d.model(x, t, s)


class _Chain(nn.Cell):
    def __init__(self, diffusion):
        super().__init__()
        self.d = diffusion

    def construct(self, s, x, noises):
        return self.d.p_sample_loop(s, x, noises)


class _Sample(nn.Cell):
    def __init__(self, diffusion):
        super().__init__()
        self.d = diffusion

    def construct(self, s):
        return self.d.sample(s)


@pytest.fixture(scope="module")
def small():
    ms.set_seed(1)
    return Diffusion(obs_dim=3, act_dim=2, max_action=1.0, n_timesteps=5, hidden_dim=32)


def test_reverse_chain_matches_the_numpy_reference(small):
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 3)).astype(np.float32)
    x_T = rng.standard_normal((6, 2)).astype(np.float32)
    noises = rng.standard_normal((5, 6, 2)).astype(np.float32)
    eps = _Eps(small)

    def eps_fn(x, t, state):
        return eps(Tensor(x.astype(np.float32)), Tensor(t), Tensor(state)).asnumpy().astype(np.float64)

    expected = numpy_reverse_chain(small.schedule, eps_fn, s, x_T, noises, 1.0)
    got = _Chain(small)(Tensor(s), Tensor(x_T), Tensor(noises)).asnumpy()
    np.testing.assert_allclose(got, expected, atol=2e-5)
    assert np.abs(got).max() <= 1.0


def test_sampler_draws_fresh_noise_and_respects_max_action():
    ms.set_seed(2)
    d = Diffusion(obs_dim=3, act_dim=2, max_action=0.5, n_timesteps=5, hidden_dim=16)
    sample = _Sample(d)
    s = Tensor(np.zeros((256, 3), np.float32))
    a1, a2 = sample(s).asnumpy(), sample(s).asnumpy()
    assert a1.shape == (256, 2)
    assert np.abs(a1).max() <= 0.5 + 1e-6
    assert not np.allclose(a1, a2)  # fresh noise per call
    assert a1.std(0).min() > 1e-3  # and per row


def test_q_sample_and_predict_start_are_inverse(small):
    rng = np.random.default_rng(3)
    x0 = Tensor(rng.standard_normal((5, 2)).astype(np.float32))
    eps = Tensor(rng.standard_normal((5, 2)).astype(np.float32))
    t = Tensor(np.array([0, 1, 2, 3, 4], np.int32))
    back = small.predict_start_from_noise(small.q_sample(x0, t, eps), t, eps)
    np.testing.assert_allclose(back.asnumpy(), x0.asnumpy(), atol=1e-4)


class _ChainGrad(nn.Cell):
    """Gradient of sum(sampled action) w.r.t. the noise model's parameters."""

    def __init__(self, diffusion):
        super().__init__()
        self.d = diffusion
        self.params = diffusion.trainable_params()
        self.grad = ms.grad(self.f, None, self.params)

    def f(self, s, x, noises):
        return ops.sum(self.d.p_sample_loop(s, x, noises))

    def construct(self, s, x, noises):
        return self.grad(s, x, noises)


def test_gradient_flows_through_every_step_of_the_chain():
    ms.set_seed(4)
    d = Diffusion(obs_dim=3, act_dim=2, max_action=10.0, n_timesteps=5, hidden_dim=16)
    rng = np.random.default_rng(0)
    grads = _ChainGrad(d)(Tensor(rng.standard_normal((8, 3)).astype(np.float32)),
                          Tensor(rng.standard_normal((8, 2)).astype(np.float32)),
                          Tensor(rng.standard_normal((5, 8, 2)).astype(np.float32)))
    norms = [float(np.abs(g.asnumpy()).sum()) for g in grads]
    assert len(norms) == len(d.trainable_params())
    assert all(n > 0 for n in norms)  # time MLP included: every step reaches every weight
