# jsonl-to-redis over several Redis instances: a ketama ring of --redis URLs (placement checked against
# Debian's python3-uhashring), --route and map-file targets per table, a checkpoint per instance and the
# oldest one printed, per-instance resume after kill -9, TRUNCATE across the ring.
# services: redis
# budget: 180
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${REDIS_URL:-} ]]; then
  echo "skip - jsonl-to-redis over several instances: no Redis (tests/services/run could not start one)"
  exit 0
fi
if ! /usr/bin/python3 -c 'import uhashring' 2>/dev/null; then
  echo "skip - ketama placement: Debian's python3-uhashring is not installed (apt-get install python3-uhashring)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/redis_model.py" "$@"; }

# Two more private servers beside the harness's (stopped by their pids at exit).
extra_pids=()
trap 'for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
start_redis() { # start_redis VAR: starts a server and sets VAR to its URL
  local port dir
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  dir=$TMP/redis-$port
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize no \
    --logfile "$dir/log" &
  extra_pids+=($!)
  for _ in $(seq 1 100); do
    redis-cli -p "$port" PING 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  printf -v "$1" 'redis://127.0.0.1:%s' "$port"
}
start_redis R2
start_redis R3
R1=$REDIS_URL
flush() { for u in "$R1" "$R2" "$R3"; do redis-cli -u "$u" FLUSHALL >/dev/null; done; }

work=$TMP/work.jsonl
model gen --seed 41 --txns 3000 --truncate >"$work"
last=$(tail -1 "$work" | sed 's/.*"next":"\([^"]*\)".*/\1/')

flush
run_capture jsonl-to-redis --redis "$R1" --redis "$R2" --redis "$R3" "$work"
expect_eq "three --redis URLs: the workload is applied over the ring (exit 0)" "$status" 0
verdict=$(model ring "$R1,$R2,$R3" "$work")
expect_eq "every key sits where python3-uhashring (ketama) places it and the ring holds the expected state" \
  "${verdict%%:*}" same
echo "# $verdict"
expect_eq "each instance keeps its own checkpoint" \
  "$(for u in "$R1" "$R2" "$R3"; do redis-cli -u "$u" GET rowpipe:checkpoint:default | sed 's/.*"binlog":"\([^"]*\)".*/\1/'; done | sort -u)" "$last"

# The resume point is the oldest instance's checkpoint.
redis-cli -u "$R2" SET rowpipe:checkpoint:default '{"binlog":"mysql-bin.000001:4"}' >/dev/null
run_capture jsonl-to-redis --redis "$R1" --redis "$R2" --redis "$R3" --print-checkpoint
expect_eq "--print-checkpoint prints the oldest of the instances' checkpoints" "$out" "mysql-bin.000001:4"

# Losing a node moves only its keys: the same input over R1 and R3 keeps every key of R1 and R3 in place.
for u in "$R1" "$R3"; do redis-cli -u "$u" --scan | grep -v '^rowpipe:' | sort >"$TMP/keys-$(basename "$u")"; done
flush
jsonl-to-redis -q --redis "$R1" --redis "$R3" "$work"
verdict=$(model ring "$R1,$R3" "$work")
expect_eq "over two nodes every key sits where uhashring places it" "${verdict%%:*}" same
moved=0
for u in "$R1" "$R3"; do
  comm -23 "$TMP/keys-$(basename "$u")" <(redis-cli -u "$u" --scan | sort) | grep -q . && moved=1
done
expect_eq "keys that were on the remaining nodes stayed where they were" "$moved" 0

# Per-instance resume: kill -9 at random instants, restart, and the ring still ends exact.
flush
RANDOM=41
for i in 1 2 3 4 5; do
  jsonl-to-redis -q --batch-bytes 4096 --redis "$R1" --redis "$R2" --redis "$R3" "$work" 2>/dev/null &
  pid=$!
  sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
jsonl-to-redis -q --redis "$R1" --redis "$R2" --redis "$R3" "$work"
verdict=$(model ring "$R1,$R2,$R3" "$work")
expect_eq "after kill -9s and a restart each instance resumed from its own checkpoint: the ring is exact" \
  "${verdict%%:*}" same

# A partial UPDATE that moves a row to another instance cannot be one MULTI: the new instance confirms
# the row first, then the old key goes. A crash between the two (failpoint mid-move) leaves both rows;
# the restart must delete the old one (the new instance is past the line, the old one is not).
flush
for fp in mid-move:1 mid-move:4; do
  ROWPIPE_FAILPOINT=$fp jsonl-to-redis -q --batch-bytes 4096 --redis "$R1" --redis "$R2" --redis "$R3" "$work" \
    2>"$TMP/fp-err"
  expect_eq "failpoint $fp stops the tool between the new instance's confirmation and the old key's deletion" \
    "$?" 99
done
jsonl-to-redis -q --redis "$R1" --redis "$R2" --redis "$R3" "$work"
verdict=$(model ring "$R1,$R2,$R3" "$work")
expect_eq "after crashes in the middle of moves across instances the restart finishes them: the ring is exact" \
  "${verdict%%:*}" same

# --route sends a table to its own instance; a map file's target does the same.
flush
echo "{\"d.pair\": {\"target\": \"$R2\"}}" >"$TMP/map.json"
run_capture jsonl-to-redis --redis "$R1" --route "d.user_roles=$R3" --map "$TMP/map.json" "$work"
expect_eq "--route and a map target: applied (exit 0)" "$status" 0
tables_on() { redis-cli -u "$1" --scan | grep -v '^rowpipe:' | sed 's/^d_\(user_roles\|user\|pair\|part\)_.*/\1/' | sort -u | paste -sd' ' -; }
expect_eq "the routed tables' keys are on their instances only" \
  "$(tables_on "$R1")|$(tables_on "$R2")|$(tables_on "$R3")" "part user|pair|user_roles"
union=$(for u in "$R1" "$R2" "$R3"; do model dump "$u"; done | /usr/bin/python3 -c '
import json, sys
text = sys.stdin.read()
merged, dec = {}, json.JSONDecoder()
i = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    obj, i = dec.raw_decode(text, i)
    merged.update(obj)
print(json.dumps(merged, sort_keys=True))')
want=$(model expect "$work" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')
expect_eq "together the routed instances hold the expected state" "$(echo "$union" | md5sum)" "$(echo "$want" | md5sum)"
expect_eq "every instance written has its checkpoint" \
  "$(for u in "$R1" "$R2" "$R3"; do redis-cli -u "$u" EXISTS rowpipe:checkpoint:default; done | paste -sd' ' -)" "1 1 1"
