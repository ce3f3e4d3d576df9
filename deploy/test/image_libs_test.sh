#!/usr/bin/env bash
# image_libs_test.sh (bazel test //deploy:image_libs_test): every shared
# library the binaries load is installed by their stage of deploy/Dockerfile.
#
#   image_libs_test.sh DOCKERFILE STAGE=BINARY...
#
# For each binary (built by Bazel on this Debian 12 machine, as in the
# Dockerfile's builder stage): `ldd` resolves its libraries, `dpkg -S` names
# the Debian package of each, and the STAGE's `apt-get install` packages
# (parsed from the Dockerfile) must account for every one:
#   - a library the binary itself names (ELF NEEDED): its package is listed,
#     or is one of BASE_PACKAGES;
#   - a library loaded through another one: its package is listed, in
#     BASE_PACKAGES, or in the Depends/Pre-Depends closure of the listed
#     packages (what `apt-get install --no-install-recommends` installs; the
#     closure is read from this machine's dpkg database).
# A library that ldd cannot find, or that no package owns, fails too.
#
# Then the negative case: the same check against a copy of the Dockerfile
# with one needed package deleted from the runtime stage must fail and name
# it.
#
# Writes one JUnit case per binary and per check to $XML_OUTPUT_FILE.
set -uo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
TEST_DIR=$(dirname "$SELF")
TMP=${TEST_TMPDIR:-$(mktemp -d)}
JUNIT_SUITE=image_libs_test
# shellcheck source=junit.sh
source "$TEST_DIR/junit.sh"

# In every debian:12 and debian:12-slim image (Priority: required, or what
# apt itself needs), so never listed.
BASE_PACKAGES=(libc6 libgcc-s1 libstdc++6 zlib1g)

