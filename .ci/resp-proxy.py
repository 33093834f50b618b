#!/usr/bin/env python3
"""resp_proxy with real clients in front of real redis-servers.

Starts three redis-server backends, one reference redis-server and resp_proxy on free loopback
ports, then checks, each step bounded in time:
  1. redis-cli through the proxy: answers, a split MSET/MGET, refused commands;
  2. redis-benchmark -t set,get -n 20000 -P 16 through it, with keys on every backend, and
     the server's and the backend clients' metrics at --metrics-addr;
  3. redis-py: a 3,000-command pipeline, multi-key calls, CROSSSLOT and refusals as exceptions;
  4. the differential test: random sequences of routed commands (resp-diff.py's
     routed_command) through the proxy and to the single reference server, answers compared
     with resp-diff.py's rules; 0 mismatches;
  5. a backend killed (the pid this script started) in the middle of a pipelined load: every
     answer is its request's own or an error, and once the backend is back the proxy uses it.
Prints what it checked and exits 1 at the first failure.

usage: resp-proxy.py RESP_PROXY_BINARY [--sequences N] [--seed S]
"""

import argparse
import importlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import redis

from loopback import HOST, free_port, wait_port

diff = importlib.import_module("resp-diff")
CI_SEED = 22
DEADLINE = time.monotonic() + 200


def fail(what):
    sys.exit(f"FAIL: {what}")


class Cluster:
    """The processes this script started, ended (only they) when it finishes."""

    def __init__(self, binary, work):
        self.binary, self.work, self.procs = binary, work, {}

    def redis(self, name, port=None):
        port = port or free_port()
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
             "--appendonly", "no", "--dir", self.work],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs[name] = proc
        wait_port(port, proc, "redis-server")
        return port

    def proxy(self, backends):
        args = [self.binary, "--addr", f"{HOST}:0", "--backend-timeout", "1s",
                "--metrics-addr", f"{HOST}:0"]
        for port in backends:
            args += ["--backend", f"{HOST}:{port}"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        self.procs["proxy"] = proc
        m = re.match(r"listening on .*:(\d+)$", proc.stdout.readline().strip())
        metrics = re.match(r"metrics on (\S+)$", proc.stdout.readline().strip())
        if not m or not metrics:
            fail("resp_proxy did not print 'listening on HOST:PORT' and 'metrics on HOST:PORT'")
        self.metrics = metrics.group(1)
        return int(m.group(1))

    def kill(self, name):
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(timeout=5)

    def stop(self):
        for proc in self.procs.values():
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-h", HOST, "-p", str(port), *args],
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def expect(what, got, want):
    if got != want:
        fail(f"{what}: got {got!r}, want {want!r}")


def check_redis_cli(port):
    expect("PING", cli(port, "PING"), "PONG")
    expect("MSET", cli(port, "MSET", "a", "1", "b", "2", "user:9", "3", "7", "4"), "OK")
    expect("MGET", cli(port, "MGET", "7", "a", "nope", "user:9", "b"), "4\n1\n\n3\n2")
    expect("DEL", cli(port, "DEL", "a", "b", "nope"), "2")
    refused = cli(port, "MULTI")
    if "'MULTI' is not supported by resp_proxy" not in refused:
        fail(f"MULTI: {refused!r}")
    print("redis-cli: PING, MSET/MGET/DEL split and joined, MULTI refused")


def check_metrics(address, backends):
    """The server's and every backend client's requests are counted at /metrics."""
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
    for port in backends:
        m = re.search(r'^framekit_client_requests_total\{endpoint="%s:%d"\} (\d+)' % (HOST, port),
                      text, re.M)
        if not m or int(m.group(1)) == 0:
            fail(f"no framekit_client_requests_total for backend {port} at /metrics")
    if not re.search(r"^framekit_requests_total \d+", text, re.M):
        fail("no framekit_requests_total at /metrics")
    print("metrics: the server's requests and each backend client's at /metrics")


def check_benchmark(port, backends):
    out = subprocess.run(
        ["redis-benchmark", "-h", HOST, "-p", str(port), "-t", "set,get", "-n", "20000",
         "-P", "16", "-r", "100000", "-c", "20", "-q"],
        capture_output=True, text=True, timeout=120).stdout
    lines = [line for line in out.replace("\r", "\n").splitlines() if "requests per second" in line]
    if len(lines) != 2 or not lines[0].startswith("SET") or not lines[1].startswith("GET"):
        fail(f"redis-benchmark: {out[-400:]!r}")
    sizes = [int(cli(p, "DBSIZE")) for p in backends]
    if min(sizes) == 0:
        fail(f"redis-benchmark's keys reached only some backends: {sizes}")
    print(f"redis-benchmark -P 16: {'; '.join(l.strip() for l in lines)}; keys per backend {sizes}")


def check_redis_py(port):
    client = redis.Redis(host=HOST, port=port, socket_timeout=5)
    pipe = client.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"py:{i}", i)
        pipe.incr(f"py:{i}")
        pipe.get(f"py:{i}")
    got = pipe.execute()
    for i in range(1000):
        expect(f"pipeline {i}", got[3 * i:3 * i + 3], [True, i + 1, str(i + 1).encode()])
    keys = [f"py:{i}" for i in range(0, 1000, 37)]
    expect("mget", client.mget(keys), [str(int(k[3:]) + 1).encode() for k in keys])
    client.mset({"m:1": "x", "m:2": "y", "m:3": "z"})
    expect("mset then mget", client.mget(["m:3", "m:1", "m:2"]), [b"z", b"x", b"y"])
    expect("exists", client.exists("m:1", "m:2", "m:9", "m:1"), 3)
    expect("delete", client.delete(*keys), len(keys))
    crossslot = 0
    for i in range(50):
        try:
            expect("sinter on one backend", client.sinter(f"s:{i}", f"t:{i}"), set())
        except redis.ResponseError as e:
            if "hash to the same slot" not in str(e):
                fail(f"SINTER: {e}")
            crossslot += 1
    if not 0 < crossslot < 50:
        fail(f"{crossslot} of 50 SINTERs were CROSSSLOT")
    try:
        client.execute_command("KEYS", "*")
        fail("KEYS was not refused")
    except redis.ResponseError as e:
        if "'KEYS' is not supported by resp_proxy" not in str(e):
            fail(f"KEYS: {e}")
    client.close()
    print("redis-py: 3,000 pipelined commands, mget/mset/exists/delete, CROSSSLOT, KEYS refused")


