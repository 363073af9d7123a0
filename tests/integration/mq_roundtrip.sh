# mq-pipe through real brokers: byte-exact round trips, per-key order with several partitions and
# consumers, every group / bound queue gets everything, acknowledgements through COMMAND, `lag`
# against the brokers' own tools (also with a live consumer), errors after lines were confirmed.
# services: kafka rabbitmq
# budget: 240
source "$(dirname "$0")/mq_lib.bash"

lines gen 100000 --keys 500 --seed 6 >"$TMP/in.jsonl"
lines gen 20000 --keys 200 --seed 7 >"$TMP/small.jsonl"
n_small=20000

# --- Kafka ---------------------------------------------------------------------------------------
if ((!have_kafka)); then
  skip "Kafka round trips" "no Kafka broker (tests/services/run could not start one)"
else
  # 1. Byte-exact: one partition keeps one order.
  mq-pipe pub "$KAFKA/exact" --declare --partitions 1 --checkpoint "$TMP/k.ckpt" -q <"$TMP/in.jsonl"
  status=$?
  check "Kafka pub of 100k lines exits 0 and checkpoints the last transaction" \
    test "$status:$(cat "$TMP/k.ckpt")" == '0:{"binlog":"mysql-bin.000001:10000100","server_id":1}'
  mq-pipe sub "$KAFKA/exact" --group exact --exit-at-end -q >"$TMP/k.out"
  check "Kafka: 100k lines come back byte for byte (CRLF and invalid UTF-8 included)" cmp "$TMP/k.out" "$TMP/in.jsonl"
  check "Kafka: the group's offsets are committed to the end (lag 0)" test "$(kafka_lag exact exact)" == 0
  mq-pipe sub "$KAFKA/exact" --group exact --exit-at-end -q >"$TMP/k.again"
  check "Kafka: the group resumes from its committed offsets (nothing read twice)" \
    test "$?:$(wc -c <"$TMP/k.again")" == 0:0

  # 2. Four partitions, two consumers of one group, each applying through a COMMAND.
  mq-pipe pub "$KAFKA/keyed" --declare --partitions 4 --key '{db}.{table}.{pk}' -q </dev/null
  for i in 1 2; do
    mq-pipe sub "$KAFKA/keyed" --group pair -X session.timeout.ms=6000 -q -- \
      /usr/bin/python3 "$ROOT/tests/integration/mq_lines.py" ack "$TMP/pair$i.out" 2>"$TMP/pair$i.err" &
    pair[i]=$!
  done
  # Both members hold partitions (column #PARTITIONS): the group's rebalance is over, else the first
  # member could take everything before the second one gets its share.
  two_members() { [[ $("$ROWPIPE_KAFKA_TOOL" kafka-consumer-groups --bootstrap-server "$KAFKA_BROKERS" \
    --describe --group pair --members 2>/dev/null | awk '/rowpipe/ && $5 > 0' | wc -l) -ge 2 ]]; }
  wait_for 30 two_members || not_ok "two consumers joined group pair" "timed out"
  mq-pipe pub "$KAFKA/keyed" --key '{db}.{table}.{pk}' -q <"$TMP/small.jsonl"
  lag_zero() { [[ $(kafka_lag keyed pair) == 0 ]]; }
  wait_for 60 lag_zero || not_ok "the pair of consumers took everything" "lag $(kafka_lag keyed pair)"
  stop_pid "${pair[1]}"
  s1=$stopped
  stop_pid "${pair[2]}"
  check "SIGTERM ends both consumers with exit 0" test "$s1:$stopped" == 0:0
  check "both consumers got a share ($(wc -l <"$TMP/pair1.out") and $(wc -l <"$TMP/pair2.out") lines)" \
    test -s "$TMP/pair1.out" -a -s "$TMP/pair2.out"
  check "4 partitions, 2 consumers: every line once, per-key order kept, each key with one consumer" \
    lines check "$TMP/small.jsonl" "$TMP/pair1.out" "$TMP/pair2.out" --exact --disjoint

  # 3. Two groups each get everything.
  mq-pipe sub "$KAFKA/keyed" --group project-a --exit-at-end -q >"$TMP/ga.out"
  mq-pipe sub "$KAFKA/keyed" --group project-b --exit-at-end -q >"$TMP/gb.out"
  check "a second group gets all the data too (group a)" lines check "$TMP/small.jsonl" "$TMP/ga.out" --exact
  check "a second group gets all the data too (group b)" lines check "$TMP/small.jsonl" "$TMP/gb.out" --exact

  # 4. A COMMAND that applies only part: offsets are committed for what it acknowledged, no more.
  mq-pipe sub "$KAFKA/exact" --group partial --exit-at-end -q -- sh -c 'head -n 30000 >/dev/null; echo 25000'
  status=$?
  check "a COMMAND that ends early ends sub with its status (0)" test "$status" == 0
  check "offsets are committed only up to the lines COMMAND acknowledged (lag 75000)" \
    test "$(kafka_lag exact partial)" == 75000
  mq-pipe sub "$KAFKA/exact" --group partial --exit-at-end -q >"$TMP/partial.out"
  check "the unacknowledged lines are delivered again, from the first one not acknowledged" \
    cmp "$TMP/partial.out" <(tail -n +25001 "$TMP/in.jsonl")

  # 5. lag against Kafka's consumer-groups tool.
  mq-pipe pub "$KAFKA/keyed" --key '{db}.{table}.{pk}' -q <"$TMP/small.jsonl"  # project-a is behind now
  mq-pipe lag "$KAFKA/keyed" --group project-a >"$TMP/lag.json"
  "$ROWPIPE_KAFKA_TOOL" kafka-consumer-groups --bootstrap-server "$KAFKA_BROKERS" --describe --group project-a \
    2>/dev/null | awk '$2 == "keyed" {print $3, $4, $5, $6}' | sort -n >"$TMP/lag.tool"
  /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["partitions"]:
    print(p["partition"], p["committed"], p["end"], p["lag"])
