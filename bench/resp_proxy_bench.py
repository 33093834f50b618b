#!/usr/bin/env python3
"""resp_proxy against twemproxy (nutcracker) in front of the same two redis-servers.

For ROUNDS rounds, at -P 1 and -P 16, in an order rotated each round (direct, resp_proxy,
twemproxy, then starting one further on): `redis-benchmark -t set,get -n N -P P -c CLIENTS
-r 100000 --csv` against each target. "direct" is one redis-server without a proxy, the
baseline of the added p99. A proxy's CPU is read from /proc/PID/stat (user + system ticks) before
and after its run, over the 2N requests of SET and GET. Then, with fresh proxies, RSS per idle
client connection: IDLE connections opened, one GET exchanged on each, RSS (VmRSS) read SETTLE
seconds later, minus RSS before. Prints one TSV row per measurement and a median table.

usage: resp_proxy_bench.py RESP_PROXY_BINARY [--rounds 3] [--requests N] [--idle 2000]
"""

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".ci"))
from loopback import HOST, free_port, wait_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, **kw):
        proc = subprocess.Popen(args, stdout=kw.pop("stdout", subprocess.DEVNULL),
                                stderr=subprocess.DEVNULL, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        self.procs.remove(proc)

    def stop_all(self):
        for proc in list(self.procs):
            self.stop(proc)


def start_redis(procs, work):
    port = free_port()
    proc = procs.start(["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
                        "--appendonly", "no", "--dir", work])
    wait_port(port, proc, "redis-server")
    return port


def start_resp_proxy(procs, binary, backends):
    args = [binary, "--addr", f"{HOST}:0", "--threads", "1", "--max-connections", "10000"]
    for port in backends:
        args += ["--backend", f"{HOST}:{port}"]
    proc = procs.start(args, stdout=subprocess.PIPE, text=True)
    m = re.match(r"listening on .*:(\d+)$", proc.stdout.readline().strip())
    if not m:
        sys.exit("resp_proxy did not start")
    return proc, int(m.group(1))


def start_twemproxy(procs, work, backends):
    port, stats = free_port(), free_port()
    conf = os.path.join(work, f"nutcracker-{port}.yml")
    with open(conf, "w") as f:
        f.write(f"""pool:
  listen: {HOST}:{port}
  hash: md5
  distribution: ketama
  redis: true
  timeout: 2000
  server_connections: 1
  auto_eject_hosts: false
  servers:
""" + "".join(f"   - {HOST}:{b}:1\n" for b in backends))
    proc = procs.start(["nutcracker", "-c", conf, "-s", str(stats), "-a", HOST,
                        "-o", os.path.join(work, f"nutcracker-{port}.log")])
    wait_port(port, proc, "nutcracker")
    return proc, port


def benchmark(port, pipeline, requests, clients):
    out = subprocess.run(
        ["redis-benchmark", "-h", HOST, "-p", str(port), "-t", "set,get", "-n", str(requests),
         "-P", str(pipeline), "-c", str(clients), "-r", "100000", "--csv"],
        capture_output=True, text=True, timeout=300).stdout
    rows = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if cells[0] in ("SET", "GET"):
            rows[cells[0]] = {"rps": float(cells[1]), "p99": float(cells[6])}
    if set(rows) != {"SET", "GET"}:
        sys.exit(f"redis-benchmark failed: {out[-300:]!r}")
    return rows


def hold_idle(port, count):
    """Opens `count` connections, exchanges one GET on each; returns them (held open)."""
    held = []
    request = b"*2\r\n$3\r\nGET\r\n$8\r\nidle:key\r\n"
    for _ in range(count):
        s = socket.create_connection((HOST, port), timeout=10)
        s.sendall(request)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(64)
            if not chunk:
                sys.exit("a proxy closed an idle connection")
            reply += chunk
        held.append(s)
    return held


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=50000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--settle", type=float, default=3.0)
    opts = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp()
    procs = Procs()
    results = {}  # (target, P, metric) -> [values]
    try:
        backends = [start_redis(procs, work) for _ in range(2)]
        ours, ours_port = start_resp_proxy(procs, opts.binary, backends)
        theirs, theirs_port = start_twemproxy(procs, work, backends)
        targets = [("direct", None, backends[0]), ("resp_proxy", ours, ours_port),
                   ("twemproxy", theirs, theirs_port)]
        print("round\ttarget\tP\tset_rps\tget_rps\tset_p99_ms\tget_p99_ms\tcpu_us_per_req")
        for rnd in range(opts.rounds):
            for pipeline in (1, 16):
                order = targets[rnd % 3:] + targets[:rnd % 3]
                for name, proc, port in order:
                    before = cpu_seconds(proc.pid) if proc else 0.0
                    rows = benchmark(port, pipeline, opts.requests, opts.clients)
                    cpu = (cpu_seconds(proc.pid) - before) if proc else float("nan")
                    per_req = cpu * 1e6 / (2 * opts.requests)
                    for metric, value in (("set_rps", rows["SET"]["rps"]),
                                          ("get_rps", rows["GET"]["rps"]),
                                          ("set_p99", rows["SET"]["p99"]),
                                          ("get_p99", rows["GET"]["p99"]),
                                          ("cpu", per_req)):
                        results.setdefault((name, pipeline, metric), []).append(value)
                    print(f"{rnd}\t{name}\t{pipeline}\t{rows['SET']['rps']:.0f}\t"
                          f"{rows['GET']['rps']:.0f}\t{rows['SET']['p99']:.3f}\t"
                          f"{rows['GET']['p99']:.3f}\t{per_req:.2f}", flush=True)
        procs.stop(ours)
        procs.stop(theirs)
        idle = {}
        for name in ("resp_proxy", "twemproxy"):
            for _ in range(opts.rounds):
                if name == "resp_proxy":
                    proc, port = start_resp_proxy(procs, opts.binary, backends)
                else:
                    proc, port = start_twemproxy(procs, work, backends)
                hold_idle(port, 1)[0].close()
                time.sleep(0.5)
                before = rss_kib(proc.pid)
                held = hold_idle(port, opts.idle)
                time.sleep(opts.settle)
                after = rss_kib(proc.pid)
                for s in held:
                    s.close()
                per_conn = (after - before) * 1024 / opts.idle
                idle.setdefault(name, []).append(per_conn)
                print(f"idle\t{name}\t{opts.idle} connections\t{before} KiB -> {after} KiB\t"
                      f"{per_conn:.0f} B per connection", flush=True)
                procs.stop(proc)
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)

    med = lambda name, p, metric: statistics.median(results[(name, p, metric)])
    print(f"\nmedians of {opts.rounds} rounds, -n {opts.requests} -c {opts.clients}:")
    print("| -P | target | SET req/s | GET req/s | SET p99 ms | GET p99 ms | added p99 (SET/GET) ms |"
          " proxy CPU us/req |")
    print("|---|---|---|---|---|---|---|---|")
    for p in (1, 16):
        for name in ("direct", "resp_proxy", "twemproxy"):
            added = "" if name == "direct" else (
                f"{med(name, p, 'set_p99') - med('direct', p, 'set_p99'):+.3f} / "
                f"{med(name, p, 'get_p99') - med('direct', p, 'get_p99'):+.3f}")
            cpu = "" if name == "direct" else f"{med(name, p, 'cpu'):.2f}"
            print(f"| {p} | {name} | {med(name, p, 'set_rps'):.0f} | {med(name, p, 'get_rps'):.0f} |"
                  f" {med(name, p, 'set_p99'):.3f} | {med(name, p, 'get_p99'):.3f} | {added} | {cpu} |")
        ratio = med("resp_proxy", p, "cpu") / med("twemproxy", p, "cpu")
        print(f"| {p} | resp_proxy / twemproxy CPU per request | | | | | | {ratio:.2f}x |")
    for name, values in idle.items():
        print(f"idle {name}: {statistics.median(values):.0f} B per connection (median of "
              f"{len(values)}, {opts.idle} held)")


if __name__ == "__main__":
    main()
