#!/usr/bin/env bash
# Self-test of the harness's rabbitmq, kafka and mongo services: up, real clients, kill -9 and
# restart via ctl, cleanup (no java/beam.smp/epmd/ferretdb left, nothing on 4369), SKIPs.
# Prints one line per check: "ok - ...", "not ok - ...", "skip - ...: reason" (a skip is
# "not ok" under CI=true); exits 0 when there is no "not ok".
# Clients: amqp-tools (RabbitMQ), kcat (Kafka), python3 with only its standard library (a raw
# OP_MSG client for Mongo). The first run fetches the Kafka jars and builds FerretDB (minutes).
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
# live_pids PATTERN: pids of live (not zombie) processes whose command line matches PATTERN.
live_pids() {
    local p st
    for p in $(pgrep -f -- "$1" || true); do
        read -r st 2>/dev/null <"/proc/$p/stat" || continue
        st=${st##*) }
        [[ ${st:0:1} == [ZX] ]] || echo "$p"
    done
}
no_process_on() { [[ -z $(live_pids "$1") ]]; }
ctl_down() { ! "$CTL" "$1" status >/dev/null 2>&1; }
gone() { no_process_on "$1" && [[ ! -e $1 ]]; }
listening() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
# ctl_timed SERVICE ACTION: run ctl, remember its "in N s" for the summary.
ctl_timed() {
    local out rc=0
    out=$(timeout 120 "$CTL" "$1" "$2" 2>&1) || rc=$?
    printf '%s\n' "$out" | sed -n 's/^ctl: \(.* in [0-9.]* s\)$/# \1/p'
    ((rc == 0)) || printf '# %s\n' "ctl $1 $2 rc=$rc" "$out"
    return "$rc"
}

# ---------------------------------------------------------------- inner part
if [[ ${1:-} == --inner ]]; then
    echo "$ROWPIPE_SERVICES_DIR" >"$SELFTEST_DIR_FILE"

    # ---- RabbitMQ
    if [[ -n ${AMQP_URL:-} ]]; then
        # shellcheck disable=SC1091
        epmd_port=$(source "$ROWPIPE_SERVICES_DIR/rabbitmq/state" && echo "${EPMD_PORT:-}")
        echo "$epmd_port" >"$SELFTEST_DIR_FILE.epmd"
        q=selftest-$$
        amqp_up() { amqp-declare-queue -u "$AMQP_URL" -d -q "$q" >/dev/null 2>&1; }
        publish() { amqp-publish -u "$AMQP_URL" -r "$q" -p -b "$1" 2>/dev/null; }
        get_is() { [[ $(amqp-get -u "$AMQP_URL" -q "$q" 2>/dev/null) == "$1" ]]; }
        check "AMQP_URL is amqp://guest@127.0.0.1:PORT/%2f, AMQP_PASSWORD guest" \
            bash -c '[[ $AMQP_URL =~ ^amqp://guest@127\.0\.0\.1:[0-9]+/%2f$ && $AMQP_PASSWORD == guest ]]'
        check "rabbitmq: a durable queue is declared (amqp-declare-queue)" amqp_up
        publish one || true
        check "rabbitmq: a persistent message published is got back (amqp-publish, amqp-get)" get_is one
        out=$("$ROWPIPE_RABBITMQCTL" eval 'rabbit_registry:lookup_module(exchange, '\''x-consistent-hash'\'').' 2>&1) || true
        check "rabbitmq: the consistent-hash exchange type is enabled (via \$ROWPIPE_RABBITMQCTL eval)" \
            test "$out" = '{ok,rabbit_exchange_type_consistent_hash}'
        [[ $out == '{ok,rabbit_exchange_type_consistent_hash}' ]] || printf '# %s\n' "$out"
        out=$("$ROWPIPE_RABBITMQCTL" list_queues -q name durable 2>&1) || true
        check "rabbitmq: \$ROWPIPE_RABBITMQCTL list_queues shows the durable queue" grep -qE "^${q}[[:space:]]+true" <<<"$out"
        check "rabbitmq: its epmd listens on its own port $epmd_port" listening "$epmd_port"
        if [[ $SELFTEST_4369_FREE == 1 ]]; then
            check "rabbitmq: nothing listens on 4369 (no stray epmd from broker or rabbitmqctl)" bash -c '! ss -Hltn "sport = :4369" | grep -q .'
        fi
        ctl_timed rabbitmq kill || true
        check "ctl rabbitmq kill: the broker is down" ctl_down rabbitmq
        check "ctl rabbitmq kill: no answer on its port, its epmd gone too" \
            bash -c '! amqp-declare-queue -u "$AMQP_URL" -q x >/dev/null 2>&1 && ! ss -Hltn "sport = :$1" | grep -q .' _ "$epmd_port"
        check "ctl rabbitmq start after kill -9 (same port and mnesia dir)" ctl_timed rabbitmq start
        check "rabbitmq answers again; the durable queue survived kill -9" bash -c '
            out=$("$1" list_queues -q name 2>/dev/null) && grep -qx "$2" <<<"$out"' _ "$ROWPIPE_RABBITMQCTL" "$q"
        # (no graceful restart here: a RabbitMQ boot costs 4-8 s of this machine; the stop
        # path is what differs from kill, and run's teardown then has nothing left to stop)
        t_stop=${EPOCHREALTIME/./}
        check "ctl rabbitmq stop (graceful: SIGTERM to the launcher)" ctl_timed rabbitmq stop
        check "ctl rabbitmq stop took under 15 s and left neither broker nor epmd" bash -c '
            (( (${EPOCHREALTIME/./} - $1) < 15000000 )) && ! "$2" rabbitmq status >/dev/null 2>&1 &&
            ! ss -Hltn "sport = :$3" | grep -q . && [ -z "$(pgrep -f -- "epmd -port $3 ")" ]' _ "$t_stop" "$CTL" "$epmd_port"
    else
        skip "rabbitmq checks" "rabbitmq did not start (see the services: SKIP line)"
    fi

    # ---- Kafka
    if [[ -n ${KAFKA_BROKERS:-} ]]; then
        topic=selftest-$$
        kafka_up() { kcat -b "$KAFKA_BROKERS" -L -m 2 -q >/dev/null 2>&1; }
        kafka_down() { ! kafka_up; }
        consume() { timeout 60 kcat -b "$KAFKA_BROKERS" -C -t "$topic" -o beginning -e -q -f '%k=%s\n' 2>/dev/null | sort | tr '\n' ' '; }
        check "KAFKA_BROKERS is 127.0.0.1:PORT" bash -c '[[ $KAFKA_BROKERS =~ ^127\.0\.0\.1:[0-9]+$ ]]'
        check "kafka answers a metadata request (kcat -L)" kafka_up
        printf 'k1:v1\nk2:v2\n' | kcat -b "$KAFKA_BROKERS" -P -t "$topic" -K: -X acks=all 2>/dev/null || true
        check "kafka: 2 messages produced with acks=all are consumed back (kcat -P, -C)" test "$(consume)" = 'k1=v1 k2=v2 '
        timeout 60 kcat -b "$KAFKA_BROKERS" -G "$topic-group" -o beginning -e -q "$topic" >/dev/null 2>&1 || true
        out=$("$ROWPIPE_KAFKA_TOOL" kafka-consumer-groups --bootstrap-server "$KAFKA_BROKERS" --describe --group "$topic-group" 2>&1) || true
        check "kafka: \$ROWPIPE_KAFKA_TOOL kafka-consumer-groups describes a kcat -G group" grep -q "$topic" <<<"$out"
        grep -q "$topic" <<<"$out" || printf '# %s\n' "$out"
        out=$("$ROWPIPE_KAFKA_TOOL" kafka-topics --bootstrap-server "$KAFKA_BROKERS" --describe --topic "$topic" 2>&1) || true
        check "kafka: \$ROWPIPE_KAFKA_TOOL kafka-topics: auto-created topic has 4 partitions" grep -q 'PartitionCount: 4' <<<"$out"
        ctl_timed kafka kill || true
        check "ctl kafka kill: the broker is down" ctl_down kafka
        check "ctl kafka kill: no answer on its port" kafka_down
        check "ctl kafka start after kill -9 (same port and log dir)" ctl_timed kafka start
        check "kafka answers again and kept its messages" test "$(consume)" = 'k1=v1 k2=v2 '
        printf 'k3:v3\n' | kcat -b "$KAFKA_BROKERS" -P -t "$topic" -K: -X acks=all 2>/dev/null || true
        check "ctl kafka restart (graceful stop + start)" ctl_timed kafka restart
        check "kafka: produced after kill -9, consumed after restart" test "$(consume)" = 'k1=v1 k2=v2 k3=v3 '
    else
        skip "kafka checks" "kafka did not start (see the services: SKIP line)"
    fi

    # ---- Mongo (FerretDB)
    if [[ -n ${MONGO_URL:-} ]]; then
        mport=${MONGO_URL#mongodb://127.0.0.1:}
        mport=${mport%/}
        mongo() { python3 "$SELFTEST_MONGO_PY" "$mport" "$@" 2>/dev/null; }
        mongo_down() { ! mongo hello >/dev/null; }
        check "MONGO_URL is mongodb://127.0.0.1:PORT/" bash -c '[[ $MONGO_URL =~ ^mongodb://127\.0\.0\.1:[0-9]+/$ ]]'
        out=$(mongo hello) || true
        check "mongo answers an OP_MSG hello (ok: 1, wire version >= 17)" bash -c '[[ $1 =~ ^ok\ maxWireVersion=([0-9]+) ]] && ((BASH_REMATCH[1] >= 17))' _ "$out"
        check "mongo: a document inserted is found back (OP_MSG insert, find)" \
            bash -c '[[ $("$@" insert 1 one) == "ok n=1" && $("$@" find 1) == "one" ]]' _ python3 "$SELFTEST_MONGO_PY" "$mport"
        ctl_timed mongo kill || true
        check "ctl mongo kill: the server is down" ctl_down mongo
        check "ctl mongo kill: no answer on its port" mongo_down
        check "ctl mongo start after kill -9 (same port and SQLite dir)" ctl_timed mongo start
        check "mongo answers again and kept the document" test "$(mongo find 1)" = one
        mongo insert 2 two >/dev/null || true
        check "ctl mongo restart (graceful stop + start)" ctl_timed mongo restart
        check "mongo: both documents there after restart" test "$(mongo find 1)/$(mongo find 2)" = one/two
    else
        skip "mongo checks" "mongo did not start (see the services: SKIP line)"
    fi
    exit $((failures > 0))
fi

# ---------------------------------------------------------------- outer part
export ROWPIPE_OWN_SERVICES=1 # test the harness's own servers even inside another run
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rowpipe-selftest-brokers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export SELFTEST_DIR_FILE=$tmp/dir
export SELFTEST_MONGO_PY=$tmp/mongo.py
SELFTEST_4369_FREE=1
listening 4369 && SELFTEST_4369_FREE=0
export SELFTEST_4369_FREE

# A minimal MongoDB wire-protocol client (OP_MSG, a BSON subset): python3 mongo.py PORT
#   hello            -> "ok maxWireVersion=N"
#   insert ID VALUE  -> "ok n=1"   (db selftest, collection c, {_id: ID, v: VALUE})
#   find ID          -> VALUE of the document with _id ID (empty if none)
cat >"$SELFTEST_MONGO_PY" <<'PY'
import socket, struct, sys

def enc(doc):
    out = b""
    for k, v in doc.items():
        key = k.encode() + b"\0"
        if isinstance(v, bool):
            out += b"\x08" + key + (b"\1" if v else b"\0")
        elif isinstance(v, int):
            out += b"\x12" + key + struct.pack("<q", v)
        elif isinstance(v, str):
            s = v.encode() + b"\0"
            out += b"\x02" + key + struct.pack("<i", len(s)) + s
        elif isinstance(v, dict):
            out += b"\x03" + key + enc(v)
        elif isinstance(v, list):
            out += b"\x04" + key + enc({str(i): x for i, x in enumerate(v)})
        else:
            raise TypeError(type(v))
    return struct.pack("<i", len(out) + 5) + out + b"\0"

def dec(b, pos=0):
    end = pos + struct.unpack_from("<i", b, pos)[0] - 1
    pos += 4
    doc = {}
    while pos < end:
        t = b[pos]; pos += 1
        z = b.index(b"\0", pos); key = b[pos:z].decode(); pos = z + 1
        if t == 0x01: v = struct.unpack_from("<d", b, pos)[0]; pos += 8
        elif t == 0x02:
            n = struct.unpack_from("<i", b, pos)[0]; v = b[pos + 4:pos + 3 + n].decode(); pos += 4 + n
        elif t in (0x03, 0x04):
            n = struct.unpack_from("<i", b, pos)[0]; v = dec(b, pos); pos += n
            if t == 0x04: v = [v[k] for k in sorted(v, key=int)]
        elif t == 0x05:
            n = struct.unpack_from("<i", b, pos)[0]; v = b[pos + 5:pos + 5 + n]; pos += 5 + n
        elif t == 0x07: v = b[pos:pos + 12]; pos += 12
        elif t == 0x08: v = b[pos] == 1; pos += 1
        elif t in (0x09, 0x11, 0x12): v = struct.unpack_from("<q", b, pos)[0]; pos += 8
        elif t == 0x10: v = struct.unpack_from("<i", b, pos)[0]; pos += 4
        elif t == 0x0A: v = None
        else: raise ValueError("BSON type %#x" % t)
        doc[key] = v
    return doc

def command(port, doc):
    body = struct.pack("<I", 0) + b"\0" + enc(doc)
    msg = struct.pack("<iiii", 16 + len(body), 1, 0, 2013) + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(msg)
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk: raise EOFError
            head += chunk
        n = struct.unpack("<i", head)[0]
        rest = b""
        while len(rest) < n - 4:
            chunk = s.recv(n - 4 - len(rest))
            if not chunk: raise EOFError
            rest += chunk
    op = struct.unpack_from("<i", rest, 8)[0]
    assert op == 2013, op
    return dec(rest, 12 + 4 + 1)   # header rest (12), flags (4), section kind (1)

port = int(sys.argv[1]); what = sys.argv[2]
if what == "hello":
    r = command(port, {"hello": 1, "$db": "admin"})
    print("ok maxWireVersion=%d" % r["maxWireVersion"] if r.get("ok") == 1 else r)
elif what == "insert":
    r = command(port, {"insert": "c", "documents": [{"_id": int(sys.argv[3]), "v": sys.argv[4]}], "$db": "selftest"})
    print("ok n=%d" % r["n"] if r.get("ok") == 1 else r)
elif what == "find":
    r = command(port, {"find": "c", "filter": {"_id": int(sys.argv[3])}, "$db": "selftest"})
    docs = r["cursor"]["firstBatch"] if r.get("ok") == 1 else []
    print(docs[0]["v"] if docs else "")
PY

# server processes (by name) that are alive and orphaned (parent pid 1): what a run must not leave
orphans() {
    local p st rest ppid
    for p in $(pgrep -x java; pgrep -x beam.smp; pgrep -x epmd; pgrep -x ferretdb); do
        read -r st 2>/dev/null <"/proc/$p/stat" || continue
        rest=${st##*) }
        ppid=${rest#* }
        ppid=${ppid%% *}
        [[ ${rest:0:1} != [ZX] && $ppid == 1 ]] && echo "$p"
    done
    return 0
}
orphans_before=" $(orphans | tr '\n' ' ') "
# new_orphans: orphans that appeared since, less those of another run that is still going
# (a server restarted by `ctl start` is an orphan while its run lives; its command line
# names that run's temp dir, which still exists)
new_orphans() {
    local p d live
    for p in $(orphans); do
        [[ $orphans_before == *" $p "* ]] && continue
        live=0
        for d in $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -o '/[^ ]*/rowpipe-svc\.[A-Za-z0-9]*' | sort -u); do
            [[ -d $d ]] && live=1
        done
        ((live)) || echo "$p"
    done
}

t0=${EPOCHREALTIME/./}
rc=0
timeout -k 10 900 "$RUN" rabbitmq kafka mongo -- bash "$SELF" --inner >"$tmp/out" 2>"$tmp/err" || rc=$?
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
cat "$tmp/out"
failures=$((failures + $(grep -c '^not ok' "$tmp/out" || true)))
sed -n 's/^services: /# services: /p' "$tmp/err"
echo "# run rabbitmq kafka mongo -- (checks) took $ms ms"

declare -A version_re=(
    [rabbitmq]='[0-9][0-9.]* \(Erlang/OTP [0-9.]+\)'
    [kafka]='[0-9][0-9.]* \(KRaft, Java [0-9][0-9.]*\)'
    [mongo]='FerretDB v[0-9][0-9.]* \(SQLite backend\)'
)
for s in rabbitmq kafka mongo; do
    if grep -q "^services: SKIP $s:" "$tmp/err"; then
        skip "run prints the $s server, version and address" "$(sed -n "s/^services: SKIP $s: //p" "$tmp/err")"
    else
        check "run prints the $s server, version and address" \
            grep -Eq "^services: $s ${version_re[$s]} on 127\.0\.0\.1:[0-9]+ " "$tmp/err"
    fi
done
inner_failed=$(($(grep -c '^not ok' "$tmp/out" || true) > 0))
check "run returns COMMAND's status ($inner_failed, got $rc)" test "$rc" = "$inner_failed"
dir=$(cat "$SELFTEST_DIR_FILE" 2>/dev/null || echo /nonexistent-rowpipe-dir)
check "no process references the temp dir after run returns, and the dir is gone" gone "$dir"
if [[ -s $SELFTEST_DIR_FILE.epmd ]]; then
    ep=$(cat "$SELFTEST_DIR_FILE.epmd")
    check "no epmd left on the broker's epmd port $ep" bash -c '! ss -Hltn "sport = :$1" | grep -q . && [ -z "$(pgrep -f -- "epmd -port $1 ")" ]' _ "$ep"
fi
left=$(new_orphans)
check "no java, beam.smp, epmd or ferretdb process left behind (orphaned) after the run" test -z "$left"
[[ -z $left ]] || ps -o pid,ppid,stat,args -p "$(echo "$left" | tr ' ' ,)" | sed 's/^/# /'
if ((SELFTEST_4369_FREE)); then
    check "nothing listens on 4369 after the run" bash -c '! ss -Hltn "sport = :4369" | grep -q .'
else
    skip "nothing listens on 4369 after the run" "something listened there before the run"
fi

# URLs from the environment are used, nothing started, ctl does not manage them
rc=0
ROWPIPE_OWN_SERVICES='' AMQP_URL=amqp://guest@127.0.0.1:1/%2f KAFKA_BROKERS=127.0.0.1:1 MONGO_URL=mongodb://127.0.0.1:1/ \
    "$RUN" rabbitmq kafka mongo -- sh -c 'test "$AMQP_URL$KAFKA_BROKERS$MONGO_URL" = "amqp://guest@127.0.0.1:1/%2f127.0.0.1:1mongodb://127.0.0.1:1/" &&
        ! "$0" rabbitmq status && ! "$0" kafka status && ! "$0" mongo status' "$CTL" >/dev/null 2>"$tmp/err2" || rc=$?
check "AMQP_URL/KAFKA_BROKERS/MONGO_URL from the environment are used, no server started (rc=$rc)" \
    bash -c '[ "$1" = 0 ] && ! grep -Eq "^services: (rabbitmq|kafka|mongo) [0-9F]" "$2"' _ "$rc" "$tmp/err2"

# servers that cannot start: a SKIP line each, variables unset, COMMAND still runs
rc=0
ROWPIPE_RABBITMQ_SERVER=/nonexistent/rabbitmq-server ROWPIPE_JAVA=/nonexistent/java ROWPIPE_FERRETDB=/nonexistent/ferretdb \
    "$RUN" rabbitmq kafka mongo -- sh -c 'test -z "${AMQP_URL-}${KAFKA_BROKERS-}${MONGO_URL-}${ROWPIPE_KAFKA_TOOL-}"' 2>"$tmp/err3" || rc=$?
check "missing rabbitmq-server/java/ferretdb: three SKIP lines, variables unset, COMMAND runs (rc=$rc)" \
    bash -c '[ "$1" = 0 ] && [ "$(grep -Ec "^services: SKIP (rabbitmq|kafka|mongo): " "$2")" = 3 ]' _ "$rc" "$tmp/err3"
# FerretDB not built and a Go older than 1.22: SKIP naming the reason
mkdir -p "$tmp/oldgo"
printf '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.19.8 && exit 0\nexit 1\n' >"$tmp/oldgo/go"
chmod +x "$tmp/oldgo/go"
rc=0
ROWPIPE_CACHE_DIR=$tmp/empty-cache PATH=$tmp/oldgo:$PATH "$RUN" mongo -- sh -c 'test -z "${MONGO_URL-}"' 2>"$tmp/err4" || rc=$?
check "FerretDB not built and Go too old: mongo is a SKIP naming Go 1.22 (rc=$rc)" \
    bash -c '[ "$1" = 0 ] && grep -q "^services: SKIP mongo: .*too old.*1\.22" "$2"' _ "$rc" "$tmp/err4"
grep -q "^services: SKIP mongo: .*too old" "$tmp/err4" || sed 's/^/# /' "$tmp/err4"

echo "# $((failures)) not ok"
exit $((failures > 0))
