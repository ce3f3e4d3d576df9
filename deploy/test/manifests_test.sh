#!/usr/bin/env bash
# manifests_test.sh (bazel test //deploy:manifests_test): the Kubernetes
# manifests, checked offline.
#
#  1. Renders every kustomization under deploy/k8s (the base, overlays/dev,
#     overlays/prod, loadtest, training, sharded) with `kubectl kustomize`,
#     which needs no cluster (KUBECONFIG points at an empty file to make
#     sure).
#  2. Validates every rendered object with deploy/test/validate_manifests.js:
#     its Kubernetes schema (npm kubernetes-models; an unknown kind or field
#     fails), then the invariants of the overlay (locked-down pods, the drain
#     within the grace period, ranking behind a headless Service with
#     round_robin, an HPA and a PDB per Deployment, TLS and no reflection in
#     prod, the load test's config from the ghz files...).
#  3. Negative cases: each testdata/*.yaml is broken on purpose and must
#     fail validation with the messages its `# expect:` lines give.
#
# Needs kubectl (Debian: kubernetes-client), node, and the npm packages of
# deploy/test/package-lock.json in deploy/test/node_modules; ./recsys test
# installs all three. A missing one fails the test with what to run: it is
# never skipped. Run alone: bazel test //deploy:manifests_test, or
# deploy/test/manifests_test.sh from anywhere.
#
# Writes one JUnit test case per step to $XML_OUTPUT_FILE (Bazel sets it),
# so ./recsys test counts each.
set -uo pipefail

# This script is a runfiles symlink into the source tree: the manifests are
# read from there (kustomize refuses files reached through symlinks that
# leave a kustomization's directory, and node_modules is not a Bazel input).
SELF=$(readlink -f "${BASH_SOURCE[0]}")
TEST_DIR=$(dirname "$SELF")
DEPLOY=$(dirname "$TEST_DIR")
K8S="$DEPLOY/k8s"
TMP=${TEST_TMPDIR:-$(mktemp -d)}
KUBECTL=${KUBECTL:-kubectl}

# name|profile of every kustomization under deploy/k8s, relative to it.
KUSTOMIZATIONS=(
  "base|schema"
  "overlays/dev|dev"
  "overlays/prod|prod"
  "loadtest|loadtest"
  "training|training"
  "sharded|sharded"
)

JUNIT_SUITE=manifests_test
# shellcheck source=junit.sh
source "$TEST_DIR/junit.sh"

# A missing tool fails the test (one case naming what to run) rather than
# skipping it: CI installs the tools, so a skip would hide a broken install.
require_tool() {
  local name=$1 ok=$2 message=$3 start
  start=$(now_ms)
  if eval "$ok"; then
    record "tool: $name" "$start"
  else
    record "tool: $name" "$start" "$message"
  fi
}
require_tool kubectl 'command -v "$KUBECTL" >/dev/null 2>&1' \
  "kubectl not found: run ./recsys test (it installs Debian's kubernetes-client), or apt-get install kubernetes-client"
require_tool node 'command -v node >/dev/null 2>&1' \
  "node not found: run ./recsys test (it installs Debian's nodejs and npm), or apt-get install nodejs npm"
require_tool node_modules '[[ -f "$TEST_DIR/node_modules/kubernetes-models/package.json" && -f "$TEST_DIR/node_modules/yaml/package.json" ]]' \
  "the npm packages are not in deploy/test/node_modules: run ./recsys test, or (cd deploy/test && npm ci)"
((FAILED == 0)) || finish

echo "kubectl: $(command -v "$KUBECTL"), $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
echo "node: $(command -v node) $(node --version)"
echo

# Every kustomization is in the list above (a new overlay gets checked).
start=$(now_ms)
unlisted=()
while IFS= read -r dir; do
  rel=${dir#"$K8S"/}
  listed=0
  for entry in "${KUSTOMIZATIONS[@]}"; do
    [[ "${entry%%|*}" == "$rel" ]] && listed=1
  done
  ((listed)) || unlisted+=("$rel")
done < <(find "$K8S" -name kustomization.yaml -printf '%h\n' | sort)
if ((${#unlisted[@]} > 0)); then
  record "every kustomization is checked" "$start" \
    "not in KUSTOMIZATIONS of deploy/test/manifests_test.sh: ${unlisted[*]}"
else
  record "every kustomization is checked" "$start"
fi

# kubectl must not reach for a cluster: an empty kubeconfig.
: >"$TMP/kubeconfig"
export KUBECONFIG="$TMP/kubeconfig"

for entry in "${KUSTOMIZATIONS[@]}"; do
  dir=${entry%%|*}
  profile=${entry##*|}
  out="$TMP/${dir//\//_}.yaml"
  err="$TMP/${dir//\//_}.err"
  echo
  echo "=== deploy/k8s/$dir"
  start=$(now_ms)
  if "$KUBECTL" kustomize "$K8S/$dir" >"$out" 2>"$err"; then
    record "render $dir" "$start"
  else
    sed 's/^/    /' "$err"
    record "render $dir" "$start" "kubectl kustomize deploy/k8s/$dir failed: $(grep -v '^# Warning' "$err" | head -n 3 | tr '\n' ' ')"
    continue
  fi
  start=$(now_ms)
  args=(--profile="$profile")
  [[ "$dir" == loadtest ]] && args+=(--ghz_dir="$K8S/loadtest/ghz")
  node "$TEST_DIR/validate_manifests.js" "${args[@]}" "$out" >"$TMP/validate.out" 2>&1
  rc=$?
  sed 's/^/    /' "$TMP/validate.out"
  if ((rc == 0)); then
    record "validate $dir ($profile): $(sed -n 's/^# \([0-9]* objects\):.*/\1/p' "$TMP/validate.out"), $(sed -n 's/^# \([0-9]* checks\), .*/\1/p' "$TMP/validate.out")" "$start"
  else
    record "validate $dir ($profile)" "$start" \
      "$(grep -c '^FAIL' "$TMP/validate.out") failed: $(grep -m 3 -E '^FAIL|^validate_manifests:' "$TMP/validate.out" | tr '\n' ' ' | cut -c1-400)"
  fi
done

# Negative cases: each must fail validation (status 1, not a set-up error)
# with every message it expects.
for file in "$TEST_DIR"/testdata/*.yaml; do
  name="testdata/$(basename "$file")"
  echo
  echo "=== $name (must fail)"
  start=$(now_ms)
  profile=$(sed -n 's/^# profile: //p' "$file" | head -n 1)
  mapfile -t expects < <(sed -n 's/^# expect: //p' "$file")
  if [[ -z "$profile" || ${#expects[@]} -eq 0 ]]; then
    record "negative $name" "$start" "no '# profile:' or '# expect:' line in $name"
    continue
  fi
  node "$TEST_DIR/validate_manifests.js" --profile="$profile" "$file" >"$TMP/negative.out" 2>&1
  rc=$?
  grep -E '^FAIL|^validate_manifests:' "$TMP/negative.out" | sed 's/^/    /'
  problems=()
  if ((rc == 0)); then
    problems+=("validation passed but must fail")
  elif ((rc != 1)); then
    problems+=("validation stopped with status $rc (a set-up error, not a validation failure)")
  fi
  for expect in "${expects[@]}"; do
    grep -qF -- "$expect" "$TMP/negative.out" || problems+=("no failure says: $expect")
  done
  if ((${#problems[@]} > 0)); then
    record "negative $name" "$start" "$(printf '%s; ' "${problems[@]}")"
  else
    record "negative $name: fails as expected (${#expects[@]} messages)" "$start"
  fi
done

finish
