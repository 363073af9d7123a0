# jsonl-to-mongo --guard: unordered input (shuffled, duplicated, split over concurrent consumers as Kafka
# partitions would be) with deletes, re-inserts, key changes and TRUNCATEs still leaves the documents of
# the ordered stream, computed independently; tombstones keep deleted rows from coming back and expire.
# Then --reconcile: a snapshot repairs a collection without undoing a concurrent --guard writer.
# services: mongo
# budget: 180
source "$(dirname "$0")/../cli/lib.bash"

if [[ -z ${MONGO_URL:-} ]]; then
  echo "skip - jsonl-to-mongo --guard: no MongoDB (tests/services/run could not start one)"
  exit 0
fi
model() { /usr/bin/python3 "$ROOT/tests/integration/mongo_model.py" "$@"; }
dump() { mongo-dump "$MONGO_URL" "$@"; }
fresh() { mongo-dump --drop "$MONGO_URL" mdb d rowpipe; }
same() { # same SENTENCE FILE: the documents (tombstones aside) are those the ordered FILE leaves
  local verdict
  verdict=$(dump mdb d | model guard-compare - "$2")
  if [[ $verdict == same* ]]; then echo "ok - $1"; else echo "not ok - $1: $verdict"; fi
}

model gen --seed 31 --txns 1200 --no-partial --reinsert --truncate >"$TMP/ordered.jsonl"
model shuffle --seed 31 --dup 0.25 "$TMP/ordered.jsonl" >"$TMP/shuffled.jsonl"

fresh
run_capture jsonl-to-mongo --guard --mongo "$MONGO_URL" "$TMP/shuffled.jsonl"
expect_eq "--guard applies shuffled, duplicated input (exit 0)" "$status" 0
same "shuffled and duplicated input leaves the documents of the ordered stream" "$TMP/ordered.jsonl"
expect "the summary counts the rows older than what their documents held" \
  grep -q '[1-9][0-9]* older than what MongoDB holds' "$TMP/err"
run_capture jsonl-to-mongo --guard --mongo "$MONGO_URL" "$TMP/shuffled.jsonl"
expect "a second pass over the same input applies nothing" grep -q ' 0 rows applied' "$TMP/err"
same "... and changes nothing" "$TMP/ordered.jsonl"

# A partial UPDATE that moves a row in the batch that inserted it: the moved document keeps the
# columns the insert wrote (the batch is written before the stored row is read).
fresh
cat >"$TMP/move.jsonl" <<'EOF'
{"binlog":"mysql-bin.000001:100","row":0,"db":"mdb","table":"g","eventType":"INSERT","pk":["k"],"types":{"k":"int","a":"varchar","b":"varchar"},"before":null,"after":{"k":1,"a":"x","b":"kept"},"commit":true,"next":"mysql-bin.000001:200"}
{"binlog":"mysql-bin.000001:200","row":0,"db":"mdb","table":"g","eventType":"UPDATE","pk":["k"],"types":{"k":"int","a":"varchar"},"partial":true,"before":{"k":1},"after":{"k":2,"a":"z"},"commit":true,"next":"mysql-bin.000001:300"}
EOF
run_capture jsonl-to-mongo --guard --mongo "$MONGO_URL" "$TMP/move.jsonl"
moved=$(dump mdb.g | grep '"_id" : { "$numberInt" : "2" }')
expect "a partial key change in the inserting batch keeps the inserted columns (exit $status)" \
  bash -c "[[ $status -eq 0 && '$moved' == *'\"a\" : \"z\"'* && '$moved' == *'\"b\" : \"kept\"'* ]]"

# Three consumers at once on disjoint shares, each share carrying duplicates of the others' lines.
fresh
for i in 0 1 2; do
  awk -v i="$i" 'NR % 3 == i || NR % 11 == 0' "$TMP/shuffled.jsonl" >"$TMP/part$i"
done
for i in 0 1 2; do
  jsonl-to-mongo --guard -q --batch-rows 64 --mongo "$MONGO_URL" "$TMP/part$i" 2>"$TMP/err$i" &
  pids[i]=$!
done
codes=""
for i in 0 1 2; do
  wait "${pids[i]}"
  codes+="$?"
done
expect_eq "three concurrent --guard consumers all exit 0" "$codes" 000
same "three concurrent consumers on shuffled shares leave the documents of the ordered stream" "$TMP/ordered.jsonl"

