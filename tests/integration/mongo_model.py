#!/usr/bin/python3
"""Reference model for jsonl-to-mongo tests, written independently of the tool.

  mongo_model.py gen --seed N --txns M [--huge K] [--truncate] [--drop] [--files F] [--no-partial]
                                                     [--reinsert]
                                                     > lines.jsonl
  mongo_model.py shuffle --seed N [--dup P] FILE     the lines in random order, a fraction P repeated
  mongo_model.py expect FILE...                      the documents the lines must leave (JSON lines)
  mongo_model.py compare DUMP FILE...                exit 0 when DUMP (mongo-dump output; - for stdin)
                                                     holds exactly the expected documents
  mongo_model.py check DUMP FILE...                  exit 0 when every document in DUMP is a state its
                                                     row had at or after the stored checkpoint (and
                                                     each row the dump lacks was absent in one): the
                                                     crash check
  mongo_model.py guard-compare DUMP FILE...          as compare, ignoring tombstones and _rowpipe

The model folds committed transactions only (input ending inside a transaction leaves it out) and
types values by the rules of jsonl-to-mongo(1), TYPES, itself; documents are compared as normalized
values: ("i32", n), ("i64", n), ("f64", x), ("date", ms), ("bin", base64), strings, lists, dicts.
"""
import base64
import json
import random
import sys

# ---------------------------------------------------------------- workload


