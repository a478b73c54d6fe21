"""The command-line options every train entry point shares (``example/*/train.py``, the
sweep's peer launchers). Light on purpose: a usage error or ``--help`` must not import
MindSpore."""
import argparse

from mindspore_rl_ext.core.device import DEVICE_TARGETS


def add_training_options(parser: argparse.ArgumentParser, episode_help: str,
                         log_file: str) -> None:
    """Add --episode, --device_target, --env_yaml, --algo_yaml and --log_file (default
    ``log_file``) to ``parser``."""
    parser.add_argument("--episode", type=int, required=True, help=episode_help)
    parser.add_argument("--device_target", choices=DEVICE_TARGETS, default="Auto")
    parser.add_argument("--env_yaml", default=None, help="dataset/environment overrides")
    parser.add_argument("--algo_yaml", default=None, help="algorithm overrides")
    parser.add_argument("--log_file", default=log_file)


def parse_training_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """``parser``'s arguments; a usage error (exit 2) unless --episode >= 1."""
    args = parser.parse_args(argv)
    if args.episode < 1:
        parser.error(f"--episode must be >= 1, got {args.episode}")
    return args
