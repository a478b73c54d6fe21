"""The entry point of the sweep algorithm ``d3rlpy_iql``, run with the project's python::

    python d3rlpy_iql_launch.py --episode N --env_yaml ENV.yaml --algo_yaml ALGO.yaml \\
        --log_file RUN/d3rlpy_iql_train_log.txt [--device_target CPU|GPU|Auto]

It reads the config (defaults <- ENV_YAML <- ALGO_YAML; an unknown key or a bad value is
a ConfigError naming it), resolves the dataset with our loaders ('default', a Minari id,
a .hdf5/.npz path) and writes it once into the log file's folder as
``d3rlpy_iql_data.npz`` (``export.py``), then replaces itself (same process) with
``d3rlpy_iql.py`` under the benchmark venv's python, which trains, logs, writes
``metrics.csv`` and checkpoints, and resumes from them on a rerun.

The keys, with IQL's names and defaults (``algorithms/iql/config.py``) so that a sweep's
shared overrides mean the same for both, and d3rlpy's locomotion reproduction values:

| key | d3rlpy (``d3rlpy_iql.py`` flag) |
|---|---|
| ``seed`` | ``d3rlpy.seed``, NumPy, torch; evaluation resets ``seed + i`` |
| ``dataset_params.dataset``, ``dataset_root``, ``env_id`` | the dataset, as for IQL |
| ``dataset_params.batch_size`` (256) | ``batch_size`` |
| ``policy_params.hidden_sizes`` ([256, 256]) | every encoder's ``hidden_units`` |
| ``learner_params.gamma`` (0.99), ``update_factor`` (0.005) | ``gamma``, ``tau`` |
| ``learner_params.actor_lr``, ``critic_lr`` (3e-4) | actor / critic (Q and V) learning rates |
| ``learner_params.expectile`` (0.7), ``temperature`` (3.0), ``exp_adv_max`` (100) | ``expectile``, ``weight_temp``, ``max_weight`` |
| ``learner_params.actor_lr_schedule`` (cosine) | actor cosine annealing over the budget, or constant |
| ``trainer_params.n_steps_per_episode`` (1000), ``eval_per_episode`` (5), ``save_per_episode`` (5), ``num_evaluate_episode`` (10) | the same cadence as our trainers |
| ``trainer_params.ckpt_path`` | d3rlpy checkpoints (``episode_<N>.pt``) |
| ``trainer_params.tensorboard`` | not written (the venv has no tensorboardX); noted in the log |

Rewards are always scaled as the paper's locomotion setting (d3rlpy's
``ReturnBasedRewardScaler(1000)``) and observations are not normalised.
"""
import argparse
import os
import sys

from mindspore_rl_ext.core.config import apply_yaml, require
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.train_options import add_training_options, parse_training_args
from mindspore_rl_ext.sweep.peers.bench_venv import require_bench_python

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "d3rlpy_iql.py")
DATA_FILE = "d3rlpy_iql_data.npz"
DEVICES = {"CPU": "cpu", "GPU": "cuda", "Auto": "auto"}  # --device_target -> torch

DEFAULT_CONFIG = {
    "seed": 42,
    "dataset_params": {"dataset": "default", "dataset_root": None, "env_id": None,
                       "batch_size": 256},
    "policy_params": {"hidden_sizes": [256, 256]},
    "learner_params": {"gamma": 0.99, "actor_lr": 3e-4, "critic_lr": 3e-4,
                       "update_factor": 0.005, "expectile": 0.7, "temperature": 3.0,
                       "exp_adv_max": 100.0, "actor_lr_schedule": "cosine"},
    "trainer_params": {"ckpt_path": "./ckpt", "n_steps_per_episode": 1000,
                       "save_per_episode": 5, "eval_per_episode": 5,
                       "num_evaluate_episode": 10, "tensorboard": False},
}

# (section, key) -> d3rlpy_iql.py flag; seed and the trainer cadence included
FLAGS = {
    (None, "seed"): "--seed",
    ("dataset_params", "batch_size"): "--batch-size",
    ("policy_params", "hidden_sizes"): "--hidden-sizes",
    ("learner_params", "gamma"): "--gamma",
    ("learner_params", "actor_lr"): "--actor-lr",
    ("learner_params", "critic_lr"): "--critic-lr",
    ("learner_params", "update_factor"): "--tau",
    ("learner_params", "expectile"): "--expectile",
    ("learner_params", "temperature"): "--temperature",
    ("learner_params", "exp_adv_max"): "--max-weight",
    ("learner_params", "actor_lr_schedule"): "--actor-lr-schedule",
    ("trainer_params", "n_steps_per_episode"): "--steps-per-episode",
    ("trainer_params", "eval_per_episode"): "--eval-per-episode",
    ("trainer_params", "save_per_episode"): "--save-per-episode",
    ("trainer_params", "num_evaluate_episode"): "--num-eval-episodes",
}


