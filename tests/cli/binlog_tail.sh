# binlog-tail file mode from the command line: exit codes 0/64/65/66/69/74/76 on real files, the
# lines of every complete event before a cut, --from/--to, the seed format's golden lines, filters
# and HEARTBEAT lines, `| head -1`, SIGTERM at a transaction boundary, progress on a terminal.
source "$(dirname "$0")/lib.bash"
# A build directory other than build/ keeps its tools in BUILD/bin.
[[ ${BUILD:-build} != build ]] && PATH="$ROOT/$BUILD/bin:$PATH"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
CORPUS=$SHARED/corpus/binlog

# outcome CODE [GLOB [quiet]]: the last run_capture exited CODE with stderr matching GLOB (and,
# with `quiet`, nothing on stdout). Variables, not text pasted into a command: messages hold quotes.
outcome() {
  [[ $status -eq $1 ]] || return 1
  # shellcheck disable=SC2053 # $2 is a glob on purpose
  [[ -z ${2:-} || $err == $2 ]] || return 1
  [[ ${3:-} != quiet || -z $out ]]
}

# Usage and input errors need no corpus.
run_capture binlog-tail
expect "no FILE is a usage error (exit 64) on stderr only" \
  outcome 64 'binlog-tail: error: no FILE given*' quiet
for bad in "--format xml" "--from nonsense" "--from f.000001:2" "--to f.000002:4 --from f.000003:4" \
  "--timezone Mars/Olympus" "--events insert,upsert" "--include (" "--max-xa-bytes lots"; do
  # shellcheck disable=SC2086 # the options are split on purpose
  run_capture binlog-tail $bad /dev/null
  expect "binlog-tail $bad is a usage error (exit 64)" \
    outcome 64 'binlog-tail: error: *' quiet
done
run_capture binlog-tail "$TMP/no-such.000001"
expect "a missing file exits 66 naming it" \
  outcome 66 "*cannot open $TMP/no-such.000001*" quiet
run_capture binlog-tail "$TMP"
expect "a directory exits 66" outcome 66 '*is a directory*' quiet
run_capture binlog-tail /dev/null
expect "an empty file is not a binary log (exit 65)" \
  outcome 65 '*not a binary log*' quiet
for opt in "--stop-at-end" "--checkpoint x" "--resume x" "--server-id 7" "--dir d" "--snapshot d.t" \
  "--snapshot-only d.t"; do
  # shellcheck disable=SC2086
  run_capture binlog-tail $opt /dev/null
  expect "binlog-tail $opt without --mysql is a usage error (exit 64)" \
    outcome 64 "binlog-tail: error: ${opt%% *} needs --mysql*" quiet
done

if [[ ! -d $CORPUS ]]; then
  echo "skip - binlog-tail on real binlog files: corpus $CORPUS not found (set ROWPIPE_SHARED)"
  exit 0
fi
canal=$CORPUS/alibaba+canal/mysql-bin.000001                          # MySQL 5.1, no checksums
crc=$CORPUS/osheroff+mysql-binlog-connector-java/mysql-bin.checksum-crc32 # MySQL 5.6, CRC32
stmt=$CORPUS/MariaDB+server/mdev-4645-binlog_none.binlog               # statement-based DML
gtid1=$CORPUS/Percona-Lab+percona-binlog-server/data_80045_gtid_binlog.000001
gtid2=$CORPUS/Percona-Lab+percona-binlog-server/data_80045_gtid_binlog.000002
json=$CORPUS/blackbeam+rust_mysql_common/json.binlog.000001
big=$CORPUS/osheroff+mysql-binlog-connector-java/mysql-bin.sakila

# lines_ok FILE: every line is a JSON object with binlog and eventType; the last one commits.
lines_ok() {
  "$PY" - "$1" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "", "output does not end with a newline"
objs = [json.loads(l) for l in lines[:-1]]
assert objs and all("binlog" in o and "eventType" in o for o in objs)
assert objs[-1].get("commit") is True and "next" in objs[-1]
PY
}

run_capture binlog-tail "$canal"
expect "a valid file decodes completely: exit 0, nothing on stderr" test "$status:$err" = 0:
cp "$TMP/out" "$TMP/canal.jsonl"
expect "every line is a rowpipe-events(5) object and the last one commits" lines_ok "$TMP/canal.jsonl"
expect_eq "the file's 117 lines are all there" "$(wc -l <"$TMP/canal.jsonl")" 117

run_capture binlog-tail "$stmt"
expect "statement-based DML stops with exit 65 naming file and offset" \
  outcome 65 'binlog-tail: error: mdev-4645-binlog_none.binlog:[0-9]*: QUERY_EVENT: statement-based DML*'
run_capture binlog-tail --allow-statements "$stmt"
expect "--allow-statements turns each into a warning with its position (exit 0)" \
  outcome 0 'binlog-tail: warning: mdev-4645-binlog_none.binlog:[0-9]*: statement-based DML*'
