#!/usr/bin/env bash
# services: mariadb
# budget: 120
# binlog-tail --mysql logins: an ed25519 account on the harness's MariaDB (a wrong password exits 77,
# never printed); a password given by --password-file, by --defaults-file ([client] password=) and
# in the URL each logs in and streams, never in stderr or /proc/PID/cmdline (the URL's is blanked
# there), a wrong one exits 77; TLS on a second private MariaDB started here with a CA and a server
# certificate made for the run: an account that REQUIRE SSL streams with --ssl-mode REQUIRED and with
# --ssl-ca (certificate verified), is refused without TLS (77), and an unknown CA is a TLS error (78).
# Environment: BUILD (default build: bin/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${MYSQL_SOCKET:-}" ]; then
  if [ -n "${ROWPIPE_SERVICES_DIR:-}" ]; then echo "skip - binlog_live_auth: no MariaDB server (see the services: line)"; exit 0; fi
  exec "$here/../services/run" mariadb -- "$0" "$@"
fi
# shellcheck source=tests/integration/binlog_live_lib.bash
source "$here/binlog_live_lib.bash"
[ -x "$tail_bin" ] || { echo "not ok - binlog_live_auth: $tail_bin not built"; exit 1; }
run() { # ARGS...: binlog-tail --stop-at-end from the start of the current file; sets rc, err
  "$tail_bin" --stop-at-end "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  err=$(cat "$tmp/err")
}

# ed25519 (MariaDB's client plugin through Connector/C).
if sql -e "INSTALL SONAME 'auth_ed25519'" 2>"$tmp/plugin.err" || grep -q "already" "$tmp/plugin.err"; then
  sql -e "CREATE USER ed@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('ed-secret');
          GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO ed@'127.0.0.1';
          CREATE DATABASE rp_auth; CREATE TABLE rp_auth.t (id INT PRIMARY KEY); INSERT INTO rp_auth.t VALUES (1)"
  file=$(master_pos)
  file=${file%%:*}
  MYSQL_PWD=ed-secret run --mysql "mysql://ed@127.0.0.1:$MYSQL_PORT" --from "$file:4"
  if [ "$rc" = 0 ] && grep -q '"table":"t","eventType":"INSERT"' "$tmp/out"; then
    ok "binlog_live_auth: an ed25519 account streams (exit 0)"
  else
    not_ok "binlog_live_auth: ed25519: exit $rc, $err"
  fi
  MYSQL_PWD=wrong-secret run --mysql "mysql://ed@127.0.0.1:$MYSQL_PORT" --from "$file:4"
  if [ "$rc" = 77 ] && [[ $err == *"Access denied"* && $err != *wrong-secret* ]]; then
    ok "binlog_live_auth: a wrong ed25519 password exits 77 at once, the password not printed"
  else
    not_ok "binlog_live_auth: wrong ed25519 password: exit $rc, $err"
  fi
else
  not_ok "binlog_live_auth: INSTALL SONAME 'auth_ed25519' failed: $(cat "$tmp/plugin.err")"
fi

# Credentials on binlog-tail's own command line (MYSQL_PWD unset): --password-file, --defaults-file
# with a [client] password, and a URL with the password in it (blanked from the argument list).
secret=Pw-s3cret-4711
sql -e "CREATE USER pw@'127.0.0.1' IDENTIFIED BY '$secret';
        GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO pw@'127.0.0.1';
        CREATE DATABASE IF NOT EXISTS rp_auth; CREATE TABLE rp_auth.c (id INT PRIMARY KEY, how VARCHAR(40))"
printf '%s\n' "$secret" >"$tmp/pw"
printf '[client]\nuser=pw\npassword=%s\n' "$secret" >"$tmp/my.cnf"
printf 'wrong-%s\n' "$secret" >"$tmp/bad.pw"
n=0
# login HOW ARGS...: binlog-tail streams live with ARGS; a row inserted meanwhile comes out; sets
# cmdline (the running process's argument list), rc and err.
login() {
  local how=$1
  shift
  n=$((n + 1))
  rm -f "$tmp/login.ck"
  env -u MYSQL_PWD "$tail_bin" "$@" --checkpoint "$tmp/login.ck" --idle-interval 0.3 >"$tmp/login-$n.out" 2>"$tmp/login-$n.err" &
  local pid=$!
  live_pids+=("$pid")
  wait_for_checkpoint "$tmp/login.ck" 10 >/dev/null 2>&1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
  sql -e "INSERT INTO rp_auth.c VALUES ($n, '$how')"
  wait_for_checkpoint "$tmp/login.ck" 10 >/dev/null 2>&1
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  err=$(cat "$tmp/login-$n.err")
  if [ "$rc" = 0 ] && grep -q "\"after\":{\"id\":$n,\"how\":\"$how\"}" "$tmp/login-$n.out" &&
    [[ -n $cmdline && $cmdline != *"$secret"* && $err != *"$secret"* ]]; then
    ok "binlog_live_auth: $how logs in and streams; the password is neither in stderr nor in /proc/PID/cmdline"
  else
    not_ok "binlog_live_auth: $how: exit $rc, cmdline '$cmdline', $err"
  fi
}
login "--password-file" --mysql "mysql://pw@127.0.0.1:$MYSQL_PORT" --password-file "$tmp/pw"
login "--defaults-file" --mysql "mysql://pw@127.0.0.1:$MYSQL_PORT" --defaults-file "$tmp/my.cnf"
login "a URL with the password" --mysql "mysql://pw:$secret@127.0.0.1:$MYSQL_PORT"
if [[ $cmdline == *"mysql://pw:"*"@127.0.0.1:$MYSQL_PORT"* ]]; then
  ok "binlog_live_auth: a password given in the URL is blanked in /proc/PID/cmdline ($cmdline)"