' "$TMP/lag.json" | sort -n >"$TMP/lag.ours"
  check "lag matches kafka-consumer-groups --describe (partition, committed, end, lag)" \
    diff "$TMP/lag.ours" "$TMP/lag.tool"
  check "lag totals the backlog of every partition ($n_small)" grep -q "\"lag\":$n_small}$" "$TMP/lag.json"

  # 6. --from beginning / end with a group: where a partition starts, whatever the group committed.
  mq-pipe pub "$KAFKA/from" --declare --partitions 1 -q <"$TMP/small.jsonl"
  mq-pipe sub "$KAFKA/from" --group fb --exit-at-end -q -- sh -c 'head -n 5000 >/dev/null; echo 5000'
  mq-pipe sub "$KAFKA/from" --group fb --from beginning --exit-at-end -q >"$TMP/fb.out"
  check "Kafka: --from beginning with a group that committed 5000 reads from the first message again" \
    cmp "$TMP/fb.out" "$TMP/small.jsonl"
  check "Kafka: --from beginning commits what it handed on (lag 0)" test "$(kafka_lag from fb)" == 0
  mq-pipe sub "$KAFKA/from" --group fe --from end --exit-at-end -q >"$TMP/fe0.out"
  check "Kafka: --from end with a new group reads none of the $n_small messages already there" \
    test "$?:$(wc -c <"$TMP/fe0.out")" == 0:0
  mq-pipe sub "$KAFKA/from" --group fe --from end -q >"$TMP/fe.out" 2>"$TMP/fe.err" &
  pid=$!
  # librdkafka looks the end up after the assignment: probe until sub reads, then publish.
  probe() {
    echo '{"db":"probe","table":"t"}' | mq-pipe pub "$KAFKA/from" -q
    sleep 0.3
    [[ -s $TMP/fe.out ]]
  }
  wait_for 30 probe || not_ok "sub --from end reads a probe" "timed out"
  lines gen 1000 --keys 10 --seed 8 >"$TMP/late.jsonl"
  mq-pipe pub "$KAFKA/from" -q <"$TMP/late.jsonl"
  late_in() { [[ $(LC_ALL=C grep -avc '"db":"probe"' "$TMP/fe.out") -ge 1000 ]]; }
  wait_for 30 late_in
  stop_pid "$pid"
  check "Kafka: --from end with a group hands on only what was published after it started" \
    bash -c "[[ $stopped == 0 ]] && LC_ALL=C grep -av '\"db\":\"probe\"' '$TMP/fe.out' | cmp - '$TMP/late.jsonl'"
  check "Kafka: --from end commits up to the end (lag 0)" test "$(kafka_lag from fe)" == 0

  # 7. | head -1: the reader goes away; sub ends quietly and acknowledges only what it wrote.
  mq-pipe sub "$KAFKA/exact" --group head 2>"$TMP/head.err" | head -1 >"$TMP/head.out"
  status=${PIPESTATUS[0]}
  check "'sub | head -1' ends quietly with exit 0" test "$status:$(cat "$TMP/head.err")" == "0:"
  check "'sub | head -1' prints the first line" cmp "$TMP/head.out" <(head -1 "$TMP/in.jsonl")

  # 8. An unrecoverable error after lines were confirmed: the topic takes records of 200000 bytes at
  # most (kafka-configs), the producer batches 100000 bytes at most, and line 5001 is 250000 bytes.
  # Lines 1-5000 are confirmed during a pause of the input; then the broker refuses line 5001. pub
  # exits 65 naming it and stdin:5000 as the last confirmed line, and its checkpoint is line 5000's
  # transaction end.
  mq-pipe pub "$KAFKA/toobig" --declare --partitions 1 -q </dev/null
  "$ROWPIPE_KAFKA_TOOL" kafka-configs --bootstrap-server "$KAFKA_BROKERS" --alter --entity-type topics \
    --entity-name toobig --add-config max.message.bytes=200000 >/dev/null
  tail -n +5001 "$TMP/small.jsonl" | /usr/bin/python3 -c '
