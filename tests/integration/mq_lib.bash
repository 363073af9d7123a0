# Shared by the mq-pipe integration scripts (sourced): checks, broker handles, helpers.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.bash"
# A private build directory (make BUILD=build-x) keeps its tools in build-x/bin.
if [[ -n ${BUILD:-} && $BUILD != build && -x $ROOT/$BUILD/bin/mq-pipe ]]; then PATH=$ROOT/$BUILD/bin:$PATH; fi

failed=0
ok() { echo "ok - $1"; }
not_ok() {
  echo "not ok - $1${2:+: $2}"
  failed=1
}
skip() {
  if [[ ${CI:-} == true ]]; then not_ok "$1" "skipped under CI=true: $2"; else echo "skip - $1: $2"; fi
}
# check SENTENCE COMMAND...: ok when the command succeeds; else not ok with its output.
check() {
  local sentence=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$sentence"; else not_ok "$sentence" "$(echo "$out" | tail -3 | tr '\n' ' ')"; fi
}

lines() { /usr/bin/python3 "$ROOT/tests/integration/mq_lines.py" "$@"; }
ctl() { "$ROOT/tests/services/ctl" "$@" 2>>"$TMP/ctl.log"; }

# Which brokers this run has, as harness-owned servers (fault tests need ctl).
have_kafka=0 have_amqp=0
[[ -n ${KAFKA_BROKERS:-} ]] && have_kafka=1
[[ -n ${AMQP_URL:-} ]] && have_amqp=1
owned() { ctl "$1" status >/dev/null 2>&1; }

KAFKA=kafka://${KAFKA_BROKERS:-none}
AMQP=${AMQP_URL:-amqp://none}

# wait_for SECONDS COMMAND...: polls the command every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# kafka_lag TOPIC GROUP: the total lag mq-pipe reports (empty on failure).
kafka_lag() { mq-pipe lag "$KAFKA/$1" --group "$2" 2>/dev/null | sed -n 's/.*"lag":\([0-9]*\)}$/\1/p'; }
amqp_depth() { mq-pipe lag "$AMQP" --queue "$1" 2>/dev/null | sed -n 's/.*"messages":\([0-9]*\),.*/\1/p'; }

# stop_pid PID: SIGTERM, then wait (at most 30 s, then SIGKILL); sets $stopped to its exit status.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  wait "$pid"
  stopped=$?
}
