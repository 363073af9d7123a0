# Private MongoDB-compatible server for tests: FerretDB v1 with its SQLite backend; sourced by
# tests/services/run and ctl.
# shellcheck shell=bash
# Binary: built once by tests/services/fetch-ferretdb (Go module proxy, cached outside the repo;
# built on first use, about two minutes). No Go 1.22+ and nothing cached: SKIP with the reason.
# Overrides: ROWPIPE_FERRETDB=/path/to/ferretdb (tests use it to force a SKIP),
# ROWPIPE_FERRETDB_VERSION (default v1.24.2, see fetch-ferretdb).
# FerretDB v1 lacks some BSON/MongoDB features (Decimal128, nested arrays, dotted field names, ...;
# NUL bytes in strings do work): README.md, Limits, lists what was measured; the version line says
# which server runs.

vars_mongo() { echo MONGO_URL; }

_MONGO_FETCH=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/fetch-ferretdb

# OP_MSG {hello: 1, $db: "admin"}: 16-byte header (length 52, request 1, opcode 2013),
# flags 0, section kind 0, then the 31-byte BSON document.
_MONGO_HELLO='\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00'
# shellcheck disable=SC2016 # $db is the BSON key, not an expansion
_MONGO_HELLO+='\x1f\x00\x00\x00\x10hello\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00'

_mongo_go_ok() {
    local go v
    go=$(command -v go 2>/dev/null) || go=/usr/local/go/bin/go
    [[ -x $go ]] || { echo "no Go toolchain (go not on PATH, no /usr/local/go/bin/go)"; return 1; }
    v=$("$go" env GOVERSION 2>/dev/null) || { echo "'$go env GOVERSION' failed"; return 1; }
    if [[ $v =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] < 22)); then
        echo "Go $v is too old (FerretDB needs Go 1.22 or newer)"
        return 1
    fi
}

check_mongo() {
    local why
    if [[ -n ${ROWPIPE_FERRETDB:-} ]]; then
        [[ -x $ROWPIPE_FERRETDB ]] || { svc_fail "ferretdb not found at $ROWPIPE_FERRETDB"; return 1; }
        return 0
    fi
    "$_MONGO_FETCH" --check && return 0
    why=$(_mongo_go_ok) || { svc_fail "FerretDB is not built ($("$_MONGO_FETCH" --print)) and cannot be: $why"; return 1; }
}

_mongo_bin() {
    if [[ -n ${ROWPIPE_FERRETDB:-} ]]; then printf '%s\n' "$ROWPIPE_FERRETDB"; else "$_MONGO_FETCH" --print; fi
}

version_mongo() {
    local v
    v=$("$(_mongo_bin)" --version 2>/dev/null | sed -n 's/^version: //p') || true
    printf 'FerretDB %s (SQLite backend)\n' "${v:-unknown}"
}

# Build on first use (slow once; runs in parallel with the other services' init).
init_mongo() {
    if [[ -z ${ROWPIPE_FERRETDB:-} ]] && ! "$_MONGO_FETCH" >/dev/null 2>"$SVC_DIR/fetch.err"; then
        svc_fail "building FerretDB failed: $(tail -n 3 "$SVC_DIR/fetch.err" | tr '\n' ' ')"
        return 1
    fi
    mkdir -p "$SVC_DIR/data" "$SVC_DIR/ferretdb-state"
}

configure_mongo() {
    local port clean=(env) v
    pick_port port || return 1
    state_set PORT "$port"
    state_set ADDR "127.0.0.1:$port"
    # FERRETDB_* variables of the caller would change the server: drop them
    for v in $(compgen -e | grep '^FERRETDB_' || true); do clean+=(-u "$v"); done
    # --debug-addr=-: no HTTP debug listener (its default port 8088 would clash between runs)
    state_cmd "${clean[@]}" "$(_mongo_bin)" --handler=sqlite --sqlite-url="file:$SVC_DIR/data/" \
        --listen-addr="127.0.0.1:$port" --state-dir="$SVC_DIR/ferretdb-state" --telemetry=disable \
        --debug-addr=- --log-level=warn --no-log-uuid --no-metrics-uuid
    env_begin
    env_set MONGO_URL "mongodb://127.0.0.1:$port/"
    env_commit
}

# A hello over the wire protocol (bash /dev/tcp): ready when the reply says ok: 1.0.
ready_mongo() {
    local port hex
    port=$(state_get PORT)
    hex=$(
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        # shellcheck disable=SC2059 # the format is the message
        printf "$_MONGO_HELLO" >&3
        read -r b0 b1 b2 b3 < <(timeout 1 head -c 4 <&3 | od -An -tu1) || exit 1
        len=$((b0 + (b1 << 8) + (b2 << 16) + (b3 << 24)))
        ((len > 16 && len < 1048576)) || exit 1
        timeout 1 head -c $((len - 4)) <&3 | od -An -v -tx1 | tr -d ' \n'
    ) 2>/dev/null || return 1
    # "ok" as double 1.0: type 0x01, "ok\0", 00 00 00 00 00 00 f0 3f
    [[ $hex == *016f6b00000000000000f03f* ]]
}
