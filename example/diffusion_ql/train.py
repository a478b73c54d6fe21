"""Train a diffusion policy (Diffusion-QL family) on an offline dataset.

Flags mirror the reference ``main.py`` (seed 003)::

    python train.py --env_name walker2d-medium-expert-v2 --algo ql --T 5 --ms online --lr_decay \
        --save_best_model --device CPU --seed 0
    python train.py --env_name hopper-medium-v2 --ms offline --lr_decay --early_stop
    python train.py --env_name walker2d-medium-expert-v2 --training_mode online --online_episodes 100

``--env_name`` picks the row of the per-dataset hyperparameter table and, unless
``--dataset`` is given, the dataset: a D4RL-style name ``<env>-<level>-v2`` maps to this
project's generated Minari dataset ``msrl_ext/<env>/<level>-v0``; a Minari id or an
.hdf5/.npz path is used as is. One episode = 1000 gradient steps (a DQL "epoch");
evaluation every ``--eval_freq`` (50) episodes. Results go to
``<dir>/<env>__<exp>__diffusion-<algo>__T-<T>[__lr_decay]__ms-<ms>[__k-<top_k>]__<seed>/``:
config.json, train_log.txt, eval.npy, best_score_<ms>.txt and ckpt/ (one folder per
network). Rerunning the same command resumes from the newest checkpoint; with
``--training_mode online`` a finished offline run is resumed and fine-tuned online.
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..")))

from mindspore_rl_ext.core.device import DEVICE_TARGETS, init_mindspore  # noqa: E402

ALGOS = ("ql", "qg", "edp", "bc", "eg_ood")
_D4RL = re.compile(r"^(halfcheetah|hopper|walker2d|ant)-(random|medium|expert|medium-replay|medium-expert)-v\d$")


def device_target(value):
    """--device: CPU/GPU/Ascend/Auto, or a device index as in the reference (0, 1, ...)."""
    if value in DEVICE_TARGETS:
        return value
    if value.isdigit():
        return "Auto"
    raise argparse.ArgumentTypeError(
        f"--device must be one of {', '.join(DEVICE_TARGETS)} or a device index, got '{value}'")


def dataset_for(env_name):
    """The dataset an --env_name stands for when --dataset is not given."""
    m = _D4RL.match(env_name)
    if m:
        return f"msrl_ext/{m.group(1)}/{m.group(2)}-v0"
    if "/" in env_name or env_name.lower().endswith((".hdf5", ".h5", ".npz")):
        return env_name
    return "default"


def add_common_args(p):
    p.add_argument("--env_name", default=None, help="D4RL-style name / Minari id / dataset path")
    p.add_argument("--algo", default=None, choices=ALGOS)
    p.add_argument("--T", type=int, default=None, help="diffusion steps (default 5)")
    p.add_argument("--dataset", default=None, help="dataset spec (overrides the one from --env_name)")
    p.add_argument("--dataset_root", default=None)
    p.add_argument("--env_id", default=None, help="gymnasium id for a dataset that records none")
    p.add_argument("--device", default="Auto", type=device_target)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--env_yaml", default=None)
    p.add_argument("--algo_yaml", default=None)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train Diffusion-QL / QG / EDP / diffusion BC / EG-OOD.")
    add_common_args(p)
    p.add_argument("--exp", default=None, help="experiment tag in the results folder name")
    p.add_argument("--dir", default=None, help="results root (default ./results)")
    p.add_argument("--ms", default=None, choices=["online", "offline"], help="model selection")
    p.add_argument("--top_k", type=int, default=None)
    p.add_argument("--top_k_mode", default=None, choices=["intended", "reference"])
    p.add_argument("--lr_decay", action="store_true")
    p.add_argument("--lr_decay_mode", default=None, choices=["cosine", "reference"])
    p.add_argument("--early_stop", action="store_true")
    p.add_argument("--save_best_model", action="store_true")
    p.add_argument("--training_mode", default=None, choices=["offline", "online"])
    p.add_argument("--online_episodes", type=int, default=None)
    p.add_argument("--num_epochs", type=int, default=None, help="offline episodes (table default)")
    p.add_argument("--n_steps_per_episode", type=int, default=None)
    p.add_argument("--eval_freq", type=int, default=None)
    p.add_argument("--num_evaluate_episode", type=int, default=None)
    p.add_argument("--no-resume", dest="resume", action="store_false")
    p.add_argument("--log_file", default=None, help="default: <results folder>/train_log.txt")
    args = p.parse_args(argv)
    for name in ("T", "num_epochs", "n_steps_per_episode", "eval_freq", "num_evaluate_episode"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name} must be >= 1, got {value}")
    if args.online_episodes is not None and args.online_episodes < 0:
        p.error("--online_episodes must be >= 0")
    return args


def overrides_from(args):
    """Command-line values as a config override dict (only the flags given)."""
    o = {}

    def put(section, key, value):
        if value is not None:
            (o.setdefault(section, {}) if section else o)[key] = value

    put(None, "env_name", getattr(args, "env_name", None))
    put(None, "algo", getattr(args, "algo", None))
    put(None, "seed", getattr(args, "seed", None))
    put(None, "exp", getattr(args, "exp", None))
    put("policy_params", "T", getattr(args, "T", None))
    dataset = getattr(args, "dataset", None)
    if dataset is None and getattr(args, "env_name", None):
        dataset = dataset_for(args.env_name)
    put("dataset_params", "dataset", dataset)
    put("dataset_params", "dataset_root", getattr(args, "dataset_root", None))
    put("dataset_params", "env_id", getattr(args, "env_id", None))
    put("selection_params", "ms", getattr(args, "ms", None))
    put("selection_params", "top_k", getattr(args, "top_k", None))
    put("selection_params", "top_k_mode", getattr(args, "top_k_mode", None))
    if getattr(args, "early_stop", False):
        put("selection_params", "early_stop", True)
    if getattr(args, "lr_decay", False):
        put("learner_params", "lr_decay", True)
    put("learner_params", "lr_decay_mode", getattr(args, "lr_decay_mode", None))
    put("online_params", "training_mode", getattr(args, "training_mode", None))
    put("online_params", "online_episodes", getattr(args, "online_episodes", None))
    put("trainer_params", "results_dir", getattr(args, "dir", None))
    for key in ("num_epochs", "n_steps_per_episode", "eval_freq", "num_evaluate_episode"):
        put("trainer_params", key, getattr(args, key, None))
    if getattr(args, "save_best_model", False):
        put("trainer_params", "save_best_model", True)
    return o


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.algorithms.diffusion_ql import DiffusionQLSession, load_config
        from mindspore_rl_ext.algorithms.diffusion_ql.config import total_episodes
        from mindspore_rl_ext.algorithms.diffusion_ql.session import results_dir
        from mindspore_rl_ext.core.run_log import RunLog

        config = load_config(args.env_yaml, args.algo_yaml, overrides_from(args))
        spec = config["dataset_params"]["dataset"]
        if isinstance(spec, str) and os.path.isfile(spec):  # eval.py may run from elsewhere
            config["dataset_params"]["dataset"] = os.path.abspath(spec)
        if config["online_params"]["training_mode"] == "online" \
                and config["online_params"]["online_episodes"] == 0:
            config["online_params"]["online_episodes"] = config["trainer_params"]["eval_freq"]
        rdir = results_dir(config)
        holder["log"] = log = RunLog(args.log_file or os.path.join(rdir, "train_log.txt"))
        device = init_mindspore(args.device)
        session = DiffusionQLSession(log, config)
        tp, op = config["trainer_params"], config["online_params"]
        online = (f" + {op['online_episodes']} online episodes"
                  if op["training_mode"] == "online" else "")
        log.info(f"Diffusion policy training on {device}: algo {config['algo']}, dataset "
                 f"'{config['dataset_params']['dataset']}', hyperparameters of "
                 f"'{config['hyperparameter_row']}' (lr {config['learner_params']['lr']}, eta "
                 f"{config['learner_params']['eta']}, gn {config['learner_params']['gn']}, max_q_backup "
                 f"{config['learner_params']['max_q_backup']}), T {config['policy_params']['T']}, "
                 f"{tp['num_epochs']} episodes x {tp['n_steps_per_episode']} steps{online}; "
                 f"results in {rdir}")
        session.train(resume=args.resume)
        log.info(f"train end ({total_episodes(config)} episodes planned)")

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
