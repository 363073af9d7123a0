# jsonl-to-mongo exactly once under crashes: seeded kill -9s at random instants and failpoints
# (ROWPIPE_FAILPOINT) between a batch's writes and its checkpoint. MongoDB has no transaction here
# (FerretDB v1), so after each crash every document must hold a state its row had at or after the
# stored checkpoint (nothing torn or invented), and after the restarts the documents must equal the
# state tests/integration/mongo_model.py computes independently.
# services: mongo
# budget: 300
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${MONGO_URL:-} ]]; then
  echo "skip - crash tests of jsonl-to-mongo: no MongoDB (tests/services/run could not start one)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/mongo_model.py" "$@"; }
dump() { mongo-dump "$MONGO_URL" mdb rowpipe; }
fresh() { mongo-dump --drop "$MONGO_URL" mdb rowpipe; }
seed=${SEED:-5}
RANDOM=$seed

work=$TMP/work.jsonl
model gen --seed "$seed" --txns 2500 --huge 400 --truncate --drop >"$work"
echo "# workload: $(wc -l <"$work") lines (seed $seed)"

# check_consistent SENTENCE: every document is a state its row had since the stored checkpoint.
check_consistent() {
  local verdict docs
  # An empty database is consistent with any checkpoint: a dump that fails must not pass for one.
  if ! docs=$(dump); then
    echo "not ok - $1: mongo-dump failed"
    return
  fi
  verdict=$(model check - "$work" <<<"$docs")
  if [[ $verdict == consistent* ]]; then echo "ok - $1"; else echo "not ok - $1: $verdict"; fi
}

fresh
kills=0 attempts=0
while ((kills < 22 && attempts < 80)); do
  attempts=$((attempts + 1))
  opts=(--mongo "$MONGO_URL" -q)
  ((attempts % 2 == 0)) && opts+=(--batch-rows 50)
  delay=$((RANDOM % 400 + 20))
  if ((attempts % 3 == 0)); then
    cat "$work" | jsonl-to-mongo "${opts[@]}" 2>>"$TMP/err" &
  else
    jsonl-to-mongo "${opts[@]}" "$work" 2>>"$TMP/err" &
  fi
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    kills=$((kills + 1))
    check_consistent "after kill -9 number $kills (at ${delay} ms) every document holds a state from its checkpoint on"
  else
    wait "$pid"
    fresh  # the run completed before the kill: start over for more mid-stream kills
  fi
done
expect "at least 20 kill -9s landed while the tool was running ($kills in $attempts attempts)" test "$kills" -ge 20

# Failpoints at the instants a random kill rarely hits: after a batch's writes before its checkpoint,
# between a batch's inserts and the rest, before its deletes, right after a checkpoint. They start
# from an empty database so that each is reached whatever point the random kills stopped at.
fresh
for fp in after-bulk:1 after-bulk:9 mid-batch:3 before-deletes:5 after-checkpoint:4 after-bulk:30 mid-batch:40; do
  ROWPIPE_FAILPOINT=$fp jsonl-to-mongo --mongo "$MONGO_URL" -q --batch-rows 40 "$work" 2>"$TMP/fp-err"
  status=$?
  if [[ $status -eq 99 ]] && grep -q "failpoint $fp reached" "$TMP/fp-err"; then
    check_consistent "failpoint $fp: the tool died there and every document holds a state from its checkpoint on"
  else
    echo "not ok - failpoint $fp was not reached (exit $status): $(head -c 300 "$TMP/fp-err")"
  fi
done

jsonl-to-mongo --mongo "$MONGO_URL" "$work" 2>"$TMP/last-err"
status=$?
expect_eq "the restart after the last crash completes (exit 0)" "$status" 0
verdict=$(dump | model compare - "$work")
expect_eq "after all the crashes, MongoDB holds the documents computed independently of the tool" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"
expect_eq "the final checkpoint is the last transaction's next" "$(jsonl-to-mongo --mongo "$MONGO_URL" --print-checkpoint)" \
  "$(tail -1 "$work" | sed 's/.*"next":"\([^"]*\)".*/\1/')"
jsonl-to-mongo --mongo "$MONGO_URL" "$work" 2>"$TMP/replay-err"
expect "replaying the whole input once more applies nothing" grep -q ' 0 rows applied' "$TMP/replay-err"
expect_eq "... and leaves the same documents" "$(dump | model compare - "$work" | cut -c1-4)" same
