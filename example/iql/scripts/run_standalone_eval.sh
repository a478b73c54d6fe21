#!/bin/bash
# Evaluate an IQL (or IDQL / AlignIQL / AlignIQL-hard) checkpoint; the log goes to
# ./<ALGO>_eval_log.txt (and the terminal).
usage() {
  echo "Usage: bash scripts/run_standalone_eval.sh CKPT_PATH [DEVICE_TARGET] [ENV_YAML] [ALGO] [ALGO_YAML]"
  echo "  CKPT_PATH      checkpoint folder (newest checkpoint) or a network file, e.g. ./ckpt/policy/policy_20.ckpt"
  echo "  DEVICE_TARGET  CPU, GPU, Ascend or Auto (default Auto)"
  echo "  ENV_YAML       the dataset/environment overrides used for training (\"\" for none)"
  echo "  ALGO           iql (default), idql, aligniql or aligniql_hard: the training's"
  echo "  ALGO_YAML      the algorithm overrides used for training"
}
if [ $# -lt 1 ] || [ $# -gt 5 ]; then usage >&2; exit 2; fi
CKPT_PATH=$1
DEVICE_TARGET=${2:-Auto}
case "$DEVICE_TARGET" in CPU|GPU|Ascend|Auto) ;; *)
  echo "DEVICE_TARGET must be CPU, GPU, Ascend or Auto, got '$DEVICE_TARGET'" >&2; usage >&2; exit 2;;
esac
if [ ! -e "$CKPT_PATH" ]; then
  echo "CKPT_PATH '$CKPT_PATH' does not exist" >&2; usage >&2; exit 2
fi
ALGO=${4:-iql}
case "$ALGO" in iql|idql|aligniql|aligniql_hard) ;; *)
  echo "ALGO must be iql, idql, aligniql or aligniql_hard, got '$ALGO'" >&2; usage >&2; exit 2;;
esac
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGS=(--ckpt_path "$CKPT_PATH" --device_target "$DEVICE_TARGET" --algo "$ALGO" --log_file "${ALGO}_eval_log.txt")
[ -n "$3" ] && ARGS+=(--env_yaml "$3")
[ -n "$5" ] && ARGS+=(--algo_yaml "$5")
python "$SCRIPT_DIR/../eval.py" "${ARGS[@]}"
