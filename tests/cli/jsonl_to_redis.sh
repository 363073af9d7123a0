# jsonl-to-redis on the command line: options, exit codes, messages, bad input, dead letters, acks,
# checkpoints, `| head -1`, SIGTERM draining, secrets, and the seed corpus. Needs a Redis: started
# privately through tests/services/run when REDIS_URL is not set.
if [[ -z ${REDIS_URL:-} && -z ${ROWPIPE_IN_SERVICES:-} ]]; then
  ROWPIPE_IN_SERVICES=1 exec "$(dirname "$0")/../services/run" redis -- bash "$0" "$@"
fi
source "$(dirname "$0")/lib.bash"

# check SENTENCE: passes when the command just before succeeded.
check() { if (($? == 0)); then echo "ok - $1"; else echo "not ok - $1"; fi; }

tool=jsonl-to-redis
run_capture "$tool" --help
[[ $status -eq 0 && $out == *--redis* && $out == *--guard* && $out == *--dead-letter* && $out == *--print-checkpoint* ]]
check "--help lists the destination, mode and input options"
run_capture "$tool" /dev/null
[[ $status -eq 64 && $err == *'--redis'* ]]
check "without --redis it is a usage error (exit 64) naming the option"
run_capture "$tool" --redis redis://127.0.0.1:1 --key '{nope}' /dev/null
[[ $status -eq 64 && $err == *'{nope}'* ]]
check "a bad key template is a usage error (exit 64)"
run_capture "$tool" --redis redis://127.0.0.1:1 --store xml /dev/null
expect_eq "an unknown --store is a usage error" "$status" 64
run_capture "$tool" --redis redis://127.0.0.1:1 --route 'nodot=redis://x' /dev/null
[[ $status -eq 64 && $err == *'--route'* ]]
check "a --route without DB.TABLE= is a usage error"
echo '{"d.t": {"keys": ["id"]}}' >"$TMP/badmap.json"
run_capture "$tool" --redis redis://127.0.0.1:1 --map "$TMP/badmap.json" /dev/null
[[ $status -eq 78 && $err == *badmap.json* ]]
check "a bad map file is a configuration error (exit 78) naming the file"
run_capture "$tool" --redis 'redis://:s3cretpw@127.0.0.1:1' --retry-for 0 --timeout 1 /dev/null
[[ $status -eq 69 && $err == *'127.0.0.1:1'* && $err == *'last applied position'* ]]
check "an unreachable Redis exits 69 naming the URL"
! grep -q s3cretpw "$TMP/err"
check "the password of a URL never reaches stderr"

if [[ -z ${REDIS_URL:-} ]]; then
  echo "skip - jsonl-to-redis against a server: no Redis (tests/services/run could not start one)"
  exit 0
fi
rc() { redis-cli -u "$REDIS_URL" "$@"; }
rc FLUSHALL >/dev/null

line() { # line OFFSET NEXT ID [TABLE]: one committed INSERT transaction
  printf '{"binlog":"mysql-bin.000001:%s","row":0,"db":"d","table":"%s","eventType":"INSERT","pk":["id"],"before":null,"after":{"id":%s,"v":"x%s"},"commit":true,"next":"mysql-bin.000001:%s"}\n' \
    "$1" "${4:-t}" "$3" "$3" "$2"
}

line 100 200 1 >"$TMP/good"
line 200 300 2 >>"$TMP/good"
run_capture "$tool" --redis "$REDIS_URL" "$TMP/good"
expect_eq "valid lines are applied and the tool exits 0 with nothing on stdout" "$status:$out" "0:"
expect_eq "each row is a hash under {db}_{table}_{pk}" "$(rc HGETALL d_t_2 | tr '\n' ' ')" "id 2 v x2 "
expect_eq "the checkpoint is stored in Redis under rowpipe:checkpoint:default" \
  "$(rc GET rowpipe:checkpoint:default)" '{"binlog":"mysql-bin.000001:300"}'
