# SPDX-License-Identifier: MIT
"""readloop.py - run under strace by test_syscalls.py: attach, look a job up, then between
two marker syscalls read its status N times (and, with --all, every other read call)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import jobstat  # noqa: E402

MARK = "/nonexistent/jobstat-readloop-"


def main():
    ns, instance_id, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with jobstat.Reader(ns) as r:
        h = r.lookup(instance_id)
        if mode == "status":
            r.status(h)  # warm: the first call may grow Python's heap
            os.access(MARK + "begin", os.F_OK)  # a syscall strace shows, naming the marker
            for _ in range(n):
                r.status(h)
        else:
            # Warm: the interpreter's own heap grows once in the first few hundred rounds
            # (one 1 MiB pymalloc arena); the rounds after that must make no syscall.
            for _ in range(2000):
                every_read(r, instance_id, h)
            os.access(MARK + "begin", os.F_OK)
            for _ in range(n):
                every_read(r, instance_id, h)
        os.access(MARK + "end", os.F_OK)


def every_read(r, instance_id, h):
    r.lookup(instance_id)
    r.status(h)
    r.job(h)
    r.get_error(h, jobstat.Flavour.CIM)
    r.get_errors(h, jobstat.Flavour.HYPERV)
    r.error(h, 0).to_cimxml()
    list(r.scan())
    list(r.changes(0))
    r.info()
    assert r.daemon_alive


main()
