#!/usr/bin/env python3
"""bench/wakeups.sh's table: per load and server, the median over the rounds of each perf count
per request (the server's, then the load generator's), as markdown.

    python3 bench/wakeups_table.py /tmp/framekit-wakeups.XXXX/wakeups.tsv [ROUNDS]

Rows of the TSV: server, load, round, SIDE:EVENT, count, requests of that run.
"""
import sys
from collections import defaultdict
per = defaultdict(list)
order = []
for line in open(sys.argv[1]):
    name, shape, _round, event, count, total = line.rstrip("\n").split("\t")
    if (shape, name) not in order:
        order.append((shape, name))
    per[(shape, name, event)].append(float(count) / max(float(total), 1))
def med(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
cols = [("server CPU µs", "server:cpu_us_per_req_x_requests"), ("p50 µs", "p50_us_x_requests"),
        ("switches", "server:context-switches"),
        ("wake-ups done", "server:sched:sched_wakeup"), ("syscalls", "server:raw_syscalls:sys_enter"),
        ("epoll_wait", "server:syscalls:sys_enter_epoll_wait"), ("epoll_pwait", "server:syscalls:sys_enter_epoll_pwait"),
        ("futex", "server:syscalls:sys_enter_futex"), ("nanosleep", "server:syscalls:sys_enter_nanosleep"),
        ("hrtimer starts", "server:timer:hrtimer_start"),
        ("loadgen switches", "loadgen:context-switches"), ("loadgen syscalls", "loadgen:raw_syscalls:sys_enter"),
        ("loadgen epoll_wait", "loadgen:syscalls:sys_enter_epoll_wait"),
        ("loadgen wake-ups done", "loadgen:sched:sched_wakeup")]
print("| load | server | " + " | ".join(h for h, _ in cols) + " |")
print("|---|---|" + "---:|" * len(cols))
for shape, name in sorted(order, key=lambda k: (int(k[0].split("x")[0]), order.index(k))):
    cells = []
    for _, ev in cols:
        v = per.get((shape, name, ev))
        cells.append("–" if not v else f"{med(v):.3f}" if med(v) < 10 else f"{med(v):.1f}")
    print(f"| {shape} | `{name}` | " + " | ".join(cells) + " |")
if len(sys.argv) > 2:
    print(f"\n(per request, median of {sys.argv[2]} rounds)")
