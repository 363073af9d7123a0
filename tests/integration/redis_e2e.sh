# End to end: a MariaDB workload tailed live by binlog-tail (`binlog-tail --mysql ... | jsonl-to-redis`
# running while the workload writes, stopped by SIGTERM once caught up) leaves hashes equal, row by row,
# to SELECT * of every table (rendered by the shared SQL converter, as the decoder renders); then more
# writes while nothing runs, and the README's no-broker resume (`binlog-tail --from "$(jsonl-to-redis
# --print-checkpoint)" --stop-at-end | jsonl-to-redis`) makes Redis equal again, applying each new line
# once and no line of before.
# services: mariadb redis
# budget: 240
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${REDIS_URL:-} || -z ${MYSQL_URL:-} ]]; then
  echo "skip - binlog-tail | jsonl-to-redis end to end: needs MariaDB and Redis (tests/services/run could not start them)"
  exit 0
fi
sql() { mariadb --no-defaults -uroot -h 127.0.0.1 -P "$MYSQL_PORT" -N -B -e "$1"; }
sql_file() { mariadb --no-defaults -uroot -h 127.0.0.1 -P "$MYSQL_PORT" -N -B <"$1"; }
master_pos() { sql "SHOW MASTER STATUS" | awk '{print $1 ":" $2}'; }
print_checkpoint() { jsonl-to-redis --redis "$REDIS_URL" --print-checkpoint; }
# The replica user's password reaches binlog-tail through MYSQL_PWD, as documented.
tail_live() { env MYSQL_PWD="$MYSQL_REPL_PASSWORD" binlog-tail --mysql "$MYSQL_REPL_URL" "$@"; }
# wait_caught_up: until the checkpoint jsonl-to-redis keeps in Redis is the server's end of log (60 s).
wait_caught_up() {
  local i
  for ((i = 0; i < 600; i++)); do
    [[ $(print_checkpoint 2>/dev/null) == "$(master_pos)" ]] && return 0
    sleep 0.1
  done
  echo "#   the checkpoint $(print_checkpoint 2>&1) never reached $(master_pos)"
  return 1
}

sql "CREATE DATABASE e2e;
CREATE TABLE e2e.user (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(40) CHARACTER SET utf8mb4, bin VARBINARY(16),
  price DECIMAL(12,3), born DATE, seen DATETIME(6), ts TIMESTAMP(3) NULL, f FLOAT, d DOUBLE, e ENUM('a','b','c'),
  s SET('x','y','z'), y YEAR, t TIME(2), doc JSON, n INT NULL, neg TINYINT, bits BIT(5));
CREATE TABLE e2e.user_roles (id INT PRIMARY KEY, role VARCHAR(20));
CREATE TABLE e2e.pair (a VARCHAR(10), b INT, v TEXT, PRIMARY KEY (a, b));
CREATE TABLE e2e.nokey (code VARCHAR(10), v INT)"
# The workload: phase 1 in two halves, tailed live (short sleeps so that the pipeline reads while the
# server writes; TRUNCATE in the second half); phase 2 written while no pipeline runs, of statements
# that each change exactly one row, so that its row changes are counted here (phase2.rows).
/usr/bin/python3 - "$TMP" <<'EOF'
import random, sys
d = sys.argv[1]
rnd = random.Random(61)
def q(s): return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
ids = []
next_id = 0
phases = {"1a": [], "1b": [], "2": []}
rows2 = 0
for i in range(1, 461):
    phase = "1a" if i <= 200 else "1b" if i <= 400 else "2"
    out = phases[phase]
    n = 0
    out.append("BEGIN;")
    for j in range(rnd.choice([1, 1, 3])):
        next_id += 1
        k = next_id
        ids.append(k)
        out.append("INSERT INTO e2e.user VALUES (%d,%s,X'%s',%s,'2001-02-%02d','2024-01-01 10:00:00.%06d',%s,%s,%s,'%s','%s',%d,'-12:34:56.5',%s,%s,%d,b'%s');" % (
            k, q(rnd.choice(["a", "é日本", "q\"uote", "back\\slash", "x_y", ""])), "%02x%02x" % (rnd.randrange(256), k % 256),
            rnd.choice(["1.5", "-0.001", "99999.999"]), k % 28 + 1, k,
            rnd.choice(["NULL", "'2020-05-05 05:05:05.123'"]), rnd.choice(["0.1", "NULL", "3.5e10"]),
            rnd.choice(["1e-7", "2.5", "NULL"]), rnd.choice("abc"), rnd.choice(["x,y", "", "z"]), 2000 + k % 50,
            rnd.choice(["NULL", q('{"k": [1, 2.5, "v"]}')]), rnd.choice(["NULL", str(k)]), -k % 128, bin(k % 32)[2:]))
        out.append("INSERT INTO e2e.user_roles VALUES (%d,%s);" % (k, q("r%d" % k)))
        out.append("INSERT INTO e2e.pair VALUES (%s,%d,%s);" % (q(rnd.choice(["a", "a_b", "c\\d"]) + str(k)), k % 3, q("v")))
        out.append("INSERT INTO e2e.nokey VALUES (%s,%d);" % (q("c%d" % k), k))
        n += 4
    if ids and rnd.random() < 0.4:
        k = rnd.choice(ids)
        out.append("UPDATE e2e.user SET name=%s, n=NULL, price=price+1 WHERE id=%d;" % (q("upd%d" % i), k))
        n += 1
    if ids and rnd.random() < 0.2:
        k = ids.pop(rnd.randrange(len(ids)))
        out.append("DELETE FROM e2e.user WHERE id=%d;" % k)
        n += 1
    if ids and rnd.random() < 0.1:
        k = ids.pop(rnd.randrange(len(ids)))
        out.append("UPDATE e2e.user SET id=%d WHERE id=%d;" % (100000 + k, k))
        n += 1
    if phase != "2":
        out.append("UPDATE e2e.pair SET v=CONCAT(v,'!') WHERE b=%d LIMIT 2;" % (i % 3))
    out.append("COMMIT;")
    if phase == "2":
        rows2 += n
    elif i % 5 == 0:
        out.append("DO SLEEP(0.02);")
    if i == 300:
        out.append("TRUNCATE TABLE e2e.user_roles;")
