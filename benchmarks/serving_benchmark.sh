#!/usr/bin/env bash
# serving_benchmark.sh: the serving path against its raw-parts bound, in ONE
# run (issue 14). For a bundle (the demo's, or one from
# benchmarks/make_synthetic_bundle) it measures, closed loop with
# recsys_load at each level of calls in flight:
#   echo (Recommend sizes)  a bare gRPC callback echo server answering with
#                           the Recommend request's and answer's sizes: the
#                           outer hop;
#   echo (Rank sizes)       the same with the Rank request's and answer's
#                           sizes, over gRPC C++'s client (--transport=grpc),
#                           as the candidate server calls ranking: the inner
#                           hop, client side included;
#   Rank                    ranking_server alone (the candidates the ANN
#                           index returns for each user);
#   GenerateCandidates      candidate_server alone;
#   Recommend               both (candidate_server calls ranking_server);
#   with --shards=K,...     GenerateCandidates and Recommend again on a
#                           sharded candidate_server for each K: K shard
#                           servers (--shard_index, --num_shards) and a front
#                           (--ann_shards) fanning the ANN step out to them
#                           (docs/serving.md, "Sharded retrieval"), next to
#                           the unsharded rows of the same run;
# QPS, latency p50/p99/p99.9, errors, degraded answers (both must be 0),
# and server and client CPU per call (recsys_load's start-up subtracted).
# Then the raw-parts bound of Recommend (benchmarks/serving_bound, same
# run): the user and ranking towers' FLOPs
# at this machine's single-thread sgemm rate, the ANN search on the bundle's
# own index, and the two hops at the echo server's CPU per call (the inner
# one with its gRPC client's CPU), over the cores the load generator leaves;
# and the measured QPS as a share of it.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"
# shellcheck source=benchmarks/lib.sh
source "$ROOT/benchmarks/lib.sh"

BUNDLES_DIR="bundles"
LOGS_DIR="data/world"
SYNTHETIC=0
BIN_DIR=""
OUT_DIR="out/serving_benchmark"
DURATION_S=5
WARMUP_S=2
LEVELS="1,8,64"
NUM_CANDIDATES=200
NUM_RESULTS=20
NPROBE=0
CALLS="echo_recommend,echo_rank,rank,generate,recommend"
OPEN_LOOP_SHARE=0.5
SERVER_START_TIMEOUT_S=300
SHARDS=""
SHARD_DEADLINE_MS=50

usage() {
  cat <<EOF
Usage: benchmarks/serving_benchmark.sh [OPTIONS]

The serving path (Rank, GenerateCandidates, Recommend) and a bare gRPC echo of
the same sizes, at each level of calls in flight, then Recommend's raw-parts
bound and the measured share of it, as one markdown table.

Options:
  --bundles=DIR         bundles root the servers load (default: ${BUNDLES_DIR};
                        the demo's, trained when missing)
  --logs=DIR            logs for the requests, one per user (default: ${LOGS_DIR};
                        generated when missing)
  --synthetic           no logs: synthetic users of the bundle's videos (for
                        bundles from benchmarks/make_synthetic_bundle)
  --levels=LIST         calls in flight, comma-separated (default: ${LEVELS})
  --duration_s=N        seconds per run (default: ${DURATION_S})
  --warmup_s=N          unmeasured load before each call's runs (default: ${WARMUP_S})
  --num_candidates=N    candidates per request: ANN k and ranking batch (default: ${NUM_CANDIDATES})
  --num_results=N       results per answer (default: ${NUM_RESULTS})
  --nprobe=N            IVF lists per search, candidate_server's --nprobe (default: 0,
                        the bundle's own: what the trainer chose for its recall target)
  --calls=LIST          which rows, of ${CALLS}
  --open_loop_share=F   then Recommend open loop at F x its best closed-loop QPS
                        (default: ${OPEN_LOOP_SHARE}; 0: not run)
  --shards=LIST         also GenerateCandidates and Recommend with the index in K
                        shards for each K of LIST (e.g. 1,2): K shard servers and a
                        front candidate_server (default: none)
  --shard_deadline_ms=N the fronts' --shard_deadline_ms (default: ${SHARD_DEADLINE_MS})
  --bin_dir=DIR         use the binaries there (bazel-bin layout) instead of bazel build -c opt
  --out=DIR             logs, requests, JSON reports and the table (default: ${OUT_DIR})
  -h, --help            this message

Examples:
  benchmarks/serving_benchmark.sh                                   # the demo
  bazel-bin/benchmarks/make_synthetic_bundle --out=/tmp/heavy --videos=100000 \\
      --embedding_dim=256 --candidate_tower=1024,512,256 --ranking_tower=1024,512,256 \\
      --index=IVF1024,Flat
  benchmarks/serving_benchmark.sh --bundles=/tmp/heavy --synthetic --num_candidates=500 --levels=1,8
  benchmarks/serving_benchmark.sh --bundles=/tmp/heavy --synthetic --calls=generate,recommend \
      --shards=1,2 --open_loop_share=0                              # sharded retrieval
EOF
}

