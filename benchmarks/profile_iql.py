"""Where the time of our IQL update goes. Prints JSON.

    python benchmarks/profile_iql.py                 # 1 op thread (CPU time = work, little noise)
    python benchmarks/profile_iql.py --threads 2
    python benchmarks/profile_iql.py --count-only    # kernels per update only (~1 min)

Every part runs twice: with the fused optimiser (``fused``: one Adam kernel per network over
flat buffers, Polyak over the flat target buffer; IQL's default) and with ``nn.Adam`` per
parameter (``unfused``, ``learner_params.fused_optimizer: false``). On the Walker2d-shaped
synthetic data of iql_throughput.py:

1. Kernel counts per update (MindSpore profiler, CPU activity; a call of 20 updates minus a
   call of 10, over 10, so the once-per-call kernels drop out): total, and the optimiser's
   and Polyak's share: ``adam`` (Adam kernels), ``optimizer_other`` (the optimisers' other
   kernels: beta powers, step counter, lr schedule; fused: the gradients' Concat),
   ``tensor_move`` (copies MindSpore makes of values read before an in-place update),
   ``weight_slices`` (the fused update's weight views), ``polyak`` (full update minus the
   update without Polyak).
2. Kernel profile of the full update: kernels by type and their time. On a shared machine a
   kernel's wall time includes preemption, so each kernel's *fastest* occurrence is summed
   (``min_ms_per_update``, the uncontended kernel time) next to the median; the gap between
   that sum and the process CPU time per update is the runtime's own per-kernel cost.
3. Ablation, CPU time per update (process_time, so other jobs' load matters little with one
   thread): forward passes only; forward + backward (no optimiser, no Polyak); the full
   update without Polyak; the full update. Variants alternate in one process.

Run it from any directory: nothing is written outside a temporary folder.
"""
import argparse
import collections
import glob
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def build(args):
    sys.path.insert(0, os.path.dirname(HERE))
    sys.path.insert(0, HERE)
    from mindspore_rl_ext.core.device import init_mindspore

    init_mindspore("CPU", cpu_threads=args.threads)
    import mindspore as ms
    import numpy as np

    import iql_throughput as bench
    from mindspore_rl_ext.algorithms.iql import load_config
    from mindspore_rl_ext.algorithms.iql.config import algorithm_config
    from mindspore_rl_ext.algorithms.iql.iql import IQLUpdate, awr_weights
    from mindspore_rl_ext.core.session import build_components
    from mindspore_rl_ext.data.transitions import TransitionDataset

    def grad_sum(grads):
        total = 0.0
        for g in grads:
            total = total + g.sum()
        return total

    class ForwardOnly(IQLUpdate):
        def step(self, obs, act, rew, next_obs, term):
            tq = self.target_q(obs, act)
            value_loss = self.value_loss(obs, tq)
            w = awr_weights(tq, self.v(obs), self.temperature, self.exp_adv_max)
            actor_loss = self.actor_loss(obs, act, w)
            target = rew + self.gamma * (1.0 - term) * self.v(next_obs)
            return self.critic_loss(obs, act, target), actor_loss, value_loss

    class ForwardBackward(IQLUpdate):
        def step(self, obs, act, rew, next_obs, term):
            tq = self.target_q(obs, act)
            value_loss, g1 = self.value_grad(obs, tq)
            w = awr_weights(tq, self.v(obs), self.temperature, self.exp_adv_max)
            actor_loss, g2 = self.actor_grad(obs, act, w)
            target = rew + self.gamma * (1.0 - term) * self.v(next_obs)
            critic_loss, g3 = self.critic_grad(obs, act, target)
            return critic_loss + grad_sum(g3), actor_loss + grad_sum(g2), value_loss + grad_sum(g1)

    class NoPolyak(IQLUpdate):
        def soft_update(self):
            return self.tau

    a = bench.synthetic_arrays(100_000)
    ends = np.flatnonzero(a["timeouts"]) + 1
    ds = TransitionDataset(**a, episode_ends=ends.astype(np.int64), env_id="Walker2d-v5",
                           source="synthetic")
    cfg = load_config()
    cfg["dataset_params"].update(dataset=ds, batch_size=bench.BATCH, reward_transform="none")
    cfg["trainer_params"]["n_steps_per_episode"] = args.steps
    algo = algorithm_config(cfg, 1000)

    def make(cls, fused):
        ms.set_seed(0)
        comps = build_components(algo)
        buf = comps.replay_buffer
        arrays = {"observations": buf.observations, "actions": buf.actions,
                  "rewards": buf.rewards, "next_observations": buf.next_observations,
                  "terminals": buf.terminals}
        params = dict(algo["learner"]["params"], fused_optimizer=fused)
        cell = cls(comps.policy_and_network, arrays, params, 10 ** 6)
        cell.set_train(True)
        return cell, buf

    variants = {"forward_only": ForwardOnly, "forward_backward": ForwardBackward,
                "update_without_polyak": NoPolyak, "full_update": IQLUpdate}
    rng = np.random.default_rng(0)

    def indices(buf, steps=args.steps):
        """The compiled loop's inputs: (indices, num_steps)."""
        return ms.Tensor(buf.sample_indices(rng, steps)), ms.Tensor(steps, ms.int32)

    return ms, variants, make, indices


