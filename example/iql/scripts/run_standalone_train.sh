#!/bin/bash
# Train IQL (or IDQL / AlignIQL / AlignIQL-hard) in the foreground; the log goes to
# ./<ALGO>_train_log.txt (and the terminal).
usage() {
  echo "Usage: bash scripts/run_standalone_train.sh EPISODE [DEVICE_TARGET] [ENV_YAML] [ALGO_YAML] [ALGO]"
  echo "  EPISODE        training episodes, a positive integer (1000 gradient steps each by default)"
  echo "  DEVICE_TARGET  CPU, GPU, Ascend or Auto (default Auto: what MindSpore finds)"
  echo "  ENV_YAML       dataset/environment overrides (default: the embedded Hopper medium dataset)"
  echo "  ALGO_YAML      algorithm overrides (\"\" for none)"
  echo "  ALGO           iql (default), idql, aligniql or aligniql_hard"
}
if [ $# -lt 1 ] || [ $# -gt 5 ]; then usage >&2; exit 2; fi
EPISODE=$1
DEVICE_TARGET=${2:-Auto}
if ! [[ "$EPISODE" =~ ^[1-9][0-9]*$ ]]; then
  echo "EPISODE must be a positive integer, got '$EPISODE'" >&2; usage >&2; exit 2
fi
case "$DEVICE_TARGET" in CPU|GPU|Ascend|Auto) ;; *)
  echo "DEVICE_TARGET must be CPU, GPU, Ascend or Auto, got '$DEVICE_TARGET'" >&2; usage >&2; exit 2;;
esac
ALGO=${5:-iql}
case "$ALGO" in iql|idql|aligniql|aligniql_hard) ;; *)
  echo "ALGO must be iql, idql, aligniql or aligniql_hard, got '$ALGO'" >&2; usage >&2; exit 2;;
esac
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ARGS=(--episode "$EPISODE" --device_target "$DEVICE_TARGET" --algo "$ALGO" --log_file "${ALGO}_train_log.txt")
[ -n "$3" ] && ARGS+=(--env_yaml "$3")
[ -n "$4" ] && ARGS+=(--algo_yaml "$4")
python "$SCRIPT_DIR/../train.py" "${ARGS[@]}"
