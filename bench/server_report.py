"""The server section of BENCHMARKS.md, from bench/server.sh's results: which run each step comes
from, CPU per request split into user and system time, the targets with the kernel floor beside
each CPU ratio, memory per idle connection, the dripped request, and the charts.
"""

import os
import pathlib

from benchmarks_doc import ROOT, cpu_accounting, machine_facts, replace_section
import peers_report
import server_charts
from server_charts import Bar
from server_results import STEPS, merge, read_blocks, results_of, share, stats, write_blocks

STORE = ROOT / "bench" / "server-results.tsv"

# What each step of bench/server.sh measures, as the provenance table names it.
STEP_ROWS = {
    "ack": "`ack_server` vs the peers: req/s, latency, CPU, wake-ups",
    "resp": "`resp_server` vs `redis-server`: req/s, CPU",
    "syscalls": "system calls per request (ack and resp)",
    "rss": "memory per idle connection",
    "drip": "a dripped request",
}

SERVER_TEXT = """Every server is a release build started by the script on a loopback port; the load generator
runs on the same 2 CPUs as the server, so both compete for them, as they do for the baseline.
Each row is the median of the repeated runs, with the fastest and slowest in brackets; the
contenders take turns, the order rotating every run, so drift in the machine's load hits all alike.
"""

CPU_TEXT = (
    "Server CPU is the user and the system time of every thread of the server process "
    "(/proc/PID/stat fields 14 and 15, read before and after each run), over the responses of "
    "the run (warm-up included); the total is their sum. It is the fair measure here, since the "
    "load generator shares the two CPUs and bounds the throughput. System time is all the kernel "
    "charged to the server's threads: their system calls, and the loopback network stack's work "
    "done while they ran, which includes part of delivering each response to the client. "
)

FLOOR_TEXT = (
    "The **kernel floor** beside each CPU ratio is framekit's system CPU per request over the "
    "baseline's total (user + system) CPU per request, medians of the runs above: the ratio "
    "framekit would measure if its user-space time were zero and its kernel time what it was in "
    "these runs. Where it is above the target (marked), no saving in user space alone can meet "
    "that target on this machine. It is not a bound on what a server can reach: it assumes the "
    "same system calls, and the same kernel work per call, as measured here (the system calls "
    "column above); a server that makes fewer or cheaper ones (more requests per read and per "
    "write, fewer epoll waits and wake-ups) lowers its own floor. The baseline's own system share "
    "(the load table) is the floor of a server whose kernel work per request is exactly the "
    "baseline's.\n"
)


def us(v):
    return f"{v:.2f}"


def fmt_spread(st, fmt):
    if st is None:
        return "–"
    med, lo, hi = st
    return f"{fmt(med)} ({fmt(lo)}–{fmt(hi)})"


def loads(results, section):
    return list(dict.fromkeys(sc for (sec, sc, _name) in results if sec == section))


def contenders(results, section):
    """The servers of a section in the order they were started (their runtime rows)."""
    names = set(name for (sec, _sc, name) in results if sec == section)
    started = [name for (sec, _sc, name) in results if sec == "runtime" and name in names]
    rest = [name for (sec, _sc, name) in results if sec == section and name not in started]
    return list(dict.fromkeys(started + rest))


def built_from(meta):
    what = meta.get("built_from", "?")
    if what.startswith("prebuilt:"):  # prebuilt:DIR@WHEN, WHEN the mtime of its ack_server
        where, _, built = what[len("prebuilt:"):].rpartition("@")
        return f"binaries in `{where}` (built {when(built)})"
    rev, _, dirty = what.partition("+")
    return f"`{rev}`" + (" plus uncommitted changes" if dirty else "")


def when(iso):
    return iso.replace("T", " ").replace("Z", " UTC")


