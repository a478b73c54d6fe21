"""IQL's preprocessing and one full update against an independent NumPy computation.

Everything expected here is recomputed in float64 NumPy from the paper's equations
(Kostrikov et al., 2021; ikostrikov/implicit_q_learning) and the raw dataset arrays or the
network weights read with ``.asnumpy()``: no function of the library is reused for the
expected values. Each check names the deliberate breakage of the library that makes it
fail.
"""
import math

import mindspore as ms
import numpy as np
import pytest
from helpers import synthetic_dataset

from mindspore_rl_ext.algorithms.iql import load_config
from mindspore_rl_ext.algorithms.iql.config import algorithm_config
from mindspore_rl_ext.core.session import build_components
from mindspore_rl_ext.core.weights import write_params
from mindspore_rl_ext.data.offline_buffer import OfflineReplayBuffer

RTOL = 1e-4
N, EPISODE_LEN, BATCH = 400, 10, 32
TARGET_SHIFT = 1.5


def dataset_with_terminals(seed=3):
    """400 Hopper-shaped transitions in episodes of 10; every other episode ends in a
    terminal (not a timeout), so (1 - terminal) matters in the critic target."""
    ds = synthetic_dataset(N, episode_len=EPISODE_LEN, seed=seed)
    last_rows = ds.episode_ends[::2] - 1
    ds.terminals[last_rows] = 1.0
    ds.timeouts[last_rows] = 0.0
    return ds.validate()


def numpy_episode_returns(ds):
    """Undiscounted return of each episode, by an explicit loop over the boundaries."""
    returns, start = [], 0
    for end in ds.episode_ends:
        returns.append(float(np.sum(ds.rewards[start:end], dtype=np.float64)))
        start = int(end)
    return np.array(returns)


# --- preprocessing -----------------------------------------------------------------

def test_iql_locomotion_reward_scale_matches_numpy():
    """mujoco's default transform: r * 1000 / (max - min episode return). Fails if the
    scale is taken from per-step rewards, the max return alone, or the data's total."""
    ds = dataset_with_terminals()
    cfg = load_config()
    assert cfg["dataset_params"]["reward_transform"] == "iql_locomotion"
    buffer = OfflineReplayBuffer(dict(cfg["dataset_params"], dataset=ds))
    returns = numpy_episode_returns(ds)
    assert returns.max() - returns.min() > 0.5  # the spread is not ~1 by accident
    expected = ds.rewards.astype(np.float64) * 1000.0 / (returns.max() - returns.min())
    assert buffer.rewards.dtype == np.float32
    np.testing.assert_allclose(buffer.rewards, expected, rtol=1e-6)


@pytest.mark.parametrize("domain", ["antmaze", "pointmaze"])
def test_iql_sparse_reward_domains_rewards_minus_one(tmp_path, domain):
    (tmp_path / "sparse.yaml").write_text(f"domain: {domain}\n")
    cfg = load_config(str(tmp_path / "sparse.yaml"))
    assert cfg["dataset_params"]["reward_transform"] == "iql_antmaze"
    # the IQL paper's AntMaze settings (ikostrikov/implicit_q_learning, configs/antmaze_config.py)
    assert (cfg["learner_params"]["expectile"], cfg["learner_params"]["temperature"]) == (0.9, 10.0)
    ds = dataset_with_terminals()
    buffer = OfflineReplayBuffer(dict(cfg["dataset_params"], dataset=ds))
    np.testing.assert_allclose(buffer.rewards, ds.rewards.astype(np.float64) - 1.0, rtol=0, atol=1e-6)


