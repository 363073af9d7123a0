# Helpers of the binlog_live*.sh tests (sourced): the tool, SQL on the harness's MariaDB, a table of
# every column type, server dumps for binlog_live_rebuild.py, waiting until binlog-tail caught up.
# shellcheck shell=bash
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin_dir=$root/bin
[ "${BUILD:-build}" = build ] || bin_dir=$root/$BUILD/bin
tail_bin=${BINLOG_TAIL:-$bin_dir/binlog-tail}
python=/usr/bin/python3
[ -x "$python" ] || python=python3
tmp=$(mktemp -d)
trap 'live_cleanup' EXIT
live_pids=()
live_cleanup() {
  local p
  for p in "${live_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
failed=0
ok() { echo "ok - $1"; }
not_ok() {
  echo "not ok - $1"
  failed=1
}
sql() { env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_PWD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" -N -B "$@"; }
# The replica user's password reaches binlog-tail through MYSQL_PWD, as documented.
export MYSQL_PWD=$MYSQL_REPL_PASSWORD
master_pos() { sql -e "SHOW MASTER STATUS" | awk '{print $1 ":" $2}'; }

# wait_for_checkpoint FILE [SECONDS]: until FILE's binlog equals the server's end of log.
wait_for_checkpoint() {
  local file=$1 limit=${2:-30} want got i
  for ((i = 0; i < limit * 10; i++)); do
    want=$(master_pos)
    got=$(sed -n 's/.*"binlog":"\([^"]*\)".*/\1/p' "$file" 2>/dev/null)
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  echo "# checkpoint $(cat "$file" 2>/dev/null) never reached $want" >&2
  return 1
}

# The table of every column type (and two simple ones) in database $1. e2 is an ENUM of 300 labels
# (stored in 2 bytes); i6, uu, i4 are MariaDB's INET6, UUID, INET4 (the binlog holds their binary
# form, written as base64 like BINARY(n)).
create_tables() {
  local labels i
  labels="'v1'"
  for ((i = 2; i <= 300; i++)); do labels+=",'v$i'"; done
  sql <<SQL
CREATE DATABASE IF NOT EXISTS $1;
CREATE TABLE $1.t_types (
  id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT UNSIGNED,
  bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dc DECIMAL(65,30), dt DATE, tm TIME(6),
  dtm DATETIME(3), ts TIMESTAMP(6) NULL DEFAULT NULL, y YEAR, c CHAR(5), vc VARCHAR(300),
  l VARCHAR(20) CHARACTER SET latin1, bn BINARY(4), vb VARBINARY(10), tx TEXT, bl BLOB,
  e ENUM('a','b','c'), s SET('x','y','z'), bt BIT(10), j JSON, g GEOMETRY,
  tb TINYBLOB, mb MEDIUMBLOB, lb LONGBLOB, ttx TINYTEXT, mtx MEDIUMTEXT, ltx LONGTEXT,
  tm0 TIME, dt0 DATETIME, ts0 TIMESTAMP NULL DEFAULT NULL, e2 ENUM($labels), b1 BIT(1),
  i6 INET6, uu UUID, i4 INET4
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE $1.t_kv (k VARCHAR(20) PRIMARY KEY, v INT) DEFAULT CHARSET = utf8mb4;
CREATE TABLE $1.t_nopk (a INT, b VARCHAR(10)) DEFAULT CHARSET = utf8mb4;
SQL
}

# types_rows DB FIRST_ID: three rows of t_types (extremes, empties, NULLs) from FIRST_ID.
types_rows() {
  local db=$1 id=$2
  cat <<SQL
SET time_zone = '+00:00';
INSERT INTO $db.t_types VALUES
  ($id, -128, 255, -32768, 16777215, -9223372036854775808, 18446744073709551615, 1.5, 0.1,
   '-12345678901234567890123456789012345.123456789012345678901234567890', '2024-02-29',
   '-838:59:59.000000', '2024-02-29 23:59:59.999', '2038-01-19 03:14:07.999999', 2024, 'ab',
   'smile \xF0\x9F\x98\x80 "q" \\\\ tab\t', 'caf\xC3\xA9', 'ab', 'x\0y', 'text', 'blob\0', 'b',
   'x,z', b'1010101010', '{"k": [1, 2.5, "s", null, true]}', ST_GeomFromText('POINT(1 2)'),
   X'00FF7F0A', REPEAT('m', 70000), CONCAT(REPEAT(X'00', 3), REPEAT('L', 70000)), 'tiny \xE2\x98\x83',
   REPEAT('\xC3\xBC', 40000), CONCAT('long ', REPEAT('\xF0\x9F\x98\x80', 20000)), '838:59:59',
   '9999-12-31 23:59:59', '2038-01-19 03:14:07', 'v300', b'1', '2001:db8::ff00:42:8329',
   '6ccd780c-baba-1026-9564-5b8c656024db', '192.168.0.1'),
  ($((id + 1)), 127, 0, 32767, 0, 9223372036854775807, 0, -3.25, -1e300, '0', '0000-00-00', '00:00:00',
   '0000-00-00 00:00:00', NULL, 0, '', '', '', '', '', '', '', 'a', '', b'0', '[]',
   ST_GeomFromText('LINESTRING(0 0,1 1)'), '', '', '', '', '', '', '-00:00:01', '0000-00-00 00:00:00',
   '1970-01-01 00:00:01', 'v1', b'0', '::', '00000000-0000-0000-0000-000000000000', '0.0.0.0'),
  ($((id + 2)), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE $db.t_types SET vc = CONCAT('changed ', id), tu = 7 WHERE id = $((id + 1));
DELETE FROM $db.t_types WHERE id = $((id + 2));
SQL
}

# dump_tables DB DIR: the server's rows, each value cast to the text binlog-tail writes.
dump_tables() {
  local db=$1 dir=$2
  mkdir -p "$dir"
  sql -r -e "SET time_zone = '+00:00'; SELECT JSON_OBJECT(
    'id', id, 'ti', ti, 'tu', tu, 'si', si, 'mi', mi, 'bi', CAST(bi AS CHAR), 'bu', CAST(bu AS CHAR),
    'f', f, 'd', d, 'dc', CAST(dc AS CHAR), 'dt', CAST(dt AS CHAR), 'tm', CAST(tm AS CHAR),
    'dtm', CAST(dtm AS CHAR), 'ts', CAST(ts AS CHAR), 'y', CAST(y AS UNSIGNED), 'c', c, 'vc', vc,
    'l', CONVERT(l USING utf8mb4), 'bn', REPLACE(TO_BASE64(bn), '\n', ''), 'vb', REPLACE(TO_BASE64(vb), '\n', ''),
    'tx', tx, 'bl', REPLACE(TO_BASE64(bl), '\n', ''), 'e', e, 's', s, 'bt', bt + 0, 'j', j, 'g', ST_AsText(g),
    'tb', REPLACE(TO_BASE64(tb), '\n', ''), 'mb', REPLACE(TO_BASE64(mb), '\n', ''),
    'lb', REPLACE(TO_BASE64(lb), '\n', ''), 'ttx', ttx, 'mtx', mtx, 'ltx', ltx, 'tm0', CAST(tm0 AS CHAR),
    'dt0', CAST(dt0 AS CHAR), 'ts0', CAST(ts0 AS CHAR), 'e2', e2, 'b1', b1 + 0,
    'i6', TO_BASE64(CAST(i6 AS BINARY(16))), 'uu', TO_BASE64(CAST(uu AS BINARY(16))),
    'i4', TO_BASE64(CAST(i4 AS BINARY(4))))
    FROM $db.t_types" >"$dir/t_types.json"
  sql -r -e "SELECT JSON_OBJECT('k', k, 'v', v) FROM $db.t_kv" >"$dir/t_kv.json"
  sql -r -e "SELECT JSON_OBJECT('a', a, 'b', b) FROM $db.t_nopk" >"$dir/t_nopk.json"
}

# rebuild DB RUN...: prints ok/not ok for the tables rebuilt from the runs against SELECT *; sets
# $facts to the helper's JSON summary.
rebuild() {
  local db=$1 what=$2
  shift 2
  dump_tables "$db" "$tmp/want-$db"
  if facts=$("$python" "$here/binlog_live_rebuild.py" --db "$db" --want "$tmp/want-$db" "$@"); then
    ok "$what"
  else
    not_ok "$what: $facts"
  fi
}

# facts_field NAME: a member of $facts.
facts_field() { "$python" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[sys.argv[1]]))' "$1" <<<"$facts"; }
