# jsonl-to-mongo mapping rules against the server, read back with the C driver (mongo-dump): typed
# values, composite keys, key changes, partial images, TRUNCATE and DROP TABLE, name templates, map
# entries, table membership, and a mixed workload compared with the model's fold.
# services: mongo
# budget: 150
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${MONGO_URL:-} ]]; then
  echo "skip - jsonl-to-mongo mapping: no MongoDB (tests/services/run could not start one)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/mongo_model.py" "$@"; }
dump() { mongo-dump "$MONGO_URL" "$@"; }
fresh() { mongo-dump --drop "$MONGO_URL" ty d d_archive arch mdb rowpipe; }
apply() { jsonl-to-mongo --mongo "$MONGO_URL" -q "$@"; }
doc() { dump "$1" | grep -F "\"_id\" : $2," | head -1 | cut -d' ' -f2-; }

# Every type rule the server stores, on one row: read back as canonical extended JSON.
fresh
cat >"$TMP/types.jsonl" <<'EOF'
{"binlog":"mysql-bin.000001:100","row":0,"db":"ty","table":"all","eventType":"INSERT","pk":["id"],"types":{"id":"int","ti":"tinyint","su":"smallint unsigned","mi":"mediumint","iu":"int unsigned","bi":"bigint","bu":"bigint unsigned","bu2":"bigint unsigned","f":"float","d":"double","dec":"decimal(10,2)","dt":"datetime(0)","dt3":"datetime(3)","dt6":"datetime(6)","ts":"timestamp(0)","zd":"datetime(0)","da":"date","tm":"time(2)","y":"year","c":"char","vc":"varchar","tx":"text","bin":"binary","vb":"varbinary","bl":"blob","e":"enum","s":"set","s0":"set","b":"bit(64)","b2":"bit(3)","j":"json","js":"json","g":"geometry","v":"vector","nul":"varchar","n":"int"},"before":null,"after":{"id":1,"ti":-128,"su":65535,"mi":-8388608,"iu":4294967295,"bi":-9223372036854775808,"bu":9223372036854775807,"bu2":18446744073709551615,"f":0.1,"d":1.5e300,"dec":"12.50","dt":"2016-08-22 09:47:25","dt3":"2016-08-22 09:47:25.123","dt6":"2016-08-22 09:47:25.123456","ts":"1970-01-01 00:00:00","zd":"0000-00-00 00:00:00","da":"2020-02-29","tm":"-838:59:59.00","y":2024,"c":"c","vc":"héllo 日本","tx":"q\"uote\\","bin":"AAE=","vb":"AAEC/w==","bl":"","e":"red","s":"a,b","s0":"","b":18446744073709551615,"b2":5,"j":{"a":[1,2.5,"x",null,true],"b":{"c":9223372036854775807}},"js":"text","g":"POINT(1 2)","v":[1,2.5],"nul":"a\u0000b","n":null},"commit":true,"next":"mysql-bin.000001:200"}
EOF
apply --decimal string "$TMP/types.jsonl"
expect_eq "every type rule the server stores reads back as documented (DECIMAL and big integers as text)" \
  "$(dump ty.all | cut -d' ' -f2-)" \
  '{ "_id" : { "$numberInt" : "1" }, "id" : { "$numberInt" : "1" }, "ti" : { "$numberInt" : "-128" }, "su" : { "$numberInt" : "65535" }, "mi" : { "$numberInt" : "-8388608" }, "iu" : { "$numberLong" : "4294967295" }, "bi" : { "$numberLong" : "-9223372036854775808" }, "bu" : { "$numberLong" : "9223372036854775807" }, "bu2" : "18446744073709551615", "f" : { "$numberDouble" : "0.10000000000000000555" }, "d" : { "$numberDouble" : "1.5000000000000000788e+300" }, "dec" : "12.50", "dt" : { "$date" : { "$numberLong" : "1471859245000" } }, "dt3" : { "$date" : { "$numberLong" : "1471859245123" } }, "dt6" : "2016-08-22 09:47:25.123456", "ts" : { "$date" : { "$numberLong" : "0" } }, "zd" : "0000-00-00 00:00:00", "da" : "2020-02-29", "tm" : "-838:59:59.00", "y" : { "$numberInt" : "2024" }, "c" : "c", "vc" : "héllo 日本", "tx" : "q\"uote\\", "bin" : { "$binary" : { "base64" : "AAE=", "subType" : "00" } }, "vb" : { "$binary" : { "base64" : "AAEC/w==", "subType" : "00" } }, "bl" : { "$binary" : { "base64" : "", "subType" : "00" } }, "e" : "red", "s" : [ "a", "b" ], "s0" : [  ], "b" : "18446744073709551615", "b2" : { "$numberLong" : "5" }, "j" : { "a" : [ { "$numberInt" : "1" }, { "$numberDouble" : "2.5" }, "x", null, true ], "b" : { "c" : { "$numberLong" : "9223372036854775807" } } }, "js" : "text", "g" : "POINT(1 2)", "v" : [ { "$numberDouble" : "1.0" }, { "$numberDouble" : "2.5" } ], "nul" : "a\u0000b", "n" : null }'
