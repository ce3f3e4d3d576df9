# Shared by the candidate-generation experiment scripts: train with given
# flags, collect held-out retrieval metrics into one table.
#
#   source experiments/lib.sh
#   experiment_init LOGS OUT "first column name"
#   experiment_run "row label" --trainer_flag=... ...
#   experiment_print

experiment_init() {
  EXP_LOGS=$1 EXP_OUT=$2
  [[ -f "$EXP_LOGS/watches.csv" ]] || {
    echo "no logs in $EXP_LOGS: run ./recsys demo --exit or simulator/world_gen first" >&2
    exit 1
  }
  bazel build //trainer:trainer >/dev/null 2>&1 || bazel build //trainer:trainer
  mkdir -p "$EXP_OUT"
  EXP_TABLE="$EXP_OUT/table.tsv"
  printf '%s\tHR@10\tHR@50\tHR@100\tNDCG@10\tMAP\n' "$3" >"$EXP_TABLE"
  EXP_N=0
}

experiment_run() {
  local label=$1
  shift
  EXP_N=$((EXP_N + 1))
  local metrics="$EXP_OUT/metrics_$EXP_N.txt"
  echo "== $label ==" >&2
  bazel-bin/trainer/trainer --logs="$EXP_LOGS" --bundles="$EXP_OUT/bundles" \
    --progress=false --train_ranking=false --metrics_out="$metrics" "$@" >/dev/null
  rm -rf "$EXP_OUT/bundles"
  get() { awk -v k="$1" '$1 == k { printf "%.3f", $2 }' "$metrics"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(get candidate/dnn/hr@10)" \
    "$(get candidate/dnn/hr@50)" "$(get candidate/dnn/hr@100)" \
    "$(get candidate/dnn/ndcg@10)" "$(get candidate/dnn/mrr)" >>"$EXP_TABLE"
}

experiment_print() { column -t -s $'\t' "$EXP_TABLE"; }