def provenance_table(blocks):
    """One row per run that some step's rows come from (its steps, each with when it started
    and the load average then), and the steps no run has measured yet."""
    runs = {}
    for step in STEPS:
        block = blocks.get(step)
        if block:
            m = block.meta
            key = (m.get("run", m.get("started", "?")), m.get("built_from", "?"), block.command)
            runs.setdefault(key, []).append(block)
    out = ("| run started | built from | command | steps: rows (step started, load average then) |\n"
           "|---|---|---|---|\n")
    for (run, _, command), steps in runs.items():
        cells = []
        for block in steps:
            load = block.meta.get("load", "?").replace(",", " ")
            load = "not recorded" if load == "not-recorded" else load
            started = block.meta.get("started")
            if started:
                # the time alone on the run's day: "2026-12-01 17:44 UTC"[11:] is "17:44 UTC"
                at = f"at {when(started)[11 if started[:10] == run[:10] else 0:]}, load {load}"
            else:  # a block that recorded only the run's start (and the load then)
                at = f"load {load} at the run's start"
            cells.append(f"`{block.step}`: {STEP_ROWS[block.step]} ({at})")
        out += f"| {when(run)} | {built_from(steps[0].meta)} | `{command}` | {'; '.join(cells)} |\n"
    missing = [f"`{s}`: {STEP_ROWS[s]}" for s in STEPS if s not in blocks]
    if missing:
        out += f"| not run | | | {'; '.join(missing)} |\n"
    return out


def runtime_table(results, section, names):
    out = "| server | OS threads | runtime |\n|---|---:|---|\n"
    for name in names:
        rows = results.get(("runtime", "-", name)) or [{}]
        r = ([x for x in rows if x.get("_step") == section] or rows)[-1]
        about = r.get("about", "?").replace("_", " ")
        version = f" ({r['version']})" if "version" in r else ""
        out += f"| `{name}`{version} | {r.get('os_threads', '?')} | {about} |\n"
    return out


# Optional columns of the load table: heading, key of the run's values.
LOAD_EXTRA = [("p50 latency, µs", "p50_us"), ("p99 latency, µs", "p99_us"),
              ("load generator CPU per request, µs", "client_cpu_us_per_req"),
              ("server + load generator, µs", "both_cpu_us_per_req")]


def fmt_median(st):
    return "–" if st is None else (f"{st[0]:,.0f}" if st[0] >= 100 else f"{st[0]:.2f}")


