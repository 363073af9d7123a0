# Shared helpers for tests/services/run, ctl and the per-service files lib/<name>.sh (sourced, not run).
# shellcheck shell=bash
#
# Adding a service NAME = one file lib/NAME.sh defining these functions. They run
# with SVC=NAME and SVC_DIR=$ROWPIPE_SERVICES_DIR/NAME (a directory the service
# owns), report a failure with `svc_fail "reason"` (returns 1) and keep
# everything they need later in SVC_DIR via state_set/state_cmd/env_set:
#   vars_NAME       print the variables the service exports, URL variable first
#                   (if that one is already set, run reuses it instead of starting)
#   check_NAME      binaries present? (svc_fail "reason" if not)
#   version_NAME    print the server version (e.g. 10.11.6)
#   init_NAME       one-time data set-up; may be slow; runs in parallel with the
#                   init of the other services, in a subshell
#   configure_NAME  pick ports (pick_port), then state_set ADDR host:port,
#                   state_cmd server argv..., env_set VAR value...; run again
#                   with new ports when the server dies at start (port race)
#   ready_NAME      one quick readiness probe: return 0 when ready
#   setup_NAME      (optional) once after the first start: users, topics, ...
#   stop_NAME       (optional) graceful stop; default SIGTERM to the process group
#   cleanup_NAME    (optional) final teardown of helpers outside the server's
#                   process group (e.g. a daemonized epmd)
# The server runs in its own session and process group (setsid), with its
# output in SVC_DIR/log; its pid (= process group id) is in SVC_DIR/pid.

SERVICES_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
: "${ROWPIPE_SERVICES_TIMEOUT:=30}"

svc_say() { printf 'services: %s\n' "$*" >&2; }

# svc_fail REASON: record why SVC could not be set up; returns 1.
svc_fail() {
    printf '%s\n' "$*" >"$SVC_DIR/reason"
    return 1
}

svc_known() { [[ $1 =~ ^[a-z0-9_]+$ && $1 != common && $1 != reaper && -f $SERVICES_LIB/$1.sh ]]; }

svc_load() {
    local fn=check_$1
    # shellcheck source=/dev/null
    declare -F "$fn" >/dev/null || source "$SERVICES_LIB/$1.sh"
}

# svc_call HOOK [ARGS]: call HOOK_$SVC if the service defines it (else return 0).
svc_has() { declare -F "$1_$SVC" >/dev/null; }
svc_call() {
    local hook=$1
    shift
    if svc_has "$hook"; then "${hook}_$SVC" "$@"; fi
}

# svc_bin NAME OVERRIDE_VAR: print the path of an executable (PATH, sbin, libexec).
svc_bin() {
    local name=$1 override=${2:-} d
    if [[ -n $override && -n ${!override:-} ]]; then
        [[ -x ${!override} ]] && { printf '%s\n' "${!override}"; return 0; }
        return 1
    fi
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    for d in /usr/sbin /sbin /usr/local/sbin /usr/libexec; do
        [[ -x $d/$name ]] && { printf '%s\n' "$d/$name"; return 0; }
    done
    return 1
}

# ---- state kept in SVC_DIR (sourceable bash; later lines win) ----
state_set() { printf '%s=%q\n' "$1" "$2" >>"$SVC_DIR/state"; }
state_cmd() {
    local a line='CMD=('
    for a in "$@"; do line+=$(printf ' %q' "$a"); done
    printf '%s )\n' "$line" >>"$SVC_DIR/state"
}
# state_get KEY [DIR]: print one saved value.
state_get() {
    local dir=${2:-$SVC_DIR}
    [[ -f $dir/state ]] || return 1
    (
        # shellcheck disable=SC1091
        source "$dir/state"
        printf '%s' "${!1-}"
    )
}
env_set() { printf 'export %s=%q\n' "$1" "$2" >>"$SVC_DIR/env.new"; }
env_begin() { rm -f "$SVC_DIR/env.new"; }
env_commit() { mv -f "$SVC_DIR/env.new" "$SVC_DIR/env"; }

# ---- ports ----
_SVC_PICKED=" "
port_in_use() {
    local p=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
    fi
}
# pick_port VAR: set VAR to a free loopback TCP port below the ephemeral range.
pick_port() {
    local -n _out=$1
    local lo=20000 hi=32767 eph p i
    if read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null && ((eph > 12000)); then
        hi=$((eph - 1))
        lo=$((hi - 12000))
    fi
    for ((i = 0; i < 200; i++)); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        [[ $_SVC_PICKED == *" $p "* ]] && continue
        port_in_use "$p" && continue
        _SVC_PICKED+="$p "
        _out=$p
        return 0
    done
    svc_fail "no free port found in $lo-$hi"
}

