#!/usr/bin/env bash
# Clickbait, concretely (the paper's case for ranking by expected watch time):
# generates the simulated world with its ground truth, trains the default
# bundle (ranking by watch-time-weighted logistic regression) and a second
# one whose ranking model is a click model (--objective=ctr), then, for
# every user at their last watch, retrieves 200 candidates and compares the
# top 10 under each ordering with the truth: the share of clickbait videos
# (attractive and poor), their mean true quality (the share of a video
# people watch), mean duration, and the watch time per impression the
# world's user model expects for each list (evaluation/clickbait_eval_main.cc).
#
#   experiments/clickbait.sh [--out=DIR] [--seed=N] [--preset=small]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=out/experiments/clickbait seed=42 preset=small
for arg in "$@"; do
  case "$arg" in
    --out=*) out=${arg#--out=} ;;
    --seed=*) seed=${arg#--seed=} ;;
    --preset=*) preset=${arg#--preset=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
targets=(//simulator:world_gen //trainer:trainer //evaluation:clickbait_eval)
bazel build "${targets[@]}" >/dev/null 2>&1 || bazel build "${targets[@]}"
rm -rf "$out"
mkdir -p "$out"
bazel-bin/simulator/world_gen --out="$out/world" --truth_out="$out/world" --preset="$preset" \
  --seed="$seed" >&2
for objective in watch_time ctr; do
  echo "== ranking objective $objective ==" >&2
  bazel-bin/trainer/trainer --logs="$out/world" --bundles="$out/bundles_$objective" \
    --progress=false --objective="$objective" --ranking_ctr_baseline=false \
    --metrics_out="$out/metrics_$objective.txt" >/dev/null
done
bazel-bin/evaluation/clickbait_eval --logs="$out/world" --truth="$out/world/truth_videos.csv" \
  --bundle="$out/bundles_watch_time" --ctr_bundle="$out/bundles_ctr" | tee "$out/table.txt"
