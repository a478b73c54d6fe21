"""Evaluate trained IDQL / AlignIQL / AlignIQL-hard runs under each selection rule.

The three algorithms share one training: the diffusion behaviour policy and the IQL
critic get the same updates from the same random draws, and AlignIQL-hard's multiplier
networks are built and updated after them, reading the critic and writing nothing else
(``tests/algorithms/idql/test_idql_selection_eval.py`` checks that the shared networks
agree bit for bit after training). The algorithms differ only in how a candidate is
selected (``update.SCORES``). So the checkpoints of one ``aligniql_hard`` run, evaluated
with ``idql``, ``aligniql`` and ``aligniql_hard`` selection, are the three algorithms'
policies at a third of the training cost; an ``idql`` or ``aligniql`` run gives the first
two.

    python -m mindspore_rl_ext.algorithms.idql.selection_eval RUN_DIR [RUN_DIR ...] \\
        --selections idql aligniql aligniql_hard --candidates 16 64 256 [--steps 20000]

RUN_DIR is a sweep run folder (``<out>/<algorithm>/<dataset>/seed<k>``: ``run.json``,
``env.yaml``, ``algo.yaml`` and ``ckpt/``). Every evaluation (one checkpoint, selection and
N; ``num_evaluate_episode`` greedy episodes on the run's evaluation seeds, the sampler's RNG
reset to the run's) becomes a row of ``RUN_DIR/selection_eval.csv``, rewritten through a
temporary file; rows already there are skipped, so an interrupted job resumes where it
stopped. The sweep report (``python -m mindspore_rl_ext.sweep.report OUT``) tabulates the
rows over seeds beside the other algorithms.
"""
import argparse
import csv
import os
import sys

import numpy as np

from mindspore_rl_ext.algorithms.idql.config import load_config
from mindspore_rl_ext.algorithms.idql.session import IDQLSession
from mindspore_rl_ext.algorithms.idql.update import ALGOS
from mindspore_rl_ext.core import checkpoint as ckpt
from mindspore_rl_ext.core.device import DEVICE_TARGETS, init_mindspore
from mindspore_rl_ext.core.errors import ConfigError
from mindspore_rl_ext.core.run_log import RunLog
from mindspore_rl_ext.sweep.records import RUN_FILE, read_json

ROWS_FILE = "selection_eval.csv"
COLUMNS = ("gradient_step", "selection", "num_candidates", "eval_return", "normalized_score")


def read_rows(path: str) -> list[dict]:
    """The rows of a ``selection_eval.csv`` (none when the file does not exist)."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and set(COLUMNS) - set(rows[0]):
        raise ConfigError(f"'{path}': expected the columns {', '.join(COLUMNS)}, "
                          f"got {', '.join(rows[0])}")
    return [{"gradient_step": int(r["gradient_step"]), "selection": r["selection"],
             "num_candidates": int(r["num_candidates"]), "eval_return": float(r["eval_return"]),
             "normalized_score": float(r["normalized_score"]) if r["normalized_score"] else None}
            for r in rows]


def write_rows(path: str, rows: list[dict]) -> None:
    """Write ``rows`` to ``path`` through a temporary file (never half-written)."""
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if r[k] is None else r[k]) for k in COLUMNS} for r in rows)
    os.replace(tmp, path)


def run_algorithm(run_dir: str) -> str:
    """The algorithm a sweep run folder trained (from its ``run.json`` key)."""
    path = os.path.join(run_dir, RUN_FILE)
    if not os.path.isfile(path):
        raise ConfigError(f"'{run_dir}' is not a sweep run folder: '{path}' is missing")
    algo = read_json(path).get("key", "").split("/")[0]
    if algo not in ALGOS:
        raise ConfigError(f"'{path}': the run's algorithm is {algo!r}, expected one of "
                          f"{', '.join(ALGOS)}")
    return algo


def evaluate_run(run_dir: str, selections, candidates, steps=None, config=None, log=None):
    """Evaluate ``run_dir``'s checkpoints (each gradient step of ``steps``, default all)
    with every selection x N; returns the run's rows, the new ones written as they come.
    ``config`` (default: the run's ``env.yaml`` + ``algo.yaml``) must be the run's own."""
    if config is None:
        config = load_config(os.path.join(run_dir, "env.yaml"),
                             os.path.join(run_dir, "algo.yaml"), algo=run_algorithm(run_dir))
    if "aligniql_hard" in selections and config["algo"] != "aligniql_hard":
        raise ConfigError(f"selection 'aligniql_hard' needs a run of --algo aligniql_hard "
                          f"(with multiplier networks); '{run_dir}' is a {config['algo']} run")
    log = log or RunLog(None)
    session = IDQLSession(log, config=config)
    msrl = session.build()
    trainer = session.make_trainer(msrl)
    per_episode = int(config["trainer_params"]["n_steps_per_episode"])
    root = os.path.join(run_dir, "ckpt")
    episodes = ckpt.network_steps(root, list(trainer.trainable_variables()))
    wanted = [e for e in episodes if steps is None or e * per_episode in steps]
    if steps is not None and len(wanted) < len(set(steps)):
        have = ", ".join(str(e * per_episode) for e in episodes) or "none"
        raise ConfigError(f"--steps {sorted(steps)}: '{root}' holds checkpoints at gradient "
                          f"steps {have}")
    path = os.path.join(run_dir, ROWS_FILE)
    rows = read_rows(path)
    done = {(r["gradient_step"], r["selection"], r["num_candidates"]) for r in rows}
    actor, buffer, params = msrl.actor, msrl.replay_buffer, config["trainer_params"]
    try:
        for episode in wanted:
            step = episode * per_episode
            todo = [(s, n) for s in selections for n in candidates if (step, s, n) not in done]
            if not todo:
                continue
            trainer.load_networks(ckpt.network_file(root, "actor", episode))
            for selection, n in todo:
                actor.rng = np.random.default_rng(config["seed"] + 1)  # as a fresh run's
                mean_return = float(np.mean(actor.act(params["num_evaluate_episode"],
                                                      params["vectorized_eval"], n, selection)))
                score = buffer.normalized_score(mean_return)
                rows.append({"gradient_step": step, "selection": selection, "num_candidates": n,
                             "eval_return": mean_return, "normalized_score": score})
                write_rows(path, rows)
                shown = f", normalized score {score:.2f}" if score is not None else ""
                log.info(f"{run_dir}: step {step}, {selection} selection, N={n}: "
                         f"return {mean_return:.3f}{shown}")
    finally:
        msrl.eval_environment.close()
        msrl.collect_environment.close()
    return rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Evaluate IDQL-family runs' checkpoints under each selection rule.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--selections", nargs="+", choices=ALGOS, default=list(ALGOS))
    parser.add_argument("--candidates", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--steps", nargs="+", type=int, default=None,
                        help="gradient steps of the checkpoints to evaluate (default: all)")
    parser.add_argument("--device_target", choices=DEVICE_TARGETS, default="Auto")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.candidates):
        parser.error(f"--candidates: expected ints >= 1, got {args.candidates}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    init_mindspore(args.device_target)
    for run_dir in args.run_dirs:
        evaluate_run(run_dir, args.selections, args.candidates,
                     set(args.steps) if args.steps else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
