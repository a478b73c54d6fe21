"""Thread settings for our IQL update (in-graph loop, n_steps_per_episode updates per call):
MindSpore's CPU op threads (``threads_num``, set by init_mindspore from
``$MSRL_EXT_CPU_THREADS`` / ``cpu_threads``) x ``OMP_NUM_THREADS``. Prints JSON.

    python benchmarks/threads.py                       # default grid, 2 rounds
    python benchmarks/threads.py --threads 1,2,4 --omp unset,1,2 --rounds 3

Each setting runs in its own subprocess (threads_num can be set once per process and
OpenMP reads its variable at load time); settings alternate within each round, the order
flipping every round, so machine noise is shared. The fastest median is reported as
``best``; the project default lives in mindspore_rl_ext/core/device.py.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iql_throughput as bench  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1,2,4", help="threads_num values")
    p.add_argument("--omp", default="unset,1,2", help="OMP_NUM_THREADS values ('unset': not set)")
    p.add_argument("--pairs", default=None,
                   help="explicit settings T:OMP,... (e.g. 1:unset,2:unset,2:1) instead of the grid")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=1000, help="timed updates per run")
    p.add_argument("--chunk", type=int, default=1000, help="n_steps_per_episode")
    args = p.parse_args(argv)
    if args.pairs:
        settings = [tuple(x.split(":")) for x in args.pairs.split(",")]
    else:
        settings = [(t, o) for t in args.threads.split(",") for o in args.omp.split(",")]
    wargs = argparse.Namespace(steps=args.steps, chunk=args.chunk, dataset_size=100_000,
                               warmup=0, d3rlpy_steps=0, threads=None, d3rlpy_compile=False)
    results = {f"threads_num={t},OMP_NUM_THREADS={o}": [] for t, o in settings}
    load_before = os.getloadavg()
    for r in range(args.rounds):
        order = settings if r % 2 == 0 else settings[::-1]
        for t, o in order:
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MSRL_EXT_CPU_THREADS")}
            env["MSRL_EXT_CPU_THREADS"] = t
            if o != "unset":
                env["OMP_NUM_THREADS"] = o
            print(f"[round {r + 1}] threads_num={t} OMP_NUM_THREADS={o}", file=sys.stderr, flush=True)
            out = bench.run_worker(sys.executable, "ours", wargs, env=env)
            results[f"threads_num={t},OMP_NUM_THREADS={o}"].append(out.get("ms_per_update"))
    med = {k: statistics.median([x for x in v if x]) for k, v in results.items() if any(v)}
    best = min(med, key=med.get)
    print(json.dumps({
        "benchmark": "iql_update_threads", "cores": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "steps_per_call": args.chunk, "timed_updates_per_run": args.steps,
        "ms_per_update_median": {k: round(v, 3) for k, v in med.items()},
        "ms_per_update_per_round": {k: [None if x is None else round(x, 3) for x in v]
                                    for k, v in results.items()},
        "best": best,
        "note": "shared machine with other jobs running; settings alternate per round",
    }, indent=1))


if __name__ == "__main__":
    main()
