#!/usr/bin/env bash
# loadgen_vs_h2load.sh: is recsys_load the bottleneck? It and h2load drive
# the same bare gRPC server (benchmarks/echo_server) with the same request
# (a gRPC-framed recsys.bench.Echo/Echo request, --payload_bytes in,
# --response_bytes back: the sizes of a demo Recommend) at the same
# concurrency, in turns, and the script prints one markdown table: tool,
# connections, concurrency, QPS, p50, p99, client CPU per call, and
# recsys_load's QPS over h2load's. (h2load's p50/p99 come from a second run
# with --log-file: it prints no percentiles, and logging costs it CPU.)
#
#   pair 1: h2load -c 1 -m 64        vs  recsys_load --connections=1 --concurrency=64
#   pair 2: h2load -c 4 -m 16        vs  recsys_load --connections=4 --concurrency=64
#
# recsys_load runs with its default transport (the built-in HTTP/2 client)
# and, for reference, with --transport=grpc (gRPC C++). Nothing is pinned:
# clients and server share the machine's cores, as in a real test; each
# measurement is the median of --rounds runs of --duration_s seconds, the
# tools taking turns (in alternating order) so that a noisy neighbour hurts
# them alike, and the ratio is the median of each round's ratio (runs back
# to back). h2load counts HTTP answers; recsys_load checks every call's
# grpc-status (with a 10 s deadline: h2load has none).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"
# shellcheck source=benchmarks/lib.sh
source "$ROOT/benchmarks/lib.sh"

# Many short runs in turns rather than a few long ones: on a shared machine
# a burst of someone else's work then spoils a run of each tool alike.
DURATION_S=2
ROUNDS=11
# A demo Recommend: requests of 1,693 bytes and answers of 1,364 on average
# (benchmarks/loadgen_demo.sh); recsys_load's echo defaults.
PAYLOAD_BYTES=1690
RESPONSE_BYTES=1360
BIN_DIR=""
OUT_DIR="out/loadgen_vs_h2load"
# connections concurrency: h2load -c CONNECTIONS -m CONCURRENCY/CONNECTIONS.
PAIRS=("1 64" "4 64")