[[ $err == *'2 lines read: 2 rows applied, 0 skipped as already applied, 0 set aside'* ]]
check "a summary of applied, skipped and set-aside lines goes to stderr"
run_capture "$tool" --redis "$REDIS_URL" -q "$TMP/good"
expect_eq "--quiet drops the summary; a replay changes nothing" "$status:$err" "0:"
run_capture "$tool" --redis "$REDIS_URL" "$TMP/good"
[[ $err == *'0 rows applied, 2 skipped'* ]]
check "a replay skips the lines the checkpoint covers"

run_capture "$tool" --redis "$REDIS_URL" --print-checkpoint
expect_eq "--print-checkpoint prints FILE:POS for binlog-tail --from" "$status:$out" "0:mysql-bin.000001:300"
run_capture "$tool" --redis "$REDIS_URL" --print-checkpoint --name other
expect_eq "--print-checkpoint prints nothing when no checkpoint is stored" "$status:$out:$err" "0::"

rc FLUSHALL >/dev/null
{ line 100 200 1; echo '{"binlog":"x"'; line 200 300 2; } >"$TMP/bad"
run_capture "$tool" --redis "$REDIS_URL" <"$TMP/bad"
expect_eq "a malformed line stops the tool with exit 65" "$status" 65
expect "the error names the input and line number (stdin:2:)" grep -q "^$tool: error: stdin:2: " "$TMP/err"
expect_eq "what came before the bad line is applied and checkpointed, and nothing after" \
  "$(rc EXISTS d_t_1 d_t_2):$(rc GET rowpipe:checkpoint:default)" '1:{"binlog":"mysql-bin.000001:200"}'

# Every class of bad input, as line 2 of stdin between two good transactions: without --dead-letter
# an error naming stdin:2, exit 65, line 1 applied and checkpointed and nothing after it; with
# --dead-letter the line is set aside verbatim and the tool goes on.
bad_line() { # CLASS: the bad line (no newline)
  local head='"binlog":"mysql-bin.000001:200","row":0,"db":"d","table":"t"'
  local tail='"commit":true,"next":"mysql-bin.000001:250"'
  case $1 in
    no-eventType) printf '{%s,"pk":["id"],"before":null,"after":{"id":5},%s}' "$head" "$tail" ;;
    no-binlog) printf '{"row":0,"db":"d","table":"t","eventType":"INSERT","pk":["id"],"after":{"id":5},%s}' "$tail" ;;
    no-table) printf '{"binlog":"mysql-bin.000001:200","row":0,"db":"d","eventType":"INSERT","pk":["id"],"after":{"id":5},%s}' "$tail" ;;
    no-after) printf '{%s,"eventType":"INSERT","pk":["id"],"before":null,%s}' "$head" "$tail" ;;
    no-before) printf '{%s,"eventType":"DELETE","pk":["id"],"after":null,%s}' "$head" "$tail" ;;
    unknown-type) printf '{%s,"eventType":"UPSERT","pk":["id"],"after":{"id":5},%s}' "$head" "$tail" ;;
    oversized) printf '{%s,"eventType":"INSERT","pk":["id"],"after":{"id":5,"v":"%s"},%s}' "$head" "$(printf 'y%.0s' {1..1100})" "$tail" ;;
    empty) ;;
    incomplete) line 200 250 5 | head -c 70 ;;
  esac
}
declare -A bad_why=(
  [no-eventType]='missing field "eventType"' [no-binlog]='missing field "binlog"' [no-table]='missing field "table"'
  [no-after]='INSERT without an "after" image' [no-before]='DELETE without a "before" image'
  [unknown-type]='unknown eventType "UPSERT"' [oversized]='line longer than --max-line-bytes 1024'
  [empty]='empty line' [incomplete]='incomplete last line (input ended inside it)'
)
for class in no-eventType no-binlog no-table no-after no-before unknown-type oversized empty incomplete; do
  in=$TMP/class-$class
  { line 100 200 1; bad_line "$class"; [[ $class == incomplete ]] || { echo; line 250 300 2; }; } >"$in"
  rc FLUSHALL >/dev/null
  run_capture "$tool" --redis "$REDIS_URL" --max-line-bytes 1024 <"$in"
  expect_eq "bad input ($class): exit 65, with line 1 applied and checkpointed and nothing after it" \
    "$status:$(rc EXISTS d_t_1):$(rc EXISTS d_t_2 d_t_5):$(rc GET rowpipe:checkpoint:default)" \
    '65:1:0:{"binlog":"mysql-bin.000001:200"}'
  expect "bad input ($class): the error names the line: stdin:2: ${bad_why[$class]}" \
    grep -qF "$tool: error: stdin:2: ${bad_why[$class]}" "$TMP/err"
  rc FLUSHALL >/dev/null
  rm -f "$TMP/dead-class"
  run_capture "$tool" --redis "$REDIS_URL" --max-line-bytes 1024 --dead-letter "$TMP/dead-class" <"$in"
  if [[ $class == incomplete ]]; then want='0:1:0:{"binlog":"mysql-bin.000001:200"}'; else want='0:1:1:{"binlog":"mysql-bin.000001:300"}'; fi
  expect_eq "bad input ($class) with --dead-letter: set aside, the rest applied and checkpointed (exit 0)" \
    "$status:$(rc EXISTS d_t_1):$(rc EXISTS d_t_2 d_t_5):$(rc GET rowpipe:checkpoint:default)" "$want"
  expect "bad input ($class) with --dead-letter: stderr names stdin:2 and the file; the summary counts it" \
    bash -c "grep -qF '$tool: error: stdin:2: ${bad_why[$class]}' '$TMP/err' && grep -qF 'set aside in $TMP/dead-class' '$TMP/err' &&
      grep -q ', 1 set aside' '$TMP/err'"
  printf '%s\n' "$(sed -n 2p "$in")" >"$TMP/dead.want"
  expect "bad input ($class) with --dead-letter: the dead-letter file holds the line verbatim" cmp -s "$TMP/dead-class" "$TMP/dead.want"