# Tombstones: a delete leaves its position; an older insert stays out; expired ones are removed.
fresh
row() { # row OFFSET TYPE BEFORE AFTER
  printf '{"binlog":"mysql-bin.000001:%s","row":0,"db":"d","table":"t","eventType":"%s","pk":["id"],"before":%s,"after":%s,"commit":true,"next":"mysql-bin.000001:%s"}\n' \
    "$1" "$2" "$3" "$4" "$(($1 + 10))"
}
{
  row 300 DELETE '{"id":1,"v":"b"}' null
  row 200 UPDATE '{"id":1,"v":"a"}' '{"id":1,"v":"b"}'
  row 100 INSERT null '{"id":1,"v":"a"}'
  row 400 INSERT null '{"id":2,"v":"c"}'
} >"$TMP/tomb"
run_capture jsonl-to-mongo --guard --mongo "$MONGO_URL" "$TMP/tomb"
expect_eq "a delete that arrives first leaves a tombstone that keeps the older update and insert out" \
  "$(dump d.t | grep '"_id" : { "$numberInt" : "1" }' | sed 's/"deleted" : { "$date" : { "$numberLong" : "[0-9]*" } }/DATE/')" \
  'd.t { "_id" : { "$numberInt" : "1" }, "_rowpipe" : { "pos" : "a1:c300:a0", DATE } }'
expect_eq "a live document carries its position" \
  "$(dump d.t | grep '"_id" : { "$numberInt" : "2" }')" \
  'd.t { "_id" : { "$numberInt" : "2" }, "id" : { "$numberInt" : "2" }, "v" : "c", "_rowpipe" : { "pos" : "a1:c400:a0" } }'
row 500 INSERT null '{"id":1,"v":"again"}' >"$TMP/again"
run_capture jsonl-to-mongo --guard --mongo "$MONGO_URL" "$TMP/again"
expect_eq "a newer re-insert brings the row back over its tombstone" \
  "$(dump d.t | grep '"_id" : { "$numberInt" : "1" }')" \
  'd.t { "_id" : { "$numberInt" : "1" }, "id" : { "$numberInt" : "1" }, "v" : "again", "_rowpipe" : { "pos" : "a1:c500:a0" } }'
row 600 DELETE '{"id":2,"v":"c"}' null >"$TMP/del2"
jsonl-to-mongo --guard -q --mongo "$MONGO_URL" "$TMP/del2"
sleep 2.2
row 700 INSERT null '{"id":3,"v":"x"}' >"$TMP/ins3"
jsonl-to-mongo --guard -q --tombstone-ttl 2 --mongo "$MONGO_URL" "$TMP/ins3"
expect_eq "tombstones older than --tombstone-ttl are removed" "$(dump d.t | grep -c deleted)" 0
run_capture jsonl-to-mongo --guard --ack --mongo "$MONGO_URL" "$TMP/tomb"
expect_eq "--guard --ack prints the count of lines dealt with" "$out" "4"

# --reconcile: a snapshot of d.user at P = mysql-bin.000005:1000 (rows 1..300), the live stream after P,
# and the stale state an old pipeline left (rows since deleted, wrong values, no positions).
/usr/bin/python3 - "$TMP" <<'EOF'
import json, random, sys
d = sys.argv[1]
rnd = random.Random(51)
P = "mysql-bin.000005:1000"
T = {"id": "varchar", "name": "varchar", "v": "int"}
key = lambda i: "k%04d" % i
rows = {key(i): {"id": key(i), "name": "n%d" % i, "v": rnd.choice([None, 1, 2])} for i in range(1, 301)}
snap = [{"binlog": P, "row": 0, "db": "d", "table": "user", "eventType": "SNAPSHOT_BEGIN"}]
for i, r in enumerate(rows.values(), 1):
    snap.append({"binlog": P, "row": i, "db": "d", "table": "user", "eventType": "INSERT", "pk": ["id"], "types": T,
                 "before": None, "after": r, "snapshot": True})
snap.append({"binlog": P, "row": len(rows) + 1, "db": "d", "table": "user", "eventType": "SNAPSHOT_END",
             "commit": True, "next": P})
live, off, cur = [], 1100, dict(rows)
for n in range(300):
    kind = rnd.choice(["INSERT", "UPDATE", "DELETE"])
    line = {"binlog": "mysql-bin.000005:%d" % off, "row": 0, "db": "d", "table": "user", "eventType": kind,
            "pk": ["id"], "types": T}
    if kind == "INSERT":
        k = key(400 + n)
        cur[k] = {"id": k, "name": "live%d" % n, "v": n}
        line.update(before=None, after=cur[k])
    else:
        k = rnd.choice(sorted(cur))
        if kind == "UPDATE":
            new = dict(cur[k], name="upd%d" % n)
            line.update(before=cur[k], after=new)
            cur[k] = new
        else:
            line.update(before=cur.pop(k), after=None)
    off += 50
    line.update(commit=True, next="mysql-bin.000005:%d" % off)
    live.append(line)
