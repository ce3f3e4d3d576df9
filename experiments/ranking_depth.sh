#!/usr/bin/env bash
# The paper's ranking experiment (table 1): the ranking tower's hidden layers
# (none, 256, 512, 1024, 512-256, 1024-512, 1024-512-256) against the
# weighted per-user loss on the held-out last day of impressions, plus the
# two ablations on the 1024-512-256 tower: no x~^2 / sqrt(x~) inputs, and
# unweighted logistic regression (a click model). Prints a table, writes a
# gnuplot chart.
#
#   experiments/ranking_depth.sh [--logs=DIR] [--out=DIR] [--holdout_days=N] [--seeds=N]
#
# --holdout_days: days of impressions held out (default 1, the next day).
# --seeds: train every configuration N times (trainer seeds 42..41+N; the
#   default 1 is the trainer's default seed) and report the mean and the
#   standard deviation: differences smaller than that are noise.
#
# The weighted per-user loss: over pairs of a clicked and an unclicked
# impression on the same page, the watch time of the pairs the model orders
# wrongly over the total watch time of the pairs (lower is better).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
logs=data/world out=out/experiments/ranking_depth holdout_days=1 seeds=1
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    --holdout_days=*) holdout_days=${arg#--holdout_days=} ;;
    --seeds=*) seeds=${arg#--seeds=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$logs/impressions.csv" ]] || { echo "no impressions in $logs: run ./recsys demo --exit or simulator/world_gen first" >&2; exit 1; }
bazel build //trainer:trainer >/dev/null 2>&1 || bazel build //trainer:trainer
mkdir -p "$out"
rm -f "$out"/metrics_*.txt  # a previous run's seeds must not count
table="$out/table.tsv"
[[ "$seeds" =~ ^[1-9][0-9]*$ ]] || { echo "--seeds must be a positive integer" >&2; exit 2; }
if ((seeds == 1)); then
  printf 'hidden layers\tweighted per-user loss\tAUC (clicks)\n' >"$table"
else
  printf 'hidden layers\tweighted per-user loss (mean ± sd, %d seeds)\tAUC (clicks, mean)\n' \
    "$seeds" >"$table"
fi
# "mean ± sd" (or the value, for one seed) of metric $1 over metrics_$2_*.txt.
summarize() {
  awk -v k="$1" -v n="$seeds" '$1 == k { s += $2; q += $2 * $2; c++ }
    END { m = s / c; if (n == 1) printf "%.3f", m;
          else { v = q / c - m * m; printf "%.3f ± %.3f", m, sqrt(v > 0 ? v * c / (c - 1) : 0) } }' \
    "$out"/metrics_"$2"_*.txt
}
run() {
  local label=$1 n=$2
  shift 2
  for ((seed = 1; seed <= seeds; seed++)); do
    echo "== $label (seed $seed of $seeds) ==" >&2
    rm -rf "$out/bundles"
    bazel-bin/trainer/trainer --logs="$logs" --bundles="$out/bundles" --progress=false \
      --ranking_ctr_baseline=false --holdout_days="$holdout_days" --seed=$((41 + seed)) \
      --metrics_out="$out/metrics_${n}_$seed.txt" "$@" >/dev/null
  done
  printf '%s\t%s\t%s\n' "$label" "$(summarize ranking/model/weighted_loss "$n")" \
    "$(summarize ranking/model/auc "$n" | cut -d' ' -f1)" >>"$table"
}
n=0
for tower in "" 256 512 1024 512,256 1024,512 1024,512,256; do
  n=$((n + 1))
  run "${tower:-none}" "$n" --ranking_hidden="$tower"
done
run "1024,512,256 without x~^2, sqrt(x~)" 8 --ranking_hidden=1024,512,256 --use_powers=false
run "1024,512,256 unweighted (CTR)" 9 --ranking_hidden=1024,512,256 --objective=ctr
retrieval=$(summarize ranking/retrieval/weighted_loss 1)
printf 'order by retrieval score\t%s\t\n' "$retrieval" >>"$table"
rm -rf "$out/bundles"
column -t -s $'\t' "$table"
if command -v gnuplot >/dev/null; then
  head -8 "$table" | tail -7 | awk -F'\t' '{ split($2, v, " ± "); print NR - 1, v[1], (v[2] == "" ? 0 : v[2]), $1 }' >"$out/towers.dat"
  gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output "$out/ranking_depth.png"
set title "Ranking: weighted per-user loss on the held-out day by hidden layers"
set ylabel "weighted per-user loss (lower is better)"
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -30
set grid ytics
set yrange [0:*]
plot "$out/towers.dat" using 1:2:xtic(4) with boxes notitle, \
     "$out/towers.dat" using 1:2:3 with yerrorbars lc rgb "black" pt 0 notitle
GP
  echo "chart: $out/ranking_depth.png"
fi
