# jsonl-to-mongo on the command line: options, exit codes, messages, bad input, dead letters, acks,
# checkpoints, `| head -1`, SIGTERM draining, secrets, and the seed corpus. Needs a MongoDB server:
# started privately through tests/services/run when MONGO_URL is not set.
if [[ -z ${MONGO_URL:-} && -z ${ROWPIPE_IN_SERVICES:-} ]]; then
  ROWPIPE_IN_SERVICES=1 exec "$(dirname "$0")/../services/run" mongo -- bash "$0" "$@"
fi
source "$(dirname "$0")/lib.bash"

# check SENTENCE: passes when the command just before succeeded.
check() { if (($? == 0)); then echo "ok - $1"; else echo "not ok - $1"; fi; }

tool=jsonl-to-mongo
run_capture "$tool" --help
[[ $status -eq 0 && $out == *--mongo* && $out == *--guard* && $out == *--dead-letter* && $out == *--decimal* ]]
check "--help lists the destination, mode, type and input options"
run_capture "$tool" /dev/null
[[ $status -eq 64 && $err == *'--mongo'* ]]
check "without --mongo it is a usage error (exit 64) naming the option"
run_capture "$tool" --mongo mongodb://127.0.0.1:1 --collection '{nope}' /dev/null
[[ $status -eq 64 && $err == *'{nope}'* ]]
check "a bad collection template is a usage error (exit 64)"
run_capture "$tool" --mongo mongodb://127.0.0.1:1 --decimal float /dev/null
expect_eq "an unknown --decimal is a usage error" "$status" 64
run_capture "$tool" --mongo redis://127.0.0.1:1 /dev/null
[[ $status -eq 64 && $err == *mongodb* ]]
check "a URL of another scheme is a usage error"
run_capture "$tool" --mongo mongodb://127.0.0.1:1 --guard --refetch mysql://u@127.0.0.1:1 /dev/null
[[ $status -eq 64 && $err == *--refetch* ]]
check "--refetch with --guard is a usage error"
run_capture "$tool" --mongo 'mongodb://127.0.0.1:1/?w=0' --retry-for 0 /dev/null
[[ $status -eq 64 && $err == *'w=0'* ]]
check "an unacknowledged write concern (w=0) is refused: the checkpoint could pass unapplied writes"
echo '{"d.t": {"keys": ["id"]}}' >"$TMP/badmap.json"
run_capture "$tool" --mongo mongodb://127.0.0.1:1 --map "$TMP/badmap.json" /dev/null
[[ $status -eq 78 && $err == *badmap.json* ]]
check "a bad map file is a configuration error (exit 78) naming the file"
run_capture "$tool" --mongo 'mongodb://u:s3cretpw@127.0.0.1:1/?serverSelectionTimeoutMS=300' --retry-for 0 --timeout 1 /dev/null
[[ $status -eq 69 && $err == *'127.0.0.1:1'* && $err == *'last applied position'* ]]
check "an unreachable server exits 69 naming the URL and the last applied position"
! grep -q s3cretpw "$TMP/err"
check "the password of a URL never reaches stderr"

if [[ -z ${MONGO_URL:-} ]]; then
  echo "skip - jsonl-to-mongo against a server: no MongoDB (tests/services/run could not start one)"
  exit 0
fi
dump() { mongo-dump "$MONGO_URL" "$@"; }
fresh() { mongo-dump --drop "$MONGO_URL" d kelin_test rowpipe; }
ckpt() { dump rowpipe.rowpipe_checkpoints | grep "\"_id\" : \"${1:-default}\"" | sed 's/.*"binlog" : "\([^"]*\)".*/\1/'; }
fresh

line() { # line OFFSET NEXT ID [TABLE]: one committed INSERT transaction
  printf '{"binlog":"mysql-bin.000001:%s","row":0,"db":"d","table":"%s","eventType":"INSERT","pk":["id"],"types":{"id":"int","v":"varchar"},"before":null,"after":{"id":%s,"v":"x%s"},"commit":true,"next":"mysql-bin.000001:%s"}\n' \
    "$1" "${4:-t}" "$3" "$3" "$2"
}

