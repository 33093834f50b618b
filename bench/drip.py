#!/usr/bin/env python3
"""Drips one large RESP MSET into a server in small pieces and waits for its +OK.

    bench/drip.py PORT [--pairs 160000] [--piece 8192] [--interval 0.004]

The request (about 4.7 MB for 160,000 pairs) is what a slow client or a hostile one sends: a
parser that starts over on every read pays for the whole request again on each piece. Prints
the request size, the number of pieces and the seconds until the reply; the caller measures
the server's CPU time around it.
"""
import argparse
import socket
import sys
import time


def mset(pairs):
    parts = [b"*%d\r\n$4\r\nMSET\r\n" % (1 + 2 * pairs)]
    for i in range(pairs):
        key = b"key:%d" % i
        value = b"value:%d" % i
        parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
    return b"".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--pairs", type=int, default=160_000)
    ap.add_argument("--piece", type=int, default=8192)
    ap.add_argument("--interval", type=float, default=0.004)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    wire = mset(args.pairs)
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.monotonic()
    pieces = 0
    for at in range(0, len(wire), args.piece):
        s.sendall(wire[at : at + args.piece])
        pieces += 1
        time.sleep(args.interval)
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = s.recv(64)
        if not chunk:
            break
        reply += chunk
    elapsed = time.monotonic() - start
    s.close()
    if reply != b"+OK\r\n":
        print(f"unexpected reply {reply!r}", file=sys.stderr)
        return 1
    print(f"{len(wire)}\t{pieces}\t{elapsed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
