# mq-pipe under faults, through real brokers: seeded kill -9s of pub, each resumed from its
# checkpoint, and the duplicates they leave absorbed by jsonl-to-redis --guard behind sub; kill -9 of
# sub's COMMAND, then redelivery; broker restarts during pub and during sub; back-pressure while the
# broker is down; SIGTERM drains. Nothing may be lost.
# services: kafka rabbitmq redis
# budget: 420
source "$(dirname "$0")/mq_lib.bash"

RANDOM=4242  # seeded: the same kill instants on every run
lines gen 100000 --keys 300 --seed 11 --plain >"$TMP/big.jsonl"
lines gen 20000 --keys 100 --seed 12 >"$TMP/small.jsonl"
lines gen 100000 --keys 300 --seed 13 --plain --tx 8 >"$TMP/tx.jsonl"
lines gen 20000 --keys 100 --seed 14 --tx 8 >"$TMP/txsmall.jsonl"
ACK=("/usr/bin/python3" "$ROOT/tests/integration/mq_lines.py" ack)

# kill_loop NAME URL INPUT RATE KILLS MIN_MS SPREAD_MS [PUB_OPTION...]: publishes INPUT as binlog-tail
# --resume would feed it, killing pub with SIGKILL KILLS times after MIN_MS + random(SPREAD_MS) ms,
# then lets a last run finish. After each kill it checks that the checkpoint is the end of one of
# INPUT's transactions, and measures the tail that the next run publishes again: messages the broker
# gained in that run minus the lines the checkpoint moved over. Sets $moves (kills that found the
# checkpoint moved), $off_boundary (checkpoints not at a transaction's end), $max_tail and $tails.
kill_loop() {
  local name=$1 url=$2 input=$3 rate=$4 kills=$5 min=$6 spread=$7 i pid before ms count covered
  shift 7
  local ck=$TMP/$name.ckpt prev_count=0 prev_covered=0 tail
  moves=0 off_boundary=0 max_tail=0 tails=""
  for ((i = 1; i <= kills; i++)); do
    before=$(cat "$ck" 2>/dev/null)
    lines feed "$input" "$ck" --rate "$rate" |
      mq-pipe pub "$url" --key '{db}.{table}.{pk}' --checkpoint "$ck" -q "$@" 2>>"$TMP/$name.err" &
    pid=$!
    ms=$((min + RANDOM % spread))
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [[ $(cat "$ck" 2>/dev/null) != "$before" ]] && ((moves++))
    if ! covered=$(lines covered "$input" "$ck"); then
      ((off_boundary++))
      echo "# kill $i: checkpoint $(cat "$ck") is not the end of a transaction" >>"$TMP/$name.err"
      covered=$prev_covered
    fi
    sleep 0.2  # what the broker took before the kill is counted now, not in the next run
    count=$(broker_count "$url")
    tail=$((count - prev_count - (covered - prev_covered)))
    tails+=" $tail"
    ((tail > max_tail)) && max_tail=$tail
    prev_count=$count prev_covered=$covered
  done
  lines feed "$input" "$ck" | mq-pipe pub "$url" --key '{db}.{table}.{pk}' --checkpoint "$ck" -q "$@" \
    2>>"$TMP/$name.err"
  last_status=$?
}
# broker_count URL: the messages in the Kafka topic or the AMQP queue of URL (no consumer reads them).
broker_count() {
  if [[ $1 == kafka://* ]]; then
    mq-pipe lag "$1" | sed -n 's/.*"messages":\([0-9]*\)}$/\1/p'
  else
    amqp_depth "${1##*queue=}"
  fi
}
# tail_bound UNCONFIRMED RATE TX: the most lines one kill may leave for the next run to publish again.
# pub writes its checkpoint at most every 50 ms, and looks whether the confirmed prefix moved after
# every poll of the broker and every 64 lines, so what the broker confirmed since the last write is
# published again too. The bound: messages not yet confirmed (Kafka --max-buffer, AMQP --window)
# + 0.05 s of input at RATE + 64 lines + 500 lines of pipe and read buffer (feed never bursts to
# catch up) + an unfinished transaction (TX-1 lines).
tail_bound() { echo $(($1 + $2 / 20 + 64 + 500 + $3 - 1)); }

# child_of PID: the first child process of PID.
child_of() { pgrep -P "$1" | head -1; }
# acked_some FILE: the acknowledging COMMAND writing FILE has acknowledged 3000 lines or more.
acked_some() { [[ $(cat "$1.acked" 2>/dev/null || echo 0) -ge 3000 ]]; }

# --- Kafka ---------------------------------------------------------------------------------------
if ((!have_kafka)) || ! owned kafka; then
  skip "Kafka fault tests" "no Kafka broker owned by tests/services/run"
else
  # 1. Ten seeded kill -9s of pub, each run resumed from the checkpoint it left; transactions of 2
  # to 8 rows, so a kill can fall inside one.
  mq-pipe pub "$KAFKA/kills" --declare --partitions 3 -q </dev/null
  kill_loop kafka-kills "$KAFKA/kills" "$TMP/tx.jsonl" 20000 10 80 400 --max-buffer 2000
  check "Kafka: after 10 kill -9s of pub the last run ends with exit 0 and the final checkpoint" \
    test "$last_status:$(cat "$TMP/kafka-kills.ckpt")" == '0:{"binlog":"mysql-bin.000001:10000100","server_id":1}'
  check "Kafka: the checkpoint moved between kills ($moves of 10)" test "$moves" -ge 5
  check "Kafka: after every kill the checkpoint is the end of a transaction (of 2 to 8 rows)" \
    test "$off_boundary" == 0
  bound=$(tail_bound 2000 20000 8)
  check "Kafka: each kill leaves at most $bound lines to publish again (--max-buffer 2000 + 0.05 s of input + 564 + one transaction; tails:$tails)" \
    test "$max_tail" -le "$bound"
  mq-pipe sub "$KAFKA/kills" --exit-at-end -q >"$TMP/kills.out"
  check "Kafka: nothing lost across 10 kill -9s, per-key order kept ($(lines check "$TMP/tx.jsonl" "$TMP/kills.out"))" \
    lines check "$TMP/tx.jsonl" "$TMP/kills.out"
  check "Kafka: the duplicates in the topic are exactly the tails the kills left ($(($(wc -l <"$TMP/kills.out") - 100000)))" \
    test "$(($(wc -l <"$TMP/kills.out") - 100000))" == "$((${tails// /+}))"

  # ... and a sink in --guard mode behind sub absorbs the duplicates: Redis ends with each row's
  # last version.
  if [[ -z ${REDIS_URL:-} ]] || ! command -v jsonl-to-redis >/dev/null; then
    skip "Kafka -> sub -> jsonl-to-redis --guard --ack ends with every row's last version" "no Redis or no jsonl-to-redis"
  else
    mq-pipe sub "$KAFKA/kills" --group redis --exit-at-end -q -- \
      jsonl-to-redis --guard --ack --redis "$REDIS_URL" -q 2>"$TMP/redis.err"
    status=$?
    lines last "$TMP/tx.jsonl" >"$TMP/last.tsv"
    cut -f1 "$TMP/last.tsv" | sed 's/^/HGET /; s/$/ note/' | redis-cli -u "$REDIS_URL" >"$TMP/notes" 2>&1
    check "Kafka -> sub -> jsonl-to-redis --guard --ack: exit 0 and every row's last version in Redis" \
      bash -c "[[ $status == 0 ]] && paste <(cut -f1 '$TMP/last.tsv') '$TMP/notes' | diff -q - '$TMP/last.tsv' ||
        { tail -3 '$TMP/redis.err'; false; }"
    check "Kafka: the redis group committed everything jsonl-to-redis applied (lag 0)" \
      test "$(kafka_lag kills redis)" == 0
  fi

  # 2. kill -9 of sub's COMMAND: sub ends with 128+9, and only what COMMAND acknowledged is committed.
  mq-pipe pub "$KAFKA/cmd" --declare --partitions 2 --key '{db}.{table}.{pk}' -q <"$TMP/small.jsonl"
  mq-pipe sub "$KAFKA/cmd" --group sink -- "${ACK[@]}" "$TMP/kc1.out" --delay 0.25 2>"$TMP/kc1.err" &
  pid=$!
  wait_for 30 acked_some "$TMP/kc1.out"
  kill -KILL "$(child_of "$pid")"
  wait "$pid"
  status=$?
  acked=$(cat "$TMP/kc1.out.acked")
  check "Kafka: sub exits 137 when its COMMAND is killed by SIGKILL, and says so" \
    bash -c "[[ $status -eq 137 ]] && grep -q 'was killed by signal 9' '$TMP/kc1.err'"
  check "Kafka: the offsets committed are exactly what COMMAND acknowledged ($acked lines)" \
    test "$(kafka_lag cmd sink)" == $((20000 - acked))
  mq-pipe sub "$KAFKA/cmd" --group sink --exit-at-end -q -- "${ACK[@]}" "$TMP/kc2.out"
  check "Kafka: a restarted sub gets exactly the unacknowledged lines again" \
    test "$(wc -l <"$TMP/kc2.out")" == $((20000 - acked))
  check "Kafka: nothing lost across the COMMAND's kill ($(lines check "$TMP/small.jsonl" "$TMP/kc1.out" "$TMP/kc2.out"))" \
    lines check "$TMP/small.jsonl" "$TMP/kc1.out" "$TMP/kc2.out"

  # 3. A broker restart during pub: librdkafka retries, idempotence keeps order and avoids duplicates.
  mq-pipe pub "$KAFKA/restart" --declare --partitions 3 -q </dev/null
  lines feed "$TMP/big.jsonl" /nonexistent --rate 40000 |
    mq-pipe pub "$KAFKA/restart" --key '{db}.{table}.{pk}' --checkpoint "$TMP/kr.ckpt" -q 2>"$TMP/kr.err" &
  pid=$!
  sleep 1
  ctl kafka restart
  wait "$pid"
  status=$?
  check "Kafka: pub survives a broker restart (exit 0)" test "$status" == 0
  mq-pipe sub "$KAFKA/restart" --exit-at-end -q >"$TMP/kr.out"
  check "Kafka: nothing lost or reordered across the restart ($(lines check "$TMP/big.jsonl" "$TMP/kr.out"))" \
    lines check "$TMP/big.jsonl" "$TMP/kr.out"

  # 4. A broker restart during sub (a slow COMMAND): redelivery after it, nothing lost.
  mq-pipe sub "$KAFKA/cmd" --group restart-sub --exit-at-end -X session.timeout.ms=6000 -- \
    "${ACK[@]}" "$TMP/ks.out" --delay 0.2 2>"$TMP/ks.err" &
  pid=$!
  wait_for 30 acked_some "$TMP/ks.out"
  ctl kafka restart
  wait "$pid"
  status=$?
  check "Kafka: sub survives a broker restart and reads to the end (exit 0)" \
    bash -c "[[ $status == 0 ]] || { tail -5 '$TMP/ks.err'; false; }"
  check "Kafka: nothing lost across the restart during sub ($(lines check "$TMP/small.jsonl" "$TMP/ks.out"))" \
    lines check "$TMP/small.jsonl" "$TMP/ks.out"
  check "Kafka: the group's offsets reach the end after the restart" \
    bash -c "[[ '$(kafka_lag cmd restart-sub)' == 0 ]] || { tail -5 '$TMP/ks.err'; false; }"

  # 5. Back-pressure: the broker is down, pub holds --max-buffer messages and stops reading stdin.
  ctl kafka stop
  mq-pipe pub "$KAFKA/restart" --max-buffer 1000 --key '{db}.{table}.{pk}' -q <"$TMP/big.jsonl" 2>"$TMP/kb.err" &
  pid=$!
  sleep 2
  pos=$(awk '/^pos:/ {print $2}' "/proc/$pid/fdinfo/0" 2>/dev/null)
  check "Kafka down: pub stops reading stdin after --max-buffer 1000 lines (read ${pos:-?} of 32 MB)" \
    test "${pos:-99999999}" -lt 4000000
  ctl kafka start
  wait "$pid"
  status=$?
  check "Kafka back: pub publishes the rest and exits 0" test "$status" == 0
  check "Kafka: the topic holds the lines twice now (before and after the outage)" \
    test "$(mq-pipe lag "$KAFKA/restart" | sed -n 's/.*"messages":\([0-9]*\)}$/\1/p')" -ge 200000

  # 6. SIGTERM: pub stops reading, waits for every confirmation, checkpoints the last line it read.
  mq-pipe pub "$KAFKA/term" --declare --partitions 1 -q </dev/null
  lines feed "$TMP/big.jsonl" /nonexistent --rate 20000 |
    mq-pipe pub "$KAFKA/term" --checkpoint "$TMP/kt.ckpt" 2>"$TMP/kt.err" &
  pid=$!
  sleep 1
  stop_pid "$pid"
  mq-pipe sub "$KAFKA/term" --exit-at-end -q >"$TMP/kt.out"
  last_next=$(tail -1 "$TMP/kt.out" | sed -n 's/.*"next":"\([^"]*\)".*/\1/p')
  check "Kafka: SIGTERM drains pub (exit 0) and its checkpoint is the last line published" \
    test "$stopped:$(cat "$TMP/kt.ckpt")" == "0:{\"binlog\":\"$last_next\",\"server_id\":1}"
fi

# --- RabbitMQ ------------------------------------------------------------------------------------
if ((!have_amqp)) || ! owned rabbitmq; then
  skip "RabbitMQ fault tests" "no RabbitMQ broker owned by tests/services/run"
else
  # 1. Ten seeded kill -9s of pub.
  mq-pipe pub "$AMQP?queue=kills" --declare -q </dev/null
  kill_loop amqp-kills "$AMQP?queue=kills" "$TMP/txsmall.jsonl" 8000 10 150 500 --max-buffer 1000 --window 500
  check "RabbitMQ: after 10 kill -9s of pub the last run ends with exit 0 and the final checkpoint" \
    test "$last_status:$(cat "$TMP/amqp-kills.ckpt")" == '0:{"binlog":"mysql-bin.000001:2000100","server_id":1}'
  check "RabbitMQ: the checkpoint moved between kills ($moves of 10)" test "$moves" -ge 5
  check "RabbitMQ: after every kill the checkpoint is the end of a transaction (of 2 to 8 rows)" \
    test "$off_boundary" == 0
  bound=$(tail_bound 500 8000 8)
  check "RabbitMQ: each kill leaves at most $bound lines to publish again (--window 500 + 0.05 s of input + 564 + one transaction; tails:$tails)" \
    test "$max_tail" -le "$bound"
  mq-pipe sub "$AMQP" --queue kills --exit-at-end -q >"$TMP/akills.out"
  check "RabbitMQ: nothing lost across 10 kill -9s, per-key order kept ($(lines check "$TMP/txsmall.jsonl" "$TMP/akills.out"))" \
    lines check "$TMP/txsmall.jsonl" "$TMP/akills.out"
  check "RabbitMQ: the duplicates in the queue are exactly the tails the kills left ($(($(wc -l <"$TMP/akills.out") - 20000)))" \
    test "$(($(wc -l <"$TMP/akills.out") - 20000))" == "$((${tails// /+}))"

  # 2. kill -9 of sub's COMMAND.
  mq-pipe pub "$AMQP?queue=cmd" --declare -q <"$TMP/small.jsonl"
  mq-pipe sub "$AMQP" --queue cmd --prefetch 2000 -- "${ACK[@]}" "$TMP/ac1.out" --delay 0.25 2>"$TMP/ac1.err" &
  pid=$!
  wait_for 30 acked_some "$TMP/ac1.out"
  kill -KILL "$(child_of "$pid")"
  wait "$pid"
  status=$?
  acked=$(cat "$TMP/ac1.out.acked")
  check "RabbitMQ: sub exits 137 when its COMMAND is killed by SIGKILL, and says so" \
    bash -c "[[ $status -eq 137 ]] && grep -q 'was killed by signal 9' '$TMP/ac1.err'"
  requeued() { [[ $(amqp_depth cmd) == $((20000 - acked)) ]]; }
  check "RabbitMQ: exactly what COMMAND acknowledged left the queue ($acked lines)" wait_for 10 requeued
  mq-pipe sub "$AMQP" --queue cmd --exit-at-end -q -- "${ACK[@]}" "$TMP/ac2.out"
  check "RabbitMQ: a restarted sub gets the unacknowledged lines again, in order" \
    cmp "$TMP/ac2.out" <(tail -n +$((acked + 1)) "$TMP/small.jsonl")

  # 3. A broker restart during pub: reconnect, publish the unconfirmed tail again.
  mq-pipe pub "$AMQP?queue=restart" --declare -q </dev/null
  lines feed "$TMP/small.jsonl" /nonexistent --rate 5000 |
    mq-pipe pub "$AMQP?queue=restart" --checkpoint "$TMP/ar.ckpt" 2>"$TMP/ar.err" &
  pid=$!
  sleep 1
  ctl rabbitmq restart
  wait "$pid"
  status=$?
  check "RabbitMQ: pub survives a broker restart (exit 0)" test "$status" == 0
  check "RabbitMQ: pub reported the reconnection" grep -q 'reconnected to' "$TMP/ar.err"
  mq-pipe sub "$AMQP" --queue restart --exit-at-end -q >"$TMP/ar.out"
  check "RabbitMQ: nothing lost across the restart during pub ($(lines check "$TMP/small.jsonl" "$TMP/ar.out"))" \
    lines check "$TMP/small.jsonl" "$TMP/ar.out"

  # 4. A broker restart during sub.
  mq-pipe pub "$AMQP?queue=restart" -q <"$TMP/small.jsonl"
  mq-pipe sub "$AMQP" --queue restart --exit-at-end --prefetch 1000 -q -- "${ACK[@]}" "$TMP/as.out" --delay 0.2 \
    2>"$TMP/as.err" &
  pid=$!
  wait_for 30 acked_some "$TMP/as.out"
  ctl rabbitmq restart
  wait "$pid"
  status=$?
  check "RabbitMQ: sub survives a broker restart and reads to the end (exit 0)" test "$status" == 0
  check "RabbitMQ: nothing lost across the restart during sub ($(lines check "$TMP/small.jsonl" "$TMP/as.out"))" \
    lines check "$TMP/small.jsonl" "$TMP/as.out"
  check "RabbitMQ: the queue is empty after sub" test "$(amqp_depth restart)" == 0

  # 5. SIGTERM: pub stops reading, waits for the confirms of everything it published, then
  # checkpoints the last line. A window smaller than the backlog keeps confirms outstanding.
  mq-pipe pub "$AMQP?queue=term" --declare -q </dev/null
  lines feed "$TMP/small.jsonl" /nonexistent --rate 10000 |
    mq-pipe pub "$AMQP?queue=term" --checkpoint "$TMP/at.ckpt" --window 200 2>"$TMP/at.err" &
  pid=$!
  sleep 1
  stop_pid "$pid"
  published=$(sed -n 's/.*published \([0-9]*\) lines.*/\1/p' "$TMP/at.err")
  mq-pipe sub "$AMQP" --queue term --exit-at-end -q >"$TMP/at.out"
  last_next=$(tail -1 "$TMP/at.out" | sed -n 's/.*"next":"\([^"]*\)".*/\1/p')
  check "RabbitMQ: SIGTERM ends pub with exit 0 after waiting for confirms ($(grep -o 'waiting for.*' "$TMP/at.err"))" \
    bash -c "[[ $stopped == 0 ]] && grep -q 'stopping on signal: waiting for the broker to confirm' '$TMP/at.err'"
  check "RabbitMQ: every line pub took before SIGTERM is in the queue, once and in order (${published:-?} lines)" \
    bash -c "[[ -n '$published' && '$published' -gt 0 ]] && cmp '$TMP/at.out' <(head -n '$published' '$TMP/small.jsonl')"
  check "RabbitMQ: after SIGTERM the checkpoint covers every line in the queue" \
    test "$(cat "$TMP/at.ckpt")" == "{\"binlog\":\"$last_next\",\"server_id\":1}"

  # 6. Back-pressure while the broker is down.
  ctl rabbitmq stop
  mq-pipe pub "$AMQP?queue=restart" --max-buffer 1000 -q <"$TMP/big.jsonl" 2>"$TMP/ab.err" &
  pid=$!
  sleep 2
  pos=$(awk '/^pos:/ {print $2}' "/proc/$pid/fdinfo/0" 2>/dev/null)
  check "RabbitMQ down: pub stops reading stdin after --max-buffer 1000 lines (read ${pos:-?} of 32 MB)" \
    test "${pos:-99999999}" -lt 4000000
  ctl rabbitmq start
  wait "$pid"
  status=$?
  check "RabbitMQ back: pub publishes all 100000 lines and exits 0" test "$status" == 0
  check "RabbitMQ: the queue holds every line" test "$(amqp_depth restart)" -ge 100000
fi
exit "$failed"
