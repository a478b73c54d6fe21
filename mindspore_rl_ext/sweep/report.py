"""``python -m mindspore_rl_ext.sweep.report OUT``: a sweep's results table and curves.

Reads every finished run's ``metrics.csv`` under OUT and writes into ``OUT/report/``:

- ``results.csv`` and ``results.md``: per dataset x algorithm, the final (last
  evaluation) and best normalised score as mean ± std over seeds (sample std, ddof 1;
  0 with one seed), the number of seeds (and of failed runs), the IQM of the final
  scores with a 95% bootstrap interval (``stats.py``), and the time per gradient step
  (``ms_per_update``: the median over seeds of each run's median ``per_step_time`` in
  its train log; wall time of the compiled update calls on whatever machine and load
  the run had);
- ``runs.csv``: one row per finished run: its final and best score, final gradient step
  and time per gradient step;
- ``score_table.md``: the score table to publish: one row per dataset, its data average,
  then the final score (mean ± std over seeds) of each algorithm, the best mean in bold,
  and the budgets and seed counts the cells stand on;
- ``curves_<dataset>.png``: normalised score against gradient steps, mean ± std band per
  algorithm over its seeds, and the dataset's average normalised return as a line.

A run folder with a ``selection_eval.csv`` (IDQL-family checkpoints evaluated under other
selection rules, ``python -m mindspore_rl_ext.algorithms.idql.selection_eval``) adds one
row per selection rule and N, named ``<selection> N=<n> (<algorithm> training)``, with the
training run's time per update; those with at least two evaluations get a curve.

When a dataset has no reference scores the raw evaluation return is used (column
``metric``).
"""
import argparse
import csv
import glob
import os
import re
import sys

import numpy as np

from mindspore_rl_ext.algorithms.idql.selection_eval import ROWS_FILE as SELECTION_ROWS_FILE
from mindspore_rl_ext.algorithms.idql.selection_eval import read_rows
from mindspore_rl_ext.core.metrics import METRICS_FILE, read_metrics
from mindspore_rl_ext.sweep.algorithms import ALGORITHMS
from mindspore_rl_ext.sweep.records import DATASETS_FILE, RUN_FILE, read_json
from mindspore_rl_ext.sweep.stats import bootstrap_ci, iqm

COLUMNS = ("dataset", "algorithm", "metric", "n_seeds", "n_failed", "final_mean", "final_std",
           "best_mean", "best_std", "final_iqm", "final_iqm_ci_low", "final_iqm_ci_high",
           "ms_per_update", "final_step")
RUN_COLUMNS = ("dataset", "algorithm", "seed", "metric", "final_step", "final", "best",
               "ms_per_update")
PER_STEP_TIME = re.compile(r"^Episode \d+: .*per_step_time ([\d.]+) ms,$", re.M)


def score_curve(rows: list[dict]) -> tuple[str, np.ndarray, np.ndarray]:
    """(metric name, gradient steps, scores) of evaluation rows (``gradient_step``,
    ``eval_return``, ``normalized_score``): the normalised score where every row has one,
    else the return."""
    metric = "normalized_score" if rows and all(r["normalized_score"] is not None
                                                for r in rows) else "eval_return"
    return (metric, np.array([r["gradient_step"] for r in rows]),
            np.array([r[metric] for r in rows], dtype=np.float64))


def eval_curve(metrics_path: str) -> tuple[str, np.ndarray, np.ndarray]:
    """A run's evaluations: (metric name, gradient steps, scores)."""
    return score_curve([r for r in read_metrics(metrics_path) if r["eval_return"] is not None])


def median_step_ms(run_dir: str, algorithm: str) -> float | None:
    """The median ``per_step_time`` of the run's episode log lines (None without any)."""
    path = os.path.join(run_dir, f"{algorithm}_train_log.txt")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        times = [float(t) for t in PER_STEP_TIME.findall(f.read())]
    return float(np.median(times)) if times else None


def collect(out: str) -> dict:
    """{(dataset, algorithm): {"runs": [(seed, metric, steps, scores, ms per update)],
    "failed": n}}."""
    groups = {}
    for path in sorted(glob.glob(os.path.join(out, "*", "*", "seed*", RUN_FILE))):
        run_dir = os.path.dirname(path)
        algorithm, dataset = run_dir.split(os.sep)[-3:-1]
        group = groups.setdefault((dataset, algorithm), {"runs": [], "failed": 0})
        record = read_json(path)
        metrics = os.path.join(run_dir, METRICS_FILE)
        if record.get("state") != "done" or not os.path.isfile(metrics):
            group["failed"] += record.get("state") == "failed"
            continue
        metric, steps, scores = eval_curve(metrics)
        seed = int(os.path.basename(run_dir)[4:])
        ms_per_update = median_step_ms(run_dir, algorithm)
        if len(scores):
            group["runs"].append((seed, metric, steps, scores, ms_per_update))
        for label, (metric, steps, scores) in selection_curves(run_dir, algorithm).items():
            groups.setdefault((dataset, label), {"runs": [], "failed": 0})["runs"].append(
                (seed, metric, steps, scores, ms_per_update))
    return groups


