#!/usr/bin/env bash
# Experiment 4 of the candidate-generation issue: a fixed number of training
# examples per user against all examples (heavy users then dominate the
# loss), reported per example and per user. The logs are cut in time: the
# models train on everything before the held-out day (split_logs
# --mode=time_cut --cut_day=-N --holdout_days=N; default the last 3 days)
# and are evaluated on every held-out watch as a next-watch query (evaluation/evaluate_candidates): "per example" counts each
# held-out watch once (heavy users weigh more), "per user" averages each
# user's watches first. The trainer's own leave-last-out HR@50 (one watch
# per user, inside the training part) is shown too.
#
#   experiments/examples_per_user.sh [--logs=DIR] [--out=DIR] [--caps="20 100 0"] [--days=N]
#
# A cap of 0 means all examples.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
logs=data/world out=out/experiments/examples_per_user caps="20 100 0" days=3
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    --caps=*) caps=${arg#--caps=} ;;
    --days=*) days=${arg#--days=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$logs/watches.csv" ]] || { echo "no logs in $logs: run ./recsys demo --exit or simulator/world_gen first" >&2; exit 1; }
targets=(//trainer:trainer //importers:split_logs //evaluation:evaluate_candidates)
bazel build "${targets[@]}" >/dev/null 2>&1 || bazel build "${targets[@]}"
rm -rf "$out/split"
mkdir -p "$out"
bazel-bin/importers/split_logs --in="$logs" --out="$out/split" --mode=time_cut --cut_day="-$days" --holdout_days="$days" >&2
table="$out/table.tsv"
printf 'examples per user\tleave-last-out HR@50 (per user)\theld-out days HR@50 per example\tNDCG@10 per example\tHR@50 per user\tNDCG@10 per user\n' >"$table"
for cap in $caps; do
  label="at most $cap"
  [[ $cap == 0 ]] && label=all
  echo "== $label ==" >&2
  rm -rf "$out/bundles"
  bazel-bin/trainer/trainer --logs="$out/split/train" --bundles="$out/bundles" --progress=false \
    --train_ranking=false --max_examples_per_user="$cap" --metrics_out="$out/train_$cap.txt" >/dev/null
  bazel-bin/evaluation/evaluate_candidates --logs="$logs" --holdout="$out/split/holdout" \
    --bundle="$out/bundles" --progress=false --metrics_out="$out/eval_$cap.txt" >&2
  get() { awk -v k="$2" '$1 == k { printf "%.3f", $2 }' "$1"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(get "$out/train_$cap.txt" candidate/dnn/hr@50)" \
    "$(get "$out/eval_$cap.txt" per_example/hr@50)" "$(get "$out/eval_$cap.txt" per_example/ndcg@10)" \
    "$(get "$out/eval_$cap.txt" per_user/hr@50)" "$(get "$out/eval_$cap.txt" per_user/ndcg@10)" >>"$table"
done
rm -rf "$out/bundles"
column -t -s $'\t' "$table"
