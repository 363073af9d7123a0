# The shared filter conventions, on rowpipe-lines (a filter built only from the shared library):
# exit codes, positions in messages, dead letters, acks, checkpoints, `| head -1`, SIGTERM, secrets.
source "$(dirname "$0")/lib.bash"

line() { # line OFFSET NEXT [ID]: one committed INSERT transaction
  printf '{"binlog":"mysql-bin.000001:%s","row":0,"db":"d","table":"t","eventType":"INSERT","pk":["id"],"before":null,"after":{"id":%s},"commit":true,"next":"mysql-bin.000001:%s"}\n' "$1" "${3:-1}" "$2"
}

line 100 200 1 >"$TMP/good"
line 200 300 2 >>"$TMP/good"
run_capture rowpipe-lines "$TMP/good"
expect_eq "valid lines pass through in canonical form and the tool exits 0" "$status:$out" "0:$(cat "$TMP/good")"

{ line 100 200; echo '{"binlog":"x"'; line 200 300; } >"$TMP/bad"
run_capture rowpipe-lines --checkpoint "$TMP/ck" <"$TMP/bad"
expect_eq "a malformed line stops the tool with exit 65" "$status" 65
expect "the error names the input and line number (stdin:2:)" \
  bash -c "[[ '$err' == 'rowpipe-lines: error: stdin:2: '* ]]"
expect_eq "lines before the bad one were written" "$out" "$(line 100 200)"
expect_eq "the checkpoint covers what came before the bad line and no more" \
  "$(cat "$TMP/ck")" '{"binlog":"mysql-bin.000001:200"}'

run_capture rowpipe-lines --dead-letter "$TMP/dead" <"$TMP/bad"
expect_eq "--dead-letter sets the bad line aside and goes on (exit 0)" "$status:$(echo "$out" | wc -l)" "0:2"
expect_eq "the dead-letter file holds the rejected line verbatim" "$(cat "$TMP/dead")" '{"binlog":"x"'
expect "the reason is on stderr with the line number" grep -q '^rowpipe-lines: error: stdin:2: .*set aside' "$TMP/err"

printf 'a\nb\nc\n' >"$TMP/three-bad"
run_capture rowpipe-lines --dead-letter "$TMP/dead2" --max-errors 2 "$TMP/three-bad"
expect "--max-errors bounds the lines set aside (exit 65 on the third)" \
  bash -c "[[ $status -eq 65 && '$err' == *'three-bad:3:'*'--max-errors 2'* ]]"

run_capture rowpipe-lines "$TMP/no-such-file"
expect "a missing input file exits 66 naming the file" \
  bash -c "[[ $status -eq 66 && '$err' == *no-such-file* ]]"

run_capture rowpipe-lines --ack "$TMP/good"
expect_eq "--ack prints the count of applied lines after each durable step" "$out" $'1\n2'

run_capture rowpipe-lines --key '{db}_{table}_{pk}' "$TMP/good"
expect_eq "key templates render per row" "$out" $'d_t_1\nd_t_2'
seed=$SHARED/corpus/seed/binlog_2016.log
if [[ ! -r $seed ]]; then
  echo "skip - seed corpus lines are read with a map file: $seed is missing (set ROWPIPE_SHARED)"
else
  run_capture rowpipe-lines --key '{db}_{table}_{pk}' "$seed"
  expect "seed lines without key information are a data error naming the line" \
    bash -c "[[ $status -eq 65 && '$err' == *':1: table kelin_test.user has no key columns'* ]]"
  echo '{"kelin_test.user": {"key": ["id"]}}' >"$TMP/map.json"
  run_capture rowpipe-lines --key '{db}_{table}_{pk}' --map "$TMP/map.json" "$seed"
  expect_eq "a map file supplies key columns for the 31 seed lines (CRLF endings)" \
    "$status:$(echo "$out" | wc -l):$(echo "$out" | sort -u | tr '\n' ' ')" \
    "0:31:kelin_test_user_1 kelin_test_user_10 kelin_test_user_5 kelin_test_user_6 kelin_test_user_8 kelin_test_user_9 "
