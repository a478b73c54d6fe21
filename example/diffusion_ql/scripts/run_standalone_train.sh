#!/bin/bash
# Train a diffusion policy in the foreground; the log goes to <results folder>/train_log.txt
# (and the terminal). Extra arguments are passed to train.py (e.g. --lr_decay --save_best_model).
usage() {
  echo "Usage: bash scripts/run_standalone_train.sh ENV_NAME [ALGO] [DEVICE_TARGET] [EXTRA train.py FLAGS...]"
  echo "  ENV_NAME       D4RL-style name (hopper-medium-v2 -> dataset msrl_ext/hopper/medium-v0),"
  echo "                 a Minari id or a D4RL-format .hdf5/.npz path"
  echo "  ALGO           ql (default), qg, edp, bc or eg_ood"
  echo "  DEVICE_TARGET  CPU, GPU, Ascend or Auto (default Auto)"
  echo "  e.g. bash scripts/run_standalone_train.sh walker2d-medium-expert-v2 ql CPU --T 5 --ms online --lr_decay"
}
if [ $# -lt 1 ]; then usage >&2; exit 2; fi
case "$1" in -h|--help) usage; exit 0;; esac
ENV_NAME=$1
ALGO=${2:-ql}
DEVICE_TARGET=${3:-Auto}
case "$ALGO" in ql|qg|edp|bc|eg_ood) ;; *)
  echo "ALGO must be ql, qg, edp, bc or eg_ood, got '$ALGO'" >&2; usage >&2; exit 2;;
esac
case "$DEVICE_TARGET" in CPU|GPU|Ascend|Auto) ;; *)
  echo "DEVICE_TARGET must be CPU, GPU, Ascend or Auto, got '$DEVICE_TARGET'" >&2; usage >&2; exit 2;;
esac
shift $(( $# < 3 ? $# : 3 ))
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python "$SCRIPT_DIR/../train.py" --env_name "$ENV_NAME" --algo "$ALGO" --device "$DEVICE_TARGET" "$@"
