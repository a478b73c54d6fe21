"""Statistics of generated PointMaze datasets (the maze checks of Minari's and D4RL's
dataset scripts); prints JSON.

    python scripts/pointmaze_report.py --dataset-root /data/minari \
        msrl_ext/pointmaze/umaze-v0 msrl_ext/pointmaze/umaze-dense-v0

Per dataset: transitions, episodes (one per goal reached, plus the one cut by the step
budget), episodes per 1M steps (Minari's D4RL/pointmaze/umaze-v2: 13,210 in 1M), success
(terminal) fraction of the episodes, episode length quantiles, mean episode return, mean
speed |xy' - xy| per step, largest position jump inside an episode (a reset would show as
> 0.5), fraction of free cells visited, and the reference scores of the metadata.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mindspore_rl_ext.data.minari_io import load_minari  # noqa: E402
from mindspore_rl_ext.envs import pointmaze as envs  # noqa: E402


def maze_stats(ds):
    maze = ds.metadata["msrl_ext"]["level"].split("-")[0]
    lengths = np.diff(np.concatenate([[0], ds.episode_ends]))
    returns = ds.episode_returns()
    steps = np.linalg.norm(ds.next_observations[:, :2] - ds.observations[:, :2], axis=1)
    env_maze = envs.make_pointmaze(maze, dense=False).maze
    visited = {tuple(env_maze.cell_xy_to_rowcol(xy)) for xy in ds.observations[::10, :2]}
    free = {(r, c) for r, row in enumerate(envs.maze_map(maze)) for c, v in enumerate(row)
            if v != 1}
    return {
        "transitions": len(ds), "episodes": len(lengths),
        "episodes_per_1m_steps": round(len(lengths) * 1e6 / len(ds), 1),
        "success_fraction_of_episodes": round(float(ds.terminals.sum() / len(lengths)), 4),
        "episode_length": {"mean": round(float(lengths.mean()), 1),
                           **{f"p{q}": round(float(np.percentile(lengths, q)), 1) for q in (10, 50, 90)}},
        "mean_episode_return": round(float(returns.mean()), 3),
        "mean_speed_per_step": round(float(steps.mean()), 4),
        "max_jump_in_episode": round(float(steps.max()), 4),
        "free_cells_visited": f"{len(visited & free)}/{len(free)}",
        "ref_min_score": ds.ref_min_score, "ref_max_score": ds.ref_max_score,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset_ids", nargs="+")
    parser.add_argument("--dataset-root", default=None)
    args = parser.parse_args(argv)
    report = {i: maze_stats(load_minari(i, args.dataset_root)) for i in args.dataset_ids}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
