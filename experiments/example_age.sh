#!/usr/bin/env bash
# Experiment 2 of the candidate-generation issue (paper figure 4): for videos
# uploaded during the training window, the share of watches they get on each
# day after upload, next to the share the candidate model predicts, with and
# without the example-age feature (evaluation/example_age_curve_main.cc says how
# both are computed). Prints a table, writes a gnuplot chart.
#
#   experiments/example_age.sh [--logs=DIR] [--out=DIR] [--epochs=N]
#
# Both models train for --epochs epochs (default 10, no early stopping) with
# the trainer's other defaults.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
logs=data/world out=out/experiments/example_age epochs=10
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    --epochs=*) epochs=${arg#--epochs=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$logs/watches.csv" ]] || { echo "no logs in $logs: run ./recsys demo --exit or simulator/world_gen first" >&2; exit 1; }
bazel build //trainer:trainer //evaluation:example_age_curve >/dev/null 2>&1 ||
  bazel build //trainer:trainer //evaluation:example_age_curve
mkdir -p "$out"
for variant in with without; do
  features=watches,searches,example_age,demographics
  [[ $variant == without ]] && features=watches,searches,demographics
  echo "== $variant example age ==" >&2
  rm -rf "$out/bundles_$variant"
  bazel-bin/trainer/trainer --logs="$logs" --bundles="$out/bundles_$variant" --progress=false \
    --train_ranking=false --features="$features" --candidate_epochs="$epochs" \
    --keep_best_epoch=false --metrics_out="$out/metrics_$variant.txt" >/dev/null
  bazel-bin/evaluation/example_age_curve --logs="$logs" --bundle="$out/bundles_$variant" \
    --out="$out/curve_$variant.tsv"
done
table="$out/table.tsv"
paste "$out/curve_with.tsv" "$out/curve_without.tsv" |
  awk -F'\t' 'NR == 1 { print "days since upload\tempirical share\tmodel with example age\tmodel without\tvideos"; next }
              { printf "%s\t%.5f\t%.5f\t%.5f\t%s\n", $1, $2, $3, $7, $4 }' >"$table"
column -t -s $'\t' "$table"
hr() { awk '$1 == "candidate/dnn/hr@50" { printf "%.3f", $2 }' "$1"; }
echo "held-out HR@50: with example age $(hr "$out/metrics_with.txt"), without $(hr "$out/metrics_without.txt")"
if command -v gnuplot >/dev/null; then
  gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output "$out/example_age.png"
set title "Videos uploaded in the window: share of a day's watches by days since upload"
set xlabel "days since upload"
set ylabel "share of the day's watches (mean over videos)"
set key right top
set grid
plot "$table" using 1:2 every ::1 with linespoints title "empirical", \
     "$table" using 1:3 every ::1 with linespoints title "model with example age", \
     "$table" using 1:4 every ::1 with linespoints title "model without example age"
GP
  echo "chart: $out/example_age.png"
fi