def load_table(results, section):
    names = contenders(results, section)
    if not names:
        return "_not run_\n"
    # Latency and the load generator's CPU, where the section's runs recorded them.
    extra = [(head, key) for head, key in LOAD_EXTRA
             if any(key in r for (sec, _sc, _n), runs in results.items() if sec == section for r in runs)]
    out = ("| load | server | runs | req/s, median (min–max) | server CPU per request, µs (min–max) "
           "| of which user, µs | of which system, µs | system share | system calls per request |"
           + "".join(f" {head} |" for head, _ in extra) + "\n"
           "|---|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(extra) + "\n")
    for sc in loads(results, section):
        for name in names:
            runs = results.get((section, sc, name), [])
            if not runs:
                continue
            sys_runs = results.get(("syscalls", f"{section} {sc}", name), [])
            per = stats(sys_runs, "per_req")
            sys_share = share(runs, "sys_us_per_req", "cpu_us_per_req")
            out += (f"| {sc} | `{name}` | {len(runs)} | {fmt_spread(stats(runs, 'rps'), lambda v: f'{v:,.0f}')} "
                    f"| {fmt_spread(stats(runs, 'cpu_us_per_req'), us)} "
                    f"| {fmt_spread(stats(runs, 'user_us_per_req'), us)} "
                    f"| {fmt_spread(stats(runs, 'sys_us_per_req'), us)} "
                    f"| {f'{sys_share:.0%}' if sys_share is not None else '–'} "
                    f"| {f'{per[0]:.2f}' if per else '–'} |"
                    + "".join(f" {fmt_median(stats(runs, key))} |" for _, key in extra) + "\n")
    return out


def kernel_floor(ours_runs, base_runs, bound):
    """The CPU ratio `ours` would have with no user time: its system µs per request over the
    baseline's total, as a table cell; marked when even that misses the target."""
    sys_us = stats(ours_runs, "sys_us_per_req")
    base = stats(base_runs, "cpu_us_per_req")
    if not sys_us or not base or base[0] == 0:
        return "–"
    floor = sys_us[0] / base[0]
    return f"{floor:.2f}x" + (" (**above the target**)" if floor > bound else "")


def ratio_row(results, section, sc, ours, base, what, key, target, smaller_is_better):
    ours_runs = results.get((section, sc, ours), [])
    base_runs = results.get((section, sc, base), [])
    a, b = stats(ours_runs, key), stats(base_runs, key)
    if not a or not b or b[0] == 0:
        return f"| {sc} | {what}: `{ours}` / `{base}` | not measured | {target} | | |\n"
    r = a[0] / b[0]
    bound = float(target.split()[-1].rstrip("x"))
    met = r <= bound if smaller_is_better else r >= bound
    floor = kernel_floor(ours_runs, base_runs, bound) if key == "cpu_us_per_req" else ""
    return (f"| {sc} | {what}: `{ours}` / `{base}` | {r:.2f}x | {target} "
            f"| {'yes' if met else '**no**'} | {floor} |\n")


def target_rows(results, section, base, cpu_target):
    out = ("| load | ratio | measured | target | met | kernel floor (no user time) |\n"
           "|---|---|---:|---:|---|---:|\n")
    names = [n for n in contenders(results, section) if n != base]
    for sc in loads(results, section):
        for ours in names:
            out += ratio_row(results, section, sc, ours, base, "CPU per request", "cpu_us_per_req",
                             f"≤ {cpu_target}x", True)
            out += ratio_row(results, section, sc, ours, base, "throughput", "rps", "≥ 1.0x", False)
        t1 = [n for n in names if n.endswith("_t1")]
        t2 = [n for n in names if n.endswith("_t2")]
        if t1 and t2:
            out += ratio_row(results, section, sc, t2[0], t1[0], "CPU per request, 2 threads over 1",
                             "cpu_us_per_req", "≤ 1.1x", True)
    return out + "\n" + FLOOR_TEXT



def comparison(results, kind, title, baseline, target):
    """One family's tables and charts: runtimes, charts, the load table and its targets."""
    return (
        runtime_table(results, kind, contenders(results, kind)) + "\n"
        + charts(results, kind, title, baseline, target)
        + load_table(results, kind) + "\n"
        + "Targets:\n\n" + target_rows(results, kind, baseline, target) + "\n"
    )


def peers_comparison(results):
    """The ack family against the peers: runtimes, charts (the dashed line at the cheapest peer),
    the load table, issue 26's targets against the best peer, and wake-ups and system calls."""
    names, groups = contenders(results, "ack"), loads(results, "ack")
    left_out = peers_report.missing(results)
    return (
        runtime_table(results, "ack", names) + "\n"
        + (f"Not measured:\n\n{left_out}\n" if left_out else "")
        + charts(results, "ack", "ack_server vs the peers",
                 marks=peers_report.marks(results, groups, names))
        + load_table(results, "ack") + "\n"
        + "Targets (issue 26):\n\n" + peers_report.target_rows(results, groups, names) + "\n"
        + "Wake-ups and system calls (the wake-ups from each run's context switch counts, "
          "medians; the system calls from the `syscalls` step's strace run):\n\n"
        + peers_report.wakeups_table(results, groups, names) + "\n"
    )

def charts(results, section, label, base=None, cpu_target=None, marks=None):
    """The CPU and throughput charts of a section; with `base` and `cpu_target`, each CPU panel
    has a dashed line where framekit's total would meet the target (the target times the
    baseline's median), so a pale system part above it is a floor above the target."""
    names = contenders(results, section)
    if not names:
        return ""
    groups = loads(results, section)
    cpu_bars, rps_bars = {}, {}
    for sc in groups:
        for n in names:
            runs = results.get((section, sc, n), [])
            st = stats(runs, "cpu_us_per_req")
            if st:
                lower = share(runs, "sys_us_per_req", "cpu_us_per_req")
                note = f", system {lower:.0%}" if lower is not None else ", user/system not recorded"
                cpu_bars[(sc, n)] = Bar(*st, lower=lower, note=note)
            st = stats(runs, "rps")
            if st:
                rps_bars[(sc, n)] = Bar(*st)
    marks = dict(marks or {})
    for sc in groups:
        st = stats(results.get((section, sc, base), []), "cpu_us_per_req") if base else None
        if st and cpu_target:
            marks[sc] = (st[0] * cpu_target, f"target ({cpu_target}x {base})")
    cpu = ROOT / "bench" / "charts" / f"{section}-cpu.svg"
    split = any(b.lower is not None for b in cpu_bars.values())
    server_charts.svg_chart(
        cpu, f"{label}: server CPU per request, "
        + ("user over system" if split else "user + system (split not recorded)"),
        "median of the runs; whiskers: fastest to slowest run; each load on its own scale",
        "µs per request", groups, names, cpu_bars, us,
        split_legend=("system time (median share)", "user time") if split else None,
        marks=marks)
    rps = ROOT / "bench" / "charts" / f"{section}-rps.svg"
    server_charts.svg_chart(
        rps, f"{label}: throughput",
        "median of the runs; whiskers: slowest to fastest run; each load on its own scale",
        "requests per second", groups, names, rps_bars,
        lambda v: f"{v / 1000:.0f}k" if v >= 1000 else f"{v:.0f}")
    note = ("The CPU chart stacks each server's system time (pale) under its user time (solid); "
            "the dashed line is the total the target allows framekit: where a pale part alone "
            "reaches above it, the kernel floor is above the target.\n\n" if split and marks else "")
    return (note + f"![{label}: CPU per request, user over system]({cpu.relative_to(ROOT)})\n\n"
            f"![{label}: throughput]({rps.relative_to(ROOT)})\n\n")


def idle_count(scenario):
    """The connection count of an rss row's scenario ("idle 5000" or "idle 10000, glibc malloc")."""
    words = scenario.replace(",", " ").split()
    return int(words[1]) if len(words) > 1 and words[1].isdigit() else 0


def rss_table(results):
    rows = [(sc, name, runs[-1]) for (sec, sc, name), runs in results.items() if sec == "rss"]
    if not rows:
        return "_not run_\n"
    rows.sort(key=lambda row: idle_count(row[0]))  # stable: servers keep their order per count
    out = "| server | RSS before | RSS with connections open | per idle connection | target (framekit) |\n"
    out += "|---|---:|---:|---:|---|\n"
    redis = [int(r["per_conn_bytes"]) for _, name, r in rows
             if name == "redis-server" and "per_conn_bytes" in r]
    for sc, name, r in rows:
        if "per_conn_bytes" not in r:
            why = r["_raw"] if r["_raw"].startswith("skipped") else "failed"
            out += f"| `{name}` ({sc}) | {why} | | | |\n"
            continue
        per = int(r["per_conn_bytes"])
        target = peers_report.rss_target(rows, sc, name, per)
        if target is None and name == "resp_server":
            met = per <= 1536 and (not redis or per <= 1.1 * redis[0])
            vs = f", {per / redis[0]:.2f}x redis-server" if redis and redis[0] > 0 else ""
            target = f"≤ 1.5 KiB and ≤ 1.1x redis-server: {'yes' if met else '**no**'}{vs}"
        out += (
            f"| `{name}` ({sc}) | {int(r['before_kib']):,} KiB | {int(r['after_kib']):,} KiB "
            f"| {per:,} B | {target or ''} |\n"
        )
    return out


def drip_table(results):
    names = contenders(results, "drip")
    if not names:
        return "_not run_\n"
    out = ("| request | server | runs | server CPU, s, median (min–max) | of which user, s "
           "| of which system, s | bytes | pieces | wall s |\n"
           "|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
    s3 = lambda v: f"{v:.3f}"  # noqa: E731
    for sc in loads(results, "drip"):
        for name in names:
            runs = results.get(("drip", sc, name), [])
            ok = [r for r in runs if "cpu_s" in r]
            if not ok:
                out += f"| {sc} | `{name}` | {len(runs)} | failed | | | | | |\n"
                continue
            out += (f"| {sc} | `{name}` | {len(ok)} | {fmt_spread(stats(ok, 'cpu_s'), s3)} "
                    f"| {fmt_spread(stats(ok, 'user_s'), s3)} | {fmt_spread(stats(ok, 'sys_s'), s3)} "
                    f"| {int(ok[-1]['bytes']):,} | {ok[-1]['pieces']} | {ok[-1]['wall_s']} |\n")
    return out


def server(args):
    """`report.py server`: merges this run's steps into the kept results, writes them back, and
    rewrites the section and its charts from all of them."""
    kept = read_blocks(args.store)
    run = read_blocks(args.results) if args.results else {}
    if args.results and not run:
        raise SystemExit(f"{args.results}: no results (no `step` block)")
    blocks = merge(kept, run)
    if run:
        write_blocks(args.store, blocks)
    results = results_of(blocks)
    peers_report.add_server_plus_client(results)
    store = pathlib.Path(args.store).resolve()
    store = store.relative_to(ROOT) if store.is_relative_to(ROOT) else store
    body = "## Servers (`bench/server.sh`)\n\n" + machine_facts() + "\n"
    body += (
        f"Each step's rows come from the last run of that step: `{store}` keeps the raw results, "
        "and a run of some steps (`STEPS=rss bench/server.sh`) replaces only theirs.\n\n"
    )
    body += provenance_table(blocks) + "\n" + SERVER_TEXT + "\n"
    body += CPU_TEXT + cpu_accounting() + "\n\n"
    body += (
        "### `ack_server` vs the peers (issue 26)\n\n"
        "`bench/loadgen` (one runtime thread) keeps W newline requests of 16 B in flight on each "
        "of C connections and times each response. The peers are the same protocol written as a "
        "user of each stack would, answering exactly as `ack_server` does (`bench/peers/check.py`): "
        "`plain_ack` (nothing but tokio, a 4 KiB read buffer and one write per read) and "
        "`framed_ack` (tokio-util `FramedRead`/`FramedWrite` with `LinesCodec`, forwarded), both in "
        "bench/loadgen/src/bin; `ack_server_go` (Go's net and bufio, a goroutine per connection), "
        "`ack_server_netty` (Netty 4.1 NIO, `LineBasedFrameDecoder`, a flush per read) and "
        "`ack_server_asyncio` (asyncio streams), in bench/peers (`bench/peers/build.sh` builds "
        "them; `INSTALL=1` installs their toolchains). Every contender gets one unmeasured run "
        "first (`PREPASS`, for the JVM's JIT). Wake-ups are the server's voluntary context "
        "switches (every thread's /proc/PID/task/*/status, before and after each run) per "
        "request; the load generator's CPU and wake-ups are its own getrusage over its run. "
        "System calls per request: `strace -c -f` attached to the server for one bounded run "
        "(`STRACE_REQUESTS` requests, not timed).\n\n"
    )
    body += peers_comparison(results)
    body += (
        "### `resp_server` vs `redis-server`\n\n"
        "`redis-benchmark -t set,get -c 50 -q --csv`, one run being N SETs then N GETs, with "
        "`-P 1` and `-P 16` (16 pipelined requests per client); req/s is the run's 2N over the "
        "time of both tests; redis-server runs with `--save '' --appendonly no`.\n\n"
    )
    if any(k[0] == "skip" for k in results):
        body += "_skipped: redis-server or redis-benchmark not installed_\n\n"
    else:
        body += comparison(results, "resp", "resp_server vs redis-server", "redis-server", 0.8)
    body += (
        "### Memory per idle connection\n\n"
        "`loadgen --idle N` opens N connections, completes one request on each, and holds them "
        "open; the server's VmRSS (from /proc) is read before and `IDLE_SETTLE` (15 s) after the "
        "last one is ready, long enough for redis-server to shed an idle client's query buffer "
        "(its clientsCron, after 2 s idle) and for jemalloc to return the pages (10 s decay). "
        "The difference over N bounds everything a connection costs in the server's "
        "memory (task, socket wrapper, buffers); kernel socket buffers are not in RSS. "
        "The RESP servers are sent PING as clients send it (a RESP array), and inline "
        "(`PING\\n`, as telnet would) in rows of their own: resp_server reads an inline "
        "request with its owned parser, which it keeps for the rest of the connection. "
        "ack_server and resp_server allocate with jemalloc (their default, feature `jemalloc`, "
        "as Redis ships); the glibc malloc rows are the same servers built without it. "
        "Target (issue 14): framekit's examples at most 1.5 KiB each, and at most 1.1x "
        "redis-server's.\n\n"
    )
    body += rss_table(results)
    body += (
        "\n### A dripped request\n\n"
        "`bench/drip.py` writes one MSET of DRIP_PAIRS pairs (about 4.7 MB) in 8 KiB pieces, 4 ms "
        "apart, as a slow or hostile client would, and waits for the `+OK`; the server's CPU "
        "seconds over it (user and system, from /proc/PID/stat) show whether it pays again for "
        "what it has already parsed on every piece. A fresh server for each run.\n\n"
    )
    body += drip_table(results)
    if args.notes and os.path.exists(args.notes):
        body += "\n" + pathlib.Path(args.notes).read_text()
    replace_section("server", body)