usage() {
  cat <<EOF
Usage: benchmarks/loadgen_vs_h2load.sh [OPTIONS]

Drives benchmarks/echo_server with h2load and with recsys_load at the same
concurrency and prints QPS, p50, p99 and client CPU per call of each, and
recsys_load's QPS over h2load's (the median of --rounds runs each).

Options:
  --duration_s=N       seconds per run (default: ${DURATION_S})
  --rounds=N           runs per tool and setting (default: ${ROUNDS})
  --payload_bytes=N    request payload (default: ${PAYLOAD_BYTES})
  --response_bytes=N   answer payload (default: ${RESPONSE_BYTES})
  --bin_dir=DIR        use the binaries there (echo_server, recsys_load) instead of
                       building them with bazel build -c opt
  --out=DIR            logs and the table (default: ${OUT_DIR})
  -h, --help           this message

Needs h2load (Debian's nghttp2-client; installed with apt-get when missing).
EOF
}

while (($#)); do
  case "$1" in
    --duration_s=*) DURATION_S=${1#*=} ;;
    --rounds=*) ROUNDS=${1#*=} ;;
    --payload_bytes=*) PAYLOAD_BYTES=${1#*=} ;;
    --response_bytes=*) RESPONSE_BYTES=${1#*=} ;;
    --bin_dir=*) BIN_DIR=${1#*=} ;;
    --out=*) OUT_DIR=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
for n in "$DURATION_S" "$ROUNDS" "$PAYLOAD_BYTES" "$RESPONSE_BYTES"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "numeric options take whole numbers, got '$n'"
done
((DURATION_S > 0 && ROUNDS > 0)) || die "--duration_s and --rounds must be positive"

if ! command -v h2load >/dev/null 2>&1; then
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "h2load is missing and there is no sudo to install nghttp2-client"
    sudo=(sudo)
  fi
  echo "Installing nghttp2-client (h2load)"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client
fi

if [[ -z "$BIN_DIR" ]]; then
  # -c opt, without moving the bazel-bin symlink other builds use.
  bazel build -c opt --symlink_prefix=/ //benchmarks:echo_server //clients:recsys_load
  BIN_DIR=$(bazel info -c opt bazel-bin 2>/dev/null)
fi
ECHO_SERVER="$BIN_DIR/benchmarks/echo_server"
RECSYS_LOAD="$BIN_DIR/clients/recsys_load"
[[ -x "$ECHO_SERVER" && -x "$RECSYS_LOAD" ]] || die "no echo_server / recsys_load under $BIN_DIR"

mkdir -p "$OUT_DIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/loadgen_vs_h2load.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$ECHO_SERVER" --address=127.0.0.1:0 --port_file="$SCRATCH/port" >"$OUT_DIR/echo_server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  [[ -s "$SCRATCH/port" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "echo_server exited: $(tail -n 5 "$OUT_DIR/echo_server.log")"
  sleep 0.1
done
[[ -s "$SCRATCH/port" ]] || die "echo_server did not listen within 10 s"
PORT=$(tr -d '[:space:]' <"$SCRATCH/port")
ADDRESS="127.0.0.1:$PORT"

BODY="$SCRATCH/echo.bin"
ECHO_ARGS=(--call=recsys.bench.Echo.Echo --payload_bytes="$PAYLOAD_BYTES" --response_bytes="$RESPONSE_BYTES")
"$RECSYS_LOAD" "${ECHO_ARGS[@]}" --write_request_body="$BODY" >/dev/null

# The p-th percentile (0-100, nearest rank) of the numbers on stdin.
percentile() {
  sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1; print v[r] }'
}
median() { percentile 50; }

# run_h2load CONNECTIONS CONCURRENCY ROUND: prints "qps p50_ms p99_ms
# client_us_per_call". h2load prints no percentiles: they come from a second
# run with --log-file (a line per request, which costs h2load CPU, so the
# QPS and CPU are the first run's).
run_h2load() {
  local c=$1 n=$2 round=$3
  local log="$OUT_DIR/h2load_c${c}_n${n}_$round.txt" requests="$SCRATCH/h2load_requests.log"
  local cpu_file="$SCRATCH/cpu" TIMEFORMAT='%U %S'
  local args=(-c "$c" -m $((n / c)) -D "$DURATION_S" -d "$BODY"
    -H 'content-type: application/grpc' -H 'te: trailers' "http://$ADDRESS/recsys.bench.Echo/Echo")
  { time h2load "${args[@]}" >"$log" 2>&1; } 2>"$cpu_file"
  local qps done_ok
  qps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$log")
  done_ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$log")
  [[ -n "$qps" && -n "$done_ok" ]] || die "h2load failed: $(tail -n 5 "$log")"
  h2load --log-file="$requests" "${args[@]}" >"$log.latency" 2>&1 ||
    die "h2load failed: $(tail -n 5 "$log.latency")"
  # Log lines: start time (us), HTTP status, request time (us).
  local p50 p99
  p50=$(awk '$2 == 200 { print $3 / 1000 }' "$requests" | percentile 50)
  p99=$(awk '$2 == 200 { print $3 / 1000 }' "$requests" | percentile 99)
  read -r user sys <"$cpu_file"
  awk -v q="$qps" -v a="$p50" -v b="$p99" -v u="$user" -v s="$sys" -v n="$done_ok" \
    'BEGIN { printf "%.0f %.3f %.3f %.2f\n", q, a, b, (u + s) * 1e6 / n }'
}

# run_recsys_load TRANSPORT CONNECTIONS CONCURRENCY ROUND: the same line.
run_recsys_load() {
  local transport=$1 c=$2 n=$3 round=$4
  local log="$OUT_DIR/recsys_load_${transport}_c${c}_n${n}_$round.txt"
  local cpu_file="$SCRATCH/cpu" TIMEFORMAT='%U %S'
  { time "$RECSYS_LOAD" --address="$ADDRESS" "${ECHO_ARGS[@]}" --transport="$transport" \
      --connections="$c" --concurrency="$n" --duration_s="$DURATION_S" --quiet \
      --deadline_ms=10000 \
      >"$log" 2>&1; } 2>"$cpu_file"
  local qps calls failed p50 p99
  qps=$(sed -n 's/^qps: \([0-9.]*\) calls completed.*/\1/p' "$log")
  calls=$(sed -n 's/^calls: \([0-9]*\), ok: [0-9]*, failed: \([0-9]*\)$/\1/p' "$log")
  failed=$(sed -n 's/^calls: [0-9]*, ok: [0-9]*, failed: \([0-9]*\)$/\1/p' "$log")
  p50=$(sed -n 's/^latency: p50 \([0-9.]*\)ms,.*/\1/p' "$log")
  p99=$(sed -n 's/^latency: .* p99 \([0-9.]*\)ms, p99.9.*/\1/p' "$log")
  [[ -n "$qps" && -n "$calls" && -n "$p50" && -n "$p99" ]] || die "recsys_load failed: $(tail -n 5 "$log")"
  ((failed == 0)) || die "recsys_load: $failed calls failed (log: $log)"
  read -r user sys <"$cpu_file"
  awk -v q="$qps" -v a="$p50" -v b="$p99" -v u="$user" -v s="$sys" -v n="$calls" \
    'BEGIN { printf "%.0f %.3f %.3f %.2f\n", q, a, b, (u + s) * 1e6 / n }'
}

TOOLS=("h2load" "recsys_load" "recsys_load --transport=grpc")
declare -A RESULTS=()
server_cpu0=$(cpu_ticks "$SERVER_PID")
total_calls=0
echo "echo_server on $ADDRESS; request $(stat -c %s "$BODY") bytes on the wire (gRPC-framed), answer payload $RESPONSE_BYTES bytes; $(nproc) cores; ${ROUNDS} x ${DURATION_S} s per setting"
for pair in "${PAIRS[@]}"; do
  read -r c n <<<"$pair"
  for round in $(seq "$ROUNDS"); do
    order=("${TOOLS[@]}")
    if ((round % 2 == 0)); then order=("${TOOLS[2]}" "${TOOLS[1]}" "${TOOLS[0]}"); fi
    for tool in "${order[@]}"; do
      case "$tool" in
        h2load) line=$(run_h2load "$c" "$n" "$round") ;;
        "recsys_load") line=$(run_recsys_load h2 "$c" "$n" "$round") ;;
        *) line=$(run_recsys_load grpc "$c" "$n" "$round") ;;
      esac
      RESULTS["$tool|$c|$round"]=$line
      read -r qps _ <<<"$line"
      # h2load runs twice (the second for its latencies).
      [[ "$tool" == h2load ]] && qps=$((qps * 2))
      total_calls=$((total_calls + qps * DURATION_S))
      printf '  round %d, %-28s -c %d, %3d in flight: %s\n' "$round" "$tool" "$c" "$n" "$line"
    done
  done
