#!/usr/bin/env bash
# services: mariadb
# budget: 180
# binlog-tail --mysql against the harness's MariaDB: every column type decoded live while changes
# arrive (DDL included, FLUSH BINARY LOGS in between), idle HEARTBEAT lines, SIGTERM at a boundary,
# changes while stopped, --resume from the checkpoint with --stop-at-end; the tables rebuilt from the
# lines equal SELECT * and the lines equal file mode's for the same range; --include with HEARTBEAT
# lines; a MariaDB GTID start; --stats-interval status lines (filtered, idle, caught up); STATEMENT
# format and a purged binlog refused. Runs itself under
# tests/services/run when no server is given. Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live: $tail_bin not built"; exit 1; }
db=rp_live
datadir=$(sql -e "SELECT @@datadir")
first_file=$(master_pos)
first_file=${first_file%%:*}
start=$(master_pos)

# 1. Streaming from the current end; the tables are created while it runs.
"$tail_bin" --mysql "$MYSQL_REPL_URL" --checkpoint "$tmp/ck" --idle-interval 0.5 >"$tmp/run1.jsonl" 2>"$tmp/run1.err" &
pid=$!
live_pids+=("$pid")
wait_for_checkpoint "$tmp/ck" 10 || not_ok "binlog_live: the first checkpoint names the server's end of log"
create_tables "$db"
types_rows "$db" 1 | sql
sql -e "INSERT INTO $db.t_kv VALUES ('a', 1), ('b', 2); INSERT INTO $db.t_nopk VALUES (1, 'x'), (1, 'x'), (2, 'y')"
sql -e "FLUSH BINARY LOGS"
types_rows "$db" 10 | sql
sql -e "BEGIN; UPDATE $db.t_kv SET v = v + 10; DELETE FROM $db.t_nopk WHERE a = 1 LIMIT 1;
        INSERT INTO $db.t_kv VALUES ('c', 3); COMMIT"
sql -e "SET SESSION binlog_row_image = MINIMAL; UPDATE $db.t_types SET ti = 5, j = '{\"m\": 1}' WHERE id = 1"
if wait_for_checkpoint "$tmp/ck" 30; then
  ok "binlog_live: the checkpoint follows the server's end of log while changes arrive (FLUSH BINARY LOGS included)"
else
  not_ok "binlog_live: the checkpoint did not catch up: $(cat "$tmp/run1.err")"
fi
sleep 1.6 # idle: HEARTBEAT lines
kill -TERM "$pid"
wait "$pid"
rc=$?
end1=$(master_pos)
if [ "$rc" = 0 ] && grep -q "stopped by signal 15 at $end1 (a transaction boundary); resume with --resume $tmp/ck" "$tmp/run1.err"; then
  ok "binlog_live: SIGTERM stops at a transaction boundary with 0 and names the resume"
else
  not_ok "binlog_live: SIGTERM: exit $rc, stderr $(cat "$tmp/run1.err")"
fi
hb=$(grep -c "\"eventType\":\"HEARTBEAT\".*\"next\":\"$end1\"" "$tmp/run1.jsonl")
if [ "$hb" -ge 2 ]; then
  ok "binlog_live: an idle server gives HEARTBEAT lines at the position reached ($hb in 1.6 s at --idle-interval 0.5)"
else
  not_ok "binlog_live: $hb HEARTBEAT lines at $end1 while idle: $(grep HEARTBEAT "$tmp/run1.jsonl" | cut -c1-60 | tr "\n" " ") $(tail -1 "$tmp/run1.jsonl" | cut -c1-100)"
fi

# 2. Changes while stopped, over two more files; then resume from the checkpoint until caught up.
sql -e "UPDATE $db.t_kv SET v = v * 2; FLUSH BINARY LOGS; INSERT INTO $db.t_nopk VALUES (3, 'z');
        FLUSH BINARY LOGS; UPDATE $db.t_types SET vc = 'later' WHERE id = 10; DELETE FROM $db.t_kv WHERE k = 'a';
        INSERT INTO $db.t_nopk VALUES (4, 'last')"
# MariaDB writes a binlog checkpoint event on its own some time after a FLUSH BINARY LOGS: the end
# binlog-tail reached lies between the end before it started and the end after it stopped.
before=$(master_pos)
"$tail_bin" --mysql "$MYSQL_REPL_URL" --resume "$tmp/ck" --checkpoint "$tmp/ck" --stop-at-end \
  >"$tmp/run2.jsonl" 2>"$tmp/run2.err"
rc=$?
after=$(master_pos)
reached=$(sed -n 's/.*"binlog":"\([^"]*\)".*/\1/p' "$tmp/ck")
in_order() { [ "$(printf '%s\n' "$@" | sort -t: -k1,1 -k2,2n)" = "$(printf '%s\n' "$@")" ]; }
if [ "$rc" = 0 ] && [ -n "$reached" ] && in_order "$before" "$reached" "$after"; then
  ok "binlog_live: --resume with --stop-at-end catches up, exits 0 and checkpoints the end"
