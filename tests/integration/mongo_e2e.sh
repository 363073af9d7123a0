# End to end: a MariaDB workload of every column type read by binlog-tail and piped into jsonl-to-mongo
# leaves one document per row equal to SELECT * (rendered by the shared SQL converter, typed by the
# model's own reading of jsonl-to-mongo(1), TYPES), with key changes on single and composite keys and
# partial images (binlog_row_image=MINIMAL in some transactions). The test server lacks Decimal128:
# --decimal string. MariaDB's INET6 and UUID are left out: binlog-tail carries them as binary (their
# stored bytes) while SELECT * shows their text, so no document can equal both.
# services: mariadb mongo
# budget: 180
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${MONGO_URL:-} || -z ${MYSQL_URL:-} ]]; then
  echo "skip - binlog-tail | jsonl-to-mongo end to end: needs MariaDB and MongoDB (tests/services/run could not start them)"
  exit 0
fi
sql() { mariadb --no-defaults -uroot -h 127.0.0.1 -P "$MYSQL_PORT" -N -B -e "$1"; }
sql_file() { mariadb --no-defaults -uroot -h 127.0.0.1 -P "$MYSQL_PORT" -N -B <"$1"; }
mongo-dump --drop "$MONGO_URL" e2m rowpipe

sql "CREATE DATABASE e2m;
CREATE TABLE e2m.user (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(40) CHARACTER SET utf8mb4, bin VARBINARY(16),
  fixed BINARY(4), blb BLOB, price DECIMAL(12,3), born DATE, seen DATETIME(6), at DATETIME, ts TIMESTAMP(3) NULL,
  f FLOAT, d DOUBLE, e ENUM('a','b','c'), s SET('x','y','z'), y YEAR, t TIME(2), doc JSON, n INT NULL, neg TINYINT,
  sm SMALLINT UNSIGNED, md MEDIUMINT, big BIGINT UNSIGNED, bits BIT(5), ch CHAR(3), txt TEXT, pt POINT,
  b64 BIT(64), iu INT UNSIGNED, tu TINYINT UNSIGNED, mu MEDIUMINT UNSIGNED, ts0 TIMESTAMP NULL, tb TINYBLOB,
  mb MEDIUMBLOB, lb LONGBLOB, tt TINYTEXT, mt MEDIUMTEXT, lt LONGTEXT, ls LINESTRING, gm GEOMETRY);
