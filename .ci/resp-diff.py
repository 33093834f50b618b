#!/usr/bin/env python3
"""Differential test: resp_server against a real redis-server, reply for reply.

Both servers get the same random command sequences (over raw RESP, compared byte for byte, and
through redis-py, compared as decoded values, pipelined and not) and a fixed list of protocol
edge cases (pipelining, one byte per write, malformed headers, inline quoting, half-close).
Replies must be identical except where a comparison rule says how they may differ:
  - TTL within 1 s, PTTL within 1000 ms (the two servers read their clocks at different times);
  - KEYS replies and CONFIG GET pairs as sets (Redis answers in hash-table order).
Everything else that differs on purpose is listed in the README ("Deliberate differences from
redis-server") and is not generated here. A mismatching sequence is shrunk to a short
reproducer. Prints `N sequences, M commands, K mismatches` and exits 1 on any mismatch.

usage: resp-diff.py RESP_SERVER_BINARY [--sequences N] [--length M] [--seed S]
"""

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

from loopback import HOST, free_port, wait_port
CI_SEED = 6  # the seed CI uses unless --seed is given
DEADLINE = time.monotonic() + 150  # the whole run stays within a couple of minutes


# --- processes ------------------------------------------------------------------------------

def start_servers(binary, work, procs):
    """Starts both servers; every process started is appended to `procs` at once, so the
    caller's cleanup ends it even when the other one fails to start."""
    redis_port = free_port()
    redis_proc = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", HOST, "--save", "",
         "--appendonly", "no", "--dir", work],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(redis_proc)
    wait_port(redis_port, redis_proc, "redis-server")
    ours = subprocess.Popen([binary, "--addr", f"{HOST}:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    procs.append(ours)
    line = ours.stdout.readline()
    m = re.match(r"listening on .*:(\d+)$", line.strip())
    if not m:
        sys.exit(f"FAIL: resp_server printed {line!r} instead of 'listening on HOST:PORT'")
    return (redis_proc, redis_port), (ours, int(m.group(1)))


# --- raw RESP -------------------------------------------------------------------------------

def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Raw:
    """A RESP connection that reads whole replies as raw bytes."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self, pos):
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                return end
            self._fill()

    def _reply_end(self, pos):
        end = self._line(pos)
        kind, head = self.buf[pos:pos + 1], self.buf[pos + 1:end]
        pos = end + 2
        if kind == b"$" and int(head) >= 0:
            while len(self.buf) < pos + int(head) + 2:
                self._fill()
            return pos + int(head) + 2
        if kind == b"*":
            for _ in range(max(int(head), 0)):
                pos = self._reply_end(pos)
        return pos

    def call(self, args):
        self.sock.sendall(encode(args))
        end = self._reply_end(0)
        reply, self.buf = self.buf[:end], self.buf[end:]
        return reply

    def close(self):
        self.sock.close()


def parse(raw):
    """A raw reply as a Python value, for the comparison rules."""
    def value(pos):
        end = raw.index(b"\r\n", pos)
        kind, head = raw[pos:pos + 1], raw[pos + 1:end]
        pos = end + 2
        if kind == b"$":
            n = int(head)
            return (None, pos) if n < 0 else (raw[pos:pos + n], pos + n + 2)
        if kind == b"*":
            items = []
            for _ in range(int(head)):
                item, pos = value(pos)
                items.append(item)
            return items, pos
        if kind == b":":
            return int(head), pos
        return (kind + head), pos
    return value(0)[0]


# --- comparison -----------------------------------------------------------------------------

def name_of(args):
    return args[0].upper() if isinstance(args[0], str) else args[0].decode("latin-1").upper()


def same(args, ours, theirs):
    """Whether two replies (raw bytes or redis-py values) are the same under the rules."""
    if ours == theirs:
        return True
    cmd = name_of(args)
    if isinstance(ours, bytes) and isinstance(theirs, bytes):
        if ours[:1] in b"*:" and theirs[:1] == ours[:1]:
            ours, theirs = parse(ours), parse(theirs)
        else:
            return False
    if cmd in ("TTL", "PTTL") and isinstance(ours, int) and isinstance(theirs, int):
        slack = 1 if cmd == "TTL" else 1000
        return ours >= 0 and theirs >= 0 and abs(ours - theirs) <= slack
    if cmd in ("KEYS", "SMEMBERS") and isinstance(ours, list) and isinstance(theirs, list):
        return sorted(ours) == sorted(theirs)
    if cmd == "CONFIG" and isinstance(ours, list) and isinstance(theirs, list):
        return sorted(zip(ours[::2], ours[1::2])) == sorted(zip(theirs[::2], theirs[1::2]))
    if isinstance(ours, dict) and isinstance(theirs, dict) and cmd == "CONFIG":
        return ours == theirs
    # Values that differ by nature (ids, versions, the size of the command table): same shape.
    sub = name_of(args[1:]) if len(args) > 1 else ""
    if (cmd, sub) in (("CLIENT", "ID"), ("COMMAND", "COUNT")):
        return isinstance(ours, int) and isinstance(theirs, int) and ours > 0 and theirs > 0
    if cmd == "HELLO" and isinstance(ours, (list, dict)) and isinstance(theirs, (list, dict)):
        return normalize_hello(ours) == normalize_hello(theirs)
    return False


def normalize_hello(reply):
    pairs = list(reply.items()) if isinstance(reply, dict) else list(zip(reply[::2], reply[1::2]))
    return [(k, "?" if k in (b"version", b"id", "version", "id") else v) for k, v in pairs]


# --- random commands ------------------------------------------------------------------------

KEYS = ["k", "k1", "k2", "user:1", "user:22", "x]", "-", "a\\b", ""]
INTS = ["0", "1", "-1", "7", "42", "100", "01", "00", "-0", "+1", " 1", "1.5", "abc",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "-9223372036854775", "-9223372036854776", "9223372036854775", "99999999999999999999"]
VALUES = ["v", "", "hello world", "10", "-5", "007", "9223372036854775807", "\xff\x00bin"]
GLOB = "*?[]^-\\ak:1u"
CONFIG_NAMES = ["save", "appendonly", "databases", "DATABASES", "data*", "appendonl?",
                "Save", "nosuch"]


def pick_int(r):
    return r.choice(INTS) if r.random() < 0.4 else str(r.randint(-3, 2000))


def ttl_value(r):
    # Long enough that no key expires during a sequence (1 s at least, even in milliseconds),
    # or invalid, or overflowing.
    if r.random() < 0.3:
        n = r.choice(INTS)
        if not re.fullmatch(r"[1-9][0-9]{0,2}", n):
            return n
    return str(r.randint(1000, 100000))


def set_command(r):
    args = ["SET", r.choice(KEYS), r.choice(VALUES)]
    for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
        opt = r.choice(["NX", "XX", "GET", "KEEPTTL", "EX", "PX", "EXAT", "PXAT", "nx", "ex",
                        "BAD"])
        args.append(opt)
        if opt.upper() in ("EX", "PX"):
            if r.random() < 0.9:
                args.append(ttl_value(r))
        elif opt.upper() == "EXAT":
            args.append(str(int(time.time()) + r.randint(100, 10000)))
        elif opt.upper() == "PXAT":
            args.append(str(int(time.time() * 1000) + r.randint(100000, 10000000)))
    return args


def expire_command(r):
    args = [r.choice(["EXPIRE", "PEXPIRE"]), r.choice(KEYS), ttl_value(r)]
    if r.random() < 0.1:
        args[2] = r.choice(["-1", "-100", "-9223372036854775", "-9223372036854776"])
    for _ in range(r.choice([0, 0, 1, 1, 2])):
        args.append(r.choice(["NX", "XX", "GT", "LT", "gt", "FOO"]))
    return args


def glob_pattern(r):
    return "".join(r.choice(GLOB) for _ in range(r.randint(0, 5)))


def weighted(r, choices):
    """One of `choices` ((weight, make) pairs) drawn by weight, made with `r`."""
    total = sum(w for w, _ in choices)
    x = r.uniform(0, total)
    for w, make in choices:
        x -= w
        if x <= 0:
            return make(r)
    return choices[0][1](r)


def random_command(r):
    k = lambda: r.choice(KEYS)
    choices = [
        (10, set_command),
        (8, lambda r: ["GET", k()]),
        (3, lambda r: ["DEL"] + [k() for _ in range(r.randint(1, 3))]),
        (3, lambda r: ["EXISTS"] + [k() for _ in range(r.randint(1, 3))]),
        (3, lambda r: [r.choice(["INCR", "DECR"]), k()]),
        (4, lambda r: [r.choice(["INCRBY", "DECRBY"]), k(), pick_int(r)]),
        (2, lambda r: ["MGET"] + [k() for _ in range(r.randint(1, 4))]),
        (2, lambda r: ["MSET"] + [x for _ in range(r.randint(1, 3)) for x in (k(), r.choice(VALUES))]),
        (1, lambda r: ["MSET", k()]),
        (5, expire_command),
        (2, lambda r: ["PERSIST", k()]),
        (4, lambda r: [r.choice(["TTL", "PTTL"]), k()]),
        (2, lambda r: ["DBSIZE"]),
        (4, lambda r: ["KEYS", glob_pattern(r)]),
        (1, lambda r: ["FLUSHDB"] + r.choice([[], [], ["ASYNC"], ["SYNC"], ["BAD"]])),
        (1, lambda r: ["FLUSHALL"] + r.choice([[], ["sync"], ["BAD"], ["ASYNC", "x"]])),
        (3, lambda r: ["SELECT", r.choice(["0", "1", "15", "16", "-1", "01", "x", str(r.randint(0, 15))])]),
        (2, lambda r: ["PING"] + r.choice([[], ["hi"], ["a", "b"]])),
        (2, lambda r: ["ECHO"] + r.choice([["x"], [""], [], ["a", "b"]])),
        (2, lambda r: ["CONFIG", "GET"] + r.sample(CONFIG_NAMES, r.randint(1, 3))),
        (1, lambda r: ["CONFIG"] + r.choice([["GET"], [], ["NOPE", "x"]])),
        (2, lambda r: [r.choice(["NOSUCH", "getx", "x" * 150])] + [
            r.choice(["a", "b" * 140, "\xffz", "q\x00r", ""]) for _ in range(r.randint(0, 14))]),
        (1, lambda r: ["CLIENT", "SETNAME", r.choice(["app", "a b", "", "ok-1"])]),
        (1, lambda r: ["CLIENT", "GETNAME"]),
        (1, lambda r: ["CLIENT", r.choice(["NOPE", "getname"]), "x"]),
        (1, lambda r: ["COMMAND", "DOCS", "nosuchcommand"]),
        (1, lambda r: ["COMMAND", "COUNT"]),
        (1, lambda r: ["CLIENT", "ID"]),
        (1, lambda r: ["HELLO"] + r.choice([["2"], [], ["2", "SETNAME", "hi"], ["x"], ["2", "FOO"],
                                             ["2", "AUTH", "default", "pw"], ["1"]])),
        (1, lambda r: ["CONFIG", "SET"] + r.choice([
            ["maxmemory", "0"], ["maxmemory-policy", "noeviction"], ["timeout", "0"],
            ["appendonly", "no"], ["save", ""], ["nosuch", "1"], ["appendonly", "maybe"],
            ["timeout", "0", "timeout", "0"], ["databases", "16"], ["timeout"],
            ["maxmemory", "0", "appendonly"]])),
        (1, lambda r: [r.choice(["get", "Get", "SET", "incr"])]),
    ]
    return weighted(r, choices)


# Commands a proxy routes by key (resp_proxy, .ci/resp-proxy.py): single-key commands of
# strings, counters, expiry, lists, hashes and sets, and MGET/MSET/DEL/EXISTS spanning keys.
# No SELECT, KEYS, FLUSH*, CONFIG or CLIENT (refused by a proxy), and nothing random (SPOP).
ROUTED_KEYS = KEYS + ["a", "b", "c", "counter", "list:1", "hash:2", "set:3", "7", "zz:top"]


def routed_command(r):
    k = lambda: r.choice(ROUTED_KEYS)
    v = lambda: r.choice(VALUES)
    many = lambda lo, hi: [k() for _ in range(r.randint(lo, hi))]
    choices = [
        (8, lambda r: [x if i != 1 else k() for i, x in enumerate(set_command(r))]),
        (6, lambda r: ["GET", k()]),
        (3, lambda r: [r.choice(["APPEND", "GETSET", "SETNX"]), k(), v()]),
        (2, lambda r: [r.choice(["STRLEN", "GETDEL", "TYPE"]), k()]),
        (4, lambda r: [r.choice(["INCR", "DECR"]), k()]),
        (3, lambda r: [r.choice(["INCRBY", "DECRBY"]), k(), pick_int(r)]),
        (4, lambda r: ["MGET"] + many(1, 6)),
        (4, lambda r: ["MSET"] + [x for _ in range(r.randint(1, 5)) for x in (k(), v())]),
        (1, lambda r: ["MSET", k()]),
        (3, lambda r: [r.choice(["DEL", "EXISTS", "UNLINK", "TOUCH"])] + many(1, 6)),
        (3, lambda r: [x if i != 1 else k() for i, x in enumerate(expire_command(r))]),
        (2, lambda r: ["PERSIST", k()]),
        (3, lambda r: [r.choice(["TTL", "PTTL"]), k()]),
        (4, lambda r: [r.choice(["LPUSH", "RPUSH"]), k()] + [v() for _ in range(r.randint(1, 3))]),
        (2, lambda r: [r.choice(["LPOP", "RPOP", "LLEN"]), k()]),
        (2, lambda r: ["LRANGE", k(), str(r.randint(-3, 2)), str(r.randint(-2, 5))]),
        (1, lambda r: ["LINDEX", k(), str(r.randint(-3, 3))]),
        (4, lambda r: ["HSET", k()] + [x for _ in range(r.randint(1, 2)) for x in (r.choice("fgh"), v())]),
        (2, lambda r: [r.choice(["HGET", "HDEL", "HEXISTS"]), k(), r.choice("fgh")]),
        (2, lambda r: [r.choice(["HGETALL", "HLEN", "HKEYS"]), k()]),
        (1, lambda r: ["HINCRBY", k(), r.choice("fgh"), pick_int(r)]),
        (4, lambda r: [r.choice(["SADD", "SREM"]), k()] + [r.choice(VALUES) for _ in range(r.randint(1, 3))]),
        (2, lambda r: [r.choice(["SMEMBERS", "SCARD"]), k()]),
        (1, lambda r: ["SISMEMBER", k(), v()]),
        (1, lambda r: ["PING"] + r.choice([[], ["hi"]])),
        (1, lambda r: ["ECHO", v()]),
    ]
    return weighted(r, choices)


def as_bytes(args):
    return [a.encode("latin-1") if isinstance(a, str) else a for a in args]


# --- running sequences ----------------------------------------------------------------------

def run_raw(port, seq, flush=None):
    """Runs `seq` on one connection after emptying the server (FLUSHALL on the connection, or
    `flush()` for a server that refuses it, such as a proxy)."""
    conn = Raw(port)
    try:
        flush() if flush else conn.call(["FLUSHALL"])
        return [conn.call(as_bytes(args)) for args in seq]
    finally:
        conn.close()


def py_call(client, args):
    try:
        return client.execute_command(*as_bytes(args))
    except redis.ResponseError as e:
        return ("error", str(e))


def run_py(port, seq, pipelined, flush=None):
    client = redis.Redis(host=HOST, port=port, protocol=2, single_connection_client=True,
                         socket_timeout=5)
    try:
        flush() if flush else client.execute_command("FLUSHALL")
        if not pipelined:
            return [py_call(client, args) for args in seq]
        pipe = client.pipeline(transaction=False)
        for args in seq:
            pipe.execute_command(*as_bytes(args))
        out = pipe.execute(raise_on_error=False)
        return [("error", str(x)) if isinstance(x, redis.ResponseError) else x for x in out]
    finally:
        client.close()


def first_mismatch(ports, seq, mode):
    runner = {"raw": run_raw,
              "py": lambda p, s: run_py(p, s, False),
              "py-pipeline": lambda p, s: run_py(p, s, True)}[mode]
    ours, theirs = runner(ports[0], seq), runner(ports[1], seq)
    for i, (args, a, b) in enumerate(zip(seq, ours, theirs)):
        if not same(args, a, b):
            return i, a, b
    return None


def shrink(ports, seq, mode, found):
    """Drops commands while the mismatch remains (one at a time, until nothing can go). A
    mismatch that does not happen again is reported as it first was."""
    again = first_mismatch(ports, seq, mode)
    if not again:
        print("  (did not happen again: a timing difference?)")
        return seq[:found[0] + 1], found
    seq = seq[:again[0] + 1]
    changed = True
    while changed and time.monotonic() < DEADLINE + 30:
        changed = False
        for i in range(len(seq) - 1, -1, -1):
            trial = seq[:i] + seq[i + 1:]
            if trial and first_mismatch(ports, trial, mode):
                seq, changed = trial, True
    return seq, first_mismatch(ports, seq, mode)


# --- fixed protocol edge cases --------------------------------------------------------------

PIPELINE = b"".join(encode(["SET", "p%d" % i, str(i)]) + encode(["INCR", "p%d" % i])
                    for i in range(200))
EDGE_CASES = [
    ("pipelined batch", PIPELINE + b"PING\r\n", {}),
    ("one byte per write", encode(["ECHO", "hello"]) + b"ECHO one\r\n", {"chunk": 1}),
    ("three bytes per write", PIPELINE[:300] + encode(["GET", "p1"]), {"chunk": 3}),
    ("leading zero multibulk", b"*01\r\n$4\r\nPING\r\n", {}),
    ("leading zero bulk", b"*1\r\n$04\r\nPING\r\n", {}),
    ("negative zero multibulk", b"*-0\r\nPING\r\n", {}),
    ("multibulk not a number", b"*x\r\n", {}),
    ("multibulk over INT_MAX", b"*2147483648\r\n", {}),
    ("huge multibulk declared, then EOF", b"*1048577\r\n$1\r\na\r\n", {}),
    ("null bulk in a request", b"*1\r\n$-1\r\n", {}),
    ("integer instead of bulk", b"PING\r\n*1\r\n:1\r\n", {}),
    ("empty and null multibulk", b"*0\r\n*-1\r\nPING\r\n", {}),
    ("blank inline lines", b"\r\n\n  \r\nPING\r\n", {}),
    ("inline double quotes", b'SET k "a b"\r\nGET k\r\nECHO ""\r\n', {}),
    ("inline escapes", b'ECHO "\\x41\\n\\t\\"" \'it\\\'s\'\r\nECHO "\\x41z"\r\n', {}),
    ("inline unbalanced quote", b'PING\r\nECHO "x\r\nPING\r\n', {}),
    ("inline closing quote glued", b'ECHO "a"b\r\n', {}),
    ("inline bare CR", b"ECHO a\rb\r\nECHO a\r\n", {}),
    ("inline LF only", b"PING\nECHO x\n", {}),
    ("inline 70,000 bytes", b"ECHO " + b"a" * 70000 + b"\r\n", {}),
    ("inline over 80 KiB", b"ECHO " + b"a" * 200000 + b"\r\n", {}),
    ("partial request at EOF", b"PING\r\n*2\r\n$3\r\nGET\r\n", {}),
    ("half-close after a request", encode(["SET", "h", "1"]) + encode(["GET", "h"]), {}),
    ("QUIT ends the connection", b"PING\r\nQUIT\r\nPING\r\n", {}),
    ("unknown command, binary args", encode([b"N\xffO", b"a\x00b", b"\xfe"]), {}),
]


def exchange(port, data, chunk=None):
    """Sends `data` (in `chunk`-byte writes), half-closes, reads until the server closes."""
    s = socket.create_connection((HOST, port), timeout=5)
    try:
        if chunk:
            for i in range(0, len(data), chunk):
                s.sendall(data[i:i + chunk])
        else:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the server closed early (after a protocol error); what it sent is still read
    out = b""
    closed = "closed"
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        closed = "open"
    except ConnectionResetError:
        closed = "closed"
    s.close()
    return out, closed


def show(x, limit=300):
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--sequences", type=int, default=1000)
    ap.add_argument("--length", type=int, default=40)
    ap.add_argument("--seed", type=int, default=None)
    opts = ap.parse_args()
    if opts.seed is not None:
        seed = opts.seed
    elif os.environ.get("CI"):
        # CI is a gate, not a search: a fixed seed keeps a landing from failing by chance.
        # Local runs draw a new seed each time to explore.
        seed = CI_SEED
    else:
        seed = random.randrange(1 << 30)
    print(f"seed {seed} (rerun with --seed {seed})")
    r = random.Random(seed)
    work = tempfile.mkdtemp()
    procs = []
    sequences = commands = mismatches = 0
    try:
        (_, redis_port), (_, ours_port) = start_servers(opts.binary, work, procs)
        ports = (ours_port, redis_port)
        for name, data, how in EDGE_CASES:
            for port in ports:
                Raw(port).call(["FLUSHALL"])
            a = exchange(ours_port, data, how.get("chunk"))
            b = exchange(redis_port, data, how.get("chunk"))
            sequences += 1
            commands += 1
            if a != b:
                mismatches += 1
                print(f"MISMATCH edge case '{name}': {show(data)}\n  resp_server: {show(a)}\n"
                      f"  redis:       {show(b)}")
        modes = ["raw", "py", "py-pipeline"]
        for n in range(opts.sequences):
            if time.monotonic() > DEADLINE:
                print(f"time budget reached after {n} random sequences")
                break
            seq = [random_command(r) for _ in range(r.randint(1, opts.length))]
            mode = modes[n % len(modes)]
            sequences += 1
            commands += len(seq)
            found = first_mismatch(ports, seq, mode)
            if found:
                mismatches += 1
                small, (i, a, b) = shrink(ports, seq, mode, found)
                print(f"MISMATCH ({mode}), shrunk to {len(small)} commands:")
                for args in small:
                    print("   ", " ".join(show(x, 60) for x in args))
                print(f"  command {i + 1}: resp_server {show(a)}\n  {' ' * len(str(i + 1))}"
                      f"           redis       {show(b)}")
                if mismatches >= 10:
                    print("stopping after 10 mismatches")
                    break
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{sequences} sequences, {commands} commands, {mismatches} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
