# Shared by the benchmark scripts (sourced, not run): errors, servers on
# free local ports, and the CPU time of a process.
#
# The sourcing script sets OUT_DIR (server logs go there), SCRATCH (port
# files) and SERVER_START_TIMEOUT_S before it starts a server, and stops
# the servers in SERVER_PIDS on exit (stop_servers).

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

SERVER_PIDS=()
SERVER_PID=""
SERVER_PORT=""

# start_server NAME BINARY ARGS...: starts a server on a free local port with
# its log in OUT_DIR/NAME.log; sets SERVER_PID and SERVER_PORT once it
# listens (its port file is written when it serves a model).
start_server() {
  local name=$1 binary=$2
  shift 2
  local port_file="$SCRATCH/$name.port" log="$OUT_DIR/$name.log"
  rm -f "$port_file"
  "$binary" --address=127.0.0.1:0 --port_file="$port_file" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  local deadline=$((SECONDS + SERVER_START_TIMEOUT_S))
  while [[ ! -s "$port_file" ]]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 20 "$log" >&2
      die "$name exited before listening (log: $log)"
    fi
    ((SECONDS < deadline)) || die "$name did not listen within ${SERVER_START_TIMEOUT_S} s (log: $log)"
    sleep 0.2
  done
  SERVER_PORT=$(tr -d '[:space:]' <"$port_file")
  echo "$name: pid $SERVER_PID, port $SERVER_PORT, log $log"
}

# Stops every server started with start_server (TERM, then waits).
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVER_PIDS=()
}

CLK_TCK=$(getconf CLK_TCK)

# utime + stime of PID, clock ticks (fields 14 and 15 of /proc/PID/stat,
# counted after the parenthesised command name, which may hold spaces).
cpu_ticks() {
  local stat
  stat=$(<"/proc/$1/stat")
  stat=${stat##*) }
  local -a fields
  read -r -a fields <<<"$stat"
  echo $((fields[11] + fields[12]))
}

# Resident memory of PID, KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# BIN_DIR for the binaries: bazel build -c opt of the given targets (without
# moving the bazel-bin symlink) when BIN_DIR is empty.
build_opt_binaries() {
  if [[ -z "$BIN_DIR" ]]; then
    bazel build -c opt --symlink_prefix=/ "$@"
    BIN_DIR=$(bazel info -c opt bazel-bin 2>/dev/null)
  fi
}

# ensure_world_and_bundles WORLD_DIR BUNDLES_DIR: the demo's world and
# models, as the README builds them, when they are missing.
ensure_world_and_bundles() {
  local world=$1 bundles=$2
  if [[ ! -f "$world/watches.csv" ]]; then
    echo "No world in $world: generating it (simulator/world_gen --preset=small --seed=42)"
    bazel build -c opt --symlink_prefix=/ //simulator:world_gen
    "$(bazel info -c opt bazel-bin 2>/dev/null)/simulator/world_gen" --out="$world" --preset=small --seed=42
  fi
  if [[ -z "$(find "$bundles" -mindepth 2 -maxdepth 2 -name manifest.pb 2>/dev/null | head -n 1)" ]]; then
    echo "No bundle in $bundles: training one (a few minutes)"
    bazel build -c opt --symlink_prefix=/ //trainer:trainer
    "$(bazel info -c opt bazel-bin 2>/dev/null)/trainer/trainer" --logs="$world" --bundles="$bundles"
  fi
}
