"""Dataset transforms of the IQL paper (ikostrikov/implicit_q_learning, train_offline.py).

- ``mujoco``: r <- r * 1000 / (max episode return - min episode return), returns taken
  over the dataset's own episodes;
- ``antmaze``: r <- r - 1;
- ``none``: rewards unchanged (Kitchen, Adroit).
Actions are clipped to +-(1 - 1e-5), as the reference does for D4RL data.
"""
import numpy as np

from mindspore_rl_ext.core.errors import ConfigError, DatasetError

REWARD_TRANSFORMS = ("none", "mujoco", "antmaze")


def transform_rewards(rewards, episode_returns, kind):
    """Return transformed rewards (float32) for transform ``kind``."""
    if kind == "none":
        return rewards.astype(np.float32)
    if kind == "antmaze":
        return (rewards - 1.0).astype(np.float32)
    if kind == "mujoco":
        spread = float(np.max(episode_returns) - np.min(episode_returns))
        if not spread > 0:
            raise DatasetError(
                "reward_transform 'mujoco' needs episodes with different returns "
                f"(max - min return is {spread}); use reward_transform 'none'"
            )
        return (rewards * (1000.0 / spread)).astype(np.float32)
    raise ConfigError(f"reward_transform '{kind}' is not one of {REWARD_TRANSFORMS}")


def clip_actions(actions, limit):
    """Clip actions to +-limit (limit None: unchanged)."""
    return actions if limit is None else np.clip(actions, -limit, limit).astype(np.float32)


def observation_stats(observations, eps=1e-3):
    """(mean, std + eps) over the dataset, as CORL normalises states."""
    return (observations.mean(0).astype(np.float32),
            (observations.std(0) + eps).astype(np.float32))