def selection_curves(run_dir: str, algorithm: str) -> dict:
    """{"<selection> N=<n> (<algorithm> training)": (metric, steps, scores)} from the run's
    ``selection_eval.csv`` (``algorithms/idql/selection_eval.py``), if it has one."""
    curves = {}
    for r in read_rows(os.path.join(run_dir, SELECTION_ROWS_FILE)):
        label = f"{r['selection']} N={r['num_candidates']} ({algorithm} training)"
        curves.setdefault(label, []).append(r)
    return {label: score_curve(sorted(rows, key=lambda r: r["gradient_step"]))
            for label, rows in curves.items()}


def _std(x):
    return float(np.std(x, ddof=1)) if len(x) > 1 else 0.0


def table(groups: dict) -> list[dict]:
    rows = []
    for (dataset, algorithm), group in sorted(groups.items()):
        runs = group["runs"]
        row = {"dataset": dataset, "algorithm": algorithm, "n_seeds": len(runs),
               "n_failed": group["failed"]}
        if runs:
            final = np.array([r[3][-1] for r in runs])
            best = np.array([r[3].max() for r in runs])
            low, high = bootstrap_ci(final)
            row.update(metric=runs[0][1], final_mean=float(final.mean()), final_std=_std(final),
                       best_mean=float(best.mean()), best_std=_std(best),
                       final_iqm=float(iqm(final)), final_iqm_ci_low=low, final_iqm_ci_high=high,
                       final_step=int(max(r[2][-1] for r in runs)))
            times = [r[4] for r in runs if r[4] is not None]
            if times:
                row["ms_per_update"] = float(np.median(times))
        rows.append(row)
    return rows


def _fmt(row, key):
    value = row.get(key)
    return "" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def _write_csv(path: str, columns: tuple, rows: list[dict]) -> None:
    """``rows`` under ``columns``; a missing or None value is an empty cell."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows({k: "" if row.get(k) is None else row[k] for k in columns}
                         for row in rows)


def write_tables(rows: list[dict], folder: str) -> None:
    _write_csv(os.path.join(folder, "results.csv"), COLUMNS, rows)
    lines = ["| dataset | algorithm | final | best | IQM final [95% CI] | seeds | failed "
             "| ms/update |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["n_seeds"]:
            lines.append(f"| {r['dataset']} | {r['algorithm']} | {_fmt(r, 'final_mean')} ± "
                         f"{_fmt(r, 'final_std')} | {_fmt(r, 'best_mean')} ± {_fmt(r, 'best_std')} "
                         f"| {_fmt(r, 'final_iqm')} [{_fmt(r, 'final_iqm_ci_low')}, "
                         f"{_fmt(r, 'final_iqm_ci_high')}] | {r['n_seeds']} | {r['n_failed']} "
                         f"| {_fmt(r, 'ms_per_update')} |")
        else:
            lines.append(f"| {r['dataset']} | {r['algorithm']} | | | | 0 | {r['n_failed']} | |")
    metrics = sorted({r.get("metric") for r in rows if r.get("metric")})
    lines += ["", f"Scores: {', '.join(metrics)}; mean ± std over seeds; IQM with a 95% "
              "percentile-bootstrap interval over seeds. ms/update: median over seeds of each "
              "run's median per_step_time (wall time on that run's machine and load)."]
    with open(os.path.join(folder, "results.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def run_rows(groups: dict) -> list[dict]:
    """One row per finished run (RUN_COLUMNS), by dataset, algorithm and seed."""
    rows = []
    for (dataset, algorithm), group in sorted(groups.items()):
        for seed, metric, steps, scores, ms_per_update in sorted(group["runs"],
                                                                 key=lambda r: r[0]):
            rows.append({"dataset": dataset, "algorithm": algorithm, "seed": seed,
                         "metric": metric, "final_step": int(steps[-1]),
                         "final": float(scores[-1]), "best": float(scores.max()),
                         "ms_per_update": ms_per_update})
    return rows


def _column_order(algorithm: str) -> tuple:
    """Sweep algorithms in ALGORITHMS' order, a selection row (``idql N=16 (...)``) by its
    rule's name, then its N."""
    names = list(ALGORITHMS)
    base = algorithm.split(" ")[0]
    n = re.search(r" N=(\d+) ", algorithm)
    return (names.index(base) if base in names else len(names), base,
            int(n.group(1)) if n else 0, algorithm)