for name, lines in phases.items():
    with open("%s/phase%s.sql" % (d, name), "w") as f:
        f.write("\n".join(lines) + "\n")
with open(d + "/phase2.rows", "w") as f:
    f.write("%d\n" % rows2)
EOF
echo '{"e2e.nokey": {"key": ["code"]}}' >"$TMP/map.json"

# compare_select SENTENCE: every e2e table's hashes against SELECT * through the shared converter, each
# value as Redis stores it.
compare_select() {
  local t verdict
  for t in user user_roles pair nokey; do
    sql-convert "SELECT * FROM e2e.$t" >"$TMP/$t.rows"
  done
  verdict=$(/usr/bin/python3 - "$TMP" "$REDIS_URL" "$ROOT/tests/integration" <<'EOF'
import base64, json, sys
sys.path.insert(0, sys.argv[3])
from redis_model import dump
d = sys.argv[1]
keys = {"user": ["id"], "user_roles": ["id"], "pair": ["a", "b"], "nokey": ["code"]}
want = {}
for t, cols in keys.items():
    with open("%s/%s.rows" % (d, t)) as f:
        lines = f.read().splitlines()
    types = json.loads(lines[0]) if lines else {}  # sql-convert: the types object, then one row per line
    for l in lines[1:]:
        # Numbers keep the converter's digits; strings are text, binary columns base64.
        row = json.loads(l, parse_int=str, parse_float=str)
        h = {}
        for c, v in row.items():
            if v is None:
                continue
            if isinstance(v, (dict, list)):
                v = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
            raw = base64.b64decode(v) if types.get(c) in ("binary", "varbinary", "blob") else v.encode()
            h[c.encode()] = raw
        parts = [h.get(c.encode(), b"\\N") for c in cols]
        if len(cols) > 1:
            parts = [p.replace(b"\\", b"\\\\").replace(b"_", b"\\_") for p in parts]
        want[b"e2e_%s_" % t.encode() + b"_".join(parts)] = h
got = {k: v for k, v in dump(sys.argv[2]).items() if k.startswith(b"e2e_")}
if want == got:
    print("same: %d rows" % len(got))
else:
    bad = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
    print("differ: %d rows expected, %d keys found, %d differ, e.g. %r: want %r got %r" %
          (len(want), len(got), len(bad), bad[0], want.get(bad[0]), got.get(bad[0])))
EOF
  )
  expect_eq "$1" "${verdict%%:*}" same
  echo "# $verdict"
}

