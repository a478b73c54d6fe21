"""Behaviour-policy files from SAC weights: their metadata (returns, gait, network), the
export of a training snapshot, and the atomic write / read of the file format defined
by :mod:`mindspore_rl_ext.data.behaviour`."""
import os

import numpy as np

from mindspore_rl_ext.algorithms.sac.config import ENV_PRESETS
from mindspore_rl_ext.algorithms.sac.sac import NumpySACPolicy, evaluate_policy
from mindspore_rl_ext.core.errors import CheckpointError
from mindspore_rl_ext.core.files import read_errors_as
from mindspore_rl_ext.data.behaviour import NumpyBehaviourPolicy
from mindspore_rl_ext.data.scores import normalized_score
from mindspore_rl_ext.envs.gait import gait_statistics
from mindspore_rl_ext.envs.online import OnlineEnvironment

ALGORITHM_NAME = "SAC (mindspore_rl_ext)"


def behaviour_metadata(env_name, level, stoch, det, weights, train_steps, seed, net_params,
                       gait_episodes=10):
    """Metadata of a behaviour-policy file: returns of the stochastic (``stoch``, the
    policy that generates datasets) and deterministic (``det``) evaluations, the gait of
    the stochastic policy (:func:`mindspore_rl_ext.envs.gait.gait_statistics`: forward
    velocity, episode length, fall rate), and the network description."""
    env_id = ENV_PRESETS[env_name]["env_id"]
    policy = NumpySACPolicy(weights, net_params["log_std_min"], net_params["log_std_max"])
    rng = np.random.default_rng(seed + 50_000)
    gait = gait_statistics(env_id, lambda obs: policy(obs, deterministic=False, rng=rng),
                           gait_episodes, seed=50_000 + int(train_steps))
    return {
        "env_id": env_id,
        "level": level,
        "average_return": float(stoch.mean()),
        "std_return": float(stoch.std()),
        "normalized_score": float(normalized_score(env_name, stoch.mean())),
        "deterministic_avg_return": float(det.mean()),
        "deterministic_normalized_score": float(normalized_score(env_name,
                                                                            det.mean())),
        "return_mode": "average_return is of the stochastic policy (as used to generate "
                       "datasets); deterministic_* of tanh(mean)",
        "eval_episodes": int(len(stoch)),
        "gait": gait,
        "train_steps": int(train_steps),
        "seed": int(seed),
        "algorithm": ALGORITHM_NAME,
        "obs_dim": int(policy.obs_dim),
        "act_dim": int(policy.act_dim),
        "hidden_dims": list(net_params["hidden_dims"]),
        "activation": "relu",
        "log_std_min": float(net_params["log_std_min"]),
        "log_std_max": float(net_params["log_std_max"]),
        "action": "tanh(mean + exp(clip(log_std, log_std_min, log_std_max)) * N(0, I)) "
                  "* action_high",
    }


def export_snapshot(env_name, snapshot, level, policy_dir, train_steps, seed, net_params,
                    episodes=10, selection=None):
    """Evaluate the policy weights in ``snapshot`` (a trainer's ``snapshots/step_N.npz``)
    over ``episodes`` stochastic and deterministic episodes, and write them as
    ``<policy_dir>/<env>_<level>.npz`` with their returns and gait in the metadata
    (``selection``: why this snapshot). Returns (path, metadata)."""
    with read_errors_as(CheckpointError, f"policy snapshot '{snapshot}' is truncated or "
                                         f"corrupt"), np.load(snapshot) as f:
        weights = {k: f[k] for k in f.files}
    policy = NumpySACPolicy(weights, net_params["log_std_min"], net_params["log_std_max"])
    env = OnlineEnvironment({"name": ENV_PRESETS[env_name]["env_id"]})
    det, _ = evaluate_policy(policy, env, episodes, True, seed=30_000)
    stoch, _ = evaluate_policy(policy, env, episodes, False, seed=40_000)
    meta = behaviour_metadata(env_name, level, stoch, det, weights, train_steps, seed,
                              net_params)
    if selection:
        meta["selection"] = selection
    path = os.path.join(policy_dir, f"{env_name}_{level}.npz")
    save_behaviour_policy(path, weights, meta, env.action_space.high)
    env.close()
    return path, meta


def save_behaviour_policy(path, weights, metadata, action_high):
    """Write a behaviour policy in the format of mindspore_rl_ext.data.behaviour
    (trunk_w{i}/trunk_b{i}, mean_*, log_std_*, action_high, metadata_json), atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    arrays = {k: np.asarray(v, np.float32) for k, v in weights.items()}
    arrays["action_high"] = np.asarray(action_high, np.float32)
    tmp = f"{path}.tmp"
    NumpyBehaviourPolicy.save(tmp, arrays, metadata)
    os.replace(tmp, path)


def load_behaviour_policy(path):
    """A mindspore_rl_ext.data.behaviour.NumpyBehaviourPolicy read from ``path``."""
    return NumpyBehaviourPolicy.load(path)