run_capture jsonl-to-mongo --mongo "$MONGO_URL" --name dflt --database ty_default "$TMP/types.jsonl"
expect "with the default --decimal decimal128, a server without Decimal128 (FerretDB) makes it a per-line error" \
  bash -c "[[ $status -eq 65 && '$err' == *'types.jsonl:1: column \"'*'needs a Decimal128, which the server (FerretDB'*'use --decimal string'* ]]"
apply --decimal string --datetime string --name s --database ty_s "$TMP/types.jsonl"
expect_eq "--datetime string keeps every DATETIME and TIMESTAMP as its text" \
  "$(dump ty_s.all | grep -o '"dt3" : [^,]*'),$(dump ty_s.all | grep -o '"ts" : [^,]*')" \
  '"dt3" : "2016-08-22 09:47:25.123","ts" : "1970-01-01 00:00:00"'
apply --decimal string --datetime date --name dd --database ty_d "$TMP/types.jsonl"
expect_eq "--datetime date makes finer DATETIMEs dates too (cut to milliseconds); zero dates stay text" \
  "$(dump ty_d.all | grep -o '"dt6" : [^}]*}'),$(dump ty_d.all | grep -o '"zd" : [^,]*')" \
  '"dt6" : { "$date" : { "$numberLong" : "1471859245123" },"zd" : "0000-00-00 00:00:00"'
mongo-dump --drop "$MONGO_URL" ty_s ty_d ty_default

# Rows, composite keys, key changes, partial images, DELETE.
fresh
/usr/bin/python3 - >"$TMP/rows.jsonl" <<'EOF'
import json
n = [100]
def t(**kw):
    at = n[0]; n[0] += 100
    line = {"binlog": "mysql-bin.000001:%d" % at, "row": 0, "db": "d"}
    line.update(kw)
    line.update(commit=True, next="mysql-bin.000001:%d" % n[0])
    print(json.dumps(line))
