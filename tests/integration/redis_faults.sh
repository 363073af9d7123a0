# jsonl-to-redis exactly once under crashes: seeded kill -9s at random instants and failpoints
# (ROWPIPE_FAILPOINT), each followed by a check that Redis holds exactly what its checkpoint covers
# (nothing half applied), then a restart; the final state must equal the one computed independently
# by tests/integration/redis_model.py.
# services: redis
# budget: 420
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${REDIS_URL:-} ]]; then
  echo "skip - crash tests of jsonl-to-redis: no Redis (tests/services/run could not start one)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/redis_model.py" "$@"; }
rc() { redis-cli -u "$REDIS_URL" "$@"; }
seed=${SEED:-5}
RANDOM=$seed

work=$TMP/work.jsonl
model gen --seed "$seed" --txns 12000 --huge 1500 --truncate >"$work"
echo "# workload: $(wc -l <"$work") lines (seed $seed)"

# check_atomic SENTENCE: Redis equals the fold of the lines its stored checkpoint covers.
check_atomic() {
  local verdict
  verdict=$(model check "$REDIS_URL" "$work")
  if [[ $verdict == same* ]]; then echo "ok - $1"; else echo "not ok - $1: $verdict"; fi
  if [[ $verdict == *"purge in progress"* ]]; then echo "#   ${verdict%%$'\n'*}"; fi
}

rc FLUSHALL >/dev/null
kills=0 attempts=0 finished=0
while ((kills < 24 && attempts < 80)); do
  attempts=$((attempts + 1))
  opts=(--redis "$REDIS_URL" -q)
  ((attempts % 2 == 0)) && opts+=(--batch-bytes 4096)
  delay=$((RANDOM % 300 + 5))
  if ((attempts % 3 == 0)); then
    cat "$work" | jsonl-to-redis "${opts[@]}" 2>>"$TMP/err" &
  else
    jsonl-to-redis "${opts[@]}" "$work" 2>>"$TMP/err" &
  fi
  pid=$!
  sleep "$(printf '0.%03d' "$delay")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    kills=$((kills + 1))
    check_atomic "after kill -9 number $kills (at ${delay} ms) Redis holds exactly what its checkpoint covers"
  else
    wait "$pid"
    finished=$((finished + 1))
    rc FLUSHALL >/dev/null  # the run completed before the kill: start over for more mid-stream kills
  fi
done
expect "at least 20 kill -9s landed while the tool was running ($kills in $attempts attempts)" test "$kills" -ge 20

# Failpoints at the instants a random kill rarely hits: right after an EXEC was confirmed, with a MULTI
# sent but its EXEC held back, between the chunks of a huge transaction, and inside a TRUNCATE.
rc FLUSHALL >/dev/null
for fp in after-exec:1 after-exec:7 before-exec:2 after-exec:40 before-exec:15 mid-chunk:1 mid-chunk:3; do
  ROWPIPE_FAILPOINT=$fp jsonl-to-redis --redis "$REDIS_URL" -q --batch-bytes 8192 "$work" 2>"$TMP/fp-err"
  status=$?
  if [[ $status -eq 99 ]] && grep -q "failpoint $fp reached" "$TMP/fp-err"; then
    check_atomic "failpoint $fp: the tool died there and Redis holds exactly what its checkpoint covers"
  else
    echo "not ok - failpoint $fp was not reached (exit $status): $(head -c 300 "$TMP/fp-err")"
  fi
done
# Inside a TRUNCATE: after its first pages (deleted with the purge marker standing) or with its last
# page queued; the check then allows that table, and only it, to lack keys.
for fp in mid-purge:1 mid-purge:2 mid-purge:5; do
  ROWPIPE_FAILPOINT=$fp jsonl-to-redis --redis "$REDIS_URL" -q --batch-bytes 8192 "$work" 2>"$TMP/fp-err"
  status=$?
  expect_eq "failpoint $fp stops the tool inside a TRUNCATE" "$status" 99
  check_atomic "failpoint $fp: Redis holds exactly what its checkpoint covers, less keys of the table being purged"
done

jsonl-to-redis --redis "$REDIS_URL" "$work" 2>"$TMP/last-err"
status=$?
expect_eq "the restart after the last crash completes (exit 0)" "$status" 0
verdict=$(model compare "$REDIS_URL" "$work")
expect_eq "after all the crashes, Redis equals the state computed independently of the tool" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"
expect "no purge marker is left once every TRUNCATE is done" test -z "$(rc GET rowpipe:purge:default)"
expect_eq "the final checkpoint is the last transaction's next" "$(rc GET rowpipe:checkpoint:default | sed 's/.*"binlog":"\([^"]*\)".*/\1/')" \
  "$(tail -1 "$work" | sed 's/.*"next":"\([^"]*\)".*/\1/')"
jsonl-to-redis --redis "$REDIS_URL" "$work" 2>"$TMP/replay-err"
expect "replaying the whole input once more applies nothing" grep -q ' 0 rows applied' "$TMP/replay-err"
expect_eq "... and leaves the same state" "$(model compare "$REDIS_URL" "$work" | cut -c1-4)" same
