"""IDQL / AlignIQL / AlignIQL-hard: scores and selection against hand-computed numbers, the
online sampler, the multiplier losses and their gradients, the DDPM loss and sampler, the
update's EMA / Polyak / frozen pretrained critic, config errors."""
import math
from types import SimpleNamespace

import mindspore as ms
import numpy as np
import pytest
from helpers import synthetic_dataset
from mindspore import Tensor, nn, ops

from mindspore_rl_ext.algorithms.idql import CandidateSelector, load_config
from mindspore_rl_ext.algorithms.idql.config import algorithm_config
from mindspore_rl_ext.algorithms.idql.networks import FourierFeatures, IDQLDiffusion
from mindspore_rl_ext.algorithms.idql.update import (SCORES, alpha_loss, beta_loss,
                                                     sampling_probabilities)
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.session import build_components
from mindspore_rl_ext.nets.diffusion import vp_beta_schedule

F32 = np.float32


def small_config(algo="idql", n=400, **critic):
    cfg = load_config(algo=algo)
    cfg["dataset_params"].update(dataset=synthetic_dataset(n), batch_size=16)
    cfg["policy_params"].update(hidden_dim=16, time_dim=8)
    cfg["critic_params"].update(hidden_sizes=[16, 16], **critic)
    cfg["actor_params"].update(num_candidates=4, eval_candidate_sweep=[])
    cfg["trainer_params"].update(n_steps_per_episode=3, eval_per_episode=0, save_per_episode=0)
    return cfg


def components(cfg, seed=0, episodes=4):
    ms.set_seed(seed)
    return build_components(algorithm_config(cfg, episodes))


def values(cell):
    return {n: p.asnumpy().copy() for n, p in cell.parameters_and_names()}


# ----------------------------------------------------------------------------- scores
Q = np.array([[1.0, 3.0, 2.2]], F32)
V = np.array([[2.5]], F32)


def score(algo, beta):
    return SCORES[algo](Tensor(Q), Tensor(V), Tensor(np.array([[beta]], F32))).asnumpy()


def test_scores_hand_computed():
    np.testing.assert_allclose(score("idql", 0.0), [[-1.5, 0.5, -0.3]], rtol=1e-6)
    np.testing.assert_allclose(score("aligniql", 0.0), [[-2.25, -0.25, -0.09]], rtol=1e-5)
    # -beta Q - 1 with beta = 0.5 / -0.5
    np.testing.assert_allclose(score("aligniql_hard", 0.5), [[-1.5, -2.5, -2.1]], rtol=1e-6)
    np.testing.assert_allclose(score("aligniql_hard", -0.5), [[-0.5, 0.5, 0.1]], rtol=1e-6)


class _Candidates(nn.Cell):
    """A stub 'EMA actor' whose samples are x_T itself."""

    def sample_with(self, state, x, noises):
        return x


class _Critic(nn.Cell):
    """Stub critic: Q(s, a) = a[0], V(s) = s[0]."""

    def target_q(self, obs, act):
        return act[:, 0]

    def v(self, obs):
        return obs[:, 0]


class _Multipliers(nn.Cell):
    """Stub multipliers: beta(s) = s[1]."""

    def beta(self, obs):
        return obs[:, 1]


def select(algo, state, q, gumbel=None, eta=1.0):
    b, n = q.shape
    nets = SimpleNamespace(ema_actor=_Candidates(), critic=_Critic(),
                           multipliers=_Multipliers() if algo == "aligniql_hard" else None)
    cell = CandidateSelector(nets, algo, n)
    x_T = np.stack([q.reshape(-1), np.arange(b * n, dtype=F32)], 1).astype(F32)
    gumbel = np.zeros((b, n), F32) if gumbel is None else gumbel.astype(F32)
    out = cell(Tensor(state.astype(F32)), Tensor(x_T), Tensor(np.zeros((1, b * n, 2), F32)),
               Tensor(gumbel), Tensor(eta, ms.float32)).asnumpy()
    return (out[:, 1] - np.arange(b) * n).astype(int)  # the chosen candidate per state


def test_greedy_selection_hand_computed():
    # two states, V = 2.5 and 0.0, beta = 0.5 and -0.5; Q per candidate:
    state = np.array([[2.5, 0.5], [0.0, -0.5]])
    q = np.array([[1.0, 3.0, 2.2], [-1.0, 0.2, 4.0]], F32)
    assert list(select("idql", state, q)) == [1, 2]              # max Q
    assert list(select("aligniql", state, q)) == [2, 1]          # Q closest to V
    assert list(select("aligniql_hard", state, q)) == [0, 2]     # min Q if beta > 0, max if < 0


