"""Diffusion-QL family: default config, the per-dataset table, validation, algorithm_config.

Values left ``None`` come from the per-dataset hyperparameter table (``hyperparams.py``,
the reference ``main.py`` table) for ``env_name``: lr, eta, gn, max_q_backup, reward_tune,
num_epochs, top_k. A YAML file or the command line may set any of them explicitly.
``dataset_params.reward_tune`` takes a name of the reward-transform registry shared with
IQL (``mindspore_rl_ext.data.transforms.REWARD_TRANSFORMS``); the reference's ``no`` is
accepted as ``none``, and its ambiguous ``antmaze`` ((r - 0.25) * 2) is ``dql_antmaze``.

Reference quirks are fixed by default; flags reproduce them:

* ``learner_params.lr_decay_mode``: ``cosine`` (default: a true cosine to 0 over all
  gradient steps) or ``reference`` (DQL steps the scheduler once per evaluation block with
  T_max = num_epochs, so the lr ends at ~0.999 lr: a no-op).
* ``selection_params.top_k_mode``: ``intended`` (default: the checkpoint with the
  (top_k+1)-th smallest BC loss, ``argsort(bc)[top_k]``) or ``reference`` (DQL's
  ``argsort(bc) == top_k`` mask, which picks the row at the inverse permutation).
* ``learner_params.edp_normalize_q``: True (official EDP: Q term / mean|Q|) or False (the
  QG fork's unnormalised -mean min Q).
"""
import copy
import os

from mindspore_rl_ext.algorithms.diffusion_ql.hyperparams import lookup_hyperparameters
from mindspore_rl_ext.algorithms.diffusion_ql.update import ALGOS
from mindspore_rl_ext.core.config import apply_yaml, merge_strict, require
from mindspore_rl_ext.data.transforms import reward_transform_name


DEFAULT_CONFIG = {
    "algo": "ql",
    "env_name": None,                   # table key / D4RL-style name; None: from the dataset
    "exp": "exp_1",                     # experiment tag, part of the results folder name
    "seed": 0,
    "collect_env_params": {"name": None},
    "eval_env_params": {"name": None},
    "dataset_params": {
        "dataset": "default",           # Minari id, D4RL-format .hdf5/.npz path, or 'default'
        "dataset_root": None,
        "env_id": None,
        "reward_tune": None,            # a data.transforms.REWARD_TRANSFORMS name; None: the table's
        "action_clip": None,            # DQL does not clip dataset actions
        "normalize_observations": False,
        "batch_size": 256,
        "toy_dataset_size": 1_000_000,  # the 2-D bandit toy (env_name 8gaussians/rings/swissroll)
    },
    "policy_params": {
        "T": 5,
        "beta_schedule": "vp",
        "hidden_dim": 256,
        "critic_hidden_dim": 256,
        "max_action": 1.0,
    },
    "learner_params": {
        "discount": 0.99,
        "tau": 0.005,
        "lr": None,
        "critic_lr": 3e-4,
        "eta": None,
        "gn": None,
        "max_q_backup": None,
        "n_backup_samples": 10,
        "ema_decay": 0.995,
        "step_start_ema": 1000,
        "update_ema_every": 5,
        "lr_decay": False,
        "lr_decay_mode": "cosine",      # cosine (fixed) | reference (DQL's no-op)
        "edp_normalize_q": True,
        "edp_clip_x0": True,
        "qg_normal_q": 1.0,
        "ood_weight": 0.1,
        "ood_threshold": 1.0,
        "ood_max_weight": 10.0,
    },
    "actor_params": {
        "eval_num_samples": 50,         # actions drawn per state at evaluation
        "eval_selection": "softmax",    # softmax (DQL/EDP) | argmax | first
    },
    "selection_params": {
        "ms": "online",                 # online: best eval score; offline: BC-loss rank
        "top_k": None,
        "top_k_mode": "intended",       # intended | reference
        "early_stop": False,
    },
    "online_params": {
        "training_mode": "offline",     # offline | online (fine-tune after offline training)
        "online_episodes": 0,           # episodes of online fine-tuning after the offline ones
        "env_steps_per_episode": 1000,  # transitions collected before each online episode
    },
    "trainer_params": {
        "ckpt_path": None,              # None: <results folder>/ckpt
        "results_dir": "results",
        "num_epochs": None,             # offline episodes (1000 steps each); None: the table's
        "n_steps_per_episode": 1000,
        "eval_freq": 50,                # episodes between evaluations (and selection rows)
        "save_per_episode": 50,
        "max_ckpt_num": 1,
        "save_best_model": False,       # keep every evaluation's checkpoint
        "num_evaluate_episode": 10,
        "loss_freq": 1,
        "vectorized_eval": True,
        "tensorboard": False,           # also TensorBoard event files beside metrics.csv
    },
}


def load_config(env_yaml=None, algo_yaml=None, overrides=None, defaults=None):
    """Defaults (``DEFAULT_CONFIG`` unless given) <- ENV_YAML <- ALGO_YAML <- overrides
    (dict, e.g. from the command line)."""
    config = apply_yaml(apply_yaml(defaults or DEFAULT_CONFIG, env_yaml), algo_yaml)
    if overrides:
        config = merge_strict(config, overrides, "command line")
    return resolve_and_validate(config)


