"""Train IQL: ``python train.py --episode 20 --device_target CPU [--env_yaml F] [--algo_yaml F]``.

One episode is ``trainer_params.n_steps_per_episode`` compiled gradient steps (1000 by
default). Rerunning the same command resumes from the newest complete checkpoint in
``--ckpt_path``; ``--no-resume`` starts over.
"""
import argparse
import sys

from mindspore_rl_ext.core.device import DEVICE_TARGETS, init_mindspore


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train IQL on an offline dataset.")
    parser.add_argument("--episode", type=int, required=True,
                        help="training episodes (n_steps_per_episode gradient steps each)")
    parser.add_argument("--device_target", choices=DEVICE_TARGETS, default="Auto")
    parser.add_argument("--env_yaml", default=None, help="dataset/environment overrides")
    parser.add_argument("--algo_yaml", default=None, help="algorithm overrides")
    parser.add_argument("--ckpt_path", default=None, help="checkpoint folder (default ./ckpt)")
    parser.add_argument("--no-resume", dest="resume", action="store_false",
                        help="start over even if ckpt_path holds checkpoints")
    parser.add_argument("--log_file", default="iql_train_log.txt")
    args = parser.parse_args(argv)
    if args.episode < 1:
        parser.error(f"--episode must be >= 1, got {args.episode}")
    return args


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.core.run_log import RunLog

        holder["log"] = log = RunLog(args.log_file)
        from mindspore_rl_ext.algorithms.iql import IQLSession, IQLTrainer, load_config

        config = load_config(args.env_yaml, args.algo_yaml)
        if args.ckpt_path:
            config["trainer_params"]["ckpt_path"] = args.ckpt_path
        device = init_mindspore(args.device_target)
        session = IQLSession(log, config=config, episodes=args.episode)
        log.info(f"IQL training on {device}: dataset '{config['dataset_params']['dataset']}', "
                 f"domain {config['domain']}, {args.episode} episodes x "
                 f"{config['trainer_params']['n_steps_per_episode']} steps, "
                 f"checkpoints in {config['trainer_params']['ckpt_path']}")
        session.run(IQLTrainer, episode=args.episode, resume=args.resume)
        log.info("train end")

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