def _int(value, low):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate(config: dict) -> dict:
    """Range checks of the values (ConfigError naming the key); returns ``config``."""
    lp, tp = config["learner_params"], config["trainer_params"]
    require(_int(config["seed"], 0), "seed", f"must be an int >= 0, got {config['seed']!r}")
    require(_int(config["dataset_params"]["batch_size"], 1), "dataset_params.batch_size",
            f"must be an int >= 1, got {config['dataset_params']['batch_size']!r}")
    hidden = config["policy_params"]["hidden_sizes"]
    require(isinstance(hidden, (list, tuple)) and hidden and all(_int(h, 1) for h in hidden),
            "policy_params.hidden_sizes", f"must be a list of positive ints, got {hidden!r}")
    for key in ("actor_lr", "critic_lr", "exp_adv_max"):
        require(_number(lp[key]) and lp[key] > 0, f"learner_params.{key}",
                f"must be a number > 0, got {lp[key]!r}")
    require(_number(lp["gamma"]) and 0 <= lp["gamma"] <= 1, "learner_params.gamma",
            f"must be a number in [0, 1], got {lp['gamma']!r}")
    require(_number(lp["update_factor"]) and 0 < lp["update_factor"] <= 1,
            "learner_params.update_factor",
            f"must be a number in (0, 1], got {lp['update_factor']!r}")
    require(_number(lp["expectile"]) and 0 < lp["expectile"] < 1, "learner_params.expectile",
            f"must be a number in (0, 1), got {lp['expectile']!r}")
    require(_number(lp["temperature"]) and lp["temperature"] >= 0, "learner_params.temperature",
            f"must be a number >= 0, got {lp['temperature']!r}")
    require(lp["actor_lr_schedule"] in ("cosine", "constant"), "learner_params.actor_lr_schedule",
            f"must be 'cosine' or 'constant', got {lp['actor_lr_schedule']!r}")
    for key in ("n_steps_per_episode", "num_evaluate_episode"):
        require(_int(tp[key], 1), f"trainer_params.{key}", f"must be an int >= 1, got {tp[key]!r}")
    for key in ("save_per_episode", "eval_per_episode"):
        require(_int(tp[key], 0), f"trainer_params.{key}", f"must be an int >= 0, got {tp[key]!r}")
    return config


def load_config(env_yaml: str = None, algo_yaml: str = None) -> dict:
    """Defaults <- ENV_YAML <- ALGO_YAML, checked; then the benchmark venv must exist
    (ConfigError naming its setup command), since the run needs it."""
    config = validate(apply_yaml(apply_yaml(DEFAULT_CONFIG, env_yaml), algo_yaml))
    require_bench_python()
    return config


def script_argv(config: dict, episodes: int, data: str, log_file: str, device: str) -> list[str]:
    """``d3rlpy_iql.py``'s command line (after the python) for this config."""
    argv = [SCRIPT, "--data", data, "--episodes", str(episodes), "--log-file", log_file,
            "--ckpt-dir", os.path.abspath(config["trainer_params"]["ckpt_path"]),
            "--device", device]
    for (section, key), flag in FLAGS.items():
        value = config[key] if section is None else config[section][key]
        argv += [flag, *map(str, value)] if isinstance(value, (list, tuple)) else [flag, str(value)]
    return argv


def export_run_dataset(config: dict, folder: str) -> str:
    """The run's dataset as ``folder/d3rlpy_iql_data.npz`` (written on the first start)."""
    from mindspore_rl_ext.data import load_dataset
    from mindspore_rl_ext.sweep.peers.export import export_dataset

    path = os.path.join(folder, DATA_FILE)
    if not os.path.isfile(path):
        dp = config["dataset_params"]
        dataset = load_dataset(dp["dataset"], dp["dataset_root"], dp["env_id"])
        if not dataset.env_id:
            raise ConfigError(f"dataset '{dp['dataset']}' records no environment id; set "
                              "dataset_params.env_id (e.g. Hopper-v5)")
        export_dataset(dataset, path)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train d3rlpy's IQL (benchmark venv) on our dataset.")
    add_training_options(parser, "training episodes (n_steps_per_episode gradient steps each)",
                         log_file="d3rlpy_iql_train_log.txt")
    return parse_training_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    holder = {}

    def run():
        from mindspore_rl_ext.core.run_log import RunLog

        holder["log"] = log = RunLog(args.log_file)
        require(args.device_target in DEVICES, "--device_target",
                f"d3rlpy_iql runs on {', '.join(DEVICES)}, got {args.device_target}")
        config = load_config(args.env_yaml, args.algo_yaml)
        python = require_bench_python()
        log_file = os.path.abspath(args.log_file)
        data = export_run_dataset(config, os.path.dirname(log_file))
        if config["trainer_params"]["tensorboard"]:
            log.info("trainer_params.tensorboard: d3rlpy_iql writes no TensorBoard files "
                     "(the bench venv has no tensorboardX)")
        argv = [python, *script_argv(config, args.episode, data, log_file,
                                     DEVICES[args.device_target])]
        sys.stdout.flush()
        sys.stderr.flush()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # our paths stay ours
        os.execve(python, argv, env)  # the log file is closed on exec (not inheritable)

    from mindspore_rl_ext.core.cli import run_main

    return run_main(run, holder)


if __name__ == "__main__":
    sys.exit(main())
