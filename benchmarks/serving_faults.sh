#!/usr/bin/env bash
# serving_faults.sh: how the two servers behave under faults, measured on this
# machine with the real binaries, and printed as a markdown table.
#
#   (a) candidate_server's memory (VmRSS, sampled each second) under h2load
#       -c 200 -m 20 for 15 s on Recommend while ranking_server is stopped
#       (SIGSTOP): answers pile up behind a ranking call that never returns
#       unless the deadline, the circuit breaker and the in-flight cap hold.
#   (b) CPU seconds (utime + stime, /proc/PID/stat) of each server per worst
#       legal request (clients:recsys_load --worst_request, 50 one at a time after 5 unmeasured).
#   (c) recovery from a ranking outage: 50 calls/s while ranking_server is
#       stopped for --outage_s, then the time from SIGCONT to the first
#       undegraded answer and to the last degraded one.
#   (d) hot reload under 200 calls/s for 25 s while 3 new versions and a
#       corrupt one are written into the bundles root: failures, degraded
#       answers and the delay of each switch.
#
# The servers run on a scratch copy of the newest version under --bundles
# (the given root is never written), on free local ports; they and every
# helper process are stopped when the script exits, however it exits.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"
# shellcheck source=benchmarks/lib.sh
source "$ROOT/benchmarks/lib.sh"

BUNDLES_DIR="bundles"
WORLD_DIR="data/world"
BIN_DIR="bazel-bin"
OUT_DIR="out/serving_faults"
PARTS="a,b,c,d"
BUILD=0
OUTAGE_S=75
RECOVERY_WINDOW_S=30
H2LOAD_S=15
H2LOAD_CLIENTS=200
H2LOAD_STREAMS=20
H2LOAD_ROUNDS=2
WORST_REQUESTS=50
# Sent first and not measured: the servers settle after (a) (ranking drains
# what queued while it was stopped) and the first calls allocate.
WORST_WARMUP=5
OUTAGE_RPS=50
RELOAD_RPS=200
RELOAD_S=25
POLL_INTERVAL_S=1
SERVER_START_TIMEOUT_S=60
# Bytes left in the corrupt version's weights.bin.
TRUNCATED_WEIGHTS_BYTES=100

usage() {
  cat <<EOF
Usage: benchmarks/serving_faults.sh [OPTIONS]

Measures the serving stack under faults and prints a markdown table:
  (a) candidate_server RSS under h2load -c ${H2LOAD_CLIENTS} -m ${H2LOAD_STREAMS} for ${H2LOAD_S} s with ranking_server
      stopped, ${H2LOAD_ROUNDS} rounds (a leak grows each round; a high-water mark does not)
  (b) CPU seconds of both servers per worst legal request (${WORST_REQUESTS}, one at a time)
  (c) time to undegraded answers after a ranking outage (${OUTAGE_RPS} calls/s)
  (d) hot reload under ${RELOAD_RPS} calls/s for ${RELOAD_S} s: 3 new versions and a corrupt one

Options:
  --bundles=DIR       bundles root whose newest version is served (default: ${BUNDLES_DIR},
                      from ./recsys demo); copied to a scratch root, never written
  --logs=DIR          world logs for the requests' user contexts (default: ${WORLD_DIR};
                      hand-built contexts when it does not exist)
  --bin_dir=DIR       where the built binaries are (default: ${BIN_DIR})
  --build             bazel build the three binaries first
  --out=DIR           logs, CSVs and the table (default: ${OUT_DIR})
  --parts=LIST        which parts, comma-separated (default: ${PARTS})
  --outage_s=N        (c) ranking outage, seconds (default: ${OUTAGE_S})
  --recovery_window_s=N
                      (c) load kept after the outage, seconds (default: ${RECOVERY_WINDOW_S})
  -h, --help          this message

Needs h2load (Debian's nghttp2-client) for (a); installs it with apt-get when
missing. Binaries: bazel build //candidate_service:candidate_server
//ranking_service:ranking_server //clients:recsys_load
EOF
}

