#!/usr/bin/python3
"""Test helper for the mq-pipe integration tests: makes change lines, plays binlog-tail --resume,
acknowledges like a sink, and checks what came out of a broker.

  gen N [--keys K] [--seed S] [--pad P] [--plain] [--tx T]
                                  N rowpipe-events(5) lines (~330+P bytes, one transaction each, K rows
                                  updated in turn) on stdout, with a few CRLF endings and invalid UTF-8
                                  (none with --plain); --tx T: transactions of 2 to T rows (seeded),
                                  only the last line of each with commit and next
  covered INPUT CKPT              how many lines of INPUT checkpoint CKPT covers (0 without one); exit
                                  1 when CKPT is not the end of a transaction of INPUT
  last INPUT                      per row, its key as jsonl-to-redis names it and its last note
                                  ("shop_orders_ID<TAB>NOTE"), sorted by key
  feed FILE CKPT [--rate R]       the lines of FILE after checkpoint CKPT (as binlog-tail --resume
                                  would), R lines/s at most, never faster to catch up (0: no limit)
  ack FILE [--delay S]            a sink with --ack: appends each line to FILE, flushes, prints the
                                  count of lines taken; sleeps S seconds every 1000 lines; also writes
                                  the last count to FILE.acked
  check INPUT OUTPUT... [--exact] [--disjoint]
                                  every input line is in the outputs; per row key, the first copies
                                  come in input order; --exact: no duplicates; --disjoint: no key in
                                  two outputs. Prints one summary line; exit 1 on a failure.
"""
import json
import os
import random
import sys
import time

LINE = ('{"binlog":"mysql-bin.000001:%d","row":0,"server_id":1,"db":"shop","table":"orders",'
        '"eventType":"UPDATE","pk":["id"],"types":{"id":"int","note":"varchar"},'
        '"before":{"id":%d,"note":"v%d"},"after":{"id":%d,"note":"v%d %s"},'
        '"time":"2024-01-01 00:00:00","ts":1704067200,"commit":true,"next":"mysql-bin.000001:%d"}')


def pos_of(line):
    i = line.index(b'"binlog":"') + 10
    j = line.index(b'"', i)
    return int(line[i:j].rsplit(b':', 1)[1])


def key_of(line):
    i = line.index(b'"after":{"id":') + 14
    j = line.index(b',', i)
    return int(line[i:j])


def gen(n, keys, seed, pad_len=40, plain=False, tx=1):
    rnd = random.Random(seed)
    sizes = random.Random(seed + 1)  # apart, so that --tx leaves the rest of the lines as they were
    out = sys.stdout.buffer
    tx_left = 0
    for i in range(1, n + 1):
        k = i % keys
        pad = ''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz ') for _ in range(pad_len))
        line = (LINE % (i * 100, k, i - 1, k, i, pad, i * 100 + 100)).encode()
        if tx > 1:
            if tx_left == 0:
                tx_left = sizes.randint(2, tx)
            tx_left -= 1
            if tx_left > 0 and i < n:  # inside a transaction: no commit, no next
                line = line.replace(b',"commit":true,"next":"mysql-bin.000001:%d"' % (i * 100 + 100), b'')
        if i % 997 == 0 and not plain:  # invalid UTF-8 inside a string: carried unchanged
            line = line.replace(b'"note":"v%d ' % i, b'"note":"v%d \xff\xfe ' % i)
        end = b'\r\n' if i % 1009 == 0 and not plain else b'\n'  # CRLF lines come back as CRLF lines
        out.write(line + end)


def feed(path, ckpt, rate):
    start = 0
    if os.path.exists(ckpt):
        with open(ckpt) as f:
            start = int(json.load(f)['binlog'].rsplit(':', 1)[1])
    out = sys.stdout.buffer
    due = time.monotonic()
    sent = 0
    try:
        with open(path, 'rb') as f:
            for line in f:
                if pos_of(line) < start:
                    continue
                out.write(line)
                sent += 1
                if rate and sent % 100 == 0:
                    out.flush()
                    # Paced from the last batch, not from the start: a reader that fell behind gets no
                    # burst, so no 100 ms ever carry more than rate/10 lines (the kill loops' bound).
                    due += 100 / rate
                    now = time.monotonic()
                    if due > now:
                        time.sleep(due - now)
                    else:
                        due = now
        out.flush()
    except BrokenPipeError:
        pass


