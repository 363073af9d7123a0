#!/usr/bin/env bash
# services: mariadb
# budget: 150
# binlog-tail --mysql across DDL and size, against the harness's MariaDB: ADD/DROP COLUMN while
# streaming with binlog_row_metadata=FULL (names from the binlog) and MINIMAL (names from
# information_schema, forgotten after the DDL), the tables rebuilt equal to SELECT *; events older
# than a DDL read with MINIMAL metadata stop with exit 65 recommending FULL; a one-million-row
# transaction streamed under 64 MB of RSS. Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live_ddl: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live_ddl: $tail_bin not built"; exit 1; }

# dump_ddl DB DIR: t's rows as the server has them (the columns of the end).
dump_ddl() {
  mkdir -p "$2"
  sql -r -e "SELECT JSON_OBJECT('id', id, 'b', b, 'c', c) FROM $1.t" >"$2/t.json"
}

# ddl_run METADATA: streams DB rp_ddl_METADATA live through ADD COLUMN and DROP COLUMN; each DDL
# comes after binlog-tail caught up with the rows before it (as a live replica does).
ddl_run() {
  local meta=$1 db=rp_ddl_$1 out=$tmp/ddl-$1.jsonl ck=$tmp/ddl-$1.ck
  sql -e "SET GLOBAL binlog_row_metadata = $meta"
  sql -e "CREATE DATABASE $db; CREATE TABLE $db.t (id INT PRIMARY KEY, a INT, c VARCHAR(10)) DEFAULT CHARSET = utf8mb4"
  "$tail_bin" --mysql "$MYSQL_REPL_URL" --checkpoint "$ck" --idle-interval 0.3 >"$out" 2>"$tmp/ddl-$meta.err" &
  local pid=$!
  live_pids+=("$pid")
  wait_for_checkpoint "$ck" 10 >/dev/null
  sql -e "INSERT INTO $db.t VALUES (1, 10, 'one'), (2, 20, 'two'); UPDATE $db.t SET a = 11 WHERE id = 1"
  wait_for_checkpoint "$ck" 10 >/dev/null
  sql -e "ALTER TABLE $db.t ADD COLUMN b VARCHAR(20) AFTER id"
  sql -e "INSERT INTO $db.t VALUES (3, 'bee', 30, 'three'); UPDATE $db.t SET b = 'b2', c = 'deux' WHERE id = 2"
  wait_for_checkpoint "$ck" 10 >/dev/null
  sql -e "ALTER TABLE $db.t DROP COLUMN a"
  sql -e "INSERT INTO $db.t VALUES (4, 'b4', 'four'); UPDATE $db.t SET c = 'uno' WHERE id = 1; DELETE FROM $db.t WHERE id = 3"
  wait_for_checkpoint "$ck" 10 >/dev/null
  kill -TERM "$pid"
  wait "$pid"
  local rc=$?
  sql -e "SET GLOBAL binlog_row_metadata = FULL"
  dump_ddl "$db" "$tmp/want-$db"
  if [ "$rc" = 0 ] && "$python" "$here/binlog_live_rebuild.py" --db "$db" --want "$tmp/want-$db" "$out" >"$tmp/facts" &&
    grep -q '"types":{"id":"int","b":"varchar","c":"varchar"}' "$out"; then
    ok "binlog_live_ddl: ADD and DROP COLUMN while streaming with binlog_row_metadata=$meta: rebuilt table equals SELECT *, lines carry the new columns"
  else
    not_ok "binlog_live_ddl: DDL with $meta metadata: exit $rc, $(cat "$tmp/facts" 2>/dev/null) $(head -3 "$tmp/ddl-$meta.err")"
  fi
}
ddl_run FULL
ddl_run MINIMAL
if grep -q "binlog_row_metadata is MINIMAL" "$tmp/ddl-MINIMAL.err"; then
  ok "binlog_live_ddl: MINIMAL metadata is accepted with a notice naming the setting"
else
  not_ok "binlog_live_ddl: no notice about MINIMAL metadata: $(cat "$tmp/ddl-MINIMAL.err")"
fi

# Rows logged with MINIMAL metadata before a DDL, read after it: the schema no longer matches.
sql -e "SET GLOBAL binlog_row_metadata = MINIMAL"
start=$(master_pos)
sql -e "CREATE DATABASE rp_ddl_old; CREATE TABLE rp_ddl_old.t (id INT PRIMARY KEY, a INT);
        INSERT INTO rp_ddl_old.t VALUES (1, 1); ALTER TABLE rp_ddl_old.t ADD COLUMN b INT"
sql -e "SET GLOBAL binlog_row_metadata = FULL"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --from "$start" --stop-at-end >"$tmp/old.out" 2>"$tmp/old.err"
rc=$?
if [ "$rc" = 65 ] && grep -q "does not match its table map.*binlog_row_metadata=FULL" "$tmp/old.err"; then
  ok "binlog_live_ddl: events older than a DDL, without FULL metadata, stop with exit 65 recommending FULL"
else
  not_ok "binlog_live_ddl: old events: exit $rc, $(cat "$tmp/old.err")"
fi

# One transaction of a million rows, streamed in bounded memory.
sql -e "CREATE DATABASE rp_big; CREATE TABLE rp_big.t (id INT PRIMARY KEY, v INT, s VARCHAR(20))"
start=$(master_pos)
sql rp_big -e "INSERT INTO rp_big.t SELECT seq, seq * 3, CONCAT('row ', seq) FROM seq_1_to_1000000"
/usr/bin/time -f "%M" -o "$tmp/rss" "$tail_bin" --mysql "$MYSQL_REPL_URL" --from "$start" --stop-at-end \
  2>"$tmp/big.err" | grep -c '"eventType":"INSERT"' >"$tmp/big.count"
rss=$(tail -1 "$tmp/rss")
count=$(cat "$tmp/big.count")
if [ "$count" = 1000000 ] && [ "$rss" -lt 65536 ]; then
  ok "binlog_live_ddl: a one-million-row transaction streams whole in $((rss / 1024)) MB of RSS (bound: 64 MB)"
else
  not_ok "binlog_live_ddl: big transaction: $count lines, RSS ${rss} KB, $(head -3 "$tmp/big.err")"
fi
exit $failed