line 100 200 1 >"$TMP/good"
line 200 300 2 >>"$TMP/good"
run_capture "$tool" --mongo "$MONGO_URL" "$TMP/good"
expect_eq "valid lines are applied and the tool exits 0 with nothing on stdout" "$status:$out" "0:"
expect_eq "each row is a document of collection {db}.{table} with _id the key" \
  "$(dump d.t | tail -1)" 'd.t { "_id" : { "$numberInt" : "2" }, "id" : { "$numberInt" : "2" }, "v" : "x2" }'
expect_eq "the checkpoint is stored in rowpipe.rowpipe_checkpoints under _id default" "$(ckpt)" "mysql-bin.000001:300"
[[ $err == *'2 lines read: 2 rows applied, 0 skipped as already applied, 0 set aside'* ]]
check "a summary of applied, skipped and set-aside lines goes to stderr"
run_capture "$tool" --mongo "$MONGO_URL" -q "$TMP/good"
expect_eq "--quiet drops the summary; a replay changes nothing" "$status:$err" "0:"
run_capture "$tool" --mongo "$MONGO_URL" "$TMP/good"
[[ $err == *'0 rows applied, 2 skipped'* ]]
check "a replay skips the lines the checkpoint covers"

run_capture "$tool" --mongo "$MONGO_URL" --print-checkpoint
expect_eq "--print-checkpoint prints FILE:POS for binlog-tail --from" "$status:$out" "0:mysql-bin.000001:300"
run_capture "$tool" --mongo "$MONGO_URL" --print-checkpoint --name other
expect_eq "--print-checkpoint prints nothing when no checkpoint is stored" "$status:$out:$err" "0::"

fresh
{ line 100 200 1; echo '{"binlog":"x"'; line 200 300 2; } >"$TMP/bad"
run_capture "$tool" --mongo "$MONGO_URL" <"$TMP/bad"
expect_eq "a malformed line stops the tool with exit 65" "$status" 65
expect "the error names the input and line number (stdin:2:)" grep -q "^$tool: error: stdin:2: " "$TMP/err"
expect_eq "what came before the bad line is applied and checkpointed, and nothing after" \
  "$(dump d.t | wc -l):$(ckpt)" '1:mysql-bin.000001:200'

fresh
{
  line 100 200 1
  echo '{"binlog":"mysql-bin.000001:200","row":0,"db":"d","table":"nokey","eventType":"INSERT","before":null,"after":{"v":1},"commit":true,"next":"mysql-bin.000001:250"}'
  echo 'not json'
  line 250 300 2
  echo '{"binlog":"mysql-bin.000001:300","row":0,"db":"d","table":"t","eventType":"INSERT","pk":["id"],"types":{"id":"int","j":"json"},"before":null,"after":{"id":3,"j":{"a.b":1}},"commit":true,"next":"mysql-bin.000001:350"}'
  echo '{"binlog":"mysql-bin.000001:350","row":0,"db":"d","table":"t","eventType":"INSERT","pk":["id"],"types":{"id":"int","n":"int"},"before":null,"after":{"id":4,"n":"four"},"commit":true,"next":"mysql-bin.000001:400"}'
  line 400 500 5
} >"$TMP/bad2"
run_capture "$tool" --mongo "$MONGO_URL" --dead-letter "$TMP/dead" "$TMP/bad2"
expect_eq "--dead-letter sets bad lines aside and goes on (exit 0)" "$status:$(dump d.t | wc -l)" "0:3"
expect_eq "the dead-letter file holds the rejected lines verbatim" "$(sed -n 2p "$TMP/dead")" "not json"
expect "a row without key columns is set aside with its line number" \
  grep -q "^$tool: error: .*bad2:2: table d.nokey has no key columns.*set aside" "$TMP/err"
expect "a value that does not fit its type is set aside naming the column" \
  grep -q "^$tool: error: .*bad2:6: column \"n\" holds a string where its type int needs an integer.*set aside" "$TMP/err"
expect "a document the server refuses is set aside with its line number and the server's reason" \
  grep -q "^$tool: error: .*bad2:5: writing to d.t: .*set aside" "$TMP/err"