import sys
lines = sys.stdin.buffer.readlines()
lines[0] = lines[0].replace(b"\"note\":\"v", b"\"note\":\"" + b"x" * 250000 + b" v", 1)
sys.stdout.buffer.writelines(lines)' >"$TMP/toobig.tail"
  { head -n 5000 "$TMP/small.jsonl"; sleep 1; cat "$TMP/toobig.tail"; } |
    mq-pipe pub "$KAFKA/toobig" -X batch.size=100000 --key '{db}.{table}.{pk}' --checkpoint "$TMP/toobig.ckpt" \
      2>"$TMP/toobig.err"
  status=$?
  check "Kafka: a line the broker refuses as too large, after 5000 confirmed ones, stops pub (exit 65) naming it and stdin:5000 as the last confirmed line ($(cat "$TMP/toobig.err"))" \
    bash -c "[[ $status -eq 65 ]] && grep -q 'delivering stdin:5001 to topic toobig: Broker: Message size too large' '$TMP/toobig.err' &&
      grep -q 'last confirmed line: stdin:5000 (checkpoint mysql-bin.000001:500100)$' '$TMP/toobig.err'"
  check "Kafka: after that error the checkpoint covers exactly the 5000 confirmed lines ($(cat "$TMP/toobig.ckpt"))" \
    test "$(lines covered "$TMP/small.jsonl" "$TMP/toobig.ckpt")" == 5000
  mq-pipe sub "$KAFKA/toobig" --exit-at-end -q >"$TMP/toobig.out"
  check "Kafka: the topic holds the 5000 confirmed lines first, in order ($(wc -l <"$TMP/toobig.out") lines in all)" \
    bash -c "head -n 5000 '$TMP/toobig.out' | cmp - <(head -n 5000 '$TMP/small.jsonl')"
fi

# --- RabbitMQ ------------------------------------------------------------------------------------
if ((!have_amqp)); then
  skip "RabbitMQ round trips" "no RabbitMQ broker (tests/services/run could not start one)"
