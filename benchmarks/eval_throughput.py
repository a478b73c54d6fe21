"""Evaluation throughput: episodes/s of vectorised vs one-at-a-time evaluation of an
(untrained) IQL policy through our actor (IQLActor.act -> envs.run_episodes). Prints JSON.

    python benchmarks/eval_throughput.py                 # 10 Walker2d-v5 episodes, 3 rounds
    python benchmarks/eval_throughput.py --episodes 10 --rounds 5

Two settings:
* ``walker2d_v5``: Walker2d-v5 as evaluation uses it (an untrained policy falls, so episodes
  end early when the walker becomes unhealthy; lengths differ per episode).
* ``walker2d_v5_full_length``: the same environment with terminate_when_unhealthy=False,
  so every episode runs its 1000 steps (the worst case for evaluation time).

The two modes alternate within each round (order flipped every round) in one process, so
machine noise hits both. ``vectorized`` = N environments stepped side by side with one batched
policy call per step; ``single`` = one environment, one policy call per step.
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
              "policy": "untrained IQL GaussianPolicy 2x256 (deterministic tanh mean), GRAPH_MODE",
              "loadavg_before": [round(x, 2) for x in os.getloadavg()], "settings": {}}
    for setting in [s.strip() for s in args.settings.split(",") if s.strip()]:
        cfg = load_config()
        cfg["dataset_params"]["dataset"] = ds
        cfg["eval_env_params"]["name"] = env_ids[setting]
        ms.set_seed(0)
        actor = build_components(algorithm_config(cfg, 1)).actor
        steps = {"n": 0}
        get_action = actor.get_action

        def counting(obs, _inner=get_action):
            steps["n"] += obs.shape[0]
            return _inner(obs)

        actor.get_action = counting
        for b in (1, args.episodes):  # compile both batch shapes outside the timing
            actor.get_action(np.zeros((b, 17), np.float32))
        times = {"vectorized": [], "single": []}
        returns = {}
        policy_rows = {}
        for r in range(args.rounds):
            order = ("vectorized", "single") if r % 2 == 0 else ("single", "vectorized")
            for mode in order:
                steps["n"] = 0
                t0 = time.perf_counter()
                ret = actor.act(args.episodes, vectorized=(mode == "vectorized"))
                times[mode].append(time.perf_counter() - t0)
                returns[mode] = [round(float(x), 3) for x in ret]
                policy_rows[mode] = steps["n"]
        med = {m: statistics.median(v) for m, v in times.items()}
        report["settings"][setting] = {
            "env_id": env_ids[setting],
            "seconds_per_eval_median": {m: round(v, 3) for m, v in med.items()},
            "seconds_per_eval_all": {m: [round(x, 3) for x in v] for m, v in times.items()},
            "episodes_per_s": {m: round(args.episodes / v, 3) for m, v in med.items()},
            "speedup_vectorized_over_single": round(med["single"] / med["vectorized"], 3),
            "speedup_per_round": [round(s / v, 3) for s, v in zip(times["single"], times["vectorized"])],
            "policy_rows_evaluated": policy_rows,
            "returns_match": bool(np.allclose(returns["vectorized"], returns["single"], atol=1e-3)),
            "returns": returns,
        }
    report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    report["goal_vectorized_at_least_3x"] = {
        s: v["speedup_vectorized_over_single"] >= 3.0 for s, v in report["settings"].items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
