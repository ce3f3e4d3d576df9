#!/usr/bin/env bash
# Experiment 5 of the candidate-generation issue: the logQ correction with
# popularity-biased negatives. Trains the default candidate model three
# ways and prints held-out retrieval metrics:
#   popularity^alpha proposal with logQ correction (the default),
#   the same proposal without the correction,
#   a uniform proposal (log Q is then the same for every video).
#
#   experiments/logq.sh [--logs=DIR] [--out=DIR] [--alpha=A]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source experiments/lib.sh
logs=data/world out=out/experiments/logq alpha=0.75
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    --alpha=*) alpha=${arg#--alpha=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
experiment_init "$logs" "$out" "proposal, logQ"
experiment_run "popularity^$alpha, logQ on" --sampling_alpha="$alpha" --logq=true
experiment_run "popularity^$alpha, logQ off" --sampling_alpha="$alpha" --logq=false
experiment_run "uniform" --sampling_alpha=0 --logq=true
experiment_print
