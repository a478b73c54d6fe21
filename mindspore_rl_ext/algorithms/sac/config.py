"""Online SAC's default config (SB3 / Haarnoja et al. 2018 hyper-parameters), validation,
and the algorithm_config dict.

``ENV_PRESETS`` holds, per short env name, the Gymnasium id and the return bands used to
pick the "medium" and "expert" behaviour policies (D4RL's medium policies score roughly
one third of expert).
"""
import copy

from mindspore_rl_ext.core.config import merge_strict, require

ENV_PRESETS = {
    "hopper": {
        "env_id": "Hopper-v5",
        # D4RL hopper-medium-v2 averages ~1420 (normalised ~44)
        "medium_band": (1300.0, 1800.0),
        "medium_target": 1500.0,
        "expert_return": 3000.0,
    },
    "walker2d": {
        "env_id": "Walker2d-v5",
        # A third of expert (D4RL ref max 4592) is ~1530; D4RL's own walker2d-medium-v2
        # averages higher (~2850, normalised ~62). We aim between the two.
        "medium_band": (1400.0, 2200.0),
        "medium_target": 1700.0,
        "expert_return": 4500.0,
    },
    "halfcheetah": {
        "env_id": "HalfCheetah-v5",
        # D4RL halfcheetah-medium-v2 averages ~4770 (normalised ~40.7)
        "medium_band": (3900.0, 5000.0),
        "medium_target": 4500.0,
        "expert_return": 10500.0,
    },
}

DEFAULT_CONFIG = {
    "env": "hopper",
    "seed": 0,
    "policy_params": {
        "hidden_dims": (256, 256),
        "log_std_min": -20.0,
        "log_std_max": 2.0,
    },
    "learner_params": {
        "gamma": 0.99,
        "tau": 0.005,
        "actor_lr": 3e-4,
        "critic_lr": 3e-4,
        "alpha_lr": 3e-4,
        "init_alpha": 1.0,
        "target_entropy": None,  # None: -act_dim
    },
    "replay_params": {"capacity": 1_000_000, "batch_size": 256},
    "trainer_params": {
        "max_env_steps": 300_000,
        "learning_starts": 10_000,   # uniform random actions before this many env steps
        "steps_per_call": 50,        # K env steps, then K gradient updates in one compiled call
        "eval_freq": 5_000,
        "eval_episodes": 5,          # deterministic episodes per periodic evaluation
        "confirm_episodes": 10,      # stochastic + deterministic episodes to accept a level
        "ckpt_freq": 25_000,
        "max_ckpt_num": 2,           # each checkpoint holds the whole replay buffer
        "medium_band": None,         # None: ENV_PRESETS[env]["medium_band"]
        "medium_target": None,
        "expert_return": None,       # None: do not look for an expert policy
        "stop_at_medium": False,     # stop once medium is reached (and no expert is asked for)
        "refill_steps": 100_000,     # policy env steps refilling a carried checkpoint's
                                     # buffer (at most its capacity; carry.py)
    },
}


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def load_config(overrides: dict | None = None, where: str = "SAC config") -> dict:
    """DEFAULT_CONFIG with ``overrides`` ({section: {key: value}}) merged in strictly,
    presets filled in and validated (ConfigError naming the key)."""
    config = merge_strict(DEFAULT_CONFIG, overrides or {}, where)
    require(config["env"] in ENV_PRESETS, "env",
            f"'{config['env']}' is not one of {sorted(ENV_PRESETS)}")
    preset, tp = ENV_PRESETS[config["env"]], config["trainer_params"]
    tp["medium_band"] = tuple(tp["medium_band"] or preset["medium_band"])
    tp["medium_target"] = tp["medium_target"] or preset["medium_target"]
    require(len(tp["medium_band"]) == 2 and tp["medium_band"][0] < tp["medium_band"][1],
            "trainer_params.medium_band", f"must be (low, high) with low < high, got "
                                          f"{tp['medium_band']}")
    for key in ("max_env_steps", "steps_per_call", "eval_freq", "ckpt_freq", "eval_episodes",
                "confirm_episodes", "max_ckpt_num", "refill_steps"):
        require(_positive_int(tp[key]), f"trainer_params.{key}",
                f"must be >= 1 (an int), got {tp[key]!r}")
    k = tp["steps_per_call"]
    for key in ("eval_freq", "ckpt_freq"):
        require(tp[key] % k == 0, f"trainer_params.{key}",
                f"({tp[key]}) must be a multiple of steps_per_call ({k})")
    for key in ("capacity", "batch_size"):
        require(_positive_int(config["replay_params"][key]), f"replay_params.{key}",
                f"must be >= 1 (an int), got {config['replay_params'][key]!r}")
    batch = config["replay_params"]["batch_size"]
    require(tp["refill_steps"] >= batch, "trainer_params.refill_steps",
            f"({tp['refill_steps']}) must be at least replay_params.batch_size ({batch})")
    return config


def algorithm_config(config: dict) -> dict:
    """MindSpore-Reinforcement-shaped algorithm_config of a :func:`load_config` config."""
    from mindspore_rl_ext.algorithms.sac.sac import SACActor, SACLearner, SACPolicyAndNetwork
    from mindspore_rl_ext.data.replay_buffer import ReplayBuffer
    from mindspore_rl_ext.envs.online import OnlineEnvironment

    env = {"name": ENV_PRESETS[config["env"]]["env_id"]}
    probe = OnlineEnvironment(env)
    dims = {"state_dim": probe.observation_space.shape[0],
            "action_dim": probe.action_space.shape[0]}
    probe.close()
    return {
        "replay_buffer": {"type": ReplayBuffer, "params": dict(config["replay_params"], **dims)},
        "collect_environment": {"type": OnlineEnvironment, "params": env},
        "eval_environment": {"type": OnlineEnvironment, "params": env},
        "policy_and_network": {"type": SACPolicyAndNetwork,
                               "params": copy.deepcopy(config["policy_params"])},
        "learner": {"type": SACLearner, "params": config["learner_params"]},
        "actor": {"type": SACActor, "params": config["policy_params"]},
    }
