#!/usr/bin/env bash
# loadgen_demo.sh: the demo's two servers under closed-loop Recommend load
# from recsys_load, at 1, 8 and 64 calls in flight (users of a world's logs;
# 3 runs of 5 s per level, the levels taking turns),
# printed as a markdown table: QPS, latency p50/p90/p99/p99.9, errors,
# degraded answers, and the CPU per call of each server and of recsys_load
# (which must not be the bottleneck).
#
# Builds the binaries with bazel build -c opt (without moving the bazel-bin
# symlink), makes the world and the bundles first if they are missing
# (simulator/world_gen --preset=small --seed=42, then the trainer: a few
# minutes), starts ranking_server and candidate_server on free local ports
# (port files), waits for ranked answers, warms them up, and stops them on
# exit, however it exits.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"
# shellcheck source=benchmarks/lib.sh
source "$ROOT/benchmarks/lib.sh"

BUNDLES_DIR="bundles"
WORLD_DIR="data/world"
BIN_DIR=""
OUT_DIR="out/loadgen_demo"
DURATION_S=5
ROUNDS=3
WARMUP_S=3
LEVELS="1,8,64"
SERVER_START_TIMEOUT_S=120

usage() {
  cat <<EOF
Usage: benchmarks/loadgen_demo.sh [OPTIONS]

recsys_load against the demo servers: Recommend, closed loop at each level of
concurrency for --duration_s, requests from the users of --logs.

Options:
  --bundles=DIR      bundles root the servers load (default: ${BUNDLES_DIR}; trained when missing)
  --logs=DIR         world logs for the requests (default: ${WORLD_DIR}; generated when missing)
  --levels=LIST      calls in flight, comma-separated (default: ${LEVELS})
  --duration_s=N     seconds per run (default: ${DURATION_S})
  --rounds=N         runs per level, the levels taking turns (default: ${ROUNDS})
  --warmup_s=N       unmeasured load first (default: ${WARMUP_S})
  --bin_dir=DIR      use the binaries there instead of bazel build -c opt
  --out=DIR          logs, JSON reports and the table (default: ${OUT_DIR})
  -h, --help         this message
EOF
}

