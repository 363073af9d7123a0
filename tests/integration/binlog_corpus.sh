#!/usr/bin/env bash
# budget: 300
# Decodes every binlog of ../shared/corpus/binlog with tests/helpers/binlog-decode, checks each
# file's outcome against binlog_corpus.manifest, and compares the row images with the
# `mariadb-binlog -v` decodings beside the files (binlog_compare.py). One line per file:
# `ok - FILE`, `not ok - FILE: reason`, or `skip - FILE: reason`; exit 0 when nothing is `not ok`.
# Environment: BUILD (default build) names the build directory holding tests/binlog-decode.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=${BINLOG_CORPUS:-$root/../shared/corpus/binlog}
decode=$root/${BUILD:-build}/tests/binlog-decode
manifest=$here/binlog_corpus.manifest
python=/usr/bin/python3
[ -x "$python" ] || python=python3

if [ ! -d "$corpus" ]; then echo "skip - corpus: $corpus not found"; exit 0; fi
if [ ! -x "$decode" ]; then echo "not ok - setup: $decode not built (make BUILD=${BUILD:-build} all)"; exit 1; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0

# check EXPECTED EXIT_CODE STDERR_FILE -> empty when the outcome is as expected, else a reason
check() {
  local want=$1 rc=$2 errf=$3
  if [ "$want" = ok ]; then
    [ "$rc" = 0 ] && return 0
    echo "exit $rc: $(grep -m1 'error:' "$errf")"
    return 1
  fi
  local code=${want%%:*} text=${want#*:}
  if [ "$rc" != "$code" ]; then echo "exit $rc, expected $code ($text): $(grep -m1 'error:' "$errf")"; return 1; fi
  if ! grep -qF -- "$text" "$errf"; then echo "error message lacks \"$text\": $(grep -m1 'error:' "$errf")"; return 1; fi
  return 0
}

while IFS=$'\t' read -r file want_default want_allow; do
  case "$file" in ''|'#'*) continue;; esac
  path=$corpus/$file
  if [ ! -f "$path" ]; then echo "not ok - $file: missing from the corpus"; fail=$((fail+1)); continue; fi
  "$decode" "$path" >"$tmp/default.jsonl" 2>"$tmp/default.err"; rc=$?
  if ! why=$(check "$want_default" $rc "$tmp/default.err"); then
    echo "not ok - $file: default mode: $why"; fail=$((fail+1)); continue
  fi
  "$decode" --allow-statements "$path" >"$tmp/allow.jsonl" 2>"$tmp/allow.err"; rc=$?
  if ! why=$(check "$want_allow" $rc "$tmp/allow.err"); then
    echo "not ok - $file: --allow-statements: $why"; fail=$((fail+1)); continue
  fi
  oracle=$path.mariadb-binlog.txt
  [ -f "$oracle" ] || oracle=$oracle.gz
  if [ ! -f "$oracle" ]; then
    echo "ok - $file: outcome $want_default (no mariadb-binlog decoding to compare: $(basename "$file") is not a binlog)"
    pass=$((pass+1)); continue
  fi
  result=$("$python" "$here/binlog_compare.py" "$tmp/allow.jsonl" "$oracle" 2>&1); rc=$?
  rows=$(grep -c '"eventType":"\(INSERT\|UPDATE\|DELETE\)"' "$tmp/allow.jsonl")
  case $rc in
    0) echo "ok - $file: $result"; pass=$((pass+1));;
    2)
      if [ "$rows" -eq 0 ]; then
        echo "ok - $file: outcome $want_default; no row events (nor in the mariadb-binlog decoding)"; pass=$((pass+1))
      else
        reason=$( (if [[ $oracle == *.gz ]]; then zcat "$oracle"; else cat "$oracle"; fi) | grep -m1 -o 'ERROR: .*' | cut -c1-120)
        [ -n "$reason" ] || reason="it stops silently at the first rows event it cannot decode (MySQL JSON/VECTOR)"
        echo "skip - $file: mariadb-binlog decoded no row image ($reason); we decoded $rows rows"; skip=$((skip+1))
      fi;;
    *) echo "not ok - $file: $result"; fail=$((fail+1));;
  esac
done <"$manifest"

echo "# binlog corpus: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