expect "the dead-letter file holds the refused document's line too" grep -q '"id":3,"j":{"a.b":1}' "$TMP/dead"
expect "the summary counts the lines set aside" grep -q '4 set aside' "$TMP/err"
expect_eq "the checkpoint moved past the lines set aside" "$(ckpt)" "mysql-bin.000001:500"
fresh
run_capture "$tool" --mongo "$MONGO_URL" --dead-letter "$TMP/dead2" --max-errors 1 "$TMP/bad2"
[[ $status -eq 65 && $err == *'bad2:3:'* ]]
check "--max-errors bounds the lines set aside (exit 65 at the next)"
expect_eq "lines before the stop are applied" "$(dump d.t | wc -l)" "1"
fresh
head -5 "$TMP/bad2" | tail -2 >"$TMP/refused"
line 100 200 1 >"$TMP/refused2"
sed -n 5p "$TMP/bad2" >>"$TMP/refused2"
line 400 500 5 >>"$TMP/refused2"
run_capture "$tool" --mongo "$MONGO_URL" "$TMP/refused2"
[[ $status -eq 65 && $err == *'refused2:2: writing to d.t:'* ]]
check "a document the server refuses stops the tool (exit 65) naming its line"
expect_eq "what came before it is applied and checkpointed" "$(ckpt)" "mysql-bin.000001:200"

# Every class of bad input, as line 2 of stdin between two good transactions: without --dead-letter
# an error naming stdin:2, exit 65, line 1 applied and checkpointed and nothing after it; with
# --dead-letter the line is set aside verbatim and the tool goes on. The last three are lines the
# server refuses: a field name FerretDB v1 refuses, a nested array (FerretDB v1 has none: a per-line
# error, not a dropped connection retried), a document over 16 MiB.
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
    dotted-name) printf '{%s,"eventType":"INSERT","pk":["id"],"types":{"id":"int","j":"json"},"after":{"id":5,"j":{"a.b":1}},%s}' "$head" "$tail" ;;
    nested-array) printf '{%s,"eventType":"INSERT","pk":["id"],"types":{"id":"int","j":"json"},"after":{"id":5,"j":{"a":[[1,2],[3]]}},%s}' "$head" "$tail" ;;
    over-16mib) printf '{%s,"eventType":"INSERT","pk":["id"],"types":{"id":"int","v":"text"},"after":{"id":5,"v":"' "$head"
      head -c $((17 << 20)) /dev/zero | tr '\0' z
      printf '"},%s}' "$tail" ;;
  esac
}
declare -A bad_why=(
  [no-eventType]='missing field "eventType"' [no-binlog]='missing field "binlog"' [no-table]='missing field "table"'
  [no-after]='INSERT without an "after" image' [no-before]='DELETE without a "before" image'
  [unknown-type]='unknown eventType "UPSERT"' [oversized]='line longer than --max-line-bytes 1024'
  [empty]='empty line' [incomplete]='incomplete last line (input ended inside it)'
  [dotted-name]='writing to d.t: ' [nested-array]='writing to d.t: ' [over-16mib]='writing to d.t: '
)
docs_of() { dump d.t | sed 's/.*"_id" : { "$numberInt" : "\([0-9]*\)" }.*/\1/' | sort -n | tr '\n' ' '; }
for class in no-eventType no-binlog no-table no-after no-before unknown-type oversized empty incomplete \
  dotted-name nested-array over-16mib; do
  in=$TMP/class-$class
  { line 100 200 1; bad_line "$class"; [[ $class == incomplete ]] || { echo; line 250 300 2; }; } >"$in"
  max=1024
  [[ $class == over-16mib ]] && max=$((32 << 20))
  fresh
  SECONDS=0
  run_capture "$tool" --mongo "$MONGO_URL" --max-line-bytes "$max" --retry-for 20 <"$in"
  docs=$(docs_of)
  # A refusal is known only after the batch was written: line 3's write of that batch may be there
  # too, unacknowledged and past the checkpoint (jsonl-to-mongo(1), Bad input); a rerun redoes it.
  [[ $class == dotted-name || $class == nested-array || $class == over-16mib ]] && [[ $docs == '1 2 ' ]] && docs='1 '
  expect_eq "bad input ($class): exit 65 at once, with line 1 applied and checkpointed and nothing after it" \
    "$status:$((SECONDS < 10)):$docs:$(ckpt)" '65:1:1 :mysql-bin.000001:200'
  expect "bad input ($class): the error names the line: stdin:2: ${bad_why[$class]}" \
    grep -qF "$tool: error: stdin:2: ${bad_why[$class]}" "$TMP/err"
  fresh
  rm -f "$TMP/dead"
  run_capture "$tool" --mongo "$MONGO_URL" --max-line-bytes "$max" --retry-for 20 --dead-letter "$TMP/dead" <"$in"
  if [[ $class == incomplete ]]; then want='0:1 :mysql-bin.000001:200'; else want='0:1 2 :mysql-bin.000001:300'; fi
  expect_eq "bad input ($class) with --dead-letter: set aside, the rest applied and checkpointed (exit 0)" \
    "$status:$(docs_of):$(ckpt)" "$want"
  expect "bad input ($class) with --dead-letter: stderr names stdin:2 and the file; the summary counts it" \
    bash -c "grep -qF '$tool: error: stdin:2: ${bad_why[$class]}' '$TMP/err' && grep -qF 'set aside in $TMP/dead' '$TMP/err' &&
      grep -q ', 1 set aside' '$TMP/err'"
  printf '%s\n' "$(sed -n 2p "$in")" >"$TMP/dead.want"
  expect "bad input ($class) with --dead-letter: the dead-letter file holds the line verbatim" cmp -s "$TMP/dead" "$TMP/dead.want"