w = lambda name, ls: open(d + "/" + name, "w").write("".join(json.dumps(l) + "\n" for l in ls))
w("snapshot.jsonl", snap)
w("live.jsonl", live)
w("truth.jsonl", snap + live)
stale = []
# Rising positions, so that the ordered pipeline writes every one: 50 rows the snapshot lacks and 50
# it holds (with wrong values).
for n, i in enumerate(list(range(301, 351)) + list(range(1, 51)), 1):
    stale.append({"binlog": "mysql-bin.000001:%d" % (n * 10), "row": 0, "db": "d", "table": "user",
                  "eventType": "INSERT", "pk": ["id"], "types": T, "before": None,
                  "after": {"id": key(i), "name": "stale", "x": 1}, "commit": True,
                  "next": "mysql-bin.000001:%d" % (n * 10 + 5)})
w("stale.jsonl", stale)
EOF
seed_stale() {
  fresh
  jsonl-to-mongo -q --mongo "$MONGO_URL" --name old "$TMP/stale.jsonl"
}
seed_stale
expect_eq "the stale state exists: 100 documents, 50 of them rows the snapshot holds" \
  "$(dump d.user | grep -c '"name" : "stale"'):$(dump d.user | grep -c '"_id" : "k00[0-4][0-9]"')" "100:49"
# The whole snapshot is held in one batch at its SNAPSHOT_END (no size or idle flush before it): the
# rows held must be written before the documents the snapshot lacked are deleted, or the 50 stale
# documents of rows it holds would be deleted too (and written back after).
run_capture jsonl-to-mongo --mongo "$MONGO_URL" --reconcile --name repair --idle-ms 60000 --batch-rows 100000 \
  "$TMP/snapshot.jsonl"
expect "--reconcile deletes exactly the 50 documents the snapshot lacks and says so" \
  bash -c "[[ $status -eq 0 ]] && grep -q ', 50 documents reconciled away' '$TMP/err'"
expect_eq "stale rows are gone and wrong ones rewritten" \
  "$(dump d.user | grep -c '"k03[0-4][0-9]"'):$(dump d.user | grep '"_id" : "k0001"' | grep -c stale)" "1:0"
jsonl-to-mongo -q --mongo "$MONGO_URL" --guard "$TMP/live.jsonl"
same "reconcile, then the live stream: MongoDB holds the current rows" "$TMP/truth.jsonl"

# The moment the reconcile's deletes are done (a failpoint stops the tool there): every snapshot row
# is in MongoDB with the snapshot's values, so none was deleted to be written back later.
seed_stale
ROWPIPE_FAILPOINT=after-reconcile jsonl-to-mongo -q --mongo "$MONGO_URL" --reconcile --name repair --idle-ms 60000 \
  --batch-rows 100000 "$TMP/snapshot.jsonl" 2>"$TMP/fp-err"
expect_eq "at the reconcile's failpoint: 300 documents, all the snapshot's, none stale" \
  "$?:$(dump d.user | grep -c '"_id" : "k0[0-2][0-9][0-9]"\|"_id" : "k0300"'):$(dump d.user | wc -l):$(dump d.user | grep -c stale)" \
  "99:300:300:0"

seed_stale
jsonl-to-mongo -q --mongo "$MONGO_URL" --guard "$TMP/live.jsonl"
jsonl-to-mongo -q --mongo "$MONGO_URL" --reconcile --name repair "$TMP/snapshot.jsonl"
same "the live stream first, then the reconcile: nothing the live pipeline wrote after the snapshot is undone" \
  "$TMP/truth.jsonl"

for round in 1 2; do
  seed_stale
  jsonl-to-mongo -q --mongo "$MONGO_URL" --guard --batch-rows 16 "$TMP/live.jsonl" &
  live=$!
  jsonl-to-mongo -q --mongo "$MONGO_URL" --reconcile --batch-rows 16 --name repair "$TMP/snapshot.jsonl"
  r=$?
  wait "$live"
  expect_eq "round $round: reconcile and a concurrent live writer both exit 0" "$r:$?" "0:0"
  same "round $round: with a concurrent live writer the result is the current rows" "$TMP/truth.jsonl"
done
