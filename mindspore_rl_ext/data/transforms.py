"""Dataset transforms: the one reward-transform registry of every algorithm, action
clipping, observation statistics.

Reward transforms (``REWARD_TRANSFORMS``: name -> (function, description)); each function
takes ``(rewards, episode_returns)`` and returns float32 rewards. IQL's
``dataset_params.reward_transform`` and Diffusion-QL's ``dataset_params.reward_tune`` both
take these names:

- ``none``: rewards unchanged;
- ``iql_locomotion``: r * 1000 / (max episode return - min episode return), returns taken
  over the dataset's own episodes (IQL paper; ikostrikov/implicit_q_learning,
  train_offline.py);
- ``iql_antmaze``: r - 1 (IQL paper, AntMaze);
- ``cql_antmaze``: (r - 0.5) * 4 (Diffusion-QL, utils/data_sampler.py ``cql_antmaze``);
- ``dql_antmaze``: (r - 0.25) * 2 (Diffusion-QL, utils/data_sampler.py ``antmaze``);
- ``normalize``: (r - mean) / std over the dataset (Diffusion-QL, Adroit).

Older spellings still accepted (``LEGACY_NAMES``): ``mujoco`` (IQL's old name of
``iql_locomotion``) and ``no`` (Diffusion-QL's old name of ``none``). The old
``antmaze`` is refused: IQL used it for r - 1 and Diffusion-QL for (r - 0.25) * 2.

Actions are clipped to +-(1 - 1e-5), as the IQL reference does for D4RL data.
"""
import numpy as np

from mindspore_rl_ext.core.errors import ConfigError, DatasetError


def _none(rewards, episode_returns):
    return np.asarray(rewards).astype(np.float32)


def _iql_locomotion(rewards, episode_returns):
    spread = float(np.max(episode_returns) - np.min(episode_returns))
    if not spread > 0:
        raise DatasetError(
            "reward transform 'iql_locomotion' needs episodes with different returns "
            f"(max - min return is {spread}); use reward transform 'none'"
        )
    return (np.asarray(rewards) * (1000.0 / spread)).astype(np.float32)


def _iql_antmaze(rewards, episode_returns):
    return (np.asarray(rewards) - 1.0).astype(np.float32)


def _cql_antmaze(rewards, episode_returns):
    return ((np.asarray(rewards, np.float64) - 0.5) * 4.0).astype(np.float32)


def _dql_antmaze(rewards, episode_returns):
    return ((np.asarray(rewards, np.float64) - 0.25) * 2.0).astype(np.float32)


def _normalize(rewards, episode_returns):
    r = np.asarray(rewards, np.float64)
    return ((r - r.mean()) / max(float(r.std()), 1e-8)).astype(np.float32)


# name -> (function(rewards, episode_returns) -> float32 rewards, one-line description)
REWARD_TRANSFORMS = {
    "none": (_none, "rewards unchanged"),
    "iql_locomotion": (_iql_locomotion,
                       "r * 1000 / (max - min episode return) (IQL, MuJoCo locomotion)"),
    "iql_antmaze": (_iql_antmaze, "r - 1 (IQL, AntMaze)"),
    "cql_antmaze": (_cql_antmaze, "(r - 0.5) * 4 (Diffusion-QL's cql_antmaze)"),
    "dql_antmaze": (_dql_antmaze, "(r - 0.25) * 2 (Diffusion-QL's antmaze)"),
    "normalize": (_normalize, "(r - mean) / std over the dataset (Diffusion-QL, Adroit)"),
}

# old spellings kept for users' YAML files: the one place they are mapped
LEGACY_NAMES = {"mujoco": "iql_locomotion", "no": "none"}

_AMBIGUOUS = {
    "antmaze": ("'antmaze' is ambiguous: IQL used it for r - 1 and Diffusion-QL for "
                "(r - 0.25) * 2; use 'iql_antmaze' (r - 1) or 'dql_antmaze' "
                "((r - 0.25) * 2), or 'cql_antmaze' ((r - 0.5) * 4)"),
}


def reward_transform_name(name, where="reward transform"):
    """The registry name of ``name`` (legacy spellings mapped); ConfigError, starting
    with ``where``, for an ambiguous or unknown name, listing the valid ones."""
    if isinstance(name, str) and name in _AMBIGUOUS:
        raise ConfigError(f"{where}: {_AMBIGUOUS[name]}")
    if isinstance(name, str) and name in LEGACY_NAMES:
        return LEGACY_NAMES[name]
    if not isinstance(name, str) or name not in REWARD_TRANSFORMS:
        raise ConfigError(
            f"{where}: {name!r} is not a reward transform; valid names: "
            f"{', '.join(REWARD_TRANSFORMS)} (old spellings: "
            + ", ".join(f"{old} = {new}" for old, new in LEGACY_NAMES.items()) + ")"
        )
    return name


def transform_rewards(rewards, episode_returns, name):
    """Rewards transformed by registry entry ``name`` (legacy names accepted), float32."""
    function, _ = REWARD_TRANSFORMS[reward_transform_name(name)]
    return function(rewards, episode_returns)


def clip_actions(actions, limit):
    """Clip actions to +-limit (limit None: unchanged)."""
    return actions if limit is None else np.clip(actions, -limit, limit).astype(np.float32)


def observation_stats(observations, eps=1e-3):
    """(mean, std + eps) over the dataset, as CORL normalises states."""
    return (observations.mean(0).astype(np.float32),
            (observations.std(0) + eps).astype(np.float32))
