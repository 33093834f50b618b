#!/usr/bin/env python3
"""A fixed memcached load whose every answer is checked: N `set`s or N `get`s of memcslap's
sizes (100-byte keys, 400-byte values) over C connections, each with one request in flight.

    bench/memcached_load.py PORT --op set --requests 20000 --connections 16
    bench/memcached_load.py PORT --op get --requests 20000 --connections 16

The keys are the same on every run (key i of N), so a `get` run after a `set` run of the same N
hits every key; an answer other than the exact one expected (STORED, or the value) fails the
run, so a count taken around it is a count of the intended requests. Meant for
bench/memcached-callgrind.sh, where the server runs under valgrind and this client's own speed
does not matter; one thread, non-blocking sockets. Prints `requests=N seconds=S`.
"""
import argparse
import selectors
import socket
import sys
import time

KEY_BYTES = 100
VALUE_BYTES = 400


def key(i):
    return (b"k%d:" % i).ljust(KEY_BYTES, b"x")


def value(i):
    return (b"v%d:" % i).ljust(VALUE_BYTES, b"y")


def exchange(op, i):
    """The request for key i and the exact answer it must get."""
    k, v = key(i), value(i)
    if op == "set":
        return b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v), b"STORED\r\n"
    return b"get %s\r\n" % k, b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v), v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--op", choices=["set", "get"], required=True)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()

    conns = max(1, min(args.connections, args.requests))
    sel = selectors.DefaultSelector()
    # Connection c sends keys c, c + conns, c + 2 * conns, ...: every key once in all.
    state = {}
    for c in range(conns):
        s = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        state[s] = {"next": c, "want": b"", "got": bytearray()}
        sel.register(s, selectors.EVENT_READ)

    def send_next(s):
        st = state[s]
        if st["next"] >= args.requests:
            sel.unregister(s)
            s.close()
            return False
        request, st["want"] = exchange(args.op, st["next"])
        st["next"] += conns
        st["got"].clear()
        s.setblocking(True)
        s.sendall(request)
        s.setblocking(False)
        return True

    start = time.monotonic()
    deadline = start + args.timeout
    open_ = sum(send_next(s) for s in list(state))
    while open_:
        if time.monotonic() > deadline:
            sys.exit(f"FAIL: not done within {args.timeout} s")
        for k, _ in sel.select(timeout=1.0):
            s = k.fileobj
            st = state[s]
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("FAIL: the server closed a connection")
            st["got"] += chunk
            got = bytes(st["got"])
            if len(got) < len(st["want"]) and st["want"].startswith(got):
                continue
            if got != st["want"]:
                sys.exit(f"FAIL: {args.op} answered {bytes(st['got'][:80])!r}, "
                         f"expected {st['want'][:80]!r}")
            if not send_next(s):
                open_ -= 1
    print(f"requests={args.requests} seconds={time.monotonic() - start:.3f}")


if __name__ == "__main__":
    main()
