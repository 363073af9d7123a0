#!/usr/bin/env python3
"""Rebuilds tables from binlog-tail's lines and compares them with the server's SELECT *.

usage: binlog_live_rebuild.py --db DB --want DIR [--reconcile] RUN.jsonl...

RUN files are the outputs of successive binlog-tail runs (restarts, kills), in order. Lines are
applied as a sink does: a line whose position (file sequence, offset, row) is at or before the last
one applied is skipped (a transaction written again after a restart). DIR holds TABLE.json, one
JSON_OBJECT per row as the server renders it. Prints one line of facts as JSON on stdout:
{"ok": bool, "rows": N, "repeats": [transactions repeated at the start of each run after the
first], "problems": [...]}. With --reconcile, snapshot lines act as a sink's --reconcile does: at
a table's SNAPSHOT_END, the rows of that table (with a primary key) the snapshot did not write are
dropped (rows deleted while a snapshot that was killed was being taken again).
"""
import argparse
import json
import os
import sys


def pos_key(binlog, row=0):
    f, off = binlog.rsplit(":", 1)
    seq = f.rsplit(".", 1)[-1]
    return (int(seq) if seq.isdigit() else f, int(off), row)


def same(col, ours, theirs):
    if theirs is None or ours is None:
        return ours is None and theirs is None
    if isinstance(ours, float) or col in ("f", "d"):
        return abs(float(ours) - float(theirs)) <= 1e-6 * max(1, abs(float(theirs)))
    if col == "j":
        a = json.loads(ours) if isinstance(ours, str) else ours
        b = json.loads(theirs) if isinstance(theirs, str) else theirs
        return a == b
    return str(ours) == str(theirs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--want", required=True)
    ap.add_argument("--reconcile", action="store_true")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()

    tables = {}  # name -> {"pk": [...], "rows": dict or list}
    problems = []
    last = None
    rows = 0
    repeats = []
    torn = 0
    snapped = {}  # --reconcile: table -> keys written by its snapshot since its SNAPSHOT_BEGIN
    for i, path in enumerate(a.runs):
        repeated_tx = set()
        with open(path, encoding="utf-8") as fh:
            data = fh.read()
        if data and not data.endswith("\n"):
            # A process killed while writing may leave a torn last line: a reader drops it.
            torn += 1
            data = data[: data.rfind("\n") + 1]
        for n, text in enumerate(data.splitlines(), 1):
            try:
                l = json.loads(text)
            except ValueError:
                problems.append("%s:%d: not JSON: %r" % (os.path.basename(path), n, text[:120]))
                continue
            kind = l.get("eventType")
            key = pos_key(l["binlog"], l.get("row", 0))
            if a.reconcile and l.get("db") == a.db:
                name = l.get("table")
                if kind == "SNAPSHOT_BEGIN":
                    snapped[name] = set()
                elif kind == "INSERT" and l.get("snapshot") and name in snapped:
                    snapped[name].add(tuple(str(l["after"][c]) for c in l.get("pk") or []))
                elif kind == "SNAPSHOT_END" and name in snapped:
                    seen = snapped.pop(name)
                    t = tables.get(name)
                    if t is not None and isinstance(t["rows"], dict):
                        for k in [k for k in t["rows"] if k not in seen]:
                            del t["rows"][k]
            if kind == "HEARTBEAT":
                continue
            if last is not None and key <= last:
                # Written again after a restart: one transaction, named by its GTID or position.
                repeated_tx.add(l.get("gtid") or l["binlog"])
                continue
            last = key
            if l.get("db") != a.db or kind not in ("INSERT", "UPDATE", "DELETE"):
                continue
            rows += 1
            t = tables.setdefault(l["table"], {"pk": l.get("pk") or [], "rows": None})
            if t["rows"] is None:
                t["rows"] = {} if t["pk"] else []
            b, af = l.get("before"), l.get("after")
            store = t["rows"]
            if isinstance(store, dict):
                k = lambda img: tuple(str(img[c]) for c in t["pk"])
                old = None
                if kind != "INSERT":
                    old = store.pop(k(b), None)
                    if old is None:
                        problems.append("%s:%d: %s of a row not there: %r" % (os.path.basename(path), n, kind, b))
                        old = dict(b)
                if kind == "INSERT":
                    store[k(af)] = dict(af)
                elif kind == "UPDATE":
                    merged = dict(old)
                    merged.update(af)
                    store[k(merged)] = merged
            else:
                if kind != "INSERT":
                    match = next((r for r in store if all(r.get(c) == v for c, v in b.items())), None)
                    if match is None:
                        problems.append("%s:%d: %s of a row not there: %r" % (os.path.basename(path), n, kind, b))
                    else:
                        store.remove(match)
                if kind != "DELETE":
                    store.append(dict(af) if kind == "INSERT" else {**b, **af})
        if i > 0:
            repeats.append(len(repeated_tx))

    for fname in sorted(os.listdir(a.want)):
        if not fname.endswith(".json"):
            continue
        name = fname[:-5]
        want = [json.loads(x) for x in open(os.path.join(a.want, fname), encoding="utf-8") if x.strip()]
        t = tables.get(name)
        got = [] if t is None or t["rows"] is None else (
            list(t["rows"].values()) if isinstance(t["rows"], dict) else list(t["rows"]))
        order = lambda r: [str(r.get(c)) for c in sorted(r)]
        got.sort(key=order)
        want.sort(key=order)
        if len(got) != len(want):
            problems.append("%s: %d rows rebuilt, SELECT has %d" % (name, len(got), len(want)))
            continue
        for g, w in zip(got, want):
            for c in w:
                if not same(c, g.get(c), w[c]):
                    problems.append("%s column %s: ours %r, server %r" % (name, c, g.get(c), w[c]))
                    break
    print(json.dumps({"ok": not problems, "rows": rows, "repeats": repeats, "torn": torn,
                      "problems": problems[:10]}))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
