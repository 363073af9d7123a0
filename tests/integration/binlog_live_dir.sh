#!/usr/bin/env bash
# services: mariadb
# budget: 180
# binlog-tail --mysql --dir against the harness's MariaDB with a workload running: files rotated by
# size at transaction boundaries; binlog-tail killed -9 at 20 seeded instants and at failpoints
# (after a write, inside a large transaction, between closing a file and opening the next), each
# time restarted on the same directory. The files, read in name order, hold every transaction
# exactly once (nothing doubled, nothing lost: the tables rebuilt equal SELECT *), each file ends
# with a complete transaction, and a torn tail is reported when cut off. The same for --format seed
# (killed at its own instants): its files, read in name order, are byte for byte file mode's seed
# lines of the same range (nothing lost or doubled, the highest file number continued on restart).
# Environment: BUILD (default build: bin/), SEED (default 7).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live_dir: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live_dir: $tail_bin not built"; exit 1; }
RANDOM=${SEED:-7}
db=rp_dir
create_tables "$db"
dir=$tmp/out
start=$(master_pos)
# binlog-tail on the directory (from the start position on a first run). exec: the caller's $! and
# exit status are binlog-tail's own.
tail_dir() {
  exec "$tail_bin" --mysql "$MYSQL_REPL_URL" --dir "$dir" --rotate-size 4k --checkpoint "$tmp/ck" --resume "$tmp/ck" \
    --from "$start" "$@"
}
sdir=$tmp/seed
tail_seed() {
  exec "$tail_bin" --mysql "$MYSQL_REPL_URL" --dir "$sdir" --format seed --rotate-size 4k --checkpoint "$tmp/sck" \
    --resume "$tmp/sck" --from "$start" "$@"
}
workload() {
  local i end=$((SECONDS + $1))
  for ((i = 1; SECONDS < end; i++)); do
    echo "INSERT INTO $db.t_kv VALUES ('k$i', $i);"
    echo "BEGIN; UPDATE $db.t_kv SET v = v + 1 WHERE k = 'k$((i / 2))'; INSERT INTO $db.t_nopk VALUES ($i, 'n$i'); COMMIT;"
    ((i % 9 == 0)) && echo "DELETE FROM $db.t_kv WHERE k = 'k$((i - 4))';"
    sleep 0.01
  done | env -u MYSQL_HOST -u MYSQL_PWD mariadb --no-defaults -uroot -S "$MYSQL_SOCKET" >/dev/null 2>&1
}

workload 9 &
wl=$!
live_pids+=("$wl")
# Both formats at once, each killed at its own seeded instant (which goes first alternates).
kills=20
for ((n = 1; n <= kills; n++)); do
  (tail_dir) >/dev/null 2>"$tmp/kill-$n.err" &
  pid=$!
  (tail_seed) >/dev/null 2>"$tmp/skill-$n.err" &
  spid=$!
  first=$pid second=$spid
  ((n % 2)) && first=$spid second=$pid
  sleep "0.$((RANDOM % 4 + 1))$((RANDOM % 10))"
  kill -KILL "$first"
  wait "$first" 2>/dev/null
  sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
  kill -KILL "$second"
  wait "$second" 2>/dev/null
done
wait "$wl"
# Failpoints: each kills the process at its point; the next start recovers.
sql -e "INSERT INTO $db.t_kv VALUES ('f1', 1); INSERT INTO $db.t_kv VALUES ('f2', 2)"
rc1=$( ( (ROWPIPE_FAILPOINT=after-write tail_dir --stop-at-end) >/dev/null 2>&1; echo $?) 2>/dev/null)
src1=$( ( (ROWPIPE_FAILPOINT=after-write tail_seed --stop-at-end) >/dev/null 2>&1; echo $?) 2>/dev/null)
sql -e "SET SESSION max_recursive_iterations = 100000; INSERT INTO $db.t_nopk WITH RECURSIVE c(n) AS
        (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) SELECT n, CONCAT('big', n) FROM c"
rc2=$( ( (ROWPIPE_FAILPOINT=mid-transaction tail_dir --stop-at-end) >/dev/null 2>"$tmp/mid.err"; echo $?) 2>/dev/null)
src2=$( ( (ROWPIPE_FAILPOINT=mid-transaction tail_seed --stop-at-end) >/dev/null 2>&1; echo $?) 2>/dev/null)
sql -e "INSERT INTO $db.t_kv VALUES ('f3', 3); INSERT INTO $db.t_kv VALUES ('f4', 4)"
rc3=$( ( (ROWPIPE_FAILPOINT=mid-rotation tail_dir --stop-at-end) >/dev/null 2>"$tmp/rot.err"; echo $?) 2>/dev/null)
src3=$( ( (ROWPIPE_FAILPOINT=mid-rotation tail_seed --stop-at-end) >/dev/null 2>"$tmp/srot.err"; echo $?) 2>/dev/null)
(tail_dir --stop-at-end) >/dev/null 2>"$tmp/final.err"
rc4=$?
(tail_seed --stop-at-end) >/dev/null 2>"$tmp/sfinal.err"
src4=$?
if [ "$rc1:$rc2:$rc3:$rc4" = 99:99:99:0 ]; then
  ok "binlog_live_dir: the failpoints (after-write, mid-transaction, mid-rotation) killed it; the last run exits 0"