if (($# < 2)); then
  echo "usage: $0 DOCKERFILE STAGE=BINARY..." >&2
  exit 2
fi
DOCKERFILE=$1
shift
PAIRS=("$@")

start=$(now_ms)
missing_tools=()
for tool in ldd readelf dpkg dpkg-query awk; do
  command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
done
if ((${#missing_tools[@]} > 0)); then
  record "tools" "$start" "not found: ${missing_tools[*]} (this test runs on Debian 12: dpkg, libc-bin's ldd, binutils' readelf)"
  finish
fi
record "tools: ldd readelf dpkg" "$start"

# stage_packages DOCKERFILE STAGE: the packages of the stage's `apt-get
# install` commands, one a line. Continuation lines are joined, comment lines
# dropped, options (-y, --no-install-recommends) skipped; a command ends at
# &&, ; or |.
stage_packages() {
  awk -v want="$2" '
    function flush(line,    n, i, t, words, installing) {
      if (line ~ /^[ \t]*$/) return
      n = split(line, words, /[ \t]+/)
      i = 1
      while (i <= n && words[i] == "") i++
      if (toupper(words[i]) == "FROM") {
        stage = ""
        for (t = i + 1; t < n; t++) if (toupper(words[t]) == "AS") stage = tolower(words[t + 1])
        return
      }
      if (stage != want) return
      installing = 0
      for (; i <= n; i++) {
        t = words[i]
        if (t == "&&" || t == ";" || t == "|" || t == "||") { installing = 0; continue }
        if (t == "apt-get" && words[i + 1] == "install") { installing = 1; i++; continue }
        if (installing && t != "" && t !~ /^-/) print t
      }
    }
    /^[ \t]*#/ { next }
    /\\[ \t]*$/ { sub(/\\[ \t]*$/, ""); buf = buf $0 " "; next }
    { flush(buf $0); buf = "" }
    END { flush(buf) }
  ' "$1"
}

# The package that owns a library path. ldd prints /lib paths on a
# merged-/usr system where dpkg may know the /usr/lib one (or the reverse),
# and alternatives (libblas, liblapack, libopenblas) are symlinks through
# /etc/alternatives: the candidates are the path, its target, and both with
# /lib <-> /usr/lib. dpkg -S is slow (it reads every file list), so
# `resolve_owners` asks it once for all the candidates of many paths and
# OWNER caches the answers; `package_of` then only looks up.
declare -A OWNER=()
declare -A ASKED=()
owner_candidates() {
  local path=$1 real
  real=$(readlink -f "$path")
  printf '%s\n' "$path" "$real" "${path/#\/usr\/lib\//\/lib\/}" "${path/#\/lib\//\/usr\/lib\/}" \
    "${real/#\/usr\/lib\//\/lib\/}" "${real/#\/lib\//\/usr\/lib\/}" \
    "${path/#\/lib64\//\/usr\/lib64\/}" "${path/#\/usr\/lib64\//\/lib64\/}"
}
resolve_owners() {
  local -a ask=()
  local path candidate line packages file
  for path in "$@"; do
    while IFS= read -r candidate; do
      [[ -n "${ASKED[$candidate]:-}" ]] && continue
      ASKED[$candidate]=1
      ask+=("$candidate")
    done < <(owner_candidates "$path")
  done
  ((${#ask[@]} > 0)) || return 0
  # "pkg:arch: /path", or "pkg1, pkg2: /path"; errors for unowned paths.
  while IFS= read -r line; do
    [[ "$line" == diversion* || "$line" != *": /"* ]] && continue
    packages=${line%%: /*}
    file=/${line#*: /}
    packages=${packages%%,*}
    OWNER[$file]=${packages%%:*}
  done < <(dpkg -S "${ask[@]}" 2>/dev/null)
}
package_of() {
  local candidate
  resolve_owners "$1"
  while IFS= read -r candidate; do
    if [[ -n "${OWNER[$candidate]:-}" ]]; then
      echo "${OWNER[$candidate]}"
      return 0
    fi
  done < <(owner_candidates "$1")
  return 1
}

# dependency_closure PACKAGE...: the installed packages that `apt-get install
# --no-install-recommends PACKAGE...` installs: the Depends and Pre-Depends closure,
# every installed alternative of an `a | b` and every installed provider of
# a virtual package.
dependency_closure() {
  dpkg-query -W -f='${Package}\t${Status}\t${Provides}\t${Depends}, ${Pre-Depends}\n' 2>/dev/null |
    awk -F'\t' -v roots="$*" '
      function bare(s) { gsub(/\([^)]*\)/, "", s); gsub(/[ \t]/, "", s); sub(/:.*/, "", s); return s }
      function add(p) { if (!(p in seen)) { seen[p] = 1; queue[++tail] = p } }
      {
        if ($2 !~ / installed$/) next
        installed[$1] = 1
        deps[$1] = $4
        n = split($3, provided, /,/)
        for (i = 1; i <= n; i++) { v = bare(provided[i]); if (v != "") providers[v] = providers[v] " " $1 }
      }
      END {
        n = split(roots, r, / /)
        for (i = 1; i <= n; i++) if (r[i] != "") add(r[i])
        head = 1
        while (head <= tail) {
          p = queue[head++]
          if (!(p in installed)) continue
          n = split(deps[p], clauses, /,/)
          for (i = 1; i <= n; i++) {
            m = split(clauses[i], alternatives, /\|/)
            for (j = 1; j <= m; j++) {
              d = bare(alternatives[j])
              if (d == "") continue
              if (d in installed) add(d)
              if (d in providers) { k = split(providers[d], ps, / /); for (x = 1; x <= k; x++) if (ps[x] != "") add(ps[x]) }
            }
          }
        }
        for (p in seen) print p
      }
    '
}

# check_binary DOCKERFILE STAGE BINARY: prints what it found, returns 1 with
# the reasons in CHECK_PROBLEMS when a package is missing.
CHECK_PROBLEMS=""
CHECK_SUMMARY=""
check_binary() {
  local dockerfile=$1 stage=$2 binary=$3
  local -a listed problems=()
  local -A is_listed=() in_closure=() is_base=() needed=() owner_of=()
  mapfile -t listed < <(stage_packages "$dockerfile" "$stage")
  if ((${#listed[@]} == 0)); then
    CHECK_PROBLEMS="no 'apt-get install' packages found in stage '$stage' of $dockerfile"
    return 1
  fi
  local p
  for p in "${listed[@]}"; do is_listed[$p]=1; done
  for p in "${BASE_PACKAGES[@]}"; do is_base[$p]=1; done
  for p in "${listed[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != *" installed" ]]; then
      problems+=("$p (listed in stage $stage) is not installed on this machine, so its dependencies cannot be followed: a misspelt name, or install it")
    fi
  done
  while IFS= read -r p; do in_closure[$p]=1; done < <(dependency_closure "${listed[@]}")

  local soname
  while IFS= read -r soname; do needed[$soname]=1; done < <(
    readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')

  local line name path pkg
  local -a direct=() via=() base=()
  local ldd_out
  if ! ldd_out=$(ldd "$binary" 2>&1); then
    CHECK_PROBLEMS="ldd $binary failed: $ldd_out"
    return 1
  fi
  # One dpkg -S for every library of the binary.
  resolve_owners $(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out")
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}
    case "$line" in
      *"=> not found"*) problems+=("${line%% *} not found by ldd"); continue ;;
      *" => "*) name=${line%% => *}; path=${line#* => }; path=${path%% (*} ;;
      /*) path=${line%% (*}; name=$(basename "$path") ;;
      *) continue ;;  # linux-vdso.so.1: the kernel's, no file
    esac
    [[ -z "$path" ]] && continue
    if ! pkg=$(package_of "$path"); then
      problems+=("$name ($path) belongs to no Debian package: the image cannot install it")
      continue
    fi
    owner_of[$name]=$pkg
    if [[ -n "${is_base[$pkg]:-}" ]]; then
      base+=("$pkg")
    elif [[ -n "${needed[$name]:-}" ]]; then
      if [[ -n "${is_listed[$pkg]:-}" ]]; then
        direct+=("$pkg")
      else
        problems+=("$name ($path) is needed by $(basename "$binary") itself; its package $pkg is not in stage $stage's apt-get install")
      fi
    elif [[ -n "${is_listed[$pkg]:-}" ]]; then
      direct+=("$pkg")
    elif [[ -n "${in_closure[$pkg]:-}" ]]; then
      via+=("$pkg")
    else
      problems+=("$name ($path), loaded through another library, is in $pkg, which neither stage $stage's apt-get install nor their dependencies bring")
    fi
  done <<<"$ldd_out"

  local uniq_direct uniq_via uniq_base
  uniq_direct=$(printf '%s\n' "${direct[@]}" | sort -u | sed '/^$/d' | tr '\n' ' ')
  uniq_via=$(printf '%s\n' "${via[@]}" | sort -u | sed '/^$/d' | tr '\n' ' ')
  uniq_base=$(printf '%s\n' "${base[@]}" | sort -u | sed '/^$/d' | tr '\n' ' ')
  CHECK_SUMMARY="listed: ${uniq_direct:-none}| via dependencies: ${uniq_via:-none}| base image: ${uniq_base:-none}"
  if ((${#problems[@]} > 0)); then
    # The binary's own libraries first, then at most 10 of the others.
    local all others
    all=$(printf '%s\n' "${problems[@]}" | sort -u)
    others=$(grep -vc 'itself' <<<"$all")
    CHECK_PROBLEMS=$({
      grep 'itself' <<<"$all"
      grep -v 'itself' <<<"$all" | head -n 10
      ((others > 10)) && echo "... and $((others - 10)) more libraries loaded through others"
    })
    return 1
  fi
  CHECK_PROBLEMS=""
  return 0
}

echo "Dockerfile: $(readlink -f "$DOCKERFILE")"
for stage in $(printf '%s\n' "${PAIRS[@]}" | sed 's/=.*//' | sort -u); do
  echo "stage $stage installs: $(stage_packages "$DOCKERFILE" "$stage" | tr '\n' ' ')"
done
echo

for pair in "${PAIRS[@]}"; do
  stage=${pair%%=*}
  binary=${pair#*=}
  name="$(basename "$binary") in stage $stage"
  start=$(now_ms)
  if [[ ! -x "$binary" ]]; then
    record "$name" "$start" "no executable at $binary"
    continue
  fi
  if check_binary "$DOCKERFILE" "$stage" "$binary"; then
    echo "  $(basename "$binary"): ${CHECK_SUMMARY//|/$'\n   '}"
    record "$name: every shared library installed" "$start"
  else
    echo "$CHECK_PROBLEMS" | sed 's/^/  - /'
    record "$name" "$start" "$(echo "$CHECK_PROBLEMS" | head -n 3 | tr '\n' ' ')"
  fi
done

# Negative case: drop one package that the first runtime binary needs
# directly from a copy of the Dockerfile; the check must fail and name it.
echo
start=$(now_ms)
first=""
for pair in "${PAIRS[@]}"; do
  [[ "${pair%%=*}" == runtime ]] && { first=${pair#*=}; break; }
done
if [[ -z "$first" ]]; then
  record "negative: a package deleted from the Dockerfile is caught" "$start" "no runtime binary given"
else
  victim=""
  while IFS= read -r soname; do
    path=$(ldd "$first" | awk -v n="$soname" '$1 == n && $2 == "=>" { print $3 }')
    [[ -n "$path" ]] || continue
    pkg=$(package_of "$path") || continue
    if stage_packages "$DOCKERFILE" runtime | grep -qx -- "$pkg"; then
      victim=$pkg
      break
    fi
  done < <(readelf -d "$first" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if [[ -z "$victim" ]]; then
    record "negative: a package deleted from the Dockerfile is caught" "$start" \
      "no listed runtime package is a direct dependency of $(basename "$first")"
  else
    # Delete the package's line (or the name within a line).
    sed -E "s/(^|[[:space:]])${victim//+/\\+}([[:space:]]|$)/\1\2/" "$DOCKERFILE" >"$TMP/Dockerfile.missing"
    if stage_packages "$TMP/Dockerfile.missing" runtime | grep -qx -- "$victim"; then
      record "negative: a package deleted from the Dockerfile is caught" "$start" "could not delete $victim from the copy"
    elif check_binary "$TMP/Dockerfile.missing" runtime "$first"; then
      record "negative: a package deleted from the Dockerfile is caught" "$start" \
        "the check passed $(basename "$first") with $victim deleted from the runtime stage"
    elif ! grep -q -- "$victim" <<<"$CHECK_PROBLEMS"; then
      record "negative: a package deleted from the Dockerfile is caught" "$start" \
        "the check failed without naming $victim: $CHECK_PROBLEMS"
    else
      echo "With $victim deleted from the runtime stage, as expected:"
      echo "$CHECK_PROBLEMS" | sed 's/^/  - /'
      record "negative: $victim deleted from the runtime stage is caught" "$start"
    fi
  fi
fi

finish