run_capture binlog-tail "$CORPUS/MariaDB+server/binlog_old_version_4_1.000001"
expect "an unsupported format (binlog v3) exits 65" outcome 65 '*START_EVENT_V3*not supported*'

# Truncation: cut files inside events; every line of the events before the cut must be written
# (the last transaction's commit fields aside), none after, exit 76 naming file and offset.
cut_check() { # FILE CUT: prints why it fails, nothing when it passes
  local file=$1 cut=$2 name
  name=$(basename "$file")
  mkdir -p "$TMP/cut"
  head -c "$cut" "$file" >"$TMP/cut/$name"
  binlog-tail "$file" >"$TMP/full.jsonl" 2>/dev/null
  binlog-tail "$TMP/cut/$name" >"$TMP/cut.jsonl" 2>"$TMP/cut.err"
  local rc=$?
  "$PY" - "$TMP/full.jsonl" "$TMP/cut.jsonl" "$TMP/cut.err" "$rc" "$name" "$cut" <<'PY'
import json, re, sys
full, cut, err, rc, name, size = sys.argv[1], sys.argv[2], open(sys.argv[3]).read(), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
m = re.match(r"binlog-tail: error: %s:(\d+): the file ends inside an event \((\d+) bytes of it present\): truncated binlog\n$" % re.escape(name), err)
if rc != 76 or not m:
    sys.exit("exit %d, stderr %r" % (rc, err[:200]))
start, have = int(m.group(1)), int(m.group(2))
if start + have != size:
    sys.exit("the message names offset %d + %d bytes, the file has %d" % (start, have, size))
def strip(l):
    o = json.loads(l)
    for k in ("xid", "commit", "next"):
        o.pop(k, None)
    return o
want = [strip(l) for l in open(full) if int(json.loads(l)["binlog"].rsplit(":", 1)[1]) < start]
got = [strip(l) for l in open(cut)]
if got != want:
    sys.exit("%d lines written, %d expected (events before offset %d)" % (len(got), len(want), start))
PY
}
size=$(stat -c %s "$canal")
fails=() n=0
for cut in 10 130 500 1100 1300 $((size / 3)) $((size / 2)) $((size - 40)) $((size - 1)); do
  why=$(cut_check "$canal" "$cut" 2>&1) || fails+=("at $cut: $why")
  n=$((n + 1))
done
size=$(stat -c %s "$crc")
for cut in 150 $((size / 4)) $((size / 2)) $((size * 3 / 4)) $((size - 3)); do
  why=$(cut_check "$crc" "$cut" 2>&1) || fails+=("at $cut: $why")
  n=$((n + 1))
done
expect_eq "$n truncated copies of two files exit 76 naming file and offset, after the lines of every complete event" \
  "${fails[*]:-}" ""

cp "$crc" "$TMP/mysql-bin.000077"
printf '\x55' | dd of="$TMP/mysql-bin.000077" bs=1 seek=$(($(stat -c %s "$crc") / 2)) conv=notrunc 2>/dev/null
run_capture binlog-tail "$TMP/mysql-bin.000077"
expect "a flipped byte is a CRC32 mismatch: exit 76 naming file and offset" \
  outcome 76 'binlog-tail: error: mysql-bin.000077:[0-9]*: *CRC32 mismatch*'

