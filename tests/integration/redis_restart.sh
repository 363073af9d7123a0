# jsonl-to-redis while Redis restarts, dies or stays away: it retries with backoff and loses or
# repeats nothing when Redis kept its data; it refuses to go on when Redis lost writes it had
# confirmed; it gives up after --retry-for naming the last applied position.
# services: redis
# budget: 180
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${REDIS_URL:-} ]]; then
  echo "skip - Redis restart tests: no Redis (tests/services/run could not start one)"
  exit 0
fi
if ! "$ROOT/tests/services/ctl" redis status >/dev/null 2>&1; then
  echo "skip - Redis restart tests: the Redis at $REDIS_URL is not owned by tests/services/run (set ROWPIPE_OWN_SERVICES=1)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/redis_model.py" "$@"; }
rc() { redis-cli -u "$REDIS_URL" "$@"; }
ctl() { "$ROOT/tests/services/ctl" redis "$@" 2>>"$TMP/ctl.log"; }
# feed FILE LINES_PER_STEP: writes FILE to stdout in steps 20 ms apart, as a live stream would.
feed() {
  /usr/bin/python3 -c '
import sys, time
n = int(sys.argv[2])
with open(sys.argv[1], "rb") as f:
    lines = f.readlines()
out = sys.stdout.buffer
try:
    for i in range(0, len(lines), n):
        out.write(b"".join(lines[i:i + n])); out.flush(); time.sleep(0.02)
except BrokenPipeError:
    pass
' "$1" "$2"
}

work=$TMP/work.jsonl
model gen --seed 21 --txns 8000 --truncate >"$work"

# 1. A crash that loses data (no dump to reload): the checkpoint goes back, and the tool must not
# carry on as if it had not.
rc FLUSHALL >/dev/null
rc CONFIG SET save "" >/dev/null
feed "$work" 100 | jsonl-to-redis --redis "$REDIS_URL" 2>"$TMP/err2" &
pid=$!
sleep 0.8
ctl kill
ctl start
wait "$pid"
status=$?
expect "Redis losing writes it had confirmed stops the tool (exit 69) with the reason" \
  bash -c "[[ $status -eq 69 ]] && grep -q 'lost writes it had confirmed' '$TMP/err2'"
expect "the message names the last applied position" grep -q 'last applied position: mysql-bin\.' "$TMP/err2"

# 2. A restart that keeps the data (saved on shutdown, loaded on start).
rc FLUSHALL >/dev/null
rc CONFIG SET save "3600 1" >/dev/null
feed "$work" 150 | jsonl-to-redis --redis "$REDIS_URL" 2>"$TMP/err1" &
pid=$!
sleep 0.8
ctl restart
wait "$pid"
status=$?
expect_eq "a Redis restart mid-stream: the tool retries, reconnects and ends with exit 0" "$status" 0
expect "it says it lost the connection and reconnected" \
  bash -c "grep -q 'reconnecting' '$TMP/err1' && grep -q 'reconnected after' '$TMP/err1'"
verdict=$(model compare "$REDIS_URL" "$work")
expect_eq "after the restart Redis equals the state computed independently (nothing lost or doubled)" \
  "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"

# 3. Redis away for longer than --retry-for: exit 69 naming the last applied position; a later run
# completes the work.
rc FLUSHALL >/dev/null
rc CONFIG SET save "3600 1" >/dev/null
feed "$work" 100 | jsonl-to-redis --redis "$REDIS_URL" --retry-for 2 2>"$TMP/err3" &
pid=$!
sleep 0.6
ctl stop
start=$SECONDS
wait "$pid"
status=$?
expect "Redis away longer than --retry-for 2: exit 69 after about 2 s" \
  bash -c "[[ $status -eq 69 && $((SECONDS - start)) -le 6 ]]"
expect "the message says how long it waited and names the last applied position" \
  bash -c "grep -q 'unavailable for 2' '$TMP/err3' && grep -q 'last applied position: mysql-bin\.' '$TMP/err3'"
ctl start
jsonl-to-redis --redis "$REDIS_URL" "$work" 2>"$TMP/err4"
expect_eq "a run after Redis is back finishes the work (exit 0)" "$?" 0
verdict=$(model compare "$REDIS_URL" "$work")
expect_eq "... and Redis equals the expected state" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"

# 4. --guard while Redis restarts (saving and reloading its data): each row is its own compare-and-set
# script, so the tool must load the script again into the restarted server (its script cache is
# empty) and re-send the rows whose replies were lost; those the server had applied are then older
# than what their keys hold and change nothing. Shuffled, duplicated input, so the ordered mode's
# checkpoint could not help.
guard_work=$TMP/guard.jsonl
model gen --seed 22 --txns 6000 --no-partial --reinsert --truncate >"$TMP/guard-ordered.jsonl"
model shuffle --seed 22 --dup 0.2 "$TMP/guard-ordered.jsonl" >"$guard_work"
rc FLUSHALL >/dev/null
rc CONFIG SET save "3600 1" >/dev/null
feed "$guard_work" 150 | jsonl-to-redis --guard --batch-bytes 16384 --redis "$REDIS_URL" 2>"$TMP/err5" &
pid=$!
sleep 0.8
ctl restart
wait "$pid"
status=$?
expect_eq "--guard with a Redis restart mid-stream: the tool reconnects and ends with exit 0" "$status" 0
[[ $status -eq 0 ]] || sed "s/^/#   /" "$TMP/err5" | tail -5
expect "... it said it lost the connection and reconnected (the restart fell mid-stream)" \
  bash -c "grep -q 'reconnecting' '$TMP/err5' && grep -q 'reconnected after' '$TMP/err5'"
verdict=$(model compare "$REDIS_URL" "$TMP/guard-ordered.jsonl")
expect_eq "... and Redis equals the state of the ordered stream, computed independently" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"
