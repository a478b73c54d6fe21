#!/bin/bash
# Generate local Minari datasets msrl_ext/<env>/<level>-v0, one per env x level, under nice.
#
# Usage: bash scripts/generate_dataset.sh [ENVS] [LEVELS] [STEPS] [SEED] [DATASET_ROOT] [--force]
#   ENVS     comma-separated: hopper,walker2d,halfcheetah,ant   (default: hopper)
#   LEVELS   comma-separated: random,medium,expert,medium-expert (default: medium)
#   STEPS    steps per behaviour policy                          (default: 1000000)
#   SEED     (default: 0)
#   DATASET_ROOT  Minari root (default: $MINARI_DATASETS_PATH or ~/.minari/datasets)
# Example: bash scripts/generate_dataset.sh hopper,walker2d random,medium 1000000 0 /data/minari
# A level whose behaviour policy is not shipped fails with the list of shipped ones; the
# others still run, and the script exits 1 if any failed.
ENVS=${1:-hopper}
LEVELS=${2:-medium}
STEPS=${3:-1000000}
SEED=${4:-0}
ROOT_ARGS=()
[ -n "$5" ] && ROOT_ARGS=(--dataset-root "$5")
EXTRA_ARGS=("${@:6}")

failed=0
for env in ${ENVS//,/ }; do
  for level in ${LEVELS//,/ }; do
    echo "== ${env} ${level}: ${STEPS} steps, seed ${SEED}"
    nice -n 10 python -m mindspore_rl_ext.data.generate --env "$env" --level "$level" \
      --steps "$STEPS" --seed "$SEED" "${ROOT_ARGS[@]}" "${EXTRA_ARGS[@]}" || failed=1
  done
done
exit $failed
