"""IDQL / AlignIQL / AlignIQL-hard: default config, validation, algorithm_config.

Defaults are IDQL's at HEAD (philippe-eecs/IDQL, ``ddpm_iql_simple`` and its launchers) and
AlignIQL's (felix-thu/AlignIQL launchers): T = 5, VP schedule, LN-ResNet (256, 3 blocks,
dropout 0.1), time features 128, AdamW 3e-4 (weight decay 1e-4) with a cosine decay, actor
EMA 0.001, batch 512, critic lrs 3e-4, Polyak 0.005, value LayerNorm, multiplier Adam 3e-5
with global-norm clipping 1, N = 64 candidates at training-time evaluation and the sweep
{16, 64, 256}. ``domain`` gives the expectile (0.7; antmaze 0.9) and the reward transform,
as for IQL (``algorithms.iql.config.DOMAINS``).

``critic_params.source``: ``joint`` trains the IQL critic with the actor; ``pretrained``
loads a frozen one with ``Iql.from_pretrained(pretrained_name, zoo_dir)``.
``learner_params.lr_decay_steps``: None decays the actor lr to 0 over the planned offline
steps (the references use a fixed 3e6).
``actor_params.selection``: ``greedy`` (argmax of the algorithm's score, the references'
evaluation) or ``stochastic`` (softmax(eta * score), the online sampler).

``online_params`` (offline-to-online): after the offline episodes, ``online_episodes``
episodes each collect ``env_steps_per_episode`` transitions with the stochastic sampler,
then run ``n_steps_per_episode`` updates on batches whose ``online_fraction`` share of rows
is online (the rest offline). The update is critic-only (V, Q, Polyak, multipliers), as in
the references; ``update_actor`` also trains the diffusion actor and its EMA (the actor's
cosine lr then decays over the offline and online updates together). ``eval_interval``:
evaluate every that many online episodes (0: only by ``trainer_params.eval_per_episode``).
"""
import copy

from mindspore_rl_ext.algorithms.idql.update import ALGOS
from mindspore_rl_ext.algorithms.iql.config import DEFAULT_CONFIG as IQL_DEFAULT_CONFIG, DOMAINS
from mindspore_rl_ext.core.config import apply_yaml, require
from mindspore_rl_ext.data.transforms import reward_transform_name

DEFAULT_CONFIG = {
    "algo": "idql",
    "domain": "mujoco",
    "seed": 42,
    "collect_env_params": {"name": None},
    "eval_env_params": {"name": None},
    "dataset_params": {
        "dataset": "default",
        "dataset_root": None,
        "env_id": None,
        "reward_transform": None,        # None: the domain's
        "action_clip": 1.0 - 1e-5,
        "normalize_observations": False,
        "batch_size": 512,
    },
    "policy_params": {
        "T": 5,
        "beta_schedule": "vp",
        "hidden_dim": 256,
        "num_blocks": 3,
        "dropout_rate": 0.1,
        "time_dim": 128,
        "clip_sampler": True,
    },
    "critic_params": {
        "source": "joint",               # joint | pretrained
        "pretrained_name": "default",
        "zoo_dir": None,
        "hidden_sizes": [256, 256],
        "value_layer_norm": True,
    },
    "learner_params": {
        "gamma": 0.99,
        "actor_lr": 3e-4,
        "critic_lr": 3e-4,
        "value_lr": 3e-4,
        "weight_decay": 1e-4,
        "lr_decay_steps": None,          # None: the planned offline steps
        "update_factor": 0.005,
        "ema_rate": 0.001,
        "expectile": None,               # None: the domain's
        "multiplier_lr": 3e-5,
        "multiplier_grad_clip": 1.0,
    },
    "actor_params": {
        "num_candidates": 64,
        "eval_candidate_sweep": [16, 64, 256],
        "selection": "greedy",           # greedy | stochastic
        "sampler_eta": 1.0,
        "temperature": 1.0,
    },
    "online_params": {
        "online_episodes": 0,            # 0: offline only
        "env_steps_per_episode": 1000,
        "online_fraction": 0.5,
        "update_actor": False,
        "eval_interval": 5,
    },
    "trainer_params": copy.deepcopy(IQL_DEFAULT_CONFIG["trainer_params"]),  # IQL's runtime
}


