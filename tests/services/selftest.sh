#!/usr/bin/env bash
# Self-test of tests/services/run and ctl: private mariadb+redis up, ping, kill/start, cleanup, exit status.
# Prints one line per check: "ok - ...", "not ok - ...", "skip - ...: reason" (a skip is
# "not ok" under CI=true); exits 0 when there is no "not ok".
# shellcheck disable=SC2016,SC2317 # single quotes are for the inner shells; helpers run via check
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
RUN=$HERE/run
CTL=$HERE/ctl
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")

failures=0
ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    failures=$((failures + 1))
}
skip() {
    if [[ ${CI:-} == true ]]; then
        not_ok "$1 (skipped under CI=true: $2)"
    else
        echo "skip - $1: $2"
    fi
}
# check SENTENCE COMMAND...: ok when COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s.
wait_until() {
    local n=$(($1 * 10))
    shift
    while ((n-- > 0)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
no_process_on() { ! pgrep -f -- "$1" >/dev/null; }
ctl_down() { ! "$CTL" "$1" status >/dev/null 2>&1; }
gone() { no_process_on "$1" && [[ ! -e $1 ]]; }

# ---------------------------------------------------------------- inner part
# Runs as COMMAND under `run mariadb redis`; its lines go into the outer output.
if [[ ${1:-} == --inner ]]; then
    echo "$ROWPIPE_SERVICES_DIR" >"$SELFTEST_DIR_FILE"

    if [[ -n ${MYSQL_URL:-} ]]; then
        hostport=${MYSQL_URL#*@}
        host=${hostport%:*}
        port=${hostport##*:}
        sql() { mariadb --no-defaults --protocol=tcp -h "$host" -P "$port" -uroot --connect-timeout=2 -N -B -e "$1" 2>/dev/null; }
        repl_sql() { mariadb --no-defaults --protocol=tcp -h "$host" -P "$port" -urepl -p"$MYSQL_REPL_PASSWORD" --connect-timeout=2 -N -B -e "$1" 2>/dev/null; }
        mysql_up() { [[ $(sql 'SELECT 1') == 1 ]]; }
        mysql_down() { ! mysql_up; }

        check "mariadb answers as root on $host:$port (MYSQL_URL)" mysql_up
        check "mariadb writes a ROW binlog with FULL row image and metadata" \
            test "$(sql 'SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@server_id')" = $'1\tROW\tFULL\tFULL\t1'
        check "MYSQL_HOST/MYSQL_PORT/MYSQL_SOCKET match MYSQL_URL" \
            test "$MYSQL_HOST:$MYSQL_PORT" = "$hostport" -a -S "$MYSQL_SOCKET"
        sql 'CREATE DATABASE selftest; CREATE TABLE selftest.t (id INT PRIMARY KEY); INSERT INTO selftest.t VALUES (1),(2),(3)' || true
        check "the repl user (MYSQL_REPL_URL) reads the binlog position and tables" \
            test "$(repl_sql 'SHOW MASTER STATUS' | cut -f1)" = mysql-bin.000001 -a "$(repl_sql 'SELECT COUNT(*) FROM selftest.t')" = 3
        check "ctl mariadb status reports it running on its port" \
            bash -c '"$1" mariadb status | grep -q " on $2\$"' _ "$CTL" "$hostport"
        "$CTL" mariadb kill 2>/dev/null || true
        check "ctl mariadb kill: the server is down" ctl_down mariadb
        check "ctl mariadb kill: no answer on its port" mysql_down
        check "ctl mariadb start after kill -9 (same port and data dir)" "$CTL" mariadb start
        check "mariadb answers again and kept its data" test "$(sql 'SELECT COUNT(*) FROM selftest.t')" = 3
        check "ctl mariadb restart (graceful stop + start)" "$CTL" mariadb restart
        check "mariadb answers after restart" mysql_up
    else
        skip "mariadb checks" "mariadb did not start (see the services: SKIP line)"
    fi

    if [[ -n ${REDIS_URL:-} ]]; then
        rhost=${REDIS_URL#redis://}
        rport=${rhost##*:}
        rhost=${rhost%:*}
        redis_up() { [[ $(redis-cli -h "$rhost" -p "$rport" ping 2>/dev/null) == PONG ]]; }
        redis_down() { ! redis_up; }
        if command -v redis-cli >/dev/null; then
            check "redis answers PING on $rhost:$rport (REDIS_URL)" redis_up
            "$CTL" redis kill 2>/dev/null || true
            check "ctl redis kill: the server is down" ctl_down redis
            check "ctl redis kill: no answer on its port" redis_down
            # captured output must not hang: the restarted server must not hold our pipe
            out=$(timeout 30 "$CTL" redis start 2>&1) && rc=0 || rc=$?
            check "ctl redis start after kill -9 (its output captured without hanging)" test "$rc" = 0
            ((rc == 0)) || printf '# %s\n' "ctl rc=$rc" "$out"
            check "redis answers PING again on the same port" redis_up
        else
            skip "redis checks" "redis-cli not installed (apt-get install redis-tools)"
        fi
        # nested run: reuses the outer servers because the URLs are set
        inner=$(ROWPIPE_OWN_SERVICES='' "$RUN" redis -- sh -c 'echo "$REDIS_URL"' 2>/dev/null) || true
        check "a nested run reuses the outer redis (REDIS_URL unchanged)" test "$inner" = "$REDIS_URL"
        inner=$(ROWPIPE_OWN_SERVICES='' "$RUN" redis -- "$CTL" redis status 2>/dev/null) || true
        check "ctl in a nested run reaches the outer server" test "${inner##* on }" = "$rhost:$rport"
        inner=$(ROWPIPE_OWN_SERVICES=1 "$RUN" redis -- sh -c 'echo "$REDIS_URL"' 2>/dev/null) || true
        check "a nested run with ROWPIPE_OWN_SERVICES=1 starts its own redis" \
            test -n "$inner" -a "$inner" != "$REDIS_URL"
    else
        skip "redis checks" "redis did not start (see the services: SKIP line)"
    fi
    exit $((failures > 0))
fi

# ---------------------------------------------------------------- outer part
export ROWPIPE_OWN_SERVICES=1 # test the harness's own servers even inside another run
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rowpipe-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export SELFTEST_DIR_FILE=$tmp/dir

t0=${EPOCHREALTIME/./}
rc=0
timeout -k 10 180 "$RUN" mariadb redis -- bash "$SELF" --inner >"$tmp/out" 2>"$tmp/err" || rc=$?
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
cat "$tmp/out"
failures=$((failures + $(grep -c '^not ok' "$tmp/out" || true)))
sed -n 's/^services: /# services: /p' "$tmp/err"
echo "# run mariadb redis -- (checks) took $ms ms"

for s in mariadb redis; do
    if grep -q "^services: SKIP $s:" "$tmp/err"; then
        skip "run prints the $s version and address" "$(sed -n "s/^services: SKIP $s: //p" "$tmp/err")"
    else
        check "run prints the $s version and address" grep -Eq "^services: $s [0-9][0-9.]* on 127\.0\.0\.1:[0-9]+" "$tmp/err"
    fi
done
inner_failed=$(($(grep -c '^not ok' "$tmp/out" || true) > 0))
check "run returns COMMAND's status ($inner_failed, got $rc)" test "$rc" = "$inner_failed"
dir=$(cat "$SELFTEST_DIR_FILE" 2>/dev/null || echo /nonexistent-rowpipe-dir)
check "no process references the temp dir after run returns, and the dir is gone" gone "$dir"

rc=0
"$RUN" redis -- sh -c 'exit 7' 2>/dev/null || rc=$?
check "run propagates a failing COMMAND's status (7, got $rc)" test "$rc" = 7
rc=0
"$RUN" redis -- sh -c 'echo "$ROWPIPE_SERVICES_DIR" >"$0"; kill -TERM $$' "$tmp/dir2" 2>/dev/null || rc=$?
check "run returns 128+15 when COMMAND is killed by SIGTERM (got $rc)" test "$rc" = 143
check "run cleans up after a COMMAND killed by SIGTERM" gone "$(cat "$tmp/dir2")"

# SIGTERM to run itself while COMMAND runs: stops COMMAND and the servers
rm -f "$tmp/dir3"
"$RUN" redis -- sh -c 'echo "$ROWPIPE_SERVICES_DIR" >"$0"; exec sleep 60' "$tmp/dir3" 2>/dev/null &
run_pid=$!
if wait_until 30 test -s "$tmp/dir3"; then
    d3=$(cat "$tmp/dir3")
    kill -TERM "$run_pid"
    rc=0
    wait "$run_pid" || rc=$?
    check "SIGTERM to run: exit status 143 (got $rc)" test "$rc" = 143
    check "SIGTERM to run: no process left on the temp dir, dir removed" wait_until 5 gone "$d3"
else
    kill -KILL "$run_pid" 2>/dev/null || true
    not_ok "SIGTERM to run: COMMAND never started"
fi

# SIGKILL to run: its watchdog tears the servers down
rm -f "$tmp/dir4"
"$RUN" redis -- sh -c 'echo "$ROWPIPE_SERVICES_DIR" >"$0"; exec sleep 60' "$tmp/dir4" 2>/dev/null &
run_pid=$!
if wait_until 30 test -s "$tmp/dir4"; then
    d4=$(cat "$tmp/dir4")
    kill -KILL "$run_pid"
    wait "$run_pid" 2>/dev/null || true
    check "SIGKILL to run: the watchdog removes servers and temp dir" wait_until 10 gone "$d4"
else
    kill -KILL "$run_pid" 2>/dev/null || true
    not_ok "SIGKILL to run: COMMAND never started"
fi

rc=0
ROWPIPE_REDIS_SERVER=/nonexistent/redis-server "$RUN" redis -- sh -c 'test -z "${REDIS_URL-}"' 2>"$tmp/err5" || rc=$?
check "a server that cannot start is a SKIP line, its variable unset, COMMAND still runs (rc=$rc)" \
    bash -c '[ "$1" = 0 ] && grep -q "^services: SKIP redis: " "$2"' _ "$rc" "$tmp/err5"
rc=0
ROWPIPE_OWN_SERVICES='' REDIS_URL=redis://127.0.0.1:1 "$RUN" redis -- sh -c 'test "$REDIS_URL" = redis://127.0.0.1:1 && ! "$0" redis status' "$CTL" 2>"$tmp/err6" || rc=$?
check "a REDIS_URL from the environment is used, no server started (rc=$rc)" \
    bash -c '[ "$1" = 0 ] && ! grep -q "^services: redis [0-9]" "$2"' _ "$rc" "$tmp/err6"
rc=0
"$RUN" no-such-service -- true 2>/dev/null || rc=$?
check "an unknown service is a usage error (2, got $rc)" test "$rc" = 2

echo "# $((failures)) not ok"
exit $((failures > 0))
