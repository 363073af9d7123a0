#!/usr/bin/python3
"""Reference model for jsonl-to-redis tests, written independently of the tool.

  redis_model.py gen --seed N --txns M [--huge K] [--truncate] [--files F] [--no-partial] [--reinsert]
                                           > lines.jsonl
  redis_model.py shuffle --seed N [--dup P] FILE   the lines in random order, a fraction P repeated
  redis_model.py expect FILE...            the Redis state the lines must leave (JSON on stdout)
  redis_model.py dump REDIS_URL            the Redis state as it is (same JSON; rowpipe:* keys left out)
  redis_model.py compare REDIS_URL FILE... exit 0 when Redis holds exactly the expected state
  redis_model.py ring URL,URL,... FILE...  exit 0 when the instances together hold the expected state and
                                           each key sits where uhashring (ketama mode) places it
  redis_model.py check REDIS_URL FILE...   exit 0 when Redis holds exactly the lines its checkpoint
                                           (rowpipe:checkpoint:default) covers: the atomicity check
                                           (read in one atomic snapshot; while the purge marker
                                           rowpipe:purge:default stands, the table it names may lack
                                           keys, and nothing else may differ)

The model folds committed transactions only (an input ending inside a transaction leaves it out),
renders keys as rowpipe-events(5) KEY TEMPLATES says for {db}_{table}_{pk}, and stores each row as a
hash of its non-NULL columns' text (binary columns as raw bytes).
"""
import base64
import json
import random
import socket
import sys
from urllib.parse import urlparse

# ---------------------------------------------------------------- workload


class Gen:
    def __init__(self, seed, files, partial=True, reinsert=False):
        self.rnd = random.Random(seed)
        self.tables = ["user", "user", "user_roles", "pair"] + (["part"] if partial else [])
        self.reinsert = reinsert
        self.deleted = {"user": [], "user_roles": [], "pair": [], "part": []}
        self.file = 1
        self.files = files
        self.offset = 4
        self.rows = {"user": {}, "user_roles": {}, "pair": {}, "part": {}}
        self.next_id = 1
        self.out = []
        self.gtid = 0

    def pos(self):
        return "mysql-bin.%06d:%d" % (self.file, self.offset)

    def text(self):
        pool = ["a", "b", "x_y", "q\"uote", "back\\slash", "é", "日本", " ", "tab\t", "nl\n", "_", "\\N"]
        return "".join(self.rnd.choice(pool) for _ in range(self.rnd.randint(0, 4)))

    def user_row(self, rid):
        r = {"id": rid, "name": self.text()}
        r["email"] = None if self.rnd.random() < 0.3 else "u%d@example.com" % rid
        r["score"] = self.rnd.choice([None, 0, -5, 7, 2**63 - 1, -2**63])
        r["bin"] = None if self.rnd.random() < 0.5 else base64.b64encode(bytes(self.rnd.randrange(256) for _ in range(self.rnd.randint(0, 6)))).decode()
        return r

    def fresh(self, table):
        while True:
            rid = self.next_id
            self.next_id += 1
            if table != "pair":
                return rid
            key = (self.rnd.choice(["a", "a_b", "c\\d", "e"]) + str(rid), rid % 3)
            if key not in self.rows["pair"]:
                return key

    def change(self):
        table = self.rnd.choice(self.tables)
        rows = self.rows[table]
        kind = self.rnd.choice(["INSERT", "INSERT", "UPDATE", "UPDATE", "DELETE"]) if rows else "INSERT"
        types = None
        pk = ["id"]
        partial = False
        if table == "user":
            types = {"id": "bigint", "name": "varchar", "email": "varchar", "score": "bigint", "bin": "varbinary"}
            make = self.user_row
        elif table == "user_roles":
            make = lambda rid: {"id": rid, "role": self.text()}
        elif table == "pair":
            pk = ["a", "b"]
            make = lambda k: {"a": k[0], "b": k[1], "v": self.rnd.choice([None, self.text(), 3.5, True])}
        else:
            make = lambda rid: {"id": rid, "c1": self.text(), "c2": self.rnd.choice([None, 1, 2]), "c3": self.text()}
        if kind == "INSERT":
            gone = self.deleted[table]
            if self.reinsert and gone and self.rnd.random() < 0.5:
                k = gone.pop(self.rnd.randrange(len(gone)))
            else:
                k = self.fresh(table)
            after = make(k)
            rows[k] = after
            return table, pk, types, "INSERT", None, after, False
        k = self.rnd.choice(sorted(rows, key=str))
        before = rows[k]
        if kind == "DELETE":
            del rows[k]
            self.deleted[table].append(k)
            return table, pk, types, "DELETE", before, None, False
        if table == "part":
            # binlog_row_image=MINIMAL: the key, then only the changed columns (maybe the key too).
            after = {}
            for c in ("c1", "c2", "c3"):
                if self.rnd.random() < 0.5:
                    after[c] = self.rnd.choice([None, self.text(), 9])
            newk = k
            if self.rnd.random() < 0.2:
                newk = self.fresh(table)
                after["id"] = newk
            full = dict(before)
            full.update(after)
            del rows[k]
            rows[newk] = full
            return table, pk, types, "UPDATE", {"id": k}, after, True
        newk = k
        if self.rnd.random() < 0.2:
            newk = self.fresh(table)
        after = make(newk)
        del rows[k]
        rows[newk] = after
        return table, pk, types, "UPDATE", before, after, False

    def transaction(self, size):
        self.gtid += 1
        lines = []
        row = 0
        for i in range(size):
            if i > 0 and self.rnd.random() < 0.6:
                self.offset += self.rnd.randint(30, 300)
                row = 0
            table, pk, types, kind, before, after, partial = self.change()
            line = {"binlog": self.pos(), "row": row, "server_id": 1, "gtid": "0-1-%d" % self.gtid,
                    "db": "d", "table": table, "eventType": kind, "pk": pk}
            if types:
                line["types"] = types
            line["before"] = before
            line["after"] = after
            if partial:
                line["partial"] = True
            lines.append(line)
            row += 1
        self.offset += self.rnd.randint(30, 300)
        lines[-1]["commit"] = True
        lines[-1]["xid"] = self.gtid
        lines[-1]["next"] = self.pos()
        self.out.extend(lines)

    def ddl(self, table):
        self.gtid += 1
        here = self.pos()
        self.offset += 100
        self.out.append({"binlog": here, "server_id": 1, "gtid": "0-1-%d" % self.gtid, "db": "d", "table": table,
                         "eventType": "DDL", "sql": "TRUNCATE TABLE `%s`" % table, "commit": True,
                         "next": self.pos()})
        self.rows[table] = {}

    def heartbeat(self):
        self.out.append({"binlog": self.pos(), "eventType": "HEARTBEAT", "commit": True, "next": self.pos()})

    def rotate(self):
        self.file += 1
        self.offset = 4


