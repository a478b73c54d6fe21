#!/bin/bash
# Evaluate an IQL checkpoint; the log goes to ./iql_eval_log.txt (and the terminal).
usage() {
  echo "Usage: bash scripts/run_standalone_eval.sh CKPT_PATH [DEVICE_TARGET] [ENV_YAML]"
  echo "  CKPT_PATH      checkpoint folder (newest checkpoint) or a network file, e.g. ./ckpt/policy/policy_20.ckpt"
  echo "  DEVICE_TARGET  CPU, GPU, Ascend or Auto (default Auto)"
  echo "  ENV_YAML       the dataset/environment overrides used for training"
}
if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage >&2; exit 2; fi
CKPT_PATH=$1
DEVICE_TARGET=${2:-Auto}
case "$DEVICE_TARGET" in CPU|GPU|Ascend|Auto) ;; *)
  echo "DEVICE_TARGET must be CPU, GPU, Ascend or Auto, got '$DEVICE_TARGET'" >&2; usage >&2; exit 2;;
esac
if [ ! -e "$CKPT_PATH" ]; then
  echo "CKPT_PATH '$CKPT_PATH' does not exist" >&2; usage >&2; exit 2
fi
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGS=(--ckpt_path "$CKPT_PATH" --device_target "$DEVICE_TARGET" --log_file iql_eval_log.txt)
[ -n "$3" ] && ARGS+=(--env_yaml "$3")
python "$SCRIPT_DIR/../eval.py" "${ARGS[@]}"