def kernel_lines(folder):
    """[(kernel full name, [durations ms])] of a CPU profile under ``folder``."""
    files = glob.glob(os.path.join(folder, "**", "cpu_op_execute_timestamp_*.txt"), recursive=True)
    if not files:
        return None
    out = []
    for line in open(files[0]):
        if ";HostCpuOps;" not in line:
            continue
        name, rest = line.rstrip("\n").split(";HostCpuOps;")
        out.append((name, sorted(float(x.split(",")[1]) for x in rest.split())))
    return out


def parse_profile(lines, steps):
    if lines is None:
        return {"error": "no profiler output"}
    by_type = collections.defaultdict(lambda: {"per_update": 0.0, "min_ms": 0.0, "median_ms": 0.0})
    for name, durations in lines:
        per_update = len(durations) / steps
        entry = by_type[kernel_type(name)]
        entry["per_update"] += per_update
        entry["min_ms"] += durations[0] * per_update
        entry["median_ms"] += statistics.median(durations) * per_update
    total_min = sum(e["min_ms"] for e in by_type.values())
    rows = sorted(by_type.items(), key=lambda kv: -kv[1]["min_ms"])
    return {
        "kernels_per_update": round(sum(e["per_update"] for e in by_type.values()), 1),
        "kernel_min_ms_per_update": round(total_min, 3),
        "kernel_median_ms_per_update": round(sum(e["median_ms"] for e in by_type.values()), 3),
        "by_type": {k: {"per_update": round(e["per_update"], 1),
                        "min_ms_per_update": round(e["min_ms"], 3),
                        "median_ms_per_update": round(e["median_ms"], 3),
                        "share_of_min": round(e["min_ms"] / total_min, 3)}
                    for k, e in rows if e["min_ms"] > 0.005},
    }


def kernel_type(name):
    return name.split("/")[-1].split("-op")[0]


def count_kernels(lines, steps):
    """Kernels per update: total; Adam kernels; the optimisers' other kernels (beta powers,
    step counter, lr schedule; fused: the gradients' Concat); TensorMove copies; Slice
    kernels (the fused update's weight views)."""
    per = lambda pred: round(sum(len(d) for n, d in lines if pred(n)) / steps, 1)  # noqa: E731
    in_optimizer = lambda n: "_opt-" in n or "clock-" in n  # noqa: E731
    return {"total": per(lambda n: True),
            "adam": per(lambda n: kernel_type(n) == "Adam"),
            "optimizer_other": per(lambda n: in_optimizer(n) and kernel_type(n) != "Adam"),
            "tensor_move": per(lambda n: kernel_type(n) == "TensorMove"),
            "weight_slices": per(lambda n: kernel_type(n) == "Slice")}


