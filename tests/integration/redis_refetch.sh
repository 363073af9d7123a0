# jsonl-to-redis --refetch against a real MariaDB: each line only names a row; its current version is
# read by key (through the shared SQL converter) and written, or its key deleted when the row is gone.
# services: redis mariadb
# budget: 120
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${REDIS_URL:-} || -z ${MYSQL_URL:-} ]]; then
  echo "skip - jsonl-to-redis --refetch: needs Redis and MariaDB (tests/services/run could not start them)"
  exit 0
fi
rc() { redis-cli -u "$REDIS_URL" "$@"; }
sql() { mariadb --no-defaults -uroot -h 127.0.0.1 -P "$MYSQL_PORT" -N -B -e "$1"; }
hash() { rc HGETALL "$1" | paste -sd' ' -; }

sql "CREATE DATABASE rf; CREATE TABLE rf.t (id INT PRIMARY KEY, name VARCHAR(20), b VARBINARY(8), price DECIMAL(10,2),
     at DATETIME(3), n INT NULL, f FLOAT)"
sql "INSERT INTO rf.t VALUES (1,'one',X'00FF','12.5','2024-02-29 12:34:56.789',NULL,0.1), (2,'two',NULL,'0',NULL,7,NULL),
     (5,'five',X'41','1.25','2000-01-01 00:00:00',5,-2.5)"
line() { # line OFFSET TYPE BEFORE AFTER: a trigger line (its images may be stale: only the key counts)
  printf '{"binlog":"mysql-bin.000001:%s","row":0,"db":"rf","table":"t","eventType":"%s","pk":["id"],"before":%s,"after":%s,"commit":true,"next":"mysql-bin.000001:%s"}\n' \
    "$1" "$2" "$3" "$4" "$(($1 + 10))"
}
rc FLUSHALL >/dev/null
{
  line 100 INSERT null '{"id":1,"name":"stale"}'
  line 110 INSERT null '{"id":2}'
  line 120 UPDATE '{"id":3}' '{"id":5}'
  line 130 DELETE '{"id":4}' null
} >"$TMP/triggers"
rc HSET rf_t_4 name gone >/dev/null
rc HSET rf_t_3 name moved >/dev/null
run_capture jsonl-to-redis --redis "$REDIS_URL" --refetch "$MYSQL_URL" "$TMP/triggers"
expect_eq "--refetch applies the triggers (exit 0)" "$status" 0
expect_eq "the row is read from MariaDB, not taken from the line; values render as the decoder renders them" \
  "$(rc HGET rf_t_1 name)|$(rc HGET rf_t_1 price)|$(rc HGET rf_t_1 at)|$(rc HGET rf_t_1 f)|$(rc HEXISTS rf_t_1 n)" \
  "one|12.50|2024-02-29 12:34:56.789|0.1|0"
expect_eq "a binary column arrives as its raw bytes" "$(rc --no-raw HGET rf_t_1 b)" '"\x00\xff"'
expect_eq "NULL columns are absent" "$(hash rf_t_2)" "id 2 name two price 0.00 n 7"
expect_eq "an UPDATE trigger refreshes both keys: the old row is gone, the new one read" \
  "$(rc EXISTS rf_t_3):$(rc HGET rf_t_5 name)" "0:five"
expect_eq "a row gone from MariaDB has its key deleted" "$(rc EXISTS rf_t_4)" 0
expect_eq "the checkpoint follows the triggers" "$(rc GET rowpipe:checkpoint:default)" '{"binlog":"mysql-bin.000001:140"}'

sql "UPDATE rf.t SET name='ONE', n=3 WHERE id=1; DELETE FROM rf.t WHERE id=2"
line 140 UPDATE '{"id":1}' '{"id":1}' >"$TMP/t2"
line 150 UPDATE '{"id":2}' '{"id":2}' >>"$TMP/t2"
run_capture jsonl-to-redis --redis "$REDIS_URL" --refetch "$MYSQL_URL" "$TMP/t2"
expect_eq "a later trigger writes the row's current version and deletes a row gone since" \
  "$(rc HGET rf_t_1 name):$(rc HGET rf_t_1 n):$(rc EXISTS rf_t_2)" "ONE:3:0"

run_capture jsonl-to-redis --redis "$REDIS_URL" --refetch 'mysql://root@127.0.0.1:1' --retry-for 1 "$TMP/triggers" --name other
expect "MySQL unavailable past --retry-for: exit 69 naming the server" \
  bash -c "[[ $status -eq 69 ]] && grep -q '127.0.0.1:1' '$TMP/err'"
run_capture jsonl-to-redis --redis "$REDIS_URL" --refetch "$MYSQL_URL" --guard /dev/null
expect_eq "--refetch with --guard is a usage error" "$status" 64
