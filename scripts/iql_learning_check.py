"""IQL vs behaviour cloning vs the dataset itself, on one dataset and budget; prints JSON.

    python scripts/iql_learning_check.py --episode 20 [--seeds 42 43 44] [--env_yaml F]
        [--work DIR]

Trains IQL (the paper's config) and BC (``example/iql/bc.yaml``: temperature 0) with the
same budget through ``example/iql/train.py``, each in a fresh checkpoint folder, for each
seed (default: the config's), then reads the evaluations of each log and the dataset's
average normalised return; ``summary`` holds the final scores' mean and std over seeds.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "example", "iql", "train.py")
BC_YAML = os.path.join(ROOT, "example", "iql", "bc.yaml")
EVAL_LINE = re.compile(r"Evaluate for episode (\d+) total rewards is (\S+), normalized score is (\S+)")


def train(name, args, env_yaml, work, algo_yaml=None):
    folder = os.path.join(work, name)
    cmd = [sys.executable, TRAIN, "--episode", str(args.episode), "--device_target", "CPU",
           "--ckpt_path", os.path.join(folder, "ckpt"), "--log_file", os.path.join(folder, "train_log.txt"),
           "--no-resume"]
    if env_yaml:
        cmd += ["--env_yaml", env_yaml]
    if algo_yaml:
        cmd += ["--algo_yaml", algo_yaml]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(folder, "train_log.txt"), encoding="utf-8") as f:
        evals = [(int(e), float(r), float(s)) for e, r, s in EVAL_LINE.findall(f.read())]
    return {"evaluations": evals, "final_return": evals[-1][1], "final_score": evals[-1][2]}


def dataset_average(args):
    from mindspore_rl_ext.algorithms.iql import load_config
    from mindspore_rl_ext.data import load_dataset

    params = load_config(args.env_yaml)["dataset_params"]
    ds = load_dataset(params["dataset"], params["dataset_root"], params["env_id"])
    returns = ds.episode_returns()
    return {"dataset": ds.source, "episodes": int(len(returns)),
            "average_return": float(returns.mean()),
            "average_normalized_score": float(ds.normalized_score(returns.mean()))}


def seed_yaml(args, seed, work):
    """The --env_yaml overrides with ``seed`` set, written into the seed's work folder."""
    overrides = {}
    if args.env_yaml:
        with open(args.env_yaml, encoding="utf-8") as f:
            overrides = yaml.safe_load(f) or {}
    overrides["seed"] = seed
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "env.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(overrides, f)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episode", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="one IQL and one BC run per seed (default: the config's seed)")
    parser.add_argument("--env_yaml", default=None)
    parser.add_argument("--work", default="learning_check")
    args = parser.parse_args()
    result = {"episodes": args.episode, "dataset": dataset_average(args), "runs": {}}
    for seed in args.seeds or [None]:
        work = args.work if seed is None else os.path.join(args.work, f"seed{seed}")
        env_yaml = args.env_yaml if seed is None else seed_yaml(args, seed, work)
        result["runs"][str(seed if seed is not None else "config")] = {
            "iql": train("iql", args, env_yaml, work), "bc": train("bc", args, env_yaml, work, BC_YAML)}
    result["summary"] = {}
    for algo in ("iql", "bc"):
        finals = [run[algo]["final_score"] for run in result["runs"].values()]
        result["summary"][algo] = {
            "final_score_mean": float(np.mean(finals)), "seeds": len(finals),
            "final_score_std": float(np.std(finals, ddof=1)) if len(finals) > 1 else 0.0}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