done
rm -f "$TMP/class-over-16mib" "$TMP/dead" "$TMP/dead.want"

# --guard --ack: a line the server refuses stops the tool; the acknowledgement counts only the lines
# before it, never the lines after it that were read but not applied.
fresh
{ line 100 200 1; line 200 300 2; bad_line dotted-name; echo; line 400 500 4; } >"$TMP/guardack"
run_capture "$tool" --mongo "$MONGO_URL" --guard --ack "$TMP/guardack"
[[ $status -eq 65 && $err == *'guardack:3: writing to d.t:'* ]]
check "--guard: a document the server refuses stops the tool (exit 65) naming its line"
docs=$(docs_of)
[[ $docs == '1 2 4 ' ]] && docs='1 2 ' # line 4 of the same batch may be written, unacknowledged
expect_eq "--guard --ack acknowledges only the lines before the refused one, and those are applied" \
  "$(tail -1 "$TMP/out"):$docs" "2:1 2 "
fresh
run_capture "$tool" --mongo "$MONGO_URL" --guard --ack --dead-letter "$TMP/dead" "$TMP/guardack"
expect_eq "--guard --ack --dead-letter: the refused line is set aside, then all four acknowledged" \
  "$status:$(tail -1 "$TMP/out"):$(docs_of):$(wc -l <"$TMP/dead")" "0:4:1 2 4 :1"

fresh
run_capture "$tool" --mongo "$MONGO_URL" --ack "$TMP/good"
expect_eq "--ack prints the count of applied lines after each durable step" "$out" "2"
run_capture "$tool" --mongo "$MONGO_URL" --ack "$TMP/good"
expect_eq "--ack counts lines skipped as already applied" "$out" "2"

line 300 400 3 >"$TMP/open"
printf '{"binlog":"mysql-bin.000001:400","row":0,"db":"d","table":"t","eventType":"INSERT","pk":["id"],"before":null,"after":{"id":4}}\n' >>"$TMP/open"
run_capture "$tool" --mongo "$MONGO_URL" "$TMP/open"
[[ $status -eq 0 && $err == *'input ended inside the transaction that follows mysql-bin.000001:400'*'not applied'* ]]
check "input ending inside a transaction leaves it unapplied and says so"
expect_eq "the complete transaction before it was applied, the open one not" \
  "$(dump d.t | grep -c '"_id" : { "$numberInt" : "3" }'):$(dump d.t | grep -c '"_id" : { "$numberInt" : "4" }')" "1:0"

# A closed stdout (--ack | head -1) ends the tool quietly; what was applied stays checkpointed.
fresh
for i in $(seq 1 3000); do line $((i * 100)) $((i * 100 + 100)) "$i"; done >"$TMP/many"
"$tool" --mongo "$MONGO_URL" --ack --batch-rows 100 "$TMP/many" 2>"$TMP/err" | head -1 >"$TMP/first"
status=${PIPESTATUS[0]}
expect_eq "'jsonl-to-mongo --ack | head -1' ends quietly with exit 0" "$status:$(grep -v notice "$TMP/err")" "0:"
expect "'| head -1' receives one count" grep -qE '^[0-9]+$' "$TMP/first"
[[ $(ckpt) =~ ^mysql-bin.000001:[0-9]+00$ ]]
check "the checkpoint left behind names a transaction boundary"

