#!/usr/bin/env bash
# The SQL converter against a real MariaDB: a table with every column type, read back through
# RowConverter (binary protocol) and compared with hand-written rowpipe-events(5) JSON.
# services: mariadb
# budget: 120
set -uo pipefail

ROOT=${ROWPIPE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${ROWPIPE_TEST_BIN:-$ROOT/${BUILD:-build}/tests}
SQLC=$BIN/sql-convert
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rowpipe-sqlconv.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failed=0

ok() { echo "ok - $1"; }
not_ok() {
  echo "not ok - $1${2:+: $2}"
  failed=1
}
skip() {
  if [[ ${CI:-} == true ]]; then not_ok "$1" "skipped under CI=true: $2"; else echo "skip - $1: $2"; fi
}

# expect_line SENTENCE GOT WANT: exact comparison; on a difference, shows where the lines part.
expect_line() {
  local sentence=$1 got=$2 want=$3 i=0
  if [[ $got == "$want" ]]; then
    ok "$sentence"
    return
  fi
  while ((i < ${#got} && i < ${#want})) && [[ ${got:i:1} == "${want:i:1}" ]]; do ((i++)); done
  local from=$((i > 60 ? i - 60 : 0))
  not_ok "$sentence" "differs at byte $i: got [...${got:from:160}] want [...${want:from:160}]"
}

if [[ -z ${MYSQL_URL:-} ]]; then
  skip "the SQL converter renders every MariaDB column type as the binlog decoder does" "MYSQL_URL is not set"
  exit $failed
fi
if [[ ! -x $SQLC ]]; then
  not_ok "the sql-convert test program is built" "$SQLC is missing (make all)"
  exit 1
fi

T=rowpipe_conv.all_types
setup=(
  "SET SESSION sql_mode=''"
  "CREATE DATABASE IF NOT EXISTS rowpipe_conv"
  "DROP TABLE IF EXISTS $T"
  "CREATE TABLE $T (
     id INT PRIMARY KEY,
     ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
     mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
     f FLOAT, d DOUBLE, dec65 DECIMAL(65,30), dec10 DECIMAL(10,2),
     dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(3) NULL DEFAULT NULL, y YEAR,
     c CHAR(10), vc VARCHAR(20), tx TEXT, lat VARCHAR(10) CHARACTER SET latin1,
     bn BINARY(4), vb VARBINARY(10), bl BLOB,
     e ENUM('small','medium','large'), st SET('a','b','c','d'),
     b1 BIT(1), b64 BIT(64), j JSON, g GEOMETRY
   ) DEFAULT CHARSET=utf8mb4"
  "SET time_zone='+00:00'"
  # Row 1: minimums, empty strings.
  "INSERT INTO $T VALUES (1,
     -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
     -3.402823466e38, -1.7976931348623157e308,
     '-99999999999999999999999999999999999.999999999999999999999999999999', -12345678.90,
     '1000-01-01', '-838:59:59', '1000-01-01 00:00:00', '1970-01-01 00:00:01', 1901,
     '', '', '', 'é', x'00', x'', x'00ff',
     'small', '', b'0', 0, '[]', ST_GeomFromText('POINT(0 0)'))"
  # Row 2: maximums, FLOAT precision, 4-byte UTF-8, escapes, padding.
  "INSERT INTO $T VALUES (2,
     127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
     9223372036854775807, 18446744073709551615,
     1.2345678, 0.1,
     '99999999999999999999999999999999999.999999999999999999999999999999', -0.05,
     '9999-12-31', '838:59:59.999999', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999', 2155,
     'abc', '😀 émoji', 'line1\\nline2 \"quoted\" \\\\ tab\\t', 'Grüße ½', 'ab', x'00ff10', 'blob',
     'large', 'a,d', b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
     '{\"k\": [1, 2.5, \"x\"], \"n\": null}',
     ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(1 1,2 1,2 2,1 1))'))"
  # Row 3: zero dates (sql_mode ''), negative TIME over 24 h, tiny and odd values.
  "INSERT INTO $T VALUES (3,
     0, 1, -1, 2, 0, 3, -1, 4, -1, 9223372036854775808,
     0.1, 5e-324,
     '0.000000000000000000000000000001', 0,
     '0000-00-00', '-123:45:06.789', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 0,
     '  x', 'trailing  ', '𝄞 clef', '', x'00010203', NULL, '',
     'medium', 'd,a,c,b', NULL, b'101', '{\"a\":{\"b\":[true,false]}}',
     ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1.5 -2.25))'))"
  # Row 4: NULL everywhere.
  "INSERT INTO $T (id) VALUES (4)"
  # Row 5: a TIMESTAMP written at +05:00 reads back in UTC; DATETIME is zone-less.
  "SET time_zone='+05:00'"
  "INSERT INTO $T (id, ts, dtm) VALUES (5, '2024-06-01 17:30:00.25', '2024-06-01 17:30:00.25')"
  "SELECT 1"
)

