"""2-D bandit toy of the Diffusion-QL / QG papers (state 0, one step, discount 0).

    python bandit_toy.py --algo ql --env_name 8gaussians --exp dql_base --device CPU --T 5 \
        --ms online --lr_decay --mode train --save_best_model
    python bandit_toy.py --algo ql --env_name 8gaussians --exp dql_base --T 5 --ms online \
        --lr_decay --mode eval            # reload the newest (or --model_id N) checkpoint, plot

The toy runs through the Diffusion-QL Session (``train.py``'s config, trainer, callbacks,
log lines and checkpoints): rerunning ``--mode train`` resumes from the newest checkpoint
(``--no-resume`` starts over). Results: ``<dir>/<env>__<exp>__diffusion-<algo>__T-<T>[__lr_decay]__ms-<ms>[__k-<top_k>]__<seed>/``
(train.py's folder name; before the toy joined the Session it also held ``beta-<beta>``, the
data plot's temperature) with config.json, toy_log.txt, metrics.csv, eval.npy and
best_score_<ms>.txt (train.py's model selection), ckpt/ (core.checkpoint: one folder per
network plus train_state), summary_<N>.json and the PNGs scatter-data_<env>.png and
scatter-action_<algo>_<N>.png.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..")))

from mindspore_rl_ext.core.device import DEVICE_TARGETS, init_mindspore  # noqa: E402


def device_target(value):
    """--device: CPU/GPU/Ascend/Auto, or a GPU index as in the reference (0, 1, ...)."""
    if value in DEVICE_TARGETS:
        return value
    if value.isdigit():
        return "Auto"
    raise argparse.ArgumentTypeError(f"--device must be one of {DEVICE_TARGETS} or a GPU index, got '{value}'")


def parse_args(argv=None):
    """Options left unset take the config's value (toy defaults <- --env_yaml <- --algo_yaml)."""
    p = argparse.ArgumentParser(description="Diffusion-policy 2-D bandit toy (Diffusion-QL Session).")
    p.add_argument("--algo", default=None, choices=["ql", "qg", "edp", "bc", "eg_ood"],
                   help="default ql")
    p.add_argument("--env_name", default="8gaussians", choices=["8gaussians", "rings", "swissroll"])
    p.add_argument("--exp", default=None, help="experiment tag in the results folder name (exp_1)")
    p.add_argument("--device", default="Auto", type=device_target)
    p.add_argument("--dir", default=None, help="results root (default results_toy)")
    p.add_argument("--seed", type=int, default=None, help="default 0")
    p.add_argument("--T", type=int, default=None, help="diffusion steps (default 5)")
    p.add_argument("--beta_schedule", default=None, choices=["vp", "linear", "cosine"])
    p.add_argument("--beta", type=float, default=3.0, help="softmax temperature of the data plot")
    p.add_argument("--ms", default=None, choices=["online", "offline"],
                   help="model selection (train.py's; default online)")
    p.add_argument("--lr_decay", action="store_true")
    p.add_argument("--lr_decay_mode", default=None, choices=["cosine", "reference"])
    p.add_argument("--save_best_model", action="store_true",
                   help="also save a checkpoint at every evaluation (the final one is always saved)")
    p.add_argument("--mode", default="train", choices=["train", "eval"])
    p.add_argument("--model_id", type=int, default=None, help="--mode eval: episode to load")
    p.add_argument("--num_epochs", type=int, default=None, help="default: 300 (8gaussians) / 200")
    p.add_argument("--n_steps_per_episode", type=int, default=None, help="default 1000")
    p.add_argument("--eval_freq", type=int, default=None, help="default 50")
    p.add_argument("--hidden_dim", type=int, default=None, help="actor and critic (default 256)")
    p.add_argument("--batch_size", type=int, default=None, help="default 256")
    p.add_argument("--dataset_size", type=int, default=None, help="default 1000000")
    p.add_argument("--eta", type=float, default=None)
    p.add_argument("--env_yaml", default=None, help="Diffusion-QL config YAML (as train.py's)")
    p.add_argument("--algo_yaml", default=None)
    p.add_argument("--no-resume", dest="resume", action="store_false")
    p.add_argument("--log_file", default=None, help="default: <results folder>/toy_log.txt")
    args = p.parse_args(argv)
    for name in ("T", "num_epochs", "n_steps_per_episode", "eval_freq", "hidden_dim", "batch_size",
                 "dataset_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name} must be >= 1")
    return args


# (config section or None, key, option) of the options that override the config
_OPTIONS = ((None, "algo", "algo"), (None, "exp", "exp"), (None, "seed", "seed"),
            ("policy_params", "T", "T"), ("policy_params", "beta_schedule", "beta_schedule"),
            ("policy_params", "hidden_dim", "hidden_dim"),
            ("policy_params", "critic_hidden_dim", "hidden_dim"),
            ("dataset_params", "batch_size", "batch_size"),
            ("dataset_params", "toy_dataset_size", "dataset_size"),
            ("selection_params", "ms", "ms"), ("learner_params", "eta", "eta"),
            ("learner_params", "lr_decay_mode", "lr_decay_mode"),
            ("trainer_params", "results_dir", "dir"), ("trainer_params", "num_epochs", "num_epochs"),
            ("trainer_params", "n_steps_per_episode", "n_steps_per_episode"),
            ("trainer_params", "eval_freq", "eval_freq"))


def overrides_from(args):
    """The Diffusion-QL config overrides of the command line (only the options given)."""
    o = {}
    for section, key, option in _OPTIONS:
        value = getattr(args, option)
        if value is not None:
            (o.setdefault(section, {}) if section else o)[key] = value
    if args.lr_decay:
        o.setdefault("learner_params", {})["lr_decay"] = True
    if args.save_best_model:
        o.setdefault("trainer_params", {})["save_best_model"] = True
    return o


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.algorithms.diffusion_ql.session import results_dir
        from mindspore_rl_ext.algorithms.diffusion_ql.toy import (evaluate_toy, toy_config,
                                                                  train_toy)
        from mindspore_rl_ext.core.run_log import RunLog

        config = toy_config(args.env_name, overrides_from(args), args.env_yaml, args.algo_yaml)
        rdir = results_dir(config)
        holder["log"] = log = RunLog(args.log_file or os.path.join(rdir, "toy_log.txt"))
        init_mindspore(args.device)
        if args.mode == "train":
            tp = config["trainer_params"]
            log.info(f"Bandit toy {args.env_name}: algo {config['algo']}, T "
                     f"{config['policy_params']['T']}, {tp['num_epochs']} episodes x "
                     f"{tp['n_steps_per_episode']} steps, results in {rdir}")
            toy, episode = train_toy(config, log, resume=args.resume)
            evaluate_toy(config, log, toy, episode, args.beta)
        else:
            evaluate_toy(config, log, model_id=args.model_id, beta=args.beta)

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
