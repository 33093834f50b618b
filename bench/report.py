#!/usr/bin/env python3
"""Writes the measured tables into BENCHMARKS.md, one marked section per benchmark family.

    report.py codecs --command CMD          criterion results -> the codec section
    report.py server [--results FILE]       server.sh's results of this run, merged by step into
                                            the kept results (--store, default
                                            bench/server-results.tsv) -> the server section
    report.py redis-csv                     redis-benchmark --csv on stdin -> one key=value line

Each section sits between `<!-- NAME:begin -->` and `<!-- NAME:end -->` and is replaced whole, so
re-running one family leaves the other's numbers alone (benchmarks_doc.py). Medians only; ratios
are taken between contenders of the same run. The server section is built by server_report.py.
"""

import argparse
import json
import os
import pathlib
import sys

from benchmarks_doc import ROOT, machine, replace_section
import server_report

CRITERION = ROOT / "target" / "criterion"

# Mirrors crates/framekit/benches/codecs.rs: INPUT_LEN bytes of frames of `size + 1` bytes.
INPUT_LEN = 256 * 1024
SIZES = {"32B": 32, "1KiB": 1024}

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
    s.add_argument("--results", help="server.sh's results of this run (without it: regenerate the "
                   "section from the kept results alone)")
    s.add_argument("--store", default=str(server_report.STORE),
                   help="the kept results, by step: read, the steps of --results replaced, written back")
    s.add_argument("--notes", help="markdown appended to the section")
    sub.add_parser("redis-csv")
    c.add_argument("--started", help="when the run started (default: now)")
    c.add_argument("--load", help="load average before the run (default: now)")
    args = p.parse_args()
    {"codecs": codecs, "server": server_report.server, "redis-csv": redis_csv}[args.what](args)


if __name__ == "__main__":
    main()