while (($#)); do
  case "$1" in
    --bundles=*) BUNDLES_DIR=${1#*=} ;;
    --logs=*) WORLD_DIR=${1#*=} ;;
    --levels=*) LEVELS=${1#*=} ;;
    --duration_s=*) DURATION_S=${1#*=} ;;
    --rounds=*) ROUNDS=${1#*=} ;;
    --warmup_s=*) WARMUP_S=${1#*=} ;;
    --bin_dir=*) BIN_DIR=${1#*=} ;;
    --out=*) OUT_DIR=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
[[ "$DURATION_S" =~ ^[1-9][0-9]*$ && "$ROUNDS" =~ ^[1-9][0-9]*$ && "$WARMUP_S" =~ ^[0-9]+$ &&
  "$LEVELS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  die "--duration_s, --rounds and --warmup_s take whole seconds (counts), --levels positive numbers separated by commas"

build_opt_binaries //candidate_service:candidate_server //ranking_service:ranking_server //clients:recsys_load
for binary in candidate_service/candidate_server ranking_service/ranking_server clients/recsys_load; do
  [[ -x "$BIN_DIR/$binary" ]] || die "$BIN_DIR/$binary is missing"
done

ensure_world_and_bundles "$WORLD_DIR" "$BUNDLES_DIR"

mkdir -p "$OUT_DIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/loadgen_demo.XXXXXX")
cleanup() {
  stop_servers
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server ranking_server "$BIN_DIR/ranking_service/ranking_server" --bundles="$BUNDLES_DIR"
RANKING_PID=$SERVER_PID
start_server candidate_server "$BIN_DIR/candidate_service/candidate_server" \
  --bundles="$BUNDLES_DIR" --ranking_address="127.0.0.1:$SERVER_PORT"
CANDIDATE_PID=$SERVER_PID
ADDRESS="127.0.0.1:$SERVER_PORT"
echo "ranking_server pid $RANKING_PID, candidate_server pid $CANDIDATE_PID on $ADDRESS; logs in $OUT_DIR/"

load() {
  "$BIN_DIR/clients/recsys_load" --address="$ADDRESS" --logs="$WORLD_DIR" --quiet "$@"
}

# Ranked answers first (the ranking channel connects on the first call).
deadline=$((SECONDS + 60))
until load --concurrency=1 --total=5 >"$SCRATCH/probe.txt" 2>&1 &&
  grep -q '^calls: 5, ok: 5, failed: 0$' "$SCRATCH/probe.txt" &&
  grep -q '^degraded: 0 ' "$SCRATCH/probe.txt"; do
  ((SECONDS < deadline)) || die "no ranked answers within 60 s: $(tail -n 5 "$SCRATCH/probe.txt")"
  sleep 1
done
if ((WARMUP_S > 0)); then
  load --concurrency=8 --duration_s="$WARMUP_S" >"$OUT_DIR/warmup.txt" 2>&1
fi

ms_per_call() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { printf "%.2f", (n > 0 ? t / hz * 1000 / n : 0) }'; }

table="$OUT_DIR/table.md"
IFS=',' read -r -a levels <<<"$LEVELS"
# The levels take turns, --rounds times: a burst of other work on a shared
# machine then spoils a run of each level alike. Per level: the median of
# the runs' QPS and quantiles, the sums of calls, errors and degraded
# answers, CPU per call over all its runs.
declare -A RUNS=() CALLS=() ERRORS=() DEGRADED=() CPU_C=() CPU_R=() CPU_L=()
for c in "${levels[@]}"; do
  CALLS[$c]=0 ERRORS[$c]=0 DEGRADED[$c]=0 CPU_C[$c]=0 CPU_R[$c]=0 CPU_L[$c]=0
done
for round in $(seq "$ROUNDS"); do
  for c in "${levels[@]}"; do
    log="$OUT_DIR/recommend_c${c}_$round.txt"
    c0=$(cpu_ticks "$CANDIDATE_PID")
    r0=$(cpu_ticks "$RANKING_PID")
    TIMEFORMAT='%U %S'
    { time load --concurrency="$c" --duration_s="$DURATION_S" \
      --output_json="$OUT_DIR/recommend_c${c}_$round.json" >"$log" 2>&1; } 2>"$SCRATCH/cpu" ||
      die "recsys_load failed: $(tail -n 5 "$log")"
    read -r user sys <"$SCRATCH/cpu"
    c1=$(cpu_ticks "$CANDIDATE_PID")
    r1=$(cpu_ticks "$RANKING_PID")
    read -r calls failed < <(sed -n 's/^calls: \([0-9]*\), ok: [0-9]*, failed: \([0-9]*\)$/\1 \2/p' "$log")
    qps=$(sed -n 's/^qps: \([0-9.]*\) calls completed.*/\1/p' "$log")
    degraded=$(sed -n 's/^degraded: \([0-9]*\) .*/\1/p' "$log")
    read -r p50 p90 p99 p999 < <(sed -n \
      's/^latency: p50 \([0-9.]*\)ms, p90 \([0-9.]*\)ms, p95 [0-9.]*ms, p99 \([0-9.]*\)ms, p99.9 \([0-9.]*\)ms,.*/\1 \2 \3 \4/p' "$log")
    [[ -n "$calls" && -n "$qps" && -n "$p999" ]] || die "cannot read $log"
    RUNS["$c|$round"]="$qps $p50 $p90 $p99 $p999"
    CALLS[$c]=$((CALLS[$c] + calls))
    ERRORS[$c]=$((ERRORS[$c] + failed))
    DEGRADED[$c]=$((DEGRADED[$c] + degraded))
    CPU_C[$c]=$((CPU_C[$c] + c1 - c0))
    CPU_R[$c]=$((CPU_R[$c] + r1 - r0))
    CPU_L[$c]=$(awk -v a="${CPU_L[$c]}" -v u="$user" -v s="$sys" 'BEGIN { print a + u + s }')
    printf '  round %d, %2d in flight: %s; load average %s\n' "$round" "$c" \
      "$(grep '^qps:' "$log" | cut -d'(' -f1)" "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
{
  echo "| in flight | calls | QPS | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | degraded | CPU ms/call: candidate | ranking | recsys_load |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for c in "${levels[@]}"; do
    medians=""
    for field in 1 2 3 4 5; do
      medians+="$(for round in $(seq "$ROUNDS"); do
        awk -v f="$field" '{ print $f }' <<<"${RUNS["$c|$round"]}"
      done | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }') "
    done
    read -r qps p50 p90 p99 p999 <<<"$medians"
    printf '| %d | %d | %.0f | %s | %s | %s | %s | %d | %d | %s | %s | %s |\n' "$c" "${CALLS[$c]}" "$qps" \
      "$p50" "$p90" "$p99" "$p999" "${ERRORS[$c]}" "${DEGRADED[$c]}" \
      "$(ms_per_call "${CPU_C[$c]}" "${CALLS[$c]}")" "$(ms_per_call "${CPU_R[$c]}" "${CALLS[$c]}")" \
      "$(awk -v t="${CPU_L[$c]}" -v n="${CALLS[$c]}" 'BEGIN { printf "%.3f", t * 1000 / n }')"
  done
} >"$table"
kill -0 "$CANDIDATE_PID" 2>/dev/null || die "candidate_server died (log: $OUT_DIR/candidate_server.log)"
kill -0 "$RANKING_PID" 2>/dev/null || die "ranking_server died (log: $OUT_DIR/ranking_server.log)"

first="$OUT_DIR/recommend_c${levels[0]}_1.txt"
sizes=$(sed -n 's/^Recommend on .*, \([0-9]*\) distinct requests (logs [^,]*, \([0-9]*\) bytes on average).*/\1 requests of \2 bytes on average/p' "$first")
answers=$(sed -n 's/^answers: \([0-9]*\) bytes on average/\1/p' "$first")
echo
echo "Bundle $(find "$BUNDLES_DIR" -mindepth 2 -maxdepth 2 -name manifest.pb -printf '%h\n' | xargs -n 1 basename | sort | tail -n 1) of $BUNDLES_DIR, world $WORLD_DIR ($sizes, answers of $answers bytes); $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'); closed loop, ${ROUNDS} runs of ${DURATION_S} s per level (median QPS and quantiles) after ${WARMUP_S} s of warm-up (also in $table):"
echo
cat "$table"
