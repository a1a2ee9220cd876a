# SPDX-License-Identifier: MIT
"""conftest.py - a real jobstatd for the Python tests: its own runtime directory, namespace
and socket (as tests/testdaemon.h does for the C suites), started, waited for, stopped
and cleaned up. JOBSTAT_BUILD_DIR names the build (make test sets it and
JOBSTAT_LIBRARY)."""

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package in python/, not an installed one

BUILD = os.environ.get("JOBSTAT_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
BUILD = os.path.abspath(BUILD)
os.environ.setdefault("JOBSTAT_LIBRARY", os.path.join(BUILD, "libjobstat.so.0"))

_counter = itertools.count()


class Daemon:
    """One jobstatd -f in a temporary runtime directory."""

    def __init__(self, *args):
        self.rundir = tempfile.mkdtemp(prefix="jst-py-")
        os.chmod(self.rundir, 0o755)
        self.ns = f"py-{os.getpid()}-{next(_counter)}"
        self.sock = os.path.join(self.rundir, f"{self.ns}.sock")
        self.args = list(args)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "jobstatd"), "-f", "-n", self.ns, "-c", "4096",
             "--runtime-dir", self.rundir, *self.args],
            stderr=subprocess.PIPE)
        for _ in range(1000):
            if os.path.exists(self.sock):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"jobstatd exited {self.proc.returncode}: "
                                   f"{self.proc.stderr.read().decode()}")
            time.sleep(0.005)
        raise RuntimeError("jobstatd did not open its socket")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        if self.proc:
            self.proc.stderr.close()

    def cleanup(self):
        self.stop(signal.SIGKILL)
        for name in (f"jobstat.{self.ns}", f"jobstat.{self.ns}.wait"):
            try:
                os.unlink(os.path.join("/dev/shm", name))
            except FileNotFoundError:
                pass
        shutil.rmtree(self.rundir, ignore_errors=True)


@pytest.fixture
def daemon():
    d = Daemon().start()
    try:
        yield d
    finally:
        d.cleanup()


@pytest.fixture
def producer(daemon):
    import jobstat
    with jobstat.Connection(socket_path=daemon.sock, producer=True) as c:
        yield c


@pytest.fixture
def reader(daemon):
    import jobstat
    with jobstat.Reader(daemon.ns) as r:
        yield r
