"""IQL's default config, per-domain presets, validation, and the algorithm_config dict.

Every value has the paper's default (ikostrikov/implicit_q_learning configs). Values
left ``None`` come from the ``domain`` preset:

| domain          | expectile | temperature | actor dropout | reward transform |
|-----------------|-----------|-------------|---------------|------------------|
| mujoco          | 0.7       | 3.0         | none          | iql_locomotion (x1000/return range) |
| antmaze         | 0.9       | 10.0        | none          | iql_antmaze (r - 1) |
| pointmaze       | 0.9       | 10.0        | none          | iql_antmaze (r - 1) |
| kitchen, adroit | 0.7       | 0.5         | 0.1           | none             |

``pointmaze`` is IQL's sparse-reward (AntMaze) preset under the name of the generated
``msrl_ext/pointmaze/*`` datasets (goal reached = termination with reward 1, so r - 1 makes
every other step cost 1); on the dense levels r - 1 = exp(-d) - 1 keeps that shape.

``dataset_params.reward_transform`` takes a name of the shared registry
(``mindspore_rl_ext.data.transforms.REWARD_TRANSFORMS``); the old spelling ``mujoco`` is
mapped to ``iql_locomotion`` here, so the resolved config (and a checkpoint's
fingerprint) always holds the registry name.
"""
import copy

from mindspore_rl_ext.core.config import apply_yaml, require
from mindspore_rl_ext.data.transforms import reward_transform_name

DOMAINS = {
    "mujoco": {"expectile": 0.7, "temperature": 3.0, "dropout_rate": None, "reward_transform": "iql_locomotion"},
    "antmaze": {"expectile": 0.9, "temperature": 10.0, "dropout_rate": None, "reward_transform": "iql_antmaze"},
    "pointmaze": {"expectile": 0.9, "temperature": 10.0, "dropout_rate": None, "reward_transform": "iql_antmaze"},
    "kitchen": {"expectile": 0.7, "temperature": 0.5, "dropout_rate": 0.1, "reward_transform": "none"},
    "adroit": {"expectile": 0.7, "temperature": 0.5, "dropout_rate": 0.1, "reward_transform": "none"},
}

DEFAULT_CONFIG = {
    "domain": "mujoco",
    "seed": 42,
    "collect_env_params": {"name": None},
    "eval_env_params": {"name": None},
    "dataset_params": {
        "dataset": "default",            # a Minari id, a D4RL-format .hdf5 path, or 'default'
        "dataset_root": None,            # Minari root (default: $MINARI_DATASETS_PATH)
        "env_id": None,                  # Gymnasium id, when the dataset does not record one
        "reward_transform": None,        # a data.transforms.REWARD_TRANSFORMS name; None: the domain's
        "action_clip": 1.0 - 1e-5,
        "normalize_observations": False,  # the paper does not normalise states (CORL does)
        "batch_size": 256,
    },
    "policy_params": {
        "hidden_sizes": [256, 256],
        "dropout_rate": None,            # None: the domain's
        "log_std_min": -5.0,
        "log_std_max": 2.0,
    },
    "learner_params": {
        "gamma": 0.99,
        "critic_lr": 3e-4,
        "actor_lr": 3e-4,
        "value_lr": 3e-4,
        "update_factor": 0.005,          # Polyak tau of the target critics
        "expectile": None,               # None: the domain's
        "temperature": None,             # inverse temperature beta; 0 gives plain BC
        "exp_adv_max": 100.0,
        "actor_lr_schedule": "cosine",   # cosine (to 0 over the planned steps) | constant
        "behaviour_cloning": False,      # True: actor-only likelihood updates (the BC baseline;
                                         # temperature 0's policy without training the critics)
        "fused_optimizer": False,        # True: one Adam kernel per network over flat buffers
                                         # (same maths; not faster on a 2-core CPU, see benchmarks/)
    },
    "trainer_params": {
        "ckpt_path": "./ckpt",
        "n_steps_per_episode": 1000,     # gradient steps per compiled call ("episode")
        "save_per_episode": 5,
        "eval_per_episode": 5,
        "num_evaluate_episode": 10,
        "max_ckpt_num": 5,
        "loss_freq": 1,
        "vectorized_eval": True,
        "eval_backend": "graph",        # graph | numpy (NumPy forward of the tanh mean: faster,
                                         # same actions to float rounding; see benchmarks/)
        "tensorboard": False,           # also TensorBoard event files beside metrics.csv
    },
}


