#!/bin/bash
# Run a sweep (algorithms x datasets x seeds) on Ray, then write its report.
#
# Usage: bash scripts/run_sweep.sh SWEEP.yaml [ADDRESS] [SWEEP OPTIONS...]
#   SWEEP.yaml  the grid, e.g. example/sweeps/iql_bc.yaml
#   ADDRESS     an existing Ray cluster: auto or HOST:PORT ("" or omitted: a local Ray)
#   SWEEP OPTIONS  passed on, e.g. --tensorboard
#   OUT         results folder, from the environment (default: sweeps/<sweep file name>)
# Rerunning the same command skips finished runs and resumes the others from their
# checkpoints. Exit code: the sweep's (1 if a run failed); the report is written anyway.
set -u
SWEEP=${1:?usage: bash scripts/run_sweep.sh SWEEP.yaml [ADDRESS]}
NAME=$(basename "${SWEEP%.*}")
OUT=${OUT:-sweeps/$NAME}
ARGS=(--out "$OUT")
[ -n "${2:-}" ] && ARGS+=(--address "$2")
python -m mindspore_rl_ext.sweep "$SWEEP" "${ARGS[@]}" "${@:3}"
status=$?
if [ -d "$OUT" ] && [ $status -ne 130 ]; then
  python -m mindspore_rl_ext.sweep.report "$OUT" || exit 1
fi
exit $status
