#!/usr/bin/env python3
"""resp_server behind a real HAProxy, and restarts that fail no request; run by .ci/haproxy.sh.

    python3 .ci/haproxy.py PATH/TO/resp_server

Every process this script starts is stopped by its pid at the end; every wait is bounded.
Prints one line per scenario and exits non-zero on the first failure.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# The socket a supervisor hands to resp_server as LISTEN_FDS, made first so it can sit at fd 3.
HANDOVER = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
HANDOVER.bind(("127.0.0.1", 0))
HANDOVER.listen(512)

BIN = sys.argv[1]
from loopback import HOST, free_port
# HAProxy connects from here; the backends trust only this address.
BALANCER_SOURCE = "127.0.0.2"
WORK = tempfile.mkdtemp(prefix="haproxy-ci-")
PROCS = []


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    for name in sorted(os.listdir(WORK)):
        path = os.path.join(WORK, name)
        with open(path, errors="replace") as f:
            tail = f.read()[-3000:]
        if tail:
            print(f"--- {name}\n{tail}", file=sys.stderr)
    sys.exit(1)


def wait_listening(proc, log, limit=20):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            fail(f"{log} exited with {proc.returncode} before listening")
        with open(os.path.join(WORK, log)) as f:
            if "listening on" in f.read():
                return
        time.sleep(0.05)
    fail(f"{log} did not print `listening on` within {limit} s")


def start_backend(name, port):
    out = open(os.path.join(WORK, f"{name}.out"), "a")
    err = open(os.path.join(WORK, f"{name}.err"), "a")
    proc = subprocess.Popen(
        [BIN, "--addr", f"{HOST}:{port}", "--proxy-protocol", "v2",
         "--proxy-trusted", f"{BALANCER_SOURCE}/32"],
        stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    PROCS.append(proc)
    wait_listening(proc, f"{name}.out")
    return proc


def stop(proc, name, limit=10):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(limit)
    except subprocess.TimeoutExpired:
        fail(f"{name} did not exit within {limit} s of SIGTERM")
    if code != 0:
        fail(f"{name} exited with {code} after SIGTERM")


def resp(*args):
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(sock):
    """One RESP reply (simple, error, integer or bulk), or None if the connection closed first."""
    buf = b""
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    line, rest = buf.split(b"\r\n", 1)
    if line[:1] != b"$" or line == b"$-1":
        return line
    want = int(line[1:]) + 2
    while len(rest) < want:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        rest += chunk
    return rest[: want - 2]


def client_info(port):
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(resp("CLIENT", "INFO"))
        info = read_reply(s)
        if info is None:
            fail("CLIENT INFO through HAProxy got no reply")
        fields = dict(kv.split("=", 1) for kv in info.decode().split() if "=" in kv)
        return s.getsockname(), fields


def scenario_client_info(front):
    for _ in range(4):  # both backends, round robin
        (ip, port), fields = client_info(front)
        if fields.get("addr") != f"{ip}:{port}":
            fail(f"CLIENT INFO says addr={fields.get('addr')}, the client is {ip}:{port}")
        if fields.get("laddr") != f"{HOST}:{front}":
            fail(f"CLIENT INFO says laddr={fields.get('laddr')}, the client connected to {HOST}:{front}")
    got = subprocess.run(["redis-cli", "-h", HOST, "-p", str(front), "CLIENT", "INFO"],
                         capture_output=True, text=True, timeout=10)
    if got.returncode != 0 or f"addr={HOST}:" not in got.stdout or f"laddr={HOST}:{front}" not in got.stdout:
        fail(f"redis-cli CLIENT INFO through HAProxy: {got.stdout!r} {got.stderr!r}")
    print("haproxy: CLIENT INFO shows the client's own address (raw RESP x4, redis-cli)")


def scenario_benchmark(front):
    got = subprocess.run(["redis-benchmark", "-h", HOST, "-p", str(front), "-n", "2000", "-c", "8",
                          "-q", "-t", "ping,set,get"], capture_output=True, text=True, timeout=120)
    lines = [l for l in got.stdout.replace("\r", "\n").splitlines() if "requests per second" in l]
    if got.returncode != 0 or len(lines) < 3:
        fail(f"redis-benchmark through HAProxy: rc={got.returncode} {got.stdout[-500:]!r} {got.stderr[-500:]!r}")
    print("haproxy: redis-benchmark -n 2000 -c 8 through HAProxy:", "; ".join(l.strip() for l in lines[-3:]))


def scenario_forged(backend_port):
    forged = (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + bytes([203, 0, 113, 66, 127, 0, 0, 1])
              + (1234).to_bytes(2, "big") + backend_port.to_bytes(2, "big"))
    with socket.create_connection((HOST, backend_port), timeout=5) as s:
        s.sendall(forged + resp("PING"))
        try:
            reply = read_reply(s)
        except ConnectionResetError:
            reply = None
    if reply is not None:
        fail(f"a forged PROXY header from {HOST} (untrusted) got the reply {reply!r}")
    print(f"haproxy: a PROXY header forged from the untrusted {HOST} is refused without a reply")


class Load:
    """Clients that send one request at a time, each retried once on a new connection when its
    connection closes without a reply; bounded by count and by time."""

    def __init__(self, connect, clients=4, max_requests=50_000):
        self.connect, self.clients, self.max_requests = connect, clients, max_requests
        self.sent = self.answered = self.retried = self.refused = 0
        self.unanswered = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def new_connection(self):
        for _ in range(50):
            try:
                return socket.create_connection(self.connect(), timeout=10)
            except ConnectionRefusedError:
                with self.lock:
                    self.refused += 1
                time.sleep(0.02)
        raise RuntimeError("50 refused connection attempts in a row")

    def run(self, i):
        sock, n = None, 0
        while not self.stop.is_set() and self.sent < self.max_requests:
            n += 1
            request = resp("SET", f"load:{i}", str(n))
            with self.lock:
                self.sent += 1
            for attempt in range(2):
                try:
                    if sock is None:
                        sock = self.new_connection()
                    sock.sendall(request)
                    reply = read_reply(sock)
                except (ConnectionResetError, BrokenPipeError):
                    reply = None
                if reply == b"+OK":
                    with self.lock:
                        self.answered += 1
                    break
                if sock is not None:
                    sock.close()
                sock = None
                if reply is not None or attempt == 1:
                    with self.lock:
                        self.unanswered.append((i, n, reply))
                    break
                with self.lock:
                    self.retried += 1
            if getattr(self, "one_per_connection", False) and sock is not None:
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def report(self, what):
        line = (f"{what}: sent={self.sent} answered={self.answered} retried={self.retried} "
                f"refused={self.refused} unanswered={len(self.unanswered)}")
        print(line)
        if self.unanswered or self.answered != self.sent:
            fail(f"{line}; first unanswered: {self.unanswered[:5]}")
        if self.answered == 0:
            fail(f"{what}: no request went through")


def scenario_rolling_restart(front, backends):
    with Load(lambda: (HOST, front)) as load:
        time.sleep(1)
        for name, (proc, port) in list(backends.items()):
            stop(proc, name)
            time.sleep(0.5)  # traffic goes on through the other backend meanwhile
            backends[name] = (start_backend(name, port), port)
            time.sleep(1.5)  # HAProxy's check (inter 200ms, rise 1) marks it up again
        time.sleep(1)
    load.report("haproxy: rolling restart of both backends under load")


def scenario_handover():
    fd = HANDOVER.fileno()
    if fd != 3:
        os.dup2(fd, 3)
    env = dict(os.environ, LISTEN_FDS="1")
    env.pop("LISTEN_PID", None)
    port = HANDOVER.getsockname()[1]

    def start(generation):
        name = f"handover{generation}"
        proc = subprocess.Popen([BIN, "--addr", f"{HOST}:0"], env=env, pass_fds=(3,),
                                stdout=open(os.path.join(WORK, f"{name}.out"), "w"),
                                stderr=open(os.path.join(WORK, f"{name}.err"), "w"),
                                stdin=subprocess.DEVNULL)
        PROCS.append(proc)
        wait_listening(proc, f"{name}.out")
        return proc

    current = start(1)
    load = Load(lambda: (HOST, port), clients=2)
    load.one_per_connection = True  # a new connection for every request: connecting in a loop
    with load:
        time.sleep(0.5)
        for generation in (2, 3, 4):
            successor = start(generation)  # both serve the one socket for a moment
            stop(current, f"handover{generation - 1}")
            current = successor
            time.sleep(0.5)
    stop(current, "handover4")
    load.report(f"handover: three generations on one inherited socket ({HOST}:{port})")
    if load.refused:
        fail(f"handover: {load.refused} connection attempts were refused")


def main():
    front = free_port()
    backends = {name: (start_backend(name, port), port)
                for name, port in (("a", free_port()), ("b", free_port()))}
    cfg = os.path.join(WORK, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(f"""global
    maxconn 512
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
listen resp
    bind {HOST}:{front}
    balance roundrobin
""")
        for name, (_, port) in backends.items():
            f.write(f"    server {name} {HOST}:{port} source {BALANCER_SOURCE} send-proxy-v2 "
                    f"check check-send-proxy inter 200ms fall 1 rise 1\n")
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg],
                               stdout=open(os.path.join(WORK, "haproxy.out"), "w"),
                               stderr=open(os.path.join(WORK, "haproxy.err"), "w"),
                               stdin=subprocess.DEVNULL)
    PROCS.append(haproxy)
    deadline = time.time() + 20
    while True:
        try:
            with socket.create_connection((HOST, front), timeout=5) as s:
                s.sendall(resp("PING"))
                if read_reply(s) == b"+PONG":
                    break
        except OSError:
            pass
        if haproxy.poll() is not None or time.time() > deadline:
            fail("HAProxy did not start serving")
        time.sleep(0.1)
    scenario_client_info(front)
    scenario_benchmark(front)
    scenario_forged(backends["a"][1])
    scenario_rolling_restart(front, backends)
    scenario_handover()
    print("haproxy: 5 passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait(5)