fi
echo '{"kelin_test.user": {"keys": ["id"]}}' >"$TMP/badmap.json"
run_capture rowpipe-lines --map "$TMP/badmap.json" /dev/null
expect "a bad map file is a configuration error (exit 78) naming the file" \
  bash -c "[[ $status -eq 78 && '$err' == *badmap.json*'unknown member'* ]]"
run_capture rowpipe-lines --key '{nope}' /dev/null
expect_eq "a bad key template is a usage error (exit 64)" "$status" 64

run_capture rowpipe-lines "$TMP/good" --max-line-bytes 50
expect "a line over --max-line-bytes is an error naming the line" \
  bash -c "[[ $status -eq 65 && '$err' == *'good:1: line longer than --max-line-bytes 50'* ]]"

# A closed stdout ends the tool quietly, with the checkpoint of what was written.
for i in $(seq 1 2000); do line $((i * 100)) $((i * 100 + 100)) "$i"; done >"$TMP/many"
rowpipe-lines --repeat 50 --checkpoint "$TMP/ck2" "$TMP/many" 2>"$TMP/err" | head -1 >"$TMP/first"
status=${PIPESTATUS[0]}
expect_eq "'tool | head -1' ends the tool quietly with exit 0" "$status:$(cat "$TMP/err")" "0:"
expect_eq "'| head -1' receives exactly the first line" "$(cat "$TMP/first")" "$(line 100 200 1)"
expect "the checkpoint written before the pipe closed names a transaction boundary" \
  grep -qE '^\{"binlog":"mysql-bin.000001:[0-9]+00"\}$' "$TMP/ck2"

run_capture rowpipe-lines "$TMP/good"
rowpipe-lines "$TMP/good" >/dev/full 2>"$TMP/err"
status=$?
expect "a failing stdout (ENOSPC) is an I/O error, exit 74" \
  bash -c "[[ $status -eq 74 && '$(cat "$TMP/err")' == *'writing stdout'* ]]"

# SIGTERM drains: the tool stops reading, flushes, checkpoints and exits 0.
mkfifo "$TMP/fifo"
rowpipe-lines --checkpoint "$TMP/ck3" --url 'mysql://repl:s3cretpw@127.0.0.1:1/x' <"$TMP/fifo" >"$TMP/out3" 2>"$TMP/err3" &
pid=$!
exec 7>"$TMP/fifo"
line 100 200 1 >&7
line 200 300 2 >&7
sleep 0.6
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
expect "a password given in argv is blanked from /proc/PID/cmdline at once" \
  bash -c "[[ '$cmdline' != *s3cretpw* && '$cmdline' == *'repl:xxxxxxxx@'* ]]"
kill -TERM "$pid"
wait "$pid"
status=$?
exec 7>&-
expect_eq "SIGTERM while waiting for input exits 0" "$status" 0
expect_eq "SIGTERM drained both transactions to stdout" "$(wc -l <"$TMP/out3")" 2
expect_eq "SIGTERM left the checkpoint after the last transaction" "$(cat "$TMP/ck3")" '{"binlog":"mysql-bin.000001:300"}'
expect "the password never reaches stderr; the URL is shown redacted" \
  bash -c "! grep -q s3cretpw '$TMP/err3' && grep -q 'repl:\*\*\*@' '$TMP/err3'"

# Progress goes to stderr only when it is a terminal.
for i in $(seq 1 5000); do line $((i * 100)) $((i * 100 + 100)) "$i"; done >"$TMP/progress"
if command -v script >/dev/null; then
  script -qc "rowpipe-lines '$TMP/progress' >/dev/null" /dev/null >"$TMP/tty" 2>&1
  expect "on a terminal, long work shows progress on stderr" grep -q 'rowpipe-lines: [0-9]* lines read' "$TMP/tty"
else
  echo "skip - progress on a terminal: script(1) from util-linux is not installed"
fi
rowpipe-lines "$TMP/progress" 2>"$TMP/err" >/dev/null
expect_eq "when stderr is not a terminal, no progress is shown" "$(cat "$TMP/err")" ""