def score_table(rows: list[dict], averages: dict) -> str:
    """Markdown: a row per dataset (its data average, then each algorithm's final score,
    mean ± std over seeds, the best mean in bold; failed runs are counted in the cell),
    and what the cells stand on."""
    rows = [r for r in rows if r["n_seeds"] or r["n_failed"]]
    algorithms = sorted({r["algorithm"] for r in rows}, key=_column_order)
    cells = {(r["dataset"], r["algorithm"]): r for r in rows}
    scored = [r for r in rows if r["n_seeds"]]
    seeds = sorted({r["n_seeds"] for r in scored})
    steps = sorted({r["final_step"] for r in scored})
    lines = ["| dataset | data | " + " | ".join(algorithms) + " |",
             "|---|---|" + "---|" * len(algorithms)]
    for dataset in sorted({r["dataset"] for r in rows}):
        means = [r["final_mean"] for r in scored if r["dataset"] == dataset]
        average = averages.get(dataset, {}).get("average_normalized_score")
        line = [dataset, "?" if average is None else f"{average:.1f}"]
        for algorithm in algorithms:
            r = cells.get((dataset, algorithm))
            parts = []
            if r is not None and r["n_seeds"]:
                text = f"{r['final_mean']:.1f} ± {r['final_std']:.1f}"
                parts.append(f"**{text}**" if r["final_mean"] == max(means) else text)
                if len(seeds) > 1:
                    parts.append(f"({r['n_seeds']} seeds)")
                if len(steps) > 1:
                    parts.append(f"@{r['final_step']}")
            if r is not None and r["n_failed"]:
                parts.append(f"{r['n_failed']} failed")
            line.append(" ".join(parts))
        lines.append("| " + " | ".join(line) + " |")
    metrics = sorted({r["metric"] for r in scored})
    lines += ["", f"{' / '.join(metrics)} of the last evaluation, mean ± std over "
              f"{'/'.join(map(str, seeds))} seeds, at {'/'.join(map(str, steps))} gradient "
              f"steps; data: the dataset's average normalised return; bold: the best mean of "
              f"the row; 'failed': runs that stopped with an error (results.md)."]
    return "\n".join(lines) + "\n"


def plot_curves(groups: dict, averages: dict, folder: str) -> list[str]:
    """One PNG per dataset; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for dataset in sorted({d for d, _ in groups}):
        fig, ax = plt.subplots(figsize=(6, 4))
        metric = "normalized_score"
        for (d, algorithm), group in sorted(groups.items()):
            if d != dataset or not group["runs"] or min(len(r[2]) for r in group["runs"]) < 2:
                continue  # no curve: no runs, or a final-checkpoint-only evaluation
            metric = group["runs"][0][1]
            common = sorted(set.intersection(*(set(r[2].tolist()) for r in group["runs"])))
            curves = np.array([[dict(zip(r[2].tolist(), r[3]))[s] for s in common]
                               for r in group["runs"]])
            mean = curves.mean(axis=0)
            std = curves.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros_like(mean)
            ax.plot(common, mean, label=f"{algorithm} ({len(curves)} seeds)")
            ax.fill_between(common, mean - std, mean + std, alpha=0.25)
        key = "average_normalized_score" if metric == "normalized_score" else "average_return"
        average = averages.get(dataset, {}).get(key)
        if average is not None:
            ax.axhline(average, color="black", linestyle="--", label="dataset average")
        ax.set_xlabel("gradient step")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(dataset)
        ax.legend()
        fig.tight_layout()
        path = os.path.join(folder, f"curves_{dataset}.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m mindspore_rl_ext.sweep.report",
                                description="Results table and learning curves of a sweep.")
    p.add_argument("out", help="the sweep's OUT folder")
    args = p.parse_args(argv)
    groups = collect(args.out)
    if not groups:
        print(f"Error: no runs under '{args.out}' (expected <algo>/<dataset>/seed<k>/{RUN_FILE})",
              file=sys.stderr)
        return 1
    folder = os.path.join(args.out, "report")
    os.makedirs(folder, exist_ok=True)
    rows, averages = table(groups), read_json(os.path.join(args.out, DATASETS_FILE))
    write_tables(rows, folder)
    _write_csv(os.path.join(folder, "runs.csv"), RUN_COLUMNS, run_rows(groups))
    with open(os.path.join(folder, "score_table.md"), "w", encoding="utf-8") as f:
        f.write(score_table(rows, averages))
    pngs = plot_curves(groups, averages, folder)
    with open(os.path.join(folder, "results.md"), encoding="utf-8") as f:
        print(f.read())
    print(f"wrote {folder}/results.csv, results.md, runs.csv, score_table.md and {len(pngs)} "
          f"learning-curve PNGs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
