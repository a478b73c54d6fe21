"""Gymnasium environments for evaluation, vectorised: N episodes run side by side in a
``SyncVectorEnv`` with one batched policy call per step (AsyncVectorEnv measured slower
on 2 cores)."""
import gymnasium as gym
import numpy as np

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
    envs = gym.vector.SyncVectorEnv([lambda: make_env(env_id) for _ in range(num_episodes)])
    low, high = envs.single_action_space.low, envs.single_action_space.high
    obs, _ = envs.reset(seed=[seed + i for i in range(num_episodes)])
    returns = np.zeros(num_episodes)
    active = np.ones(num_episodes, bool)
    while active.any():
        act = np.clip(policy(np.asarray(obs, np.float32)), low, high)
        obs, reward, term, trunc, _ = envs.step(act)
        returns += np.where(active, reward, 0.0)
        active &= ~(term | trunc)
    envs.close()
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
        env.close()

    def run_episodes(self, policy, num_episodes, vectorized=True):
        return run_episodes(self.name, policy, num_episodes, self.seed, vectorized)

    def close(self):
        pass
