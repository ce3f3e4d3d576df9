#!/usr/bin/env bash
# Experiment 3 of the candidate-generation issue (paper figure 5): training
# inputs by rollback (only what the user did before each label) against a
# random hold-out (every other event, the future included), both evaluated
# on the next-watch task (the held-out last watch, inputs before it). The
# simulated world's series make the leak visible.
#
#   experiments/rollback.sh [--logs=DIR] [--out=DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source experiments/lib.sh
logs=data/world out=out/experiments/rollback
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
experiment_init "$logs" "$out" "training inputs"
experiment_run "rollback" --example_inputs=rollback
experiment_run "random hold-out" --example_inputs=random_holdout
experiment_print
