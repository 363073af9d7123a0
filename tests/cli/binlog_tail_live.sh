# binlog-tail live mode (--mysql) from the command line, without a server: usage errors before any
# connection, exit 69 when the server cannot be reached (at once with --max-retries 0, after the
# bound otherwise), passwords never printed, SIGTERM during reconnection, --help.
source "$(dirname "$0")/lib.bash"
[[ ${BUILD:-build} != build ]] && PATH="$ROOT/$BUILD/bin:$PATH"

outcome() { # CODE [GLOB [quiet]]
  [[ $status -eq $1 ]] || return 1
  # shellcheck disable=SC2053 # $2 is a glob on purpose
  [[ -z ${2:-} || $err == $2 ]] || return 1
  [[ ${3:-} != quiet || -z $out ]]
}
# Port 1 on the loopback refuses connections at once.
nowhere=mysql://repl@127.0.0.1:1

run_capture binlog-tail --help
expect "--help lists the live options on stdout (exit 0)" \
  test "$status" = 0 -a -n "$(grep -e --mysql <<<"$out")" -a -n "$(grep -e --checkpoint <<<"$out")" \
  -a -n "$(grep -e --idle-interval <<<"$out")" -a -n "$(grep -e --max-retries <<<"$out")"

for bad in "--from nonsense" "--from f.000001:2" "--from 3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5" \
  "--heartbeat -1" "--idle-interval 0" "--max-retries -2" "--to x" "--events upsert" "--include (" \
  "--rotate weekly --dir $TMP/d" "--rotate d" "--rotate-size 1m" "--rotate-size lots --dir $TMP/d" \
  "--snapshot nodot" "--snapshot d.t,x" "--snapshot d.t --snapshot-only d.t" "--snapshot d.t --from f.000001:4" \
  "--snapshot-only d.t --format seed"; do
  # shellcheck disable=SC2086 # the options are split on purpose
  run_capture binlog-tail --mysql "$nowhere" --max-retries 0 $bad
  expect "binlog-tail --mysql ... $bad is a usage error (exit 64) before connecting" \
    outcome 64 'binlog-tail: error: *' quiet
done
run_capture binlog-tail --mysql "$nowhere" /dev/null
expect "--mysql with a FILE is a usage error (exit 64)" outcome 64 '*give no FILE*' quiet

touch "$TMP/plain"
run_capture binlog-tail --mysql "$nowhere" --max-retries 0 --dir "$TMP/plain"
expect "--dir naming a file that is not a directory exits 74 before connecting" \
  outcome 74 '*not a directory*' quiet

run_capture binlog-tail --mysql "$nowhere" --max-retries 0
expect "an unreachable server exits 69 at once with --max-retries 0" \
  outcome 69 "binlog-tail: error: cannot connect to $nowhere*" quiet

run_capture binlog-tail --mysql mysql://repl:s3cret@127.0.0.1:1 --max-retries 0
expect "a password in the URL is never printed (exit 69, user:***@)" \
  test "$status" = 69 -a -z "$(grep s3cret <<<"$err")" -a -n "$(grep -F 'repl:***@' <<<"$err")"

start=$SECONDS
run_capture binlog-tail --mysql "$nowhere" --max-retries 2
expect "--max-retries 2 gives up after two reconnections (exit 69, said so)" \
  outcome 69 '*gave up after 2 reconnection attempt(s)*' quiet
run_capture binlog-tail --mysql "$nowhere" --retry-timeout 0.5
expect "--retry-timeout 0.5 gives up after half a second of failures (exit 69)" \
  outcome 69 '*gave up after --retry-timeout*' quiet
expect "both bounds ended within a few seconds" test $((SECONDS - start)) -le 5

binlog-tail --mysql "$nowhere" >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 0.5
kill -TERM "$pid"
t0=$SECONDS
wait "$pid"
status=$?
err=$(cat "$TMP/err")
expect "SIGTERM while reconnecting ends at once with 0 and a notice" \
  test "$status" = 0 -a $((SECONDS - t0)) -le 2 -a -n "$(grep 'stopped by signal 15' <<<"$err")"

printf 'mysql://repl:fromfile@127.0.0.1:1\n' >"$TMP/url"
run_capture binlog-tail --mysql "@$TMP/url" --max-retries 0
expect "--mysql @FILE reads the URL from the file (exit 69, password not printed)" \
  test "$status" = 69 -a -z "$(grep fromfile <<<"$err")"