def load_config(env_yaml=None, algo_yaml=None, algo=None):
    """Defaults <- ENV_YAML <- ALGO_YAML (<- ``algo``), domain presets filled in, validated."""
    config = apply_yaml(apply_yaml(DEFAULT_CONFIG, env_yaml), algo_yaml)
    if algo is not None:
        config["algo"] = algo
    return resolve_and_validate(config)


def _int(value, low):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def resolve_and_validate(config):
    """Fill ``None`` values from the domain preset and check values (ConfigError)."""
    config = copy.deepcopy(config)
    require(config["algo"] in ALGOS, "algo", f"'{config['algo']}' is not one of {', '.join(ALGOS)}")
    require(config["domain"] in DOMAINS, "domain",
            f"'{config['domain']}' is not one of {', '.join(DOMAINS)}")
    preset = DOMAINS[config["domain"]]
    lp, pp, cp, ap, dp, tp = (config[k] for k in ("learner_params", "policy_params", "critic_params",
                                                  "actor_params", "dataset_params", "trainer_params"))
    if lp["expectile"] is None:
        lp["expectile"] = preset["expectile"]
    if dp["reward_transform"] is None:
        dp["reward_transform"] = preset["reward_transform"]
    dp["reward_transform"] = reward_transform_name(dp["reward_transform"],
                                                   "dataset_params.reward_transform")
    require(isinstance(lp["expectile"], (int, float)) and 0.0 < lp["expectile"] < 1.0,
            "learner_params.expectile", f"must be a number in (0, 1), got {lp['expectile']!r}")
    for key in ("actor_lr", "critic_lr", "value_lr", "multiplier_lr", "multiplier_grad_clip"):
        require(_positive(lp[key]), f"learner_params.{key}", f"must be a number > 0, got {lp[key]!r}")
    for key in ("gamma", "update_factor", "ema_rate"):
        require(isinstance(lp[key], (int, float)) and 0.0 <= lp[key] <= 1.0,
                f"learner_params.{key}", f"must be a number in [0, 1], got {lp[key]!r}")
    require(isinstance(lp["weight_decay"], (int, float)) and lp["weight_decay"] >= 0,
            "learner_params.weight_decay", f"must be a number >= 0, got {lp['weight_decay']!r}")
    require(lp["lr_decay_steps"] is None or _int(lp["lr_decay_steps"], 1),
            "learner_params.lr_decay_steps", f"must be None or an int >= 1, got {lp['lr_decay_steps']!r}")
    require(_int(pp["T"], 1), "policy_params.T", f"must be an int >= 1, got {pp['T']!r}")
    require(pp["beta_schedule"] in ("vp", "linear", "cosine"), "policy_params.beta_schedule",
            f"must be vp, linear or cosine, got {pp['beta_schedule']!r}")
    for key in ("hidden_dim", "num_blocks"):
        require(_int(pp[key], 1), f"policy_params.{key}", f"must be an int >= 1, got {pp[key]!r}")
    require(_int(pp["time_dim"], 2) and pp["time_dim"] % 2 == 0, "policy_params.time_dim",
            f"must be an even int >= 2, got {pp['time_dim']!r}")
    require(isinstance(pp["dropout_rate"], (int, float)) and 0.0 <= pp["dropout_rate"] < 1.0,
            "policy_params.dropout_rate", f"must be a number in [0, 1), got {pp['dropout_rate']!r}")
    require(cp["source"] in ("joint", "pretrained"), "critic_params.source",
            f"must be 'joint' or 'pretrained', got {cp['source']!r}")
    require(isinstance(cp["hidden_sizes"], list) and cp["hidden_sizes"]
            and all(_int(h, 1) for h in cp["hidden_sizes"]), "critic_params.hidden_sizes",
            f"must be a list of positive ints, got {cp['hidden_sizes']!r}")
    require(_int(ap["num_candidates"], 1), "actor_params.num_candidates",
            f"must be an int >= 1, got {ap['num_candidates']!r}")
    require(isinstance(ap["eval_candidate_sweep"], list)
            and all(_int(n, 1) for n in ap["eval_candidate_sweep"]),
            "actor_params.eval_candidate_sweep",
            f"must be a list of ints >= 1, got {ap['eval_candidate_sweep']!r}")
    require(ap["selection"] in ("greedy", "stochastic"), "actor_params.selection",
            f"must be 'greedy' or 'stochastic', got {ap['selection']!r}")
    for key in ("sampler_eta", "temperature"):
        require(_positive(ap[key]), f"actor_params.{key}", f"must be a number > 0, got {ap[key]!r}")
    require(_int(dp["batch_size"], 1), "dataset_params.batch_size",
            f"must be an int >= 1, got {dp['batch_size']!r}")
    for key in ("n_steps_per_episode", "num_evaluate_episode", "max_ckpt_num", "loss_freq"):
        require(_int(tp[key], 1), f"trainer_params.{key}", f"must be an int >= 1, got {tp[key]!r}")
    for key in ("save_per_episode", "eval_per_episode"):
        require(_int(tp[key], 0), f"trainer_params.{key}", f"must be an int >= 0, got {tp[key]!r}")
    op = config["online_params"]
    for key in ("online_episodes", "eval_interval"):
        require(_int(op[key], 0), f"online_params.{key}", f"must be an int >= 0, got {op[key]!r}")
    require(_int(op["env_steps_per_episode"], 1), "online_params.env_steps_per_episode",
            f"must be an int >= 1, got {op['env_steps_per_episode']!r}")
    require(isinstance(op["online_fraction"], (int, float)) and not isinstance(
        op["online_fraction"], bool) and 0.0 <= op["online_fraction"] <= 1.0,
        "online_params.online_fraction", f"must be a number in [0, 1], got {op['online_fraction']!r}")
    require(isinstance(op["update_actor"], bool), "online_params.update_actor",
            f"must be true or false, got {op['update_actor']!r}")
    require(op["online_episodes"] == 0 or op["update_actor"] or cp["source"] == "joint",
            "online_params.update_actor", "must be true when critic_params.source is "
            "'pretrained' and online_episodes > 0 (a frozen critic leaves nothing to update)")
    return config