# ---- processes ----
# pid_alive PID: running (not a zombie: orphans may never be reaped here).
pid_alive() {
    local st
    [[ -n ${1:-} ]] || return 1
    read -r st 2>/dev/null <"/proc/$1/stat" || return 1
    st=${st##*) }
    [[ ${st:0:1} != [ZX] ]]
}
svc_pid() { [[ -f $SVC_DIR/pid ]] && cat "$SVC_DIR/pid"; }

# Close inherited descriptors above 2 (a caller's pipe held open by a server would
# keep the caller waiting for EOF, and fd 9 is run's lifeline to its watchdog).
_svc_close_fds() {
    local f n
    for f in /proc/"$BASHPID"/fd/*; do
        n=${f##*/}
        [[ $n =~ ^[0-9]+$ ]] && ((n > 2)) && eval "exec $n>&-" 2>/dev/null
    done
    return 0
}

# svc_launch: start the saved command line in its own session/process group.
svc_launch() {
    local CMD=()
    # shellcheck disable=SC1091
    source "$SVC_DIR/state"
    ((${#CMD[@]})) || { svc_fail "no command line saved"; return 1; }
    printf '==== %s start: %s\n' "$(date '+%F %T')" "${CMD[*]}" >>"$SVC_DIR/log"
    (
        trap - INT QUIT
        _svc_close_fds
        cd "$SVC_DIR" && exec setsid "${CMD[@]}"
    ) </dev/null >>"$SVC_DIR/log" 2>&1 &
    echo "$!" >"$SVC_DIR/pid"
    disown "$!" 2>/dev/null || true # no "Killed" job notices; bash still reaps it
}

# svc_wait_ready [TIMEOUT]: 0 ready, 2 died, 1 timed out.
svc_wait_ready() {
    local timeout=${1:-$ROWPIPE_SERVICES_TIMEOUT} pid deadline now
    pid=$(svc_pid)
    deadline=$(( ${EPOCHREALTIME/./} + timeout * 1000000 ))
    while :; do
        pid_alive "$pid" || return 2
        "ready_$SVC" && return 0
        now=${EPOCHREALTIME/./}
        ((now < deadline)) || return 1
        sleep 0.05
    done
}

# svc_log_tail [N]: the end of the server's output, for error messages.
svc_log_tail() {
    local f n=${1:-15}
    for f in "$SVC_DIR/log" "$SVC_DIR/error.log"; do
        [[ -s $f ]] || continue
        printf '  --- %s (last %s lines) ---\n' "$f" "$n"
        tail -n "$n" "$f" | sed 's/^/  /'
    done
}

# svc_signal_wait SIG TIMEOUT: signal the process group, wait for the leader to go.
svc_signal_wait() {
    local sig=$1 timeout=$2 pid deadline
    pid=$(svc_pid) || return 0
    pid_alive "$pid" || return 0
    kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || true
    deadline=$(( ${EPOCHREALTIME/./} + timeout * 1000000 ))
    while pid_alive "$pid"; do
        ((${EPOCHREALTIME/./} < deadline)) || return 1
        sleep 0.02
    done
    kill -s KILL -- "-$pid" 2>/dev/null || true # stragglers in the group
    wait "$pid" 2>/dev/null || true             # reap if it is our child
    return 0
}

# svc_stop [TIMEOUT]: graceful stop, then SIGKILL after TIMEOUT seconds.
svc_stop() {
    local timeout=${1:-30} pid
    pid=$(svc_pid) || return 0
    pid_alive "$pid" || return 0
    if svc_has stop; then
        "stop_$SVC" || true
        svc_signal_wait 0 "$timeout" || svc_signal_wait KILL 10
    else
        svc_signal_wait TERM "$timeout" || svc_signal_wait KILL 10
    fi
}
svc_kill() { svc_signal_wait KILL 10; }

# svc_start_saved: start again with the saved port/data dir, wait for readiness.
svc_start_saved() {
    local rc=0
    svc_launch || return 1
    svc_wait_ready "$ROWPIPE_SERVICES_TIMEOUT" || rc=$?
    ((rc == 0)) && return 0
    if ((rc == 1)); then
        echo "$SVC not ready after ${ROWPIPE_SERVICES_TIMEOUT}s" >&2
    else
        echo "$SVC exited during start" >&2
    fi
    svc_log_tail 15 >&2
    svc_kill || true
    return 1
}

# regex-quote a path for pgrep -f
re_quote() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }

# teardown_all DIR: stop every service that DIR owns (not symlinks to an outer
# run), run cleanup hooks, kill anything still referencing DIR, remove DIR.
teardown_all() {
    local dir=$1 d pat pids i
    [[ -n $dir && -d $dir ]] || return 0
    for d in "$dir"/*/; do
        d=${d%/}
        [[ -d $d && ! -L $d && -f $d/state ]] || continue
        SVC=${d##*/}
        SVC_DIR=$d
        if svc_known "$SVC"; then svc_load "$SVC"; fi
        svc_stop 5 || true
        svc_call cleanup || true
    done
    pat="$(re_quote "$dir")(\$|[/ ])"
    for i in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(pgrep -f -- "$pat" | grep -vx -e "$$" -e "$BASHPID" || true)
        [[ -n $pids ]] || break
        # shellcheck disable=SC2086
        kill -s "$([[ $i -le 2 ]] && echo TERM || echo KILL)" $pids 2>/dev/null || true
        sleep 0.1
    done
    rm -rf -- "$dir" 2>/dev/null || { sleep 0.2; rm -rf -- "$dir" 2>/dev/null || true; }
}
