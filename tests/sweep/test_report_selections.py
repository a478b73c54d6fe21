"""The sweep report's rows from IDQL-family selection evaluations (``selection_eval.csv``),
on hand-written run folders: one row per selection x N, with the training run's time."""
import csv
import json

import numpy as np

from mindspore_rl_ext.algorithms.idql.selection_eval import write_rows
from mindspore_rl_ext.sweep import report

IN_RUN = {0: [10.0, 30.0], 1: [20.0, 50.0]}  # aligniql_hard's own evaluations, N=64
IDQL_64 = {0: [12.0, 40.0], 1: [18.0, 44.0]}
FINAL_256 = {0: 5.0, 1: 9.0}
STEP_MS = {0: [200.0, 240.0, 250.0], 1: [260.0, 270.0, 300.0]}


def write_run(run_dir, seed):
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"key": f"aligniql_hard/pm/seed{seed}",
                                                  "state": "done"}))
    with open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["episode", "gradient_step", "actor_loss", "eval_return",
                         "normalized_score", "wall_time_s"])
        for episode, score in zip((5, 10), IN_RUN[seed]):
            writer.writerow([episode, episode * 1000, 0.1, score * 2, score, episode])
    (run_dir / "aligniql_hard_train_log.txt").write_text("".join(
        f"Episode {i + 1}: actor_loss is 0.1, per_step_time {t} ms,\n"
        for i, t in enumerate(STEP_MS[seed])))
    rows = [{"gradient_step": step, "selection": "idql", "num_candidates": 64,
             "eval_return": score * 2, "normalized_score": score}
            for step, score in zip((5000, 10000), IDQL_64[seed])]
    rows.append({"gradient_step": 10000, "selection": "aligniql", "num_candidates": 256,
                 "eval_return": FINAL_256[seed] * 2, "normalized_score": FINAL_256[seed]})
    write_rows(str(run_dir / "selection_eval.csv"), rows)


def test_report_adds_a_row_per_selection_and_n_with_the_training_time(tmp_path):
    out = tmp_path / "out"
    for seed in (0, 1):
        write_run(out / "aligniql_hard" / "pm" / f"seed{seed}", seed)
    (out / "datasets.json").write_text(json.dumps({}))
    assert report.main([str(out)]) == 0
    with open(out / "report" / "results.csv", newline="") as f:
        rows = {r["algorithm"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["aligniql N=256 (aligniql_hard training)", "aligniql_hard",
                            "idql N=64 (aligniql_hard training)"]
    step_ms = np.median([np.median(STEP_MS[0]), np.median(STEP_MS[1])])
    for name, per_seed in (("aligniql_hard", IN_RUN), ("idql N=64 (aligniql_hard training)",
                                                       IDQL_64)):
        final = np.array([per_seed[0][-1], per_seed[1][-1]])
        best = np.array([max(per_seed[0]), max(per_seed[1])])
        row = rows[name]
        assert row["n_seeds"] == "2" and row["metric"] == "normalized_score"
        assert abs(float(row["final_mean"]) - final.mean()) < 1e-9
        assert abs(float(row["final_std"]) - final.std(ddof=1)) < 1e-9
        assert abs(float(row["best_mean"]) - best.mean()) < 1e-9
        assert abs(float(row["ms_per_update"]) - step_ms) < 1e-9
    final_only = rows["aligniql N=256 (aligniql_hard training)"]
    assert abs(float(final_only["final_mean"]) - 7.0) < 1e-9
    assert abs(float(final_only["final_std"]) - np.std([5.0, 9.0], ddof=1)) < 1e-9
    assert (out / "report" / "curves_pm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