def check_differential(proxy_port, reference_port, backends, sequences, seed):
    r = random.Random(seed)

    def flush_backends():
        for port in backends:
            redis.Redis(host=HOST, port=port).flushall()

    runners = {
        "raw": lambda port, seq, flush: diff.run_raw(port, seq, flush),
        "py": lambda port, seq, flush: diff.run_py(port, seq, False, flush),
        "py-pipeline": lambda port, seq, flush: diff.run_py(port, seq, True, flush),
    }
    modes = list(runners)
    count = commands = mismatches = 0
    for n in range(sequences):
        if time.monotonic() > DEADLINE - 60:
            print(f"time budget reached after {n} sequences")
            break
        seq = [diff.routed_command(r) for _ in range(r.randint(1, 40))]
        mode = modes[n % len(modes)]
        ours = runners[mode](proxy_port, seq, flush_backends)
        theirs = runners[mode](reference_port, seq, None)
        count += 1
        commands += len(seq)
        for i, (args, a, b) in enumerate(zip(seq, ours, theirs)):
            if not diff.same(args, a, b):
                mismatches += 1
                print(f"MISMATCH ({mode}) at command {i + 1} of:")
                for c in seq[:i + 1]:
                    print("   ", " ".join(diff.show(x, 60) for x in c))
                print(f"  resp_proxy {diff.show(a)}\n  redis      {diff.show(b)}")
                break
        if mismatches >= 5:
            break
    print(f"differential: {count} sequences, {commands} commands, {mismatches} mismatches")
    if mismatches:
        fail("the proxy's answers differ from a single redis-server's")


def check_backend_killed(cluster, proxy_port, backends):
    client = redis.Redis(host=HOST, port=proxy_port, socket_timeout=10)
    keys = [f"kill:{i}" for i in range(2000)]
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, f"value-of-{k}")
    pipe.execute()
    errors = rounds = 0
    killed_at = time.monotonic() + 0.3
    killed = False
    while rounds < 10 and time.monotonic() < DEADLINE - 30:
        if not killed and time.monotonic() > killed_at:
            cluster.kill("backend1")
            killed = True
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.get(k)
        for k, got in zip(keys, pipe.execute(raise_on_error=False)):
            if isinstance(got, redis.ResponseError):
                if "resp_proxy" not in str(got):
                    fail(f"{k}: unexpected error {got}")
                errors += 1
            elif got != f"value-of-{k}".encode():
                fail(f"{k} was answered {got!r}, another request's answer")
        rounds += 1
    if not killed or errors == 0:
        fail(f"the killed backend failed no request ({rounds} rounds)")
    cluster.redis("backend1", backends[1])
    deadline = time.monotonic() + 15
    while True:
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.set(k, "back")
        if all(x is True for x in pipe.execute(raise_on_error=False)):
            break
        if time.monotonic() > deadline:
            fail("the proxy did not use the restarted backend within 15 s")
        time.sleep(0.1)
    client.close()
    print(f"backend killed mid-load: {rounds} rounds of {len(keys)} GETs, {errors} errors, "
          "no wrong answer; recovered after restart")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--sequences", type=int, default=600)
    ap.add_argument("--seed", type=int, default=None)
    opts = ap.parse_args()
    seed = opts.seed if opts.seed is not None else (
        CI_SEED if os.environ.get("CI") else random.randrange(1 << 30))
    print(f"seed {seed} (rerun with --seed {seed})")
    work = tempfile.mkdtemp()
    cluster = Cluster(opts.binary, work)
    try:
        backends = [cluster.redis(f"backend{i}") for i in range(3)]
        reference = cluster.redis("reference")
        proxy = cluster.proxy(backends)
        started = time.monotonic()
        for step in (lambda: check_redis_cli(proxy),
                     lambda: check_benchmark(proxy, backends),
                     lambda: check_metrics(cluster.metrics, backends),
                     lambda: check_redis_py(proxy),
                     lambda: check_differential(proxy, reference, backends, opts.sequences, seed),
                     lambda: check_backend_killed(cluster, proxy, backends)):
            step()
            print(f"  ({time.monotonic() - started:.1f} s)")
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("resp_proxy: all checks passed")


if __name__ == "__main__":
    main()
