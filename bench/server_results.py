"""bench/server.sh's results: tab-separated rows grouped in one block per step, the kept file that
holds every step's last block, and the statistics the report takes over a row's runs.

A row is `SECTION<TAB>SCENARIO<TAB>CONTENDER<TAB>key=value ...`. A block opens with
`step<TAB>NAME<TAB>-<TAB>started=... built_from=... load=...` and `command<TAB>NAME<TAB>-<TAB>CMD`;
the rows after them, to the next `step` row, are that step's. Merging replaces a step's block
whole, so a run of some steps keeps the other steps' rows of an earlier run, each with its own
provenance.
"""

import pathlib

# The steps of bench/server.sh, in the order it runs them.
STEPS = ["ack", "resp", "syscalls", "rss", "drip"]

STORE_HEADER = """\
# bench/server.sh's raw results, the last run of each step (written by bench/report.py server;
# a run of some STEPS replaces only their blocks). Format: bench/server_results.py.
"""


class Block:
    """One step of one run: where it comes from (`meta`, `command`) and its rows."""

    def __init__(self, step, meta, command):
        self.step, self.meta, self.command, self.rows = step, meta, command, []

    def lines(self):
        meta = " ".join(f"{k}={v}" for k, v in self.meta.items())
        return [f"step\t{self.step}\t-\t{meta}", f"command\t{self.step}\t-\t{self.command}"] + self.rows


def read_blocks(path):
    """{step: Block} of a results file; {} if it does not exist. A row outside any block (a file
    of the old format, before steps were recorded) is an error: its step would be a guess."""
    path = pathlib.Path(path)
    if not path.exists():
        return {}
    blocks, current = {}, None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise SystemExit(f"{path}:{n}: not 4 tab-separated fields: {line!r}")
        kind, name, _, values = parts
        if kind == "step":
            if name not in STEPS:
                raise SystemExit(f"{path}:{n}: unknown step {name!r} (steps: {' '.join(STEPS)})")
            meta = dict(p.split("=", 1) for p in values.split() if "=" in p)
            current = blocks[name] = Block(name, meta, "")
        elif current is None:
            raise SystemExit(f"{path}:{n}: a row before any `step` row (old format?): {line!r}")
        elif kind == "command" and name == current.step:
            current.command = values
        else:
            current.rows.append(line)
    return blocks


def merge(kept, run):
    """The kept blocks with those of this run in their place, in the steps' order."""
    both = {**kept, **run}
    return {step: both[step] for step in STEPS if step in both}


def write_blocks(path, blocks):
    lines = [line for block in blocks.values() for line in block.lines()]
    pathlib.Path(path).write_text(STORE_HEADER + "\n".join(lines) + "\n")


def results_of(blocks):
    """{(section, scenario, contender): [dict of values per run]}, rows in file order. A
    `runtime` row (which runtime a server ran on) counts only in the step of its section: the
    syscalls step starts the same servers again and may not describe them differently."""
    out = {}
    for block in blocks.values():
        for line in block.rows:
            section, scenario, name, values = line.split("\t")
            kv = dict(p.split("=", 1) for p in values.split() if "=" in p)
            kv["_raw"] = values
            if section == "runtime":
                kv["_step"] = block.step
            out.setdefault((section, scenario, name), []).append(kv)
    return out


def fnum(r, key):
    try:
        v = float(r[key])
    except (KeyError, ValueError):
        return None
    return v if v == v else None  # NaN is missing


def median(vals):
    vals = sorted(vals)
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2


def stats(runs, key):
    """(median, min, max) of `key` over the runs that have it, or None."""
    vals = [v for v in (fnum(r, key) for r in runs) if v is not None]
    if not vals:
        return None
    return median(vals), min(vals), max(vals)


def share(runs, part, whole):
    """The median over the runs of part / whole (e.g. the system share of the CPU time), or None
    if no run has both."""
    vals = [p / w for p, w in ((fnum(r, part), fnum(r, whole)) for r in runs) if p is not None and w]
    return median(vals) if vals else None