while (($#)); do
  case "$1" in
    --bundles=*) BUNDLES_DIR=${1#*=} ;;
    --logs=*) WORLD_DIR=${1#*=} ;;
    --bin_dir=*) BIN_DIR=${1#*=} ;;
    --build) BUILD=1 ;;
    --out=*) OUT_DIR=${1#*=} ;;
    --parts=*) PARTS=${1#*=} ;;
    --outage_s=*) OUTAGE_S=${1#*=} ;;
    --recovery_window_s=*) RECOVERY_WINDOW_S=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
[[ "$OUTAGE_S" =~ ^[0-9]+$ && "$RECOVERY_WINDOW_S" =~ ^[0-9]+$ ]] ||
  die "--outage_s and --recovery_window_s must be whole seconds"
part_on() { [[ ",$PARTS," == *",$1,"* ]]; }

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------------------
# Processes: everything started here is stopped on exit.

SERVER_PIDS=()
HELPER_PIDS=()
SCRATCH=""

cleanup() {
  local pid alive
  for pid in "${HELPER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${SERVER_PIDS[@]}"; do
    # A stopped process does not act on SIGTERM until continued.
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 100); do
    alive=0
    for pid in "${SERVER_PIDS[@]}" "${HELPER_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive == 0)) && break
    sleep 0.1
  done
  for pid in "${SERVER_PIDS[@]}" "${HELPER_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$SCRATCH" ]]; then rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server (benchmarks/lib.sh) sets SERVER_PID and SERVER_PORT.

RANKING_PID="" CANDIDATE_PID="" CANDIDATE_ADDRESS=""
start_servers() {
  start_server ranking_server "$BIN_DIR/ranking_service/ranking_server" \
    --bundles="$SCRATCH/bundles" --poll_interval_s="$POLL_INTERVAL_S"
  RANKING_PID=$SERVER_PID
  local ranking_port=$SERVER_PORT
  start_server candidate_server "$BIN_DIR/candidate_service/candidate_server" \
    --bundles="$SCRATCH/bundles" --poll_interval_s="$POLL_INTERVAL_S" \
    --ranking_address="127.0.0.1:$ranking_port"
  CANDIDATE_PID=$SERVER_PID
  CANDIDATE_ADDRESS="127.0.0.1:$SERVER_PORT"
}

require_alive() {
  kill -0 "$RANKING_PID" 2>/dev/null || die "ranking_server died (log: $OUT_DIR/ranking_server.log)"
  kill -0 "$CANDIDATE_PID" 2>/dev/null || die "candidate_server died (log: $OUT_DIR/candidate_server.log)"
}

# ---------------------------------------------------------------------------
# Measurements.

LOAD_ARGS=()
if [[ -d "$WORLD_DIR" ]]; then LOAD_ARGS=(--logs="$WORLD_DIR"); fi

# recsys_load ARGS...: the load generator on the candidate server.
recsys_load() {
  "$BIN_DIR/clients/recsys_load" --address="$CANDIDATE_ADDRESS" "$@"
}

# Waits (up to 180 s) until a Recommend answer is ranked, not degraded.
wait_undegraded() {
  local csv="$SCRATCH/probe.csv" deadline=$((SECONDS + 180))
  while ((SECONDS < deadline)); do
    recsys_load --rps=5 --duration_s=1 --quiet --calls_csv="$csv" >/dev/null 2>&1 || true
    if awk -F, 'NR > 1 && $5 == 0 && $8 == 0 { found = 1 } END { exit !found }' "$csv" 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  die "no undegraded answer within 180 s"
}

# publish ROOT NAME [corrupt]: copies the served version to ROOT/.tmp-NAME,
# truncates its weights.bin when asked, then renames it to ROOT/NAME (one
# rename(2), as the trainer publishes). Prints the rename time, Unix ms.
publish() {
  local root=$1 name=$2 corrupt=${3:-}
  cp -r "$root/$SOURCE_VERSION" "$root/.tmp-$name"
  if [[ -n "$corrupt" ]]; then
    truncate -s "$TRUNCATED_WEIGHTS_BYTES" "$root/.tmp-$name/weights.bin"
  fi
  mv -T "$root/.tmp-$name" "$root/$name"
  now_ms
}

TABLE=()
row() { TABLE+=("| $1 | $2 | $3 |"); }

# ---------------------------------------------------------------------------
# Set-up.