else
  # 1. Byte-exact through a durable queue.
  mq-pipe pub "$AMQP?exchange=rows&queue=exact" --declare --checkpoint "$TMP/a.ckpt" -q <"$TMP/in.jsonl"
  status=$?
  check "RabbitMQ pub of 100k lines exits 0 and checkpoints the last transaction" \
    test "$status:$(cat "$TMP/a.ckpt")" == '0:{"binlog":"mysql-bin.000001:10000100","server_id":1}'
  check "lag reports the queue depth as rabbitmqctl list_queues does" \
    test "$(mq-pipe lag "$AMQP" --queue exact)" == \
    "{\"queue\":\"exact\",\"messages\":$("$ROWPIPE_RABBITMQCTL" list_queues -q name messages_ready | awk '$1 == "exact" {print $2}'),\"consumers\":0}"
  mq-pipe sub "$AMQP" --queue exact --exit-at-end -q >"$TMP/a.out"
  check "RabbitMQ: 100k lines come back byte for byte (CRLF and invalid UTF-8 included)" cmp "$TMP/a.out" "$TMP/in.jsonl"
  check "RabbitMQ: everything written was acknowledged (queue empty)" test "$(amqp_depth exact)" == 0

  # 1b. lag with a live consumer attached: a sub whose COMMAND never acknowledges holds --prefetch
  # 300 messages unacknowledged, so rabbitmqctl settles at 19700 ready and 1 consumer; lag must say
  # the same (ready only, not the 300 delivered), and 20000 and 0 again once the sub is gone. (The
  # shell stays as COMMAND, not exec'd: sub takes the end of COMMAND's stdout for COMMAND's end.)
  mq-pipe pub "$AMQP?queue=live" --declare -q <"$TMP/small.jsonl"
  mq-pipe sub "$AMQP" --queue live --prefetch 300 -q -- sh -c 'cat >/dev/null' 2>"$TMP/live.err" &
  pid=$!
  ctl_live() { "$ROWPIPE_RABBITMQCTL" list_queues -q name messages_ready consumers | awk '$1 == "live" {print $2, $3}'; }
  held() { [[ $(ctl_live) == "$((n_small - 300)) 1" ]]; }
  wait_for 30 held || not_ok "rabbitmqctl sees the live sub holding 300 messages" "it shows '$(ctl_live)'"
  read -r ready consumers <<<"$(ctl_live)"
  check "lag with a live sub attached matches rabbitmqctl list_queues name messages_ready consumers ($ready ready, $consumers consumer)" \
    test "$(mq-pipe lag "$AMQP" --queue live)" == "{\"queue\":\"live\",\"messages\":$ready,\"consumers\":$consumers}"
  check "lag with a live sub counts the consumer (1) and only the ready messages ($((n_small - 300)))" \
    test "$ready:$consumers" == "$((n_small - 300)):1"
  stop_pid "$pid"
  gone() { [[ $(ctl_live) == "$n_small 0" ]]; }
  wait_for 30 gone
  read -r ready consumers <<<"$(ctl_live)"
  check "after the sub stops, lag matches rabbitmqctl again: every message ready, no consumer ($ready, $consumers)" \
    test "$stopped:$(mq-pipe lag "$AMQP" --queue live)" == \
    "0:{\"queue\":\"live\",\"messages\":$n_small,\"consumers\":0}"

  # 2. Consistent-hash exchange: one queue per consumer, per-key order, each key in one queue.
  for i in 1 2; do
    mq-pipe sub "$AMQP" --bind hashed --exchange-type x-consistent-hash --queue hash$i --prefetch 500 -q -- \
      /usr/bin/python3 "$ROOT/tests/integration/mq_lines.py" ack "$TMP/hash$i.out" 2>"$TMP/hash$i.err" &
    hash[i]=$!
  done
  both_bound() { [[ -n $(amqp_depth hash1) && -n $(amqp_depth hash2) ]]; }
  wait_for 20 both_bound || not_ok "both hash queues are declared" "timed out"
  mq-pipe pub "$AMQP?exchange=hashed" --exchange-type x-consistent-hash --key '{db}.{table}.{pk}' -q \
    <"$TMP/small.jsonl"
  drained() { [[ $(($(cat "$TMP/hash1.out.acked") + $(cat "$TMP/hash2.out.acked"))) -ge $n_small ]]; }
  wait_for 60 drained || not_ok "the two hash consumers took everything" "timed out"
  stop_pid "${hash[1]}"
  s1=$stopped
  stop_pid "${hash[2]}"
  check "SIGTERM ends both consumers with exit 0" test "$s1:$stopped" == 0:0
  check "both hash queues got a share" test -s "$TMP/hash1.out" -a -s "$TMP/hash2.out"
  check "consistent hash, 2 queues, 2 consumers: every line once, per-key order, each key in one queue" \
    lines check "$TMP/small.jsonl" "$TMP/hash1.out" "$TMP/hash2.out" --exact --disjoint

  # 3. Two queues bound to one topic exchange each get everything.
  for q in proj-a proj-b; do
    mq-pipe sub "$AMQP" --bind fan --queue $q --exit-at-end -q >/dev/null
  done
  mq-pipe pub "$AMQP?exchange=fan" --key '{db}.{table}.{pk}' -q <"$TMP/small.jsonl"
  for q in proj-a proj-b; do
    mq-pipe sub "$AMQP" --queue $q --exit-at-end --prefetch 100 -q >"$TMP/$q.out"
    check "a queue bound with --bind gets every message ($q)" lines check "$TMP/small.jsonl" "$TMP/$q.out" --exact
  done

  # 4. --bind EXCHANGE:ROUTING_KEY: a subset. Queue one-row takes one row's changes, all-shop
  # everything of db shop, other nothing; the routing key is the line's db.table.pk.
  mq-pipe sub "$AMQP" --bind subset:shop.orders.7 --queue one-row --exit-at-end -q >/dev/null
  mq-pipe sub "$AMQP" --bind 'subset:shop.#' --queue all-shop --exit-at-end -q >/dev/null
  mq-pipe sub "$AMQP" --bind 'subset:other.#' --queue other --exit-at-end -q >/dev/null
  mq-pipe pub "$AMQP?exchange=subset" --key '{db}.{table}.{pk}' -q <"$TMP/small.jsonl"
  grep '"after":{"id":7,' "$TMP/small.jsonl" >"$TMP/row7.jsonl"
  mq-pipe sub "$AMQP" --queue one-row --exit-at-end -q >"$TMP/one-row.out"
  check "--bind subset:shop.orders.7 gets exactly row 7's $(wc -l <"$TMP/row7.jsonl") changes, in order" \
    bash -c "[[ -s '$TMP/row7.jsonl' ]] && cmp '$TMP/one-row.out' '$TMP/row7.jsonl'"
  mq-pipe sub "$AMQP" --queue all-shop --exit-at-end -q >"$TMP/all-shop.out"
  check "--bind 'subset:shop.#' gets every message" cmp "$TMP/all-shop.out" "$TMP/small.jsonl"
  check "--bind 'subset:other.#' gets none" test "$(amqp_depth other)" == 0

  # 5. A fanout exchange: every bound queue gets everything, whatever its binding key.
  for q in fan-1 fan-2; do
    mq-pipe sub "$AMQP" --bind fanned:ignored.$q --exchange-type fanout --queue $q --exit-at-end -q >/dev/null
  done
  mq-pipe pub "$AMQP?exchange=fanned" --exchange-type fanout --key '{db}.{table}.{pk}' -q <"$TMP/small.jsonl"
  for q in fan-1 fan-2; do
    mq-pipe sub "$AMQP" --queue $q --exit-at-end -q >"$TMP/$q.out"
    check "a fanout exchange gives every message to each bound queue, in order ($q)" \
      cmp "$TMP/$q.out" "$TMP/small.jsonl"
  done

  # 6. A COMMAND that applies only part: only that is acknowledged.
  mq-pipe pub "$AMQP?queue=part" --declare -q <"$TMP/small.jsonl"
  mq-pipe sub "$AMQP" --queue part --exit-at-end -q -- sh -c 'head -n 5000 >/dev/null; echo 3000'
  requeued() { [[ $(amqp_depth part) == $((n_small - 3000)) ]]; }
  check "only the lines COMMAND acknowledged leave the queue" wait_for 10 requeued
  mq-pipe sub "$AMQP" --queue part --exit-at-end -q >"$TMP/part.out"
  check "the rest is delivered again, in order" cmp "$TMP/part.out" <(tail -n +3001 "$TMP/small.jsonl")

  # 7. The password: the URL's, else --password-file's, else AMQP_PASSWORD's (as man/mq-pipe.1 says).
  echo guest >"$TMP/pw.right"
  echo wrong >"$TMP/pw.wrong"
  AMQP_PASSWORD=wrong mq-pipe lag "$AMQP" --queue part --password-file "$TMP/pw.right" --timeout 5 >/dev/null 2>&1
  s_file=$?
  AMQP_PASSWORD=guest mq-pipe lag "$AMQP" --queue part --password-file "$TMP/pw.wrong" --timeout 5 >/dev/null 2>&1
  s_env=$?
  check "--password-file wins over AMQP_PASSWORD (right file: exit $s_file; wrong file: exit $s_env)" \
    test "$s_file" == 0 -a "$s_env" != 0
  AMQP_PASSWORD=wrong mq-pipe lag "${AMQP/guest@/guest:guest@}" --queue part --password-file "$TMP/pw.wrong" \
    --timeout 5 >/dev/null 2>&1
  check "the URL's password wins over --password-file and AMQP_PASSWORD" test "$?" == 0

  # 8. Unroutable messages are an error, not a silent loss.
  mq-pipe pub "$AMQP?exchange=nobody" --declare -q </dev/null
  echo '{"db":"d","table":"t"}' | mq-pipe pub "$AMQP?exchange=nobody" 2>"$TMP/unroutable.err"
  status=$?
  check "a message no queue is bound for stops pub (exit 78) naming the routing key" \
    bash -c "[[ $status -eq 78 ]] && grep -q 'routing key \"d.t\" was returned unroutable' '$TMP/unroutable.err'"

  # 9. ... also mid-stream, after lines were confirmed: 5000 lines are routed (and confirmed during
  # a pause of the input), then line 5001's routing key (db other) has no queue. pub exits 78
  # naming stdin:5000 as the last confirmed line, and its checkpoint is line 5000's transaction end.
  mq-pipe sub "$AMQP" --bind 'midway:shop.#' --queue midway --exit-at-end -q >/dev/null
  { head -n 5000 "$TMP/small.jsonl"; sleep 1; tail -n +5001 "$TMP/small.jsonl" | sed '1s/"db":"shop"/"db":"other"/'; } |
    mq-pipe pub "$AMQP?exchange=midway" --key '{db}.{table}.{pk}' --checkpoint "$TMP/mid.ckpt" 2>"$TMP/mid.err"
  status=$?
  check "an unroutable line after 5000 confirmed ones stops pub (exit 78) naming stdin:5000 as the last confirmed line ($(grep -o 'last confirmed.*' "$TMP/mid.err"))" \
    bash -c "[[ $status -eq 78 ]] && grep -q 'routing key \"other.orders.[0-9]*\" was returned unroutable' '$TMP/mid.err' &&
      grep -q 'last confirmed line: stdin:5000 (checkpoint mysql-bin.000001:500100)$' '$TMP/mid.err'"
  check "after that error the checkpoint covers exactly the 5000 confirmed lines ($(cat "$TMP/mid.ckpt"))" \
    test "$(lines covered "$TMP/small.jsonl" "$TMP/mid.ckpt")" == 5000
  mq-pipe sub "$AMQP" --queue midway --exit-at-end -q >"$TMP/midway.out"
  check "the queue holds the 5000 confirmed lines first, in order, and not the unroutable one" \
    bash -c "head -n 5000 '$TMP/midway.out' | cmp - <(head -n 5000 '$TMP/small.jsonl') &&
      ! grep -q '\"db\":\"other\"' '$TMP/midway.out'"
fi
exit "$failed"