else
  not_ok "binlog_live: resume: exit $rc, checkpoint $(cat "$tmp/ck") (server end $before before, $after after), stderr $(cat "$tmp/run2.err")"
fi
rebuild "$db" "binlog_live: the tables rebuilt from both runs equal SELECT * (every column type, MINIMAL image)" \
  "$tmp/run1.jsonl" "$tmp/run2.jsonl"
[ "$(facts_field repeats)" = "[0]" ] && ok "binlog_live: nothing is written twice across a SIGTERM and a resume" ||
  not_ok "binlog_live: transactions repeated after the resume: $(facts_field repeats)"

# 3. The live lines are file mode's lines for the same range (heartbeats aside).
files=()
while read -r name _; do
  if [[ "$name" > "$first_file" || "$name" == "$first_file" ]]; then files+=("$datadir/$name"); fi
done < <(sql -e "SHOW BINARY LOGS")
"$tail_bin" --from "$start" "${files[@]}" >"$tmp/file.jsonl" 2>"$tmp/file.err"
cat "$tmp/run1.jsonl" "$tmp/run2.jsonl" | grep -v '"eventType":"HEARTBEAT"' >"$tmp/live.jsonl"
grep -v '"eventType":"HEARTBEAT"' "$tmp/file.jsonl" >"$tmp/file-rows.jsonl"
if cmp -s "$tmp/live.jsonl" "$tmp/file-rows.jsonl" && [ -s "$tmp/live.jsonl" ]; then
  ok "binlog_live: the live lines are byte for byte file mode's lines of the same binlog range ($(wc -l <"$tmp/live.jsonl") lines)"
else
  not_ok "binlog_live: live and file mode differ: $(diff "$tmp/live.jsonl" "$tmp/file-rows.jsonl" | head -4 | cut -c1-200)"
fi

# 4. A filter: only t_kv; the filtered transactions leave HEARTBEAT lines, the last at the end.
"$tail_bin" --mysql "$MYSQL_REPL_URL" --from "$start" --stop-at-end --include "$db\\.t_kv" >"$tmp/kv.jsonl" 2>"$tmp/kv.err"
others=$(grep -v '"eventType":"HEARTBEAT"' "$tmp/kv.jsonl" | grep -vc "\"table\":\"t_kv\"")
last=$(tail -1 "$tmp/kv.jsonl")
if [ "$others" = 0 ] && [[ $last == *'"eventType":"HEARTBEAT"'*"\"next\":\"$(master_pos)\""* ]]; then
  ok "binlog_live: --include keeps one table and ends with a HEARTBEAT line at the end of log"
else
  not_ok "binlog_live: --include: $others other lines, last line $last"
fi

# 5. A MariaDB GTID start: after the transaction named, from the next.
gtid=$(grep -m1 "\"table\":\"t_kv\",\"eventType\":\"INSERT\"" "$tmp/run1.jsonl" | sed 's/.*"gtid":"\([^"]*\)".*/\1/')
"$tail_bin" --mysql "$MYSQL_REPL_URL" --from "$gtid" --stop-at-end --checkpoint "$tmp/gtid.ck" >"$tmp/gtid.jsonl" 2>"$tmp/gtid.err"
rc=$?
want=$(grep -A100000 "\"gtid\":\"$gtid\"" "$tmp/live.jsonl" | grep -v "\"gtid\":\"$gtid\"" | head -1)
got=$(head -1 "$tmp/gtid.jsonl")
if [ "$rc" = 0 ] && [ -n "$got" ] && [ "$got" = "$want" ] && grep -q "\"binlog\":\"$(master_pos)\"" "$tmp/gtid.ck"; then
  ok "binlog_live: --from $gtid (a GTID position) starts with the next transaction and checkpoints file positions"
else
  not_ok "binlog_live: GTID start: exit $rc, first line $got, wanted $want, $(cat "$tmp/gtid.err")"
fi

# 5b. --stats-interval: JSON status lines on stderr while every transaction is filtered out, then idle.
"$tail_bin" --mysql "$MYSQL_REPL_URL" --stats-interval 0.3 --heartbeat 0.5 --include "$db\\.t_none" \
  >"$tmp/stats.jsonl" 2>"$tmp/stats.err" &
pid=$!
live_pids+=("$pid")
sleep 0.5
for ((i = 0; i < 150; i++)); do
  echo "INSERT INTO $db.t_kv VALUES ('s$i', $i);"
  ((i % 10 == 0)) && echo "DO SLEEP(0.1);"
