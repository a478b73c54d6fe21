#!/usr/bin/env bash
# Pretrain the model zoo (IQL value functions + inverse dynamics) on the project's datasets.
#
#   bash scripts/pretrain_zoo.sh                                  # default dataset, both models
#   bash scripts/pretrain_zoo.sh --datasets default msrl_ext/walker2d/medium-v0 --models iql
#   bash scripts/pretrain_zoo.sh --datasets default --iql-steps 30000 --zoo-dir mindspore_rl_ext/zoo
#
# All arguments go to `python -m mindspore_rl_ext.utils.pretrain_zoo` (see --help).
# Models land in --zoo-dir, else $MSRL_EXT_ZOO, else ~/.mindspore_rl_ext/zoo. Runs at low
# priority with MSRL_EXT_CPU_THREADS=1 unless set; an interrupted run resumes when the same
# command is run again. Output is also appended to ${PRETRAIN_LOG:-pretrain_zoo.log}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="${ROOT}${PYTHONPATH:+:${PYTHONPATH}}"
export MSRL_EXT_CPU_THREADS="${MSRL_EXT_CPU_THREADS:-1}"
LOG="${PRETRAIN_LOG:-pretrain_zoo.log}"
nice -n "${NICE:-10}" python -u -m mindspore_rl_ext.utils.pretrain_zoo "$@" 2>&1 | tee -a "${LOG}"
exit "${PIPESTATUS[0]}"
