# SPDX-License-Identifier: MIT
"""test_syscalls.py - the read path makes no syscall through Python either: strace -f counts
every syscall of a Python process reading a job's status 10,000 and 100,000 times, finds
the same total, and none at all between the markers around the reads. The process runs
with PYTHONHASHSEED=0, under setarch -R and with the count zero-padded to one width: a
random hash seed, a random heap start or a longer command line each move where the
interpreter's start-up crosses a brk() boundary, which changes the total by a call or
two with no read involved."""

import os
import re
import subprocess
import sys

import pytest

from jobstat import CimError, JobState

HERE = os.path.dirname(os.path.abspath(__file__))
STRACE = "/usr/bin/strace"


def _trace(tmp_path, daemon, n, mode):
    assert os.path.exists(STRACE), "strace is not installed (make deps installs it)"
    out = tmp_path / f"trace-{mode}-{n}"
    subprocess.run([STRACE, "-f", "-qq", "-e", "trace=all", "-o", str(out), "setarch", "-R",
                    sys.executable,
                    os.path.join(HERE, "readloop.py"), daemon.ns, "Org:polled", f"{n:07d}", mode],
                   check=True, env=dict(os.environ, PYTHONHASHSEED="0"))
    lines = [ln for ln in out.read_text().splitlines()
             if re.match(r"^\d+ +[a-z_0-9]+\(", ln)]  # calls, not exits or signals
    begin = [i for i, ln in enumerate(lines) if "jobstat-readloop-begin" in ln]
    end = [i for i, ln in enumerate(lines) if "jobstat-readloop-end" in ln]
    assert len(begin) == 1 and len(end) == 1, "the markers are missing from the trace"
    return len(lines), lines[begin[0] + 1:end[0]]


@pytest.fixture
def polled(producer):
    j = producer.create("polled", instance_id="Org:polled", initial_state=JobState.RUNNING)
    producer.set_progress(j, 33)
    producer.report_error(j, CimError(message_id="E1", message="broke"), fail=True)
    return j


def test_status_reads_make_no_syscall(tmp_path, daemon, polled):
    total_10k, inside_10k = _trace(tmp_path, daemon, 10_000, "status")
    total_100k, inside_100k = _trace(tmp_path, daemon, 100_000, "status")
    assert inside_10k == [] and inside_100k == [], (inside_10k + inside_100k)[:20]
    assert total_10k == total_100k, (total_10k, total_100k)


@pytest.mark.skipif(bool(os.environ.get("JOBSTAT_SANITIZE")),
                    reason="under a sanitizer, its allocator maps memory for the Python "
                           "objects these calls return (the status test above still runs)")
def test_every_read_call_makes_no_syscall(tmp_path, daemon, polled):
    _, inside = _trace(tmp_path, daemon, 1000, "all")
    assert inside == [], inside[:20]