# --from / --to: the lines of the transactions between two boundaries, nothing else.
mapfile -t nexts < <(grep -o '"next":"[^"]*"' "$TMP/canal.jsonl" | cut -d'"' -f4)
from=${nexts[4]} to=${nexts[20]}
run_capture binlog-tail --from "$from" --to "$to" "$canal"
want=$("$PY" -c '
import json, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
for l in open(sys.argv[3]):
    o = int(json.loads(l)["binlog"].rsplit(":", 1)[1])
    if lo <= o < hi:
        print(l, end="")' "${from##*:}" "${to##*:}" "$TMP/canal.jsonl")
expect_eq "--from $from --to $to writes exactly the transactions between them" "$status:$out" "0:$want"
run_capture binlog-tail --from "$from" "$canal"
expect_eq "--from alone goes to the end" "$out" "$(tail -n +"$(($(grep -n "\"next\":\"$from\"" "$TMP/canal.jsonl" | cut -d: -f1) + 1))" "$TMP/canal.jsonl")"
run_capture binlog-tail --from "$(dirname "$canal")/${from}" --to "$from" "$canal"
expect_eq "--from with a directory part uses the base name; --to at --from writes nothing" "$status:$out" "0:"
run_capture binlog-tail --from "mysql-bin.000001:$((${from##*:} + 1))" "$canal"
expect "--from inside an event is a usage error naming the event around it" \
  outcome 64 '*no event starts there*' quiet
run_capture binlog-tail "$gtid1" "$gtid2"
all=$out
run_capture binlog-tail --to data_80045_gtid_binlog.000002:4 "$gtid1" "$gtid2"
expect_eq "--to FILE:4 of the second file stops after the first" "$out" "$(grep '"data_80045_gtid_binlog.000001:' <<<"$all")"
run_capture binlog-tail --from data_80045_gtid_binlog.000002:4 "$gtid1" "$gtid2"
expect_eq "--from FILE:4 of the second file passes over the first" "$out" "$(grep '"data_80045_gtid_binlog.000002:' <<<"$all")"
run_capture binlog-tail "$gtid2" "$gtid1"
expect_eq "files are decoded in the order given" "$(head -1 <<<"$out" | cut -c1-40)" '{"binlog":"data_80045_gtid_binlog.000002'

# The seed format: the original client's exact shape, in local time (golden lines, CRLF).
TZ=Asia/Shanghai binlog-tail --format seed "$gtid2" "$json" >"$TMP/seed" 2>"$TMP/seed.err"
status=$?
cat >"$TMP/golden" <<'EOF'
{"binlog":"data_80045_gtid_binlog.000002:408","db":"test","table":"t1","eventType":"UPDATE","before":{"@1":"1"},"after":{"@1":"101"},"time":"2026-03-11 01:11:54"}
{"binlog":"data_80045_gtid_binlog.000002:408","db":"test","table":"t1","eventType":"UPDATE","before":{"@1":"2"},"after":{"@1":"102"},"time":"2026-03-11 01:11:54"}
{"binlog":"data_80045_gtid_binlog.000002:408","db":"test","table":"t1","eventType":"UPDATE","before":{"@1":"3"},"after":{"@1":"103"},"time":"2026-03-11 01:11:54"}
{"binlog":"data_80045_gtid_binlog.000002:731","db":"test","table":"t1","eventType":"DELETE","before":"","after":{"@1":"4"},"time":"2026-03-11 01:11:54"}
{"binlog":"data_80045_gtid_binlog.000002:731","db":"test","table":"t1","eventType":"DELETE","before":"","after":{"@1":"5"},"time":"2026-03-11 01:11:54"}
{"binlog":"data_80045_gtid_binlog.000002:731","db":"test","table":"t1","eventType":"DELETE","before":"","after":{"@1":"6"},"time":"2026-03-11 01:11:54"}
{"binlog":"json.binlog.000001:1059","db":"mysql","table":"t","eventType":"INSERT","before":"","after":{"@1":"1","@2":"{\"age\":24,\"data\":\"xxxxxxxxxx\",\"name\":\"Joe\"}","@3":"Joe","@4":"24"},"time":"2021-03-15 16:43:22"}
{"binlog":"json.binlog.000001:1409","db":"mysql","table":"t","eventType":"INSERT","before":"","after":{"@1":"2","@2":"{\"age\":32,\"data\":\"yyyyyyyyyy\",\"name\":\"Sue\"}","@3":"Sue","@4":"32"},"time":"2021-03-15 16:43:39"}
EOF
expect_eq "--format seed writes the golden lines (CRLF, values as strings, DELETE row in after, TZ local time)" \
  "$status:$(head -8 "$TMP/seed" | tr -d '\r')" "0:$(cat "$TMP/golden")"
expect_eq "every seed line ends with CRLF" "$(grep -c $'\r$' "$TMP/seed")" "$(wc -l <"$TMP/seed")"
expect "seed lines carry only the original keys" \
  "$PY" -c 'import json,sys; sys.exit(any(list(json.loads(l)) != ["binlog","db","table","eventType","before","after","time"] for l in open(sys.argv[1])))' "$TMP/seed"
run_capture binlog-tail --format seed --timezone +00:00 "$gtid2"
expect_eq "--timezone overrides the local zone of seed lines" "$(head -1 <<<"$out" | grep -o '"time":"[^"]*"')" '"time":"2026-03-10 17:11:54"'
run_capture binlog-tail --timezone +08:00 "$gtid2"
expect_eq "--timezone sets the time field of native lines; ts stays epoch" \
  "$(head -1 <<<"$out" | grep -o '"time":"[^"]*","ts":[0-9]*')" '"time":"2026-03-11 01:11:54","ts":1773162714'

# Filters and HEARTBEAT lines.
run_capture binlog-tail --include 'nothing\..*' "$canal"
expect_eq "a filter that drops everything leaves one HEARTBEAT line at the end" \
  "$out" "{\"binlog\":\"${nexts[-1]}\",\"server_id\":1,\"eventType\":\"HEARTBEAT\",\"time\":\"$(tail -1 "$TMP/canal.jsonl" | grep -o '"time":"[^"]*"' | cut -d'"' -f4)\",\"ts\":$(tail -1 "$TMP/canal.jsonl" | grep -o '"ts":[0-9]*' | cut -d: -f2),\"commit\":true,\"next\":\"${nexts[-1]}\"}"
run_capture binlog-tail --events delete --exclude 'retl\..*' "$canal"
expect "--events delete keeps DELETE lines only (and a closing HEARTBEAT)" \
  "$PY" -c 'import json,sys; t=[json.loads(l)["eventType"] for l in sys.stdin]; sys.exit(not (t and set(t[:-1]) == {"DELETE"} and t[-1] == "HEARTBEAT"))' <<<"$out"
run_capture binlog-tail --include 'erosa\.testFile_linux' "$canal"
expect "--include keeps that table's lines, each transaction committed" \
  "$PY" -c '
import json, sys
o = [json.loads(l) for l in sys.stdin]
rows = [x for x in o if x["eventType"] != "HEARTBEAT"]
sys.exit(not (rows and all(x.get("table") == "testFile_linux" for x in rows) and o[-1].get("commit")))' <<<"$out"

# Output conventions.
binlog-tail "$big" 2>"$TMP/err" | head -1 >"$TMP/first"
status=${PIPESTATUS[0]}
expect_eq "'binlog-tail FILE | head -1' ends quietly with exit 0" "$status:$(cat "$TMP/err")" "0:"
expect_eq "'| head -1' receives the first line" "$(cat "$TMP/first")" "$(binlog-tail "$big" 2>/dev/null | sed -n 1p)"
binlog-tail "$canal" >/dev/full 2>"$TMP/err"
status=$?
err=$(cat "$TMP/err")
expect "a failing stdout (ENOSPC) is an I/O error, exit 74" outcome 74 '*writing stdout*'
strace_ok=$(command -v strace)
if [[ -n $strace_ok ]]; then
  strace -f -e trace=write -o "$TMP/strace" binlog-tail "$canal" >/dev/null 2>&1
  writes=$(grep -c '^[0-9]* *write(1,' "$TMP/strace")
  expect "output is buffered: $writes write(2) to stdout for 117 lines" test "$writes" -le 2
else
  echo "skip - output is written in blocks, not per line: strace is not installed"
fi

# SIGTERM: a FIFO fed half a transaction; the tool waits for its end, then stops there.
mkfifo "$TMP/mysql-bin.000001"
binlog-tail "$TMP/mysql-bin.000001" >"$TMP/sig.out" 2>"$TMP/sig.err" &
pid=$!
exec 7>"$TMP/mysql-bin.000001"
head -c 1100 "$canal" >&7 # inside the UPDATE transaction at 1082, which ends at 1185
sleep 0.5
kill -TERM "$pid"
sleep 0.5
alive=no
kill -0 "$pid" 2>/dev/null && alive=yes
tail -c +1101 "$canal" >&7
wait "$pid"
status=$?
exec 7>&-
expect_eq "SIGTERM inside a transaction waits for its end" "$alive" yes
expect_eq "then the tool exits 0" "$status" 0
expect_eq "the lines written end with that transaction's commit" \
  "$(tail -1 "$TMP/sig.out" | grep -o '"commit":true,"next":"[^"]*"')" '"commit":true,"next":"mysql-bin.000001:1185"'
expect "a notice names the position to resume from" \
  grep -q '^binlog-tail: notice: stopped by signal 15 at mysql-bin.000001:1185 .*resume with --from mysql-bin.000001:1185$' "$TMP/sig.err"
rm -f "$TMP/mysql-bin.000001"
mkfifo "$TMP/mysql-bin.000001"
binlog-tail "$TMP/mysql-bin.000001" >"$TMP/sig2.out" 2>"$TMP/sig2.err" &
pid=$!
exec 7>"$TMP/mysql-bin.000001"
head -c 956 "$canal" >&7 # a transaction boundary
sleep 0.5
kill -TERM "$pid"
wait "$pid"
status=$?
exec 7>&-
expect_eq "SIGTERM between transactions stops at once with exit 0 and their lines written" \
  "$status:$(wc -l <"$TMP/sig2.out")" "0:$(grep -c . < <(binlog-tail --to mysql-bin.000001:956 "$canal"))"

# Progress only on a terminal.
if command -v script >/dev/null; then
  script -qc "binlog-tail '$big' >/dev/null" /dev/null >"$TMP/tty" 2>&1
  expect "on a terminal, progress shows file, share and rows on stderr" \
    grep -q 'binlog-tail: mysql-bin.sakila: [0-9]*% of 1 MB, [0-9]* rows' "$TMP/tty"
else
  echo "skip - progress on a terminal: script(1) from util-linux is not installed"
fi
binlog-tail "$big" 2>"$TMP/err" >/dev/null
expect_eq "when stderr is not a terminal, nothing is shown" "$(cat "$TMP/err")" ""