U = {"id": "int", "name": "varchar", "v": "int"}
P = {"a": "varchar", "b": "int", "v": "varchar"}
t(table="user", eventType="INSERT", pk=["id"], types=U, before=None, after={"id": 1, "name": "one", "v": 1})
t(table="user", eventType="INSERT", pk=["id"], types=U, before=None, after={"id": 2, "name": "two", "v": 2})
t(table="user_roles", eventType="INSERT", pk=["id"], types=U, before=None, after={"id": 1, "name": "role", "v": 9})
t(table="user", eventType="UPDATE", pk=["id"], types=U, before={"id": 1, "name": "one", "v": 1}, after={"id": 1, "name": "uno", "v": None})
t(table="user", eventType="UPDATE", pk=["id"], types=U, before={"id": 2, "name": "two", "v": 2}, after={"id": 20, "name": "two", "v": 2})
t(table="pair", eventType="INSERT", pk=["a", "b"], types=P, before=None, after={"a": "x_y", "b": 1, "v": "p"})
t(table="pair", eventType="UPDATE", pk=["a", "b"], types=P, before={"a": "x_y", "b": 1, "v": "p"}, after={"a": "x_y", "b": 2, "v": "q"})
t(table="part", eventType="INSERT", pk=["id"], types=U, before=None, after={"id": 5, "name": "five", "v": 5})
t(table="part", eventType="UPDATE", pk=["id"], types=U, partial=True, before={"id": 5}, after={"v": 55})
t(table="part", eventType="UPDATE", pk=["id"], types=U, partial=True, before={"id": 5}, after={"id": 6, "name": "six"})
t(table="part", eventType="UPDATE", pk=["id"], types=U, partial=True, before={"id": 7}, after={"v": 7})
t(table="user", eventType="INSERT", pk=["id"], types=U, before=None, after={"id": 3, "name": "three", "v": 3})
t(table="user", eventType="DELETE", pk=["id"], types=U, before={"id": 3, "name": "three", "v": 3}, after=None)
EOF
apply "$TMP/rows.jsonl"
expect_eq "a full-image UPDATE replaces the document (a column turned NULL is null)" \
  "$(doc d.user '{ "$numberInt" : "1" }')" '{ "_id" : { "$numberInt" : "1" }, "id" : { "$numberInt" : "1" }, "name" : "uno", "v" : null }'
expect_eq "an UPDATE that changes the key moves the document to its new _id" \
  "$(dump d.user | grep -c '"_id" : { "$numberInt" : "2" }'):$(doc d.user '{ "$numberInt" : "20" }')" \
  '0:{ "_id" : { "$numberInt" : "20" }, "id" : { "$numberInt" : "20" }, "name" : "two", "v" : { "$numberInt" : "2" } }'
expect_eq "a composite key is a sub-document in key order; its change moves the document" \
  "$(dump d.pair | cut -d' ' -f2-)" \
  '{ "_id" : { "a" : "x_y", "b" : { "$numberInt" : "2" } }, "a" : "x_y", "b" : { "$numberInt" : "2" }, "v" : "q" }'
expect_eq "a partial image that changes the key carries the stored columns over, its own on top" \
  "$(doc d.part '{ "$numberInt" : "6" }'):$(dump d.part | grep -c '"_id" : { "$numberInt" : "5" }')" \
  '{ "_id" : { "$numberInt" : "6" }, "id" : { "$numberInt" : "6" }, "name" : "six", "v" : { "$numberInt" : "55" } }:0'
expect_eq "a partial image of a missing row sets its columns on a new document (upsert)" \
  "$(doc d.part '{ "$numberInt" : "7" }')" '{ "_id" : { "$numberInt" : "7" }, "v" : { "$numberInt" : "7" } }'
expect_eq "DELETE deletes by _id" "$(dump d.user | grep -c '"_id" : { "$numberInt" : "3" }')" 0
expect_eq "tables user and user_roles keep their own collections" \
  "$(dump d.user | wc -l):$(dump d.user_roles | wc -l)" "2:1"

