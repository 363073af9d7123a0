#!/usr/bin/env bash
# services: mariadb
# budget: 120
# binlog-tail --snapshot against the harness's MariaDB: a snapshot of tables of every column type
# taken while a workload writes to them, then the stream from the snapshot's position: the tables
# rebuilt from the lines equal SELECT * (writes during the snapshot neither lost nor stale); each
# snapshot line's values and types equal the binlog line of the same row; a resumed run skips the
# snapshot; --snapshot-only ends with the position. A snapshot of 200000 rows killed -9 midway under
# concurrent writes is taken again by the same command (with progress on a terminal) and, applied
# with the stream as a --reconcile sink would, rebuilds tables equal to SELECT *.
# Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live_snapshot: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live_snapshot: $tail_bin not built"; exit 1; }
db=rp_snap
tables="$db.t_types,$db.t_kv,$db.t_nopk"
start=$(master_pos)
create_tables "$db"
types_rows "$db" 1 | sql
types_rows "$db" 10 | sql
sql -e "SET SESSION max_recursive_iterations = 100000;
        INSERT INTO $db.t_kv WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000)
          SELECT CONCAT('k', n), n FROM c;
        INSERT INTO $db.t_nopk VALUES (1, 'a'), (1, 'a'), (2, NULL)"
# The binlog's lines of these rows, for comparison with the snapshot's.
"$tail_bin" --mysql "$MYSQL_REPL_URL" --from "$start" --stop-at-end >"$tmp/binlog.jsonl" 2>"$tmp/binlog.err" ||
  not_ok "binlog_live_snapshot: streaming the set-up failed: $(cat "$tmp/binlog.err")"

# A workload writes while the snapshot is taken and the stream follows.
(
  for ((i = 1; i <= 300; i++)); do
    echo "UPDATE $db.t_kv SET v = v + 1000 WHERE k = 'k$((i * 7 % 3000 + 1))';"
    echo "INSERT INTO $db.t_kv VALUES ('new$i', $i); DELETE FROM $db.t_kv WHERE k = 'k$((i * 13 % 3000 + 1))';"
    ((i % 10 == 0)) && echo "INSERT INTO $db.t_nopk VALUES ($i, 'w');"
    sleep 0.005
  done
) | env -u MYSQL_HOST -u MYSQL_PWD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" &
wl=$!
live_pids+=("$wl")
sleep 0.3
"$tail_bin" --mysql "$MYSQL_REPL_URL" --snapshot "$tables" --checkpoint "$tmp/ck" --resume "$tmp/ck" \
  --idle-interval 0.5 >"$tmp/live.jsonl" 2>"$tmp/live.err" &
pid=$!
live_pids+=("$pid")
wait "$wl"
wait_for_checkpoint "$tmp/ck" 30 || not_ok "binlog_live_snapshot: the stream after the snapshot did not catch up"
kill -TERM "$pid"
wait "$pid"
rc=$?
p=$(grep -m1 '"eventType":"SNAPSHOT_BEGIN"' "$tmp/live.jsonl" | sed 's/^{"binlog":"\([^"]*\)".*/\1/')
ends=$(grep '"eventType":"SNAPSHOT_END"' "$tmp/live.jsonl" | tail -1)
if [ "$rc" = 0 ] && [ -n "$p" ] && [[ $ends == *"\"commit\":true,\"next\":\"$p\"}" ]] &&
  [ "$(grep -c '"eventType":"SNAPSHOT_BEGIN"' "$tmp/live.jsonl")" = 3 ]; then
  ok "binlog_live_snapshot: three tables bracketed by SNAPSHOT_BEGIN/END at $p, the last committing with next $p"
else
  not_ok "binlog_live_snapshot: exit $rc, snapshot position '$p', last end $ends"
fi
rebuild "$db" "binlog_live_snapshot: snapshot + stream under concurrent writes rebuild tables equal to SELECT *" \
  "$tmp/live.jsonl"