def test_online_sampler_prefers_q_close_to_v_and_is_a_distribution():
    q = np.array([[0.0, 1.0, 3.0, 1.5]], F32)
    v = np.array([[1.0]], F32)
    s = SCORES["aligniql"](Tensor(q), Tensor(v), Tensor(np.zeros((1, 1), F32)))
    p = sampling_probabilities(s, 2.0).asnumpy()[0]
    logits = -2.0 * (q[0] - 1.0) ** 2
    np.testing.assert_allclose(p, np.exp(logits) / np.exp(logits).sum(), rtol=1e-5)
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert p[1] > p[3] > p[0] > p[2]  # |Q - V| = 0 < 0.5 < 1 < 2
    # AlignIQL's sample_implicit_policy, p = w / sum(w) with w = -(Q - V)^2: the reverse order
    w = -(q[0] - 1.0) ** 2
    p_ref = w / w.sum()
    assert p_ref[2] > p_ref[0] > p_ref[3] > p_ref[1]


def test_gumbel_draws_in_the_selector_follow_the_sampler():
    rng = np.random.default_rng(0)
    q = np.array([0.0, 1.0, 3.0, 1.5], F32)
    logits = -2.0 * (q - 1.0) ** 2
    draws = 4000
    gumbel = -np.log(-np.log(rng.uniform(size=(draws, 4))))
    state = np.tile([[1.0, 0.0]], (draws, 1))  # V = 1 in every row
    picks = select("aligniql", state, np.tile(q, (draws, 1)), gumbel, eta=2.0)
    np.testing.assert_array_equal(picks, np.argmax(logits + gumbel, 1))
    freq = np.bincount(picks, minlength=4) / draws
    np.testing.assert_allclose(freq, np.exp(logits) / np.exp(logits).sum(), atol=0.03)


# ----------------------------------------------------------------------------- multipliers
def np_alpha_loss(alpha, beta, q):
    return np.mean(np.exp(-alpha - beta * q - 1.0)) + np.mean(alpha)


def np_beta_loss(beta, alpha, q, v):
    return np.mean(np.exp(-alpha - beta * q - 1.0)) + np.mean(v * beta)


def finite_difference(fn, x, h=1e-4):
    grad = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (fn(x + e) - fn(x - e)) / (2 * h)
    return grad


