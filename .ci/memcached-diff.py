#!/usr/bin/env python3
"""Differential test: memcached_server against a real memcached 1.6, answer for answer.

Both servers get the same random command sequences (classic and meta commands, valid and
refused lines, noreply and q, bad data chunks), sent three ways: one command at a time,
pipelined in one write, and pipelined in random pieces; then fixed protocol edge cases (a block
over the item limit, a line over memcached's limit, quit, an HTTP request line, one byte per
write). Each exchange ends with `mn` (the meta no-op, answered `MN`) as a fence. Answers must be
identical after two normalisations:
  - CAS unique ids are renumbered by first appearance (the two servers count differently);
  - the `VERSION` line's version and `stats` values (not their names' presence) are not compared.
Deliberate differences are not generated here; they are listed in the README ("memcached_server:
deliberate differences"). Prints `N sequences, M commands, K mismatches`; exits 1 on any mismatch.

usage: memcached-diff.py MEMCACHED_SERVER_BINARY [--sequences N] [--length M] [--seed S]
"""

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import time

from loopback import HOST, free_port, wait_port
CI_SEED = 23
DEADLINE = time.monotonic() + 100  # the whole run stays under two minutes
KEYS = [b"a", b"b", b"num", b"k" * 250, b"\xff\x01x"]


