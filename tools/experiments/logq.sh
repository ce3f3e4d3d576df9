#!/usr/bin/env bash
# Experiment 5 of the candidate-generation issue: the logQ correction with
# popularity-biased negatives. Trains the default candidate model three
# ways and prints held-out retrieval metrics:
#   popularity^alpha proposal with logQ correction (the default),
#   the same proposal without the correction,
#   a uniform proposal (log Q is then the same for every video).
#
#   tools/experiments/logq.sh [--logs=DIR] [--out=DIR] [--alpha=A]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
logs=data/world out=out/experiments/logq alpha=0.75
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    --alpha=*) alpha=${arg#--alpha=} ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$logs/watches.csv" ]] || { echo "no logs in $logs: run ./recsys demo --exit or tools/world_gen first" >&2; exit 1; }
bazel build //trainer:trainer >/dev/null 2>&1 || bazel build //trainer:trainer
mkdir -p "$out"
table="$out/table.tsv"
printf 'proposal\tlogQ\tHR@10\tHR@50\tHR@100\tNDCG@10\tMAP\n' >"$table"
run() {
  local name=$1 logq=$2 a=$3 metrics="$out/metrics_$1_$2.txt"
  echo "== proposal $name, logq $logq ==" >&2
  bazel-bin/trainer/trainer --logs="$logs" --bundles="$out/bundles" --progress=false \
    --sampling_alpha="$a" --logq="$logq" --train_ranking=false \
    --metrics_out="$metrics" >/dev/null
  rm -rf "$out/bundles"
  get() { awk -v k="$1" '$1 == k { printf "%.3f", $2 }' "$metrics"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$logq" "$(get candidate/dnn/hr@10)" \
    "$(get candidate/dnn/hr@50)" "$(get candidate/dnn/hr@100)" \
    "$(get candidate/dnn/ndcg@10)" "$(get candidate/dnn/mrr)" >>"$table"
}
run "popularity^$alpha" true "$alpha"
run "popularity^$alpha" false "$alpha"
run uniform true 0
column -t -s $'\t' "$table"