def test_actions_clipped_to_one_minus_1e5():
    """Actions at or beyond +-1 land on +-(1 - 1e-5) (float32); inner ones are unchanged;
    action_clip None leaves them all as they are."""
    ds = dataset_with_terminals()
    ds.actions[:4] = np.array([[1.0, -1.0, 1.5], [-3.0, 0.999995, 0.25],
                               [0.99999, -0.99999, 1.0], [0.0, 0.5, -0.5]], np.float32)
    cfg = load_config()
    assert cfg["dataset_params"]["action_clip"] == pytest.approx(1.0 - 1e-5)
    buffer = OfflineReplayBuffer(dict(cfg["dataset_params"], dataset=ds))
    limit = np.float32(1.0 - 1e-5)
    expected = np.where(ds.actions > limit, limit, np.where(ds.actions < -limit, -limit, ds.actions))
    np.testing.assert_array_equal(buffer.actions, expected)
    assert buffer.actions[0, 0] == limit and buffer.actions[1, 0] == -limit
    assert np.abs(buffer.actions).max() < 1.0
    unclipped = OfflineReplayBuffer(dict(cfg["dataset_params"], dataset=ds, action_clip=None))
    np.testing.assert_array_equal(unclipped.actions, ds.actions)


@pytest.mark.parametrize("normalize", [False, True])
def test_observation_normalisation(normalize):
    """On: (x - mean) / (std + 1e-3) with the statistics of ``observations``, applied to
    both observations and next observations; off (the paper's default): unchanged."""
    ds = dataset_with_terminals()
    ds.observations[:] = ds.observations * np.arange(1, 12, dtype=np.float32) + 5.0
    cfg = load_config()
    assert cfg["dataset_params"]["normalize_observations"] is False
    buffer = OfflineReplayBuffer(dict(cfg["dataset_params"], dataset=ds,
                                      normalize_observations=normalize))
    obs = ds.observations.astype(np.float64)
    if normalize:
        mean, std = obs.mean(0), obs.std(0) + 1e-3
    else:
        mean, std = np.zeros(obs.shape[1]), np.ones(obs.shape[1])
    np.testing.assert_allclose(buffer.observations, (obs - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(buffer.next_observations,
                               (ds.next_observations.astype(np.float64) - mean) / std,
                               rtol=1e-5, atol=1e-5)


# --- one full update -----------------------------------------------------------------

def dense_layers(layers):
    """[(W (out, in), b)] of MindSpore Dense layers, float64."""
    return [(layer.weight.asnumpy().astype(np.float64), layer.bias.asnumpy().astype(np.float64))
            for layer in layers]


def mlp(layers, x, activate_final=False):
    """ReLU MLP: x W^T + b, ReLU between layers (and after the last one if asked)."""
    for i, (w, b) in enumerate(layers):
        x = x @ w.T + b
        if i < len(layers) - 1 or activate_final:
            x = np.maximum(x, 0.0)
    return x


def snapshot(nets):
    """Every network's weights, as NumPy arrays."""
    actor = nets.actor_net
    return {
        "V": dense_layers(nets.value_net.net.layers),
        "Q1": dense_layers(nets.critic_net1.net.layers),
        "Q2": dense_layers(nets.critic_net2.net.layers),
        "TQ1": dense_layers(nets.target_critic_net1.net.layers),
        "TQ2": dense_layers(nets.target_critic_net2.net.layers),
        "trunk": dense_layers(actor.trunk.layers),
        "head": dense_layers([actor.mean_head]),
        "log_std": actor.log_std.asnumpy().astype(np.float64),
    }


def v(w, name, obs):
    return mlp(w[name], obs)[:, 0]


def q(w, name, obs, act):
    return mlp(w[name], np.concatenate([obs, act], 1))[:, 0]


def log_prob(w, obs, act, log_std_min, log_std_max):
    """Gaussian around the tanh mean, state-independent clipped log-std, summed over dims."""
    mean = np.tanh(mlp(w["head"], mlp(w["trunk"], obs, activate_final=True)))
    log_std = np.clip(w["log_std"], log_std_min, log_std_max)
    z = (act - mean) / np.exp(log_std)
    return (-0.5 * z * z - log_std - 0.5 * math.log(2.0 * math.pi)).sum(-1)


@pytest.fixture(scope="module")
def one_update():
    """One IQL step on one batch of chosen rows (half of them terminal), with the weights
    read before and after. The target critics are moved off the critics first (they start
    as copies) so that using the critics where the targets belong, or the reverse, shows;
    one log-std is set above log_std_max so that its clip shows."""
    ds = dataset_with_terminals()
    cfg = load_config()
    cfg["dataset_params"].update(dataset=ds, batch_size=BATCH,
                                 # rewards of order 1 (not x1000/range): V's share of the
                                 # critic target stays large enough to tell V from V_new
                                 reward_transform="none")
    cfg["policy_params"]["hidden_sizes"] = [16, 16]
    # 10x the default: V_new and the old V differ by a few percent in the losses below
    cfg["learner_params"]["value_lr"] = 3e-3
    cfg["trainer_params"]["n_steps_per_episode"] = 1
    assert cfg["policy_params"]["dropout_rate"] is None  # deterministic forward passes
    ms.set_seed(0)
    msrl = build_components(algorithm_config(cfg, 1))
    nets = msrl.policy_and_network
    rng = np.random.default_rng(1)
    for target in (nets.target_critic_net1, nets.target_critic_net2):
        params = list(target.get_parameters())
        assert params[-1].shape == (1,)  # the output layer's bias
        moved = [p.asnumpy() + 0.1 * rng.standard_normal(p.shape).astype(np.float32) for p in params]
        moved[-1] = moved[-1] + np.float32(TARGET_SHIFT)  # output bias: some weights hit the cap
        write_params(params, moved)
    write_params([nets.actor_net.log_std], [np.array([0.0, 0.3, 2.5], np.float32)])
    terminal_rows, other_rows = np.flatnonzero(ds.terminals), np.flatnonzero(ds.terminals == 0)
    idx = np.concatenate([terminal_rows[:BATCH // 2],
                          rng.choice(other_rows, BATCH - BATCH // 2)]).astype(np.int32)
    before = snapshot(nets)
    metrics = msrl.learner.update.train_steps(idx[None])
    after = snapshot(nets)
    buffer = msrl.replay_buffer
    batch = {k: getattr(buffer, k)[idx].astype(np.float64)
             for k in ("observations", "actions", "rewards", "next_observations", "terminals")}
    assert batch["terminals"].sum() == BATCH // 2
    return cfg, before, after, batch, metrics


def min_target_q(w, batch):
    s, a = batch["observations"], batch["actions"]
    return np.minimum(q(w, "TQ1", s, a), q(w, "TQ2", s, a))


def test_value_loss_is_expectile_of_min_target_q_minus_v(one_update):
    """(a) L_V = mean(|tau - 1(u < 0)| u^2), u = min(Q1', Q2')(s, a) - V(s), tau = the
    config's expectile (0.7), pre-step weights. Fails if the min over the target critics
    is dropped, if the online critics replace the targets (~46% off here), or if the
    expectile's sides are swapped (tau on u < 0)."""
    cfg, before, _, batch, metrics = one_update
    expectile = cfg["learner_params"]["expectile"]
    assert expectile == 0.7
    u = min_target_q(before, batch) - v(before, "V", batch["observations"])
    expected = np.mean(np.where(u > 0, expectile, 1.0 - expectile) * u * u)
    assert metrics["value_loss"] == pytest.approx(expected, rel=RTOL)
    # the checks above can fail: the wrong formulas give clearly different numbers
    u1 = q(before, "TQ1", batch["observations"], batch["actions"]) - v(before, "V", batch["observations"])
    no_min = np.mean(np.where(u1 > 0, expectile, 1.0 - expectile) * u1 * u1)
    swapped = np.mean(np.where(u > 0, 1.0 - expectile, expectile) * u * u)
    online_q = np.minimum(q(before, "Q1", batch["observations"], batch["actions"]),
                          q(before, "Q2", batch["observations"], batch["actions"]))
    u_online = online_q - v(before, "V", batch["observations"])
    online = np.mean(np.where(u_online > 0, expectile, 1.0 - expectile) * u_online ** 2)
    for wrong in (no_min, swapped, online):
        assert wrong != pytest.approx(expected, rel=100 * RTOL)


def test_actor_loss_uses_advantages_of_the_updated_value(one_update):
    """(b) w = min(exp(beta (min Q'(s, a) - V_new(s))), 100), L_pi = -mean(w log pi(a|s)),
    V_new read after the step (V steps before the actor), actor weights before it.
    Fails if the actor steps before V (it would see the old V: ~9% off here), if the min
    over the target critics is dropped, if the weights are not capped at exp_adv_max, or
    if the log-std is not clipped to [log_std_min, log_std_max]."""
    cfg, before, after, batch, metrics = one_update
    lp, pp = cfg["learner_params"], cfg["policy_params"]
    assert (lp["temperature"], lp["exp_adv_max"]) == (3.0, 100.0)
    s, a = batch["observations"], batch["actions"]
    logp = log_prob(before, s, a, pp["log_std_min"], pp["log_std_max"])

    def awr(value_weights, target_q, cap=lp["exp_adv_max"]):
        return np.minimum(np.exp(lp["temperature"] * (target_q - v(value_weights, "V", s))), cap)

    weights = awr(after, min_target_q(before, batch))
    expected = -np.mean(weights * logp)
    assert metrics["actor_loss"] == pytest.approx(expected, rel=RTOL)
    # the checks above can fail: the wrong formulas give clearly different numbers
    assert 0 < (weights == lp["exp_adv_max"]).sum() < BATCH // 2  # the cap is in play
    with_old_v = -np.mean(awr(before, min_target_q(before, batch)) * logp)
    no_min = -np.mean(awr(after, q(before, "TQ1", s, a)) * logp)
    no_cap = -np.mean(awr(after, min_target_q(before, batch), cap=np.inf) * logp)
    no_log_std_clip = -np.mean(weights * log_prob(before, s, a, -np.inf, np.inf))
    for wrong in (with_old_v, no_min, no_cap, no_log_std_clip):
        assert wrong != pytest.approx(expected, rel=100 * RTOL)


def test_critic_loss_bootstraps_from_the_updated_value(one_update):
    """(c) y = r + gamma (1 - terminal) V_new(s'), L_Q = mean((Q1 - y)^2 + (Q2 - y)^2) with
    the pre-step critics. Fails if the critics step before V (old V in y: ~2% off here),
    if (1 - terminal) is dropped (~27%), if the target critics replace the critics, or
    if the mean of the two MSEs is taken instead of their sum."""
    cfg, before, after, batch, metrics = one_update
    gamma = cfg["learner_params"]["gamma"]
    s, a = batch["observations"], batch["actions"]

    def critic_loss(value_weights, not_done, critics=("Q1", "Q2")):
        y = batch["rewards"] + gamma * not_done * v(value_weights, "V", batch["next_observations"])
        q1, q2 = (q(before, name, s, a) for name in critics)
        return np.mean((q1 - y) ** 2 + (q2 - y) ** 2)

    not_done = 1.0 - batch["terminals"]
    expected = critic_loss(after, not_done)
    assert metrics["critic_loss"] == pytest.approx(expected, rel=RTOL)
    # the checks above can fail: the wrong formulas give clearly different numbers
    for wrong in (critic_loss(before, not_done), critic_loss(after, 1.0),
                  critic_loss(after, not_done, ("TQ1", "TQ2")), expected / 2):
        assert wrong != pytest.approx(expected, rel=100 * RTOL)


def test_targets_move_by_polyak_towards_the_updated_critics(one_update):
    """Q' <- (1 - tau) Q' + tau Q_new, after the critic step: (Q'_new - (1 - tau) Q') / tau
    recovers the updated critics, up to float32 rounding divided by tau (~1e-5). Fails
    if the targets follow the pre-step critics (Adam's first step moves each weight by
    ~lr = 3e-4) or tau is wrong."""
    cfg, before, after, _, _ = one_update
    tau = cfg["learner_params"]["update_factor"]
    for target, source in (("TQ1", "Q1"), ("TQ2", "Q2")):
        for new_t, old_t, new_s, old_s in zip(after[target], before[target],
                                              after[source], before[source]):
            for t1, t0, s1, s0 in zip(new_t, old_t, new_s, old_s):  # weight, bias
                error = np.abs((t1 - (1.0 - tau) * t0) / tau - s1)
                assert error.mean() < 3e-5 and error.max() < 1.5e-4, (target, error.max())
                assert np.abs(s1 - s0).mean() > 1e-4, "the critics did not move: the test cannot tell"
