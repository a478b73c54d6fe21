#!/bin/bash
# Evaluate a diffusion-policy checkpoint; the log goes to ./diffusion_ql_eval_log.txt (and the terminal).
usage() {
  echo "Usage: bash scripts/run_standalone_eval.sh CKPT_PATH [DEVICE_TARGET] [EXTRA eval.py FLAGS...]"
  echo "  CKPT_PATH      results/<run>/ckpt (newest checkpoint) or a network file,"
  echo "                 e.g. results/<run>/ckpt/actor/actor_100.ckpt; the run's config.json is read"
  echo "  DEVICE_TARGET  CPU, GPU, Ascend or Auto (default Auto)"
}
if [ $# -lt 1 ]; then usage >&2; exit 2; fi
case "$1" in -h|--help) usage; exit 0;; esac
CKPT_PATH=$1
DEVICE_TARGET=${2:-Auto}
case "$DEVICE_TARGET" in CPU|GPU|Ascend|Auto) ;; *)
  echo "DEVICE_TARGET must be CPU, GPU, Ascend or Auto, got '$DEVICE_TARGET'" >&2; usage >&2; exit 2;;
esac
if [ ! -e "$CKPT_PATH" ]; then
  echo "CKPT_PATH '$CKPT_PATH' does not exist" >&2; usage >&2; exit 2
fi
shift $(( $# < 2 ? $# : 2 ))
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python "$SCRIPT_DIR/../eval.py" --ckpt_path "$CKPT_PATH" --device "$DEVICE_TARGET" \
  --log_file diffusion_ql_eval_log.txt "$@"