if ! "$SQLC" "${setup[@]}" >"$TMP/setup.out" 2>"$TMP/setup.err"; then
  not_ok "the table with every column type is created and filled" "$(head -c 400 "$TMP/setup.err")"
  exit 1
fi
ok "the table with every column type is created and filled"

# A fresh connection: connect_mysql sets the session time zone to UTC itself.
if ! "$SQLC" "SELECT * FROM $T ORDER BY id" >"$TMP/rows" 2>"$TMP/rows.err"; then
  not_ok "SELECT * is converted" "$(head -c 400 "$TMP/rows.err")"
  exit 1
fi
mapfile -t got <"$TMP/rows"
expect_line "6 lines come back: the types and five rows" "${#got[@]}" 6

expect_line "every column maps to its rowpipe-events(5) type word" "${got[0]:-}" \
'{"id":"int","ti":"tinyint","tiu":"tinyint unsigned","si":"smallint","siu":"smallint unsigned","mi":"mediumint","miu":"mediumint unsigned","i":"int","iu":"int unsigned","bi":"bigint","biu":"bigint unsigned","f":"float","d":"double","dec65":"decimal(65,30)","dec10":"decimal(10,2)","dt":"date","tm":"time(6)","dtm":"datetime(6)","ts":"timestamp(3)","y":"year","c":"char","vc":"varchar","tx":"text","lat":"varchar","bn":"binary","vb":"varbinary","bl":"blob","e":"enum","st":"set","b1":"bit(1)","b64":"bit(64)","j":"text","g":"geometry"}'

expect_line "minimum values, empty strings and a padded BINARY render exactly" "${got[1]:-}" \
'{"id":1,"ti":-128,"tiu":0,"si":-32768,"siu":0,"mi":-8388608,"miu":0,"i":-2147483648,"iu":0,"bi":-9223372036854775808,"biu":0,"f":-3.4028235e+38,"d":-1.7976931348623157e+308,"dec65":"-99999999999999999999999999999999999.999999999999999999999999999999","dec10":"-12345678.90","dt":"1000-01-01","tm":"-838:59:59.000000","dtm":"1000-01-01 00:00:00.000000","ts":"1970-01-01 00:00:01.000","y":1901,"c":"","vc":"","tx":"","lat":"é","bn":"AAAAAA==","vb":"","bl":"AP8=","e":"small","st":"","b1":0,"b64":0,"j":"[]","g":"POINT(0 0)"}'

expect_line "maximum values, single-precision FLOAT, 4-byte UTF-8, latin1 and a polygon render exactly" "${got[2]:-}" \
'{"id":2,"ti":127,"tiu":255,"si":32767,"siu":65535,"mi":8388607,"miu":16777215,"i":2147483647,"iu":4294967295,"bi":9223372036854775807,"biu":18446744073709551615,"f":1.2345678,"d":0.1,"dec65":"99999999999999999999999999999999999.999999999999999999999999999999","dec10":"-0.05","dt":"9999-12-31","tm":"838:59:59.999999","dtm":"9999-12-31 23:59:59.999999","ts":"2038-01-19 03:14:07.999","y":2155,"c":"abc","vc":"😀 émoji","tx":"line1\nline2 \"quoted\" \\ tab\t","lat":"Grüße ½","bn":"YWIAAA==","vb":"AP8Q","bl":"YmxvYg==","e":"large","st":"a,d","b1":1,"b64":18446744073709551615,"j":"{\"k\": [1, 2.5, \"x\"], \"n\": null}","g":"POLYGON((0 0,10 0,10 10,0 10,0 0),(1 1,2 1,2 2,1 1))"}'

