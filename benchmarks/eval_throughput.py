"""Evaluation throughput: episodes/s of vectorised vs one-at-a-time evaluation of an
(untrained) IQL policy through our actor (IQLActor.act -> envs.run_episodes), with the
policy run as a compiled graph or as a NumPy forward pass. Prints JSON.

    python benchmarks/eval_throughput.py                 # 10 Walker2d-v5 episodes, 3 rounds
    python benchmarks/eval_throughput.py --episodes 10 --rounds 5
    python benchmarks/eval_throughput.py --rounds 1 --settings walker2d_v5   # a smoke run

Two settings:
* ``walker2d_v5``: Walker2d-v5 as evaluation uses it (an untrained policy falls, so episodes
  end early when the walker becomes unhealthy; lengths differ per episode).
* ``walker2d_v5_full_length``: the same environment with terminate_when_unhealthy=False,
  so every episode runs its 1000 steps (the worst case for evaluation time).

The modes alternate within each round (order flipped every round) in one process, so
machine noise hits all. ``vectorized`` = N environments stepped side by side with one batched
policy call per step; ``single`` = one environment, one policy call per step; each with
``graph`` (IQLActor's compiled eval policy) and ``numpy`` (``eval_backend: numpy``, the
default: NumpyTanhMean). Also: the time of one policy call (batch 1 and N) for each
backend, the largest action difference between them on random observations, and whether
the returns of the two backends match.
"""
import argparse
import json
import os
import statistics
import sys
import time

FULL_LENGTH_ID = "MsrlExtBench/Walker2dFullLength-v5"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--settings", default="walker2d_v5,walker2d_v5_full_length")
    args = p.parse_args(argv)

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from mindspore_rl_ext.core.device import init_mindspore

    init_mindspore("CPU")
    import gymnasium as gym
    import mindspore as ms
    import numpy as np

    from mindspore_rl_ext.algorithms.iql import load_config
    from mindspore_rl_ext.algorithms.iql.config import algorithm_config
    from mindspore_rl_ext.core.session import build_components
    from mindspore_rl_ext.data.transitions import TransitionDataset

    if FULL_LENGTH_ID not in gym.registry:
        gym.register(FULL_LENGTH_ID, entry_point="gymnasium.envs.mujoco.walker2d_v5:Walker2dEnv",
                     max_episode_steps=1000, kwargs={"terminate_when_unhealthy": False})
    env_ids = {"walker2d_v5": "Walker2d-v5", "walker2d_v5_full_length": FULL_LENGTH_ID}

    rng = np.random.default_rng(0)
    n = 2000
    ds = TransitionDataset(
        observations=rng.standard_normal((n, 17), dtype=np.float32),
        actions=rng.uniform(-1, 1, (n, 6)).astype(np.float32),
        rewards=rng.uniform(0, 1, n).astype(np.float32),
        next_observations=rng.standard_normal((n, 17), dtype=np.float32),
        terminals=np.zeros(n, np.float32),
        timeouts=(np.arange(n) % 1000 == 999).astype(np.float32),
        episode_ends=np.arange(1000, n + 1, 1000, dtype=np.int64), env_id="Walker2d-v5",
        source="synthetic")
    report = {"benchmark": "eval_throughput", "episodes": args.episodes, "rounds": args.rounds,
              "policy": "untrained IQL GaussianPolicy 2x256 (deterministic tanh mean)",
              "loadavg_before": [round(x, 2) for x in os.getloadavg()], "settings": {}}
    for setting in [s.strip() for s in args.settings.split(",") if s.strip()]:
        cfg = load_config()
        cfg["dataset_params"]["dataset"] = ds
        cfg["eval_env_params"]["name"] = env_ids[setting]
        ms.set_seed(0)
        actor = build_components(algorithm_config(cfg, 1)).actor
        actor.sync_eval_policy()
        actor.numpy_policy.set_weights(actor.policy_and_network.actor_net)
        steps = {"n": 0}
        inner = {"graph": actor.get_action, "numpy": actor.get_action_numpy}

        def counting(obs, backend):
            steps["n"] += obs.shape[0]
            return inner[backend](obs)

        actor.get_action = lambda obs: counting(obs, "graph")
        actor.get_action_numpy = lambda obs: counting(obs, "numpy")
        obs_rng = np.random.default_rng(1)
        call_ms, max_diff = {}, 0.0
        for b in (1, args.episodes):  # compiles both batch shapes outside the timing
            obs = obs_rng.standard_normal((b, 17)).astype(np.float32)
            max_diff = max(max_diff, float(np.abs(inner["graph"](obs) - inner["numpy"](obs)).max()))
            for backend, fn in inner.items():
                fn(obs)
                t0 = time.perf_counter()
                for _ in range(200):
                    fn(obs)
                call_ms[f"{backend}_batch_{b}"] = round(1000 * (time.perf_counter() - t0) / 200, 4)
        modes = [f"{v}_{b}" for v in ("vectorized", "single") for b in ("graph", "numpy")]
        times = {m: [] for m in modes}
        returns, policy_rows = {}, {}
        for r in range(args.rounds):
            for mode in (modes if r % 2 == 0 else modes[::-1]):
                steps["n"] = 0
                actor.backend = mode.split("_")[1]
                t0 = time.perf_counter()
                ret = actor.act(args.episodes, vectorized=mode.startswith("vectorized"))
                times[mode].append(time.perf_counter() - t0)
                returns[mode] = [round(float(x), 3) for x in ret]
                policy_rows[mode] = steps["n"]
        med = {m: statistics.median(v) for m, v in times.items()}
        ratio = lambda a, b: round(med[b] / med[a], 3)  # noqa: E731  (a faster: > 1)
        report["settings"][setting] = {
            "env_id": env_ids[setting],
            "policy_call_ms": call_ms,
            "max_action_diff_graph_vs_numpy": max_diff,
            "seconds_per_eval_median": {m: round(v, 3) for m, v in med.items()},
            "seconds_per_eval_all": {m: [round(x, 3) for x in v] for m, v in times.items()},
            "episodes_per_s": {m: round(args.episodes / v, 3) for m, v in med.items()},
            "speedup_vectorized_over_single": {b: ratio(f"vectorized_{b}", f"single_{b}")
                                               for b in ("graph", "numpy")},
            "speedup_numpy_over_graph": {v: ratio(f"{v}_numpy", f"{v}_graph")
                                         for v in ("vectorized", "single")},
            "policy_rows_evaluated": policy_rows,
            "returns_match_numpy_vs_graph": {
                v: bool(np.allclose(returns[f"{v}_numpy"], returns[f"{v}_graph"], atol=1e-3))
                for v in ("vectorized", "single")},
            "returns_max_abs_diff_numpy_vs_graph": {
                v: round(float(np.max(np.abs(np.subtract(returns[f"{v}_numpy"], returns[f"{v}_graph"])))), 4)
                for v in ("vectorized", "single")},
            "returns": returns,
        }
    report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
