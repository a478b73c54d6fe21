"""Where the time of our IQL update goes. Prints JSON.

    python benchmarks/profile_iql.py                 # 1 op thread (CPU time = work, little noise)
    python benchmarks/profile_iql.py --threads 2

Two parts, on the Walker2d-shaped synthetic data of iql_throughput.py:

1. Kernel profile (MindSpore profiler, CPU activity) of ``--steps`` updates in the in-graph
   loop: kernels per update by type and their time. On a shared machine a kernel's wall time
   includes preemption, so each kernel's *fastest* occurrence is summed (``min_ms_per_update``,
   the uncontended kernel time) next to the median; the gap between that sum and the
   process CPU time per update is the runtime's own per-kernel cost (launch, scheduling).
2. Ablation, CPU time per update (process_time, so other jobs' load matters little with one
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
            w = awr_weights(tq, self.value(obs), self.temperature, self.exp_adv_max)
            actor_loss = self.actor_loss(obs, act, w)
            target = rew + self.gamma * (1.0 - term) * self.value(next_obs)
            return self.critic_loss(obs, act, target), actor_loss, value_loss

    class ForwardBackward(IQLUpdate):
        def step(self, obs, act, rew, next_obs, term):
            tq = self.target_q(obs, act)
            value_loss, g1 = self.value_grad(obs, tq)
            w = awr_weights(tq, self.value(obs), self.temperature, self.exp_adv_max)
            actor_loss, g2 = self.actor_grad(obs, act, w)
            target = rew + self.gamma * (1.0 - term) * self.value(next_obs)
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

    def make(cls):
        ms.set_seed(0)
        comps = build_components(algo)
        buf = comps.replay_buffer
        arrays = {"observations": buf.observations, "actions": buf.actions,
                  "rewards": buf.rewards, "next_observations": buf.next_observations,
                  "terminals": buf.terminals}
        cell = cls(comps.policy_and_network, arrays, algo["learner"]["params"], 10 ** 6)
        cell.set_train(True)
        return cell, buf

    variants = {"forward_only": ForwardOnly, "forward_backward": ForwardBackward,
                "update_without_polyak": NoPolyak, "full_update": IQLUpdate}
    rng = np.random.default_rng(0)

    def indices(buf):
        """The compiled loop's inputs: (indices, num_steps)."""
        return ms.Tensor(buf.sample_indices(rng, args.steps)), ms.Tensor(args.steps, ms.int32)

    return ms, variants, make, indices


def parse_profile(folder, steps):
    files = glob.glob(os.path.join(folder, "**", "cpu_op_execute_timestamp_*.txt"), recursive=True)
    if not files:
        return {"error": f"no profiler output under {folder}"}
    by_type = collections.defaultdict(lambda: {"per_update": 0.0, "min_ms": 0.0, "median_ms": 0.0})
    for line in open(files[0]):
        if ";HostCpuOps;" not in line:
            continue
        name, rest = line.rstrip("\n").split(";HostCpuOps;")
        durations = sorted(float(x.split(",")[1]) for x in rest.split())
        per_update = len(durations) / steps
        kind = name.split("/")[-1].split("-op")[0]
        entry = by_type[kind]
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="MindSpore threads_num")
    p.add_argument("--steps", type=int, default=20, help="updates per compiled call")
    p.add_argument("--repeats", type=int, default=15, help="timed calls per ablation variant")
    args = p.parse_args(argv)
    ms, variants, make, indices = build(args)
    from mindspore.profiler import ProfilerActivity

    cells = {}
    for name, cls in variants.items():
        cell, buf = make(cls)
        cell(*indices(buf)).asnumpy()  # compile
        cells[name] = cell
    cpu = {name: [] for name in cells}
    for _ in range(args.repeats):
        for name, cell in cells.items():
            idx = indices(buf)
            t = time.process_time()
            cell(*idx).asnumpy()
            cpu[name].append(1000 * (time.process_time() - t) / args.steps)

    full = cells["full_update"]
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)  # the profiler's parser prints progress to stdout: keep the JSON clean
    try:
        with tempfile.TemporaryDirectory() as folder:
            prof = ms.profiler.profile(activities=[ProfilerActivity.CPU],
                                       on_trace_ready=ms.profiler.tensorboard_trace_handler(folder))
            prof.start()
            full(*indices(buf)).asnumpy()
            prof.stop()
            profile = parse_profile(folder, args.steps)
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
    full_cpu = min(cpu["full_update"])
    if "kernel_min_ms_per_update" in profile:
        profile["runtime_overhead_ms_per_update"] = round(full_cpu - profile["kernel_min_ms_per_update"], 3)
        profile["runtime_overhead_us_per_kernel"] = round(
            1000 * profile["runtime_overhead_ms_per_update"] / profile["kernels_per_update"], 1)
    print(json.dumps({
        "benchmark": "iql_update_profile", "threads_num": args.threads,
        "updates_per_call": args.steps, "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpu_ms_per_update_min": {k: round(min(v), 3) for k, v in cpu.items()},
        "cpu_ms_per_update_median": {k: round(statistics.median(v), 3) for k, v in cpu.items()},
        "profile_full_update": profile,
    }, indent=1))


if __name__ == "__main__":
    main()