def test_multiplier_losses_and_gradients_match_numpy_and_finite_differences():
    rng = np.random.default_rng(3)
    alpha, beta = rng.normal(0, 0.5, 6), rng.normal(0, 0.5, 6)
    q, v = rng.normal(1, 1, 6), rng.normal(1, 1, 6)
    t = lambda x: Tensor(x.astype(F32))  # noqa: E731
    assert float(alpha_loss(t(alpha), t(beta), t(q))) == pytest.approx(np_alpha_loss(alpha, beta, q), rel=1e-5)
    assert float(beta_loss(t(beta), t(alpha), t(q), t(v))) == pytest.approx(np_beta_loss(beta, alpha, q, v), rel=1e-5)
    g_alpha = ms.grad(alpha_loss, grad_position=0)(t(alpha), t(beta), t(q)).asnumpy()
    g_beta = ms.grad(beta_loss, grad_position=0)(t(beta), t(alpha), t(q), t(v)).asnumpy()
    np.testing.assert_allclose(g_alpha, finite_difference(lambda a: np_alpha_loss(a, beta, q), alpha),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(g_beta, finite_difference(lambda b: np_beta_loss(b, alpha, q, v), beta),
                               rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- diffusion
def test_fourier_features_are_cos_then_sin_of_2_pi_t_w():
    ff = FourierFeatures(4)
    w = ff.kernel.asnumpy()[:, 0]
    out = ff(Tensor(np.array([0, 3], np.int32))).asnumpy()
    f = 2 * math.pi * np.outer([0.0, 3.0], w)
    np.testing.assert_allclose(out, np.concatenate([np.cos(f), np.sin(f)], 1), rtol=1e-4, atol=1e-5)
    assert np.std(FourierFeatures(2000).kernel.asnumpy()) == pytest.approx(0.2, rel=0.1)


class _Eps(nn.Cell):
    def __init__(self, model, seed):
        super().__init__()
        self.model, self.seed = model, seed

    def construct(self, x, t, s):
        return self.model(x, t, s, self.seed)


def test_noise_loss_is_summed_over_action_dims_and_q_sample_is_vp():
    ms.set_seed(1)
    d = IDQLDiffusion(3, 2, hidden=8, time_dim=4, dropout_rate=0.0)
    rng = np.random.default_rng(0)
    a, s = rng.uniform(-1, 1, (5, 2)).astype(F32), rng.normal(size=(5, 3)).astype(F32)
    t, noise = rng.integers(0, 5, 5).astype(np.int32), rng.normal(size=(5, 2)).astype(F32)
    ab = np.cumprod(1.0 - vp_beta_schedule(5))
    x_t = np.sqrt(ab[t])[:, None] * a + np.sqrt(1 - ab[t])[:, None] * noise
    np.testing.assert_allclose(d.q_sample(Tensor(a), Tensor(t), Tensor(noise)).asnumpy(), x_t, rtol=1e-5, atol=1e-6)
    eps = _Eps(d.model, Tensor(0.0, ms.float32))
    eps_hat = eps(Tensor(x_t.astype(F32)), Tensor(t), Tensor(s)).asnumpy()
    loss = d.noise_loss(Tensor(a), Tensor(s), Tensor(t), Tensor(noise), Tensor(0.0, ms.float32))
    assert float(loss) == pytest.approx(np.mean(np.sum((eps_hat - noise) ** 2, 1)), rel=1e-4)


class _Sample(nn.Cell):
    def __init__(self, d):
        super().__init__()
        self.d = d

    def construct(self, s, x, noises):
        return self.d.sample_with(s, x, noises)


def test_sampler_is_jaxrl5_ddpm_with_beta_variance_and_clipping():
    ms.set_seed(2)
    d = IDQLDiffusion(3, 2, hidden=8, time_dim=4, dropout_rate=0.0)
    d.set_train(False)
    rng = np.random.default_rng(1)
    s = rng.normal(size=(4, 3)).astype(F32)
    x = (2.0 * rng.normal(size=(4, 2))).astype(F32)
    noises = rng.normal(size=(5, 4, 2)).astype(F32)
    got = _Sample(d)(Tensor(s), Tensor(x), Tensor(noises)).asnumpy()
    betas = vp_beta_schedule(5)
    alphas, ab = 1 - betas, np.cumprod(1 - betas)
    eps = _Eps(d.model, Tensor(0.0, ms.float32))
    ref = x.astype(np.float64)
    for k, i in enumerate(reversed(range(5))):
        e = eps(Tensor(ref.astype(F32)), Tensor(np.full(4, i, np.int32)), Tensor(s)).asnumpy()
        ref = (ref - (1 - alphas[i]) / np.sqrt(1 - ab[i]) * e) / np.sqrt(alphas[i])
        if i > 0:
            ref = ref + np.sqrt(betas[i]) * noises[k]
        ref = np.clip(ref, -1, 1)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- the update
def test_one_step_updates_ema_at_rate_0001_and_targets_by_polyak():
    msrl = components(small_config("aligniql_hard"))
    nets = msrl.policy_and_network
    ema0, tgt0 = values(nets.ema_actor), values(nets.critic.critic_target)
    alpha0 = values(nets.multipliers)
    msrl.learner.learn(1)
    actor1, ema1 = values(nets.actor), values(nets.ema_actor)
    for k in ema0:
        np.testing.assert_allclose(ema1[k], 0.999 * ema0[k] + 0.001 * actor1[k], rtol=1e-5, atol=1e-7)
    q1, tgt1 = values(nets.critic.critic), values(nets.critic.critic_target)
    for k in tgt0:
        np.testing.assert_allclose(tgt1[k], 0.995 * tgt0[k] + 0.005 * q1[k], rtol=1e-5, atol=1e-7)
    changed = [k for k, v in values(nets.multipliers).items() if not np.array_equal(v, alpha0[k])]
    assert any(k.startswith("alpha.") for k in changed) and any(k.startswith("beta.") for k in changed)


def test_pretrained_critic_is_frozen_and_maps_observations():
    from mindspore_rl_ext.utils.valuefuncs.iql import Iql

    cfg = small_config("aligniql", source="pretrained", pretrained_name="default")
    cfg["dataset_params"]["normalize_observations"] = True
    msrl = components(cfg)
    critic = msrl.policy_and_network.critic
    before = {k: values(c) for k, c in critic.networks().items()}
    result = msrl.learner.learn(2)
    assert set(result) == {"actor_loss"}
    for k, cell in critic.networks().items():
        for name, value in values(cell).items():
            np.testing.assert_array_equal(value, before[k][name], err_msg=f"{k}.{name}")
    iql, params = Iql.from_pretrained("default")
    buf = msrl.replay_buffer
    obs, act = buf.observations[:5], buf.actions[:5]
    raw = obs * buf.obs_std + buf.obs_mean
    norm = params["normalizers"]["state"]
    iql_obs = ((raw - np.asarray(norm["mean"])) / np.asarray(norm["std"])).astype(F32)

    class Q(nn.Cell):
        def __init__(self):
            super().__init__()
            self.c = critic

        def construct(self, o, a):
            return self.c.target_q(o, a), self.c.v(o)

    q, v = Q()(Tensor(obs), Tensor(act))
    np.testing.assert_allclose(q.asnumpy(), iql.forward_q(iql_obs, act, use_ema=True)[:, 0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(v.asnumpy(), iql.forward_v(iql_obs)[:, 0], rtol=1e-4, atol=1e-4)


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="algo.*'iqx' is not one of idql, aligniql, aligniql_hard"):
        load_config(algo="iqx")
    cfg = load_config()
    cfg["critic_params"]["source"] = "frozen"
    from mindspore_rl_ext.algorithms.idql.config import resolve_and_validate
    with pytest.raises(ConfigError, match="critic_params.source.*'joint' or 'pretrained'"):
        resolve_and_validate(cfg)
    cfg = load_config()
    cfg["actor_params"]["eval_candidate_sweep"] = [16, 0]
    with pytest.raises(ConfigError, match="actor_params.eval_candidate_sweep"):
        resolve_and_validate(cfg)