def load_config(env_yaml=None, algo_yaml=None):
    """Defaults <- ENV_YAML <- ALGO_YAML, domain presets filled in, validated."""
    config = apply_yaml(apply_yaml(DEFAULT_CONFIG, env_yaml), algo_yaml)
    return resolve_and_validate(config)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_and_validate(config):
    """Fill ``None`` values from the domain preset and check ranges (ConfigError)."""
    config = copy.deepcopy(config)
    require(config["domain"] in DOMAINS, "domain",
            f"'{config['domain']}' is not one of {', '.join(DOMAINS)}")
    preset = DOMAINS[config["domain"]]
    for section, key in (("learner_params", "expectile"), ("learner_params", "temperature"),
                         ("policy_params", "dropout_rate"), ("dataset_params", "reward_transform")):
        value = config[section][key]
        if value is None:
            value = preset[key]
        elif isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        config[section][key] = value
    lp, pp, dp, tp = (config[k] for k in ("learner_params", "policy_params",
                                          "dataset_params", "trainer_params"))
    require(isinstance(lp["expectile"], float) and 0.0 < lp["expectile"] < 1.0,
            "learner_params.expectile", f"must be a number in (0, 1), got {lp['expectile']!r}")
    require(isinstance(lp["temperature"], float) and lp["temperature"] >= 0.0,
            "learner_params.temperature", f"must be a number >= 0, got {lp['temperature']!r}")
    for key in ("critic_lr", "actor_lr", "value_lr"):
        require(_number(lp[key]) and lp[key] > 0.0, f"learner_params.{key}",
                f"must be > 0 (a number), got {lp[key]!r}")
    require(_number(lp["gamma"]) and 0.0 <= lp["gamma"] <= 1.0, "learner_params.gamma",
            f"must be a number in [0, 1], got {lp['gamma']!r}")
    require(_number(lp["update_factor"]) and 0.0 < lp["update_factor"] <= 1.0,
            "learner_params.update_factor", f"must be a number in (0, 1], got {lp['update_factor']!r}")
    require(_number(lp["exp_adv_max"]) and lp["exp_adv_max"] > 0.0, "learner_params.exp_adv_max",
            f"must be a number > 0, got {lp['exp_adv_max']!r}")
    require(lp["actor_lr_schedule"] in ("cosine", "constant"), "learner_params.actor_lr_schedule",
            f"must be 'cosine' or 'constant', got {lp['actor_lr_schedule']!r}")
    for key in ("fused_optimizer", "behaviour_cloning"):
        require(isinstance(lp[key], bool), f"learner_params.{key}",
                f"must be true or false, got {lp[key]!r}")
    require(isinstance(pp["hidden_sizes"], list) and len(pp["hidden_sizes"]) >= 1
            and all(isinstance(h, int) and not isinstance(h, bool) and h > 0
                    for h in pp["hidden_sizes"]),
            "policy_params.hidden_sizes", f"must be a list of positive ints, got {pp['hidden_sizes']!r}")
    require(pp["dropout_rate"] is None
            or (isinstance(pp["dropout_rate"], float) and 0.0 <= pp["dropout_rate"] < 1.0),
            "policy_params.dropout_rate", f"must be None or in [0, 1), got {pp['dropout_rate']!r}")
    require(_number(pp["log_std_min"]) and _number(pp["log_std_max"])
            and pp["log_std_min"] < pp["log_std_max"], "policy_params.log_std_min",
            f"must be a number below log_std_max, got {pp['log_std_min']!r} / {pp['log_std_max']!r}")
    dp["reward_transform"] = reward_transform_name(dp["reward_transform"],
                                                   "dataset_params.reward_transform")
    require(_integer(dp["batch_size"]) and dp["batch_size"] >= 1, "dataset_params.batch_size",
            f"must be >= 1 (an int), got {dp['batch_size']!r}")
    require(dp["action_clip"] is None or (_number(dp["action_clip"]) and dp["action_clip"] > 0),
            "dataset_params.action_clip", f"must be None or a number > 0, got {dp['action_clip']!r}")
    for key in ("n_steps_per_episode", "num_evaluate_episode", "max_ckpt_num", "loss_freq"):
        require(_integer(tp[key]) and tp[key] >= 1, f"trainer_params.{key}",
                f"must be >= 1 (an int), got {tp[key]!r}")
    require(tp["eval_backend"] in ("numpy", "graph"), "trainer_params.eval_backend",
            f"must be 'numpy' or 'graph', got {tp['eval_backend']!r}")
    for key in ("save_per_episode", "eval_per_episode"):
        require(_integer(tp[key]) and tp[key] >= 0, f"trainer_params.{key}",
                f"must be >= 0 (an int), got {tp[key]!r}")
    return config


def algorithm_config(config, episodes):
    """MindSpore-Reinforcement-shaped algorithm_config for ``episodes`` training episodes."""
    from mindspore_rl_ext.algorithms.iql.iql import IQLActor, IQLLearner, IQLPolicyAndNetwork
    from mindspore_rl_ext.data.offline_buffer import OfflineReplayBuffer
    from mindspore_rl_ext.envs.gym_environment import GymEnvironment

    learner_params = dict(config["learner_params"], seed=config["seed"],
                          max_steps=episodes * config["trainer_params"]["n_steps_per_episode"])
    eval_env = dict(config["eval_env_params"], seed=config["seed"])
    return {
        "replay_buffer": {"type": OfflineReplayBuffer, "params": config["dataset_params"]},
        "collect_environment": {"type": GymEnvironment, "params": dict(config["collect_env_params"])},
        "eval_environment": {"type": GymEnvironment, "params": eval_env},
        "policy_and_network": {"type": IQLPolicyAndNetwork, "params": config["policy_params"]},
        "learner": {"type": IQLLearner, "params": learner_params,
                    "networks": ["actor_net", "critic_net1", "critic_net2",
                                 "target_critic_net1", "target_critic_net2", "value_net"]},
        "actor": {"type": IQLActor, "params": {"eval_backend": config["trainer_params"]["eval_backend"]},
                  "policies": ["eval_policy"]},
    }