# 1. The live pipeline, started before the workload and left running through it.
mkfifo "$TMP/lines"
# (env execs binlog-tail, so that $! is binlog-tail itself and SIGTERM reaches it.)
env MYSQL_PWD="$MYSQL_REPL_PASSWORD" binlog-tail --mysql "$MYSQL_REPL_URL" --from earliest >"$TMP/lines" 2>"$TMP/tail1.err" &
tail_pid=$!
jsonl-to-redis --redis "$REDIS_URL" --map "$TMP/map.json" <"$TMP/lines" 2>"$TMP/sink1.err" &
sink_pid=$!
wait_caught_up
expect "the live pipeline catches up with the server before the workload (tables created)" test $? -eq 0
sql_file "$TMP/phase1a.sql"
wait_caught_up
caught=$?
keys_half=$(redis-cli -u "$REDIS_URL" --scan --pattern 'e2e_user_*' | wc -l)
expect "after the first half of the workload the running pipeline has applied it (caught up, ${keys_half} user rows)" \
  bash -c "[[ $caught -eq 0 && $keys_half -gt 0 ]] && kill -0 $tail_pid $sink_pid"
sql_file "$TMP/phase1b.sql"
wait_caught_up
expect "after the second half (with a TRUNCATE) the running pipeline is caught up again" test $? -eq 0
kill -TERM "$tail_pid"
wait "$tail_pid"
tail_status=$?
wait "$sink_pid"
sink_status=$?
expect_eq "SIGTERM to binlog-tail ends both with exit 0 (binlog-tail drains, jsonl-to-redis reads to the end)" \
  "$tail_status:$sink_status" 0:0
[[ $tail_status:$sink_status == 0:0 ]] || sed "s/^/#   /" "$TMP/tail1.err" "$TMP/sink1.err" | tail -8
compare_select "after the live run every table's hashes equal SELECT * row by row (user_roles truncated on the way)"
ck1=$(print_checkpoint)
expect_eq "the checkpoint in Redis is the server's end of log" "$ck1" "$(master_pos)"

# 2. More writes while nothing runs, then the README's no-broker pipeline resumes from Redis's checkpoint.
sql_file "$TMP/phase2.sql"
tail_live --from "$(print_checkpoint)" --stop-at-end 2>"$TMP/tail2.err" | tee "$TMP/resume.jsonl" |
  jsonl-to-redis --redis "$REDIS_URL" --map "$TMP/map.json" 2>"$TMP/sink2.err"
codes="${PIPESTATUS[0]}${PIPESTATUS[2]}"
expect_eq "binlog-tail --from \"\$(jsonl-to-redis --print-checkpoint)\" --stop-at-end | jsonl-to-redis exit 0" "$codes" 00
[[ $codes == 00 ]] || sed "s/^/#   /" "$TMP/tail2.err" "$TMP/sink2.err" | tail -8
compare_select "after the resume every table's hashes equal SELECT * row by row again"
expect_eq "the checkpoint in Redis is again the server's end of log" "$(print_checkpoint)" "$(master_pos)"
rows2=$(cat "$TMP/phase2.rows")
facts=$(/usr/bin/python3 - "$TMP/resume.jsonl" "$ck1" <<'EOF'
import json, sys
ck = sys.argv[2].rsplit(":", 1)
ck = (ck[0], int(ck[1]))
rows, before = 0, 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    f, o = e["binlog"].rsplit(":", 1)
    if (f, int(o)) < ck:
        before += 1
    if e.get("eventType") in ("INSERT", "UPDATE", "DELETE"):
        rows += 1
print("%d:%d" % (rows, before))
EOF
)
expect_eq "the resumed stream holds exactly the phase-2 row changes ($rows2), none before the checkpoint" "$facts" "$rows2:0"
expect "jsonl-to-redis applied each of them once: '$rows2 rows applied, 0 skipped'" \
  grep -q "lines read: $rows2 rows applied, 0 skipped as already applied" "$TMP/sink2.err"

# 3. Replaying everything from the start changes nothing: each line is covered by the checkpoint.
tail_live --from earliest --stop-at-end 2>"$TMP/tail3.err" | jsonl-to-redis --redis "$REDIS_URL" --map "$TMP/map.json" 2>"$TMP/sink3.err"
codes="${PIPESTATUS[0]}${PIPESTATUS[1]}"
expect "a replay from the earliest binlog exits 0 and applies nothing (every line skipped)" \
  bash -c "[[ $codes == 00 ]] && grep -q ': 0 rows applied, [1-9][0-9]* skipped as already applied' '$TMP/sink3.err'"
compare_select "after the replay the hashes still equal SELECT *"
