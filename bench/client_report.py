"""The client section's charts and tables (issue 22), from the outputs of bench/client-callgrind.sh
(instructions per request) and bench/client.sh (a timing run: CPU per request and throughput,
REPEATS rounds): framekit's RESP client against the redis crate's MultiplexedConnection at each
depth, with the 0.8x CPU target drawn on the charts. Prints the markdown tables for
BENCHMARKS.md; the charts go to bench/charts/client-*.svg.

    python3 bench/client_report.py --callgrind CALLGRIND_OUT [--timing CLIENT_SH_TSV]
"""

import argparse
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import server_charts  # noqa: E402
from server_charts import Bar  # noqa: E402

CHARTS = pathlib.Path(__file__).resolve().parent / "charts"
NAMES = {"framekit": "framekit resp_client", "redis": "redis crate 0.32 (multiplexed)"}
# Issue 22: at most this much of the redis crate's CPU per request, and at least its throughput.
CPU_TARGET = 0.8


def read_callgrind(path):
    """{(client, depth): Ir per request} from client-callgrind.sh's key=value lines."""
    out = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if not line.startswith("client="):
            continue
        f = dict(kv.split("=", 1) for kv in line.split())
        out[(f["client"], int(f["in_flight"]))] = int(f["ir_per_request"])
    return out


def read_timing(path):
    """{(client, depth): [rows]} from client.sh's TSV, each row a dict of numbers."""
    out = {}
    lines = pathlib.Path(path).read_text().splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) != len(header):
            continue
        row = dict(zip(header, cells))
        key = (row["client"].lower(), int(row["in_flight"]))
        out.setdefault(key, []).append({k: float(v) for k, v in row.items() if k != "client"})
    return out


def ratio_cell(value, target, lower_is_better=True):
    met = value <= target if lower_is_better else value >= target
    return f"{value:.2f}x" + ("" if met else " **(miss)**")


def callgrind_section(ir):
    depths = sorted({d for _, d in ir})
    rows = ["| in flight | framekit Ir/request | redis crate Ir/request | ratio (target ≤ 0.80x) |",
            "|---:|---:|---:|---:|"]
    bars, marks = {}, {}
    for d in depths:
        f, r = ir.get(("framekit", d)), ir.get(("redis", d))
        if f is None or r is None:
            continue
        rows.append(f"| {d} | {f:,} | {r:,} | {ratio_cell(f / r, CPU_TARGET)} |")
        group = f"{d} in flight"
        bars[(group, NAMES["framekit"])] = Bar(f, f, f)
        bars[(group, NAMES["redis"])] = Bar(r, r, r)
        marks[group] = (r * CPU_TARGET, "target: 0.8x the redis crate")
    groups = [f"{d} in flight" for d in depths]
    server_charts.svg_chart(
        CHARTS / "client-ir.svg", "Client instructions per request (callgrind)",
        "GET/SET against one redis-server; (Ir at 2N - Ir at N) / N; load-independent",
        "instructions per request", groups, list(NAMES.values()), bars,
        lambda v: f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}", marks=marks)
    return "\n".join(rows)


def timing_section(timing):
    depths = sorted({d for _, d in timing})
    rows = ["| in flight | client | rounds | req/s (median) | CPU µs/req (median, min-max) | user µs/req | system µs/req |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    ratios = ["| in flight | CPU per request, framekit / redis (per round) | median | throughput, framekit / redis (median) |",
              "|---:|---|---:|---:|"]
    cpu_bars, rps_bars, marks = {}, {}, {}
    for d in depths:
        med = {}
        for client in ("framekit", "redis"):
            runs = timing.get((client, d), [])
            if not runs:
                continue
            cpu = [r["cpu_us_per_req"] for r in runs]
            rps = [r["req_per_s"] for r in runs]
            user = statistics.median(r["user_us"] / r["requests"] for r in runs)
            sys_ = statistics.median(r["sys_us"] / r["requests"] for r in runs)
            med[client] = (statistics.median(cpu), statistics.median(rps), cpu)
            rows.append(f"| {d} | {client} | {len(runs)} | {statistics.median(rps):,.0f} | "
                        f"{statistics.median(cpu):.2f} ({min(cpu):.2f}-{max(cpu):.2f}) | {user:.2f} | {sys_:.2f} |")
            group = f"{d} in flight"
            lower = sys_ / (user + sys_) if user + sys_ > 0 else None
            cpu_bars[(group, NAMES[client])] = Bar(statistics.median(cpu), min(cpu), max(cpu), lower)
            rps_bars[(group, NAMES[client])] = Bar(statistics.median(rps), min(rps), max(rps))
        if "framekit" in med and "redis" in med:
            per_round = [f / r for f, r in zip(med["framekit"][2], med["redis"][2])]
            ratios.append(f"| {d} | {' / '.join(f'{x:.2f}' for x in per_round)} | "
                          f"{ratio_cell(med['framekit'][0] / med['redis'][0], CPU_TARGET)} | "
                          f"{ratio_cell(med['framekit'][1] / med['redis'][1], 1.0, lower_is_better=False)} |")
            marks[f"{d} in flight"] = (med["redis"][0] * CPU_TARGET, "target: 0.8x the redis crate")
    groups = [f"{d} in flight" for d in depths]
    names = list(NAMES.values())
    server_charts.svg_chart(
        CHARTS / "client-cpu.svg", "Client CPU per request, user over system (getrusage)",
        "median of the rounds; whiskers: fastest to slowest round; each depth on its own scale",
        "µs per request", groups, names, cpu_bars, lambda v: f"{v:.1f}",
        split_legend=("system time (median share)", "user time"), marks=marks)
    server_charts.svg_chart(
        CHARTS / "client-rps.svg", "Client throughput (one connection, one current-thread runtime)",
        "median of the rounds; whiskers: slowest to fastest round; each depth on its own scale",
        "requests per second", groups, names, rps_bars,
        lambda v: f"{v / 1000:.0f}k" if v >= 1000 else f"{v:.0f}")
    return "\n".join(rows) + "\n\n" + "\n".join(ratios)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callgrind", required=True)
    parser.add_argument("--timing")
    args = parser.parse_args()
    print(callgrind_section(read_callgrind(args.callgrind)))
    if args.timing:
        print()
        print(timing_section(read_timing(args.timing)))


if __name__ == "__main__":
    main()