expect_line "zero dates, a negative TIME over 24 hours, YEAR 0 and a geometry collection render exactly" "${got[3]:-}" \
'{"id":3,"ti":0,"tiu":1,"si":-1,"siu":2,"mi":0,"miu":3,"i":-1,"iu":4,"bi":-1,"biu":9223372036854775808,"f":0.1,"d":5e-324,"dec65":"0.000000000000000000000000000001","dec10":"0.00","dt":"0000-00-00","tm":"-123:45:06.789000","dtm":"0000-00-00 00:00:00.000000","ts":"0000-00-00 00:00:00.000","y":0,"c":"  x","vc":"trailing  ","tx":"𝄞 clef","lat":"","bn":"AAECAw==","vb":null,"bl":"","e":"medium","st":"a,b,c,d","b1":null,"b64":5,"j":"{\"a\":{\"b\":[true,false]}}","g":"GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1.5 -2.25))"}'

expect_line "NULL renders as null in every column type" "${got[4]:-}" \
'{"id":4,"ti":null,"tiu":null,"si":null,"siu":null,"mi":null,"miu":null,"i":null,"iu":null,"bi":null,"biu":null,"f":null,"d":null,"dec65":null,"dec10":null,"dt":null,"tm":null,"dtm":null,"ts":null,"y":null,"c":null,"vc":null,"tx":null,"lat":null,"bn":null,"vb":null,"bl":null,"e":null,"st":null,"b1":null,"b64":null,"j":null,"g":null}'

expect_line "a TIMESTAMP written at +05:00 reads back in UTC while DATETIME keeps its wall time" "${got[5]:-}" \
'{"id":5,"ti":null,"tiu":null,"si":null,"siu":null,"mi":null,"miu":null,"i":null,"iu":null,"bi":null,"biu":null,"f":null,"d":null,"dec65":null,"dec10":null,"dt":null,"tm":null,"dtm":"2024-06-01 17:30:00.250000","ts":"2024-06-01 12:30:00.250","y":null,"c":null,"vc":null,"tx":null,"lat":null,"bn":null,"vb":null,"bl":null,"e":null,"st":null,"b1":null,"b64":null,"j":null,"g":null}'

# Values far longer than the inline buffers go through mysql_stmt_fetch_column.
if "$SQLC" "DROP TABLE IF EXISTS rowpipe_conv.big" \
  "CREATE TABLE rowpipe_conv.big (id INT PRIMARY KEY, lb LONGBLOB, lt LONGTEXT) DEFAULT CHARSET=utf8mb4" \
  "INSERT INTO rowpipe_conv.big VALUES (1, REPEAT('0123456789abcdef', 65536), REPEAT('é😀', 40000)), (2, 'x', 'y')" \
  "SELECT * FROM rowpipe_conv.big ORDER BY id" >"$TMP/big" 2>"$TMP/big.err"; then
  want_b64=$(printf '0123456789abcdef%.0s' $(seq 65536) | base64 -w0)
  want_text=$(printf 'é😀%.0s' $(seq 40000))
  mapfile -t big <"$TMP/big"
  expect_line "a 1 MiB LONGBLOB and a 240 kB LONGTEXT come back whole" "${big[1]:-}" \
    "{\"id\":1,\"lb\":\"$want_b64\",\"lt\":\"$want_text\"}"
  expect_line "short values after long ones use the inline buffers again" "${big[2]:-}" '{"id":2,"lb":"eA==","lt":"y"}'
else
  not_ok "a 1 MiB LONGBLOB and a 240 kB LONGTEXT come back whole" "$(head -c 400 "$TMP/big.err")"
fi

"$SQLC" "SELECT * FROM rowpipe_conv.no_such_table" >/dev/null 2>"$TMP/missing.err"
status=$?
expect_line "a query on a missing table exits 78 (config)" "$status" 78

"$SQLC" "DROP DATABASE rowpipe_conv" "SELECT 1" >/dev/null 2>&1 || not_ok "the test database is dropped"
exit $failed
