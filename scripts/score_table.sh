#!/bin/bash
# The README's reference score table in one command (issue 11, item 4):
#   1. make the generated datasets the two grids name that are not there yet
#      (mindspore_rl_ext.sweep.prepare: seed 0, 200k steps per behaviour policy, into
#      $MINARI_DATASETS_PATH or ~/.minari/datasets);
#   2. run example/sweeps/score_table_locomotion.yaml and score_table_pointmaze.yaml into
#      one OUT (default sweeps/score_table);
#   3. evaluate the aligniql_hard runs' last checkpoints under the IDQL and AlignIQL
#      selection rules with N = 16, 64 and 256 candidates;
#   4. write the report: OUT/report/score_table.md (the table), runs.csv (one row per
#      run), results.csv / results.md, curves_<dataset>.png.
#
# Usage: bash scripts/score_table.sh [ADDRESS] [SWEEP OPTIONS...]
#   ADDRESS  an existing Ray cluster (auto or HOST:PORT; "" or omitted: a local Ray)
# Rerunning it skips finished runs and resumes the others from their checkpoints. The cost
# (about 310 core-hours on CPU) is in the grids' headers: run it on GPU machines.
set -eu
OUT=${OUT:-sweeps/score_table}
ROOT=${MINARI_DATASETS_PATH:-$HOME/.minari/datasets}
STEPS=100000
GRIDS=(example/sweeps/score_table_locomotion.yaml example/sweeps/score_table_pointmaze.yaml)
python -m mindspore_rl_ext.sweep.prepare "${GRIDS[@]}" --steps 200000 --seed 0 \
  --dataset-root "$ROOT"
export MINARI_DATASETS_PATH=$ROOT
ARGS=(--out "$OUT")
[ -n "${1:-}" ] && ARGS+=(--address "$1")
status=0
for grid in "${GRIDS[@]}"; do
  python -m mindspore_rl_ext.sweep "$grid" "${ARGS[@]}" "${@:2}" || status=$?
  [ $status -eq 130 ] && exit 130
done
runs=()  # finished aligniql_hard runs (selection_eval skips rows already written)
for run in "$OUT"/aligniql_hard/*/seed*; do
  grep -qs '"state": "done"' "$run/run.json" && runs+=("$run")
done
if [ ${#runs[@]} -gt 0 ]; then
  python -m mindspore_rl_ext.algorithms.idql.selection_eval "${runs[@]}" \
    --selections idql aligniql --candidates 16 64 256 --steps $STEPS || status=1
fi
python -m mindspore_rl_ext.sweep.report "$OUT" || exit 1
exit $status