# TRUNCATE empties, DROP TABLE drops; --ignore-ddl keeps both; other DDL passes.
ddl() { printf '{"binlog":"mysql-bin.000002:%s","db":"d","table":"%s","eventType":"DDL","sql":"%s","commit":true,"next":"mysql-bin.000002:%s"}\n' "$1" "$2" "$3" "$(($1 + 50))"; }
{ ddl 100 user "TRUNCATE TABLE user"; ddl 200 pair "DROP TABLE pair"; ddl 300 user_roles "ALTER TABLE user_roles ADD x INT"; } >"$TMP/ddl.jsonl"
run_capture jsonl-to-mongo --mongo "$MONGO_URL" --name keep --ignore-ddl "$TMP/ddl.jsonl"
expect_eq "--ignore-ddl keeps the collections on TRUNCATE and DROP TABLE" "$(dump d.user | wc -l):$(dump d.pair | wc -l)" "2:1"
run_capture jsonl-to-mongo --mongo "$MONGO_URL" -v "$TMP/ddl.jsonl"
expect_eq "TRUNCATE empties the table's collection, DROP TABLE drops its collection" \
  "$status:$(dump d.user | wc -l):$(dump d.pair | wc -l):$(dump d.user_roles | wc -l)" "0:0:0:1"
expect "other DDL is logged and passed over" grep -q 'DDL passed over: ALTER TABLE user_roles' "$TMP/err"

# Name templates and map targets.
fresh
run_capture jsonl-to-mongo --mongo "$MONGO_URL" --database '{db}_archive' --collection 'rows_{table}' "$TMP/rows.jsonl"
expect_eq "--database and --collection templates name where rows go" \
  "$status:$(dump d_archive | cut -d' ' -f1 | sort -u | tr '\n' ' ')" \
  "0:d_archive.rows_pair d_archive.rows_part d_archive.rows_user d_archive.rows_user_roles "
echo '{"d.user": {"target": "arch.people", "columns": {"id": true, "name": "full_name"}}, "d.*": {"exclude": ["v"]}}' >"$TMP/map.json"
apply --name mapped --map "$TMP/map.json" "$TMP/rows.jsonl"
expect_eq "a map entry's target, kept and renamed columns apply" \
  "$(doc arch.people '{ "$numberInt" : "20" }')" '{ "_id" : { "$numberInt" : "20" }, "id" : { "$numberInt" : "20" }, "full_name" : "two" }'
expect_eq "a db.* entry applies to the database's other tables" \
  "$(doc d.pair '{ "a" : "x_y", "b" : { "$numberInt" : "2" } }')" \
  '{ "_id" : { "a" : "x_y", "b" : { "$numberInt" : "2" } }, "a" : "x_y", "b" : { "$numberInt" : "2" } }'
printf '{"binlog":"mysql-bin.000009:4","row":0,"db":"d","table":"t","eventType":"INSERT","pk":["id"],"before":null,"after":{"id":1,"k":"a/b"},"commit":true,"next":"mysql-bin.000009:90"}\n' >"$TMP/badname.jsonl"
run_capture jsonl-to-mongo --mongo "$MONGO_URL" --name badname --database '{col:k}' "$TMP/badname.jsonl"
expect "a database name MongoDB refuses (rendered from a row) is a data error naming the line" \
  bash -c "[[ $status -eq 65 && '$err' == *'badname.jsonl:1: database name \"a/b\"'* ]]"

# A mixed workload (several tables, composite keys, key changes, partial images, TRUNCATE, DROP,
# heartbeats, three binlog files) against the model's fold, in one run and in small batches.
fresh
model gen --seed 11 --txns 1500 --truncate --drop >"$TMP/work.jsonl"
apply "$TMP/work.jsonl"
verdict=$(dump mdb rowpipe | model compare - "$TMP/work.jsonl")
expect_eq "a mixed workload leaves the documents the model computes" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"
fresh
apply --batch-rows 7 "$TMP/work.jsonl"
verdict=$(dump mdb rowpipe | model compare - "$TMP/work.jsonl")
expect_eq "... and the same in batches of 7 rows" "${verdict%%:*}" same
[[ $verdict == same* ]] || echo "#   $verdict"
expect_eq "the checkpoint is the last transaction's next" "$(jsonl-to-mongo --mongo "$MONGO_URL" --print-checkpoint)" \
  "$(tail -1 "$TMP/work.jsonl" | sed 's/.*"next":"\([^"]*\)".*/\1/')"
