"""The ack comparison against the peers of issue 26 (the same protocol on plain tokio, tokio-util,
Go, Netty and asyncio): framekit's targets against the best peer at each load, the wake-ups and
system calls per request of every server, and the idle-memory target of the ack servers. Rows come
from bench/server.sh's `ack`, `syscalls` and `rss` steps (server_results.py).
"""

from server_results import stats

# framekit's ack servers; every other contender of the ack section is a peer.
FRAMEKIT = ("ack_server", "ack_server_t1", "ack_server_t2")
# Issue 26: at most this many bytes per idle connection (1.4 KiB).
RSS_BOUND = 1.4 * 1024


def is_framekit(name):
    return name in FRAMEKIT


def fmt(v, digits=2):
    return "–" if v is None else f"{v:,.{digits}f}"


def median_of(results, section, sc, name, key):
    st = stats(results.get((section, sc, name), []), key)
    return st[0] if st else None


def add_server_plus_client(results):
    """Gives every ack run that has both a `both_cpu_us_per_req`: the server's CPU per request
    plus the load generator's (its whole run, like the server's, over the same responses)."""
    for (section, _sc, _name), runs in results.items():
        if section != "ack":
            continue
        for r in runs:
            try:
                r["both_cpu_us_per_req"] = str(float(r["cpu_us_per_req"]) + float(r["client_cpu_us_per_req"]))
            except (KeyError, ValueError):
                pass


def best_peer(results, sc, names, key, lowest):
    """(name, median) of the peer with the lowest (or highest) median `key` at a load, or None."""
    found = [(n, median_of(results, "ack", sc, n, key)) for n in names if not is_framekit(n)]
    found = [(n, v) for n, v in found if v is not None]
    if not found:
        return None
    return (min if lowest else max)(found, key=lambda nv: nv[1])


def marks(results, loads, names):
    """The CPU chart's dashed line at each load: the cheapest peer's median."""
    out = {}
    for sc in loads:
        best = best_peer(results, sc, names, "cpu_us_per_req", True)
        if best:
            out[sc] = (best[1], f"cheapest peer ({best[0]})")
    return out


def target_rows(results, loads, names):
    """Issue 26's targets for each framekit variant at each load, against the best peer there."""
    out = ("| load | framekit | measure | framekit | best peer | peer's value | ratio | target | met | "
           "kernel floor (no user time) |\n|---|---|---|---:|---|---:|---:|---|---|---:|\n")
    checks = [("CPU per request, µs", "cpu_us_per_req", True, "≤ 1.0x"),
              ("throughput, req/s", "rps", False, "≥ 1.0x"),
              ("server + load generator CPU per request, µs", "both_cpu_us_per_req", True, "(reported)")]
    for sc in loads:
        for ours in (n for n in names if is_framekit(n)):
            rows = checks + ([("p50 latency, µs", "p50_us", True, "≤ 1.0x")] if sc == "c=1 w=1" else [])
            for what, key, lowest, target in rows:
                mine = median_of(results, "ack", sc, ours, key)
                best = best_peer(results, sc, names, key, lowest)
                if mine is None or not best or not best[1]:
                    out += f"| {sc} | `{ours}` | {what} | {fmt(mine)} | not measured | | | {target} | | |\n"
                    continue
                ratio = mine / best[1]
                met = "" if target.startswith("(") else (
                    "yes" if (ratio <= 1.0 if lowest else ratio >= 1.0) else "**no**")
                floor = ""
                if key == "cpu_us_per_req":
                    sys_us = median_of(results, "ack", sc, ours, "sys_us_per_req")
                    if sys_us is not None:
                        floor = f"{sys_us / best[1]:.2f}x" + (" (**above**)" if sys_us > best[1] else "")
                digits = 0 if key == "rps" else 2
                out += (f"| {sc} | `{ours}` | {what} | {fmt(mine, digits)} | `{best[0]}` | {fmt(best[1], digits)} "
                        f"| {ratio:.2f}x | {target} | {met} | {floor} |\n")
    return out + (
        "\nThe best peer is chosen per measure and load: the cheapest in CPU, the fastest in "
        "throughput, the quickest p50. The kernel floor is framekit's system CPU per request over "
        "that peer's total: above 1.0x, no user-space saving alone reaches the peer.\n")


def wakeups_table(results, loads, names):
    """Per load and server: wake-ups (voluntary context switches) and preemptions per request of
    the server and of the load generator, and the server's system calls per request by call."""
    out = ("| load | server | server wake-ups per request | server preemptions per request "
           "| load generator wake-ups per request | system calls per request | by call (≥ 0.01 per request) |\n"
           "|---|---|---:|---:|---:|---:|---|\n")
    for sc in loads:
        for name in names:
            if not results.get(("ack", sc, name)):
                continue
            sys_runs = results.get(("syscalls", f"ack {sc}", name), [])
            per = stats(sys_runs, "per_req")
            by_call = sys_runs[-1].get("by_call", "").replace(",", ", ").replace(":", " ") if sys_runs else ""
            out += (f"| {sc} | `{name}` | {fmt(median_of(results, 'ack', sc, name, 'server_vcsw_per_req'), 3)} "
                    f"| {fmt(median_of(results, 'ack', sc, name, 'server_ivcsw_per_req'), 3)} "
                    f"| {fmt(median_of(results, 'ack', sc, name, 'client_vcsw_per_req'), 3)} "
                    f"| {fmt(per[0] if per else None)} | {by_call or '–'} |\n")
    return out


def missing(results):
    """The peers left out of a step, and why, as markdown list items ('' if none)."""
    rows = [(sc, name, runs[-1]["_raw"]) for (sec, sc, name), runs in results.items() if sec == "missing"]
    return "".join(f"- `{name}` left out of the `{step}` step: {why}\n" for step, name, why in rows)


def rss_target(rows, sc, name, per):
    """The idle-memory cell of an ack server's row: framekit at most 1.4 KiB and the lowest of the
    ack servers at that count; '' for rows the target does not cover."""
    if not is_framekit(name):
        return None
    peers = [int(r["per_conn_bytes"]) for s, n, r in rows
             if s == sc and not is_framekit(n) and n not in ("resp_server", "redis-server")
             and "per_conn_bytes" in r]
    lowest = not peers or per <= min(peers)
    met = per <= RSS_BOUND and lowest
    vs = f", {per / min(peers):.2f}x the lowest peer's" if peers and min(peers) > 0 else ""
    return f"≤ 1.4 KiB and the lowest: {'yes' if met else '**no**'}{vs}"