def online_rows(config):
    """Transitions the online phase collects (the device dataset's extra capacity)."""
    op = config["online_params"]
    return op["online_episodes"] * op["env_steps_per_episode"]


def algorithm_config(config, episodes):
    """MindSpore-Reinforcement-shaped algorithm_config for ``episodes`` offline training
    episodes (the online ones of ``online_params`` follow them)."""
    from mindspore_rl_ext.algorithms.idql.idql import IDQLActor, IDQLLearner, IDQLPolicyAndNetwork
    from mindspore_rl_ext.data.offline_buffer import OfflineReplayBuffer
    from mindspore_rl_ext.envs.gym_environment import GymEnvironment

    lp = config["learner_params"]
    op = config["online_params"]
    actor_episodes = episodes + (op["online_episodes"] if op["update_actor"] else 0)
    steps = actor_episodes * config["trainer_params"]["n_steps_per_episode"]
    learner_params = dict(lp, seed=config["seed"], T=config["policy_params"]["T"],
                          lr_decay_steps=lp["lr_decay_steps"] or steps,
                          online_capacity=online_rows(config),
                          online_fraction=op["online_fraction"],
                          update_actor=op["update_actor"])
    network_params = dict(config["policy_params"], algo=config["algo"],
                          critic=config["critic_params"])
    return {
        "replay_buffer": {"type": OfflineReplayBuffer, "params": config["dataset_params"]},
        "collect_environment": {"type": GymEnvironment, "params": dict(config["collect_env_params"])},
        "eval_environment": {"type": GymEnvironment,
                             "params": dict(config["eval_env_params"], seed=config["seed"])},
        "policy_and_network": {"type": IDQLPolicyAndNetwork, "params": network_params},
        "learner": {"type": IDQLLearner, "params": learner_params},
        "actor": {"type": IDQLActor, "params": dict(config["actor_params"], algo=config["algo"],
                                                    seed=config["seed"])},
    }
