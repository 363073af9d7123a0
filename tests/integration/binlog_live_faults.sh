#!/usr/bin/env bash
# services: mariadb
# budget: 240
# binlog-tail --mysql under faults, against a harness-owned MariaDB with a workload running: the
# server restarted (graceful and kill -9) mid-stream (binlog-tail reconnects from its last boundary);
# binlog-tail itself killed -9 at 20 seeded random instants and at failpoints (after writing before
# the checkpoint, inside a large transaction), each time resumed with --resume. The tables rebuilt
# from all runs' lines equal SELECT *, and each kill repeats at most one transaction on stdout.
# Environment: BUILD (default build: bin/), SEED (default 4).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live_faults: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live_faults: $tail_bin not built"; exit 1; }
ctl=$here/../services/ctl
if ! "$ctl" mariadb status >/dev/null 2>&1; then
  echo "skip - binlog_live_faults: the MariaDB server is not owned by this run (set ROWPIPE_OWN_SERVICES=1)"
  exit 0
fi
RANDOM=${SEED:-4}

# workload DB SECONDS: small transactions (single statements and BEGIN..COMMIT groups) into DB's
# tables for about SECONDS, through one client; statements that meet a stopped server fail and are
# simply not there (--force).
workload() {
  local db=$1 secs=$2 i=0 end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    i=$((i + 1))
    echo "INSERT INTO $db.t_kv VALUES ('k$i', $i) ON DUPLICATE KEY UPDATE v = v + 1;"
    echo "BEGIN; UPDATE $db.t_kv SET v = v + 1 WHERE k = 'k$((i / 2))'; INSERT INTO $db.t_nopk VALUES ($i, 'n$i');"
    echo "DELETE FROM $db.t_nopk WHERE a = $((i - 5)) LIMIT 1; COMMIT;"
    ((i % 7 == 0)) && echo "DELETE FROM $db.t_kv WHERE k = 'k$((i - 3))';"
    ((i % 50 == 0)) && echo "FLUSH BINARY LOGS;"
    sleep 0.01
  done
}
run_sql_stream() { env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_PWD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" --force >/dev/null 2>&1; }

# 1. Server restarts mid-stream.
db=rp_restart
create_tables "$db"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --checkpoint "$tmp/r.ck" --idle-interval 0.5 >"$tmp/r.jsonl" 2>"$tmp/r.err" &
pid=$!
live_pids+=("$pid")
wait_for_checkpoint "$tmp/r.ck" 10 >/dev/null
# The workload's client dies with the server: one per phase.
workload "$db" 1 | run_sql_stream
"$ctl" mariadb restart >/dev/null 2>&1
workload "$db" 1 | run_sql_stream
"$ctl" mariadb kill >/dev/null 2>&1
sleep 0.5
"$ctl" mariadb start >/dev/null 2>&1
workload "$db" 1 | run_sql_stream
wait_for_checkpoint "$tmp/r.ck" 30 || true
kill -TERM "$pid"
wait "$pid"
rc=$?
reconnects=$(grep -c 'reconnecting in' "$tmp/r.err")
if [ "$rc" = 0 ] && [ "$reconnects" -ge 2 ]; then
  ok "binlog_live_faults: a restarted and a killed server are reconnected to ($reconnects attempts logged), exit 0 at SIGTERM"
else
  not_ok "binlog_live_faults: restart: exit $rc, $(head -5 "$tmp/r.err")"
fi
rebuild "$db" "binlog_live_faults: after two server restarts the rebuilt tables equal SELECT *" "$tmp/r.jsonl"

# 2. binlog-tail killed -9 at 20 random instants while the workload runs, resumed each time.
db=rp_kill
create_tables "$db"
rm -f "$tmp/k.ck"
# Start at the current end; the first run's checkpoint is the resume point of the next.
"$tail_bin" --mysql "$MYSQL_REPL_URL" --checkpoint "$tmp/k.ck" --stop-at-end >/dev/null 2>&1
workload "$db" 12 | run_sql_stream &
wl=$!
live_pids+=("$wl")
runs=()
kills=20
for ((n = 1; n <= kills; n++)); do
  out=$tmp/kill-$n.jsonl
  runs+=("$out")
  "$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/k.ck" --checkpoint "$tmp/k.ck" >"$out" 2>"$tmp/kill-$n.err" &
  pid=$!
  # 100 to 600 ms: some kills land while connecting, most while streaming.
  sleep "0.$((RANDOM % 5 + 1))$((RANDOM % 10))"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
done
wait "$wl"
runs+=("$tmp/kill-final.jsonl")
"$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/k.ck" --checkpoint "$tmp/k.ck" --stop-at-end \
  >"$tmp/kill-final.jsonl" 2>"$tmp/kill-final.err"
rc=$?
[ "$rc" = 0 ] || not_ok "binlog_live_faults: the final resume exited $rc: $(cat "$tmp/kill-final.err")"
rebuild "$db" "binlog_live_faults: after $kills kill -9s (seed ${SEED:-4}) and resumes the rebuilt tables equal SELECT *" "${runs[@]}"
repeats=$(facts_field repeats)
worst=$("$python" -c 'import json,sys; r=json.loads(sys.argv[1]); print(max(r) if r else 0)' "$repeats")
busy=0
for r in "${runs[@]}"; do [ -s "$r" ] && busy=$((busy + 1)); done
if [ "$worst" -le 1 ] && [ "$busy" -ge $((kills / 2)) ]; then
  ok "binlog_live_faults: each kill -9 repeats at most one transaction on stdout ($busy of $((kills + 1)) runs wrote lines; repeats per restart: $repeats)"
else
  not_ok "binlog_live_faults: a restart repeated $worst transactions ($busy runs wrote lines): $repeats"
fi

# 3. Failpoints: killed after writing a transaction but before its checkpoint; killed inside a large
# transaction whose first lines were written.
db=rp_fail
create_tables "$db"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --checkpoint "$tmp/f.ck" --stop-at-end >/dev/null 2>&1
sql -e "INSERT INTO $db.t_kv VALUES ('a', 1); INSERT INTO $db.t_kv VALUES ('b', 2); INSERT INTO $db.t_kv VALUES ('c', 3)"
# (In a subshell, so the shell's "Killed" report goes to /dev/null with it.)
rc1=$( (ROWPIPE_FAILPOINT=after-write:2 "$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/f.ck" \
  --checkpoint "$tmp/f.ck" --stop-at-end >"$tmp/f1.jsonl" 2>/dev/null; echo $?) 2>/dev/null)
# About 3 MB of lines in one transaction: written in parts.
sql -e "SET SESSION max_recursive_iterations = 100000; INSERT INTO $db.t_nopk WITH RECURSIVE c(n) AS
        (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) SELECT n, CONCAT('big', n) FROM c"
sql -e "UPDATE $db.t_kv SET v = 10 WHERE k = 'a'"
rc2=$( (ROWPIPE_FAILPOINT=mid-transaction "$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/f.ck" \
  --checkpoint "$tmp/f.ck" --stop-at-end >"$tmp/f2.jsonl" 2>/dev/null; echo $?) 2>/dev/null)
"$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/f.ck" --checkpoint "$tmp/f.ck" --stop-at-end >"$tmp/f3.jsonl" 2>"$tmp/f3.err"
rc3=$?
if [ "$rc1:$rc2:$rc3" = 99:99:0 ]; then
  ok "binlog_live_faults: the failpoints killed binlog-tail after a write and inside a transaction; the resume exits 0"
else
  not_ok "binlog_live_faults: failpoint exits $rc1:$rc2:$rc3 (want 99:99:0): $(cat "$tmp/f3.err")"
fi
rebuild "$db" "binlog_live_faults: after the failpoint kills the rebuilt tables equal SELECT *" \
  "$tmp/f1.jsonl" "$tmp/f2.jsonl" "$tmp/f3.jsonl"
if [ "$(facts_field repeats)" = "[1, 1]" ]; then
  ok "binlog_live_faults: each failpoint kill repeats exactly the one transaction it interrupted"
else
  not_ok "binlog_live_faults: repeats after the failpoints: $(facts_field repeats)"
fi
exit $failed
