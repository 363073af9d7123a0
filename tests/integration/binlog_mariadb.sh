#!/usr/bin/env bash
# services: mariadb
# budget: 300
# Decodes the binlog of the harness's real MariaDB with bin/binlog-tail after DML over tables of
# every type (FULL and MINIMAL row images, compressed events, an XA transaction committed and one
# rolled back, tables with and without a primary key), rebuilds the tables from the lines and
# compares them with SELECT * (values cast to text by the server). The workload runs twice: into
# rp_binlog with binlog_row_metadata=FULL (names from the log), and into rp_binlog_min with
# MINIMAL (names, keys and labels from --schema-from). Runs itself under tests/services/run when
# no server is given. Environment: BUILD (default build: bin/; else BUILD/bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  # Under tests/services/run already: it could not start the server (it said why).
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_mariadb: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$root/tests/services/run" mariadb -- "$0" "$@"
fi
bin_dir=$root/bin
[ "${BUILD:-build}" = build ] || bin_dir=$root/$BUILD/bin
decode=${BINLOG_TAIL:-$bin_dir/binlog-tail}
python=/usr/bin/python3
[ -x "$python" ] || python=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sql() { env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_PWD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" -N -B -r "$@"; }

sql -e "FLUSH BINARY LOGS"
first=$(sql -e "SHOW MASTER STATUS" | cut -f1)
datadir=$(sql -e "SELECT @@datadir")
# The workload, for the database named rp_binlog (renamed for the second pass).
workload() {
  cat <<'SQL'
SET time_zone = '+00:00';
DROP DATABASE IF EXISTS rp_binlog;
CREATE DATABASE rp_binlog;
USE rp_binlog;
CREATE TABLE t_types (
  id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT UNSIGNED,
  bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dc DECIMAL(65,30), dt DATE, tm TIME(6),
  dtm DATETIME(3), ts TIMESTAMP(6) NULL DEFAULT NULL, y YEAR, c CHAR(5), vc VARCHAR(300),
  l VARCHAR(20) CHARACTER SET latin1, u2 VARCHAR(10) CHARACTER SET ucs2, bn BINARY(4),
  vb VARBINARY(10), tx TEXT, bl BLOB, e ENUM('a','b','c'), s SET('x','y','z'), bt BIT(10),
  j JSON, g GEOMETRY
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE t_nopk (a INT, b VARCHAR(10)) DEFAULT CHARSET = utf8mb4;
CREATE TABLE t_kv (k VARCHAR(20) PRIMARY KEY, v INT) DEFAULT CHARSET = utf8mb4;

INSERT INTO t_types VALUES
  (1, -128, 255, -32768, 16777215, -9223372036854775808, 18446744073709551615, 1.5, 0.1,
   '-12345678901234567890123456789012345.123456789012345678901234567890', '2024-02-29',
   '-838:59:59.000000', '2024-02-29 23:59:59.999', '2038-01-19 03:14:07.999999', 2024, 'ab',
   'smile \xF0\x9F\x98\x80 "q" \\ tab\t', 'caf\xC3\xA9 \xE2\x82\xAC', 'u\xC3\xA9', 'ab', 'x\0y', 'text', 'blob\0', 'b',
   'x,z', b'1010101010', '{"k": [1, 2.5, "s", null, true]}', ST_GeomFromText('POINT(1 2)')),
  (2, 127, 0, 32767, 0, 9223372036854775807, 0, -3.25, -1e300, '0', '0000-00-00', '00:00:00',
   '0000-00-00 00:00:00', NULL, 0, '', '', '', '', '', '', '', '', 'a', '', b'0', '[]',
   ST_GeomFromText('LINESTRING(0 0,1 1)')),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO t_nopk VALUES (1, 'a'), (1, 'a'), (2, 'b');
BEGIN;
UPDATE t_types SET vc = 'changed', id = 10 WHERE id = 2;
INSERT INTO t_kv VALUES ('k1', 1), ('k2', 2);
UPDATE t_nopk SET b = 'c' WHERE a = 2;
COMMIT;
DELETE FROM t_kv WHERE k = 'k1';
INSERT INTO t_kv VALUES ('k1', 11);
DELETE FROM t_nopk WHERE a = 1 LIMIT 1;

SET SESSION binlog_row_image = MINIMAL;
UPDATE t_types SET ti = 5, j = '{"m": 1}' WHERE id = 1;
UPDATE t_kv SET v = v + 100;
DELETE FROM t_types WHERE id = 3;
SET SESSION binlog_row_image = FULL;

SET GLOBAL log_bin_compress = ON;
SET GLOBAL log_bin_compress_min_len = 10;
INSERT INTO t_kv VALUES ('compressed', 42), ('c2', REPEAT(7, 3));
UPDATE t_types SET tx = REPEAT('long text ', 50) WHERE id = 1;
DELETE FROM t_kv WHERE k = 'k2';
CREATE TABLE t_ddl (x INT PRIMARY KEY);
DROP TABLE t_ddl;
SET GLOBAL log_bin_compress = OFF;

XA START 'xa-commit';
INSERT INTO t_kv VALUES ('xa1', 1);
XA END 'xa-commit';
XA PREPARE 'xa-commit';
XA COMMIT 'xa-commit';
XA START 'xa-rollback';
INSERT INTO t_kv VALUES ('xa2', 2);
XA END 'xa-rollback';
XA PREPARE 'xa-rollback';
XA ROLLBACK 'xa-rollback';
SQL
}
# binlog_row_metadata is read by new connections: set it, then run the workload in a new one.
sql -e "SET GLOBAL binlog_row_metadata = FULL"
workload | sql
sql -e "SET GLOBAL binlog_row_metadata = MINIMAL"
workload | sed 's/rp_binlog/rp_binlog_min/g' | sql
sql -e "SET GLOBAL binlog_row_metadata = FULL; FLUSH BINARY LOGS"

files=()
while read -r name _; do
  if [[ "$name" > "$first" || "$name" == "$first" ]]; then files+=("$datadir/$name"); fi
done < <(sql -e "SHOW BINARY LOGS")
if [ -n "${BINLOG_MARIADB_KEEP:-}" ]; then mkdir -p "$BINLOG_MARIADB_KEEP" && cp "${files[@]}" "$BINLOG_MARIADB_KEEP/"; fi
"$decode" "${files[@]}" >"$tmp/lines.jsonl" 2>"$tmp/decode.err" || { cat "$tmp/decode.err"; echo "not ok - binlog_mariadb: decode failed"; exit 1; }
"$decode" --schema-from "$MYSQL_URL" "${files[@]}" >"$tmp/schema.jsonl" 2>"$tmp/schema.err" ||
  { cat "$tmp/schema.err"; echo "not ok - binlog_mariadb: decode with --schema-from failed"; exit 1; }

# The server's view, each value cast to the text the decoder writes.
for db in rp_binlog rp_binlog_min; do
mkdir -p "$tmp/$db"
sql -e "SET time_zone = '+00:00'; SELECT JSON_OBJECT(
  'id', id, 'ti', ti, 'tu', tu, 'si', si, 'mi', mi, 'bi', CAST(bi AS CHAR), 'bu', CAST(bu AS CHAR),
  'f', f, 'd', d, 'dc', CAST(dc AS CHAR), 'dt', CAST(dt AS CHAR), 'tm', CAST(tm AS CHAR),
  'dtm', CAST(dtm AS CHAR), 'ts', CAST(ts AS CHAR), 'y', CAST(y AS UNSIGNED), 'c', c, 'vc', vc, 'l', CONVERT(l USING utf8mb4), 'u2', CONVERT(u2 USING utf8mb4),
  'bn', REPLACE(TO_BASE64(bn), '\n', ''), 'vb', REPLACE(TO_BASE64(vb), '\n', ''), 'tx', tx,
  'bl', REPLACE(TO_BASE64(bl), '\n', ''), 'e', e, 's', s, 'bt', bt + 0, 'j', j, 'g', ST_AsText(g))
  FROM $db.t_types ORDER BY id" >"$tmp/$db/t_types.json"
sql -e "SELECT JSON_OBJECT('a', a, 'b', b) FROM $db.t_nopk ORDER BY a, b" >"$tmp/$db/t_nopk.json"
sql -e "SELECT JSON_OBJECT('k', k, 'v', v) FROM $db.t_kv ORDER BY k" >"$tmp/$db/t_kv.json"
done

# compare LINES DB WHAT: rebuilds DB's tables from LINES and compares them with its SELECT *.
compare() {
"$python" - "$tmp/$1" "$tmp/$2" "$2" "$3" <<'PY'
import json, sys, os
lines_path, tmp, dbname, what = sys.argv[1:5]
tables = {"t_types": {}, "t_nopk": [], "t_kv": {}}
lines = [json.loads(l) for l in open(lines_path)]
fails = []
def key(line, img):
    return tuple(str(img[c]) for c in line["pk"])
rows = ddl = 0
for l in lines:
    if l.get("db") != dbname or l["eventType"] not in ("INSERT", "UPDATE", "DELETE"):
        ddl += l["eventType"] == "DDL"
        continue
    rows += 1
    t = tables[l["table"]]
    b, a = l.get("before"), l.get("after")
    if isinstance(t, dict):
        if l["eventType"] != "INSERT":
            old = t.pop(key(l, b))
        if l["eventType"] == "INSERT":
            t[key(l, a)] = dict(a)
        elif l["eventType"] == "UPDATE":
            merged = dict(old); merged.update(a)
            t[key(l, merged)] = merged
    else:
        if l["eventType"] != "INSERT":
            t.remove(next(r for r in t if all(r.get(k) == v for k, v in b.items())))
        if l["eventType"] != "DELETE":
            t.append(dict(a) if l["eventType"] == "INSERT" else {**b, **a})
def same(col, ours, theirs):
    if theirs is None or ours is None:
        return ours is None and theirs is None
    if isinstance(ours, float) or col in ("f", "d"):
        return abs(float(ours) - float(theirs)) <= 1e-6 * max(1, abs(float(theirs)))
    if col == "j":
        a = json.loads(ours) if isinstance(ours, str) else ours
        b = json.loads(theirs) if isinstance(theirs, str) else theirs
        return a == b
    return str(ours) == str(theirs)
for name in ("t_types", "t_nopk", "t_kv"):
    want = []
    for l in open(os.path.join(tmp, name + ".json")):
        try:
            want.append(json.loads(l))
        except ValueError:
            fails.append("%s: the server's JSON_OBJECT line does not parse: %r" % (name, l[:300]))
    got = tables[name]
    got = sorted(got.values() if isinstance(got, dict) else got, key=lambda r: [str(r[c]) for c in r])
    want = sorted(want, key=lambda r: [str(r[c]) for c in r])
    if len(got) != len(want):
        fails.append("%s: %d rows rebuilt, SELECT has %d" % (name, len(got), len(want)))
        continue
    for g, w in zip(got, want):
        for c in w:
            if not same(c, g.get(c), w[c]):
                fails.append("%s column %s: ours %r, server %r" % (name, c, g.get(c), w[c]))
xa = [l for l in lines if l.get("db") == dbname and l.get("table") == "t_kv" and l.get("after") and
      l["after"].get("k") in ("xa1", "xa2")]
if [l["after"]["k"] for l in xa] != ["xa1"]:
    fails.append("XA: expected only the committed row xa1, got %r" % [l["after"]["k"] for l in xa])
if ddl < 2:
    fails.append("expected the CREATE/DROP TABLE lines, got %d DDL lines" % ddl)
for f in fails:
    print("not ok - binlog_mariadb: %s: %s" % (what, f))
if not fails:
    print("ok - binlog_mariadb: %s: %d row lines rebuilt 3 tables equal to SELECT * "
          "(row images FULL and MINIMAL, compressed events, XA)" % (what, rows))
sys.exit(1 if fails else 0)
PY
}
status=0
compare lines.jsonl rp_binlog "binlog_row_metadata=FULL" || status=1
compare schema.jsonl rp_binlog_min "binlog_row_metadata=MINIMAL with --schema-from" || status=1
# Without a schema, MINIMAL tables have positional names and no key.
if grep -m1 '"db":"rp_binlog_min","table":"t_kv","eventType":"INSERT"' "$tmp/lines.jsonl" |
  grep -q '"types":{"@1":"varchar","@2":"int"},"before":null,"after":{"@1":"k1","@2":1}'; then
  echo "ok - binlog_mariadb: MINIMAL metadata without --schema-from names columns @1, @2 and gives no pk"
else
  echo "not ok - binlog_mariadb: MINIMAL without a schema: $(grep -m1 '"db":"rp_binlog_min","table":"t_kv","eventType":"INSERT"' "$tmp/lines.jsonl" | cut -c1-300)"
  status=1
fi
exit $status