CREATE TABLE e2m.user_roles (id INT PRIMARY KEY, role VARCHAR(20));
CREATE TABLE e2m.pair (a VARCHAR(10), b INT, v TEXT, PRIMARY KEY (a, b));
CREATE TABLE e2m.nokey (code VARCHAR(10), v INT)"
/usr/bin/python3 - <<'EOF' >"$TMP/workload.sql"
import random
rnd = random.Random(67)
out = []
def q(s): return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
ids = []
next_id = 0
for i in range(1, 301):
    out.append("BEGIN;")
    for j in range(rnd.choice([1, 1, 3])):
        next_id += 1
        k = next_id
        ids.append(k)
        out.append(("INSERT INTO e2m.user VALUES (%d,%s,X'%s',X'61',%s,%s,'2001-02-%02d','2024-01-01 10:00:00.%06d',"
                    "%s,%s,%s,%s,'%s','%s',%d,'-12:34:56.5',%s,%s,%d,%d,%d,%s,b'%s',%s,%s,%s,"
                    "%s,%d,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s);") % (
            k, q(rnd.choice(["a", "é日本", "q\"uote", "back\\slash", "x_y", ""])), "%02x%02x" % (rnd.randrange(256), k % 256),
            rnd.choice(["NULL", "X''", "X'00ff10'"]), rnd.choice(["1.5", "-0.001", "99999.999"]), k % 28 + 1, k,
            rnd.choice(["'0000-00-00 00:00:00'", "'1999-12-31 23:59:59'", "NULL"]),
            rnd.choice(["NULL", "'2020-05-05 05:05:05.123'"]), rnd.choice(["0.1", "NULL", "3.5e10"]),
            rnd.choice(["1e-7", "2.5", "NULL"]), rnd.choice("abc"), rnd.choice(["x,y", "", "z"]), 2000 + k % 50,
            rnd.choice(["NULL", q('{"k": [1, 2.5, "v"], "o": {"z": null}}')]), rnd.choice(["NULL", str(k)]), -k % 128,
            k * 7 % 65536, -k, rnd.choice([0, 2**63 + k, 2**64 - 1]), bin(k % 32)[2:], q("c%d" % (k % 10)),
            q("text " * (k % 3)), rnd.choice(["NULL", "ST_GeomFromText('POINT(1 2)')"]),
            rnd.choice(["0", "b'1'", "9223372036854775808", "18446744073709551615", "NULL"]),
            rnd.choice([0, k, 4294967295]), rnd.choice([0, k % 256, 255]), rnd.choice([0, k, 16777215]),
            rnd.choice(["NULL", "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'", "'2024-02-29 12:00:00'"]),
            rnd.choice(["NULL", "X''", "X'00ff'"]), rnd.choice(["NULL", "X'0102030405'"]),
            # a LONGBLOB and a LONGTEXT over 64 KiB now and then (a 3- and 4-byte length on the wire)
            "REPEAT(X'00ff', 40000)" if k % 37 == 0 else rnd.choice(["NULL", "X'7f'"]),
            q(rnd.choice(["", "tiny", "é"])), q("medium " * (k % 4)),
            "REPEAT('é日', 25000)" if k % 41 == 0 else q(rnd.choice(["", "long"])),
            rnd.choice(["NULL", "ST_GeomFromText('LINESTRING(0 0,1 1,2 3)')"]),
            rnd.choice(["NULL", "ST_GeomFromText('POLYGON((0 0,4 0,4 4,0 0),(1 1,2 1,2 2,1 1))')",
                        "ST_GeomFromText('MULTIPOINT(1 1,2 2)')"])))
        out.append("INSERT INTO e2m.user_roles VALUES (%d,%s);" % (k, q("r%d" % k)))
        out.append("INSERT INTO e2m.pair VALUES (%s,%d,%s);" % (q(rnd.choice(["a", "a_b", "c\\d"]) + str(k)), k % 3, q("v")))
        out.append("INSERT INTO e2m.nokey VALUES (%s,%d);" % (q("c%d" % k), k))
    if ids and rnd.random() < 0.4:
        k = rnd.choice(ids)
        out.append("UPDATE e2m.user SET name=%s, n=NULL, price=price+1 WHERE id=%d;" % (q("upd"), k))
    if ids and rnd.random() < 0.2:
        k = ids.pop(rnd.randrange(len(ids)))
        out.append("DELETE FROM e2m.user WHERE id=%d;" % k)
    if ids and rnd.random() < 0.1:
        k = ids.pop(rnd.randrange(len(ids)))
        out.append("UPDATE e2m.user SET id=%d WHERE id=%d;" % (100000 + k, k))
    out.append("UPDATE e2m.pair SET v=CONCAT(v,'!') WHERE b=%d LIMIT 2;" % (i % 3))
    if i % 20 == 0:
        # A key change on the composite-key table: the document moves to its new _id.
        out.append("UPDATE e2m.pair SET b=b+10, v=CONCAT(v,'moved') WHERE b<10 ORDER BY a LIMIT 1;")
    if ids and i % 15 == 0:
        # Partial images: the UPDATEs and DELETE of this session log only the key and the changed
        # columns ("partial": true), applied as $set and delete; one moves a row to a new key.
        out.append("SET SESSION binlog_row_image=MINIMAL;")
        k = rnd.choice(ids)
        out.append("UPDATE e2m.user SET name=%s, iu=iu DIV 2, lb=X'aa' WHERE id=%d;" % (q("minimal"), k))
        out.append("UPDATE e2m.pair SET v=CONCAT(v,'~') WHERE b=%d ORDER BY a LIMIT 1;" % (i % 3))
        if i % 45 == 0:
            k = ids.pop(rnd.randrange(len(ids)))
            out.append("UPDATE e2m.user SET id=%d, n=7 WHERE id=%d;" % (200000 + k, k))
        if i % 30 == 0:
            out.append("UPDATE e2m.pair SET b=b+20 WHERE b<10 ORDER BY a DESC LIMIT 1;")
            k = ids.pop(rnd.randrange(len(ids)))
            out.append("DELETE FROM e2m.user WHERE id=%d;" % k)
        out.append("SET SESSION binlog_row_image=FULL;")
    out.append("COMMIT;")
    if i == 150:
        out.append("TRUNCATE TABLE e2m.user_roles;")