while (($#)); do
  case "$1" in
    --bundles=*) BUNDLES_DIR=${1#*=} ;;
    --logs=*) LOGS_DIR=${1#*=} ;;
    --synthetic) SYNTHETIC=1 ;;
    --levels=*) LEVELS=${1#*=} ;;
    --duration_s=*) DURATION_S=${1#*=} ;;
    --warmup_s=*) WARMUP_S=${1#*=} ;;
    --num_candidates=*) NUM_CANDIDATES=${1#*=} ;;
    --num_results=*) NUM_RESULTS=${1#*=} ;;
    --nprobe=*) NPROBE=${1#*=} ;;
    --calls=*) CALLS=${1#*=} ;;
    --open_loop_share=*) OPEN_LOOP_SHARE=${1#*=} ;;
    --shards=*) SHARDS=${1#*=} ;;
    --shard_deadline_ms=*) SHARD_DEADLINE_MS=${1#*=} ;;
    --bin_dir=*) BIN_DIR=${1#*=} ;;
    --out=*) OUT_DIR=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
for n in "$DURATION_S" "$NUM_CANDIDATES" "$NUM_RESULTS" "$SHARD_DEADLINE_MS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--duration_s, --num_candidates, --num_results and --shard_deadline_ms take positive whole numbers (got '$n')"
done
[[ "$NPROBE" =~ ^[0-9]+$ ]] || die "--nprobe takes a whole number, 0 for the bundle's own (got '$NPROBE')"
[[ -z "$SHARDS" || "$SHARDS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  die "--shards takes positive numbers of shards separated by commas"
[[ -z "$SHARDS" || ",$CALLS," == *,generate,* || ",$CALLS," == *,recommend,* ]] ||
  die "--shards needs generate or recommend in --calls"
IFS=',' read -r -a shard_counts <<<"$SHARDS"
[[ "$WARMUP_S" =~ ^[0-9]+$ ]] || die "--warmup_s takes whole seconds"
[[ "$OPEN_LOOP_SHARE" =~ ^(0|0?\.[0-9]+|1(\.0*)?)$ ]] || die "--open_loop_share takes a number in [0, 1]"
[[ "$LEVELS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--levels takes positive numbers separated by commas"
[[ "$CALLS" =~ ^(echo_recommend|echo_rank|rank|generate|recommend)(,(echo_recommend|echo_rank|rank|generate|recommend))*$ ]] ||
  die "--calls takes names of ${CALLS}, separated by commas"

build_opt_binaries //candidate_service:candidate_server //ranking_service:ranking_server \
  //clients:recsys_load //benchmarks:echo_server //benchmarks:serving_bound
for binary in candidate_service/candidate_server ranking_service/ranking_server clients/recsys_load \
  benchmarks/echo_server benchmarks/serving_bound; do
  [[ -x "$BIN_DIR/$binary" ]] || die "$BIN_DIR/$binary is missing"
done
if ((SYNTHETIC)); then
  [[ -n "$(find "$BUNDLES_DIR" -maxdepth 2 -name manifest.pb 2>/dev/null | head -n 1)" ]] ||
    die "no bundle in $BUNDLES_DIR (make one with benchmarks/make_synthetic_bundle)"
else
  ensure_world_and_bundles "$LOGS_DIR" "$BUNDLES_DIR"
fi

mkdir -p "$OUT_DIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/serving_benchmark.XXXXXX")
cleanup() {
  stop_servers
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The parts, on one thread, before any server runs; and the requests.
echo "Measuring the parts (benchmarks/serving_bound) ..."
logs_flag=()
((SYNTHETIC)) || logs_flag=(--logs="$LOGS_DIR")
"$BIN_DIR/benchmarks/serving_bound" --bundles="$BUNDLES_DIR" "${logs_flag[@]}" \
  --num_candidates="$NUM_CANDIDATES" --num_results="$NUM_RESULTS" --nprobe="$NPROBE" \
  --out_dir="$OUT_DIR" >"$OUT_DIR/bound.txt" 2>"$OUT_DIR/serving_bound.log" ||
  die "serving_bound failed: $(tail -n 5 "$OUT_DIR/serving_bound.log")"
part() {
  local v
  v=$(awk -v k="$1" '$1 == k { print $2 }' "$OUT_DIR/bound.txt")
  [[ -n "$v" ]] || die "serving_bound printed no $1 (see $OUT_DIR/bound.txt)"
  echo "$v"
}

start_server ranking_server "$BIN_DIR/ranking_service/ranking_server" --bundles="$BUNDLES_DIR"
RANKING_PID=$SERVER_PID
RANKING_ADDRESS="127.0.0.1:$SERVER_PORT"
start_server candidate_server "$BIN_DIR/candidate_service/candidate_server" \
  --bundles="$BUNDLES_DIR" --ranking_address="$RANKING_ADDRESS" \
  --num_candidates="$NUM_CANDIDATES" --nprobe="$NPROBE"
CANDIDATE_PID=$SERVER_PID
CANDIDATE_ADDRESS="127.0.0.1:$SERVER_PORT"
start_server echo_server "$BIN_DIR/benchmarks/echo_server"
ECHO_PID=$SERVER_PID
ECHO_ADDRESS="127.0.0.1:$SERVER_PORT"
# For each K of --shards: K shard servers and a front over them.
declare -A FRONT_ADDRESS=() FRONT_PIDS=()
for k in "${shard_counts[@]}"; do
  addresses="" pids_k=""
  for ((i = 0; i < k; ++i)); do
    start_server "shard_k${k}_$i" "$BIN_DIR/candidate_service/candidate_server" \
      --bundles="$BUNDLES_DIR" --nprobe="$NPROBE" --shard_index="$i" --num_shards="$k"
    addresses+="${addresses:+,}127.0.0.1:$SERVER_PORT"
    pids_k+=" $SERVER_PID"
  done
  start_server "front_k$k" "$BIN_DIR/candidate_service/candidate_server" \
    --bundles="$BUNDLES_DIR" --ranking_address="$RANKING_ADDRESS" \
    --num_candidates="$NUM_CANDIDATES" --nprobe="$NPROBE" \
    --ann_shards="$addresses" --shard_deadline_ms="$SHARD_DEADLINE_MS"
  FRONT_ADDRESS[$k]="127.0.0.1:$SERVER_PORT"
  FRONT_PIDS[$k]="$SERVER_PID$pids_k"
done

load() { "$BIN_DIR/clients/recsys_load" --quiet --deadline_ms=10000 "$@"; }

# Ranked answers first (the ranking channel connects on the first call),
# and the sizes the echo rows copy.
deadline=$((SECONDS + 60))
until load --address="$CANDIDATE_ADDRESS" --data_file="$OUT_DIR/recommend.json" \
  --concurrency=1 --total=20 >"$OUT_DIR/probe_recommend.txt" 2>&1 &&
  grep -q '^calls: 20, ok: 20, failed: 0$' "$OUT_DIR/probe_recommend.txt" &&
  grep -q '^degraded: 0 ' "$OUT_DIR/probe_recommend.txt"; do
  ((SECONDS < deadline)) || die "no ranked answers within 60 s: $(tail -n 5 "$OUT_DIR/probe_recommend.txt")"
  sleep 1
done
load --address="$RANKING_ADDRESS" --call=recsys.RankingService.Rank \
  --data_file="$OUT_DIR/rank.json" --concurrency=1 --total=20 >"$OUT_DIR/probe_rank.txt" 2>&1 ||
  die "Rank failed: $(tail -n 5 "$OUT_DIR/probe_rank.txt")"
request_bytes() { sed -n 's/.* distinct requests (.*, \([0-9]*\) bytes.*/\1/p' "$1"; }
answer_bytes() { sed -n 's/^answers: \([0-9]*\) bytes on average/\1/p' "$1"; }
RECOMMEND_REQ=$(request_bytes "$OUT_DIR/probe_recommend.txt")
RECOMMEND_ANS=$(answer_bytes "$OUT_DIR/probe_recommend.txt")
RANK_REQ=$(request_bytes "$OUT_DIR/probe_rank.txt")
RANK_ANS=$(answer_bytes "$OUT_DIR/probe_rank.txt")
[[ -n "$RECOMMEND_REQ" && -n "$RECOMMEND_ANS" && -n "$RANK_REQ" && -n "$RANK_ANS" ]] ||
  die "cannot read the request and answer sizes from $OUT_DIR/probe_*.txt"

# call_args NAME: recsys_load's target and request flags for a row
# (generate_kK and recommend_kK: the front over K shards).
call_args() {
  case "$1" in
    generate_k*) echo "--address=${FRONT_ADDRESS[${1#generate_k}]} --call=recsys.CandidateService.GenerateCandidates --data_file=$OUT_DIR/generate.json" ;;
    recommend_k*) echo "--address=${FRONT_ADDRESS[${1#recommend_k}]} --data_file=$OUT_DIR/recommend.json" ;;
    echo_recommend) echo "--address=$ECHO_ADDRESS --call=recsys.bench.Echo.Echo --payload_bytes=$RECOMMEND_REQ --response_bytes=$RECOMMEND_ANS" ;;
    echo_rank) echo "--address=$ECHO_ADDRESS --call=recsys.bench.Echo.Echo --payload_bytes=$RANK_REQ --response_bytes=$RANK_ANS --transport=grpc" ;;
    rank) echo "--address=$RANKING_ADDRESS --call=recsys.RankingService.Rank --data_file=$OUT_DIR/rank.json" ;;
    generate) echo "--address=$CANDIDATE_ADDRESS --call=recsys.CandidateService.GenerateCandidates --data_file=$OUT_DIR/generate.json" ;;
    recommend) echo "--address=$CANDIDATE_ADDRESS --data_file=$OUT_DIR/recommend.json" ;;
  esac
}
# server_pids NAME: the servers whose CPU a row's calls use.
server_pids() {
  case "$1" in
    generate_k*) echo "${FRONT_PIDS[${1#generate_k}]}" ;;
    recommend_k*) echo "${FRONT_PIDS[${1#recommend_k}]} $RANKING_PID" ;;
    echo_*) echo "$ECHO_PID" ;;
    rank) echo "$RANKING_PID" ;;
    generate) echo "$CANDIDATE_PID" ;;
    recommend) echo "$CANDIDATE_PID $RANKING_PID" ;;
  esac
}
label() {
  case "$1" in
    generate_k*) echo "GenerateCandidates, ${1#generate_k} shards" ;;
    recommend_k*) echo "**Recommend, ${1#recommend_k} shards**" ;;
    echo_recommend) echo "echo (Recommend sizes, ${RECOMMEND_REQ} B / ${RECOMMEND_ANS} B)" ;;
    echo_rank) echo "echo (Rank sizes, ${RANK_REQ} B / ${RANK_ANS} B, gRPC client)" ;;
    rank) echo "Rank (${NUM_CANDIDATES} candidates)" ;;
    generate) echo "GenerateCandidates" ;;
    recommend) echo "**Recommend**" ;;
  esac
}
ticks_of() {
  local sum=0 pid
  for pid in "$@"; do sum=$((sum + $(cpu_ticks "$pid"))); done
  echo "$sum"
}

