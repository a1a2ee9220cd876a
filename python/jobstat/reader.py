# SPDX-License-Identifier: MIT
"""reader.py - reading jobs from jobstatd's segment: attach, look up, status, properties,
GetError, scans and the change log. After attach, no call here makes a syscall except
wait(), and only when it has to sleep (tests/test_syscalls.py counts them)."""

import dataclasses
import threading
import time

from ._native import ffi, lib
from .errors import Errno, error
from .model import (Flavour, Handle, _error_from_c, _job_ext_from_c, _job_from_c,
                    _status_from_bytes)

SCAN_BATCH = 256
_STATUS_SIZE = ffi.sizeof("struct jst_status")


class _Scratch:
    """One thread's output buffers for the read calls, allocated once: a read then
    allocates nothing in C (a malloc per call would cost time, and under a sanitizer's
    allocator, syscalls). Every call converts its buffer to Python objects before it
    returns or yields, so calls nested in the same thread (a status() inside a scan())
    cannot see each other's bytes."""

    def __init__(self):
        self.st = ffi.new("struct jst_status *")
        self.st_mem = ffi.buffer(self.st)
        self.job = ffi.new("struct jst_job *")
        self.job_ext = ffi.new("struct jst_job_ext *")
        self.err = ffi.new("struct jst_error *")
        self.errs = ffi.new("struct jst_error[]", lib.JST_ERRORS_KEPT)
        self.batch = ffi.new("struct jst_status[]", SCAN_BATCH)
        self.batch_mem = ffi.buffer(self.batch)
        self.h = ffi.new("jst_handle *")
        self.n = ffi.new("size_t *")
        self.pos = ffi.new("uint32_t *")
        self.cursor = ffi.new("uint64_t *")
        self.info = ffi.new("struct jst_info *")


_tls = threading.local()


def _scratch():
    try:
        return _tls.s
    except AttributeError:
        _tls.s = _Scratch()
        return _tls.s


def _handle(h):
    """The Handle itself (a (slot, gen) tuple cffi passes as a jst_handle), or the .handle
    of a Status or NewJob."""
    if type(h) is Handle:
        return h
    try:
        return h.handle
    except AttributeError:
        if isinstance(h, tuple) and len(h) == 2:
            return Handle(*h)
        raise TypeError(f"jobstat: expected a Handle, got {type(h).__name__}") from None


# A long wait is made of calls this long at most, so that a signal handler (Ctrl-C's
# KeyboardInterrupt) runs within one: Python runs handlers only between bytecodes, and a
# signal taken by another thread does not interrupt the C call at all.
WAIT_SLICE = 0.2


def _sliced(call, timeout):
    """call(ns) in WAIT_SLICE pieces until it returns other than JST_ETIMEDOUT or @timeout
    seconds (None: no limit) have passed; the last result."""
    if timeout is not None and timeout < 0:
        raise ValueError(f"jobstat: timeout {timeout} is negative (None waits without limit)")
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        left = WAIT_SLICE if end is None else min(WAIT_SLICE, max(0.0, end - time.monotonic()))
        rc = call(int(left * 1e9))
        if rc != Errno.ETIMEDOUT or (end is not None and time.monotonic() >= end):
            return rc


