#!/usr/bin/env python3
"""Checks that an ack server answers exactly as framekit's ack_server does, before
bench/server.sh measures it: each line (LF-terminated, a CR right before the LF dropped) comes
back as b"ack:" + line + b"\\n", in order, for lines sent one by one and pipelined in one write.

    python3 bench/peers/check.py 127.0.0.1:7001      # exit 0 and "ok", or exit 1 and the diff
"""

import socket
import sys

# Lines as sent, each with the answer it must get.
CASES = [
    (b"hello\n", b"ack:hello\n"),
    (b"world\r\n", b"ack:world\n"),
    (b"\n", b"ack:\n"),
    (b"two words\n", b"ack:two words\n"),
    (b"inner\rcr\n", b"ack:inner\rcr\n"),
    (b"x" * 1000 + b"\n", b"ack:" + b"x" * 1000 + b"\n"),
]
TIMEOUT_S = 5


def exchange(addr: tuple, payload: bytes, expect_len: int) -> bytes:
    with socket.create_connection(addr, timeout=TIMEOUT_S) as sock:
        sock.sendall(payload)
        got = b""
        while len(got) < expect_len:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def main() -> int:
    host, _, port = sys.argv[1].rpartition(":")
    addr = (host, int(port))
    want = b"".join(answer for _, answer in CASES)
    one_by_one = b"".join(exchange(addr, sent, len(answer)) for sent, answer in CASES)
    pipelined = exchange(addr, b"".join(sent for sent, _ in CASES), len(want))
    for how, got in (("one line per connection", one_by_one), ("pipelined", pipelined)):
        if got != want:
            print(f"{sys.argv[1]} answers wrongly ({how}):\n want {want!r}\n got  {got!r}")
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
