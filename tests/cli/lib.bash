# Helpers for the CLI test scripts: each check prints `ok - SENTENCE` or `not ok - SENTENCE: why`.
# Sourced; expects PATH to hold bin/ and the test programs (tests/run-all sets it up).

ROOT=${ROWPIPE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [[ ${BUILD:-build} == build ]]; then _bin=$ROOT/bin; else _bin=$ROOT/$BUILD/bin; fi
export PATH="$_bin:$ROOT/${BUILD:-build}/tests:$PATH"
# The shared corpus lies beside the repository (CI lays a copy of shared/ there).
SHARED=${ROWPIPE_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rowpipe-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# expect SENTENCE CONDITION-COMMAND...: passes when the command succeeds.
expect() {
  local sentence=$1
  shift
  if "$@"; then echo "ok - $sentence"; else echo "not ok - $sentence"; fi
}

# expect_eq SENTENCE ACTUAL EXPECTED
expect_eq() {
  if [[ "$2" == "$3" ]]; then echo "ok - $1"
  else echo "not ok - $1: got [$(printf '%s' "$2" | head -c 300)] want [$(printf '%s' "$3" | head -c 300)]"; fi
}

# run_capture CMD...: runs CMD, sets $status, $out (stdout) and $err (stderr).
run_capture() {
  "$@" >"$TMP/out" 2>"$TMP/err"
  status=$?
  out=$(cat "$TMP/out")
  err=$(cat "$TMP/err")
}
