# Private MariaDB server for tests (row binlog, repl user); sourced by tests/services/run and ctl.
# shellcheck shell=bash
# Binary override: ROWPIPE_MARIADBD=/path/to/mariadbd (tests use it to force a SKIP).

# The mariadb clients read MYSQL_HOST (which run exports), MYSQL_TCP_PORT, MYSQL_UNIX_PORT and
# MYSQL_PWD from the environment: an outer run's values must not steer our own calls.
_MARIADB_CLEAN_ENV=(env -u MYSQL_HOST -u MYSQL_TCP_PORT -u MYSQL_UNIX_PORT -u MYSQL_PWD)

vars_mariadb() {
    echo MYSQL_URL MYSQL_SOCKET MYSQL_HOST MYSQL_PORT MYSQL_REPL_URL MYSQL_REPL_PASSWORD
}

_mariadb_bins() {
    MARIADBD=$(svc_bin mariadbd ROWPIPE_MARIADBD) || { svc_fail "mariadbd not found${ROWPIPE_MARIADBD:+ at $ROWPIPE_MARIADBD} (apt-get install mariadb-server)"; return 1; }
    MARIADB_INSTALL_DB=$(svc_bin mariadb-install-db) || { svc_fail "mariadb-install-db not found (apt-get install mariadb-server)"; return 1; }
    MARIADB_ADMIN=$(svc_bin mariadb-admin) || { svc_fail "mariadb-admin not found (apt-get install mariadb-client)"; return 1; }
    MARIADB_CLIENT=$(svc_bin mariadb) || { svc_fail "mariadb client not found (apt-get install mariadb-client)"; return 1; }
}

check_mariadb() {
    _mariadb_bins || return 1
    local sock=$SVC_DIR/sock
    # sun_path holds 108 bytes
    ((${#sock} < 100)) || { svc_fail "socket path too long ($sock): use a shorter TMPDIR"; return 1; }
}

version_mariadb() {
    local v
    v=$("${MARIADBD:-mariadbd}" --version 2>/dev/null) || true
    [[ $v =~ Ver\ ([0-9]+\.[0-9]+\.[0-9]+) ]] && v=${BASH_REMATCH[1]}
    printf '%s\n' "${v:-unknown}"
}

init_mariadb() {
    local user=()
    (($(id -u) == 0)) && user=(--user=root)
    mkdir -p "$SVC_DIR/data" "$SVC_DIR/tmp"
    if ! "$MARIADB_INSTALL_DB" --no-defaults --datadir="$SVC_DIR/data" "${user[@]}" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        --innodb-log-file-size=8M >"$SVC_DIR/install.log" 2>&1; then
        svc_fail "mariadb-install-db failed: $(tail -n 3 "$SVC_DIR/install.log" | tr '\n' ' ')"
        return 1
    fi
}

configure_mariadb() {
    local port user=()
    pick_port port || return 1
    (($(id -u) == 0)) && user=(--user=root)
    state_set PORT "$port"
    state_set ADDR "127.0.0.1:$port"
    state_set SOCKET "$SVC_DIR/sock"
    state_set ADMIN "$MARIADB_ADMIN"
    state_set CLIENT "$MARIADB_CLIENT"
    # --no-defaults: no /etc/mysql/*.cnf; utf8mb4 like Debian's packaged config.
    state_cmd "$MARIADBD" --no-defaults "${user[@]}" \
        --datadir="$SVC_DIR/data" --tmpdir="$SVC_DIR/tmp" \
        --port="$port" --bind-address=127.0.0.1 --socket="$SVC_DIR/sock" \
        --pid-file="$SVC_DIR/mariadbd.pid" --log-error="$SVC_DIR/error.log" \
        --skip-name-resolve --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL \
        --binlog-row-metadata=FULL --server-id=1 \
        --innodb-buffer-pool-size=32M --innodb-log-file-size=8M \
        --innodb-flush-log-at-trx-commit=2 --sync-binlog=0
    env_begin
    env_set MYSQL_URL "mysql://root@127.0.0.1:$port"
    env_set MYSQL_SOCKET "$SVC_DIR/sock"
    env_set MYSQL_HOST 127.0.0.1
    env_set MYSQL_PORT "$port"
    env_set MYSQL_REPL_URL "mysql://repl@127.0.0.1:$port"
    env_set MYSQL_REPL_PASSWORD repl
    env_commit
}

# Probe over TCP (so the port really is ours); ping succeeds even on access denied.
ready_mariadb() {
    local port admin
    port=$(state_get PORT)
    admin=$(state_get ADMIN)
    "${_MARIADB_CLEAN_ENV[@]}" "$admin" --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" -uroot \
        --connect-timeout=1 ping >/dev/null 2>&1
}

setup_mariadb() {
    local out
    if ! out=$("${_MARIADB_CLEAN_ENV[@]}" "$(state_get CLIENT)" --no-defaults --protocol=socket -S "$SVC_DIR/sock" -uroot 2>&1 <<'SQL'
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
CREATE USER IF NOT EXISTS 'repl'@'localhost' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'repl'@'%';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'repl'@'localhost';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
SQL
    ); then
        svc_fail "creating the repl user failed: $out"
        return 1
    fi
}
