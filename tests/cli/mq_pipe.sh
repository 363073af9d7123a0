# mq-pipe's command line without a broker: help, version, usage errors, bad lines, dead letters,
# unreachable brokers (exit 69 naming the last confirmed line), secrets kept out of argv and logs.
source "$(dirname "$0")/lib.bash"
# A private build directory (make BUILD=build-x) keeps its tools in build-x/bin.
if [[ -n ${BUILD:-} && $BUILD != build && -x $ROOT/$BUILD/bin/mq-pipe ]]; then PATH=$ROOT/$BUILD/bin:$PATH; fi

NOBODY=127.0.0.1:1  # nothing listens there: connections are refused at once
KAFKA=kafka://$NOBODY/rows
AMQP="amqp://guest@$NOBODY/%2f?queue=rows"

run_capture mq-pipe --help
expect "--help prints the three commands on stdout and exits 0" \
  bash -c "[[ $status -eq 0 && '$out' == *pub*sub*lag* ]]"
run_capture mq-pipe sub --help
expect "sub --help lists its options (--group, --prefetch, --bind) and exits 0" \
  bash -c "[[ $status -eq 0 && '$out' == *--group*--prefetch*--bind* ]]"
run_capture mq-pipe --version
expect "--version prints the version on stdout and exits 0" \
  bash -c "[[ $status -eq 0 && '$out' == 'mq-pipe (rowpipe) '* ]]"

usage() { # usage SENTENCE ARGS...: exit 64 with a message on stderr, nothing on stdout
  local sentence=$1
  shift
  run_capture mq-pipe "$@" </dev/null
  if [[ $status -eq 64 && -n $err && -z $out ]]; then echo "ok - $sentence"
  else echo "not ok - $sentence: status $status, stderr [$err]"; fi
}
usage "no command is a usage error (64)"
usage "an unknown option is a usage error (64)" pub "$KAFKA" --no-such-option
usage "a URL that is neither kafka:// nor amqp:// is a usage error" pub redis://127.0.0.1/0
usage "a Kafka URL without a topic is a usage error" pub kafka://127.0.0.1:9092/
usage "an AMQP option with a Kafka URL is a usage error" pub "$KAFKA" --exchange rows
usage "a Kafka option with an AMQP URL is a usage error" sub "$AMQP" --group g
usage "sub from RabbitMQ needs a queue" sub "amqp://guest@$NOBODY/"
usage "--routing-key and --key exclude each other" pub "amqp://guest@$NOBODY/?exchange=e" --routing-key r --key '{db}'
usage "a malformed key template is a usage error" pub "$KAFKA" --key '{nope}'
usage "-- without a COMMAND is a usage error" sub "$KAFKA" --
usage "a COMMAND that cannot be run is a usage error" sub "$KAFKA" -- /nonexistent/sink --ack
usage "--from committed without --group is a usage error" sub "$KAFKA" --from committed
# -X comes after pub's own producer settings: one that weakens what --checkpoint relies on is refused.
usage "pub -X acks=1 (weaker than acks=all) is a usage error" pub "$KAFKA" -X acks=1 --checkpoint "$TMP/ck"
usage "pub -X enable.idempotence=false is a usage error" pub "$KAFKA" -X enable.idempotence=false
usage "pub -X max.in.flight.requests.per.connection=6 (above 5) is a usage error" \
  pub "$KAFKA" -X max.in.flight.requests.per.connection=6
run_capture mq-pipe pub "$KAFKA" -X linger.ms=5 -X acks=0 </dev/null
expect "the refusal names the weakening -X setting and what pub relies on" \
  bash -c "[[ $status -eq 64 && '$err' == *'-X acks=0 would weaken'*'acks=all'* ]]"
run_capture mq-pipe pub "$KAFKA" -X acks=all -X enable.idempotence=true -X max.in.flight=5 --retry-for 1 \
  <<<'{"db":"d","table":"t"}'
expect "pub -X settings that keep acks=all and idempotence are taken (then the broker is unreachable: 69)" \
  test "$status" -eq 69
run_capture mq-pipe pub --help
expect "pub --help and the man page give the same default --window (10000)" \
  bash -c "[[ '$out' == *'confirmed, at most (default 10000)'* ]] && grep -q 'not yet confirmed, at most (default 10000)' '$ROOT/man/mq-pipe.1'"
run_capture mq-pipe pub "$KAFKA" -X no.such.property=1 </dev/null
expect "an unknown librdkafka property (-X) is a configuration error (78) naming it" \
  bash -c "[[ $status -eq 78 && '$err' == *no.such.property* ]]"

# Unusable lines: named by line number, or set aside. Nothing reaches a broker here.
printf '\n{"db":"d","table":"t"}\n' >"$TMP/empty-first"
run_capture mq-pipe pub "$KAFKA" <"$TMP/empty-first"
expect "an empty line is a data error (65) naming stdin:1" \
  bash -c "[[ $status -eq 65 && '$err' == *'stdin:1: empty line'*'last confirmed line: stdin:0'* ]]"
