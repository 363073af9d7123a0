#!/usr/bin/env bash
# services: mariadb
# budget: 60
# binlog-tail --mysql when the link goes silent or the server stays away, against a harness-owned
# MariaDB: the server frozen (SIGSTOP) mid-stream while a workload runs is noticed within
# --read-timeout (a reconnect warning while it is still frozen) and reconnected to after SIGCONT,
# the tables rebuilt from the lines equal SELECT * with at most one transaction repeated; a server
# stopped for good ends --max-retries and --retry-timeout with exit 69 and a message saying it gave
# up; a resume after the server is back loses nothing. Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live_net: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live_net: $tail_bin not built"; exit 1; }
ctl=$here/../services/ctl
if ! "$ctl" mariadb status >/dev/null 2>&1; then
  echo "skip - binlog_live_net: the MariaDB server is not owned by this run (set ROWPIPE_OWN_SERVICES=1)"
  exit 0
fi
server_pid=$(cat "$(sql -e "SELECT @@pid_file")")
# A frozen server must never outlive a failure of this script.
trap 'kill -CONT "$server_pid" 2>/dev/null; live_cleanup' EXIT
db=rp_net
create_tables "$db"

# 1. A silent link: the server frozen for 3 s while binlog-tail streams and a client writes.
"$tail_bin" --mysql "$MYSQL_REPL_URL" --checkpoint "$tmp/ck" --heartbeat 0.2 --read-timeout 1 --idle-interval 0.5 \
  >"$tmp/freeze.jsonl" 2>"$tmp/freeze.err" &
pid=$!
live_pids+=("$pid")
wait_for_checkpoint "$tmp/ck" 10 >/dev/null
(
  for ((i = 1; i <= 300; i++)); do
    echo "INSERT INTO $db.t_kv VALUES ('k$i', $i) ON DUPLICATE KEY UPDATE v = v + 1;"
    echo "BEGIN; UPDATE $db.t_kv SET v = v + 1 WHERE k = 'k$((i / 2))'; INSERT INTO $db.t_nopk VALUES ($i, 'n$i');"
    echo "DELETE FROM $db.t_nopk WHERE a = $((i - 5)) LIMIT 1; COMMIT;"
    ((i % 7 == 0)) && echo "DELETE FROM $db.t_kv WHERE k = 'k$((i - 3))';"
    sleep 0.01
  done
) | sql &
wl=$!
live_pids+=("$wl")
sleep 1
kill -STOP "$server_pid"
sleep 3
frozen_warnings=$(grep -c 'reconnecting in' "$tmp/freeze.err")
kill -CONT "$server_pid"
wait "$wl"
wait_for_checkpoint "$tmp/ck" 30 >/dev/null || not_ok "binlog_live_net: the stream did not catch up after SIGCONT"
kill -TERM "$pid"
wait "$pid"
rc=$?
if [ "$rc" = 0 ] && [ "$frozen_warnings" -ge 1 ] &&
  grep -q 'warning: reading the binlog stream from .*Lost connection.*reconnecting in' "$tmp/freeze.err"; then
  ok "binlog_live_net: a frozen server is noticed within --read-timeout 1 (reconnect warning while frozen), reconnected to after SIGCONT, exit 0 at SIGTERM"
else
  not_ok "binlog_live_net: frozen server: exit $rc, $frozen_warnings warnings while frozen: $(head -5 "$tmp/freeze.err")"
fi
rebuild "$db" "binlog_live_net: after the freeze the tables rebuilt from the lines equal SELECT *" "$tmp/freeze.jsonl"
# Transactions written again after a reconnection (their lines at or before a position already written).
again=$("$python" - "$tmp/freeze.jsonl" <<'PY'
import json, sys
def key(l):
    f, off = l["binlog"].rsplit(":", 1)
    return (int(f.rsplit(".", 1)[-1]), int(off), l.get("row", 0))
last, again = None, set()
for text in open(sys.argv[1], encoding="utf-8"):
    l = json.loads(text)
    if l["eventType"] == "HEARTBEAT":
        continue
    if last is not None and key(l) <= last:
        again.add(l["binlog"])
    else:
        last = key(l)
print(len(again))
PY
)
rows=$(grep -vc HEARTBEAT "$tmp/freeze.jsonl")
if [ "$again" -le 1 ] && [ "$rows" -gt 1000 ]; then
  ok "binlog_live_net: across the freeze at most one transaction is written twice ($again; $rows row lines)"
else
  not_ok "binlog_live_net: $again transactions written twice, $rows row lines"
fi

# 2. The server stopped for good: --max-retries, then --retry-timeout, give up with exit 69.
sql -e "INSERT INTO $db.t_kv VALUES ('before-stop', 1)"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/ck" --checkpoint "$tmp/ck" --max-retries 3 \
  >"$tmp/retries.jsonl" 2>"$tmp/retries.err" &
pid=$!
live_pids+=("$pid")
wait_for_checkpoint "$tmp/ck" 10 >/dev/null
"$ctl" mariadb stop >/dev/null 2>&1
t0=$SECONDS
for ((i = 0; i < 300; i++)); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
wait "$pid"
rc=$?
attempts=$(grep -c 'reconnecting in' "$tmp/retries.err")
if [ "$rc" = 69 ] && [ "$attempts" = 3 ] &&
  grep -q '^binlog-tail: error: cannot connect to .*(gave up after 3 reconnection attempt(s))$' "$tmp/retries.err"; then
  ok "binlog_live_net: with the server stopped, --max-retries 3 gives up after 3 attempts with exit 69 and says so"
else
  not_ok "binlog_live_net: --max-retries 3: exit $rc, $attempts attempts: $(cat "$tmp/retries.err")"
fi
t0=$SECONDS
"$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/ck" --checkpoint "$tmp/ck" --retry-timeout 2 \
  >"$tmp/timeout.jsonl" 2>"$tmp/timeout.err"
rc=$?
took=$((SECONDS - t0))
if [ "$rc" = 69 ] && ((took >= 1 && took <= 3)) &&
  grep -q '^binlog-tail: error: cannot connect to .*(gave up after --retry-timeout 2 s)$' "$tmp/timeout.err"; then
  ok "binlog_live_net: with the server down, --retry-timeout 2 gives up after about 2 s ($took s) with exit 69 and says so"
else
  not_ok "binlog_live_net: --retry-timeout 2: exit $rc after $took s: $(cat "$tmp/timeout.err")"
fi
"$ctl" mariadb start >/dev/null 2>&1
sql -e "INSERT INTO $db.t_kv VALUES ('after-start', 1)"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/ck" --checkpoint "$tmp/ck" --stop-at-end \
  >"$tmp/final.jsonl" 2>"$tmp/final.err" || not_ok "binlog_live_net: the resume after the restart: $(cat "$tmp/final.err")"
rebuild "$db" "binlog_live_net: a resume after the server came back: the tables rebuilt from all runs equal SELECT *" \
  "$tmp/freeze.jsonl" "$tmp/retries.jsonl" "$tmp/timeout.jsonl" "$tmp/final.jsonl"
exit $failed
