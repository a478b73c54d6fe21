"""Each diffusion algorithm and IQL on one dataset with the same budget; prints JSON.

    python compare_with_iql.py --dataset msrl_ext/hopper/random-v0 \
        --dataset_root ~/.cache/mindspore_rl_ext/datasets --episodes 10 --work compare_runs \
        [--algos ql qg edp bc eg_ood] [--no-iql]

Every run trains ``--episodes`` x 1000 gradient steps from scratch (fresh folders) through
``train.py`` (and ``example/iql/train.py`` for IQL), evaluates 10 episodes every
``--eval_freq`` episodes (default: the middle and the end), and reports the final and best
normalised score of each, plus the dataset's average.
Runs already finished in ``--work`` are reused (delete the folder to redo them).
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EVAL_LINE = re.compile(r"Evaluate for episode (\d+) total rewards is (\S+), normalized score is (\S+)")


def _evals(log_path):
    with open(log_path, encoding="utf-8") as f:
        return [(int(e), float(r), float(s)) for e, r, s in EVAL_LINE.findall(f.read())]


def _summary(evals, seconds=None):
    if not evals:
        return {"evaluations": []}
    out = {"evaluations": evals, "final_score": evals[-1][2], "best_score": max(e[2] for e in evals)}
    if seconds is not None:
        out["per_step_time_ms"] = seconds
    return out


def _per_step(log_path):
    with open(log_path, encoding="utf-8") as f:
        times = [float(t) for t in re.findall(r"per_step_time ([\d.]+) ms", f.read())]
    return round(sorted(times)[len(times) // 2], 2) if times else None


def run_diffusion(algo, args):
    folder = os.path.join(args.work, algo)
    log = os.path.join(folder, "train_log.txt")
    if not (os.path.isfile(log) and "train end" in open(log, encoding="utf-8").read()):
        cmd = [sys.executable, os.path.join(HERE, "train.py"), "--env_name", args.dataset,
               "--algo", algo, "--T", str(args.T), "--num_epochs", str(args.episodes),
               "--eval_freq", str(args.eval_freq), "--device", "CPU",
               "--dir", folder, "--log_file", log, "--no-resume", "--seed", str(args.seed)]
        if args.dataset_root:
            cmd += ["--dataset_root", args.dataset_root]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return _summary(_evals(log), _per_step(log))


def run_iql(args):
    folder = os.path.join(args.work, "iql")
    log = os.path.join(folder, "train_log.txt")
    if not (os.path.isfile(log) and "train end" in open(log, encoding="utf-8").read()):
        os.makedirs(folder, exist_ok=True)
        env_yaml = os.path.join(folder, "env.yaml")
        with open(env_yaml, "w", encoding="utf-8") as f:
            f.write(f"seed: {args.seed}\ndataset_params:\n  dataset: {args.dataset}\n")
            if args.dataset_root:
                f.write(f"  dataset_root: {args.dataset_root}\n")
            f.write(f"trainer_params:\n  eval_per_episode: {args.eval_freq}\n"
                    f"  save_per_episode: {args.eval_freq}\n")
        cmd = [sys.executable, os.path.join(ROOT, "example", "iql", "train.py"), "--episode",
               str(args.episodes), "--device_target", "CPU", "--env_yaml", env_yaml,
               "--ckpt_path", os.path.join(folder, "ckpt"), "--log_file", log, "--no-resume"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return _summary(_evals(log), _per_step(log))


def dataset_average(args):
    from mindspore_rl_ext.data import load_dataset

    ds = load_dataset(args.dataset, dataset_root=args.dataset_root)
    returns = ds.episode_returns()
    return {"dataset": ds.source, "transitions": len(ds), "episodes": int(len(returns)),
            "average_return": float(returns.mean()),
            "average_normalized_score": float(ds.normalized_score(returns.mean()))}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--dataset_root", default=None)
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--eval_freq", type=int, default=None, help="default: episodes // 2")
    p.add_argument("--T", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--algos", nargs="+", default=["ql", "qg", "edp", "bc", "eg_ood"])
    p.add_argument("--no-iql", dest="iql", action="store_false")
    p.add_argument("--work", default="compare_runs")
    args = p.parse_args(argv)
    if args.dataset_root:
        args.dataset_root = os.path.expanduser(args.dataset_root)
    args.eval_freq = args.eval_freq or max(1, args.episodes // 2)
    os.makedirs(args.work, exist_ok=True)
    result = {"episodes": args.episodes, "steps": args.episodes * 1000, "dataset": dataset_average(args)}
    if args.iql:
        result["iql"] = run_iql(args)
        print(json.dumps({"iql": result["iql"]}), flush=True)
    for algo in args.algos:
        result[algo] = run_diffusion(algo, args)
        print(json.dumps({algo: result[algo]}), flush=True)
    print(json.dumps(result, indent=1))
    with open(os.path.join(args.work, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
