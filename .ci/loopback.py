"""What the CI scripts that start servers share: the loopback host, a free port on it, and
waiting until a started process listens (failing the run when it exits or takes too long)."""
import socket
import sys
import time

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit(f"FAIL: {what} exited before listening")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"FAIL: {what} did not listen within 10 s")