else
  not_ok "binlog_live_auth: the URL in /proc/PID/cmdline: $cmdline"
fi
env -u MYSQL_PWD "$tail_bin" --stop-at-end --mysql "mysql://pw@127.0.0.1:$MYSQL_PORT" --password-file "$tmp/bad.pw" \
  >/dev/null 2>"$tmp/bad.err"
rc=$?
if [ "$rc" = 77 ] && grep -q "Access denied" "$tmp/bad.err" && ! grep -q "$secret" "$tmp/bad.err"; then
  ok "binlog_live_auth: a wrong password in --password-file exits 77, not printed"
else
  not_ok "binlog_live_auth: wrong --password-file: exit $rc, $(cat "$tmp/bad.err")"
fi

# TLS: a second server of our own, with certificates made here.
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
if ! command -v openssl >/dev/null || [ ! -x "$mariadbd" ]; then
  echo "skip - binlog_live_auth: TLS: openssl or mariadbd missing"
  exit $failed
fi
tls=$tmp/tls
mkdir -p "$tls/data" "$tls/tmp"
(
  cd "$tls" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rowpipe-test-ca -keyout ca.key -out ca.pem
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other.key -out other.pem
) >"$tmp/openssl.log" 2>&1 || { not_ok "binlog_live_auth: making certificates failed: $(tail -3 "$tmp/openssl.log")"; exit 1; }
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user=()
(($(id -u) == 0)) && user=(--user=root)
mariadb-install-db --no-defaults --datadir="$tls/data" "${user[@]}" --auth-root-authentication-method=normal \
  --skip-test-db --skip-name-resolve >"$tmp/install.log" 2>&1 || { not_ok "binlog_live_auth: mariadb-install-db failed"; exit 1; }
"$mariadbd" --no-defaults "${user[@]}" --datadir="$tls/data" --tmpdir="$tls/tmp" --port="$port" --bind-address=127.0.0.1 \
  --socket="$tls/sock" --pid-file="$tls/pid" --log-error="$tls/error.log" --skip-name-resolve --log-bin=mysql-bin \
  --binlog-format=ROW --server-id=2 --innodb-buffer-pool-size=16M --ssl-ca="$tls/ca.pem" --ssl-cert="$tls/server.pem" \
  --ssl-key="$tls/server.key" >"$tls/stdout.log" 2>&1 &
server=$!
live_pids+=("$server")
tsql() { env -u MYSQL_HOST -u MYSQL_PWD mariadb --no-defaults -uroot -S "$tls/sock" -N -B "$@"; }
for _ in $(seq 100); do tsql -e "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
tsql -e "CREATE USER tls@'127.0.0.1' IDENTIFIED BY 'tls-secret' REQUIRE SSL;
         GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO tls@'127.0.0.1';
         CREATE DATABASE rp_tls; CREATE TABLE rp_tls.t (id INT PRIMARY KEY); INSERT INTO rp_tls.t VALUES (7)" ||
  { not_ok "binlog_live_auth: the TLS server did not start: $(tail -3 "$tls/error.log")"; exit 1; }
url=mysql://tls@127.0.0.1:$port
export MYSQL_PWD=tls-secret
run --mysql "$url" --from earliest --ssl-mode REQUIRED
if [ "$rc" = 0 ] && grep -q '"after":{"id":7}' "$tmp/out"; then
  ok "binlog_live_auth: --ssl-mode REQUIRED streams from an account that requires TLS"
else
  not_ok "binlog_live_auth: --ssl-mode REQUIRED: exit $rc, $err"
fi
run --mysql "$url" --from earliest --ssl-ca "$tls/ca.pem"
if [ "$rc" = 0 ] && grep -q '"after":{"id":7}' "$tmp/out"; then
  ok "binlog_live_auth: --ssl-ca verifies the server's certificate and streams"
else
  not_ok "binlog_live_auth: --ssl-ca: exit $rc, $err"
fi
run --mysql "$url" --from earliest --ssl-mode DISABLED
if [ "$rc" = 77 ]; then
  ok "binlog_live_auth: without TLS the account is refused (exit 77)"
else
  not_ok "binlog_live_auth: --ssl-mode DISABLED: exit $rc, $err"
fi
run --mysql "$url" --from earliest --ssl-ca "$tls/other.pem"
if [ "$rc" = 78 ]; then
  ok "binlog_live_auth: a certificate from another CA is a TLS error (exit 78)"
else
  not_ok "binlog_live_auth: wrong CA: exit $rc, $err"
fi
kill -TERM "$server"
wait "$server" 2>/dev/null
exit $failed