done | sql
stats_mark=$(grep -c '"stats"' "$tmp/stats.err")
sleep 2 # idle: heartbeats
kill -TERM "$pid"
wait "$pid"
rc=$?
"$tail_bin" --mysql "$MYSQL_REPL_URL" --from "$start" --stop-at-end --stats-interval 60 >/dev/null 2>"$tmp/stats-end.err"
if verdict=$("$python" - "$tmp/stats.err" "$stats_mark" "$(master_pos)" "$tmp/stats-end.err" <<'PY'
import json, sys
keys = {"time": int, "binlog": str, "events": int, "rows": int, "transactions": int,
        "events_per_s": (int, float), "lag_s": (int, type(None)), "reconnects": int}
def stats(path):
    out = []
    for text in open(path, encoding="utf-8"):
        if text.startswith('{"stats":'):
            s = json.loads(text)["stats"]
            assert set(s) == set(keys), f"members {sorted(s)}"
            for k, t in keys.items():
                assert isinstance(s[k], t) and not isinstance(s[k], bool), f"{k}: {s[k]!r}"
            out.append(s)
    return out
lines, mark, end = stats(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
busy, idle = lines[:mark], lines[mark:]
assert len(busy) >= 3 and len(idle) >= 4, f"{len(busy)} lines while busy, {len(idle)} idle"
assert busy[-1]["transactions"] - busy[0]["transactions"] >= 100, "filtered transactions are counted"
assert all(b["transactions"] >= a["transactions"] and b["events"] >= a["events"] for a, b in zip(lines, lines[1:]))
# The lines of intervals in which (filtered) transactions arrived.
moving = [b for a, b in zip(busy, busy[1:]) if b["transactions"] > a["transactions"]]
assert len(moving) >= 2 and all(s["events_per_s"] > 0 for s in moving), "events_per_s > 0 while changes arrive"
# While filtering, the lag is measured (a number, not null), and small: the changes are fresh.
assert all(s["lag_s"] is not None and 0 <= s["lag_s"] <= 2 for s in moving), [s["lag_s"] for s in moving]
# Idle: the server's heartbeats make it 0, the position is the end of log, nothing moves.
assert all(s["lag_s"] == 0 for s in idle[-3:]), [s["lag_s"] for s in idle]
assert idle[-2]["events_per_s"] < 5, idle[-2:]  # heartbeats only
assert idle[-1]["binlog"] == end, (idle[-1]["binlog"], end)
assert all(s["reconnects"] == 0 for s in lines)
# Draining changes seconds old with --stop-at-end (--stats-interval 60): a line at the start (their
# age, or null before the first change), one at the end, caught up (lag 0), at the end of log.
last = stats(sys.argv[4])
assert len(last) == 2 and (last[0]["lag_s"] is None or last[0]["lag_s"] >= 2), last
assert last[1]["lag_s"] == 0 and last[1]["binlog"] == end and last[1]["transactions"] >= 150, last
print(f"{len(busy)} busy lines (lag {[s['lag_s'] for s in moving]}), {len(idle)} idle")
PY
) && [ "$rc" = 0 ] && ! grep -qv '"eventType":"HEARTBEAT"' "$tmp/stats.jsonl"; then
  ok "binlog_live: --stats-interval writes JSON status lines: lag measured while filtering, 0 when idle ($verdict)"
else
  not_ok "binlog_live: --stats-interval: exit $rc, $verdict $(grep -v '"stats"' "$tmp/stats.err" | head -3)"
fi

# 6. Settings that cannot work are refused at connect.
sql -e "SET GLOBAL binlog_format = STATEMENT"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --stop-at-end >"$tmp/stmt.out" 2>"$tmp/stmt.err"
rc=$?
sql -e "SET GLOBAL binlog_format = ROW"
if [ "$rc" = 78 ] && grep -q "binlog_format is STATEMENT; binlog-tail needs ROW" "$tmp/stmt.err" && [ ! -s "$tmp/stmt.out" ]; then
  ok "binlog_live: binlog_format=STATEMENT is refused at connect (exit 78) saying what to set"
else
  not_ok "binlog_live: STATEMENT: exit $rc, $(cat "$tmp/stmt.err")"
fi
sql -e "FLUSH BINARY LOGS"
sql -e "PURGE BINARY LOGS TO '$(master_pos | cut -d: -f1)'"
"$tail_bin" --mysql "$MYSQL_REPL_URL" --from "$start" --stop-at-end >"$tmp/purged.out" 2>"$tmp/purged.err"
rc=$?
if [ "$rc" = 65 ] && grep -q "cannot send the binlog from there.*error 1236" "$tmp/purged.err"; then
  ok "binlog_live: a purged start position ends at once with exit 65 and the server's reason"
else
  not_ok "binlog_live: purged: exit $rc, $(cat "$tmp/purged.err")"
fi
exit $failed