def _timeout_ns(timeout):
    """Seconds (float) to the library's nanoseconds; None waits without limit."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError(f"jobstat: timeout {timeout} is negative (None waits without limit)")
    return int(timeout * 1e9)


@dataclasses.dataclass(frozen=True, slots=True)
class Info:
    """What the segment says about itself and its daemon (jst_info)."""
    version_major: int
    version_minor: int
    capacity: int
    njobs: int
    log_size: int
    segment_size: int
    generation: int
    daemon_pid: int
    daemon_birth_ns: int
    heartbeat_ns: int
    change_seq: int
    state: int
    pool_bytes: int


class Reader:
    """A namespace's segment mapped read-only (jst_attach). Use it as a context manager,
    or close() it. One Reader may be shared by threads."""

    def __init__(self, namespace=None, *, shm_name=None):
        p = ffi.new("jst_reader **")
        if shm_name is not None:
            rc = lib.jst_attach_shm(shm_name.encode(), p)
            where = f"attach {shm_name}"
        else:
            rc = lib.jst_attach(ffi.NULL if namespace is None else namespace.encode(), p)
            where = f"attach namespace {namespace or default_namespace()}"
        if rc < 0:
            raise error(rc, where=where)
        self._r = p[0]

    def close(self):
        """Unmap the segment. Statuses already read stay valid; further reads raise."""
        if self._r is not None:
            lib.jst_detach(self._r)
            self._r = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_r", None) is not None:
            self.close()

    @property
    def _ptr(self):
        if self._r is None:
            raise ValueError("jobstat: the Reader is closed")
        return self._r

    def lookup(self, instance_id):
        """The Handle of the job with this InstanceID; NoSuchJobError if there is none."""
        h = _scratch().h
        rc = lib.jst_lookup(self._ptr, instance_id.encode("utf-8", "surrogateescape"), h)
        if rc < 0:
            raise error(rc, where=f"lookup {instance_id!r}")
        return Handle(h.slot, h.gen)

    def status(self, h):
        """One consistent version of the job's Status. No syscall."""
        s = _scratch()
        rc = lib.jst_status(self._ptr, h if type(h) is Handle else _handle(h), s.st)
        if rc < 0:
            raise error(rc, where="status")
        return _status_from_bytes(s.st_mem)

    def status_many(self, handles):
        """The Status of each job in handles (jst_status_many: their memory accesses
        overlapped), in order; None for a job that is gone. No syscall."""
        hs = [_handle(h) for h in handles]
        n = len(hs)
        if n == 0:
            return []
        c_h = ffi.new("jst_handle[]", hs)
        c_st = ffi.new("struct jst_status[]", n)
        c_rc = ffi.new("int[]", n)
        rc = lib.jst_status_many(self._ptr, c_h, n, c_st, c_rc)
        if rc < 0 and rc != Errno.ESTALE:
            raise error(rc, where="status_many")
        mem = ffi.buffer(c_st)
        out = []
        for i in range(n):
            if c_rc[i] == Errno.ESTALE:
                out.append(None)
            elif c_rc[i] < 0:
                raise error(c_rc[i], where="status_many")
            else:
                out.append(_status_from_bytes(mem, i * _STATUS_SIZE))
        return out

    def job(self, h):
        """Every property of the job (a Job), read consistently."""
        j = _scratch().job
        rc = lib.jst_job(self._ptr, _handle(h), j)
        if rc < 0:
            raise error(rc, where="job")
        return _job_from_c(j)

    def job_ext(self, h):
        """The job with the properties of format 1.5 (a JobExt); ElapsedTime as of now."""
        x = _scratch().job_ext
        rc = lib.jst_job_ext(self._ptr, _handle(h), x, ffi.sizeof("struct jst_job_ext"))
        if rc < 0:
            raise error(rc, where="job_ext")
        return _job_ext_from_c(x)

    def job_cimxml(self, h, msvm=False):
        """The job, format 1.5's properties included, as one CIM-XML document (str)."""
        return self._render_ext(h, lambda x, n, b, m, ln: lib.jst_job_ext_to_cimxml(
            x, n, 2 | (1 if msvm else 0), b, m, ln))

    def job_json(self, h):
        """The job, format 1.5's properties included, as a JSON string."""
        return self._render_ext(h, lib.jst_job_ext_to_json)

    def _render_ext(self, h, fn):
        x = _scratch().job_ext
        size = ffi.sizeof("struct jst_job_ext")
        rc = lib.jst_job_ext(self._ptr, _handle(h), x, size)
        if rc < 0:
            raise error(rc, where="job_ext")
        need = ffi.new("size_t *")
        rc = fn(x, size, ffi.NULL, 0, need)
        if rc < 0:
            raise error(rc, where="render")
        buf = ffi.new("char[]", need[0] + 1)
        rc = fn(x, size, buf, need[0] + 1, ffi.NULL)
        if rc < 0:
            raise error(rc, where="render")
        return ffi.string(buf).decode("utf-8")

    def error(self, h, index):
        """The job's retained CimError at @index (0 = oldest); JobstatError ENOERROR past
        the last."""
        e = _scratch().err
        rc = lib.jst_error_read(self._ptr, _handle(h), index, e)
        if rc < 0:
            raise error(rc, where=f"error {index}")
        return _error_from_c(e)

    def get_error(self, h, flavour=Flavour.CIM):
        """GetError as @flavour's API decides: the latest CimError, or None when it has
        none to give (method_code(Errno.ENOERROR, flavour) is the method's code then)."""
        e = _scratch().err
        rc = lib.jst_get_error(self._ptr, _handle(h), int(flavour), e)
        if rc == Errno.ENOERROR:
            return None
        if rc < 0:
            raise error(rc, where=f"GetError ({Flavour(flavour).name})")
        return _error_from_c(e)

    def get_errors(self, h, flavour=Flavour.CIM):
        """GetErrors / GetErrorEx: every retained CimError, oldest first, one consistent set;
        [] when there are none to give. Flavour.DO raises ENOTSUP (DO has no such call)."""
        s = _scratch()
        es, n = s.errs, s.n
        rc = lib.jst_get_errors(self._ptr, _handle(h), int(flavour), es, lib.JST_ERRORS_KEPT, n)
        if rc == Errno.ENOERROR:
            return []
        if rc < 0:
            raise error(rc, where=f"GetErrors ({Flavour(flavour).name})")
        return [_error_from_c(es[i]) for i in range(n[0])]

    def scan(self, batch=SCAN_BATCH):
        """Iterate over the Status of every live job, in slot order (jst_scan): a job that
        exists throughout is seen exactly once. @batch: jobs per call (1..256)."""
        if not 1 <= batch <= SCAN_BATCH:
            raise ValueError(f"jobstat: scan batch {batch} is not in 1..{SCAN_BATCH}")
        r = self._ptr
        pos = 0
        while True:
            # The thread's scratch is taken again after each yield: the caller may have
            # moved this generator to another thread.
            s = _scratch()
            p = s.pos
            p[0] = pos
            rc = lib.jst_scan(r, p, s.batch, batch, s.n)
            if rc < 0:
                raise error(rc, where="scan")
            n = s.n[0]
            if n == 0:
                return
            pos = p[0]
            mem = s.batch_mem
            got = [_status_from_bytes(mem, i * _STATUS_SIZE) for i in range(n)]
            yield from got

    __iter__ = scan

    @property
    def change_seq(self):
        """The latest published change: a cursor to take before a full scan."""
        return lib.jst_change_seq(self._ptr)

    def changes(self, cursor=None):
        """A ChangeLog from @cursor (None: from now, jst_change_seq())."""
        return ChangeLog(self, self.change_seq if cursor is None else cursor)

    def wait(self, cursor, timeout=None):
        """Block until a change after @cursor is published, at most @timeout seconds (None:
        no limit). The GIL is released meanwhile: other threads run. Return: True when
        there is a change (or a signal arrived: look at the log), False on timeout."""
        # cffi releases the GIL around every call into C (ABI and API mode alike, since
        # cffi 0.3) and takes it back for callbacks; test_wait.py shows another thread
        # running throughout a wait, and fails when the call holds the GIL. The wait is
        # sliced (WAIT_SLICE) so that Ctrl-C ends it.
        r = self._ptr
        rc = _sliced(lambda ns: lib.jst_wait_changes(r, cursor, ns), timeout)
        if rc == Errno.ETIMEDOUT:
            return False
        if rc < 0:
            raise error(rc, where="wait")
        return True

    def info(self):
        """What the segment says about itself and its daemon (an Info)."""
        i = _scratch().info
        rc = lib.jst_info(self._ptr, i)
        if rc < 0:
            raise error(rc, where="info")
        return Info(**{f.name: getattr(i, f.name) for f in dataclasses.fields(Info)})

    @property
    def generation(self):
        """The daemon generation publishing now (+1 at every daemon start)."""
        return lib.jst_generation(self._ptr)

    @property
    def daemon_alive(self):
        """True while the daemon's heartbeat is fresh and it has not closed the segment."""
        return bool(lib.jst_daemon_alive(self._ptr))