class Gen:
    def __init__(self, seed, files, partial=True, reinsert=False):
        self.rnd = random.Random(seed)
        self.reinsert = reinsert
        self.deleted = {"user": [], "role": [], "pair": [], "part": []}
        self.tables = ["user", "user", "user", "role", "pair"] + (["part", "part"] if partial else [])
        self.files = files
        self.file = 1
        self.offset = 4
        self.gtid = 0
        self.next_id = 1
        self.rows = {"user": {}, "role": {}, "pair": {}, "part": {}}
        self.out = []

    def pos(self):
        return "mysql-bin.%06d:%d" % (self.file, self.offset)

    def text(self):
        pool = ["a", "b", "x_y", "q\"uote", "back\\slash", "é", "日本", " ", "tab\t", "nl\n", "$", ".", "\\N"]
        return "".join(self.rnd.choice(pool) for _ in range(self.rnd.randint(0, 4)))

    def datetime(self, frac):
        s = "%04d-%02d-%02d %02d:%02d:%02d" % (self.rnd.randint(1970, 2037), self.rnd.randint(1, 12),
                                              self.rnd.randint(1, 28), self.rnd.randint(0, 23),
                                              self.rnd.randint(0, 59), self.rnd.randint(0, 59))
        if frac:
            s += ".%06d" % self.rnd.randint(0, 999999)
        return s

    def user_row(self, key):
        r = self.rnd
        return {"id": key, "name": self.text(),
                "email": None if r.random() < 0.3 else "%s@example.com" % key,
                "score": r.choice([None, 0, -5, 7, 2**63 - 1, -2**63, 2**31]),
                "bin": None if r.random() < 0.4 else base64.b64encode(
                    bytes(r.randrange(256) for _ in range(r.randint(0, 6)))).decode(),
                "born": r.choice(["0000-00-00 00:00:00", self.datetime(False), self.datetime(False)]),
                "at": self.datetime(True),
                "f": r.choice([0.1, -2.5, 1e300, 3.0, None]),
                "tags": r.choice(["", "a", "a,b", "b,c"]),
                "j": r.choice([None, {"k": self.text(), "n": r.randint(-5, 5), "l": [1, "x", None], "o": {"z": 1.5}},
                               [1, 2], "str", 7]),
                "y": r.choice([None, 1999, 2024])}

    USER_TYPES = {"id": "varchar", "name": "varchar", "email": "varchar", "score": "bigint", "bin": "varbinary",
                  "born": "datetime(0)", "at": "datetime(6)", "f": "double", "tags": "set", "j": "json",
                  "y": "year"}

    def fresh(self, table):
        while True:
            n = self.next_id
            self.next_id += 1
            if table == "user":
                return "u%05d" % n
            if table == "part":
                return "p%05d" % n
            if table == "role":
                return n
            key = (self.rnd.choice(["a", "a_b", "c\\d", "e"]) + str(n), n % 3)
            if key not in self.rows["pair"]:
                return key

    def change(self):
        r = self.rnd
        table = r.choice(self.tables)
        rows = self.rows[table]
        small = table in ("role", "pair")
        if not rows:
            kind = "INSERT"
        elif small and len(rows) > 60:
            kind = r.choice(["UPDATE", "DELETE", "DELETE"])
        else:
            kind = r.choice(["INSERT", "INSERT", "UPDATE", "UPDATE", "DELETE"])
        pk, types, partial = ["id"], None, False
        if table == "user":
            types = self.USER_TYPES
            make = self.user_row
        elif table == "role":
            types = {"id": "int", "role": "enum", "level": "tinyint unsigned"}
            make = lambda k: {"id": k, "role": r.choice(["admin", "user", "guest"]), "level": r.randint(0, 255)}
        elif table == "pair":
            pk = ["a", "b"]
            types = {"a": "varchar", "b": "int", "v": "double"}
            make = lambda k: {"a": k[0], "b": k[1], "v": r.choice([None, 3.5, -1.25])}
        else:
            types = {"id": "varchar", "c1": "varchar", "c2": "int", "c3": "varchar"}
            make = lambda k: {"id": k, "c1": self.text(), "c2": r.choice([None, 1, 2]), "c3": self.text()}
        if kind == "INSERT":
            gone = self.deleted[table]
            if self.reinsert and gone and r.random() < 0.5:
                k = gone.pop(r.randrange(len(gone)))
            else:
                k = self.fresh(table)
            after = make(k)
            rows[k] = after
            return table, pk, types, "INSERT", None, after, False
        k = r.choice(sorted(rows, key=str))
        before = rows[k]
        if kind == "DELETE":
            del rows[k]
            self.deleted[table].append(k)
            return table, pk, types, "DELETE", before, None, False
        if table == "part":
            # binlog_row_image=MINIMAL: the key before; after, only the changed columns (maybe the key).
            after = {}
            for c in ("c1", "c2", "c3"):
                if r.random() < 0.5:
                    after[c] = r.choice([None, self.text()]) if c != "c2" else r.choice([None, 4, 9])
            newk = k
            if r.random() < 0.2:
                newk = self.fresh(table)
                after["id"] = newk
            full = dict(before)
            full.update(after)
            del rows[k]
            rows[newk] = full
            return table, pk, types, "UPDATE", {"id": k}, after, True
        newk = k
        if r.random() < 0.15:
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
                    "db": "mdb", "table": table, "eventType": kind, "pk": pk}
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

    def ddl(self, table, verb):
        self.gtid += 1
        here = self.pos()
        self.offset += 100
        sql = "TRUNCATE TABLE `%s`" % table if verb == "TRUNCATE" else "DROP TABLE `%s`" % table
        self.out.append({"binlog": here, "server_id": 1, "gtid": "0-1-%d" % self.gtid, "db": "mdb", "table": table,
                         "eventType": "DDL", "sql": sql, "commit": True, "next": self.pos()})
        self.rows[table] = {}

    def heartbeat(self):
        self.out.append({"binlog": self.pos(), "eventType": "HEARTBEAT", "commit": True, "next": self.pos()})


def arg(args, name, default):
    return type(default)(args[args.index(name) + 1]) if name in args else default


