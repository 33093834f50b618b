"""Tests of the server report's pieces: merging a run of some steps into the kept results, the
user/system split from two /proc readings (bench/procs.sh), the kernel floor, and the split bars.

    python3 -m unittest discover -s bench -p 'test_*.py'
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import server_charts  # noqa: E402
import server_report  # noqa: E402
from server_results import merge, read_blocks, results_of, write_blocks  # noqa: E402

BENCH = pathlib.Path(__file__).resolve().parent


def block(step, run, rows):
    return [f"step\t{step}\t-\trun={run} started={run} built_from=abc1234 load=1.00,0.50,0.25",
            f"command\t{step}\t-\tSTEPS='{step}' bench/server.sh"] + rows


ACK_ROW = ("ack\tc=16 w=16\t{name}\trps={rps} total=1000 user_s=0 sys_s=0 cpu_s=0 "
           "user_us_per_req={user} sys_us_per_req={sys} cpu_us_per_req={cpu}")
RSS_ROW = "rss\tidle 10000\t{name}\tbefore_kib=1000 after_kib={after} per_conn_bytes={per}"


class Files(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, lines):
        path = pathlib.Path(self.dir.name) / name
        path.write_text("\n".join(lines) + "\n")
        return path


class Merge(Files):
    def test_a_run_of_some_steps_keeps_the_other_steps_rows(self):
        kept = self.write("kept.tsv", block("ack", "2026-12-01T17:42Z", [
            ACK_ROW.format(name="ack_server", rps=100, user=0.3, sys=0.4, cpu=0.7)])
            + block("rss", "2026-12-01T17:42Z", [RSS_ROW.format(name="ack_server", after=2000, per=1400)]))
        run = self.write("run.tsv", block("rss", "2026-12-01T19:00Z", [
            RSS_ROW.format(name="ack_server", after=2100, per=1300)]))
        merged = merge(read_blocks(kept), read_blocks(run))
        self.assertEqual(list(merged), ["ack", "rss"])
        self.assertEqual(merged["ack"].meta["run"], "2026-12-01T17:42Z")
        self.assertEqual(merged["rss"].meta["run"], "2026-12-01T19:00Z")
        results = results_of(merged)
        self.assertEqual([r["per_conn_bytes"] for r in results[("rss", "idle 10000", "ack_server")]], ["1300"])
        self.assertEqual(len(results[("ack", "c=16 w=16", "ack_server")]), 1)

    def test_written_blocks_read_back_the_same(self):
        run = self.write("run.tsv", block("drip", "2026-12-01T19:00Z", [
            "drip\tMSET 10 pairs\tresp_server\tuser_s=0.010 sys_s=0.020 cpu_s=0.030 bytes=9 pieces=1 wall_s=0.1"]))
        blocks = read_blocks(run)
        again = pathlib.Path(self.dir.name) / "again.tsv"
        write_blocks(again, blocks)
        back = read_blocks(again)
        self.assertEqual([b.lines() for b in back.values()], [b.lines() for b in blocks.values()])

    def test_a_row_before_any_step_is_refused(self):
        old = self.write("old.tsv", [RSS_ROW.format(name="ack_server", after=2000, per=1400)])
        with self.assertRaises(SystemExit) as err:
            read_blocks(old)
        self.assertIn("old.tsv:1", str(err.exception))

    def test_the_provenance_table_names_each_run_and_its_steps(self):
        kept = read_blocks(self.write("kept.tsv", block("ack", "2026-12-01T17:42Z", [])))
        run = read_blocks(self.write("run.tsv", block("rss", "2026-12-01T19:00Z", [])))
        table = server_report.provenance_table(merge(kept, run))
        self.assertIn("| 2026-12-01 17:42 UTC | `abc1234` | `STEPS='ack' bench/server.sh` | `ack`:", table)
        self.assertIn("| 2026-12-01 19:00 UTC | `abc1234` | `STEPS='rss' bench/server.sh` | `rss`:", table)
        self.assertIn("| not run |", table)  # resp, syscalls, drip


class Split(Files):
    def test_cpu_fields_split_user_and_system_per_request(self):
        tick = os.sysconf("SC_CLK_TCK")
        out = subprocess.run(
            ["bash", "-c", f'WORK={self.dir.name}; source bench/procs.sh; '
             f'cpu_fields "10 20" "{10 + tick} {20 + tick // 2}" 1000'],
            cwd=BENCH.parent, capture_output=True, text=True, check=True).stdout
        fields = dict(kv.split("=") for kv in out.split())
        self.assertEqual(fields["user_s"], "1.000")
        self.assertEqual(fields["sys_s"], "0.500")
        self.assertEqual(fields["cpu_s"], "1.500")
        self.assertEqual(fields["user_us_per_req"], "1000.000")
        self.assertEqual(fields["sys_us_per_req"], "500.000")
        self.assertEqual(fields["cpu_us_per_req"], "1500.000")

    def results(self):
        path = self.write("run.tsv", block("ack", "2026-12-01T19:00Z", [
            ACK_ROW.format(name="ack_server", rps=100, user=0.30, sys=0.40, cpu=0.70),
            ACK_ROW.format(name="ack_server", rps=110, user=0.20, sys=0.44, cpu=0.64),
            ACK_ROW.format(name="ack_server", rps=120, user=0.34, sys=0.38, cpu=0.72),
            ACK_ROW.format(name="plain_ack", rps=200, user=0.10, sys=0.40, cpu=0.50)]))
        return results_of(read_blocks(path))

    def test_the_load_table_gives_user_and_system_beside_the_total(self):
        table = server_report.load_table(self.results(), "ack")
        self.assertIn("| c=16 w=16 | `ack_server` | 3 | 110 (100–120) | 0.70 (0.64–0.72) "
                      "| 0.30 (0.20–0.34) | 0.40 (0.38–0.44) | 57% |", table)
        self.assertIn("| `plain_ack` | 1 | 200 (200–200) | 0.50 (0.50–0.50) | 0.10 (0.10–0.10) "
                      "| 0.40 (0.40–0.40) | 80% |", table)

    def test_the_kernel_floor_is_our_system_over_the_baselines_total(self):
        r = self.results()
        ours, base = r[("ack", "c=16 w=16", "ack_server")], r[("ack", "c=16 w=16", "plain_ack")]
        self.assertEqual(server_report.kernel_floor(ours, base, 0.9), "0.80x")
        self.assertEqual(server_report.kernel_floor(ours, base, 0.75), "0.80x (**above the target**)")
        row = server_report.ratio_row(r, "ack", "c=16 w=16", "ack_server", "plain_ack",
                                      "CPU per request", "cpu_us_per_req", "≤ 0.9x", True)
        self.assertEqual(row, "| c=16 w=16 | CPU per request: `ack_server` / `plain_ack` | 1.40x "
                              "| ≤ 0.9x | **no** | 0.80x |\n")

    def test_without_a_recorded_split_there_is_no_floor(self):
        path = self.write("old.tsv", block("ack", "2026-12-01T17:42Z", [
            "ack\tc=1 w=1\tack_server\trps=10 cpu_us_per_req=20.0",
            "ack\tc=1 w=1\tplain_ack\trps=20 cpu_us_per_req=15.0"]))
        r = results_of(read_blocks(path))
        self.assertEqual(server_report.kernel_floor(r[("ack", "c=1 w=1", "ack_server")],
                                                    r[("ack", "c=1 w=1", "plain_ack")], 0.9), "–")

    def test_a_split_bar_is_drawn_as_system_under_user(self):
        out = pathlib.Path(self.dir.name) / "chart.svg"
        bars = {("16x16", "a"): server_charts.Bar(1.0, 0.9, 1.1, lower=0.75),
                ("16x16", "b"): server_charts.Bar(0.5, 0.5, 0.5)}
        server_charts.svg_chart(out, "t", "s", "µs", ["16x16"], ["a", "b"], bars, lambda v: f"{v:.2f}",
                                split_legend=("system", "user"), marks={"16x16": (0.45, "target")})
        svg = out.read_text()
        self.assertEqual(svg.count('stroke-dasharray'), 2)  # the panel's target line, the legend's
        pale = [line for line in svg.splitlines() if "<title>a, 16x16" in line and "fill-opacity" in line]
        solid = [line for line in svg.splitlines() if "<title>a, 16x16" in line and "fill-opacity" not in line]
        self.assertEqual((len(pale), len(solid)), (1, 1))
        height = lambda line: float(line.split('height="')[1].split('"')[0])  # noqa: E731
        self.assertAlmostEqual(height(pale[0]) / height(solid[0]), 3.0, places=1)
        self.assertEqual(sum("<title>b, 16x16" in line for line in svg.splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
