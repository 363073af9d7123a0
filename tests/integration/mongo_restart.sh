# jsonl-to-mongo while the server restarts, dies or stays away: it retries with backoff and loses or
# repeats nothing; it gives up after --retry-for naming the last applied position; a later run
# finishes the work.
# services: mongo
# budget: 150
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${MONGO_URL:-} ]]; then
  echo "skip - MongoDB restart tests: no MongoDB (tests/services/run could not start one)"
  exit 0
fi
if ! "$ROOT/tests/services/ctl" mongo status >/dev/null 2>&1; then
  echo "skip - MongoDB restart tests: the server at $MONGO_URL is not owned by tests/services/run (set ROWPIPE_OWN_SERVICES=1)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/mongo_model.py" "$@"; }
dump() { mongo-dump "$MONGO_URL" mdb rowpipe; }
fresh() { mongo-dump --drop "$MONGO_URL" mdb rowpipe; }
ctl() { "$ROOT/tests/services/ctl" mongo "$@" >>"$TMP/ctl.log" 2>&1; }
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
model gen --seed 21 --txns 2500 --truncate >"$work"

# 1. A restart mid-stream (graceful stop, start on the same data).
fresh
feed "$work" 40 | jsonl-to-mongo --mongo "$MONGO_URL" --timeout 5 2>"$TMP/err1" &
pid=$!
sleep 1
ctl restart
wait "$pid"
status=$?
expect_eq "a server restart mid-stream: the tool retries, reconnects and ends with exit 0" "$status" 0
expect "it says it lost the connection and reconnected" \
  bash -c "grep -q 'reconnecting' '$TMP/err1' && grep -q 'reconnected after' '$TMP/err1'"
verdict=$(dump | model compare - "$work")
expect_eq "after the restart MongoDB holds the expected documents (nothing lost or doubled)" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"

# 2. The server killed (SIGKILL) mid-stream and started again.
fresh
feed "$work" 40 | jsonl-to-mongo --mongo "$MONGO_URL" --timeout 5 2>"$TMP/err2" &
pid=$!
sleep 1
ctl kill
sleep 0.5
ctl start
wait "$pid"
status=$?
expect_eq "the server killed and started again mid-stream: the tool ends with exit 0" "$status" 0
verdict=$(dump | model compare - "$work")
expect_eq "... and MongoDB holds the expected documents" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"

# 3. Away for longer than --retry-for: exit 69 naming the last applied position; a later run completes.
fresh
feed "$work" 40 | jsonl-to-mongo --mongo "$MONGO_URL" --timeout 2 --retry-for 2 2>"$TMP/err3" &
pid=$!
sleep 0.8
ctl stop
start=$SECONDS
wait "$pid"
status=$?
expect "the server away longer than --retry-for 2: exit 69 after about 2 s" \
  bash -c "[[ $status -eq 69 && $((SECONDS - start)) -le 10 ]]"
expect "the message says how long it waited and names the last applied position" \
  bash -c "grep -q 'unavailable for [0-9]* s' '$TMP/err3' && grep -q 'last applied position: mysql-bin\.' '$TMP/err3'"
ctl start
jsonl-to-mongo --mongo "$MONGO_URL" "$work" 2>"$TMP/err4"
expect_eq "a run after the server is back finishes the work (exit 0)" "$?" 0
verdict=$(dump | model compare - "$work")
expect_eq "... and MongoDB holds the expected documents" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"

# 4. A server that lost what it had confirmed (its data directory wiped while the tool runs): the
# checkpoint went back, and the tool refuses to carry on as if it had not.
fresh
feed "$work" 40 | jsonl-to-mongo --mongo "$MONGO_URL" --timeout 5 2>"$TMP/err5" &
pid=$!
sleep 1
ctl kill
rm -rf "$ROWPIPE_SERVICES_DIR/mongo/data" && mkdir -p "$ROWPIPE_SERVICES_DIR/mongo/data"
ctl start
wait "$pid"
status=$?
expect "a server that lost confirmed writes stops the tool (exit 69) saying so" \
  bash -c "[[ $status -eq 69 ]] && grep -q 'lost writes it had confirmed' '$TMP/err5'"