else
  not_ok "binlog_live_dir: exits $rc1:$rc2:$rc3:$rc4 (want 99:99:99:0): $(cat "$tmp/final.err")"
fi
# The failpoint inside the large transaction leaves a torn transaction; the next start cuts it.
if grep -q "cut [0-9]* bytes of a torn line or transaction off the end of its last file" "$tmp/rot.err"; then
  ok "binlog_live_dir: the torn transaction was cut off on restart (and said so)"
else
  not_ok "binlog_live_dir: the restart after the mid-transaction kill did not report a torn tail: $(cat "$tmp/rot.err")"
fi

files=("$dir"/binlog_*.log)
bad_end=0
for f in "${files[@]}"; do
  last=$(tail -c 4096 "$f" | tail -1)
  [[ $last == *'"commit":true'* && $(tail -c1 "$f" | od -An -c | tr -d ' ') == '\n' ]] || bad_end=$((bad_end + 1))
done
if [ "${#files[@]}" -ge 3 ] && [ "$bad_end" = 0 ]; then
  ok "binlog_live_dir: ${#files[@]} files rotated by size, each ending with a complete transaction"
else
  not_ok "binlog_live_dir: ${#files[@]} files, $bad_end not ending with a complete transaction"
fi
cat "${files[@]}" >"$tmp/all.jsonl"
rebuild "$db" "binlog_live_dir: after $((kills + 3)) kills the files rebuild tables equal to SELECT *" "$tmp/all.jsonl"
dups=$("$python" - "$tmp/all.jsonl" <<'PY'
import json, sys
seen, dups = set(), 0
for text in open(sys.argv[1], encoding="utf-8"):
    l = json.loads(text)
    if l["eventType"] == "HEARTBEAT":
        continue
    k = (l["binlog"], l.get("row", 0))
    dups += k in seen
    seen.add(k)
print(dups)
PY
)
[ "$dups" = 0 ] && ok "binlog_live_dir: no line is in the files twice" || not_ok "binlog_live_dir: $dups lines twice"

# --format seed: the same kills; the files are file mode's seed lines of the same range.
if [ "$src1:$src2:$src3:$src4" = 99:99:99:0 ]; then
  ok "binlog_live_dir: --format seed: the failpoints killed it; the last run exits 0"
else
  not_ok "binlog_live_dir: --format seed exits $src1:$src2:$src3:$src4 (want 99:99:99:0): $(cat "$tmp/sfinal.err")"
fi
if grep -q "cut [0-9]* bytes of a torn line or transaction off the end of its last file" "$tmp/srot.err"; then
  ok "binlog_live_dir: --format seed: the torn transaction was cut off on restart (and said so)"
else
  not_ok "binlog_live_dir: --format seed: no torn tail reported after the mid-transaction kill: $(cat "$tmp/srot.err")"
fi
if grep -l "has no position record" "$tmp"/skill-*.err "$tmp/srot.err" "$tmp/sfinal.err" >/dev/null 2>&1; then
  not_ok "binlog_live_dir: --format seed: a restart found lines without a position record"
fi
datadir=$(sql -e "SELECT @@datadir")
first_file=${start%%:*}
binlogs=()
while read -r name _; do
  if [[ "$name" > "$first_file" || "$name" == "$first_file" ]]; then binlogs+=("$datadir/$name"); fi
done < <(sql -e "SHOW BINARY LOGS")
"$tail_bin" --format seed --from "$start" "${binlogs[@]}" >"$tmp/seed-file.log" 2>"$tmp/seed-file.err"
sfiles=("$sdir"/binlog_*.log)
cat "${sfiles[@]}" >"$tmp/seed-all.log"
# Sequence numbers run 0001..N without a gap (a restart continued the highest, never reopened 0001).
want_names=$(for ((i = 1; i <= ${#sfiles[@]}; i++)); do printf '%04d\n' "$i"; done)
got_names=$(for f in "${sfiles[@]}"; do f=${f%.log}; echo "${f##*_}"; done)
if [ "${#sfiles[@]}" -ge 3 ] && [ "$want_names" = "$got_names" ] && [ -s "$tmp/seed-file.log" ] &&
  cmp -s "$tmp/seed-all.log" "$tmp/seed-file.log"; then
  ok "binlog_live_dir: --format seed: after $((kills + 3)) kills the ${#sfiles[@]} files are byte for byte file mode's $(wc -l <"$tmp/seed-file.log") seed lines (none lost or doubled)"
else
  not_ok "binlog_live_dir: --format seed: ${#sfiles[@]} files ($(tr "\n" " " <<<"$got_names")), $(wc -l <"$tmp/seed-all.log") lines vs file mode's $(wc -l <"$tmp/seed-file.log"): $(diff <(tr -d '\r' <"$tmp/seed-all.log") <(tr -d '\r' <"$tmp/seed-file.log") | head -3 | cut -c1-160)"
fi
[ -n "${KEEP:-}" ] && cp -r "$tmp" "$KEEP"
exit $failed
