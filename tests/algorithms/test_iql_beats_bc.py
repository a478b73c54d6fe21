"""IQL beats behaviour cloning on mixed data where BC cannot: the learning test of
issue 11 (item 6), ~1 minute.

The task: a point in the plane must reach the origin (reward -0.001 |x| per step, 50 steps).
At every step the behaviour policy moves toward the origin or away from it with equal
probability, so at every state the data holds the good action and its opposite. BC fits
their mean, about zero, and stays where it starts. IQL's advantage weights exp(3 (Q - V))
keep the good half, so its policy walks to the origin.

The test fails when a part of IQL that makes this work breaks:
* the advantage weights: with temperature 0 (the BC run below) the policy stays put;
* the reward scaling of the locomotion preset (x 1000 / (max - min return)): unscaled, the
  advantages are ~0.01, the weights ~1, and IQL behaves like BC;
* the expectile: with two action modes per state, the tau-expectile of Q sits at the
  fraction tau of the way from the low mode to the high one, which the learned V must show.
"""
import gymnasium as gym
import mindspore as ms
import numpy as np
import pytest

from mindspore_rl_ext.algorithms.iql import IQLSession, IQLTrainer, load_config
from mindspore_rl_ext.core.run_log import RunLog
from mindspore_rl_ext.data.d4rl_hdf5 import load_d4rl_hdf5, save_d4rl_hdf5
from mindspore_rl_ext.data.transitions import TransitionDataset
from mindspore_rl_ext.envs.gym_environment import run_episodes

ENV_ID = "MsrlExtTest/PointToOrigin-v0"
HORIZON, SPEED, REWARD_SCALE = 50, 0.1, 0.001
TRAIN_STEPS = 1500
SEEDS = (0, 1)


class PointToOrigin(gym.Env):
    """x in the plane, starting at distance 0.5..1 from the origin; x' = x + 0.1 a."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        angle, radius = self.np_random.uniform(0, 2 * np.pi), self.np_random.uniform(0.5, 1.0)
        self.x = (radius * np.array([np.cos(angle), np.sin(angle)])).astype(np.float32)
        return self.x.copy(), {}

    def step(self, action):
        self.x = (self.x + SPEED * np.clip(action, -1, 1)).astype(np.float32)
        return self.x.copy(), -REWARD_SCALE * float(np.linalg.norm(self.x)), False, False, {}


def toward_origin(x):
    """The good action: a unit step toward the origin (at most the remaining distance)."""
    dist = np.linalg.norm(x, axis=-1, keepdims=True)
    return -x / np.maximum(dist, SPEED) * np.minimum(dist / SPEED, 1.0)


def mixed_dataset(episodes, seed):
    """At each step: toward the origin or away from it, with probability 1/2, plus noise."""
    env, rng = gym.make(ENV_ID), np.random.default_rng(seed)
    rows = {k: [] for k in ("obs", "act", "rew", "next_obs")}
    for _ in range(episodes):
        obs, _ = env.reset(seed=int(rng.integers(2 ** 31)))
        for _ in range(HORIZON):
            sign = 1.0 if rng.random() < 0.5 else -1.0
            act = np.clip(sign * toward_origin(obs) + rng.normal(0, 0.1, 2), -1, 1)
            next_obs, reward, *_ = env.step(act)
            for key, value in zip(rows, (obs, act, reward, next_obs)):
                rows[key].append(value)
            obs = next_obs
    n = len(rows["rew"])
    timeouts = np.zeros(n, np.float32)
    timeouts[HORIZON - 1::HORIZON] = 1.0
    return TransitionDataset(
        observations=np.array(rows["obs"], np.float32), actions=np.array(rows["act"], np.float32),
        rewards=np.array(rows["rew"], np.float32),
        next_observations=np.array(rows["next_obs"], np.float32),
        terminals=np.zeros(n, np.float32), timeouts=timeouts,
        episode_ends=np.arange(HORIZON, n + 1, HORIZON), env_id=ENV_ID)


@pytest.fixture(scope="module")
def dataset_file(tmp_path_factory):
    gym.register(ENV_ID, entry_point=PointToOrigin, max_episode_steps=HORIZON)
    try:
        path = tmp_path_factory.mktemp("mixed") / "point_mixed.hdf5"
        save_d4rl_hdf5(mixed_dataset(200, seed=0), path)
        yield path
    finally:
        gym.registry.pop(ENV_ID, None)


def train(dataset_file, tmp_path, seed, temperature=None):
    cfg = load_config()  # the paper's locomotion preset: tau 0.7, temperature 3, reward scaling
    cfg["seed"] = seed
    cfg["dataset_params"].update(dataset=str(dataset_file))
    if temperature is not None:
        cfg["learner_params"]["temperature"] = temperature
    cfg["trainer_params"].update(ckpt_path=str(tmp_path / f"ckpt_{seed}_{temperature}"),
                                 n_steps_per_episode=TRAIN_STEPS // 3, eval_per_episode=0,
                                 save_per_episode=0, num_evaluate_episode=20)
    return IQLSession(RunLog(None, echo=False), config=cfg, episodes=3).run(IQLTrainer, episode=3)


def expectile_position(trainer, dataset):
    """Where V(s) sits between min-Q of the step away and of the step toward the origin
    (0: at the away action's value, 1: at the toward action's), median over data states."""
    nets, buffer = trainer.msrl.policy_and_network, trainer.msrl.replay_buffer
    obs = dataset.observations[::7]
    norm_obs = ((obs - buffer.obs_mean) / buffer.obs_std).astype(np.float32)

    def min_q(act):
        o, a = ms.Tensor(norm_obs), ms.Tensor(act.astype(np.float32))
        return np.minimum(nets.target_critic_net1(o, a).asnumpy(),
                          nets.target_critic_net2(o, a).asnumpy()).ravel()

    v = nets.value_net(ms.Tensor(norm_obs)).asnumpy().ravel()
    good, bad = min_q(toward_origin(obs)), min_q(-toward_origin(obs))
    return float(np.median((v - bad) / (good - bad)))


@pytest.mark.parametrize("seed", SEEDS)
def test_iql_walks_to_the_origin_where_bc_stays(dataset_file, tmp_path, seed):
    optimal = run_episodes(ENV_ID, toward_origin, 20, seed=42).mean()
    standing = run_episodes(ENV_ID, np.zeros_like, 20, seed=42).mean()
    iql = train(dataset_file, tmp_path, seed)
    bc = train(dataset_file, tmp_path, seed, temperature=0.0)
    iql_return, bc_return = iql.evaluate()[0], bc.evaluate()[0]

    def gap_closed(ret):  # 0: standing still, 1: the optimal controller
        return (ret - standing) / (optimal - standing)

    assert gap_closed(iql_return) > 0.7, (iql_return, standing, optimal)
    assert gap_closed(bc_return) < 0.3, (bc_return, standing, optimal)
    position = expectile_position(iql, load_d4rl_hdf5(str(dataset_file)))
    assert 0.55 < position < 0.85, position  # tau = 0.7