def default_env_name(config):
    """The name used for the hyperparameter table: env_name, else the dataset spec."""
    return config["env_name"] or str(config["dataset_params"]["dataset"])


def resolve_and_validate(config):
    """Fill ``None`` values from the dataset's table row and check values (ConfigError)."""
    config = copy.deepcopy(config)
    require(config["algo"] in ALGOS, "algo", f"'{config['algo']}' is not one of {', '.join(ALGOS)}")
    key, row = lookup_hyperparameters(default_env_name(config))
    config["hyperparameter_row"] = key or "default"
    lp, dp, sp, tp, pp = (config[k] for k in ("learner_params", "dataset_params",
                                              "selection_params", "trainer_params",
                                              "policy_params"))
    for section, name in ((lp, "lr"), (lp, "eta"), (lp, "gn"), (lp, "max_q_backup"),
                          (dp, "reward_tune"), (tp, "num_epochs"), (sp, "top_k")):
        if section[name] is None:
            section[name] = row[name]
    for name in ("lr", "eta", "gn"):
        if isinstance(lp[name], int) and not isinstance(lp[name], bool):
            lp[name] = float(lp[name])
    require(lp["lr"] > 0, "learner_params.lr", f"must be > 0, got {lp['lr']}")
    require(lp["critic_lr"] > 0, "learner_params.critic_lr", f"must be > 0, got {lp['critic_lr']}")
    require(lp["eta"] >= 0, "learner_params.eta", f"must be >= 0, got {lp['eta']}")
    require(lp["gn"] >= 0, "learner_params.gn", f"must be >= 0 (0: no clipping), got {lp['gn']}")
    require(isinstance(lp["max_q_backup"], bool), "learner_params.max_q_backup", "must be true/false")
    require(0.0 <= lp["discount"] <= 1.0, "learner_params.discount", f"must be in [0, 1], got {lp['discount']}")
    require(0.0 < lp["tau"] <= 1.0, "learner_params.tau", f"must be in (0, 1], got {lp['tau']}")
    require(0.0 <= lp["ema_decay"] < 1.0, "learner_params.ema_decay", "must be in [0, 1)")
    require(lp["update_ema_every"] >= 1, "learner_params.update_ema_every", "must be >= 1")
    require(lp["n_backup_samples"] >= 1, "learner_params.n_backup_samples", "must be >= 1")
    require(lp["lr_decay_mode"] in ("cosine", "reference"), "learner_params.lr_decay_mode",
            f"must be 'cosine' or 'reference', got {lp['lr_decay_mode']!r}")
    require(lp["ood_weight"] >= 0 and lp["ood_max_weight"] > 0, "learner_params.ood_weight",
            "ood_weight must be >= 0 and ood_max_weight > 0")
    dp["reward_tune"] = reward_transform_name(dp["reward_tune"], "dataset_params.reward_tune")
    require(dp["batch_size"] >= 1, "dataset_params.batch_size", f"must be >= 1, got {dp['batch_size']}")
    require(isinstance(dp["toy_dataset_size"], int) and dp["toy_dataset_size"] >= 1,
            "dataset_params.toy_dataset_size", f"must be an int >= 1, got {dp['toy_dataset_size']!r}")
    require(isinstance(pp["T"], int) and pp["T"] >= 1, "policy_params.T", f"must be an int >= 1, got {pp['T']!r}")
    require(pp["beta_schedule"] in ("vp", "linear", "cosine"), "policy_params.beta_schedule",
            f"must be vp, linear or cosine, got {pp['beta_schedule']!r}")
    require(pp["hidden_dim"] >= 1 and pp["critic_hidden_dim"] >= 1, "policy_params.hidden_dim", "must be >= 1")
    require(pp["max_action"] > 0, "policy_params.max_action", "must be > 0")
    ap = config["actor_params"]
    require(ap["eval_selection"] in ("softmax", "argmax", "first"), "actor_params.eval_selection",
            f"must be softmax, argmax or first, got {ap['eval_selection']!r}")
    require(ap["eval_num_samples"] >= 1, "actor_params.eval_num_samples", "must be >= 1")
    require(sp["ms"] in ("online", "offline"), "selection_params.ms",
            f"must be 'online' or 'offline', got {sp['ms']!r}")
    require(sp["top_k_mode"] in ("intended", "reference"), "selection_params.top_k_mode",
            f"must be 'intended' or 'reference', got {sp['top_k_mode']!r}")
    require(isinstance(sp["top_k"], int) and sp["top_k"] >= 0, "selection_params.top_k", "must be an int >= 0")
    op = config["online_params"]
    require(op["training_mode"] in ("offline", "online"), "online_params.training_mode",
            f"must be 'offline' or 'online', got {op['training_mode']!r}")
    require(op["online_episodes"] >= 0, "online_params.online_episodes", "must be >= 0")
    require(op["env_steps_per_episode"] >= 1, "online_params.env_steps_per_episode", "must be >= 1")
    for name in ("num_epochs", "n_steps_per_episode", "eval_freq", "num_evaluate_episode",
                 "max_ckpt_num", "loss_freq"):
        require(isinstance(tp[name], int) and tp[name] >= 1, f"trainer_params.{name}",
                f"must be an int >= 1, got {tp[name]!r}")
    require(tp["save_per_episode"] >= 0, "trainer_params.save_per_episode", "must be >= 0")
    return config