print("\n".join(out))
EOF
sql_file "$TMP/workload.sql"
echo '{"e2m.nokey": {"key": ["code"]}}' >"$TMP/map.json"

# Live from the server, as a replica.
source_cmd=(env MYSQL_PWD="$MYSQL_REPL_PASSWORD" binlog-tail --mysql "$MYSQL_REPL_URL" --from earliest --stop-at-end)
"${source_cmd[@]}" 2>"$TMP/tail.err" | tee "$TMP/lines" | jsonl-to-mongo --mongo "$MONGO_URL" --decimal string --map "$TMP/map.json" \
  2>"$TMP/sink.err"
codes="${PIPESTATUS[0]}${PIPESTATUS[2]}"
expect_eq "binlog-tail | jsonl-to-mongo over the workload exit 0" "$codes" 00
[[ $codes == 00 ]] || sed "s/^/#   /" "$TMP/tail.err" "$TMP/sink.err" | tail -8

/usr/bin/python3 - "$TMP/lines" >"$TMP/shape" <<'EOF'
import json, sys
partial = moved_pair = moved_partial = 0
types = {}
for raw in open(sys.argv[1], encoding="utf-8"):
    l = json.loads(raw)
    if l.get("table") == "user" and l.get("types"):
        types.update(l["types"])
    if l.get("eventType") != "UPDATE":
        continue
    partial += bool(l.get("partial"))
    b, a = l["before"], l["after"]
    if l["table"] == "pair" and "b" in a and a["b"] != b["b"]:
        moved_pair += 1
        moved_partial += bool(l.get("partial"))
print(partial > 10, moved_pair > 10, moved_partial > 0,
      " ".join(types.get(c, "-") for c in ("b64", "iu", "tu", "mu", "ts0", "tb", "mb", "lb", "tt", "mt", "lt", "ls", "gm")))
EOF
expect_eq "the stream carries partial images, composite-key changes (one partial) and every added column type" \
  "$(cat "$TMP/shape")" "True True True bit(64) int unsigned tinyint unsigned mediumint unsigned timestamp(0) blob blob blob text text text geometry geometry"

for t in user user_roles pair nokey; do
  sql-convert "SELECT * FROM e2m.$t" >"$TMP/$t.rows"
done
mongo-dump "$MONGO_URL" e2m >"$TMP/dump"
verdict=$(/usr/bin/python3 - "$TMP" "$ROOT/tests/integration" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[2])
from mongo_model import typed, read_dump
d = sys.argv[1]
keys = {"user": ["id"], "user_roles": ["id"], "pair": ["a", "b"], "nokey": ["code"]}
want = {}
for t, cols in keys.items():
    with open("%s/%s.rows" % (d, t), encoding="utf-8") as f:
        lines = f.read().splitlines()
    types = json.loads(lines[0]) if lines else {}
    for l in lines[1:]:
        row = json.loads(l)
        doc = {c: typed(types.get(c), v) for c, v in row.items()}
        key = doc[cols[0]] if len(cols) == 1 else {c: doc[c] for c in cols}
        doc["_id"] = key
        want[("e2m." + t, json.dumps(key, sort_keys=True))] = doc
got, _ = read_dump(d + "/dump")
if want == got:
    print("same: %d rows" % len(got))
else:
    bad = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    print("differ: %d rows expected, %d documents found, %d differ, e.g. %s: want %s got %s" %
          (len(want), len(got), len(bad), bad[0], json.dumps(want.get(bad[0]))[:400], json.dumps(got.get(bad[0]))[:400]))
EOF
)
expect_eq "every table's documents equal SELECT * row by row, typed (user_roles truncated on the way)" "${verdict%%:*}" same
echo "# $verdict"
expect "the checkpoint left in MongoDB is where binlog-tail can resume" \
  bash -c "[[ \$(jsonl-to-mongo --mongo '$MONGO_URL' --print-checkpoint) == *:* ]]"
