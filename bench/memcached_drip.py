#!/usr/bin/env python3
"""Drips one large memcached `set` into a server in small pieces and waits for its STORED.

    bench/memcached_drip.py PORT [--bytes 1000000] [--piece 1024] [--interval 0.001]

The value is what a slow client sends: a framing that scans the buffered value again on
every read pays for it again on each piece. Prints the request size, the number of pieces and
the seconds until the answer; the caller measures the server's CPU time around it.
"""
import argparse
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--bytes", type=int, default=1_000_000)
    ap.add_argument("--piece", type=int, default=1024)
    ap.add_argument("--interval", type=float, default=0.001)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    wire = b"set drip 0 0 %d\r\n" % args.bytes + b"v" * args.bytes + b"\r\n"
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.monotonic()
    pieces = 0
    for at in range(0, len(wire), args.piece):
        s.sendall(wire[at:at + args.piece])
        pieces += 1
        time.sleep(args.interval)
    answer = b""
    while not answer.endswith(b"\r\n"):
        chunk = s.recv(100)
        if not chunk:
            break
        answer += chunk
    took = time.monotonic() - start
    if answer != b"STORED\r\n":
        sys.exit(f"expected STORED, got {answer!r}")
    print(f"bytes={len(wire)} pieces={pieces} seconds={took:.3f}")


if __name__ == "__main__":
    main()
