# Private Redis server for tests; sourced by tests/services/run and ctl.
# shellcheck shell=bash
# Binary override: ROWPIPE_REDIS_SERVER=/path/to/redis-server (tests use it to force a SKIP).

vars_redis() { echo REDIS_URL; }

check_redis() {
    REDIS_SERVER=$(svc_bin redis-server ROWPIPE_REDIS_SERVER) ||
        { svc_fail "redis-server not found${ROWPIPE_REDIS_SERVER:+ at $ROWPIPE_REDIS_SERVER} (apt-get install redis-server)"; return 1; }
}

version_redis() {
    local v
    v=$("${REDIS_SERVER:-redis-server}" --version 2>/dev/null) || true
    [[ $v =~ v=([0-9][0-9.]*) ]] && v=${BASH_REMATCH[1]}
    printf '%s\n' "${v:-unknown}"
}

init_redis() { mkdir -p "$SVC_DIR/data"; }

configure_redis() {
    local port
    pick_port port || return 1
    state_set PORT "$port"
    state_set ADDR "127.0.0.1:$port"
    # --set-proc-title no keeps the command line (and so the temp dir) visible to pgrep -f.
    state_cmd "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$SVC_DIR/data" --daemonize no --set-proc-title no --logfile ''
    env_begin
    env_set REDIS_URL "redis://127.0.0.1:$port"
    env_commit
}

# PING over bash's /dev/tcp: no redis-cli needed.
ready_redis() {
    local port reply=''
    port=$(state_get PORT)
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        printf 'PING\r\n' >&3
        IFS= read -r -t 1 reply <&3 || exit 1
        [[ $reply == +PONG* ]]
    ) 2>/dev/null
}