done

rc FLUSHALL >/dev/null
{
  line 100 200 1
  echo '{"binlog":"mysql-bin.000001:200","row":0,"db":"d","table":"nokey","eventType":"INSERT","before":null,"after":{"v":1},"commit":true,"next":"mysql-bin.000001:250"}'
  echo 'not json'
  line 250 300 2
} >"$TMP/bad2"
run_capture "$tool" --redis "$REDIS_URL" --dead-letter "$TMP/dead" "$TMP/bad2"
expect_eq "--dead-letter sets bad lines aside and goes on (exit 0)" "$status:$(rc EXISTS d_t_1 d_t_2)" "0:2"
expect_eq "the dead-letter file holds the rejected lines verbatim" "$(sed -n 2p "$TMP/dead")" "not json"
expect "a row without key columns is set aside with its line number" \
  grep -q "^$tool: error: .*bad2:2: table d.nokey has no key columns.*set aside" "$TMP/err"
expect "the summary counts the lines set aside" grep -q '2 set aside' "$TMP/err"
rc FLUSHALL >/dev/null
head -3 "$TMP/bad2" >"$TMP/bad3"
run_capture "$tool" --redis "$REDIS_URL" --ack --dead-letter "$TMP/dead3" "$TMP/bad3"
expect_eq "--ack counts lines set aside, and a set-aside line still ends its transaction" \
  "$status:$out:$(rc GET rowpipe:checkpoint:default)" '0:3:{"binlog":"mysql-bin.000001:250"}'
rc FLUSHALL >/dev/null
run_capture "$tool" --redis "$REDIS_URL" --dead-letter "$TMP/dead2" --max-errors 1 "$TMP/bad2"
[[ $status -eq 65 && $err == *'bad2:3:'* ]]
check "--max-errors bounds the lines set aside (exit 65 at the next)"
expect_eq "lines before the stop are applied" "$(rc EXISTS d_t_1 d_t_2)" "1"

