"""Gymnasium environments for evaluation, vectorised: N episodes run side by side, one
batched policy call per step.

The N Gymnasium environments are stepped in a plain loop rather than through
``gym.vector.SyncVectorEnv``: that one steps (and auto-resets) every sub-environment on
every step, so an episode that has ended keeps costing MuJoCo steps until the longest one
ends, and it merges the info dicts on every step (~7% of the stepping time for
Walker2d). Here an ended episode's environment is no longer stepped; its row stays in the
policy's batch, so the input shape (and the policy's compiled graph) never changes.
AsyncVectorEnv measured slower on 2 cores."""
import gymnasium as gym
import numpy as np

import mindspore_rl_ext.envs.pointmaze  # noqa: F401  registers the msrl_ext/PointMaze_* ids
from mindspore_rl_ext.core.errors import ConfigError


def make_env(env_id):
    """gym.make with a clear error for an unknown id."""
    try:
        return gym.make(env_id)
    except (gym.error.Error, ModuleNotFoundError, ImportError) as e:
        raise ConfigError(f"environment '{env_id}' cannot be made: {e}") from None


def run_episodes(env_id, policy, num_episodes, seed, vectorized=True):
    """Return the undiscounted returns of ``num_episodes`` episodes.

    ``policy`` maps observations (n, obs_dim) float32 to actions (n, act_dim); actions are
    clipped to the action space. Episode i starts from ``reset(seed=seed + i)``, so every
    evaluation sees the same start states.
    """
    if not vectorized:
        env = make_env(env_id)
        returns = []
        for i in range(num_episodes):
            obs, _ = env.reset(seed=seed + i)
            total, done = 0.0, False
            while not done:
                act = policy(np.asarray(obs, np.float32)[None])[0]
                obs, reward, term, trunc, _ = env.step(np.clip(act, env.action_space.low,
                                                               env.action_space.high))
                total += float(reward)
                done = term or trunc
            returns.append(total)
        env.close()
        return np.asarray(returns)
    envs = [make_env(env_id) for _ in range(num_episodes)]
    low, high = envs[0].action_space.low, envs[0].action_space.high
    obs = np.stack([np.asarray(env.reset(seed=seed + i)[0], np.float32)
                    for i, env in enumerate(envs)])
    returns = np.zeros(num_episodes)
    active = np.ones(num_episodes, bool)
    while active.any():
        act = np.clip(policy(obs), low, high)
        for i in np.flatnonzero(active):
            next_obs, reward, term, trunc, _ = envs[i].step(act[i])
            obs[i] = next_obs
            returns[i] += float(reward)
            active[i] = not (term or trunc)
    for env in envs:
        env.close()
    return returns


class GymEnvironment:
    """An environment entry of the config: ``params = {name, seed}``; ``name`` None means
    the dataset's own environment id."""

    def __init__(self, params, replay_buffer=None):
        self.name = params.get("name") or getattr(replay_buffer, "env_id", None)
        if not self.name:
            raise ConfigError("environment name is not set and the dataset records none; "
                              "set eval_env_params.name (e.g. Hopper-v5)")
        self.seed = int(params.get("seed", 0))
        env = make_env(self.name)
        self.observation_space, self.action_space = env.observation_space, env.action_space
        try:
            if replay_buffer is not None:  # before any training step, for every algorithm
                replay_buffer.dataset.check_env_dims(env)
        finally:
            env.close()

    def run_episodes(self, policy, num_episodes, vectorized=True):
        return run_episodes(self.name, policy, num_episodes, self.seed, vectorized)

    def close(self):
        pass
