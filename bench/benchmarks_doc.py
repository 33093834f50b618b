"""BENCHMARKS.md as a set of marked sections, and the facts about the machine each one states.

Each section sits between `<!-- NAME:begin -->` and `<!-- NAME:end -->` and is replaced whole, so
re-running one family of benchmarks leaves the others' numbers alone.
"""

import datetime
import gzip
import os
import pathlib
import platform
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "BENCHMARKS.md"

HEADER = """# Benchmarks

framekit's speed claims, measured as ratios against tokio-util, plain tokio and redis-server in the
same run on the same machine. Absolute numbers move from run to run, especially on a shared machine:
read the medians and, above all, the ratios. Each section below is rewritten by the script named in
it; only the profile notes at the end of a section are written by hand (`bench/*-notes.md`).

```sh
bench/run.sh       # codecs: criterion, about 7 minutes; a filter narrows it: bench/run.sh chunked4k
bench/server.sh    # servers: builds the examples, bench/loadgen and the peers, about 20 minutes;
                   # needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)
INSTALL=1 bench/peers/build.sh   # once: the Go, Netty (Java 17) and asyncio peers' toolchains
STEPS="ack syscalls rss" FK_VARIANTS="mt tpc1" DURATION=3s bench/server.sh   # the peers only, 14 min
bench/ack-callgrind.sh    # instructions per request (callgrind), ack_server vs plain_ack: load-independent
bench/resp-callgrind.sh   # the same, resp_server vs redis-server
```
"""


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def cpu_model():
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def machine_facts():
    """The machine, the toolchain and the caveat of a shared machine, as markdown list items."""
    return (
        f"- machine: {sh('nproc')} CPUs, {cpu_model()}, {platform.system()} {platform.release()}\n"
        f"- toolchain: {sh('rustc', '--version')}, release profile of the workspace\n"
        "- the machine is shared with other jobs (builds, tests of other work): runs are niced and "
        "short; medians still move from one run to the next, by up to about 10 % for the codecs "
        "and more for the servers\n"
    )


def machine(started=None, load=None):
    """When, at which commit, and the machine; `started` and `load` as captured before the run,
    if given."""
    if load is None and os.path.exists("/proc/loadavg"):
        load = " ".join(open("/proc/loadavg").read().split()[:3])
    rev = sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
    now = started or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"- when: {now}, at commit `{rev}` (plus any uncommitted work in the tree); load average "
        f"before the run: {load}\n" + machine_facts()
    )


def kernel_config():
    """The running kernel's build options ({"CONFIG_HZ": "250", ...}), or {} if it does not say."""
    for path in ("/proc/config.gz", f"/boot/config-{platform.release()}"):
        try:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as f:
                return dict(line.strip().split("=", 1) for line in f if line.startswith("CONFIG_"))
        except OSError:
            continue
    return {}


def cpu_accounting():
    """How this kernel splits a thread's CPU time into user and system, in a sentence: what
    decides how exact the split in /proc/PID/stat is."""
    cfg = kernel_config()
    if not cfg:
        return ("This kernel does not publish its configuration, so how it splits user from "
                "system time (sampled at each timer tick, or exactly at every kernel entry) is "
                "not known here.")
    if cfg.get("CONFIG_VIRT_CPU_ACCOUNTING_GEN") == "y" or cfg.get("CONFIG_VIRT_CPU_ACCOUNTING_NATIVE") == "y":
        split = "this kernel accounts the time exactly, at every entry to and exit from the kernel"
    else:
        split = (f"this kernel samples it at each timer tick ({cfg.get('CONFIG_HZ', '?')} Hz, "
                 "CONFIG_TICK_CPU_ACCOUNTING) and scales the sampled shares to the thread's exact "
                 "run time, so the split is statistical: within a few percent over the more than "
                 "1,000 ticks of a busy 5 s run, coarse over a run of a few ticks")
    if cfg.get("CONFIG_IRQ_TIME_ACCOUNTING") == "y":
        irq = ("interrupt and softirq time is accounted apart (CONFIG_IRQ_TIME_ACCOUNTING), not "
               "charged to the thread it interrupted")
    else:
        irq = ("interrupt and softirq work is charged as system time to whichever thread was on "
               "the CPU (no CONFIG_IRQ_TIME_ACCOUNTING)")
    return f"User or system: {split}; {irq}."


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
