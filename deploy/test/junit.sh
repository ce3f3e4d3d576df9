# junit.sh: test cases for the deploy tests' shell scripts, sourced.
#
#   record NAME START_MS [FAILURE]   one case (failed when FAILURE is given),
#                                    printed as "PASS: NAME" / "FAIL: NAME -- ..."
#   finish                           writes $XML_OUTPUT_FILE (JUnit XML, one
#                                    <testcase> per record; Bazel sets the
#                                    variable and ./recsys test counts the
#                                    cases), prints "<test>: N cases, N
#                                    failed" and exits 0 or 1
#   now_ms                           milliseconds since the epoch
#
# The sourcing script sets JUNIT_SUITE (the suite's name) first.

CASE_NAMES=()
CASE_FAILURES=()
CASE_TIMES=()
FAILED=0

now_ms() { echo $(($(date +%s%N) / 1000000)); }

record() {
  local ms=$(($(now_ms) - $2))
  CASE_NAMES+=("$1")
  CASE_FAILURES+=("${3:-}")
  CASE_TIMES+=("$((ms / 1000)).$(printf '%03d' $((ms % 1000)))")
  if [[ -n "${3:-}" ]]; then
    FAILED=$((FAILED + 1))
    echo "FAIL: $1 -- $3"
  else
    echo "PASS: $1"
  fi
}

xml_escape() {
  local s=$1
  s=${s//&/&amp;}
  s=${s//</&lt;}
  s=${s//>/&gt;}
  s=${s//\"/&quot;}
  s=${s//$'\n'/&#10;}
  printf '%s' "$s"
}

write_xml() {
  [[ -n "${XML_OUTPUT_FILE:-}" ]] || return 0
  local i
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuites tests=\"${#CASE_NAMES[@]}\" failures=\"$FAILED\">"
    echo "<testsuite name=\"$JUNIT_SUITE\" tests=\"${#CASE_NAMES[@]}\" failures=\"$FAILED\">"
    for i in "${!CASE_NAMES[@]}"; do
      printf '  <testcase classname="%s" name="%s" time="%s"' \
        "$JUNIT_SUITE" "$(xml_escape "${CASE_NAMES[$i]}")" "${CASE_TIMES[$i]}"
      if [[ -n "${CASE_FAILURES[$i]}" ]]; then
        printf '>\n    <failure message="%s"/>\n  </testcase>\n' "$(xml_escape "${CASE_FAILURES[$i]}")"
      else
        printf '/>\n'
      fi
    done
    echo '</testsuite>'
    echo '</testsuites>'
  } >"$XML_OUTPUT_FILE"
}

finish() {
  write_xml
  echo
  echo "$JUNIT_SUITE: ${#CASE_NAMES[@]} cases, $FAILED failed"
  ((FAILED == 0)) && exit 0
  exit 1
}
