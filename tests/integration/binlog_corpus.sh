#!/usr/bin/env bash
# budget: 300
# Decodes every binlog of ../shared/corpus/binlog with bin/binlog-tail, checks each file's outcome
# (exit code and error message) against binlog_corpus.manifest, and compares the row images with
# the `mariadb-binlog -v` decodings beside the files and with the upstream projects' own
# `mysqlbinlog -vv` outputs where they ship one (binlog_compare.py). One line per file:
# `ok - FILE`, `not ok - FILE: reason`, or `skip - FILE: reason`; exit 0 when nothing is `not ok`.
# Environment: BUILD (default build: bin/; else BUILD/bin), BINLOG_TAIL (the binary),
# ROWPIPE_SHARED or BINLOG_CORPUS (where the corpus is).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${ROWPIPE_SHARED:-$root/../shared}
corpus=${BINLOG_CORPUS:-$shared/corpus/binlog}
bin_dir=$root/bin
[ "${BUILD:-build}" = build ] || bin_dir=$root/$BUILD/bin
decode=${BINLOG_TAIL:-$bin_dir/binlog-tail}
manifest=$here/binlog_corpus.manifest
python=/usr/bin/python3
[ -x "$python" ] || python=python3

if [ ! -d "$corpus" ]; then echo "skip - corpus: $corpus not found"; exit 0; fi
if [ ! -x "$decode" ]; then echo "not ok - setup: $decode not built (make BUILD=${BUILD:-build} all)"; exit 1; fi
if [ ! -f "$manifest" ]; then echo "not ok - setup: $manifest missing"; exit 1; fi

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
  # The upstream project's own MySQL mysqlbinlog -vv output, when it ships one: a second oracle.
  upstream=""
  if [ -f "$path.upstream-mysqlbinlog.txt" ]; then
    if up=$("$python" "$here/binlog_compare.py" "$tmp/allow.jsonl" "$path.upstream-mysqlbinlog.txt" 2>&1); then
      upstream="; upstream mysqlbinlog: $up"
    elif [ $? -eq 2 ]; then
      upstream="; upstream mysqlbinlog: $up"
    else
      echo "not ok - $file: upstream mysqlbinlog oracle: $up"; fail=$((fail+1)); continue
    fi
  fi
  result=$("$python" "$here/binlog_compare.py" "$tmp/allow.jsonl" "$oracle" 2>&1); rc=$?
  rows=$(grep -c '"eventType":"\(INSERT\|UPDATE\|DELETE\)"' "$tmp/allow.jsonl")
  case $rc in
    0) echo "ok - $file: $result$upstream"; pass=$((pass+1));;
    2)
      if [ "$rows" -eq 0 ]; then
        echo "ok - $file: outcome $want_default; no row events (nor in the mariadb-binlog decoding)$upstream"; pass=$((pass+1))
      else
        # Nothing to compare with, not a check left out: the outcome (decoded completely) was checked.
        reason=$( (if [[ $oracle == *.gz ]]; then zcat "$oracle"; else cat "$oracle"; fi) | grep -m1 -o 'ERROR: .*' | cut -c1-120)
        [ -n "$reason" ] || reason="it stops silently at the first rows event it cannot decode (MySQL JSON/VECTOR)"
        echo "ok - $file: outcome $want_default, $rows rows decoded; values not compared: mariadb-binlog decodes no row image of it ($reason)$upstream"
        pass=$((pass+1))
      fi;;
    *) echo "not ok - $file: $result"; fail=$((fail+1));;
  esac
done <"$manifest"

echo "# binlog corpus: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
