#!/usr/bin/env bash
# services: mariadb
# budget: 120
# binlog-tail --snapshot against the harness's MariaDB: a snapshot of tables of every column type
# taken while a workload writes to them, then the stream from the snapshot's position: the tables
# rebuilt from the lines equal SELECT * (writes during the snapshot neither lost nor stale); each
# snapshot line's values and types equal the binlog line of the same row; a resumed run skips the
# snapshot; --snapshot-only ends with the position. Environment: BUILD (default build: bin/).
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
exit $failed
