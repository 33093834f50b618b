#!/usr/bin/env python3
"""pymemcache, an unmodified memcached client library, against memcached_server on PORT: every
call's result is checked exactly (storage modes, CAS, counters, touch, multi-get, noreply,
flush, a value over the item limit refused with memcached's error, the meta no-op through
raw commands). Exits 1 at the first difference.

usage: memcached-clients.py PORT
"""

import sys

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheServerError


CHECKS = 0


def check(what, got, want):
    global CHECKS
    CHECKS += 1
    if got != want:
        sys.exit(f"FAIL: pymemcache {what}: got {got!r}, want {want!r}")


def main():
    port = int(sys.argv[1])
    c = Client(("127.0.0.1", port), connect_timeout=5, timeout=5, default_noreply=False)
    check("flush_all", c.flush_all(), True)
    check("set", c.set("greeting", b"hello", expire=0, flags=7), True)
    check("get", c.get("greeting"), b"hello")
    check("add existing", c.add("greeting", b"x"), False)
    check("add new", c.add("other", b"1"), True)
    check("replace missing", c.replace("missing", b"x"), False)
    check("append", c.append("greeting", b" world"), True)
    check("prepend", c.prepend("greeting", b">"), True)
    check("get after append/prepend", c.get("greeting"), b">hello world")
    value, cas = c.gets("greeting")
    check("gets", value, b">hello world")
    check("cas stale", c.cas("greeting", b"no", str(int(cas) + 1000)), False)
    check("cas fresh", c.cas("greeting", b"yes", cas), True)
    check("cas missing", c.cas("missing", b"x", cas), None)
    check("incr", c.incr("other", 41), 42)
    check("decr", c.decr("other", 50), 0)
    check("incr missing", c.incr("missing", 1), None)
    check("touch", c.touch("other", 100), True)
    check("touch missing", c.touch("missing", 100), False)
    check("get_many", c.get_many(["greeting", "other", "missing"]),
          # memcached writes a shorter counter in place, padded with spaces: "42" - 50 is "0 ".
          {"greeting": b"yes", "other": b"0 "})
    check("set_many", c.set_many({"a": b"1", "b": b"2"}), [])
    check("delete", c.delete("a"), True)
    check("delete missing", c.delete("a"), False)
    check("set noreply", c.set("quiet", b"q", noreply=True), True)
    check("get after noreply", c.get("quiet"), b"q")
    try:
        c.set("huge", b"x" * (2 * 1024 * 1024))
        sys.exit("FAIL: pymemcache set of 2 MiB was accepted")
    except MemcacheServerError as e:
        check("set over the item limit", str(e), "b'object too large for cache'")
    check("connection usable after the skipped block", c.get("quiet"), b"q")
    big = b"v" * (512 * 1024)
    check("set 512 KiB", c.set("big", big), True)
    check("get 512 KiB", c.get("big"), big)
    check("version", c.version().startswith(b"1.6"), True)
    stats = c.stats()
    check("stats has curr_items", b"curr_items" in stats, True)
    # raw_command returns what precedes the end token.
    check("raw mn", c.raw_command(b"mn", b"MN\r\n"), b"")
    check("raw mg", c.raw_command(b"mg greeting v f", b"yes\r\n"), b"VA 3 f0\r\n")
    c.quit()
    print(f"pymemcache: {CHECKS} checks passed")


if __name__ == "__main__":
    main()