def total_episodes(config):
    """Offline episodes plus online fine-tuning episodes (when training_mode is online)."""
    op = config["online_params"]
    extra = op["online_episodes"] if op["training_mode"] == "online" else 0
    return config["trainer_params"]["num_epochs"] + extra


def results_folder_name(config):
    """DQL's ``{env}|{exp}|diffusion-{algo}|T-{T}[|lr_decay]|ms-{ms}[|k-{top_k}]|{seed}`` with
    ``__`` for ``|`` (a shell-safe path)."""
    env = default_env_name(config)
    if env.lower().endswith((".hdf5", ".h5", ".npz")):
        env = os.path.basename(env)  # a dataset file: its name, not its full path
    env = env.replace("/", "-")
    parts = [env, config["exp"], f"diffusion-{config['algo']}", f"T-{config['policy_params']['T']}"]
    if config["learner_params"]["lr_decay"]:
        parts.append("lr_decay")
    parts.append(f"ms-{config['selection_params']['ms']}")
    if config["selection_params"]["ms"] == "offline":
        parts.append(f"k-{config['selection_params']['top_k']}")
    parts.append(str(config["seed"]))
    return "__".join(parts)


def update_params(config):
    """Keyword arguments of DiffusionQLUpdate from a resolved config."""
    lp, tp = config["learner_params"], config["trainer_params"]
    total_steps = total_episodes(config) * tp["n_steps_per_episode"]
    return dict(
        algo=config["algo"], discount=lp["discount"], tau=lp["tau"], eta=lp["eta"], lr=lp["lr"],
        critic_lr=lp["critic_lr"], gn=lp["gn"], max_q_backup=lp["max_q_backup"],
        n_backup_samples=lp["n_backup_samples"], ema_decay=lp["ema_decay"],
        step_start_ema=lp["step_start_ema"], update_ema_every=lp["update_ema_every"],
        lr_decay=(lp["lr_decay_mode"] if lp["lr_decay"] else "none"), total_steps=total_steps,
        steps_per_block=tp["eval_freq"] * tp["n_steps_per_episode"], t_max=tp["num_epochs"],
        edp_normalize_q=lp["edp_normalize_q"], edp_clip_x0=lp["edp_clip_x0"],
        qg_normal_q=lp["qg_normal_q"], ood_weight=lp["ood_weight"],
        ood_threshold=lp["ood_threshold"], ood_max_weight=lp["ood_max_weight"])


def algorithm_config(config):
    """MindSpore-Reinforcement-shaped algorithm_config. For a bandit-toy ``env_name``
    (8gaussians, rings, swissroll) the replay buffer generates the toy's data and the
    environments score actions at the single state (``envs.bandit_toy``)."""
    from mindspore_rl_ext.algorithms.diffusion_ql.diffusion_ql import (
        BanditToyReplayBuffer, DiffusionQLActor, DiffusionQLLearner,
        DiffusionQLPolicyAndNetwork, DiffusionReplayBuffer)
    from mindspore_rl_ext.envs.bandit_toy import TOY_DATASETS, BanditEnvironment
    from mindspore_rl_ext.envs.gym_environment import GymEnvironment

    buffer_type, env_type, buffer_params = DiffusionReplayBuffer, GymEnvironment, config["dataset_params"]
    if config["env_name"] in TOY_DATASETS:
        buffer_type, env_type = BanditToyReplayBuffer, BanditEnvironment
        buffer_params = dict(buffer_params, dataset=config["env_name"], seed=config["seed"])

    pn_params = dict(config["policy_params"], algo=config["algo"])
    learner_params = dict(update_params(config), seed=config["seed"],
                          online_capacity=(config["online_params"]["online_episodes"]
                                           * config["online_params"]["env_steps_per_episode"]
                                           if config["online_params"]["training_mode"] == "online"
                                           else 0))
    actor_params = dict(config["actor_params"], algo=config["algo"],
                        normalize_observations=config["dataset_params"]["normalize_observations"])
    # DQL evaluates with eval_env.seed(seed + 100)
    eval_env = dict(config["eval_env_params"], seed=config["seed"] + 100)
    collect_env = dict(config["collect_env_params"], seed=config["seed"] + 200)
    return {
        "replay_buffer": {"type": buffer_type, "params": buffer_params},
        "collect_environment": {"type": env_type, "params": collect_env},
        "eval_environment": {"type": env_type, "params": eval_env},
        "policy_and_network": {"type": DiffusionQLPolicyAndNetwork, "params": pn_params},
        "learner": {"type": DiffusionQLLearner, "params": learner_params},
        "actor": {"type": DiffusionQLActor, "params": actor_params},
    }