def gen(args):
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    txns = int(args[args.index("--txns") + 1]) if "--txns" in args else 1000
    huge = int(args[args.index("--huge") + 1]) if "--huge" in args else 0
    files = int(args[args.index("--files") + 1]) if "--files" in args else 3
    g = Gen(seed, files, "--no-partial" not in args, "--reinsert" in args)
    for t in range(txns):
        if t > 0 and t % max(1, txns // files) == 0 and g.file < files:
            g.rotate()
        if huge and t == txns // 2:
            g.transaction(huge)
        elif "--truncate" in args and g.rnd.random() < 0.01:
            g.ddl(g.rnd.choice(["user", "user_roles"]))
        elif g.rnd.random() < 0.02:
            g.heartbeat()
        else:
            g.transaction(g.rnd.choice([1, 1, 1, 2, 3, 5]))
    out = sys.stdout
    for line in g.out:
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")


# ---------------------------------------------------------------- the fold


def text(v, binary):
    if v is None:
        return None
    if isinstance(v, bool):
        return b"true" if v else b"false"
    if isinstance(v, (int, float)):
        return json.dumps(v).encode()
    if isinstance(v, str):
        return base64.b64decode(v) if binary else v.encode()
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode()


def key_of(line, image):
    cols = line.get("pk") or []
    types = line.get("types") or {}
    parts = []
    for c in cols:
        t = text(image[c], types.get(c) in ("binary", "varbinary", "blob"))
        if t is None:
            parts.append(b"\\N")
        elif len(cols) > 1:
            parts.append(t.replace(b"\\", b"\\\\").replace(b"_", b"\\_"))
        else:
            parts.append(t)
    return ("%s_%s_" % (line["db"], line["table"])).encode() + b"_".join(parts)


def fields(line, image):
    types = line.get("types") or {}
    out = {}
    for c, v in image.items():
        t = text(v, types.get(c) in ("binary", "varbinary", "blob"))
        if t is not None:
            out[c.encode()] = t
    return out


def apply(state, line):
    kind = line["eventType"]
    if kind == "DDL":
        sql = line["sql"].upper()
        if sql.startswith("TRUNCATE") or sql.startswith("DROP TABLE"):
            for k in [k for k, (t, _) in state.items() if t == (line["db"], line["table"])]:
                del state[k]
        return
    if kind not in ("INSERT", "UPDATE", "DELETE"):
        return
    table = (line["db"], line["table"])
    if kind == "DELETE":
        state.pop(key_of(line, line["before"]), None)
        return
    if kind == "INSERT" or not line.get("partial"):
        if kind == "UPDATE":
            state.pop(key_of(line, line["before"]), None)
        h = fields(line, line["after"])
        k = key_of(line, line["after"])
        if h:
            state[k] = (table, h)
        else:
            state.pop(k, None)
        return
    old = key_of(line, line["before"])
    merged = dict(line["before"])
    merged.update(line["after"])
    new = key_of(line, merged)
    _, row = state.pop(old, (table, {}))
    row = dict(row)
    for c, v in line["after"].items():
        t = text(v, False)
        if t is None:
            row.pop(c.encode(), None)
        else:
            row[c.encode()] = t
    if row:
        state[new] = (table, row)
    else:
        state.pop(new, None)


def expect(files):
    state = {}
    pending = []
    for name in files:
        with open(name, encoding="utf-8") as f:
            for raw in f:
                line = json.loads(raw)
                pending.append(line)
                if line.get("commit"):
                    for l in pending:
                        apply(state, l)
                    pending = []
    return {k: v for k, (_, v) in state.items()}


def position(text, row=0):
    f, off = text.rsplit(":", 1)
    seq = f.rsplit(".", 1)[1]
    return (int(seq), int(off), row)


def covered_state(files, checkpoint):
    """The fold of every line the checkpoint covers (rowpipe-checkpoint(5), rule 3), with the table of
    each key, and the lines not covered up to the first one that changes anything (a row or a DDL)."""
    state = {}
    uncovered = []
    binlog = position(checkpoint["binlog"]) if checkpoint else None
    applied = None
    if checkpoint and checkpoint.get("applied"):
        f, row = checkpoint["applied"].rsplit(":", 1)
        applied = position(f, int(row))
    for name in files:
        with open(name, encoding="utf-8") as fh:
            for raw in fh:
                line = json.loads(raw)
                p = position(line["binlog"], line.get("row", 0))
                if binlog and (p[:2] < binlog[:2] or (applied is not None and p <= applied)):
                    apply(state, line)
                elif not uncovered or uncovered[-1]["eventType"] not in ("INSERT", "UPDATE", "DELETE", "DDL"):
                    uncovered.append(line)
    return state, uncovered


# ---------------------------------------------------------------- Redis


class Resp:
    def __init__(self, url):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port or 6379))
        self.buf = b""
        if u.path and u.path != "/":
            self.call("SELECT", u.path[1:])

    def call(self, *args):
        msg = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            msg += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(msg)
        return self.read()

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def read(self):
        l = self.line()
        t, rest = l[:1], l[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply " + repr(l))


def dump(url):
    r = Resp(url)
    out = {}
    cursor = b"0"
    while True:
        cursor, keys = r.call("SCAN", cursor, "COUNT", 1000)
        for k in keys:
            if k.startswith(b"rowpipe:"):
                continue
            t = r.call("TYPE", k)
            if t == b"hash":
                flat = r.call("HGETALL", k)
                out[k] = dict(zip(flat[0::2], flat[1::2]))
            elif t == b"string":
                out[k] = r.call("GET", k)
        if cursor == b"0":
            return out


# The state, the checkpoint and the purge marker at one instant (a script runs atomically): a tool
# killed an instant earlier may have commands still queued in Redis, which must not run between the
# reads of the check.
SNAPSHOT = """
local out = {redis.call('GET', KEYS[1]) or false, redis.call('GET', KEYS[2]) or false}
for _, k in ipairs(redis.call('KEYS', '*')) do
  if string.sub(k, 1, 8) ~= 'rowpipe:' then
    local t = redis.call('TYPE', k)['ok']
    if t == 'hash' then
      out[#out + 1] = {k, redis.call('HGETALL', k)}
    elseif t == 'string' then
      out[#out + 1] = {k, redis.call('GET', k)}
    end
  end
end
return out
"""


def snapshot(url, name="default"):
    reply = Resp(url).call("EVAL", SNAPSHOT, 2, "rowpipe:checkpoint:" + name, "rowpipe:purge:" + name)
    state = {}
    for k, v in reply[2:]:
        state[k] = dict(zip(v[0::2], v[1::2])) if isinstance(v, list) else v
    return state, reply[0], reply[1]


def is_purge(line):
    return line["eventType"] == "DDL" and line["sql"].upper().startswith(("TRUNCATE", "DROP TABLE"))


def printable(state):
    enc = lambda b: b.decode("utf-8", "backslashreplace")
    return {enc(k): ({enc(f): enc(v) for f, v in sorted(h.items())} if isinstance(h, dict) else enc(h))
            for k, h in sorted(state.items())}


def differ(want, got):
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    changed = [k for k in want if k in got and want[k] != got[k]]
    print("differ: %d keys expected, %d found; missing %d, extra %d, different %d" %
          (len(want), len(got), len(missing), len(extra), len(changed)))
    for k in (missing[:3] + extra[:3] + changed[:3]):
        print("  %r: want %r got %r" % (k, want.get(k), got.get(k)))
    return 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(args)
    elif cmd == "ring":
        from uhashring import HashRing  # Debian's python3-uhashring: an independent ketama
        urls = args[0].split(",")
        names = ["%s:%d" % (urlparse(u).hostname, urlparse(u).port) for u in urls]
        ring = HashRing(names, hash_fn="ketama")
        want = expect(args[1:])
        got, misplaced = {}, []
        for url, name in zip(urls, names):
            for k, v in dump(url).items():
                got[k] = v
                if ring.get_node(k.decode()) != name:
                    misplaced.append((k, name, ring.get_node(k.decode())))
        per = {n: 0 for n in names}
        for k in got:
            per[ring.get_node(k.decode())] += 1
        if misplaced:
            print("misplaced: %d keys, e.g. %r on %s, ketama says %s" % ((len(misplaced),) + misplaced[0]))
            return 1
        if want != got:
            print("differ: %d keys expected, %d found over the ring" % (len(want), len(got)))
            return 1
        print("same: %d keys, each where ketama puts it (%s)" % (len(got), ", ".join("%s %d" % kv for kv in per.items())))
    elif cmd == "shuffle":
        rnd = random.Random(int(args[args.index("--seed") + 1]) if "--seed" in args else 1)
        dup = float(args[args.index("--dup") + 1]) if "--dup" in args else 0.0
        with open(args[-1], encoding="utf-8") as f:
            lines = f.readlines()
        lines += [l for l in lines if rnd.random() < dup]
        rnd.shuffle(lines)
        sys.stdout.write("".join(lines))
    elif cmd == "expect":
        json.dump(printable(expect(args)), sys.stdout, ensure_ascii=False, indent=1)
    elif cmd == "dump":
        json.dump(printable(dump(args[0])), sys.stdout, ensure_ascii=False, indent=1)
    elif cmd == "compare":
        got = dump(args[0])
        want = expect(args[1:])
        if want == got:
            print("same: %d keys" % len(got))
            return 0
        return differ(want, got)
    elif cmd == "check":
        got, stored, marker = snapshot(args[0])
        checkpoint = json.loads(stored) if stored else None
        tables, uncovered = covered_state(args[1:], checkpoint)
        want = {k: v for k, (_, v) in tables.items()}
        if marker is not None:
            # A TRUNCATE/DROP in progress: its marker must name the first statement after the
            # checkpoint that changes anything, and only keys of its table may be missing.
            m = json.loads(marker)
            f, off, row = m["at"].rsplit(":", 2)
            at = position(f + ":" + off, int(row))
            nxt = uncovered[-1] if uncovered else None
            if nxt is None or not is_purge(nxt) or position(nxt["binlog"], nxt.get("row", 0)) != at or \
                    "%s.%s" % (nxt["db"], nxt["table"]) != m["table"]:
                print("differ: the purge marker %s does not name the first change after the checkpoint %s (%s)" %
                      (marker.decode(), stored.decode() if stored else None, json.dumps(nxt)[:200]))
                return 1
            gone = [k for k in want if k not in got]
            foreign = [k for k in gone if "%s.%s" % tables[k][0] != m["table"]]
            if all(k in want and want[k] == v for k, v in got.items()) and not foreign:
                print("same: %d keys, and %d keys of %s deleted by the purge in progress" % (len(got), len(gone), m["table"]))
                return 0
            if foreign:
                print("differ: a purge of %s deleted %d keys of other tables, e.g. %r" % (m["table"], len(foreign), foreign[0]))
                return 1
        if want == got:
            print("same: %d keys" % len(got))
            return 0
        return differ(want, got)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