run_capture mq-pipe pub "$KAFKA" <<<'not json'
expect "a line --key cannot read is a data error (65) naming its line" \
  bash -c "[[ $status -eq 65 && '$err' == *'stdin:1: invalid JSON'* ]]"
run_capture mq-pipe pub "$KAFKA" --key '{db}.{table}.{pk}' <<<'{"db":"d","table":"t","after":{"id":1}}'
expect "a row without key columns is a data error for {pk}" \
  bash -c "[[ $status -eq 65 && '$err' == *'stdin:1:'*'no key columns'* ]]"
printf '%s\n' "$(head -c 2000 /dev/zero | tr '\0' x)" >"$TMP/long"
run_capture mq-pipe pub "$KAFKA" --max-message-bytes 1000 --dead-letter "$TMP/dead" --key '' -q <"$TMP/long"
expect "--dead-letter sets an over-long line aside verbatim and goes on (exit 0)" \
  bash -c "[[ $status -eq 0 && '$err' == *'stdin:1: line longer than --max-message-bytes 1000; set aside'* ]] && cmp -s '$TMP/dead' '$TMP/long'"
# Without --dead-letter the long line stops pub there: the line after it is never published (it would
# fail with 69 against the unreachable broker).
{ head -c 1001 /dev/zero | tr '\0' x; echo; echo '{"db":"d","table":"t"}'; } >"$TMP/long2"
run_capture mq-pipe pub "$KAFKA" --max-message-bytes 1000 --key '' --retry-for 1 <"$TMP/long2"
expect "a line over --max-message-bytes without --dead-letter is a data error (65) naming the line" \
  bash -c "[[ $status -eq 65 && -z '$out' && '$err' == *'stdin:1: line longer than --max-message-bytes 1000'*'last confirmed line: stdin:0'* ]]"
printf 'a\nb\nc\n' | mq-pipe pub "$KAFKA" --dead-letter "$TMP/dead2" --max-errors 2 2>"$TMP/err" >/dev/null
status=$?
expect "--max-errors bounds the lines set aside (exit 65 at the third)" \
  bash -c "[[ $status -eq 65 ]] && grep -q 'stdin:3:.*more than --max-errors 2' '$TMP/err'"
printf '{"db":"d","table":"t"}' | mq-pipe pub "$KAFKA" 2>"$TMP/err" >/dev/null
status=$?
expect "a last line without its newline is incomplete: a data error" \
  bash -c "[[ $status -eq 65 ]] && grep -q 'stdin:1: incomplete last line' '$TMP/err'"

# Unreachable brokers: retried for --retry-for seconds, then exit 69 naming the last confirmed line.
start=$SECONDS
run_capture mq-pipe pub "$KAFKA" --retry-for 1 <<<'{"db":"d","table":"t"}'
expect "Kafka unreachable: exit 69 after --retry-for, naming the last confirmed line" \
  bash -c "[[ $status -eq 69 && '$err' == *'delivering stdin:1'*'last confirmed line: stdin:0'* && $((SECONDS - start)) -lt 15 ]]"
run_capture mq-pipe pub "$AMQP" --retry-for 1 <<<'{"db":"d","table":"t"}'
expect "RabbitMQ unreachable: exit 69 after --retry-for, naming the last confirmed line" \
  bash -c "[[ $status -eq 69 && '$err' == *'unreachable for'*'last confirmed line: stdin:0'* ]]"
run_capture mq-pipe lag "$KAFKA" --timeout 1
expect "lag against an unreachable Kafka exits 69" test "$status" -eq 69
run_capture mq-pipe lag "$AMQP" --timeout 1
expect "lag against an unreachable RabbitMQ exits 69" test "$status" -eq 69

# Secrets: blanked from argv at once, never in messages.
sleep 4 | mq-pipe pub "amqp://guest:s3cret@$NOBODY/%2f?queue=q" --retry-for 2 2>"$TMP/err" &
pid=$!
sleep 0.5
expect "a password in the URL is blanked from the process's argv" \
  bash -c "[[ -r /proc/$pid/cmdline ]] && ! tr '\0' ' ' </proc/$pid/cmdline | grep -q s3cret"
wait "$pid"
expect "the password never appears in messages" bash -c "! grep -q s3cret '$TMP/err' && grep -q 'guest:\*\*\*@' '$TMP/err'"
echo "amqp://guest:s3cret@$NOBODY/%2f?queue=q" >"$TMP/url"
run_capture mq-pipe pub "@$TMP/url" --retry-for 1 <<<'{"db":"d","table":"t"}' 
expect "@FILE reads the URL from a file (and keeps its password out of messages)" \
  bash -c "[[ $status -eq 69 && '$err' != *s3cret* && '$err' == *'guest:***@'* ]]"
