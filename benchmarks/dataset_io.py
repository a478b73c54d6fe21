"""Dataset I/O benchmark: generate N Walker2d steps, then time loading and measure its
peak memory relative to the bytes of the arrays returned. Prints one JSON object.

    nice -n 10 python benchmarks/dataset_io.py [--env walker2d] [--steps 1000000] [--root DIR]

Each load runs in a fresh subprocess twice: once for wall time and peak RSS growth
(VmHWM minus VmRSS before the load), once under tracemalloc (peak of traced
allocations; NumPy and h5py buffers are traced). Target: peak <= 1.5x raw bytes.
Uses the shipped <env>_medium.npz policy when there is one, else uniform random actions.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import tracemalloc

import h5py

from mindspore_rl_ext.data import behaviour, load_d4rl_hdf5, load_minari, save_d4rl_hdf5
from mindspore_rl_ext.data.generate import ENV_IDS, dataset_id_for, generate_dataset

MB = 2**20
FIELDS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts",
          "episode_ends")


def _proc_status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(kind, target, root, use_tracemalloc):
    """Load once in this process; JSON with time, raw bytes and peak memory."""
    rss_before = _proc_status_bytes("VmRSS")
    if use_tracemalloc:
        tracemalloc.start()
    start = time.perf_counter()
    ds = load_minari(target, root) if kind == "minari" else load_d4rl_hdf5(target)
    seconds = time.perf_counter() - start
    raw = sum(getattr(ds, key).nbytes for key in FIELDS)
    out = {"rows": len(ds), "raw_bytes": raw}
    if use_tracemalloc:
        out["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    else:
        out["load_s"] = seconds
        out["rss_peak_growth_bytes"] = _proc_status_bytes("VmHWM") - rss_before
    return out


def run_measure(kind, target, root):
    """Both subprocess runs of one loader, merged into ratios."""
    result = {}
    for flag in ([], ["--tracemalloc"]):
        cmd = [sys.executable, __file__, "--measure", kind, "--target", str(target),
               "--root", str(root), *flag]
        result.update(json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                                text=True).stdout.splitlines()[-1]))
    raw = result["raw_bytes"]
    return {
        "rows": result["rows"],
        "load_s": round(result["load_s"], 3),
        "raw_array_mb": round(raw / MB, 1),
        "tracemalloc_peak_mb": round(result["tracemalloc_peak_bytes"] / MB, 1),
        "tracemalloc_peak_over_raw": round(result["tracemalloc_peak_bytes"] / raw, 3),
        "rss_peak_growth_mb": round(result["rss_peak_growth_bytes"] / MB, 1),
        "rss_peak_growth_over_raw": round(result["rss_peak_growth_bytes"] / raw, 3),
    }


def write_without_next_observations(ds, path):
    """An original-D4RL-shaped file (no next_observations) to time the qlearning path."""
    with h5py.File(path, "w") as f:
        for key in ("observations", "actions", "rewards"):
            f[key] = getattr(ds, key)
        f["terminals"], f["timeouts"] = ds.terminals.astype(bool), ds.timeouts.astype(bool)


def dir_mb(path):
    files = (p for p in pathlib.Path(path).rglob("*") if p.is_file())
    return round(sum(p.stat().st_size for p in files) / MB, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="walker2d", choices=sorted(ENV_IDS))
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--root", default=None, help="Minari root (default: a temp folder)")
    parser.add_argument("--measure", choices=("minari", "d4rl"), help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.target, args.root, args.tracemalloc)))
        return

    with tempfile.TemporaryDirectory(dir=args.root) as root:
        shipped = behaviour.policy_path(args.env, "medium").is_file()
        level = "medium" if shipped else "random"
        dataset_id = dataset_id_for(args.env, level)
        start = time.perf_counter()
        generate_dataset(args.env, level, args.steps, seed=0, dataset_root=root, progress=False)
        generation_s = time.perf_counter() - start
        ds = load_minari(dataset_id, root)
        episodes = len(ds.episode_ends)
        d4rl_path = pathlib.Path(root) / "d4rl.hdf5"
        start = time.perf_counter()
        save_d4rl_hdf5(ds, d4rl_path)
        save_s = time.perf_counter() - start
        plain_path = pathlib.Path(root) / "d4rl_no_next_obs.hdf5"
        write_without_next_observations(ds, plain_path)
        del ds
        report = {
            "env_id": ENV_IDS[args.env], "steps": args.steps,
            "behaviour": f"{args.env}_medium.npz" if shipped
            else f"uniform random (no {args.env}_medium.npz shipped)",
            "episodes": episodes, "cpu_count": os.cpu_count(), "nice": os.nice(0),
            "generation_s": round(generation_s, 1),
            "minari_dataset_mb": dir_mb(pathlib.Path(root) / dataset_id),
            "minari_load": run_measure("minari", dataset_id, root),
            "d4rl_save_s": round(save_s, 3),
            "d4rl_file_mb": round(d4rl_path.stat().st_size / MB, 1),
            "d4rl_load": run_measure("d4rl", d4rl_path, root),
            "d4rl_load_without_next_observations": run_measure("d4rl", plain_path, root),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
