"""Evaluate a trained diffusion policy.

    python eval.py --ckpt_path results/<run>/ckpt [--num_evaluate_episode 10] [--device CPU]
    python eval.py --ckpt_path results/<run>/ckpt/actor/actor_100.ckpt

``--ckpt_path`` is a checkpoint folder (its newest complete checkpoint) or one network's
file (every network of that episode). The run's ``config.json`` (next to ``ckpt/``, or
``--config``) rebuilds the networks; without one, give the training flags (--env_name,
--algo, --T, --dataset...). Actions: 50 samples per state, one drawn by softmax over the
target critic's min Q (``--eval_selection`` argmax|first to change).
"""
import argparse
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..")))

from mindspore_rl_ext.core.device import init_mindspore  # noqa: E402


def _sibling(name):
    """example/diffusion_ql/<name>.py, whatever else is importable as ``name``."""
    spec = importlib.util.spec_from_file_location(f"diffusion_ql_example_{name}",
                                                  os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_train = _sibling("train")
add_common_args, overrides_from = _train.add_common_args, _train.overrides_from


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Evaluate a trained diffusion policy.")
    p.add_argument("--ckpt_path", required=True)
    p.add_argument("--config", default=None, help="the run's config.json (default: found next to ckpt/)")
    add_common_args(p)
    p.add_argument("--num_evaluate_episode", type=int, default=None)
    p.add_argument("--eval_selection", default=None, choices=["softmax", "argmax", "first"])
    p.add_argument("--eval_num_samples", type=int, default=None)
    p.add_argument("--log_file", default="diffusion_ql_eval_log.txt")
    args = p.parse_args(argv)
    if args.num_evaluate_episode is not None and args.num_evaluate_episode < 1:
        p.error("--num_evaluate_episode must be >= 1")
    return args


def find_config(ckpt_path):
    """<results>/config.json for <results>/ckpt or <results>/ckpt/<net>/<net>_N.ckpt."""
    path = os.path.abspath(ckpt_path)
    for _ in range(4):
        candidate = os.path.join(os.path.dirname(path), "config.json")
        if os.path.isfile(candidate):
            return candidate
        path = os.path.dirname(path)
    return None


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.algorithms.diffusion_ql import DiffusionQLSession, DiffusionQLTrainer
        from mindspore_rl_ext.algorithms.diffusion_ql.config import DEFAULT_CONFIG, load_config
        from mindspore_rl_ext.core.cli import fresh_run_log, log_eval_result
        from mindspore_rl_ext.core.config import merge_strict
        from mindspore_rl_ext.core.errors import ConfigError

        log = fresh_run_log(args.log_file, holder)
        overrides = overrides_from(args)
        config_path = args.config or find_config(args.ckpt_path)
        if config_path:
            try:
                with open(config_path, encoding="utf-8") as f:
                    saved = json.load(f)
            except (OSError, json.JSONDecodeError) as e:
                raise ConfigError(f"run config '{config_path}' is unreadable ({e})") from None
            saved = {k: v for k, v in saved.items() if k in DEFAULT_CONFIG}
            overrides = merge_strict(merge_strict(DEFAULT_CONFIG, saved, f"'{config_path}'"),
                                     overrides, "command line")
            log.info(f"Run config: {config_path}")
        ap = overrides.setdefault("actor_params", {})
        if args.eval_selection:
            ap["eval_selection"] = args.eval_selection
        if args.eval_num_samples:
            ap["eval_num_samples"] = args.eval_num_samples
        config = load_config(args.env_yaml, args.algo_yaml, overrides)
        if args.num_evaluate_episode:
            config["trainer_params"]["num_evaluate_episode"] = args.num_evaluate_episode
        init_mindspore(args.device)
        session = DiffusionQLSession(log, config)
        mean_return, score = session.run(DiffusionQLTrainer, is_train=False, ckpt_path=args.ckpt_path)
        log_eval_result(log, mean_return, score, args.ckpt_path)

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