done
server_cpu1=$(cpu_ticks "$SERVER_PID")

# Medians over the rounds: "qps p50 p99 cpu".
medians() {
  local tool=$1 c=$2 field out=""
  for field in 1 2 3 4; do
    local v
    v=$(for round in $(seq "$ROUNDS"); do
      awk -v f="$field" '{ print $f }' <<<"${RESULTS["$tool|$c|$round"]}"
    done | median)
    out+="$v "
  done
  echo "$out"
}

table="$OUT_DIR/table.md"
{
  echo "| tool | connections | concurrency | QPS | p50 ms | p99 ms | client CPU us/call | QPS / h2load's (range) |"
  echo "|---|---|---|---|---|---|---|---|"
  for pair in "${PAIRS[@]}"; do
    read -r c n <<<"$pair"
    for tool in "${TOOLS[@]}"; do
      read -r qps p50 p99 cpu <<<"$(medians "$tool" "$c")"
      if [[ "$tool" == h2load ]]; then
        ratio="1"
        command="h2load -c $c -m $((n / c))"
      else
        # The median of the rounds' ratios, and their range.
        ratios=$(for round in $(seq "$ROUNDS"); do
          read -r a _ <<<"${RESULTS["$tool|$c|$round"]}"
          read -r b _ <<<"${RESULTS["h2load|$c|$round"]}"
          awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", a / b }'
        done | sort -g)
        ratio=$(awk '{ v[NR] = $1 } END {
          m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }' <<<"$ratios")
        command="$tool --connections=$c --concurrency=$n"
      fi
      printf '| `%s` | %d | %d | %.0f | %.2f | %.2f | %.1f | %s |\n' \
        "$command" "$c" "$n" "$qps" "$p50" "$p99" "$cpu" "$ratio"
    done
  done
} >"$table"
echo
echo "$(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'); median of $ROUNDS runs of $DURATION_S s each; echo_server used $(awk -v t=$((server_cpu1 - server_cpu0)) -v hz="$CLK_TCK" -v n="$total_calls" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }') us of CPU per call (also in $table):"
echo
cat "$table"
