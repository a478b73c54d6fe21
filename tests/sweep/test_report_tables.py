"""The sweep report's per-run CSV and publishable score table, on hand-written run
folders: values against NumPy, the best mean in bold, failed runs counted in their cell."""
import csv
import json

import numpy as np

from mindspore_rl_ext.sweep import report

# (algorithm, dataset) -> per seed, normalised scores at 5k and 10k steps
SCORES = {("iql", "hop"): {0: [10.0, 30.0], 1: [20.0, 26.0], 2: [5.0, 29.0]},
          ("bc", "hop"): {0: [40.0, 12.0], 1: [30.0, 16.0], 2: [35.0, 11.0]},
          ("bc", "maze"): {0: [50.0, 55.0], 1: [45.0, 57.0], 2: [52.0, 53.0]}}
AVERAGES = {"hop": 9.73, "maze": 48.0}


def write_run(run_dir, scores):
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"state": "done"}))
    with open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["episode", "gradient_step", "actor_loss", "eval_return",
                         "normalized_score", "wall_time_s"])
        for episode, score in zip((5, 10), scores):
            writer.writerow([episode, episode * 1000, 0.1, score * 2, score, episode])


def test_runs_csv_and_score_table(tmp_path):
    out = tmp_path / "out"
    for (algorithm, dataset), per_seed in SCORES.items():
        for seed, scores in per_seed.items():
            write_run(out / algorithm / dataset / f"seed{seed}", scores)
    failed = out / "iql" / "maze" / "seed0"
    failed.mkdir(parents=True)
    (failed / "run.json").write_text(json.dumps({"state": "failed", "error": "nan"}))
    (out / "datasets.json").write_text(json.dumps(
        {d: {"average_normalized_score": a} for d, a in AVERAGES.items()}))
    assert report.main([str(out)]) == 0

    with open(out / "report" / "runs.csv", newline="") as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 9
    for r in runs:
        scores = SCORES[(r["algorithm"], r["dataset"])][int(r["seed"])]
        assert float(r["final"]) == scores[-1] and float(r["best"]) == max(scores)
        assert r["final_step"] == "10000"

    lines = (out / "report" / "score_table.md").read_text().splitlines()
    assert lines[0] == "| dataset | data | iql | bc |"   # ALGORITHMS' order
    cells = {line.split(" | ")[0][2:]: line.strip("| ").split(" | ") for line in lines[2:4]}

    def cell(algorithm, dataset):
        final = np.array([s[-1] for s in SCORES[(algorithm, dataset)].values()])
        return f"{final.mean():.1f} ± {final.std(ddof=1):.1f}"

    assert cells["hop"] == ["hop", "9.7", f"**{cell('iql', 'hop')}**", cell("bc", "hop")]
    assert cells["maze"] == ["maze", "48.0", "1 failed", f"**{cell('bc', 'maze')}**"]
    assert "over 3 seeds, at 10000 gradient steps" in lines[-1]