# Every snapshot row of t_types (which the workload leaves alone) equals the binlog's last image of
# that row, values and types.
same=$("$python" - "$tmp/binlog.jsonl" "$tmp/live.jsonl" "$db" <<'PY'
import json, sys
binlog, live, db = sys.argv[1:4]
last = {}
for text in open(binlog, encoding="utf-8"):
    l = json.loads(text)
    if l.get("db") == db and l.get("table") == "t_types" and l["eventType"] in ("INSERT", "UPDATE"):
        last[l["after"]["id"]] = (l["after"], l["types"])
n = bad = 0
for text in open(live, encoding="utf-8"):
    l = json.loads(text)
    if l.get("snapshot") and l.get("table") == "t_types":
        n += 1
        if last.get(l["after"]["id"]) != (l["after"], l["types"]):
            bad += 1
            print("differs: %r vs %r" % (l["after"], last.get(l["after"]["id"])), file=sys.stderr)
print("%d %d" % (n, bad))
PY
)
if [ "$same" = "4 0" ]; then
  ok "binlog_live_snapshot: each snapshot line of every column type equals the binlog line of the same row"
else
  not_ok "binlog_live_snapshot: snapshot vs binlog lines (rows, differing): $same"
fi

# A resumed run does not take the snapshot again; --snapshot-only ends with its position.
sql -e "INSERT INTO $db.t_kv VALUES ('after', 1)"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --snapshot "$tables" --checkpoint "$tmp/ck" --resume "$tmp/ck" -v --stop-at-end \
  >"$tmp/again.jsonl" 2>"$tmp/again.err"
if [ "$?" = 0 ] && ! grep -q SNAPSHOT "$tmp/again.jsonl" && grep -q '"k":"after"' "$tmp/again.jsonl" &&
  grep -q "snapshot skipped" "$tmp/again.err"; then
  ok "binlog_live_snapshot: a resumed run skips the snapshot and streams on"
else
  not_ok "binlog_live_snapshot: resumed run: $(cat "$tmp/again.err")"
fi
"$tail_bin" --mysql "$MYSQL_REPL_URL" --snapshot-only "$db.t_kv" >"$tmp/only.jsonl" 2>"$tmp/only.err"
rc=$?
rows=$(grep -c '"snapshot":true' "$tmp/only.jsonl")
want=$(sql -e "SELECT COUNT(*) FROM $db.t_kv")
if [ "$rc" = 0 ] && [ "$rows" = "$want" ] && tail -1 "$tmp/only.jsonl" | grep -q "\"next\":\"$(master_pos)\""; then
  ok "binlog_live_snapshot: --snapshot-only writes the $want rows and exits 0 at the server's position"
else
  not_ok "binlog_live_snapshot: --snapshot-only: exit $rc, $rows rows of $want, $(tail -1 "$tmp/only.jsonl" | cut -c1-200)"
fi
# kill -9 during a snapshot of 200000 rows that takes seconds (its reader, a slow sink, takes about
# 20 MB/s), under concurrent writes; the same command again (--snapshot with --resume, which a kill
# during the snapshot left without a checkpoint) takes the snapshot again, on a terminal with its
# progress on stderr, and streams; a third run resumes. Applied as a --reconcile sink applies them,
# the lines of the three runs rebuild tables equal to SELECT *.
db=rp_snapkill
create_tables "$db"
sql -e "SET SESSION max_recursive_iterations = 300000;
        INSERT INTO $db.t_kv WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000)
          SELECT CONCAT('k', n), n FROM c"
cat >"$tmp/slow.py" <<'PY'
import sys, time
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    sys.stdout.buffer.write(b)
    sys.stdout.buffer.flush()
    time.sleep(0.003)
PY
(
  for ((i = 1; i <= 500; i++)); do
    echo "UPDATE $db.t_kv SET v = v + 1000 WHERE k = 'k$((i * 499 % 200000 + 1))';"
    echo "INSERT INTO $db.t_kv VALUES ('new$i', $i); DELETE FROM $db.t_kv WHERE k = 'k$((i * 317 % 200000 + 1))';"
    ((i % 3 == 0)) && echo "BEGIN; DELETE FROM $db.t_kv WHERE k = 'new$((i - 1))'; UPDATE $db.t_kv SET v = -v WHERE k = 'k$i'; COMMIT;"
    sleep 0.01
  done
) | sql &
wl=$!
live_pids+=("$wl")
rm -f "$tmp/kill.ck"
mkfifo "$tmp/pipe1" "$tmp/pipe2"
"$python" "$tmp/slow.py" <"$tmp/pipe1" >"$tmp/snapkill1.jsonl" &
reader=$!
"$tail_bin" --mysql "$MYSQL_REPL_URL" --snapshot "$db.t_kv" --resume "$tmp/kill.ck" --checkpoint "$tmp/kill.ck" \
  >"$tmp/pipe1" 2>"$tmp/snapkill1.err" &