def start_servers(binary, procs):
    port = free_port()
    user = ["-u", "root"] if os.geteuid() == 0 else []
    real = subprocess.Popen(["memcached", "-l", HOST, "-p", str(port), "-U", "0", "-t", "1",
                             "-m", "64", *user], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs.append(real)
    wait_port(port, real, "memcached")
    ours = subprocess.Popen([binary, "--addr", f"{HOST}:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    procs.append(ours)
    line = ours.stdout.readline()
    m = re.match(r"listening on .*:(\d+)$", line.strip())
    if not m:
        sys.exit(f"FAIL: memcached_server printed {line!r} instead of 'listening on HOST:PORT'")
    return port, int(m.group(1))


# --- exchanges ------------------------------------------------------------------------------

def connect(port):
    s = socket.create_connection((HOST, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until(sock, end, timeout=5.0):
    """Reads until what came ends with `end`, or the peer closes, or `timeout`: (bytes, closed)."""
    buf = b""
    stop = time.monotonic() + timeout
    while not buf.endswith(end):
        sock.settimeout(max(0.01, stop - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return buf + b"<timeout>", False
        except ConnectionResetError:
            return buf + b"<reset>", True
        if not chunk:
            return buf, True
        buf += chunk
    return buf, False


def send_pieces(sock, wire, rng):
    at = 0
    while at < len(wire):
        n = rng.randint(1, 40)
        sock.sendall(wire[at:at + n])
        at += n
        if rng.random() < 0.1:
            time.sleep(0.001)


def run(port, commands, mode, rng):
    """The answers to `commands` (a list of byte strings) in `mode`, fenced by `mn`."""
    sock = connect(port)
    try:
        if mode == "interactive":
            out = b""
            for cmd in commands:
                sock.sendall(cmd + b"mn\r\n")
                answer, closed = read_until(sock, b"MN\r\n")
                out += answer
                if closed:
                    return out + b"<closed>"
            return out
        wire = b"".join(commands) + b"mn\r\n"
        if mode == "pipelined":
            sock.sendall(wire)
        else:
            send_pieces(sock, wire, rng)
        out, closed = read_until(sock, b"MN\r\n")
        return out + (b"<closed>" if closed else b"")
    finally:
        sock.close()


def normalise(answer):
    ids = {}

    def cas(m):
        return m.group(1) + b"#%d" % ids.setdefault(m.group(2), len(ids))
    answer = re.sub(rb"(VALUE \S+ \d+ \d+ )(\d+)\r\n", lambda m: cas(m) + b"\r\n", answer)
    answer = re.sub(rb"( c)(\d+)", cas, answer)
    answer = re.sub(rb"(cas=)(\d+)", cas, answer)
    answer = re.sub(rb"VERSION \S+", b"VERSION x", answer)
    answer = re.sub(rb"STAT (\S+) [^\r]*", rb"STAT \1 x", answer)
    return answer


# --- random commands ------------------------------------------------------------------------

def value(rng):
    kind = rng.random()
    if kind < 0.3:
        return str(rng.randint(0, 2**64 - 1) if rng.random() < 0.2 else rng.randint(0, 999)).encode()
    n = rng.choice([0, 1, 2, 5, 10, 100])
    return bytes(rng.choice(b"abcxyz \r\n\x00\xff019") for _ in range(n))


def command(rng):
    key = rng.choice(KEYS)
    r = rng.random
    nr = b" noreply" if r() < 0.15 else b""
    v = value(rng)
    flags = rng.choice([b"0", b"1", b"4294967295", b"-1", b"x"])
    exptime = rng.choice([b"0", b"0", b"1000", b"-1", b"9999999999"])
    name = rng.choice([b"set", b"add", b"replace", b"append", b"prepend", b"cas",
                       b"get", b"gets", b"gat", b"gats", b"delete", b"incr", b"decr", b"touch",
                       b"mg", b"ms", b"md", b"ma", b"junk", b"version", b"verbosity",
                       b"flush_all", b"set", b"get", b"mg"])
    if name in (b"set", b"add", b"replace", b"append", b"prepend", b"cas"):
        length = len(v)
        if r() < 0.05:
            length = rng.choice([-1, len(v) + 1])
        cas = b" " + str(rng.choice([0, 1, 2, 3, 99])).encode() if name == b"cas" else b""
        line = b"%s %s %s %s %d%s%s\r\n" % (name, key, flags, exptime, length, cas, nr)
        if length < 0:
            return line
        term = b"\r\n" if r() > 0.05 else b"XY"
        return line + v + term if length == len(v) else line + v + b"Q" + term
    if name in (b"get", b"gets"):
        return name + b" " + b" ".join(rng.sample(KEYS, rng.randint(1, 3))) + b"\r\n"
    if name in (b"gat", b"gats"):
        return b"%s %s %s\r\n" % (name, exptime, b" ".join(rng.sample(KEYS, rng.randint(1, 2))))
    if name == b"delete":
        return b"delete %s%s%s\r\n" % (key, rng.choice([b"", b" 0", b" 5"]), nr)
    if name in (b"incr", b"decr"):
        return b"%s %s %s%s\r\n" % (name, key, rng.choice([b"1", b"7", b"18446744073709551615", b"x", b"-1"]), nr)
    if name == b"touch":
        return b"touch %s %s%s\r\n" % (key, exptime, nr)
    if name == b"flush_all":
        return b"flush_all%s\r\n" % rng.choice([b"", b" 0", b" noreply", b" x"])
    if name == b"verbosity":
        return b"verbosity %s\r\n" % rng.choice([b"1", b"0 noreply", b"x"])
    if name == b"mg":
        fl = rng.sample([b"v", b"k", b"c", b"f", b"s", b"t", b"q", b"Oabc", b"T100"], rng.randint(0, 4))
        if r() < 0.05:
            fl.append(rng.choice([b"!", b"v", b"Tx"]))
        return b"mg %s %s\r\n" % (key, b" ".join(fl))
    if name == b"ms":
        fl = rng.sample([b"T0", b"F5", b"q", b"Oxy", b"k", b"c", b"MA", b"ME", b"MP", b"MR", b"MS"], rng.randint(0, 3))
        fl = [f for i, f in enumerate(fl) if not (f.startswith(b"M") and any(g.startswith(b"M") for g in fl[:i]))]
        if r() < 0.1:
            fl.append(rng.choice([b"C1", b"C0", b"Mz", b"!"]))
        term = b"\r\n" if r() > 0.05 else b"XY"
        return b"ms %s %d %s\r\n%s%s" % (key, len(v), b" ".join(fl), v, term)
    if name == b"md":
        fl = rng.sample([b"q", b"Oa", b"k", b"C1"], rng.randint(0, 2))
        return b"md %s %s\r\n" % (key, b" ".join(fl))
    if name == b"ma":
        fl = rng.sample([b"v", b"N0", b"J5", b"D3", b"MD", b"q", b"Oz", b"k", b"t"], rng.randint(0, 3))
        fl = [f for i, f in enumerate(fl) if not (f.startswith(b"M") and any(g.startswith(b"M") for g in fl[:i]))]
        return b"ma %s %s\r\n" % (key, b" ".join(fl))
    if name == b"version":
        return b"version\r\n"
    return rng.choice([b"junk\r\n", b"\r\n", b"x\r\n", b"get\r\n", b"set a\r\n", b"mz a\r\n"])


# --- edge cases -----------------------------------------------------------------------------

def edge_cases():
    big = b"set big 0 0 2000000\r\n" + b"x" * 2000000 + b"\r\nget big\r\n"
    return [
        ("block over the item limit, skipped", b"set big 0 0 1\r\n1\r\n" + big + b"mn\r\n", False),
        ("ms over the item limit", b"ms big 1100000 T0\r\n" + b"y" * 1100000 + b"\r\nmg big v\r\nmn\r\n", False),
        ("the item limit's exact edge (1 MiB: 59 bytes of header, the key, 4 for flags)",
         b"".join(b"set k %s 0 %d\r\n" % (f, n) + b"e" * n + b"\r\n"
                  for n in (1048516, 1048517) for f in (b"0", b"1")) + b"mn\r\n", False),
        ("bad data chunk", b"set a 0 0 3\r\nabcdef\r\nget a\r\nmn\r\n", False),
        ("long key", b"get " + b"k" * 251 + b"\r\nset " + b"k" * 251 + b" 0 0 1\r\nx\r\nmn\r\n", False),
        ("quit", b"set q 0 0 1\r\n1\r\nquit\r\nget q\r\n", True),
        ("quit as the first request", b"quit\r\nget q\r\n", True),
        ("HTTP request line", b"GET / HTTP/1.1\r\nget a\r\n", True),
        ("line over the limit", b"x" * 3000, True),
        ("LF without CR", b"set a 0 0 1\nz\r\nget a\nmn\n", False),
        ("incr in place", b"set n 0 0 3\r\n100\r\ndecr n 1\r\nget n\r\nincr n 1000\r\nget n\r\nmn\r\n", False),
        ("many keys", b"get " + b" ".join(b"k%d" % i for i in range(40)) + b"\r\nmn\r\n", False),
    ]


def run_edge(port, wire, closes, byte_at_a_time):
    sock = connect(port)
    try:
        try:
            if byte_at_a_time:
                for i in range(len(wire)):
                    sock.sendall(wire[i:i + 1])
            else:
                sock.sendall(wire)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server hung up mid-write; what it answered is still compared
        if closes:
            out, closed = read_until(sock, b"\x00never", timeout=3)
            # Whether a close comes as FIN or RST depends on whether bytes the server never
            # read were still arriving when it closed (a race when they come a byte at a
            # time; memcached resets, memcached_server drains them): only the close counts.
            out = out.removesuffix(b"<reset>")
            return out + (b"<closed>" if closed else b"<open>")
        out, closed = read_until(sock, b"MN\r\n", timeout=10)
        return out + (b"<closed>" if closed else b"")
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--sequences", type=int, default=120)
    ap.add_argument("--length", type=int, default=30)
    ap.add_argument("--seed", type=int, default=CI_SEED)
    args = ap.parse_args()
    procs = []
    mismatches = 0
    sequences = commands = 0
    try:
        real, ours = start_servers(args.binary, procs)
        rng = random.Random(args.seed)
        for i in range(args.sequences):
            if time.monotonic() > DEADLINE:
                print("stopping early at the time bound")
                break
            seq = [command(rng) for _ in range(rng.randint(1, args.length))]
            mode = ("interactive", "pipelined", "pieces")[i % 3]
            for port in (real, ours):
                run(port, [b"flush_all\r\n"], "interactive", rng)
            piece_seed = rng.random()
            want = normalise(run(real, seq, mode, random.Random(piece_seed)))
            got = normalise(run(ours, seq, mode, random.Random(piece_seed)))
            sequences += 1
            commands += len(seq)
            if want != got:
                mismatches += 1
                print(f"MISMATCH in sequence {i} ({mode}):")
                print("  sent:     ", b"".join(seq)[:3000])
                print("  memcached:", want[:3000])
                print("  ours:     ", got[:3000])
        for name, wire, closes in edge_cases():
            for byte_at_a_time in (False, True):
                if byte_at_a_time and len(wire) > 100_000:
                    continue
                for port in (real, ours):
                    run(port, [b"flush_all\r\n"], "interactive", rng)
                want = normalise(run_edge(real, wire, closes, byte_at_a_time))
                got = normalise(run_edge(ours, wire, closes, byte_at_a_time))
                commands += 1
                if want != got:
                    mismatches += 1
                    print(f"MISMATCH in edge case {name!r} (byte at a time: {byte_at_a_time}):")
                    print("  memcached:", want[:600])
                    print("  ours:     ", got[:600])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"{sequences} sequences, {commands} commands, {mismatches} mismatches")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