def ack(path, delay):
    """Acknowledges after each read: what arrived together is applied together."""
    n = 0
    rest = b''
    with open(path, 'ab') as f:
        while True:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            data = rest + chunk
            cut = data.rfind(b'\n') + 1
            rest = data[cut:]
            if cut == 0:
                continue
            f.write(data[:cut])
            f.flush()
            before = n
            n += data.count(b'\n', 0, cut)
            with open(path + '.acked', 'w') as a:
                a.write('%d\n' % n)
            sys.stdout.write('%d\n' % n)
            sys.stdout.flush()
            if delay and n // 1000 != before // 1000:
                time.sleep(delay)


def covered(path, ckpt):
    """Lines of PATH before checkpoint CKPT; None when CKPT is not the end of one of its transactions."""
    if not os.path.exists(ckpt):
        return 0
    with open(ckpt) as f:
        at = json.load(f)['binlog']
    n = 0
    with open(path, 'rb') as f:
        for line in f:
            n += 1
            i = line.find(b'"next":"')
            if i >= 0 and line[i + 8:line.index(b'"', i + 8)].decode() == at:
                return n
    return None


def last(path):
    notes = {}
    with open(path, 'rb') as f:
        for line in f:
            e = json.loads(line)
            notes[e['after']['id']] = e['after']['note']
    for k in sorted(notes, key=lambda k: 'shop_orders_%d' % k):
        print('shop_orders_%d\t%s' % (k, notes[k]))


def check(inputs, outputs, exact, disjoint):
    with open(inputs, 'rb') as f:
        want = f.read().splitlines(keepends=True)
    seen = {}
    order = {}
    owner = {}
    bad_order = dup = foreign = mixed = 0
    for idx, path in enumerate(outputs):
        with open(path, 'rb') as f:
            for line in f.read().splitlines(keepends=True):
                if line in seen:
                    seen[line] += 1
                    dup += 1
                    continue
                seen[line] = 1
                try:
                    k, p = key_of(line), pos_of(line)
                except ValueError:
                    foreign += 1
                    continue
                if order.get(k, -1) > p:
                    bad_order += 1
                order[k] = max(order.get(k, -1), p)
                if owner.setdefault(k, idx) != idx:
                    mixed += 1
    missing = sum(1 for line in want if line not in seen)
    extra = sum(1 for line in seen if line not in set(want)) if foreign or len(seen) > len(want) else 0
    ok = missing == 0 and bad_order == 0 and extra == 0 and (not exact or dup == 0) and (not disjoint or mixed == 0)
    print('%d input lines: %d missing, %d unknown, %d duplicates, %d out of order per key, %d keys in two outputs'
          % (len(want), missing, extra, dup, bad_order, mixed))
    return 0 if ok else 1


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ''
    args = argv[2:]

    def opt(name, default, conv=str):
        if name in args:
            i = args.index(name)
            v = conv(args[i + 1])
            del args[i:i + 2]
            return v
        return default

    if cmd == 'gen':
        keys = opt('--keys', 1000, int)
        seed = opt('--seed', 1, int)
        pad = opt('--pad', 40, int)
        tx = opt('--tx', 1, int)
        gen(int(args[0]), keys, seed, pad, '--plain' in args, tx)
    elif cmd == 'covered':
        n = covered(args[0], args[1])
        if n is None:
            print('not at the end of a transaction')
            return 1
        print(n)
    elif cmd == 'last':
        last(args[0])
    elif cmd == 'feed':
        rate = opt('--rate', 0, float)
        feed(args[0], args[1], rate)
    elif cmd == 'ack':
        delay = opt('--delay', 0, float)
        ack(args[0], delay)
    elif cmd == 'check':
        exact = '--exact' in args
        disjoint = '--disjoint' in args
        args = [a for a in args if a not in ('--exact', '--disjoint')]
        return check(args[0], args[1:], exact, disjoint)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