pid=$!
live_pids+=("$pid")
for ((i = 0; i < 200; i++)); do
  (($(stat -c %s "$tmp/snapkill1.jsonl" 2>/dev/null || echo 0) >= 4000000)) && break
  sleep 0.05
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
wait "$reader"
lines1=$(wc -l <"$tmp/snapkill1.jsonl")
if ((lines1 > 1000)) && ! grep -q SNAPSHOT_END "$tmp/snapkill1.jsonl" && [ ! -e "$tmp/kill.ck" ]; then
  ok "binlog_live_snapshot: kill -9 during the snapshot ($lines1 of its lines written) leaves no checkpoint"
else
  not_ok "binlog_live_snapshot: killed snapshot: $lines1 lines, $(grep -c SNAPSHOT_END "$tmp/snapkill1.jsonl") ends, checkpoint $(cat "$tmp/kill.ck" 2>/dev/null)"
fi
"$python" "$tmp/slow.py" <"$tmp/pipe2" >"$tmp/snapkill2.jsonl" &
reader=$!
if command -v script >/dev/null; then
  script -qc "'$tail_bin' --mysql '$MYSQL_REPL_URL' --snapshot $db.t_kv --resume '$tmp/kill.ck' \
    --checkpoint '$tmp/kill.ck' --stop-at-end >'$tmp/pipe2'" /dev/null >"$tmp/tty" 2>&1
  rc=$?
  if grep -aq "binlog-tail: --snapshot $db.t_kv: [0-9]* rows of about [0-9]*" "$tmp/tty"; then
    ok "binlog_live_snapshot: on a terminal the snapshot shows its progress on stderr ($(tr '\r' '\n' <"$tmp/tty" |
      grep -a -c 'rows of about') updates)"
  else
    not_ok "binlog_live_snapshot: no snapshot progress on a terminal: $(tr '\r' '\n' <"$tmp/tty" | head -5)"
  fi
else
  echo "skip - binlog_live_snapshot: progress on a terminal: script(1) from util-linux is not installed"
  "$tail_bin" --mysql "$MYSQL_REPL_URL" --snapshot "$db.t_kv" --resume "$tmp/kill.ck" --checkpoint "$tmp/kill.ck" \
    --stop-at-end >"$tmp/pipe2" 2>"$tmp/tty"
  rc=$?
fi
wait "$reader"
wait "$wl"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --snapshot "$db.t_kv" --resume "$tmp/kill.ck" --checkpoint "$tmp/kill.ck" \
  --stop-at-end >"$tmp/snapkill3.jsonl" 2>"$tmp/snapkill3.err"
rc3=$?
rows2=$(grep -c '"snapshot":true' "$tmp/snapkill2.jsonl")
if [ "$rc:$rc3" = 0:0 ] && grep -q '"eventType":"SNAPSHOT_END".*"commit":true' "$tmp/snapkill2.jsonl" &&
  ((rows2 > 190000)) && ! grep -q SNAPSHOT "$tmp/snapkill3.jsonl"; then
  ok "binlog_live_snapshot: the same command after the kill takes the whole snapshot again ($rows2 rows) and streams; the next run resumes without one"
else
  not_ok "binlog_live_snapshot: after the kill: exits $rc:$rc3, $rows2 snapshot rows, $(cat "$tmp/snapkill3.err")"
fi
rebuild "$db" "binlog_live_snapshot: a snapshot killed -9, taken again and streamed under concurrent writes rebuilds tables equal to SELECT *" \
  --reconcile "$tmp/snapkill1.jsonl" "$tmp/snapkill2.jsonl" "$tmp/snapkill3.jsonl"
exit $failed
