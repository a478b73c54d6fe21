"""Average (normalised) episode return of each generated dataset level; prints JSON.

    python scripts/dataset_levels_report.py                      # 100k steps per level
    python scripts/dataset_levels_report.py --steps 1000000 --envs hopper \
        --levels random medium --replay-dir /work/sac_runs

For every env and level it generates the dataset with ``mindspore_rl_ext.data.generate``
into ``--work`` (ids ``msrl_ext/<env>/<level>-s<steps>-v0``; reused when already there),
reads it back through the project's loader and reports, over complete episodes (the one
cut by the step budget is left out): episodes, average return, D4RL-normalised average
and its standard deviation, and the number of terminal transitions. ``medium-replay`` imports ``<replay-dir>/<env>_medium_replay.npz``
(the SAC trainer's ``--replay-dump``) and is skipped, with the reason, when the file is
missing; a level whose behaviour policy is not shipped is skipped likewise.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mindspore_rl_ext.core.errors import DatasetError  # noqa: E402
from mindspore_rl_ext.data.generate import MAX_EPISODE_STEPS, generate_dataset  # noqa: E402
from mindspore_rl_ext.data.minari_io import load_minari  # noqa: E402


def complete_episode_returns(ds):
    """Returns of the episodes that ended by termination or the 1000-step time limit."""
    starts = ds.episode_starts()
    ends = np.append(starts[1:], len(ds)) - 1
    complete = ds.terminals[ends].astype(bool) | (ends - starts + 1 >= MAX_EPISODE_STEPS)
    return ds.episode_returns()[complete]


def level_stats(env, level, steps, seed, work, replay_dir):
    dataset_id = f"msrl_ext/{env}/{level}-s{steps}-v0"
    source = None
    if level == "medium-replay":
        source = os.path.join(replay_dir or "", f"{env}_medium_replay.npz")
        if not os.path.isfile(source):
            return {"skipped": f"no replay dump {source}; make one with scripts/"
                               f"train_behaviour_policy.py --env {env} --replay-dump {source}"}
        dataset_id = f"msrl_ext/{env}/{level}-v0"
    if not os.path.isdir(os.path.join(work, dataset_id, "data")):
        try:
            generate_dataset(env, level, steps, seed, dataset_root=work, dataset_id=dataset_id,
                             from_transitions=source)
        except DatasetError as err:
            return {"skipped": str(err)}
    ds = load_minari(dataset_id, work)
    returns = complete_episode_returns(ds)
    scores = np.array([ds.normalized_score(r) for r in returns])
    return {"dataset_id": dataset_id, "transitions": len(ds), "complete_episodes": len(returns),
            "terminals": int(ds.terminals.sum()),
            "average_return": round(float(returns.mean()), 1),
            "average_normalized_score": round(float(scores.mean()), 2),
            "normalized_score_std": round(float(scores.std()), 2)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=["hopper", "halfcheetah", "walker2d"])
    p.add_argument("--levels", nargs="+",
                   default=["random", "medium", "medium-replay", "medium-expert", "expert"])
    p.add_argument("--steps", type=int, default=100_000, help="steps per generated level")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replay-dir", default=None, help="folder of <env>_medium_replay.npz")
    p.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "msrl_ext_levels"))
    args = p.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    report = {"steps_per_level": args.steps, "seed": args.seed, "levels": {}}
    for env in args.envs:
        for level in args.levels:
            stats = level_stats(env, level, args.steps, args.seed, args.work, args.replay_dir)
            report["levels"][f"{env}-{level}"] = stats
            print(json.dumps({f"{env}-{level}": stats}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
