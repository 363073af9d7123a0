# jsonl-to-redis --guard: unordered input (shuffled, duplicated, split over concurrent consumers as Kafka
# partitions would be) with deletes, re-inserts, key changes and TRUNCATEs still leaves the state of the
# ordered stream, computed independently; tombstones keep deleted rows from coming back.
# services: redis
# budget: 180
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${REDIS_URL:-} ]]; then
  echo "skip - jsonl-to-redis --guard: no Redis (tests/services/run could not start one)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/redis_model.py" "$@"; }
rc() { redis-cli -u "$REDIS_URL" "$@"; }
same() { # same SENTENCE: Redis holds the state the ordered input leaves
  local verdict
  verdict=$(model compare "$REDIS_URL" "$TMP/ordered.jsonl")
  if [[ $verdict == same* ]]; then echo "ok - $1"; else echo "not ok - $1: $verdict"; fi
}

model gen --seed 31 --txns 4000 --no-partial --reinsert --truncate >"$TMP/ordered.jsonl"
model shuffle --seed 31 --dup 0.25 "$TMP/ordered.jsonl" >"$TMP/shuffled.jsonl"

rc FLUSHALL >/dev/null
run_capture jsonl-to-redis --guard --redis "$REDIS_URL" "$TMP/shuffled.jsonl"
expect_eq "--guard applies shuffled, duplicated input (exit 0)" "$status" 0
same "shuffled and duplicated input leaves the state of the ordered stream"
expect "the summary counts the rows older than what their keys held" grep -qE ' [1-9][0-9]* older than what Redis holds' "$TMP/err"

run_capture jsonl-to-redis --guard --redis "$REDIS_URL" "$TMP/shuffled.jsonl"
expect "a second pass over the same input applies nothing" grep -q ' 0 rows applied' "$TMP/err"
same "... and changes nothing"

# Three consumers at once on disjoint shares, each share carrying duplicates of the others' lines.
rc FLUSHALL >/dev/null
for i in 0 1 2; do
  awk -v i="$i" 'NR % 3 == i || NR % 11 == 0' "$TMP/shuffled.jsonl" >"$TMP/part$i"
done
for i in 0 1 2; do
  jsonl-to-redis --guard -q --batch-bytes 16384 --redis "$REDIS_URL" "$TMP/part$i" 2>"$TMP/err$i" &
  pids[i]=$!
done
codes=""
for i in 0 1 2; do
  wait "${pids[i]}"
  codes+="$?"
done
expect_eq "three concurrent --guard consumers all exit 0" "$codes" 000
same "three concurrent consumers on shuffled shares leave the state of the ordered stream"

# Tombstones: a delete leaves its position for --tombstone-ttl seconds; an older insert stays out.
rc FLUSHALL >/dev/null
row() { # row OFFSET TYPE BEFORE AFTER
  printf '{"binlog":"mysql-bin.000001:%s","row":0,"db":"d","table":"t","eventType":"%s","pk":["id"],"before":%s,"after":%s,"commit":true,"next":"mysql-bin.000001:%s"}\n' \
    "$1" "$2" "$3" "$4" "$(($1 + 10))"
}
{
  row 300 DELETE '{"id":1,"v":"b"}' null
  row 200 UPDATE '{"id":1,"v":"a"}' '{"id":1,"v":"b"}'
  row 100 INSERT null '{"id":1,"v":"a"}'
  row 400 INSERT null '{"id":2,"v":"c"}'
} >"$TMP/tomb"
run_capture jsonl-to-redis --guard --tombstone-ttl 600 --redis "$REDIS_URL" "$TMP/tomb"
expect_eq "a delete that arrives first keeps the older update and insert out" "$(rc EXISTS d_t_1):$(rc HGET d_t_2 v)" "0:c"
expect_eq "the tombstone holds the delete's position" "$(rc GET rowpipe:pos:d_t_1)" "mysql-bin.000001:300:0"
ttl=$(rc TTL rowpipe:pos:d_t_1)
expect "the tombstone expires after --tombstone-ttl seconds ($ttl)" test "$ttl" -gt 590 -a "$ttl" -le 600
expect_eq "a live row's position does not expire" "$(rc TTL rowpipe:pos:d_t_2)" "-1"
row 500 INSERT null '{"id":1,"v":"again"}' >"$TMP/again"
run_capture jsonl-to-redis --guard --redis "$REDIS_URL" "$TMP/again"
expect_eq "a newer re-insert brings the row back and clears the tombstone's expiry" \
  "$(rc HGET d_t_1 v):$(rc TTL rowpipe:pos:d_t_1)" "again:-1"

run_capture jsonl-to-redis --guard --ack --redis "$REDIS_URL" "$TMP/tomb"
expect_eq "--guard --ack prints the count of lines dealt with" "$out" "4"