for binary in candidate_service/candidate_server ranking_service/ranking_server clients/recsys_load; do
  if [[ ! -x "$BIN_DIR/$binary" ]]; then
    if ((BUILD)); then
      bazel build //candidate_service:candidate_server //ranking_service:ranking_server //clients:recsys_load
      break
    fi
    die "$BIN_DIR/$binary is missing: bazel build //candidate_service:candidate_server //ranking_service:ranking_server //clients:recsys_load (or pass --build)"
  fi
done
if ((BUILD)); then
  bazel build //candidate_service:candidate_server //ranking_service:ranking_server //clients:recsys_load
fi

if part_on a && ! command -v h2load >/dev/null 2>&1; then
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "h2load is missing and there is no sudo to install nghttp2-client"
    sudo=(sudo)
  fi
  echo "Installing nghttp2-client (h2load)"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client
fi

[[ -d "$BUNDLES_DIR" ]] || die "no bundles root $BUNDLES_DIR (run ./recsys demo --exit, or pass --bundles)"
# The newest version with a manifest, as the servers pick it.
SOURCE_VERSION=$(find "$BUNDLES_DIR" -mindepth 2 -maxdepth 2 -name manifest.pb -printf '%h\n' |
  xargs -r -n 1 basename | grep -v '^\.' | sort | tail -n 1)
[[ -n "$SOURCE_VERSION" ]] || die "no bundle version under $BUNDLES_DIR"

mkdir -p "$OUT_DIR"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/serving_faults.XXXXXX")
mkdir -p "$SCRATCH/bundles"
cp -r "$BUNDLES_DIR/$SOURCE_VERSION" "$SCRATCH/bundles/$SOURCE_VERSION"
echo "Serving a copy of $BUNDLES_DIR/$SOURCE_VERSION from $SCRATCH/bundles; output in $OUT_DIR/"
start_servers
wait_undegraded

# ---------------------------------------------------------------------------
# (a) candidate RSS under h2load, ranking stopped.

