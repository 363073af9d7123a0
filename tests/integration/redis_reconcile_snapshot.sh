# jsonl-to-redis --reconcile fed real `binlog-tail --mysql ... --snapshot-only` output: Redis left stale
# (rows since deleted, changed or never in MariaDB) is repaired to SELECT *, a table's stale keys go,
# and the keys of the other table, user_roles, which the key pattern d_user_* also matches, stay as
# they were; then a snapshot of both tables repairs both.
# services: mariadb redis
# budget: 120
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${REDIS_URL:-} || -z ${MYSQL_URL:-} ]]; then
  echo "skip - binlog-tail --snapshot-only | jsonl-to-redis --reconcile: needs MariaDB and Redis (tests/services/run could not start them)"
  exit 0
fi
sql() { mariadb --no-defaults -uroot -h 127.0.0.1 -P "$MYSQL_PORT" -N -B -e "$1"; }
rc() { redis-cli -u "$REDIS_URL" "$@"; }
# The replica user's password reaches binlog-tail through MYSQL_PWD, as documented.
tail_live() { env MYSQL_PWD="$MYSQL_REPL_PASSWORD" binlog-tail --mysql "$MYSQL_REPL_URL" "$@"; }
# state redis TABLE | state select TABLE: the table's rows as Redis holds them (keys d_TABLE_ID exactly)
# or as SELECT * gives them (through the shared converter), one canonical JSON text.
state() {
  if [[ $1 == select ]]; then sql-convert "SELECT * FROM d.$2" >"$TMP/$2.rows"; fi
  /usr/bin/python3 - "$1" "$2" "$TMP/$2.rows" "$REDIS_URL" "$ROOT/tests/integration" <<'EOF'
import json, re, sys
sys.path.insert(0, sys.argv[5])
from redis_model import dump
mode, table = sys.argv[1], sys.argv[2]
rows = {}
if mode == "select":
    lines = open(sys.argv[3]).read().splitlines()
    for l in lines[1:]:  # sql-convert: the types object, then one row per line
        r = json.loads(l, parse_int=str, parse_float=str)
        rows["d_%s_%s" % (table, r["id"])] = {c: v for c, v in r.items() if v is not None}
else:
    own = re.compile(rb"^d_%s_[0-9]+$" % table.encode())
    for k, h in dump(sys.argv[4]).items():
        if own.match(k):
            rows[k.decode()] = {f.decode(): v.decode() for f, v in h.items()}
print(json.dumps(rows, sort_keys=True))
EOF
}
# same_as_select SENTENCE TABLE
same_as_select() {
  local want got
  want=$(state select "$2")
  got=$(state redis "$2")
  if [[ $want == "{}" ]]; then
    echo "not ok - $1: SELECT * FROM d.$2 returned no rows"
  elif [[ $want == "$got" ]]; then
    echo "ok - $1"
  else
    echo "not ok - $1: $(/usr/bin/python3 -c 'import json,sys; w,g=json.loads(sys.argv[1]),json.loads(sys.argv[2]); d=sorted(k for k in set(w)|set(g) if w.get(k)!=g.get(k)); print("%d rows, %d keys, %d differ, e.g. %s: want %s got %s" % (len(w), len(g), len(d), d[0], w.get(d[0]), g.get(d[0])))' "$want" "$got")"
  fi
}

sql "CREATE DATABASE d;
CREATE TABLE d.user (id INT PRIMARY KEY, name VARCHAR(20), v INT NULL);
CREATE TABLE d.user_roles (id INT PRIMARY KEY, role VARCHAR(20));
USE d;
INSERT INTO d.user SELECT seq, CONCAT('n', seq), IF(seq % 3 = 0, NULL, seq) FROM seq_1_to_200;
INSERT INTO d.user_roles SELECT seq, CONCAT('r', seq) FROM seq_1_to_100"

# Redis as an ordered pipeline left it, then changes it never saw: stale rows in both tables.
tail_live --from earliest --stop-at-end 2>"$TMP/tail.err" | jsonl-to-redis -q --redis "$REDIS_URL" 2>"$TMP/sink.err"
codes="${PIPESTATUS[0]}${PIPESTATUS[1]}"
expect_eq "the tables reach Redis through binlog-tail | jsonl-to-redis (exit 0)" "$codes" 00
same_as_select "before the stale changes d.user in Redis equals SELECT *" user
sql "USE d;
DELETE FROM d.user WHERE id BETWEEN 1 AND 30;
UPDATE d.user SET name = 'changed', v = NULL WHERE id BETWEEN 31 AND 50;
INSERT INTO d.user SELECT seq, 'new', seq FROM seq_201_to_210;
DELETE FROM d.user_roles WHERE id BETWEEN 1 AND 10"
rc HSET d_user_5000 id 5000 name ghost >/dev/null       # a row MariaDB never had
rc HSET d_user_roles_5000 id 5000 role ghost >/dev/null # the same in the other table
roles_before=$(state redis user_roles)

# 1. A snapshot of d.user alone.
tail_live --snapshot-only d.user >"$TMP/snap_user.jsonl" 2>"$TMP/snap1.err"
expect "binlog-tail --snapshot-only d.user exits 0 with the table's 180 rows and a SNAPSHOT_END" \
  bash -c "[[ $? -eq 0 && \$(grep -c '\"eventType\":\"INSERT\"' '$TMP/snap_user.jsonl') -eq 180 ]] &&
    grep -q '\"table\":\"user\",\"eventType\":\"SNAPSHOT_END\"' '$TMP/snap_user.jsonl'"
run_capture jsonl-to-redis --redis "$REDIS_URL" --reconcile --name repair "$TMP/snap_user.jsonl"
expect "--reconcile exits 0 and deletes the 31 keys of d.user the snapshot lacks (30 deleted rows, 1 ghost)" \
  bash -c "[[ $status -eq 0 ]] && grep -q '31 keys deleted' '$TMP/err'"
same_as_select "after the reconcile d.user in Redis equals SELECT * (changed rows rewritten, new ones added)" user
expect_eq "the keys of d.user_roles (matched by d_user_*) are untouched, stale ones included" \
  "$(state redis user_roles)" "$roles_before"
expect_eq "... the ghost of d.user_roles and a role deleted in MariaDB are still there" \
  "$(rc EXISTS d_user_roles_5000 d_user_roles_1)" 2

# 2. A snapshot of both tables repairs both; a second reconcile with the same snapshot deletes nothing.
tail_live --snapshot-only d.user,d.user_roles >"$TMP/snap_both.jsonl" 2>"$TMP/snap2.err"
expect_eq "binlog-tail --snapshot-only d.user,d.user_roles exits 0 with one SNAPSHOT_END per table" \
  "$?:$(grep -c '"eventType":"SNAPSHOT_END"' "$TMP/snap_both.jsonl")" 0:2
run_capture jsonl-to-redis --redis "$REDIS_URL" --reconcile --name repair "$TMP/snap_both.jsonl"
expect "reconciling both tables deletes only the 11 stale keys of d.user_roles (d.user is already right)" \
  bash -c "[[ $status -eq 0 ]] && grep -q '11 keys deleted' '$TMP/err'"
same_as_select "d.user still equals SELECT *" user
same_as_select "d.user_roles now equals SELECT *" user_roles
