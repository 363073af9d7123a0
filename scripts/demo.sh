#!/usr/bin/env bash
# make demo: a private MariaDB and Redis, a small schema, binlog-tail | jsonl-to-redis running live
# while a short workload commits, then each MySQL row next to its Redis hash; stops what it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$root/bin
[[ ${BUILD:-build} == build ]] || bin_dir=$root/$BUILD/bin
export PATH=$bin_dir:$PATH

if [[ -z ${ROWPIPE_DEMO_INNER:-} ]]; then
  ROWPIPE_DEMO_INNER=1 ROWPIPE_OWN_SERVICES=1 exec "$root/tests/services/run" mariadb redis -- "$0" "$@"
fi
if [[ -z ${MYSQL_URL:-} || -z ${REDIS_URL:-} ]]; then
  echo "demo: the private MariaDB or Redis could not start (see the services: lines above)" >&2
  exit 69
fi

sql() { env -u MYSQL_PWD mariadb --no-defaults -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u root --protocol=tcp "$@"; }
redis_port=${REDIS_URL##*:}
tmp=$(mktemp -d)
tail_pid='' sink_pid=''
cleanup() {
  [[ -n $tail_pid ]] && kill -TERM "$tail_pid" 2>/dev/null
  [[ -n $sink_pid ]] && wait "$sink_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== a small schema on the private MariaDB ($MYSQL_URL)"
sql <<'SQL'
CREATE DATABASE shop;
CREATE TABLE shop.users (id INT UNSIGNED PRIMARY KEY, name VARCHAR(40), email VARCHAR(80), born DATE,
  balance DECIMAL(10,2), note TEXT);
SQL
sql -e 'SHOW CREATE TABLE shop.users\G' | sed -n '3,$p'

echo
echo "== binlog-tail --mysql $MYSQL_REPL_URL | jsonl-to-redis --redis $REDIS_URL (running live)"
# The replica user's password comes from the environment, never the command line.
# A FIFO between them, so that binlog-tail's own pid gets the SIGTERM that drains the pipeline.
mkfifo "$tmp/pipe"
tee "$tmp/lines.jsonl" <"$tmp/pipe" | jsonl-to-redis --redis "$REDIS_URL" >"$tmp/redis.out" 2>"$tmp/redis.err" &
sink_pid=$!
MYSQL_PWD=$MYSQL_REPL_PASSWORD binlog-tail --mysql "$MYSQL_REPL_URL" --from current --idle-interval 0.5 \
  >"$tmp/pipe" 2>"$tmp/tail.err" &
tail_pid=$!
# Started when its first HEARTBEAT line went through.
for _ in $(seq 100); do [[ -s $tmp/lines.jsonl ]] && break; sleep 0.05; done

echo
echo "== a short workload, committed while the pipeline runs"
sql <<'SQL'
INSERT INTO shop.users VALUES
  (1, 'ada', 'ada@example.org', '1815-12-10', 10.50, NULL),
  (2, 'alan', 'alan@example.org', '1912-06-23', 0, 'enigma'),
  (3, 'grace', 'grace@example.org', '1906-12-09', 99.99, 'cobol');
UPDATE shop.users SET email = 'countess@example.org', note = 'analytical engine' WHERE id = 1;
DELETE FROM shop.users WHERE id = 2;
BEGIN;
INSERT INTO shop.users VALUES (4, 'edsger', 'ewd@example.org', '1930-05-11', 1.00, 'goto');
UPDATE shop.users SET balance = balance + 1 WHERE id = 3;
COMMIT;
SQL
end=$(sql -N -e 'SHOW MASTER STATUS' | awk '{print $1 ":" $2}')
for _ in $(seq 200); do
  [[ $(jsonl-to-redis --redis "$REDIS_URL" --print-checkpoint 2>/dev/null) == "$end" ]] && break
  sleep 0.05
done
echo "Redis holds the changes up to $(jsonl-to-redis --redis "$REDIS_URL" --print-checkpoint) (server: $end)"
# SIGTERM: binlog-tail stops at a transaction boundary; jsonl-to-redis applies what it got, then ends.
kill -TERM "$tail_pid"
wait "$tail_pid" || true
wait "$sink_pid" || true
tail_pid='' sink_pid=''
echo
echo "== the lines binlog-tail wrote (heartbeats aside)"
grep -v '"eventType":"HEARTBEAT"' "$tmp/lines.jsonl" | cut -c1-160 | sed 's/$/.../'

echo
echo "== each MySQL row next to its Redis hash"
sql -N -B -e 'SELECT id, name, email, born, balance, IFNULL(note, "NULL") FROM shop.users ORDER BY id' |
  while IFS=$'\t' read -r id name email born balance note; do
    echo "mysql  shop.users id=$id: name=$name email=$email born=$born balance=$balance note=$note"
    echo "redis  shop_users_$id: $(redis-cli -p "$redis_port" --raw HGETALL "shop_users_$id" | paste - - |
      awk -F'\t' '{printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2}')"
  done
gone=$(redis-cli -p "$redis_port" EXISTS shop_users_2)
echo "redis  shop_users_2 (deleted in MySQL): exists=$gone"