def gen(args):
    txns = arg(args, "--txns", 1000)
    huge = arg(args, "--huge", 0)
    files = arg(args, "--files", 3)
    g = Gen(arg(args, "--seed", 1), files, "--no-partial" not in args, "--reinsert" in args)
    for t in range(txns):
        if t > 0 and t % max(1, txns // files) == 0 and g.file < files:
            g.file += 1
            g.offset = 4
        if huge and t == txns // 2:
            g.transaction(huge)
        elif "--truncate" in args and g.rnd.random() < 0.01:
            g.ddl("role", "TRUNCATE")
        elif "--drop" in args and g.rnd.random() < 0.004:
            g.ddl("pair", "DROP")
        elif g.rnd.random() < 0.02:
            g.heartbeat()
        else:
            g.transaction(g.rnd.choice([1, 1, 1, 2, 3, 5]))
    for line in g.out:
        sys.stdout.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")


def shuffle(args):
    rnd = random.Random(arg(args, "--seed", 1))
    dup = arg(args, "--dup", 0.0)
    lines = [l for l in open(args[-1], encoding="utf-8") if l.strip()]
    out = list(lines) + [l for l in lines if rnd.random() < dup]
    rnd.shuffle(out)
    sys.stdout.write("".join(out))


# ---------------------------------------------------------------- typing


def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def datetime_ms(text):
    try:
        y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
        h, mi, s = int(text[11:13]), int(text[14:16]), int(text[17:19])
    except ValueError:
        return None
    mdays = [31, 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= mo <= 12) or not (1 <= d <= mdays[mo - 1]) or h > 23 or mi > 59 or s > 59:
        return None
    ms = 0
    if len(text) > 20:
        ms = int((text[20:] + "000")[:3])
    return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + s * 1000 + ms


def untyped(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        if -2**31 <= v < 2**31:
            return ("i32", v)
        if -2**63 <= v < 2**63:
            return ("i64", v)
        return str(v)  # beyond int64: the tests run with --decimal string
    if isinstance(v, float):
        return ("f64", v)
    if isinstance(v, list):
        return [untyped(x) for x in v]
    return {k: untyped(x) for k, x in v.items()}


def typed(word, v):
    if v is None:
        return None
    if word is None:
        return untyped(v)
    base = word.split("(")[0].split(" ")[0]
    if base in ("tinyint", "smallint", "mediumint", "int", "bigint"):
        if base == "bigint" or word == "int unsigned":
            return ("i64", v) if v < 2**63 else str(v)
        return ("i32", v)
    if base == "year":
        return ("i32", v)
    if base == "bit":
        return ("i64", v) if v < 2**63 else str(v)
    if base in ("float", "double"):
        return ("f64", float(v))
    if base in ("datetime", "timestamp"):
        frac = int(word[word.index("(") + 1:-1]) if "(" in word else 0
        ms = datetime_ms(v) if frac <= 3 else None
        return ("date", ms) if ms is not None else v
    if base in ("binary", "varbinary", "blob"):
        return ("bin", v)
    if base == "set":
        return v.split(",") if isinstance(v, str) and v else ([] if isinstance(v, str) else untyped(v))
    if base == "json":
        return untyped(v)
    if base == "enum" and not isinstance(v, str):
        return untyped(v)
    return v  # strings: char, varchar, text, enum, date, time, decimal (--decimal string), geometry


def normalize(v):
    """A value of mongo-dump's canonical extended JSON as the model writes values."""
    if isinstance(v, dict):
        if len(v) == 1:
            (k, x), = v.items()
            if k == "$numberInt":
                return ("i32", int(x))
            if k == "$numberLong":
                return ("i64", int(x))
            if k == "$numberDouble":
                return ("f64", float(x))
            if k == "$numberDecimal":
                return ("dec", x)
            if k == "$date":
                return ("date", int(x["$numberLong"]))
            if k == "$binary":
                return ("bin", x["base64"])
        return {k: normalize(x) for k, x in v.items()}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    return v


# ---------------------------------------------------------------- the fold


def committed(paths):
    """The lines of committed transactions, and for each the number of lines read when it ended."""
    out, pending = [], []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for raw in f:
                raw = raw.strip()
                if not raw:
                    continue
                line = json.loads(raw)
                pending.append(line)
                seed = line.get("eventType") in ("INSERT", "UPDATE", "DELETE") and "row" not in line
                if line.get("commit") or seed:
                    out.extend(pending)
                    pending = []
    return out


class Fold:
    def __init__(self):
        self.docs = {}  # (collection, key json) -> doc

    @staticmethod
    def key(line, image, fallback=None):
        cols = line.get("pk") or []
        types = line.get("types") or {}

        def val(c):
            v = image[c] if c in image else fallback[c]
            return typed(types.get(c), v)
        if len(cols) == 1:
            return val(cols[0])
        return {c: val(c) for c in cols}

    @staticmethod
    def doc(line, image, key):
        types = line.get("types") or {}
        d = {"_id": key}
        for c, v in image.items():
            d[c] = typed(types.get(c), v)
        return d

    def apply(self, line):
        kind = line["eventType"]
        coll = "%s.%s" % (line.get("db"), line.get("table"))
        if kind == "DDL":
            verb = line["sql"].split()[0].upper()
            if verb in ("TRUNCATE", "DROP"):
                for k in [k for k in self.docs if k[0] == coll]:
                    del self.docs[k]
            return
        if kind not in ("INSERT", "UPDATE", "DELETE"):
            return
        ident = lambda key: (coll, json.dumps(key, sort_keys=True))
        if kind == "INSERT":
            key = self.key(line, line["after"])
            self.docs[ident(key)] = self.doc(line, line["after"], key)
        elif kind == "DELETE":
            self.docs.pop(ident(self.key(line, line["before"])), None)
        elif not line.get("partial"):
            old = self.key(line, line["before"])
            new = self.key(line, line["after"])
            self.docs.pop(ident(old), None)
            self.docs[ident(new)] = self.doc(line, line["after"], new)
        else:
            old = self.key(line, line["before"])
            new = self.key(line, line["after"], line["before"])
            base = self.docs.pop(ident(old), None)
            d = dict(base) if base is not None else {}
            d["_id"] = new
            for c, v in self.doc(line, line["after"], new).items():
                d[c] = v
            if base is None and ident(old) != ident(new):
                d = {"_id": new, **{c: v for c, v in d.items() if c != "_id"}}
            self.docs[ident(new)] = d


def expected(paths):
    f = Fold()
    for line in committed(paths):
        f.apply(line)
    return f.docs


def read_dump(path, guard=False):
    docs, checkpoint = {}, None
    src = sys.stdin if path == "-" else open(path, encoding="utf-8")
    for raw in src:
        raw = raw.rstrip("\n")
        if not raw:
            continue
        ns, text = raw.split(" ", 1)
        d = normalize(json.loads(text))
        if ns.startswith("rowpipe."):
            if ns == "rowpipe.rowpipe_checkpoints" and d.get("_id") == "default":
                checkpoint = d
            continue
        if guard:
            meta = d.pop("_rowpipe", None)
            if meta and "deleted" in meta:
                continue
        docs[(ns, json.dumps(d["_id"], sort_keys=True))] = d
    return docs, checkpoint


def diff(want, got, limit=3):
    out = []
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            out.append("%s: want %s got %s" % (k, json.dumps(want.get(k))[:300], json.dumps(got.get(k))[:300]))
            if len(out) >= limit:
                break
    return out


def compare(args, guard=False):
    got, _ = read_dump(args[0], guard)
    want = expected(args[1:])
    d = diff(want, got)
    if d:
        print("differ: %d documents expected, %d found; %s" % (len(want), len(got), " | ".join(d)))
        return 1
    print("same: %d documents" % len(want))
    return 0


def position_key(text):
    f, o = text.rsplit(":", 1)
    dot = f.rfind(".")
    return (int(f[dot + 1:]), int(o))


def check(args):
    """After a crash: documents hold states from the checkpoint on, never anything else."""
    got, ck = read_dump(args[0])
    lines = committed(args[1:])
    f = Fold()
    start = 0
    if ck is not None:
        at = position_key(ck["binlog"])
        applied = None
        if "applied" in ck:
            a = ck["applied"].rsplit(":", 1)
            applied = (position_key(a[0]), int(a[1]))
        for i, line in enumerate(lines):
            p = position_key(line["binlog"])
            if p < at or (applied and (p, line.get("row", 0)) <= applied):
                f.apply(line)
                start = i + 1
            else:
                break
    # Every state each document takes from the checkpoint on (absence included).
    states = {}
    for k, d in f.docs.items():
        states.setdefault(k, []).append(d)
    keys = set(f.docs)
    for line in lines[start:]:
        before = dict(f.docs)
        f.apply(line)
        for k in set(before) | set(f.docs):
            if before.get(k) != f.docs.get(k):
                states.setdefault(k, [before.get(k)]).append(f.docs.get(k))
                keys.add(k)
    bad = []
    for k in keys | set(got):
        seen = states.get(k, [f.docs.get(k)])
        if got.get(k) not in seen:
            bad.append("%s: %s is no state it had since the checkpoint" % (k, json.dumps(got.get(k))[:200]))
    if bad:
        print("wrong: " + " | ".join(bad[:3]))
        return 1
    print("consistent: %d documents, checkpoint %s" % (len(got), ck["binlog"] if ck else "none"))
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 64
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(args)
    elif cmd == "shuffle":
        shuffle(args)
    elif cmd == "expect":
        for k, d in sorted(expected(args).items()):
            print(k[0], json.dumps(d, ensure_ascii=False))
    elif cmd == "compare":
        return compare(args)
    elif cmd == "guard-compare":
        return compare(args, guard=True)
    elif cmd == "check":
        return check(args)
    else:
        print(__doc__)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
