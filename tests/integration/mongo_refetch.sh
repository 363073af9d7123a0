# jsonl-to-mongo --refetch against a real MariaDB: each line only names a row; its current version is
# read by key (through the shared SQL converter) and written as a typed document, or its document
# deleted when the row is gone.
# services: mongo mariadb
# budget: 120
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${MONGO_URL:-} || -z ${MYSQL_URL:-} ]]; then
  echo "skip - jsonl-to-mongo --refetch: needs MongoDB and MariaDB (tests/services/run could not start them)"
  exit 0
fi
sql() { mariadb --no-defaults -uroot -h 127.0.0.1 -P "$MYSQL_PORT" -N -B -e "$1"; }
dump() { mongo-dump "$MONGO_URL" "$@"; }
doc() { dump rf.t | grep -F "\"_id\" : { \"\$numberInt\" : \"$1\" }" | cut -d' ' -f2-; }
mongo-dump --drop "$MONGO_URL" rf rowpipe

sql "CREATE DATABASE rf; CREATE TABLE rf.t (id INT PRIMARY KEY, name VARCHAR(20), b VARBINARY(8), price DECIMAL(10,2),
     at DATETIME(3), n INT NULL, f FLOAT)"
sql "INSERT INTO rf.t VALUES (1,'one',X'00FF','12.5','2024-02-29 12:34:56.789',NULL,0.1), (2,'two',NULL,'0',NULL,7,NULL),
     (5,'five',X'41','1.25','2000-01-01 00:00:00',5,-2.5)"
line() { # line OFFSET TYPE BEFORE AFTER: a trigger line (its images may be stale: only the key counts)
  printf '{"binlog":"mysql-bin.000001:%s","row":0,"db":"rf","table":"t","eventType":"%s","pk":["id"],"before":%s,"after":%s,"commit":true,"next":"mysql-bin.000001:%s"}\n' \
    "$1" "$2" "$3" "$4" "$(($1 + 10))"
}
{
  line 100 INSERT null '{"id":1,"name":"stale"}'
  line 110 INSERT null '{"id":2}'
  line 120 UPDATE '{"id":3}' '{"id":5}'
  line 130 DELETE '{"id":4}' null
} >"$TMP/triggers"
{
  line 10 INSERT null '{"id":3,"name":"moved"}'
  line 20 INSERT null '{"id":4,"name":"gone"}'
} >"$TMP/stale"
jsonl-to-mongo -q --mongo "$MONGO_URL" --name old "$TMP/stale"
run_capture jsonl-to-mongo --mongo "$MONGO_URL" --decimal string --refetch "$MYSQL_URL" "$TMP/triggers"
expect_eq "--refetch applies the triggers (exit 0)" "$status" 0
expect_eq "the row is read from MariaDB, not taken from the line, and typed by its SQL types" \
  "$(doc 1)" \
  '{ "_id" : { "$numberInt" : "1" }, "id" : { "$numberInt" : "1" }, "name" : "one", "b" : { "$binary" : { "base64" : "AP8=", "subType" : "00" } }, "price" : "12.50", "at" : { "$date" : { "$numberLong" : "1709210096789" } }, "n" : null, "f" : { "$numberDouble" : "0.10000000000000000555" } }'
expect_eq "an UPDATE trigger refreshes both keys: the old row is gone, the new one read" \
  "$(doc 3 | wc -l):$(doc 5 | grep -o '"name" : "[a-z]*"')" '0:"name" : "five"'
expect_eq "a row gone from MariaDB has its document deleted" "$(doc 4 | wc -l)" 0
expect_eq "the checkpoint follows the triggers" "$(jsonl-to-mongo --mongo "$MONGO_URL" --print-checkpoint)" \
  "mysql-bin.000001:140"

sql "UPDATE rf.t SET name='ONE', n=3 WHERE id=1; DELETE FROM rf.t WHERE id=2"
line 140 UPDATE '{"id":1}' '{"id":1}' >"$TMP/t2"
line 150 UPDATE '{"id":2}' '{"id":2}' >>"$TMP/t2"
run_capture jsonl-to-mongo --mongo "$MONGO_URL" --decimal string --refetch "$MYSQL_URL" "$TMP/t2"
expect_eq "a later trigger writes the row's current version and deletes a row gone since" \
  "$(doc 1 | grep -o '"name" : "[A-Za-z]*", .*"n" : { "$numberInt" : "[0-9]" }' | sed 's/"b".*"n"/"n"/'):$(doc 2 | wc -l)" \
  '"name" : "ONE", "n" : { "$numberInt" : "3" }:0'

run_capture jsonl-to-mongo --mongo "$MONGO_URL" --refetch 'mysql://root@127.0.0.1:1' --retry-for 1 --name other "$TMP/triggers"
expect "MySQL unavailable past --retry-for: exit 69 naming the server" \
  bash -c "[[ $status -eq 69 ]] && grep -q '127.0.0.1:1' '$TMP/err'"
