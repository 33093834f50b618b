#!/usr/bin/env python3
"""Writes the measured tables into BENCHMARKS.md, one marked section per benchmark family.

    report.py codecs --command CMD          criterion results -> the codec section
    report.py server --results FILE --command CMD
                                            server.sh's tab-separated results -> the server section

Each section sits between `<!-- NAME:begin -->` and `<!-- NAME:end -->` and is replaced whole, so
re-running one family leaves the other's numbers alone. Medians only; ratios are taken between
contenders of the same run.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "BENCHMARKS.md"
CRITERION = ROOT / "target" / "criterion"

# Mirrors crates/framekit/benches/codecs.rs: INPUT_LEN bytes of frames of `size + 1` bytes.
INPUT_LEN = 256 * 1024
SIZES = {"32B": 32, "1KiB": 1024}

HEADER = """# Benchmarks

framekit's speed claims, measured as ratios against tokio-util, plain tokio and redis-server in the
same run on the same machine. Absolute numbers move from run to run, especially on a shared machine:
read the medians and, above all, the ratios. Each section below is rewritten by the script named in
it; only the profile notes at the end of a section are written by hand (`bench/*-notes.md`).

```sh
bench/run.sh       # codecs: criterion, about 7 minutes; a filter narrows it: bench/run.sh chunked4k
bench/server.sh    # servers: builds the examples and bench/loadgen, about 6 minutes;
                   # needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)
```
"""


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine(started=None, load=None):
    """Facts about the machine; `started` and `load` as captured before the run, if given."""
    model = ""
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    if load is None and os.path.exists("/proc/loadavg"):
        load = " ".join(open("/proc/loadavg").read().split()[:3])
    rev = sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
    now = started or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"- when: {now}, at commit `{rev}` (plus any uncommitted work in the tree)\n"
        f"- machine: {sh('nproc')} CPUs, {model or platform.processor()}, {platform.system()} "
        f"{platform.release()}; load average before the run: {load}\n"
        f"- toolchain: {sh('rustc', '--version')}, release profile of the workspace\n"
        "- the machine is shared with other jobs (builds, tests of other work): runs are niced and "
        "short; medians still move from one run to the next, by up to about 10 % for the codecs "
        "and more for the servers\n"
    )


def replace_section(name, body):
    text = DOC.read_text() if DOC.exists() else HEADER
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


# ---------------------------------------------------------------------------------------- codecs


def load_criterion():
    """{(group_id, function_id): (median ns, throughput bytes)} for every result of the last run."""
    out = {}
    for bench in CRITERION.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        thr = (meta.get("throughput") or {}).get("Bytes")
        out[(meta["group_id"], meta["function_id"])] = (est["median"]["point_estimate"], thr)
    return out


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}x"


def codec_rows(results, kind):
    """Rows of one direction (decode/encode): input, size, feed, contender, median, rates, ratio."""
    rows = []
    groups = sorted({g for (g, _) in results if g.startswith(kind + "/")})
    order = ["lines", "u32", "varint"]
    feeds = ["chunked4k", "whole", None]

    def key(g):
        parts = g.split("/")
        feed = parts[3] if len(parts) > 3 else None
        return (order.index(parts[1]), list(SIZES).index(parts[2]), feeds.index(feed))

    for group in sorted(groups, key=key):
        parts = group.split("/")
        inp, size_name = parts[1], parts[2]
        feed = parts[3] if len(parts) > 3 else ""
        frames = INPUT_LEN // (SIZES[size_name] + 1)
        if inp == "lines":
            base_key = (group, "tokio_lines")
        else:  # varint has no tokio-util codec: compare with LengthDelimitedCodec, per frame
            base_key = (group.replace("/varint/", "/u32/"), "tokio_length_delimited")
        base = results.get(base_key, (None, None))[0]
        contenders = [(f, v) for (g, f), v in results.items() if g == group]
        contenders.sort(key=lambda fv: fv[1][0])
        for name, (ns, nbytes) in contenders:
            ratio = base / ns if base else None
            rows.append(
                (inp, size_name, feed, name, ns, nbytes, frames, ratio, base_key[1])
            )
    return rows


def codec_table(rows, with_feed):
    head = "| input | frame | " + ("feed | " if with_feed else "")
    head += "contender | median | MiB/s | Mframes/s | vs tokio-util |\n"
    head += "|---|---|" + ("---|" if with_feed else "") + "---|---:|---:|---:|---:|\n"
    lines = []
    for inp, size, feed, name, ns, nbytes, frames, ratio, base in rows:
        mib = nbytes / (ns / 1e9) / 2**20 if nbytes else 0
        mfr = frames / (ns / 1e9) / 1e6
        cells = [inp, size] + ([feed] if with_feed else []) + [
            f"`{name}`",
            fmt_time(ns),
            f"{mib:,.0f}",
            f"{mfr:.1f}",
            "1.00x (baseline)" if name == base else fmt_ratio(ratio),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


TARGETS = [
    # (what, group, contender, baseline contender, baseline group or None, target, kind)
    ("Delimited → `Bytes` vs LinesCodec, 32 B", "decode/lines/32B/chunked4k",
     "framekit_delimited", "tokio_lines", None, 2.5),
    ("Delimited → `Bytes` vs LinesCodec, 1 KiB", "decode/lines/1KiB/chunked4k",
     "framekit_delimited", "tokio_lines", None, 1.6),
    ("LengthPrefixed u32 vs LengthDelimitedCodec, 32 B", "decode/u32/32B/chunked4k",
     "framekit_u32_be", "tokio_length_delimited", None, 1.5),
    ("LengthPrefixed u32 vs LengthDelimitedCodec, 1 KiB", "decode/u32/1KiB/chunked4k",
     "framekit_u32_be", "tokio_length_delimited", None, 1.0),
    ("LengthPrefixed varint vs LengthDelimitedCodec (frames/s), 32 B",
     "decode/varint/32B/chunked4k", "framekit_varint", "tokio_length_delimited",
     "decode/u32/32B/chunked4k", 1.5),
    ("LengthPrefixed varint vs LengthDelimitedCodec (frames/s), 1 KiB",
     "decode/varint/1KiB/chunked4k", "framekit_varint", "tokio_length_delimited",
     "decode/u32/1KiB/chunked4k", 1.0),
    ("borrowed frames (`Frames`) vs memchr scan, 32 B", "decode/lines/32B/chunked4k",
     "framekit_borrowed", "memchr", None, 0.8),
    ("borrowed frames (`Frames`) vs memchr scan, 1 KiB", "decode/lines/1KiB/chunked4k",
     "framekit_borrowed", "memchr", None, 0.5),
]


def target_table(results):
    out = (
        "| target (4 KiB-chunk feed) | measured | target | met | `bytes_floor` vs the same "
        "baseline |\n|---|---:|---:|---|---:|\n"
    )
    for what, group, name, base_name, base_group, target in TARGETS:
        ours = results.get((group, name))
        base = results.get((base_group or group, base_name))
        if not ours or not base:
            out += f"| {what} | not measured | ≥ {target:.2f}x | – | |\n"
            continue
        ratio = base[0] / ours[0]
        shown = f"{ratio:.0%}" if base_name == "memchr" else f"{ratio:.2f}x"
        goal = f"≥ {target:.0%}" if base_name == "memchr" else f"≥ {target:.2f}x"
        floor = results.get((base_group or group, "bytes_floor"))
        ceiling = f"{base[0] / floor[0]:.2f}x" if floor and base_name != "memchr" else ""
        out += (
            f"| {what} | {shown} | {goal} | {'yes' if ratio >= target else '**no**'} "
            f"| {ceiling} |\n"
        )
    return out


def codecs(args):
    results = load_criterion()
    if not results:
        sys.exit(f"no criterion results under {CRITERION}")
    body = "## Codecs (`bench/run.sh`)\n\n" + machine(args.started, args.load) + "\n"
    body += f"Command:\n\n```sh\n{args.command}\n```\n\n"
    body += (
        "Times are the median CPU time of the benchmark thread (`CLOCK_THREAD_CPUTIME_ID`), so "
        "time slices taken by other processes on the shared machine are not counted. "
        "Input: 256 KiB of frames with 32 B or 1 KiB printable payloads, each frame different. "
        "`chunked4k` appends 4 KiB at a time to a `BytesMut` and decodes until the codec asks for "
        "more, as socket reads arrive; `whole` decodes a buffer already holding every byte "
        "(its copy is prepared outside the timing). Decoded items: `String` for LinesCodec (its "
        "job), `Bytes` for AnyDelimiterCodec and framekit, `BytesMut` for LengthDelimitedCodec; "
        "`framekit_*_borrowed` hands each frame to the handler as `&[u8]` inside the read buffer "
        "(`framekit::framing::Frames`). `memcpy` copies the same bytes in the same reads and "
        "`memchr` also finds every LF in them: the physical limits. `bytes_floor` finds each "
        "frame's end and cuts it off with `split_to` and does nothing else (no limits, no checks): "
        "the floor for any decoder that hands out owned `Bytes`, so its ratio in the targets "
        "table is the most any such codec could reach against that baseline here. "
        "`vs tokio-util` is the "
        "tokio-util codec's median time over the contender's (the same frames, so it is also the "
        "frames/s ratio); varint frames are compared with LengthDelimitedCodec on the u32 input, "
        "which carries the same payloads.\n\n"
    )
    body += "### Targets\n\n" + target_table(results) + "\n"
    body += "### Decode\n\n" + codec_table(codec_rows(results, "decode"), True) + "\n"
    body += "### Encode\n\n" + (
        "Every payload framed into one reused output buffer; `&str` items for the tokio-util "
        "line codecs, `Bytes` for the rest. framekit's Delimited also checks that a payload does "
        "not contain the delimiter (an LF inside a line would split it on the far side); "
        "LinesCodec does not.\n\n"
    )
    body += codec_table(codec_rows(results, "encode"), False)
    if args.notes and os.path.exists(args.notes):
        body += "\n" + pathlib.Path(args.notes).read_text()
    replace_section("codecs", body)


# ---------------------------------------------------------------------------------------- server

SERVER_TEXT = """Every server is a release build started by the script on a loopback port; the load generator
runs on the same 2 CPUs as the server, so both compete for them, as they do for the baseline.
Each row is the median of the repeated runs, with the fastest and slowest in brackets; the
contenders take turns, the order rotating every run, so drift in the machine's load hits all alike.
"""


def parse_results(path):
    """{(section, scenario, contender): [dict of values per run]} in file order."""
    out = {}
    for line in pathlib.Path(path).read_text().splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        section, scenario, name, values = parts
        kv = dict(p.split("=", 1) for p in values.split() if "=" in p)
        kv["_raw"] = values
        out.setdefault((section, scenario, name), []).append(kv)
    return out


def median_run(runs, key="rps"):
    ok = [r for r in runs if key in r]
    if not ok:
        return None
    ok.sort(key=lambda r: float(r[key]))
    return ok[(len(ok) - 1) // 2]  # the lower median of an even count


def fnum(r, key):
    try:
        v = float(r[key])
    except (KeyError, ValueError):
        return None
    return v if v == v else None  # NaN is missing


def stats(runs, key):
    """(median, min, max) of `key` over the runs that have it, or None."""
    vals = sorted(v for v in (fnum(r, key) for r in runs) if v is not None)
    if not vals:
        return None
    n = len(vals)
    med = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return med, vals[0], vals[-1]


def fmt_spread(st, fmt):
    if st is None:
        return "failed"
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


def runtime_table(results, names):
    out = "| server | OS threads | runtime |\n|---|---:|---|\n"
    for name in names:
        r = (results.get(("runtime", "-", name)) or [{}])[-1]
        about = r.get("about", "?").replace("_", " ")
        version = f" ({r['version']})" if "version" in r else ""
        out += f"| `{name}`{version} | {r.get('os_threads', '?')} | {about} |\n"
    return out


def load_table(results, section):
    names = contenders(results, section)
    if not names:
        return "_not run_\n"
    out = ("| load | server | runs | req/s, median (min–max) | server CPU per request, µs (min–max) "
           "| system calls per request |\n|---|---|---:|---:|---:|---:|\n")
    for sc in loads(results, section):
        for name in names:
            runs = results.get((section, sc, name), [])
            if not runs:
                continue
            sys_runs = results.get(("syscalls", f"{section} {sc}", name), [])
            per = stats(sys_runs, "per_req")
            out += (f"| {sc} | `{name}` | {len(runs)} | {fmt_spread(stats(runs, 'rps'), lambda v: f'{v:,.0f}')} "
                    f"| {fmt_spread(stats(runs, 'cpu_us_per_req'), lambda v: f'{v:.2f}')} "
                    f"| {f'{per[0]:.2f}' if per else '–'} |\n")
    return out


def ratio_row(results, section, sc, ours, base, what, key, target, smaller_is_better):
    a = stats(results.get((section, sc, ours), []), key)
    b = stats(results.get((section, sc, base), []), key)
    if not a or not b or b[0] == 0:
        return f"| {sc} | {what}: `{ours}` / `{base}` | not measured | {target} | |\n"
    r = a[0] / b[0]
    bound = float(target.split()[-1].rstrip("x"))
    met = r <= bound if smaller_is_better else r >= bound
    return f"| {sc} | {what}: `{ours}` / `{base}` | {r:.2f}x | {target} | {'yes' if met else '**no**'} |\n"


def target_rows(results, section, base, cpu_target):
    out = "| load | ratio | measured | target | met |\n|---|---|---:|---:|---|\n"
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
    return out


# Colours for the charts' bars, one per contender in order (baseline last).
PALETTE = ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#ff7f0e", "#d62728"]


def svg_chart(path, title, unit, results, section, key, fmt):
    """A grouped bar chart (plain SVG): one group per load, one bar per server (median), with a
    whisker from the fastest to the slowest run."""
    scs, names = loads(results, section), contenders(results, section)
    data = {(sc, n): stats(results.get((section, sc, n), []), key) for sc in scs for n in names}
    top = max([st[2] for st in data.values() if st] or [1.0]) * 1.15
    width, height, left, bottom, top_pad = 760, 330, 70, 60, 40
    plot_w, plot_h = width - left - 20, height - bottom - top_pad
    group_w = plot_w / max(len(scs), 1)
    bar_w = group_w * 0.8 / max(len(names), 1)
    y = lambda v: top_pad + plot_h * (1 - v / top)
    e = []
    e.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">')
    e.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    e.append(f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>')
    for i in range(6):
        v = top * i / 5
        e.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        e.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{fmt(v)}</text>')
    e.append(f'<text x="14" y="{top_pad + plot_h / 2}" transform="rotate(-90 14 {top_pad + plot_h / 2})" '
             f'text-anchor="middle">{unit}</text>')
    for gi, sc in enumerate(scs):
        gx = left + gi * group_w + group_w * 0.1
        for ni, n in enumerate(names):
            st = data[(sc, n)]
            if not st:
                continue
            x = gx + ni * bar_w
            med, lo, hi = st
            colour = PALETTE[ni % len(PALETTE)]
            e.append(f'<rect x="{x:.1f}" y="{y(med):.1f}" width="{bar_w * 0.9:.1f}" '
                     f'height="{y(0) - y(med):.1f}" fill="{colour}"><title>{n}, {sc}: {fmt(med)} '
                     f'({fmt(lo)}–{fmt(hi)})</title></rect>')
            cx = x + bar_w * 0.45
            e.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(hi):.1f}" y2="{y(lo):.1f}" stroke="black"/>')
            e.append(f'<text x="{cx:.1f}" y="{y(hi) - 3:.1f}" text-anchor="middle" font-size="9">{fmt(med)}</text>')
        e.append(f'<text x="{left + gi * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" '
                 f'text-anchor="middle">{sc}</text>')
    lx = left
    for ni, n in enumerate(names):
        e.append(f'<rect x="{lx}" y="{height - 22}" width="10" height="10" fill="{PALETTE[ni % len(PALETTE)]}"/>')
        e.append(f'<text x="{lx + 14}" y="{height - 13}">{n}</text>')
        lx += 14 + 7.2 * len(n) + 16
    e.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(e) + "\n")
    return path.relative_to(ROOT)


def charts(results, section, label):
    if not contenders(results, section):
        return ""
    cpu = svg_chart(ROOT / "bench" / "charts" / f"{section}-cpu.svg",
                    f"{label}: server CPU per request (median; whiskers: fastest to slowest run)",
                    "µs per request", results, section, "cpu_us_per_req", lambda v: f"{v:.1f}")
    rps = svg_chart(ROOT / "bench" / "charts" / f"{section}-rps.svg",
                    f"{label}: throughput (median; whiskers: slowest to fastest run)",
                    "requests per second", results, section, "rps",
                    lambda v: f"{v / 1000:.0f}k" if v >= 1000 else f"{v:.0f}")
    return f"![{label}: CPU per request]({cpu})\n\n![{label}: throughput]({rps})\n\n"


def rss_table(results):
    rows = [(sc, name, runs[-1]) for (sec, sc, name), runs in results.items() if sec == "rss"]
    if not rows:
        return "_not run_\n"
    out = "| server | RSS before | RSS with connections open | per idle connection | target (framekit) |\n"
    out += "|---|---:|---:|---:|---|\n"
    redis = [int(r["per_conn_bytes"]) for _, name, r in rows
             if name == "redis-server" and "per_conn_bytes" in r]
    for sc, name, r in rows:
        if "per_conn_bytes" not in r:
            out += f"| `{name}` ({sc}) | failed | | | |\n"
            continue
        per = int(r["per_conn_bytes"])
        target = ""
        if name in ("ack_server", "resp_server"):
            met = per <= 1536 and (not redis or per <= 1.1 * redis[0])
            vs = f", {per / redis[0]:.2f}x redis-server" if redis and redis[0] > 0 else ""
            target = f"≤ 1.5 KiB and ≤ 1.1x redis-server: {'yes' if met else '**no**'}{vs}"
        out += (
            f"| `{name}` ({sc}) | {int(r['before_kib']):,} KiB | {int(r['after_kib']):,} KiB "
            f"| {per:,} B | {target} |\n"
        )
    return out


def drip_table(results):
    names = contenders(results, "drip")
    if not names:
        return "_not run_\n"
    out = ("| request | server | runs | server CPU, s, median (min–max) | bytes | pieces | wall s |\n"
           "|---|---|---:|---:|---:|---:|---:|\n")
    for sc in loads(results, "drip"):
        for name in names:
            runs = results.get(("drip", sc, name), [])
            ok = [r for r in runs if "cpu_s" in r]
            if not ok:
                out += f"| {sc} | `{name}` | {len(runs)} | failed | | | |\n"
                continue
            out += (f"| {sc} | `{name}` | {len(ok)} | {fmt_spread(stats(ok, 'cpu_s'), lambda v: f'{v:.3f}')} "
                    f"| {int(ok[-1]['bytes']):,} | {ok[-1]['pieces']} | {ok[-1]['wall_s']} |\n")
    return out


def server(args):
    results = parse_results(args.results)
    body = "## Servers (`bench/server.sh`)\n\n" + machine(args.started, args.load) + "\n"
    body += f"Command:\n\n```sh\n{args.command}\n```\n\n" + SERVER_TEXT + "\n"
    body += (
        "### `ack_server` vs plain tokio\n\n"
        "`bench/loadgen` (one runtime thread) keeps W newline requests of 16 B in flight on each "
        "of C connections and times each response; `plain_ack` (bench/loadgen/src/bin) is the "
        "same protocol written with nothing but tokio, a 4 KiB read buffer and one write per read. "
        "Server CPU is user + system time of every thread of the server process, from "
        "/proc/PID/stat before and after each run, over the responses of the run (warm-up "
        "included); it is the fair measure here, since the load generator shares the two CPUs "
        "and bounds the throughput. System calls per request: `strace -c -f` attached to the "
        "server for one bounded run (20,000 requests, not timed).\n\n"
    )
    body += runtime_table(results, contenders(results, "ack")) + "\n"
    body += charts(results, "ack", "ack_server vs plain tokio")
    body += load_table(results, "ack") + "\n"
    body += "Targets:\n\n" + target_rows(results, "ack", "plain_ack", 0.9) + "\n"
    body += (
        "### `resp_server` vs `redis-server`\n\n"
        "`redis-benchmark -t set,get -c 50 -q --csv`, one run being N SETs then N GETs, with "
        "`-P 1` and `-P 16` (16 pipelined requests per client); req/s is the run's 2N over the "
        "time of both tests; redis-server runs with `--save '' --appendonly no`.\n\n"
    )
    skipped = [k for k in results if k[0] == "skip"]
    if skipped:
        body += "_skipped: redis-server or redis-benchmark not installed_\n\n"
    else:
        body += runtime_table(results, contenders(results, "resp")) + "\n"
        body += charts(results, "resp", "resp_server vs redis-server")
        body += load_table(results, "resp") + "\n"
        body += "Targets:\n\n" + target_rows(results, "resp", "redis-server", 0.8) + "\n"
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
        "seconds over it (from /proc/PID/stat) show whether it pays again for what it has "
        "already parsed on every piece. A fresh server for each run.\n\n"
    )
    body += drip_table(results)
    if args.notes and os.path.exists(args.notes):
        body += "\n" + pathlib.Path(args.notes).read_text()
    replace_section("server", body)


def redis_csv(args):
    """redis-benchmark --csv on stdin -> one line of key=value pairs: rps (all requests over the
    time of every test), per-test rps, and the worst test's p50 and p99."""
    import csv

    rows = list(csv.reader(sys.stdin))
    if len(rows) < 2:
        sys.exit("redis-benchmark printed nothing")
    head = rows[0]
    tests = [dict(zip(head, row)) for row in rows[1:]]
    seconds = sum(1 / float(t["rps"]) for t in tests)  # per request of each test
    parts = [f"rps={len(tests) / seconds:.0f}"]
    parts += [f"{t['test'].lower()}_rps={float(t['rps']):.0f}" for t in tests]
    parts.append(f"p50_us={max(float(t['p50_latency_ms']) for t in tests) * 1000:.0f}")
    parts.append(f"p99_us={max(float(t['p99_latency_ms']) for t in tests) * 1000:.0f}")
    print(" ".join(parts))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("codecs")
    c.add_argument("--command", required=True)
    c.add_argument("--notes", help="markdown appended to the section (profile notes)")
    s = sub.add_parser("server")
    s.add_argument("--command", required=True)
    s.add_argument("--results", required=True, help="server.sh's tab-separated results")
    s.add_argument("--notes", help="markdown appended to the section")
    sub.add_parser("redis-csv")
    for parser in (c, s):
        parser.add_argument("--started", help="when the run started (default: now)")
        parser.add_argument("--load", help="load average before the run (default: now)")
    args = p.parse_args()
    {"codecs": codecs, "server": server, "redis-csv": redis_csv}[args.what](args)


if __name__ == "__main__":
    main()
