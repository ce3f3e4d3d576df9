#!/usr/bin/env bash
# The paper's figure 6: holdout MAP of candidate generation by feature groups
# (watches only, + searches, + example age, all features) and tower depth
# (0-4). Prints a table, writes a gnuplot chart.
#
#   experiments/features_by_depth.sh [--logs=DIR] [--out=DIR] [--epochs=N] [--width_scale=S]
#
# Widths: the paper's towers (256; 512-256; 1024-512-256; 2048-1024-512-256)
# divided by --width_scale (default 4, so 2 cores finish in minutes: depth 4
# is 512-256-128-64). Output dimension 256 / scale. Each cell trains for up
# to --epochs epochs (default 10) and keeps its best validation epoch (the
# trainer's early stopping). MAP = MRR here: each test user has one held-out
# watch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
logs=data/world out=out/experiments/features_by_depth epochs=10 scale=4
for arg in "$@"; do
  case "$arg" in
    --logs=*) logs=${arg#--logs=} ;;
    --out=*) out=${arg#--out=} ;;
    --epochs=*) epochs=${arg#--epochs=} ;;
    --width_scale=*) scale=${arg#--width_scale=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$logs/watches.csv" ]] || { echo "no logs in $logs: run ./recsys demo --exit or simulator/world_gen first" >&2; exit 1; }
bazel build //trainer:trainer >/dev/null 2>&1 || bazel build //trainer:trainer
mkdir -p "$out"
w() { echo $(($1 / scale)); }
towers=("" "$(w 256)" "$(w 512),$(w 256)" "$(w 1024),$(w 512),$(w 256)" "$(w 2048),$(w 1024),$(w 512),$(w 256)")
names=("watches" "+searches" "+example_age" "all")
sets=("watches" "watches,searches" "watches,searches,example_age" "watches,searches,example_age,demographics")
table="$out/table.tsv"
printf 'features\tdepth\ttower\tMAP\tHR@50\tHR@100\n' >"$table"
for i in "${!sets[@]}"; do
  for depth in 0 1 2 3 4; do
    metrics="$out/metrics_${i}_${depth}.txt"
    echo "== ${names[$i]}, depth $depth (tower: ${towers[$depth]:-linear}) ==" >&2
    bazel-bin/trainer/trainer --logs="$logs" --bundles="$out/bundles" --progress=false \
      --features="${sets[$i]}" --candidate_hidden="${towers[$depth]}" \
      --output_dim="$(w 256)" --candidate_epochs="$epochs" --train_ranking=false \
      --metrics_out="$metrics" >/dev/null
    rm -rf "$out/bundles"
    get() { awk -v k="$1" '$1 == k { print $2 }' "$metrics"; }
    printf '%s\t%d\t%s\t%s\t%s\t%s\n' "${names[$i]}" "$depth" "${towers[$depth]:-linear}" \
      "$(get candidate/dnn/mrr)" "$(get candidate/dnn/hr@50)" "$(get candidate/dnn/hr@100)" >>"$table"
  done
done
column -t -s $'\t' "$table"
if command -v gnuplot >/dev/null; then
  plots=()
  for i in "${!names[@]}"; do
    awk -F'\t' -v f="${names[$i]}" 'NR > 1 && $1 == f { print $2, $4 }' "$table" >"$out/set_$i.dat"
    plots+=("'$out/set_$i.dat' using 1:2 with linespoints title '${names[$i]}'")
  done
  gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output "$out/features_by_depth.png"
set title "Candidate generation: holdout MAP by features and tower depth"
set xlabel "tower depth (0 = linear)"
set ylabel "MAP (held-out last watch)"
set key right top
set xtics 0,1,4
set grid
plot $(IFS=,; echo "${plots[*]}")
GP
  echo "chart: $out/features_by_depth.png"
fi