# measure CALL KEY LEVEL_TEXT LOAD_FLAGS...: one run of recsys_load with the
# row's ARGS (call_args) and PIDS (server_pids) set by the caller and
# START_S its start-up CPU; a table row, and QPS/SERVER_US/CLIENT_US/
# CLIENT_CORES under "CALL|KEY".
measure() {
  local call=$1 key=$2 level=$3
  shift 3
  local log="$OUT_DIR/${call}_${key}.txt" s0 s1 user sys n failed qps degraded p50 p99 p999
  s0=$(ticks_of "${pids[@]}")
  TIMEFORMAT='%U %S'
  { time load "${args[@]}" "$@" --duration_s="$DURATION_S" \
    --output_json="$OUT_DIR/${call}_${key}.json" >"$log" 2>&1; } 2>"$SCRATCH/cpu" ||
    die "recsys_load failed: $(tail -n 5 "$log")"
  s1=$(ticks_of "${pids[@]}")
  read -r user sys <"$SCRATCH/cpu"
  read -r n failed < <(sed -n 's/^calls: \([0-9]*\), ok: [0-9]*, failed: \([0-9]*\)$/\1 \2/p' "$log")
  qps=$(sed -n 's/^qps: \([0-9.]*\) calls completed.*/\1/p' "$log")
  degraded=$(sed -n 's/^degraded: \([0-9]*\) .*/\1/p' "$log")
  read -r p50 p99 p999 < <(sed -n \
    's/^latency: p50 \([0-9.]*\)ms, p90 [0-9.]*ms, p95 [0-9.]*ms, p99 \([0-9.]*\)ms, p99.9 \([0-9.]*\)ms,.*/\1 \2 \3/p' "$log")
  [[ -n "$n" && -n "$qps" && -n "$p999" && -n "$degraded" ]] || die "cannot read $log"
  ((n > 0)) || die "$call ($level) completed no call ($log)"
  local server_us client_s client_us
  server_us=$(awk -v t=$((s1 - s0)) -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
  client_s=$(awk -v u="$user" -v s="$sys" -v z="$START_S" 'BEGIN { c = u + s - z; print (c > 0 ? c : 0) }')
  client_us=$(awk -v c="$client_s" -v n="$n" 'BEGIN { printf "%.0f", c * 1e6 / n }')
  QPS["$call|$key"]=$qps
  SERVER_US["$call|$key"]=$server_us
  CLIENT_US["$call|$key"]=$client_us
  CLIENT_CORES["$call|$key"]=$(awk -v c="$client_s" -v d="$DURATION_S" 'BEGIN { printf "%.3f", c / d }')
  printf '| %s | %s | %.0f | %s | %s | %s | %d | %d | %s | %s |\n' "$(label "$call")" "$level" "$qps" \
    "$p50" "$p99" "$p999" "$failed" "$degraded" "$server_us" "$client_us" >>"$table"
  printf '  %-20s %18s: %8.0f QPS, p99 %s ms, %d errors, %d degraded\n' "$call" "$level" "$qps" \
    "$p99" "$failed" "$degraded"
  local pid
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "a server died during $call (logs in $OUT_DIR)"; done
}

table="$OUT_DIR/table.md"
echo "| call | in flight | QPS | p50 ms | p99 ms | p99.9 ms | errors | degraded | server CPU us/call | client CPU us/call |" >"$table"
echo "|---|---|---|---|---|---|---|---|---|---|" >>"$table"
declare -A QPS=() SERVER_US=() CLIENT_US=() CLIENT_CORES=() STARTS=()
IFS=',' read -r -a levels <<<"$LEVELS"
IFS=',' read -r -a calls <<<"$CALLS"
# Each sharded row after its unsharded one.
rows=()
for call in "${calls[@]}"; do
  rows+=("$call")
  if [[ "$call" == generate || "$call" == recommend ]]; then
    for k in "${shard_counts[@]}"; do rows+=("${call}_k$k"); done
  fi
done
calls=("${rows[@]}")
for call in "${calls[@]}"; do
  read -r -a args <<<"$(call_args "$call")"
  read -r -a pids <<<"$(server_pids "$call")"
  if ((WARMUP_S > 0)); then
    load "${args[@]}" --concurrency=8 --duration_s="$WARMUP_S" >"$OUT_DIR/${call}_warmup.txt" 2>&1 ||
      die "$call warm-up failed: $(tail -n 5 "$OUT_DIR/${call}_warmup.txt")"
  fi
  # recsys_load's own start (reading and converting the data file) is not
  # a call's client CPU: one single-call run measures it, to subtract.
  TIMEFORMAT='%U %S'
  { time load "${args[@]}" --concurrency=1 --total=1 >"$OUT_DIR/${call}_start.txt" 2>&1; } 2>"$SCRATCH/cpu" ||
    die "$call failed: $(tail -n 5 "$OUT_DIR/${call}_start.txt")"
  START_S=$(awk '{ print $1 + $2 }' "$SCRATCH/cpu")
  STARTS[$call]=$START_S
  for c in "${levels[@]}"; do
    measure "$call" "$c" "$c" --concurrency="$c"
  done
done

# Recommend open loop at a share of its best closed-loop QPS: the latency a
# server sized with that headroom shows.
if [[ -n "${QPS["recommend|${levels[0]}"]:-}" ]] && awk -v s="$OPEN_LOOP_SHARE" 'BEGIN { exit !(s > 0) }'; then
  best=0
  for c in "${levels[@]}"; do
    best=$(awk -v a="$best" -v b="${QPS["recommend|$c"]}" 'BEGIN { print (b > a ? b : a) }')
  done
  rps=$(awk -v b="$best" -v s="$OPEN_LOOP_SHARE" 'BEGIN { r = int(b * s); print (r > 0 ? r : 1) }')
  read -r -a args <<<"$(call_args recommend)"
  read -r -a pids <<<"$(server_pids recommend)"
  START_S=${STARTS[recommend]}
  measure recommend open "open loop, ${rps}/s" --rps="$rps" --concurrency=0
fi

# Recommend's raw-parts bound at the highest level.
top=${levels[-1]}
bound="$OUT_DIR/bound.md"
{
  echo
  echo "Raw-parts bound of Recommend ($(part index), $(part videos) videos, $(part candidates) candidates, nprobe $(part nprobe); single-thread sgemm $(part sgemm_gflops) GFLOP/s in this run):"
  echo
  echo "| part | core-us per request | how |"
  echo "|---|---|---|"
  echo "| user tower | $(part bound_user_tower_us) | $(part user_tower_mflop) MFLOP at the sgemm rate (served: $(part served_user_tower_mean_us) us with features) |"
  echo "| ranking tower | $(part bound_ranking_us) | $(part ranking_tower_mflop) MFLOP at the sgemm rate (served: $(part served_ranking_mean_us) us = features $(part served_ranking_features_mean_us) + tower $(part served_ranking_tower_mean_us)) |"
  echo "| ANN search | $(part ann_mean_us) | the bundle's own index, k = $(part candidates), mean on one core (p50 $(part ann_p50_us), p99 $(part ann_p99_us)) |"
  if [[ -n "${SERVER_US["echo_recommend|$top"]:-}" && -n "${SERVER_US["echo_rank|$top"]:-}" ]]; then
    hop1=${SERVER_US["echo_recommend|$top"]}
    hop2=$((SERVER_US["echo_rank|$top"] + CLIENT_US["echo_rank|$top"]))
    echo "| outer hop | $hop1 | echo server CPU per call, Recommend sizes, $top in flight |"
    echo "| inner hop | $hop2 | echo server + gRPC client CPU per call, Rank sizes, $top in flight |"
    total=$(awk -v a="$(part bound_user_tower_us)" -v b="$(part bound_ranking_us)" -v c="$(part ann_mean_us)" \
      -v d="$hop1" -v e="$hop2" 'BEGIN { printf "%.0f", a + b + c + d + e }')
    echo "| **bound** | **$total** | |"
    if [[ -n "${QPS["recommend|$top"]:-}" ]]; then
      cores=$(awk -v n="$(nproc)" -v l="${CLIENT_CORES["recommend|$top"]}" 'BEGIN { printf "%.2f", n - l }')
      bound_qps=$(awk -v c="$cores" -v t="$total" 'BEGIN { printf "%.0f", c * 1e6 / t }')
      echo
      echo "Recommend at $top in flight: **$(printf '%.0f' "${QPS["recommend|$top"]}") QPS = $(awk -v q="${QPS["recommend|$top"]}" -v b="$bound_qps" 'BEGIN { printf "%.0f", 100 * q / b }')% of the bound's $bound_qps QPS** ($cores of $(nproc) cores left by recsys_load); the servers spent ${SERVER_US["recommend|$top"]} core-us per request against the bound's $total ($(awk -v s="${SERVER_US["recommend|$top"]}" -v t="$total" 'BEGIN { printf "%.0f", 100 * t / s }')%)."
    fi
  fi
} >"$bound"

echo
echo "Bundle $(awk '$1 == "bundle" { print $2 }' "$OUT_DIR/bound.txt"); $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'); closed loop, ${DURATION_S} s per row after ${WARMUP_S} s of warm-up; requests: $(sed -n 's/.* distinct requests (\(.*\)).*/\1/p' "$OUT_DIR/probe_recommend.txt") (also in $table, $bound):"
echo
cat "$table" "$bound"
