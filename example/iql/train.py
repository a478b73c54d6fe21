"""Train IQL or an IQL-critic diffusion method:
``python train.py --episode 20 --device_target CPU [--algo iql|idql|aligniql|aligniql_hard]
[--env_yaml F] [--algo_yaml F]``.

``--algo`` (default iql) picks IQL (algorithms/iql) or IDQL / AlignIQL / AlignIQL-hard
(algorithms/idql); the ALGO_YAML is read with that algorithm's defaults.

One episode is ``trainer_params.n_steps_per_episode`` compiled gradient steps (1000 by
default). Rerunning the same command resumes from the newest complete checkpoint in
``--ckpt_path``; ``--no-resume`` starts over.
"""
import argparse
import sys

from mindspore_rl_ext.core.device import init_mindspore
from mindspore_rl_ext.core.train_options import add_training_options, parse_training_args


ALGOS = ("iql", "idql", "aligniql", "aligniql_hard")


def session_for(algo, env_yaml, algo_yaml):
    """(config, Session class, Trainer class, display name) of ``algo``."""
    if algo == "iql":
        from mindspore_rl_ext.algorithms.iql import IQLSession, IQLTrainer, load_config

        return load_config(env_yaml, algo_yaml), IQLSession, IQLTrainer, "IQL"
    from mindspore_rl_ext.algorithms.idql import IDQLSession, IDQLTrainer, load_config

    names = {"idql": "IDQL", "aligniql": "AlignIQL", "aligniql_hard": "AlignIQL-hard"}
    return load_config(env_yaml, algo_yaml, algo=algo), IDQLSession, IDQLTrainer, names[algo]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train IQL on an offline dataset.")
    parser.add_argument("--algo", choices=ALGOS, default="iql",
                        help="iql, or a diffusion policy with an IQL critic (idql, aligniql, "
                             "aligniql_hard)")
    add_training_options(parser, "offline training episodes (n_steps_per_episode gradient "
                                 "steps each); idql/aligniql/aligniql_hard add "
                                 "online_params.online_episodes online ones after them",
                         log_file="iql_train_log.txt")
    parser.add_argument("--ckpt_path", default=None, help="checkpoint folder (default ./ckpt)")
    parser.add_argument("--no-resume", dest="resume", action="store_false",
                        help="start over even if ckpt_path holds checkpoints")
    return parse_training_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.core.run_log import RunLog

        holder["log"] = log = RunLog(args.log_file)
        config, session_class, trainer_class, name = session_for(args.algo, args.env_yaml,
                                                                 args.algo_yaml)
        if args.ckpt_path:
            config["trainer_params"]["ckpt_path"] = args.ckpt_path
        device = init_mindspore(args.device_target)
        session = session_class(log, config=config, episodes=args.episode)
        log.info(f"{name} training on {device}: dataset '{config['dataset_params']['dataset']}', "
                 f"domain {config['domain']}, {args.episode} episodes x "
                 f"{config['trainer_params']['n_steps_per_episode']} steps, "
                 f"checkpoints in {config['trainer_params']['ckpt_path']}")
        online = config.get("online_params", {}).get("online_episodes", 0)
        if online:
            log.info(f"then {online} online episodes x "
                     f"{config['online_params']['env_steps_per_episode']} environment steps")
        session.run(trainer_class, episode=args.episode + online, resume=args.resume)
        log.info("train end")

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