if part_on a; then
  echo
  echo "==> (a) candidate_server RSS under h2load -c $H2LOAD_CLIENTS -m $H2LOAD_STREAMS for $H2LOAD_S s, ranking_server stopped ($H2LOAD_ROUNDS rounds)"
  body="$SCRATCH/request.bin"
  "$BIN_DIR/clients/recsys_load" "${LOAD_ARGS[@]}" --write_request_body="$body"
  rss_start=$(rss_kib "$CANDIDATE_PID")
  rss_log="$OUT_DIR/a_candidate_rss.txt"
  : >"$rss_log"
  (while kill -0 "$CANDIDATE_PID" 2>/dev/null; do
    echo "$(now_ms) $(rss_kib "$CANDIDATE_PID")"
    sleep 1
  done) >>"$rss_log" &
  sampler=$!
  HELPER_PIDS+=("$sampler")
  for round in $(seq "$H2LOAD_ROUNDS"); do
    rss_before=$(rss_kib "$CANDIDATE_PID")
    round_start_ms=$(now_ms)
    kill -STOP "$RANKING_PID"
    # What a well-behaved client sees meanwhile (h2load sees HTTP statuses
    # only: a gRPC error is an HTTP 200 with grpc-status in the trailers).
    probe_csv="$OUT_DIR/a_probe_$round.csv"
    recsys_load "${LOAD_ARGS[@]}" --rps=20 --duration_s=$((H2LOAD_S - 2)) --quiet \
      --calls_csv="$probe_csv" >"$OUT_DIR/a_probe_$round.txt" 2>&1 &
    probe=$!
    HELPER_PIDS+=("$probe")
    h2load_out="$OUT_DIR/a_h2load_$round.txt"
    h2load -c "$H2LOAD_CLIENTS" -m "$H2LOAD_STREAMS" -D "$H2LOAD_S" -d "$body" \
      -H 'content-type: application/grpc' -H 'te: trailers' \
      "http://$CANDIDATE_ADDRESS/recsys.CandidateService/Recommend" >"$h2load_out" 2>&1 || true
    wait "$probe" || true
    kill -CONT "$RANKING_PID"
    sleep 5
    require_alive
    rss_peak=$(awk -v t="$round_start_ms" '$1 >= t && $2 > max { max = $2 } END { print max + 0 }' "$rss_log")
    rss_after=$(rss_kib "$CANDIDATE_PID")
    echo "  round $round:"
    grep -E '^(finished in|requests:)' "$h2load_out" | sed 's/^/    h2load: /' || tail -n 5 "$h2load_out"
    h2load_requests=$(sed -n 's/^requests: \([0-9]*\) total.* \([0-9]*\) succeeded.*/\1 sent, \2 HTTP 2xx/p' "$h2load_out")
    h2load_rate=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$h2load_out")
    probe_codes=$(awk -F, '
      NR == 1 { next }
      { n[$5 == 0 ? ($8 == 1 ? "OK degraded " $9 : "OK ranked") : "code " $5]++ }
      END { s = ""; for (k in n) s = s (s == "" ? "" : ", ") k ": " n[k]; print s }' "$probe_csv")
    echo "    probe at 20 calls/s meanwhile: $probe_codes"
    printf '    candidate VmRSS: %d MiB before, %d MiB peak, %d MiB 5 s after\n' \
      $((rss_before / 1024)) $((rss_peak / 1024)) $((rss_after / 1024))
    row "(a)" "round $round: candidate VmRSS before / peak / 5 s after; ranking stopped, h2load -c $H2LOAD_CLIENTS -m $H2LOAD_STREAMS ${H2LOAD_S} s" \
      "$((rss_before / 1024)) / $((rss_peak / 1024)) / $((rss_after / 1024)) MiB"
    row "(a)" "round $round: h2load requests (HTTP status only) ; a 20 calls/s probe's answers" \
      "${h2load_requests:-?}, ${h2load_rate:-?} req/s; ${probe_codes:-?}"
    wait_undegraded
  done
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  echo "    (RSS samples, Unix ms and KiB: $rss_log; start of (a): $((rss_start / 1024)) MiB)"
fi

# ---------------------------------------------------------------------------
# (b) CPU per worst legal request.

if part_on b; then
  echo
  echo "==> (b) CPU seconds per worst legal request ($WORST_REQUESTS, one at a time)"
  require_alive
  sleep 2
  recsys_load --worst_request --count="$WORST_WARMUP" --sequential --duration_s=0 \
    --deadline_ms=30000 --quiet >/dev/null
  c0=$(cpu_ticks "$CANDIDATE_PID")
  r0=$(cpu_ticks "$RANKING_PID")
  t0=$(now_ms)
  recsys_load --worst_request --count="$WORST_REQUESTS" --sequential --duration_s=0 \
    --deadline_ms=30000 --quiet --calls_csv="$OUT_DIR/b_worst.csv" | tee "$OUT_DIR/b_worst.txt" |
    sed -n 's/^\(Recommend on\|calls:\|latency:\|degraded:\)/    &/p'
  t1=$(now_ms)
  c1=$(cpu_ticks "$CANDIDATE_PID")
  r1=$(cpu_ticks "$RANKING_PID")
  worst_failed=$(awk -F, 'NR > 1 && $5 != 0 { n++ } END { print n + 0 }' "$OUT_DIR/b_worst.csv")
  worst_degraded=$(awk -F, 'NR > 1 && $8 == 1 { n++ } END { print n + 0 }' "$OUT_DIR/b_worst.csv")
  worst_bytes=$(sed -n 's/.*the worst legal request, \([0-9]*\) bytes.*/\1/p' "$OUT_DIR/b_worst.txt")
  per_request() { awk -v d="$1" -v n="$WORST_REQUESTS" -v hz="$CLK_TCK" 'BEGIN { printf "%.4f", d / hz / n }'; }
  cand_cpu=$(per_request $((c1 - c0)))
  rank_cpu=$(per_request $((r1 - r0)))
  wall=$(awk -v d=$((t1 - t0)) -v n="$WORST_REQUESTS" 'BEGIN { printf "%.4f", d / 1000 / n }')
  echo "    CPU per request: candidate ${cand_cpu} s, ranking ${rank_cpu} s (wall ${wall} s per request, $worst_failed failed, $worst_degraded degraded)"
  row "(b)" "worst legal request (${worst_bytes:-?} bytes): CPU s per request, candidate_server" "$cand_cpu s"
  row "(b)" "worst legal request: CPU s per request, ranking_server" "$rank_cpu s"
  row "(b)" "worst legal request: wall s per request; failed / degraded of $WORST_REQUESTS" "$wall s; $worst_failed / $worst_degraded"
fi

# ---------------------------------------------------------------------------
# (c) recovery after a ranking outage.

if part_on c; then
  echo
  echo "==> (c) ranking outage of $OUTAGE_S s under $OUTAGE_RPS calls/s"
  require_alive
  csv="$OUT_DIR/c_outage.csv"
  lead_s=5
  recsys_load "${LOAD_ARGS[@]}" --rps="$OUTAGE_RPS" \
    --duration_s=$((lead_s + OUTAGE_S + RECOVERY_WINDOW_S)) --calls_csv="$csv" \
    >"$OUT_DIR/c_outage.txt" 2>&1 &
  load_pid=$!
  HELPER_PIDS+=("$load_pid")
  until grep -q '^Recommend on' "$OUT_DIR/c_outage.txt" 2>/dev/null; do
    kill -0 "$load_pid" 2>/dev/null || die "recsys_load exited early: $(tail -n 3 "$OUT_DIR/c_outage.txt")"
    sleep 0.1
  done
  sleep "$lead_s"
  stop_ms=$(now_ms)
  kill -STOP "$RANKING_PID"
  sleep "$OUTAGE_S"
  kill -CONT "$RANKING_PID"
  cont_ms=$(now_ms)
  wait "$load_pid" || true
  read -r first_ok last_degraded outage_failed outage_degraded causes < <(
    awk -F, -v cont="$cont_ms" '
      NR == 1 { next }
      $5 != 0 { failed++ }
      $8 == 1 { degraded++; cause[$9]++ }
      $3 >= cont && $5 == 0 && $8 == 0 && (first == "" || $3 < first) { first = $3 }
      $3 >= cont && $8 == 1 && $3 > last { last = $3 }
      END {
        c = ""
        for (k in cause) c = c (c == "" ? "" : ",") k ":" cause[k]
        printf "%s %s %d %d %s\n", (first == "" ? "-" : first - cont),
          (last == "" ? "-" : last - cont), failed, degraded, (c == "" ? "-" : c)
      }' "$csv")
  fmt_s() {
    if [[ "$1" == "-" ]]; then
      echo "none within ${RECOVERY_WINDOW_S} s"
    else
      awk -v ms="$1" 'BEGIN { printf "%.2f s", ms / 1000 }'
    fi
  }
  echo "    ranking_server stopped for $(awk -v ms=$((cont_ms - stop_ms)) 'BEGIN { printf "%.1f", ms / 1000 }') s; after SIGCONT:"
  echo "    first undegraded answer after $(fmt_s "$first_ok"), last degraded answer after $(fmt_s "$last_degraded")"
  echo "    failed calls: $outage_failed; degraded answers: $outage_degraded ($causes)"
  row "(c)" "after a ${OUTAGE_S} s ranking outage: SIGCONT to first undegraded answer" "$(fmt_s "$first_ok")"
  row "(c)" "SIGCONT to last degraded answer" "$(fmt_s "$last_degraded")"
  row "(c)" "calls failed; degraded answers by cause (whole run, $OUTAGE_RPS calls/s)" "$outage_failed; $outage_degraded ($causes)"
fi

# ---------------------------------------------------------------------------
# (d) hot reload under load.

if part_on d; then
  echo
  echo "==> (d) hot reload under $RELOAD_RPS calls/s for $RELOAD_S s"
  require_alive
  wait_undegraded
  csv="$OUT_DIR/d_reload.csv"
  recsys_load "${LOAD_ARGS[@]}" --rps="$RELOAD_RPS" --duration_s="$RELOAD_S" --calls_csv="$csv" \
    >"$OUT_DIR/d_reload.txt" 2>&1 &
  load_pid=$!
  HELPER_PIDS+=("$load_pid")
  until grep -q '^Recommend on' "$OUT_DIR/d_reload.txt" 2>/dev/null; do
    kill -0 "$load_pid" 2>/dev/null || die "recsys_load exited early: $(tail -n 3 "$OUT_DIR/d_reload.txt")"
    sleep 0.1
  done
  start_ms=$(now_ms)
  # name, seconds into the load, corrupt?
  schedule=("29990101-000001 3 -" "29990101-000002 8 corrupt" "29990101-000003 11 -" "29990101-000004 17 -")
  declare -A renamed_ms=()
  corrupt_name=""
  for entry in "${schedule[@]}"; do
    read -r name at corrupt <<<"$entry"
    wait_ms=$((start_ms + at * 1000 - $(now_ms)))
    ((wait_ms > 0)) && sleep "$(awk -v ms="$wait_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    if [[ "$corrupt" == corrupt ]]; then
      renamed_ms[$name]=$(publish "$SCRATCH/bundles" "$name" corrupt)
      corrupt_name=$name
    else
      renamed_ms[$name]=$(publish "$SCRATCH/bundles" "$name")
    fi
    label=""
    [[ "$corrupt" == corrupt ]] && label=" (corrupt: weights.bin truncated)"
    echo "    published $name$label at +$(awk -v ms=$((renamed_ms[$name] - start_ms)) 'BEGIN { printf "%.2f", ms / 1000 }') s"
  done
  wait "$load_pid" || true
  grep -E '^(summary:|calls:|degraded:|latency:)' "$OUT_DIR/d_reload.txt" | sed 's/^/    /'
  read -r calls failed degraded mismatches corrupt_served < <(
    awk -F, -v bad="$corrupt_name" '
      NR == 1 { next }
      { calls++ }
      $5 != 0 { failed++ }
      $8 == 1 { degraded++ }
      $10 == 1 { mismatches++ }
      $6 == bad || $7 == bad { corrupt++ }
      END { printf "%d %d %d %d %d\n", calls, failed, degraded, mismatches, corrupt }' "$csv")
  row "(d)" "reload under $RELOAD_RPS calls/s: calls, failed, degraded, version mismatches" \
    "$calls, $failed, $degraded, $mismatches"
  delays=()
  for entry in "${schedule[@]}"; do
    read -r name _ corrupt <<<"$entry"
    [[ "$corrupt" == corrupt ]] && continue
    read -r first_model first_ranking < <(
      awk -F, -v v="$name" -v r="${renamed_ms[$name]}" '
        NR == 1 || $5 != 0 { next }
        $6 == v && (m == "" || $3 < m) { m = $3 }
        $7 == v && (k == "" || $3 < k) { k = $3 }
        END {
          printf "%s %s\n", (m == "" ? "never" : sprintf("%.2f", (m - r) / 1000)),
            (k == "" ? "never" : sprintf("%.2f", (k - r) / 1000))
        }' "$csv")
    echo "    switch to $name: first answer ${first_model} s after the rename, first ranked by it ${first_ranking} s after"
    delays+=("$name: ${first_model} / ${first_ranking} s")
  done
  rejected_c=$(grep -c "rejected bundle version $corrupt_name" "$OUT_DIR/candidate_server.log" || true)
  rejected_r=$(grep -c "rejected bundle version $corrupt_name" "$OUT_DIR/ranking_server.log" || true)
  joined=$(printf '%s; ' "${delays[@]}")
  row "(d)" "switch delay after the rename (candidate / ranking model), poll ${POLL_INTERVAL_S} s" "${joined%; }"
  row "(d)" "corrupt $corrupt_name: answers served by it; 'rejected' log lines candidate / ranking" \
    "$corrupt_served; $rejected_c / $rejected_r"
fi

# ---------------------------------------------------------------------------

require_alive
row "end" "candidate_server / ranking_server VmRSS at the end" \
  "$(($(rss_kib "$CANDIDATE_PID") / 1024)) / $(($(rss_kib "$RANKING_PID") / 1024)) MiB"
table="$OUT_DIR/table.md"
{
  echo "| part | measure | value |"
  echo "|---|---|---|"
  printf '%s\n' "${TABLE[@]}"
} >"$table"
echo
echo "Bundle $SOURCE_VERSION of $BUNDLES_DIR, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC') (also in $table):"
echo
cat "$table"
