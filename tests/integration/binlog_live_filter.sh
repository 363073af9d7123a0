#!/usr/bin/env bash
# services: mariadb
# budget: 60
# binlog-tail --mysql filters live, against the harness's MariaDB while changes arrive: --exclude
# REGEX with --events insert,delete,ddl writes only the kept tables' inserts, deletes and DDL (every
# one of them, nothing else); a run that filters out everything writes only HEARTBEAT lines, whose
# positions move forward while the filtered changes arrive and end at the server's end of log, as
# its checkpoint does. Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live_filter: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live_filter: $tail_bin not built"; exit 1; }
db=rp_filt
create_tables "$db"

"$tail_bin" --mysql "$MYSQL_REPL_URL" --exclude "$db\\.t_nopk" --events insert,delete,ddl --checkpoint "$tmp/some.ck" \
  --idle-interval 0.3 >"$tmp/some.jsonl" 2>"$tmp/some.err" &
some=$!
live_pids+=("$some")
"$tail_bin" --mysql "$MYSQL_REPL_URL" --exclude "$db\\..*" --checkpoint "$tmp/none.ck" --idle-interval 0.3 \
  >"$tmp/none.jsonl" 2>"$tmp/none.err" &
none=$!
live_pids+=("$none")
if ! wait_for_checkpoint "$tmp/some.ck" 10 || ! wait_for_checkpoint "$tmp/none.ck" 10; then
  not_ok "binlog_live_filter: the runs did not start"
fi
start=$(master_pos)

# About 2 s of changes: 40 inserts and 12 updates of t_kv, 40 inserts of t_nopk, 6 deletes of each
# (one statement deleting 3 rows of t_nopk counts 3), DDL on both tables, one more insert after it.
{
  for ((i = 1; i <= 40; i++)); do
    echo "INSERT INTO $db.t_kv VALUES ('k$i', $i); INSERT INTO $db.t_nopk VALUES ($i, 'n$i');"
    ((i % 4 == 0)) && echo "UPDATE $db.t_kv SET v = v + 100 WHERE k = 'k$((i - 1))';"
    ((i % 8 == 0)) && echo "DELETE FROM $db.t_kv WHERE k = 'k$((i - 2))'; DELETE FROM $db.t_nopk WHERE a = $((i - 2));"
    ((i % 5 == 0)) && echo "DO SLEEP(0.2);"
  done
  echo "UPDATE $db.t_kv SET v = 0 WHERE k = 'k1';"
  echo "DELETE FROM $db.t_kv WHERE k = 'k40'; DELETE FROM $db.t_nopk WHERE a > 37;"
  echo "ALTER TABLE $db.t_kv ADD COLUMN w INT; ALTER TABLE $db.t_nopk ADD COLUMN c INT;"
  echo "INSERT INTO $db.t_kv VALUES ('after', 1, 2); INSERT INTO $db.t_nopk VALUES (99, 'after', 3);"
} | sql
end=$(master_pos)
wait_for_checkpoint "$tmp/some.ck" 20 || not_ok "binlog_live_filter: the filtered run did not catch up"
wait_for_checkpoint "$tmp/none.ck" 20 || not_ok "binlog_live_filter: the run filtering everything did not catch up"
sleep 0.5
kill -TERM "$some" "$none"
wait "$some"
rc1=$?
wait "$none"
rc2=$?
[ "$rc1:$rc2" = 0:0 ] || not_ok "binlog_live_filter: SIGTERM exits $rc1:$rc2: $(cat "$tmp/some.err" "$tmp/none.err")"

# The kept lines, counted by table and kind.
counts=$("$python" - "$tmp/some.jsonl" "$db" <<'PY'
import collections, json, sys
c = collections.Counter()
for text in open(sys.argv[1], encoding="utf-8"):
    l = json.loads(text)
    if l["eventType"] == "HEARTBEAT":
        continue
    c["%s.%s %s" % (l.get("db"), l.get("table"), l["eventType"])] += 1
print(", ".join("%s %d" % kv for kv in sorted(c.items())))
PY
)
want="$db.t_kv DDL 1, $db.t_kv DELETE 6, $db.t_kv INSERT 41"
if [ "$counts" = "$want" ]; then
  ok "binlog_live_filter: --exclude $db\\.t_nopk --events insert,delete,ddl keeps exactly t_kv's 41 inserts, 6 deletes and its DDL"
else
  not_ok "binlog_live_filter: kept lines: '$counts', want '$want'"
fi

# Everything filtered out: HEARTBEAT lines only, moving forward from the start to the end of log.
if verdict=$("$python" - "$tmp/none.jsonl" "$start" "$end" <<'PY'
import json, sys
path, start, end = sys.argv[1:4]
def key(p):
    f, off = p.rsplit(":", 1)
    return (f, int(off))
kinds, pos = set(), []
for text in open(path, encoding="utf-8"):
    l = json.loads(text)
    kinds.add(l["eventType"])
    pos.append(l["next"])
moving = sorted({p for p in pos if key(start) < key(p) < key(end)}, key=key)
assert kinds == {"HEARTBEAT"}, kinds
assert pos == sorted(pos, key=key), "positions go back"
assert pos[-1] == end, (pos[-1], end)
assert len(moving) >= 2, "%d HEARTBEAT positions between start and end" % len(moving)
print("%d HEARTBEAT lines, %d positions in between" % (len(pos), len(moving)))
PY
) && grep -q "\"binlog\":\"$end\"" "$tmp/none.ck"; then
  ok "binlog_live_filter: with every change filtered out, HEARTBEAT lines move the position to the end of log while changes arrive ($verdict)"
else
  not_ok "binlog_live_filter: everything filtered: $verdict; checkpoint $(cat "$tmp/none.ck")"
fi
exit $failed
