#!/usr/bin/env bash
# Experiment 4 of the candidate-generation issue: a fixed number of training
# examples per user against all examples (heavy users then dominate the
# loss). Metrics are per user (each user's held-out last watch counts once).
#
#   tools/experiments/examples_per_user.sh [--logs=DIR] [--out=DIR] [--cap=N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/experiments/lib.sh
logs=data/world out=out/experiments/examples_per_user cap=20
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    --cap=*) cap=${arg#--cap=} ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
experiment_init "$logs" "$out" "examples per user"
experiment_run "at most $cap" --max_examples_per_user="$cap"
experiment_run "all" --max_examples_per_user=0
experiment_print
