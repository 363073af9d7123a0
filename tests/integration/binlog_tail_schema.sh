#!/usr/bin/env bash
# services: mariadb
# budget: 120
# binlog-tail --schema-from against the harness's real MariaDB: tables logged without metadata
# (binlog_row_metadata=NO_LOG) get names, keys, signedness and charsets from information_schema;
# events older than a DDL that changed the table stop with an error naming the table and the
# column instead of mislabelling data; a dropped table keeps @N names; connection failures map to
# their exit codes. Each scenario writes its own binlog file. Runs itself under
# tests/services/run when no server is given. Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  # Under tests/services/run already: it could not start the server (it said why).
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_tail_schema: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$root/tests/services/run" mariadb -- "$0" "$@"
fi
bin_dir=$root/bin
[ "${BUILD:-build}" = build ] || bin_dir=$root/$BUILD/bin
tail_bin=${BINLOG_TAIL:-$bin_dir/binlog-tail}
[ -x "$tail_bin" ] || { echo "not ok - setup: $tail_bin not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sql() { env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_PWD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" -N -B "$@"; }
datadir=$(sql -e "SELECT @@datadir")
failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; failed=1; }

# scenario METADATA SQL...: runs SQL (each argument a new connection, after setting
# binlog_row_metadata) into a binlog file of its own; prints that file's path.
scenario() {
  local meta=$1
  shift
  sql -e "SET GLOBAL binlog_row_metadata = $meta; FLUSH BINARY LOGS"
  local file
  file=$(sql -e "SHOW MASTER STATUS" | cut -f1)
  for stmt in "$@"; do sql -e "$stmt"; done
  sql -e "SET GLOBAL binlog_row_metadata = FULL; FLUSH BINARY LOGS"
  echo "$datadir/$file"
}
# run ARGS...: sets rc, out, err.
run() {
  "$tail_bin" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

sql -e "DROP DATABASE IF EXISTS rp_schema; CREATE DATABASE rp_schema"

# No metadata at all: positional names, signed integers, strings in base64; the schema fixes all.
f=$(scenario NO_LOG \
  "CREATE TABLE rp_schema.t_nolog (id INT UNSIGNED PRIMARY KEY, s VARCHAR(10), e ENUM('x','y'))
     DEFAULT CHARSET = utf8mb4" \
  "INSERT INTO rp_schema.t_nolog VALUES (4294967295, 'café', 'y')")
run "$f"
row=$(grep -m1 '"eventType":"INSERT"' <<<"$out")
if [[ $rc -eq 0 && $row == *'"types":{"@1":"int","@2":"varbinary","@3":"enum"}'* && $row == *'"after":{"@1":-1,"@2":"Y2Fmw6k=","@3":2}'* && $row != *'"pk"'* ]]; then
  ok "NO_LOG metadata without a schema: @N names, signed integers, strings base64 (varbinary), no pk"
else
  not_ok "NO_LOG without a schema: exit $rc: ${row:0:400} $err"
fi
run --schema-from "$MYSQL_URL" "$f"
row=$(grep -m1 '"eventType":"INSERT"' <<<"$out")
if [[ $rc -eq 0 && $row == *'"pk":["id"],"types":{"id":"int unsigned","s":"varchar","e":"enum"}'* && $row == *'"after":{"id":4294967295,"s":"café","e":"y"}'* ]]; then
  ok "--schema-from gives names, key, signedness, charset and ENUM labels to a NO_LOG table"
else
  not_ok "NO_LOG with --schema-from: exit $rc: ${row:0:400} $err"
fi

# Events older than a DDL: the schema cannot describe them.
check_ddl() { # NAME CREATE ALTER EXPECTED-MESSAGE-PART
  local f
  f=$(scenario MINIMAL "CREATE TABLE rp_schema.$1 $2" "INSERT INTO rp_schema.$1 (id) VALUES (1), (2)")
  sql -e "ALTER TABLE rp_schema.$1 $3"
  run --schema-from "$MYSQL_URL" "$f"
  local name
  name=$(basename "$f")
  if [[ $rc -eq 65 && $out != *'"eventType":"INSERT"'* && $err == "binlog-tail: error: $name:"[0-9]*": TABLE_MAP_EVENT: the schema of \`rp_schema\`.\`$1\` does not match its table map: $4"*"(events older than a DDL?); refusing to label the data (log with binlog_row_metadata=FULL"* ]]; then
    ok "a table changed by ALTER TABLE $3 after its events: exit 65, no row line, the error names table, column and position"
  else
    not_ok "ALTER TABLE $3: exit $rc, stdout ${out:0:200}, stderr $err"
  fi
}
check_ddl t_add "(id INT PRIMARY KEY, v VARCHAR(10))" "ADD COLUMN w INT" "3 columns in the schema, 2 in the binlog"
check_ddl t_type "(id INT PRIMARY KEY, n INT)" "MODIFY n BIGINT" "column 2 (n) is bigint but the binlog logs int"
check_ddl t_len "(id INT PRIMARY KEY, s VARCHAR(10)) DEFAULT CHARSET = utf8mb4" "MODIFY s VARCHAR(20)" \
  "column 2 (s) is varchar of 80 bytes but the binlog logs 40 bytes"
check_ddl t_dec "(id INT PRIMARY KEY, d DECIMAL(10,2))" "MODIFY d DECIMAL(12,2)" \
  "column 2 (d) is decimal(12,2) but the binlog logs decimal(10,2)"
check_ddl t_fsp "(id INT PRIMARY KEY, t DATETIME(3))" "MODIFY t DATETIME(6)" \
  "column 2 (t) is datetime(6) but the binlog logs datetime(3)"

# A table dropped since: nothing to ask, so positional names and a warning.
f=$(scenario MINIMAL "CREATE TABLE rp_schema.t_gone (id INT PRIMARY KEY, v INT)" "INSERT INTO rp_schema.t_gone VALUES (7, 8)")
sql -e "DROP TABLE rp_schema.t_gone"
run --schema-from "$MYSQL_URL" "$f"
if [[ $rc -eq 0 && $out == *'"after":{"@1":7,"@2":8}'* && $err == *'--schema-from: the server has no table `rp_schema`.`t_gone`'* ]]; then
  ok "a table the server no longer has keeps @N names, with a warning"
else
  not_ok "dropped table: exit $rc: ${out:0:300} $err"
fi

# Connection failures.
run --schema-from "mysql://nobody@127.0.0.1:$MYSQL_PORT" "$f"
if [[ $rc -eq 77 && -z $out ]]; then ok "--schema-from with refused credentials exits 77 before any line"
else not_ok "refused credentials: exit $rc: $err"; fi
run --schema-from "mysql://root@127.0.0.1:1" "$f"
if [[ $rc -eq 69 && -z $out ]]; then ok "--schema-from to a server that cannot be reached exits 69"
else not_ok "unreachable server: exit $rc: $err"; fi
MYSQL_PWD=s3cret run --schema-from "mysql://root:hunter2@127.0.0.1:1" "$f"
if [[ $err != *hunter2* && $err != *s3cret* ]]; then ok "no password reaches stderr"
else not_ok "a password was printed: $err"; fi

exit $failed
