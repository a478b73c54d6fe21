"""2-D bandit toy of the Diffusion-QL / QG papers (state 0, one step, discount 0).

    python bandit_toy.py --algo ql --env_name 8gaussians --exp dql_base --device CPU --T 5 \
        --ms online --lr_decay --mode train --save_best_model
    python bandit_toy.py --algo ql --env_name 8gaussians --exp dql_base --T 5 --ms online \
        --lr_decay --mode eval            # reload the newest (or --model_id N) checkpoint, plot

Results: ``<dir>/<env>__beta-<beta>__<exp>__diffusion-<algo>__T-<T>[__lr_decay]__ms-<ms>__<seed>/``
with config.json, the log, eval.npy, ckpt/<network>/<network>_<N>.ckpt, summary_<N>.json and
the PNGs scatter-data_<env>.png and scatter-action_<algo>_<N>.png.
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
    p = argparse.ArgumentParser(description="Diffusion-policy 2-D bandit toy.")
    p.add_argument("--algo", default="ql", choices=["ql", "qg", "edp", "bc", "eg_ood"])
    p.add_argument("--env_name", default="8gaussians", choices=["8gaussians", "rings", "swissroll"])
    p.add_argument("--exp", default="exp_1")
    p.add_argument("--device", default="Auto", type=device_target)
    p.add_argument("--dir", default="results_toy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--T", type=int, default=5)
    p.add_argument("--beta_schedule", default="vp", choices=["vp", "linear", "cosine"])
    p.add_argument("--beta", type=float, default=3.0, help="softmax temperature of the data plot")
    p.add_argument("--ms", default="online", choices=["online", "offline"],
                   help="only part of the folder name, as in the reference")
    p.add_argument("--lr_decay", action="store_true")
    p.add_argument("--lr_decay_mode", default="cosine", choices=["cosine", "reference"])
    p.add_argument("--save_best_model", action="store_true",
                   help="also save a checkpoint at every evaluation (the final one is always saved)")
    p.add_argument("--mode", default="train", choices=["train", "eval"])
    p.add_argument("--model_id", type=int, default=None, help="--mode eval: episode to load")
    p.add_argument("--num_epochs", type=int, default=None, help="default: 300 (8gaussians) / 200")
    p.add_argument("--n_steps_per_episode", type=int, default=1000)
    p.add_argument("--eval_freq", type=int, default=50)
    p.add_argument("--hidden_dim", type=int, default=256)
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--dataset_size", type=int, default=1_000_000)
    p.add_argument("--eta", type=float, default=None)
    p.add_argument("--log_file", default=None, help="default: <results folder>/toy_log.txt")
    args = p.parse_args(argv)
    for name in ("T", "n_steps_per_episode", "eval_freq", "hidden_dim", "batch_size", "dataset_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    if args.num_epochs is not None and args.num_epochs < 1:
        p.error("--num_epochs must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.algorithms.diffusion_ql.toy import (evaluate_toy, toy_config,
                                                                  toy_results_dir, train_toy)
        from mindspore_rl_ext.core.run_log import RunLog

        cfg = toy_config(args.env_name, args.algo, args.T, args.beta_schedule, args.lr_decay,
                         args.ms, args.seed, args.exp, args.beta, args.dir, args.num_epochs,
                         args.n_steps_per_episode, args.eval_freq, args.batch_size,
                         args.hidden_dim, args.dataset_size, args.save_best_model,
                         args.lr_decay_mode, args.eta)
        rdir = toy_results_dir(cfg)
        holder["log"] = log = RunLog(args.log_file or os.path.join(rdir, "toy_log.txt"))
        init_mindspore(args.device)
        if args.mode == "train":
            trained, _ = train_toy(cfg, log)
            evaluate_toy(cfg, log, run=trained)
        else:
            evaluate_toy(cfg, log, model_id=args.model_id)

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
