#!/usr/bin/env python3
"""Compares binlog-tail's row lines with a `mariadb-binlog --verbose` (or MySQL `mysqlbinlog -vv`) decoding of the same file.

Usage: binlog_compare.py LINES.jsonl ORACLE.txt
Prints one summary line; exit 0 when every row image the oracle decoded matches (and at least one
value was compared), 1 on a mismatch, 2 when the oracle decoded no row image (nothing to compare).

How mariadb-binlog -v prints values (../shared/ENVIRONMENT.md): `@N=` per present column in table
order; integers signed with the unsigned reading in parentheses; DATE 'YYYY:MM:DD'; TIMESTAMP as
epoch seconds; DATETIME/TIME quoted; DECIMAL/FLOAT bare; ENUM as index; SET/BIT as b'0101';
strings quoted with control bytes as \\xNN and every other byte raw.
"""
import base64
import calendar
import datetime
import decimal
import gzip
import json
import re
import sys

ROW_START = re.compile(rb"^### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$")
VALUE = re.compile(rb"^###   @(\d+)=(.*)$")
# `mysqlbinlog -vv` (the upstream oracles) adds the column type: `@1=5 /* INT meta=0 nullable=0 is_null=0 */`.
TYPE_COMMENT = re.compile(rb" /\* [A-Z][A-Z0-9_() ]*meta=\d+ nullable=\d is_null=\d \*/$")


def parse_oracle(path):
    opener = gzip.open if path.endswith(".gz") else open
    rows = []
    cur = None
    section = None
    with opener(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n")
            m = ROW_START.match(line)
            if m:
                kind = {b"INSERT INTO": "INSERT", b"UPDATE": "UPDATE", b"DELETE FROM": "DELETE"}[m.group(1)]
                cur = {"kind": kind, "db": m.group(2).decode("utf-8", "replace"),
                       "table": m.group(3).decode("utf-8", "replace"), "before": {}, "after": {}}
                rows.append(cur)
                section = "after" if kind == "INSERT" else "before"
                continue
            if cur is None:
                continue
            if line == b"### WHERE":
                section = "before"
            elif line == b"### SET":
                section = "after"
            else:
                v = VALUE.match(line)
                if v:
                    cur[section][int(v.group(1))] = TYPE_COMMENT.sub(b"", v.group(2))
                elif not line.startswith(b"###"):
                    cur = None
    return rows


def ours(path):
    rows = []
    with open(path, "rb") as f:
        for raw in f:
            obj = json.loads(raw)
            if obj.get("eventType") in ("INSERT", "UPDATE", "DELETE"):
                rows.append(obj)
    return rows


def unquote(o):
    # 'text' with \xNN escapes -> bytes
    assert o.startswith(b"'") and o.endswith(b"'"), o
    body = o[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i:i + 2] == b"\\x" and i + 4 <= len(body):
            try:
                out.append(int(body[i + 2:i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(body[i])
        i += 1
    return bytes(out)


def to_epoch(text):
    frac = 0
    if "." in text:
        text, f = text.split(".")
        frac = int(f) / (10 ** len(f))
    if text.startswith("0000-00-00"):
        return 0.0
    t = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return calendar.timegm(t.timetuple()) + frac


def same(word, ours_v, o):
    """Returns (comparable, equal)."""
    if o == b"NULL":
        return True, ours_v is None
    if ours_v is None:
        return True, False
    base = word.split("(")[0].split(" ")[0]
    s = o.decode("latin-1")
    if base in ("tinyint", "smallint", "mediumint", "int", "bigint", "year"):
        m = re.match(r"^(-?\d+)(?: \((\d+)\))?$", s)
        return True, bool(m) and ours_v in (int(m.group(1)), int(m.group(2) or m.group(1)))
    if base in ("float", "double"):
        a, b = float(s), float(ours_v)
        return True, abs(a - b) <= 1e-5 * max(1.0, abs(a))
    if base == "decimal":
        return True, decimal.Decimal(s) == decimal.Decimal(ours_v)
    if base == "date":
        return True, unquote(o).decode().replace(":", "-") == ours_v
    if base in ("datetime", "time"):
        a = unquote(o).decode()
        return True, a == ours_v or a.rstrip("0").rstrip(".") == ours_v.rstrip("0").rstrip(".")
    if base == "timestamp":
        return True, abs(float(s) - to_epoch(ours_v)) < 1e-6
    if base in ("bit",):
        return True, s.startswith("b'") and int(s[2:-1], 2) == ours_v
    if base == "enum":
        if isinstance(ours_v, int):
            return True, int(s) == ours_v
        return False, True  # a label: the oracle shows the index only
    if base == "set":
        bits = int(s[2:-1], 2) if s.startswith("b'") else int(s)
        if isinstance(ours_v, int):
            return True, bits == ours_v
        return True, bin(bits).count("1") == (len(ours_v.split(",")) if ours_v else 0)
    if base in ("binary", "varbinary", "blob"):
        return True, base64.b64decode(ours_v).rstrip(b"\0") == unquote(o).rstrip(b"\0")
    if base in ("char", "varchar", "text"):
        raw = unquote(o)
        for enc in ("utf-8", "cp1252", "latin-1"):
            try:
                if ours_v.encode(enc) == raw:
                    return True, True
            except UnicodeEncodeError:
                pass
        # Bytes invalid in their charset became U+FFFD on our side.
        return True, "\ufffd" in ours_v
    if base in ("json", "geometry", "vector"):
        return False, True
    return False, True


def main():
    lines, oracle = sys.argv[1], sys.argv[2]
    want = parse_oracle(oracle)
    got = ours(lines)
    if not want:
        print("oracle decoded no row image (%d row lines of ours)" % len(got))
        return 2
    if len(got) < len(want):
        print("oracle has %d row images, we have %d" % (len(want), len(got)))
        return 1
    compared = 0
    for i, (w, g) in enumerate(zip(want, got)):
        where = "%s row %s (oracle image %d)" % (g["binlog"], g.get("row"), i + 1)
        if w["kind"] != g["eventType"] or w["table"] != g["table"] or w["db"] != g["db"]:
            print("%s: %s `%s`.`%s` but we have %s `%s`.`%s`" % (where, w["kind"], w["db"], w["table"],
                                                              g["eventType"], g["db"], g["table"]))
            return 1
        names = list(g["types"].keys())
        for side in ("before", "after"):
            img = g.get(side) or {}
            if len(img) != len(w[side]):
                print("%s: %s image has %d columns, oracle %d" % (where, side, len(img), len(w[side])))
                return 1
            for n, o in w[side].items():
                if n - 1 >= len(names) or names[n - 1] not in img:
                    print("%s: %s lacks column @%d" % (where, side, n))
                    return 1
                name = names[n - 1]
                ok_cmp, eq = same(g["types"][name], img[name], o)
                if not eq:
                    print("%s: %s column %s (%s): ours %r, oracle %r" % (where, side, name, g["types"][name],
                                                                        img[name], o[:200]))
                    return 1
                compared += ok_cmp
    if compared == 0:
        print("no value could be compared")
        return 1
    extra = len(got) - len(want)
    print("%d row images, %d values compared%s" % (len(want), compared,
                                                   "; %d more rows of ours after the oracle stopped" % extra if extra else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