rc FLUSHALL >/dev/null
run_capture "$tool" --redis "$REDIS_URL" --ack "$TMP/good"
expect_eq "--ack prints the count of applied lines after each durable step" "$out" "2"
run_capture "$tool" --redis "$REDIS_URL" --ack "$TMP/good"
expect_eq "--ack counts lines skipped as already applied" "$out" "2"

hb() { printf '{"binlog":"mysql-bin.000001:%s","eventType":"HEARTBEAT","commit":true,"next":"mysql-bin.000001:%s"}\n' "$1" "$1"; }
{ hb 300; hb 300; hb 350; hb 350; } >"$TMP/hb"
run_capture "$tool" --redis "$REDIS_URL" --ack "$TMP/hb"
expect_eq "HEARTBEAT lines move the checkpoint, repeated positions too, and count in --ack" \
  "$status:$out:$(rc GET rowpipe:checkpoint:default)" '0:4:{"binlog":"mysql-bin.000001:350"}'

line 350 400 3 >"$TMP/open"
printf '{"binlog":"mysql-bin.000001:400","row":0,"db":"d","table":"t","eventType":"INSERT","pk":["id"],"before":null,"after":{"id":4}}\n' >>"$TMP/open"
run_capture "$tool" --redis "$REDIS_URL" "$TMP/open"
[[ $status -eq 0 && $err == *'input ended inside the transaction that follows mysql-bin.000001:400'*'not applied'* ]]
check "input ending inside a transaction leaves it unapplied and says so"
expect_eq "the complete transaction before it was applied, the open one not" "$(rc EXISTS d_t_3):$(rc EXISTS d_t_4)" "1:0"

