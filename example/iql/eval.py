"""Evaluate an IQL checkpoint: ``python eval.py --ckpt_path ./ckpt --device_target CPU``
(``--algo idql|aligniql|aligniql_hard`` for those methods' checkpoints; default iql).

``--ckpt_path`` is a checkpoint folder (its newest complete checkpoint is used) or one
network's file, e.g. ``./ckpt/policy/policy_20.ckpt`` (every network of episode 20).
"""
import argparse
import sys

from mindspore_rl_ext.core.device import DEVICE_TARGETS, init_mindspore

from train import ALGOS, session_for  # noqa: E402 (train.py beside this script)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Evaluate a trained IQL policy.")
    parser.add_argument("--ckpt_path", required=True)
    parser.add_argument("--algo", choices=ALGOS, default="iql")
    parser.add_argument("--device_target", choices=DEVICE_TARGETS, default="Auto")
    parser.add_argument("--env_yaml", default=None)
    parser.add_argument("--algo_yaml", default=None)
    parser.add_argument("--log_file", default="iql_eval_log.txt")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.core.cli import fresh_run_log, log_eval_result

        log = fresh_run_log(args.log_file, holder)
        config, session_class, trainer_class, _ = session_for(args.algo, args.env_yaml,
                                                              args.algo_yaml)
        init_mindspore(args.device_target)
        mean_return, score = session_class(log, config=config).run(
            trainer_class, is_train=False, ckpt_path=args.ckpt_path)
        log_eval_result(log, mean_return, score, args.ckpt_path)

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
