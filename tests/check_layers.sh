#!/usr/bin/env bash
# check_layers.sh: the layering rules of docs/architecture.md, checked with
# Bazel itself. `./recsys test` runs it (after `bazel test`) and counts it as
# one test case; run it alone from anywhere in the workspace.
#
#   (a) The services are leaves: nothing outside //candidate_service/...
#       depends on it, nor on //ranking_service/..., except //tests and
#       //deploy (the image's library check), which take the server
#       binaries as data and link none of their code.
#   (b) Serving code (//common/...) depends on nothing in //trainer/...,
#       //simulator/... or //evaluation/....
#   (c) Visibility makes a violation a build error: a throwaway package
#       inside the workspace whose libraries depend on the simulator and on
#       each service's implementation must fail analysis with a visibility
#       error for each of them, while a control library in the same package
#       (depending on serving code) analyses cleanly. The package is removed
#       on exit, whatever happens.
#
# Prints one line per check and exits 0 when all hold; non-zero, with the
# offending dependency paths or Bazel's errors, otherwise. It calls bazel
# itself, so it cannot be a `bazel test` target.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"

SERVICES=(candidate_service ranking_service)
OFFLINE=(trainer simulator evaluation)
PROBE_DIR="common/serving/layering_probe_tmp"
PROBE="//${PROBE_DIR}"

failures=0
fail() {
  printf 'FAIL  %s\n' "$1"
  shift
  (($#)) && printf '%s\n' "$@" | sed 's/^/        /'
  failures=$((failures + 1))
}
ok() { printf 'ok    %s\n' "$*"; }

# query EXPRESSION: sets RESULT to the labels it yields. Exits on a query
# error (a broken BUILD file is a failure, not an empty answer); called in
# this shell, never in a subshell, so that the exit ends the script.
RESULT=()
query() {
  local out err
  err=$(mktemp)
  if ! out=$(bazel query --noshow_progress --output=label "$1" 2>"$err"); then
    echo "bazel query failed: $1" >&2
    grep -E '^ERROR' "$err" | head -n 10 >&2 || true
    rm -f "$err"
    exit 2
  fi
  rm -f "$err"
  mapfile -t RESULT < <(sed '/^$/d' <<<"$out")
}

# add_path FROM TO: appends to PATHS one dependency path from FROM to TO,
# as "a -> b -> c".
PATHS=()
add_path() {
  query "somepath($1, $2)"
  PATHS+=("$(printf '%s\n' "${RESULT[@]}" | paste -sd' ' | sed 's/ / -> /g')")
}

# (a) The services are leaves.
for service in "${SERVICES[@]}"; do
  s="//${service}/..."
  query "rdeps(//..., $s) except $s except //tests/... except //deploy/..."
  if ((${#RESULT[@]} > 0)); then
    outside=("${RESULT[@]}")
    PATHS=()
    for target in "${outside[@]}"; do add_path "$target" "$s"; done
    fail "services are leaves: ${#outside[@]} targets outside $s depend on it" "${PATHS[@]}"
  else
    ok "services are leaves: nothing outside $s depends on it"
  fi
  # //tests and //deploy may take the binaries as data, never link the
  # service's code.
  for user in //tests //deploy; do
    query "labels(deps, $user/...) intersect $s"
    linked=("${RESULT[@]}")
    query "labels(data, $user/...) intersect $s"
    data=("${RESULT[@]}")
    if ((${#linked[@]} > 0)); then
      fail "$user links code of $s (only data dependencies are allowed)" "${linked[@]}"
    else
      ok "$user reaches $s only as data: ${data[*]:-(nothing)}"
    fi
  done
done

# (b) Serving code stays off the offline layers.
offline_set=""
for package in "${OFFLINE[@]}"; do
  offline_set+="${offline_set:+ + }//${package}/..."
done
query "deps(//common/...) intersect ($offline_set)"
if ((${#RESULT[@]} > 0)); then
  offline=("${RESULT[@]}")
  PATHS=()
  for target in "${offline[@]}"; do add_path "//common/..." "$target"; done
  fail "serving code depends on ${#offline[@]} targets of ${OFFLINE[*]}" "${PATHS[@]}"
else
  ok "serving code stays off the offline layers: nothing in //common/... depends on $offline_set"
fi

# (c) Visibility turns a violation into a build error.
if [[ -e "$PROBE_DIR" ]]; then
  echo "$PROBE_DIR exists; remove it (a leftover of an interrupted run?)" >&2
  exit 2
fi
remove_probe() { rm -rf "$PROBE_DIR"; }
trap remove_probe EXIT
trap 'exit 130' INT TERM
mkdir -p "$PROBE_DIR"
# Each violating library and the dependency it must be refused.
PROBE_NAMES=(uses_simulator uses_trainer uses_evaluation uses_candidate_service uses_ranking_service)
declare -A VIOLATIONS=(
  [uses_simulator]="//simulator:world"
  [uses_trainer]="//trainer:trainer_lib"
  [uses_evaluation]="//evaluation:metrics"
  [uses_candidate_service]="//candidate_service:candidate_service_impl"
  [uses_ranking_service]="//ranking_service:ranking_service_impl"
)
{
  echo "# Written by tests/check_layers.sh and removed when it exits."
  for name in "${PROBE_NAMES[@]}"; do
    printf 'cc_library(name = "%s", deps = ["%s"])\n' "$name" "${VIOLATIONS[$name]}"
  done
  echo 'cc_library(name = "control", deps = ["//common/serving:bundle"])'
} >"$PROBE_DIR/BUILD"
probe_log=$(bazel build --nobuild --keep_going --noshow_progress "$PROBE/..." 2>&1 || true)
remove_probe
for name in "${PROBE_NAMES[@]}"; do
  dep=${VIOLATIONS[$name]}
  if grep -qF "target '$dep' is not visible from target '$PROBE:$name'" <<<"$probe_log"; then
    ok "visibility: $PROBE:$name -> $dep is a build error"
  else
    fail "visibility: $PROBE:$name -> $dep was not refused as invisible" \
      "$(grep -E '^ERROR' <<<"$probe_log" | head -n 5)"
  fi
done
if grep -qE "(ERROR|error).*$PROBE:control" <<<"$probe_log"; then
  fail "visibility: the control $PROBE:control (-> //common/serving:bundle) failed too" \
    "$(grep -E '^ERROR' <<<"$probe_log" | head -n 5)"
else
  ok "visibility: the control $PROBE:control -> //common/serving:bundle analyses"
fi

((failures == 0))
