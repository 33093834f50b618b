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
     "framekit_borrowed", "memchr", None, 0.5),
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
Each row is the median of the repeated runs (the contenders alternate who goes first); the
latency columns come from the run with the median rate.
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


def rate_table(results, section, ours, base, target):
    scenarios = [sc for (sec, sc, name) in results if sec == section and name == ours]
    scenarios = list(dict.fromkeys(scenarios))
    if not scenarios:
        return "_not run_\n"
    out = (
        f"| load | `{ours}` req/s | p50 | p99 | `{base}` req/s | p50 | p99 | ratio | target | met |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    for sc in scenarios:
        a = median_run(results.get((section, sc, ours), []))
        b = median_run(results.get((section, sc, base), []))
        if not a or not b:
            out += f"| {sc} | failed | | | | | | | | |\n"
            continue
        ratio = float(a["rps"]) / float(b["rps"])
        us = lambda r, k: f"{float(r[k]):.0f} µs"
        out += (
            f"| {sc} | {float(a['rps']):,.0f} | {us(a, 'p50_us')} | {us(a, 'p99_us')} "
            f"| {float(b['rps']):,.0f} | {us(b, 'p50_us')} | {us(b, 'p99_us')} "
            f"| {ratio:.2f}x | ≥ {target:.2f}x | {'yes' if ratio >= target else '**no**'} |\n"
        )
    return out


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


def server(args):
    results = parse_results(args.results)
    body = "## Servers (`bench/server.sh`)\n\n" + machine(args.started, args.load) + "\n"
    body += f"Command:\n\n```sh\n{args.command}\n```\n\n" + SERVER_TEXT + "\n"
    body += (
        "### `ack_server` vs plain tokio\n\n"
        "`bench/loadgen` (one runtime thread) keeps W newline requests of 16 B in flight on each "
        "of C connections and times each response; `plain_ack` (bench/loadgen/src/bin) is the "
        "same protocol written with nothing but tokio, a 4 KiB read buffer and one write per read.\n\n"
    )
    body += rate_table(results, "ack", "ack_server", "plain_ack", 0.95) + "\n"
    body += (
        "### `resp_server` vs `redis-server`\n\n"
        "`redis-benchmark -t set,get -q --csv` with its default 50 clients, without and with "
        "`-P 16` (16 pipelined requests per client); redis-server runs with `--save '' "
        "--appendonly no`.\n\n"
    )
    skipped = [k for k in results if k[0] == "skip"]
    body += ("_skipped: redis-server or redis-benchmark not installed_\n" if skipped else
             rate_table(results, "resp", "resp_server", "redis-server", 1.0)) + "\n"
    body += (
        "### Memory per idle connection\n\n"
        "`loadgen --idle N` opens N connections, completes one request on each, and holds them "
        "open; the server's VmRSS (from /proc) is read before and `IDLE_SETTLE` (15 s) after the "
        "last one is ready, long enough for redis-server to shed an idle client's query buffer "
        "(its clientsCron, after 2 s idle) and for jemalloc to return the pages (10 s decay). "
        "The difference over N bounds everything a connection costs in the server's "
        "memory (task, socket wrapper, buffers); kernel socket buffers are not in RSS. "
        "Target (issue 14): framekit's examples at most 1.5 KiB each, and at most 1.1x "
        "redis-server's.\n\n"
    )
    body += rss_table(results)
    if args.notes and os.path.exists(args.notes):
        body += "\n" + pathlib.Path(args.notes).read_text()
    replace_section("server", body)


def redis_csv(args):
    """redis-benchmark --csv on stdin -> server.sh result lines on stdout."""
    import csv

    rows = list(csv.reader(sys.stdin))
    if not rows:
        sys.exit("redis-benchmark printed nothing")
    head = rows[0]
    for row in rows[1:]:
        r = dict(zip(head, row))
        p50 = float(r["p50_latency_ms"]) * 1000
        p99 = float(r["p99_latency_ms"]) * 1000
        print(f"resp\t{r['test']} {args.mode}\t{args.name}\t"
              f"rps={float(r['rps']):.0f} p50_us={p50:.0f} p99_us={p99:.0f}")


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
    r = sub.add_parser("redis-csv")
    r.add_argument("name")
    r.add_argument("mode")
    for parser in (c, s):
        parser.add_argument("--started", help="when the run started (default: now)")
        parser.add_argument("--load", help="load average before the run (default: now)")
    args = p.parse_args()
    {"codecs": codecs, "server": server, "redis-csv": redis_csv}[args.what](args)


if __name__ == "__main__":
    main()
