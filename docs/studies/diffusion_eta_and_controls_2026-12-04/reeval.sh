#!/bin/bash
# Re-evaluate each run's final checkpoint under each action selection and print a JSON line
# per (run, selection): softmax = Diffusion-QL's own (one of 50 samples, drawn with
# p = softmax(min Q)), argmax = the sample of highest Q, first = one sample, no critic
# (diffusion BC's only rule, so a diffusion-BC run gets only that one). From the repository root:
#   bash docs/studies/diffusion_eta_and_controls_2026-12-04/reeval.sh EPISODES RUN_DIR [RUN_DIR ...]
# RUN_DIR: a sweep run folder (.../seedN) that still holds its ckpt/.
# One op thread each, as the trainings ran: MSRL_EXT_CPU_THREADS=1.
episodes=$1; shift
for run in "$@"; do
  config=$(ls "$run"/results/*/config.json)
  selections="softmax argmax first"
  if grep -q '"algo": "bc"' "$config"; then selections=first; fi
  for sel in $selections; do
    out=$(python example/diffusion_ql/eval.py --ckpt_path "$run/ckpt" \
        --config "$config" --device CPU --seed 100 \
        --num_evaluate_episode "$episodes" --eval_selection $sel --log_file /dev/null 2>&1)
    score=$(grep -o "normalized score is [-0-9.]*" <<<"$out" | awk '{print $4}')
    echo "{\"run\": \"$run\", \"selection\": \"$sel\", \"episodes\": $episodes, \"normalized_score\": ${score:-null}}"
  done
done