class ChangeLog:
    """A cursor in a Reader's change log. Iterating yields, for every change after the
    cursor, in change order, the Status that change published (the segment's status
    ring, format 1.5) or, for a change the ring no longer holds, the job's Status now,
    until caught up (jst_changed), advancing the cursor; a removal (or a job removed
    since its change, read through the job) yields a Status whose .removed is True.
    When changes were lost, iteration raises OverrunError and the cursor moves to now:
    rescan with Reader.scan()."""

    def __init__(self, reader, cursor):
        self.reader = reader
        self.cursor = cursor

    def __iter__(self):
        r = self.reader._ptr
        while True:
            s = _scratch()
            cur = s.cursor
            cur[0] = self.cursor
            rc = lib.jst_changed(r, cur, s.batch, SCAN_BATCH, s.n)
            if rc == Errno.EOVERRUN:
                self.cursor = cur[0]
                raise error(rc, where="change log")
            if rc < 0:
                raise error(rc, where="change log")
            n = s.n[0]
            mem = s.batch_mem
            got = [_status_from_bytes(mem, i * _STATUS_SIZE) for i in range(n)]
            self.cursor = cur[0]
            yield from got
            if n < SCAN_BATCH:
                return

    def wait(self, timeout=None):
        """Reader.wait() from this cursor: True when there is something to iterate."""
        return self.reader.wait(self.cursor, timeout)


def default_namespace():
    """$JOBSTAT_NAMESPACE, or "default": the namespace Reader() and Connection() use."""
    return ffi.string(lib.jst_default_namespace()).decode()