# A password in a URL is blanked from argv at once and never printed, even while retrying.
"$tool" --mongo 'mongodb://u:s3cretpw@127.0.0.1:1/?serverSelectionTimeoutMS=200' --retry-for 30 --timeout 1 /dev/null 2>"$TMP/err3" &
pid=$!
sleep 0.5
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
[[ $cmdline != *s3cretpw* && $cmdline == *127.0.0.1:1* ]]
check "a password given in a URL is blanked from /proc/PID/cmdline at once"
kill -TERM "$pid"
wait "$pid"
status=$?
[[ $status -eq 69 && $(cat "$TMP/err3") == *'127.0.0.1:1'* ]] && ! grep -q s3cretpw "$TMP/err3"
check "SIGTERM while the server is unavailable exits 69 naming it, never the password"

# SIGTERM drains: stop reading, apply what was read, checkpoint, exit 0.
mkfifo "$TMP/fifo"
fresh
"$tool" --mongo "$MONGO_URL" --idle-ms 60000 <"$TMP/fifo" >"$TMP/out3" 2>"$TMP/err3" &
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
expect_eq "SIGTERM drained both transactions into MongoDB with their checkpoint" \
  "$(dump d.t | wc -l):$(ckpt)" '2:mysql-bin.000001:300'

seed=$SHARED/corpus/seed/binlog_2016.log
if [[ ! -r $seed ]]; then
  echo "skip - the seed corpus replays into MongoDB: $seed is missing (set ROWPIPE_SHARED)"
else
  fresh
  run_capture "$tool" --mongo "$MONGO_URL" "$seed"
  [[ $status -eq 65 && $err == *'binlog_2016.log:1: table kelin_test.user has no key columns'* ]]
  check "seed lines without key information are a data error naming line 1"
  echo '{"kelin_test.user": {"key": ["id"]}}' >"$TMP/map.json"
  fresh
  run_capture "$tool" --mongo "$MONGO_URL" --map "$TMP/map.json" "$seed"
  expect_eq "the seed corpus leaves exactly the documents with _id 1, 5, 8 and 10" \
    "$status:$(dump kelin_test.user | sed 's/.*"_id" : "\([^"]*\)".*/\1/' | sort -n | tr '\n' ' ')" "0:1 5 8 10 "
  want=$(/usr/bin/python3 - "$seed" <<'EOF'
import json, sys
last = {}
for raw in open(sys.argv[1], encoding="utf-8"):
    l = json.loads(raw)
    row = l["after"] if l["eventType"] != "DELETE" else None
    key = (l["after"] or l["before"])["id"]
    if row is None:
        last.pop(key, None)
    else:
        last[key] = row
for k in sorted(last, key=int):
    print(json.dumps(dict({"_id": k}, **last[k]), ensure_ascii=False, sort_keys=True))
EOF
)
  got=$(dump kelin_test.user | cut -d' ' -f2- | /usr/bin/python3 -c '
import json, sys
docs = [json.loads(l) for l in sys.stdin]
for d in sorted(docs, key=lambda d: int(d["_id"])):
    print(json.dumps(d, ensure_ascii=False, sort_keys=True))')
  expect_eq "each document is as its last line left it, strings as strings (quotes and backslashes intact)" "$got" "$want"
  expect_eq "the seed checkpoint names the last line's position and row" \
    "$(dump rowpipe.rowpipe_checkpoints | sed 's/, "time".*//')" \
    'rowpipe.rowpipe_checkpoints { "_id" : "default", "binlog" : "mysql-bin.000062:783", "applied" : "mysql-bin.000062:783:0"'
  run_capture "$tool" --mongo "$MONGO_URL" --map "$TMP/map.json" "$seed"
  [[ $status -eq 0 && $err == *'0 rows applied, 31 skipped'* ]]
  check "replaying the seed corpus skips every line"
fi
