"""Milliseconds per compiled update of each algorithm (random data, the reference's sizes).

    python benchmark_update.py --algos ql edp --obs_dim 17 --act_dim 6 --steps 200 --repeats 3

Batch 256, 3x256 Mish MLPs, T=5 VP, twin critics, discount 0.99 (the EMA actor's chain for
the targets is included), one while-loop graph of ``--steps`` updates per call; the first
call (compile + one call's steps) is not timed; the best of ``--repeats`` timed calls is reported
(the machine may be shared), with the load average.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..")))

from mindspore_rl_ext.core.device import init_mindspore  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["ql", "edp"])
    p.add_argument("--obs_dim", type=int, default=17)
    p.add_argument("--act_dim", type=int, default=6)
    p.add_argument("--T", type=int, default=5)
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--hidden_dim", type=int, default=256)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max_q_backup", action="store_true")
    p.add_argument("--device", default="CPU")
    p.add_argument("--with_iql", action="store_true",
                   help="also time the project's IQL update (2x256 ReLU nets) on the same data, "
                        "interleaved, as a load-independent yardstick")
    args = p.parse_args(argv)
    init_mindspore(args.device)
    import mindspore as ms
    import numpy as np
    from mindspore import Tensor

    from mindspore_rl_ext.algorithms.diffusion_ql.networks import DiffusionNetworks
    from mindspore_rl_ext.algorithms.diffusion_ql.update import (DiffusionQLTrainLoop,
                                                                 DiffusionQLUpdate)

    n = 100_000
    rng = np.random.default_rng(0)
    arrays = {"observations": rng.standard_normal((n, args.obs_dim)).astype(np.float32),
              "actions": rng.uniform(-1, 1, (n, args.act_dim)).astype(np.float32),
              "rewards": rng.standard_normal(n).astype(np.float32),
              "next_observations": rng.standard_normal((n, args.obs_dim)).astype(np.float32),
              "terminals": np.zeros(n, np.float32)}
    def timed(fn):
        idx = Tensor(rng.integers(0, n, (args.steps, args.batch_size)).astype(np.int32))
        t0 = time.perf_counter()
        fn(idx, Tensor(args.steps, ms.int32))
        return (time.perf_counter() - t0) * 1000.0 / args.steps

    iql = None
    if args.with_iql:
        from types import SimpleNamespace

        from mindspore_rl_ext.algorithms.iql.iql import IQLPolicyAndNetwork, IQLUpdate

        ms.set_seed(0)
        iql_nets = IQLPolicyAndNetwork(
            {"hidden_sizes": [256, 256], "dropout_rate": None, "log_std_min": -5.0,
             "log_std_max": 2.0}, SimpleNamespace(state_dim=args.obs_dim, action_dim=args.act_dim))
        iql_update = IQLUpdate(iql_nets, arrays, {
            "gamma": 0.99, "expectile": 0.7, "temperature": 3.0, "exp_adv_max": 100.0,
            "update_factor": 0.005, "actor_lr": 3e-4, "actor_lr_schedule": "cosine",
            "value_lr": 3e-4, "critic_lr": 3e-4}, 10 ** 6)
        iql_update.set_train(True)

        def iql(idx, num_steps):
            iql_update(idx, num_steps).asnumpy()
        timed(iql)  # compile
        iql_times = []

    results = {}
    for algo in args.algos:
        ms.set_seed(0)
        nets = DiffusionNetworks(args.obs_dim, args.act_dim, 1.0, algo, args.T, "vp",
                                 args.hidden_dim, args.hidden_dim)
        update = DiffusionQLUpdate(nets, algo=algo, max_q_backup=args.max_q_backup)
        loop = DiffusionQLTrainLoop(update, arrays)

        def run(idx, num_steps):
            loop(idx, num_steps).asnumpy()
        t0 = time.perf_counter()  # same index shape as the timed calls: no recompilation
        timed(run)
        compile_s = time.perf_counter() - t0
        times, ratios = [], []
        for _ in range(args.repeats):
            times.append(timed(run))
            if iql is not None:  # interleaved: both see the same machine load
                iql_times.append(timed(iql))
                ratios.append(times[-1] / iql_times[-1])
        results[algo] = {"ms_per_update_best": round(min(times), 2),
                         "ms_per_update_all": [round(t, 2) for t in times],
                         "compile_s": round(compile_s, 1)}
        extra = ""
        if ratios:
            results[algo]["ratio_to_iql_median"] = round(float(np.median(ratios)), 2)
            extra = f"; {np.median(ratios):.1f}x IQL's update under the same load"
        print(f"{algo}: {min(times):.2f} ms/update (runs {', '.join(f'{t:.1f}' for t in times)}; "
              f"first call incl. compile {compile_s:.1f} s{extra})", flush=True)
    if iql is not None:
        results["iql"] = {"ms_per_update_best": round(min(iql_times), 2),
                          "ms_per_update_all": [round(t, 2) for t in iql_times]}
        print(f"iql: {min(iql_times):.2f} ms/update (runs {', '.join(f'{t:.1f}' for t in iql_times)})")
    info = {"obs_dim": args.obs_dim, "act_dim": args.act_dim, "T": args.T,
            "batch_size": args.batch_size, "hidden_dim": args.hidden_dim,
            "threads": os.environ.get("MSRL_EXT_CPU_THREADS", str(os.cpu_count())),
            "loadavg": os.getloadavg(), "results": results}
    print(json.dumps(info))


if __name__ == "__main__":
    main()