def kernels_per_update(ms, cell, inputs_for, n=10):
    """count_kernels of one update without the once-per-call kernels (a fused update's
    pack/unpack): (kernels of a call of 2n updates - those of a call of n) / n."""
    short, long = (profiled(ms, cell, inputs_for(k)) for k in (n, 2 * n))
    if short is None or long is None:
        return {"error": "no profiler output"}
    short, long = count_kernels(short, 1), count_kernels(long, 1)
    return {k: round((long[k] - short[k]) / n, 1) for k in long}


def profiled(ms, cell, inputs):
    """Kernel lines of one profiled call of ``cell``."""
    from mindspore.profiler import ProfilerActivity

    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)  # the profiler's parser prints progress to stdout: keep the JSON clean
    try:
        with tempfile.TemporaryDirectory() as folder:
            prof = ms.profiler.profile(activities=[ProfilerActivity.CPU],
                                       on_trace_ready=ms.profiler.tensorboard_trace_handler(folder))
            prof.start()
            cell(*inputs).asnumpy()
            prof.stop()
            return kernel_lines(folder)
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="MindSpore threads_num")
    p.add_argument("--steps", type=int, default=20, help="updates per compiled call")
    p.add_argument("--repeats", type=int, default=15, help="timed calls per ablation variant")
    p.add_argument("--count-only", action="store_true",
                   help="only the kernel counts (no ablation timing, no per-type profile)")
    args = p.parse_args(argv)
    ms, variants, make, indices = build(args)
    modes = {"fused": True, "unfused": False}
    timed = variants if not args.count_only else {}
    counted = ("update_without_polyak", "full_update")
    cells = {}
    for mode, fused in modes.items():
        for name, cls in variants.items():
            if name in timed or name in counted:
                cell, buf = make(cls, fused)
                cell(*indices(buf)).asnumpy()  # compile
                cells[mode, name] = cell

    counts, profiles = {}, {}
    for mode in modes:
        counts[mode] = kernels_per_update(ms, cells[mode, "full_update"], lambda n: indices(buf, n))
        without = kernels_per_update(ms, cells[mode, "update_without_polyak"], lambda n: indices(buf, n))
        if "total" in counts[mode] and "total" in without:
            counts[mode]["polyak"] = round(counts[mode]["total"] - without["total"], 1)
        if not args.count_only:
            profiles[mode] = parse_profile(profiled(ms, cells[mode, "full_update"], indices(buf)), args.steps)
    report = {"benchmark": "iql_update_profile", "threads_num": args.threads,
              "updates_per_call": args.steps, "loadavg": [round(x, 2) for x in os.getloadavg()],
              "kernels_per_update": counts}
    if not args.count_only:
        cpu = {key: [] for key in cells}
        for _ in range(args.repeats):
            for key, cell in cells.items():
                idx = indices(buf)
                t = time.process_time()
                cell(*idx).asnumpy()
                cpu[key].append(1000 * (time.process_time() - t) / args.steps)
        for mode in modes:
            prof = profiles.get(mode, {})
            full_cpu = min(cpu[mode, "full_update"])
            if "kernel_min_ms_per_update" in prof:
                prof["runtime_overhead_ms_per_update"] = round(full_cpu - prof["kernel_min_ms_per_update"], 3)
                prof["runtime_overhead_us_per_kernel"] = round(
                    1000 * prof["runtime_overhead_ms_per_update"] / prof["kernels_per_update"], 1)
        report["cpu_ms_per_update_min"] = {m: {k: round(min(v), 3) for (mm, k), v in cpu.items() if mm == m}
                                           for m in modes}
        report["cpu_ms_per_update_median"] = {
            m: {k: round(statistics.median(v), 3) for (mm, k), v in cpu.items() if mm == m} for m in modes}
        report["profile_full_update"] = profiles
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