# A closed stdout (--ack | head -1) ends the tool quietly; what was applied stays checkpointed.
rc FLUSHALL >/dev/null
for i in $(seq 1 3000); do line $((i * 100)) $((i * 100 + 100)) "$i"; done >"$TMP/many"
"$tool" --redis "$REDIS_URL" --ack --batch-bytes 4096 "$TMP/many" 2>"$TMP/err" | head -1 >"$TMP/first"
status=${PIPESTATUS[0]}
expect_eq "'jsonl-to-redis --ack | head -1' ends quietly with exit 0" "$status:$(grep -v notice "$TMP/err")" "0:"
expect "'| head -1' receives one count" grep -qE '^[0-9]+$' "$TMP/first"
[[ $(rc GET rowpipe:checkpoint:default) =~ ^\{\"binlog\":\"mysql-bin.000001:[0-9]+00\"\}$ ]]
check "the checkpoint left behind names a transaction boundary"

# A password in a URL is blanked from argv at once and never printed, even while retrying.
"$tool" --redis 'redis://:s3cretpw@127.0.0.1:1' --retry-for 30 --timeout 1 /dev/null 2>"$TMP/err3" &
pid=$!
sleep 0.5
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
[[ $cmdline != *s3cretpw* && $cmdline == *127.0.0.1:1* ]]
check "a password given in a URL is blanked from /proc/PID/cmdline at once"
kill -TERM "$pid"
wait "$pid"
status=$?
[[ $status -eq 69 && $(cat "$TMP/err3") == *'127.0.0.1:1'* ]] && ! grep -q s3cretpw "$TMP/err3"
check "SIGTERM while Redis is unavailable exits 69 naming the instance, never the password"

# SIGTERM drains: stop reading, apply what was read, checkpoint, exit 0.
mkfifo "$TMP/fifo"
rc FLUSHALL >/dev/null
"$tool" --redis "$REDIS_URL" <"$TMP/fifo" >"$TMP/out3" 2>"$TMP/err3" &
pid=$!
exec 7>"$TMP/fifo"
line 100 200 1 >&7
line 200 300 2 >&7
sleep 0.5
kill -TERM "$pid"
wait "$pid"
status=$?
exec 7>&-
expect_eq "SIGTERM while waiting for input exits 0" "$status" 0
expect_eq "SIGTERM drained both transactions into Redis with their checkpoint" \
  "$(rc EXISTS d_t_1 d_t_2):$(rc GET rowpipe:checkpoint:default)" '2:{"binlog":"mysql-bin.000001:300"}'

# --redis @FILE reads the URL from a file (so a password in it stays out of argv).
rc FLUSHALL >/dev/null
echo "$REDIS_URL" >"$TMP/redis.url"
run_capture "$tool" --redis "@$TMP/redis.url" "$TMP/good"
expect_eq "--redis @FILE takes the URL from the file" "$status:$(rc EXISTS d_t_1 d_t_2)" "0:2"

# Memory stays bounded whatever the transaction size: one transaction of 200,000 rows (~30 MB).
rc FLUSHALL >/dev/null
/usr/bin/python3 -c '
n = 200000
for i in range(n):
    tail = ",\"commit\":true,\"next\":\"mysql-bin.000009:99999999\"" if i == n - 1 else ""
    print("{\"binlog\":\"mysql-bin.000009:%d\",\"row\":%d,\"db\":\"d\",\"table\":\"big\",\"eventType\":\"INSERT\",\"pk\":[\"id\"],\"after\":{\"id\":%d,\"v\":\"%s\"}%s}" % (4 + i // 100 * 1000, i % 100, i, "x" * 64, tail))
' >"$TMP/huge"
/usr/bin/time -f %M -o "$TMP/rss" "$tool" -q --redis "$REDIS_URL" "$TMP/huge"
status=$?
rss=$(cat "$TMP/rss")
expect "a 200,000-row transaction is applied in chunks in bounded memory (peak RSS ${rss} KB < 64 MB)" \
  test "$status" -eq 0 -a "$(rc HLEN d_big_199999)" -eq 2 -a "$rss" -lt 65536
expect_eq "... and its checkpoint is the transaction's end" "$(rc GET rowpipe:checkpoint:default)" \
  '{"binlog":"mysql-bin.000009:99999999"}'

seed=$SHARED/corpus/seed/binlog_2016.log
if [[ ! -r $seed ]]; then
  echo "skip - the seed corpus replays into Redis: $seed is missing (set ROWPIPE_SHARED)"
else
  rc FLUSHALL >/dev/null
  run_capture "$tool" --redis "$REDIS_URL" "$seed"
  [[ $status -eq 65 && $err == *'binlog_2016.log:1: table kelin_test.user has no key columns'* ]]
check "seed lines without key information are a data error naming line 1"
  echo '{"kelin_test.user": {"key": ["id"]}}' >"$TMP/map.json"
  rc FLUSHALL >/dev/null
  run_capture "$tool" --redis "$REDIS_URL" --map "$TMP/map.json" "$seed"
  expect_eq "the seed corpus leaves exactly the rows with id 1, 5, 8 and 10" \
    "$status:$(rc --scan --pattern 'kelin_test_user_*' | sort | tr '\n' ' ')" \
    "0:kelin_test_user_1 kelin_test_user_10 kelin_test_user_5 kelin_test_user_8 "
  want10=$(sed -n 31p "$seed" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["after"]["img"])')
  want5=$(sed -n 22p "$seed" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["after"]["img"])')
  expect_eq "each row is as its last line left it (ids 10 and 5, quotes and backslashes intact)" \
    "$(rc HGET kelin_test_user_10 img)|$(rc HGET kelin_test_user_5 img)" "$want10|$want5"
  expect_eq "the seed checkpoint names the last line's position and row" \
    "$(rc GET rowpipe:checkpoint:default)" \
    '{"binlog":"mysql-bin.000062:783","applied":"mysql-bin.000062:783:0"}'
  run_capture "$tool" --redis "$REDIS_URL" --map "$TMP/map.json" "$seed"
  [[ $status -eq 0 && $err == *'0 rows applied, 31 skipped'* ]]
check "replaying the seed corpus skips every line"
fi
