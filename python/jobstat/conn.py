# SPDX-License-Identifier: MIT
"""conn.py - producing and controlling jobs through jobstatd's control socket: connect,
create, batched updates, errors, completion, removal, RequestStateChange both ways."""

import dataclasses
import weakref
from typing import Optional, Sequence

from ._native import ffi, lib
from .errors import Errno, JobstatError, error
from .model import (CimError, Handle, JobState, RequestedState, RscCode, TransferState,
                    _cstr, _error_to_c)
from .reader import _handle, _sliced, _timeout_ns


@dataclasses.dataclass(frozen=True, slots=True)
class NewJob:
    """A job just created: its handle (for updates and reads) and its InstanceID."""
    handle: Handle
    instance_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class Update:
    """One change to one job, for Connection.update(). Fields left None are not changed.
    percent 101 sets PercentComplete undefined; operational_status replaces the list (and
    status_descriptions, index-parallel, with it); transfer_state is for transfer jobs
    only, instead of state."""
    job: object  # a Handle, NewJob or Status
    state: Optional[int] = None
    percent: Optional[int] = None
    operational_status: Optional[Sequence[int]] = None
    status_descriptions: Optional[Sequence[Optional[str]]] = None
    job_status: Optional[str] = None
    error_code: Optional[int] = None
    error_description: Optional[str] = None
    transfer_state: Optional[TransferState] = None


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """A RequestStateChange that a client made on one of this producer's jobs."""
    handle: Handle
    instance_id: str
    requested_state: RequestedState
    requester_uid: int
    requester_pid: int
    timeout_ns: int  # TimeoutPeriod; 0 = none given


@dataclasses.dataclass(frozen=True, slots=True)
class DaemonStats:
    """What the daemon keeps for its clients (jst_daemon_stats)."""
    connections: int
    sessions: int
    timers: int
    pending: int
    heap_bytes: int


class BatchError(JobstatError):
    """Connection.update() failed for at least one update: code is the first failure's,
    results holds every update's own result (0 or an Errno), in order."""

    def __init__(self, code, results, detail=""):
        super().__init__(code, detail, where="update")
        self.results = results


def _u16(v, what):
    v = int(v)
    if not 0 <= v <= 0xFFFF:
        raise error(Errno.EINVAL, f"{what} {v} is not a 16-bit unsigned value")
    return v


def _fill_update(u, up, keep):
    h = _handle(up.job)
    u.handle = h
    s = 0
    if up.state is not None:
        u.job_state = _u16(up.state, "state")
        s |= lib.JST_SET_STATE
    if up.percent is not None:
        u.percent_complete = _u16(up.percent, "percent")
        s |= lib.JST_SET_PERCENT
    if up.operational_status is not None or up.status_descriptions is not None:
        ops = list(up.operational_status or ())
        descs = list(up.status_descriptions or ())
        if len(ops) > lib.JST_OPSTATUS_MAX or len(descs) > lib.JST_OPSTATUS_MAX:
            raise error(Errno.ETOOLONG, f"operational_status: at most {lib.JST_OPSTATUS_MAX}")
        u.n_operational_status = len(ops)
        for i, o in enumerate(ops):
            u.operational_status[i] = _u16(o, "operational_status")
        for i, d in enumerate(descs):
            u.status_descriptions[i] = _cstr(d, keep)
        s |= lib.JST_SET_OP_STATUS
    if up.job_status is not None:
        u.job_status = _cstr(up.job_status, keep)
        s |= lib.JST_SET_JOB_STATUS
    if up.error_code is not None:
        u.error_code = _u16(up.error_code, "error_code")
        s |= lib.JST_SET_ERROR_CODE
    if up.error_description is not None:
        u.error_description = _cstr(up.error_description, keep)
        s |= lib.JST_SET_ERROR_DESCRIPTION
    if up.transfer_state is not None:
        u.transfer_state = _u16(up.transfer_state, "transfer_state")
        s |= lib.JST_SET_TRANSFER_STATE
    u.set = s


def _request_from_c(rq):
    state = rq.requested_state
    return Request(Handle(rq.handle.slot, rq.handle.gen),
                   ffi.string(rq.instance_id).decode("utf-8", "replace"),
                   RequestedState(state) if state in RequestedState._value2member_map_
                   else state,
                   rq.requester_uid, rq.requester_pid, rq.timeout_ns)


class Connection:
    """A connection to jobstatd's control socket (jst_connect). Use it as a context
    manager, or close() it; closing leaves the jobs in place. One thread at a time.

    namespace, socket_path: where the daemon is (None: $JOBSTAT_SOCKET, else the
    namespace's socket in the runtime directory). producer: this connection creates jobs.
    session: a previous connection's .session, to take its jobs back. on_request: a
    callable(connection, Request) -> RscCode run by dispatch() for RequestStateChange on
    this producer's jobs (None: they are answered NOT_SUPPORTED); an exception it raises
    answers FAILED and is raised again by dispatch(). reconnect_timeout: seconds a call
    keeps retrying a lost daemon (None: the library's 30 s; 0: never).
    """

    def __init__(self, namespace=None, *, socket_path=None, producer=False, session=0,
                 on_request=None, reconnect_timeout=None):
        keep = []
        o = ffi.new("struct jst_connect_options *")
        o.ns = _cstr(namespace, keep)
        o.socket_path = _cstr(socket_path, keep)
        o.session = session
        o.producer = producer
        if reconnect_timeout is not None:
            o.reconnect_timeout_ns = -1 if reconnect_timeout == 0 else _timeout_ns(
                reconnect_timeout)
        self._c = None
        self._cb = None
        self._raised = None
        if on_request is not None:
            self._cb = self._make_callback(on_request)
            o.on_request = self._cb
        p = ffi.new("jst_conn **")
        rc = lib.jst_connect(o, p)
        if rc < 0:
            raise error(rc, where=f"connect to {socket_path or namespace or 'jobstatd'}")
        self._c = p[0]

    def _make_callback(self, fn):
        me = weakref.ref(self)

        def onerror(exc_type, exc, tb):
            conn = me()
            if conn is not None:
                conn._raised = exc
            return int(RscCode.FAILED)

        @ffi.callback("jst_request_fn", onerror=onerror)
        def handler(c, rq, arg):
            return int(fn(me(), _request_from_c(rq)))
        return handler

    def close(self):
        """Close the connection. The jobs stay (they show Lost Communication after the
        daemon's grace unless a connection takes the session back)."""
        if self._c is not None:
            lib.jst_disconnect(self._c)
            self._c = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_c", None) is not None:
            self.close()

    @property
    def _ptr(self):
        if self._c is None:
            raise ValueError("jobstat: the Connection is closed")
        return self._c

    def _fail(self, rc, where):
        return error(rc, ffi.string(lib.jst_conn_error(self._c)).decode("utf-8", "replace"),
                     where)

    @property
    def session(self):
        """This connection's session, to take its jobs back after a restart."""
        return lib.jst_session(self._ptr)

    def fileno(self):
        """The socket, for select/poll: readable means dispatch() has requests."""
        return lib.jst_conn_fd(self._ptr)

    def create(self, name=None, *, instance_id=None, owner=None, notify=None,
               job_status=None, job_type=0, initial_state=None, priority=0,
               delete_on_completion=False, cancellable=True, transfer=False,
               time_before_removal=None):
        """Create a job owned by this connection's uid and session (jst_job_create).
        time_before_removal: seconds (None: CIM's 5 minutes). Return: a NewJob."""
        keep = []
        s = ffi.new("struct jst_job_spec *")
        s.instance_id = _cstr(instance_id, keep)
        s.name = _cstr(name, keep)
        s.owner = _cstr(owner, keep)
        s.notify = _cstr(notify, keep)
        s.job_status = _cstr(job_status, keep)
        s.job_type = _u16(job_type, "job_type")
        s.initial_state = 0 if initial_state is None else _u16(initial_state, "initial_state")
        s.priority = priority
        s.delete_on_completion = delete_on_completion
        s.not_cancellable = not cancellable
        s.transfer = transfer
        if time_before_removal is not None:
            s.time_before_removal_ns = int(time_before_removal * 1e9)
        h = ffi.new("jst_handle *")
        idbuf = ffi.new("char[]", lib.JST_ID_MAX + 1)
        rc = lib.jst_job_create(self._ptr, s, h, idbuf)
        if rc < 0:
            raise self._fail(rc, f"create {instance_id or name or 'job'!r}")
        return NewJob(Handle(h.slot, h.gen), ffi.string(idbuf).decode("utf-8"))

    def update(self, updates):
        """Apply a batch of Updates in order, in as few messages as fit; when it returns,
        every update that succeeded is visible to readers. Return: every update's result
        (all 0). Raises BatchError (with .results) if any failed."""
        updates = list(updates)
        keep = []
        us = ffi.new("struct jst_update[]", max(1, len(updates)))
        for i, up in enumerate(updates):
            _fill_update(us[i], up, keep)
        res = ffi.new("int[]", max(1, len(updates)))
        rc = lib.jst_update(self._ptr, us, len(updates), res)
        results = [Errno(res[i]) if res[i] in Errno._value2member_map_ else res[i]
                   for i in range(len(updates))]
        if rc < 0:
            if rc == Errno.EDISCONNECTED or not any(results):
                raise self._fail(rc, "update")
            detail = ffi.string(lib.jst_conn_error(self._c)).decode("utf-8", "replace")
            raise BatchError(rc, results, detail)
        return results

    def _one(self, up):
        try:
            self.update([up])
        except BatchError as e:
            raise error(e.code, e.detail, "update") from None

    def set_state(self, job, state):
        """JobState (OperationalStatus follows unless set)."""
        self._one(Update(job, state=state))

    def set_progress(self, job, percent):
        """PercentComplete (0..100; 101 undefined)."""
        self._one(Update(job, percent=percent))

    def set_transfer_state(self, job, state):
        """A transfer job's TransferState (its JobState follows)."""
        self._one(Update(job, transfer_state=state))

    def complete(self, job):
        """PercentComplete 100 and JobState Completed."""
        self._one(Update(job, state=JobState.COMPLETED, percent=100))

    def report_error(self, job, err, fail=False):
        """Record a CimError for the job (it keeps its last 8); with @fail, the job also
        goes to Exception. err.message_id is required."""
        if not isinstance(err, CimError):
            raise TypeError(f"jobstat: expected a CimError, got {type(err).__name__}")
        keep = []
        e = _error_to_c(err, keep)
        rc = lib.jst_job_report_error(self._ptr, _handle(job), e, fail)
        if rc < 0:
            raise self._fail(rc, "report error")

    _PROPS = {"priority": "PRIORITY", "delete_on_completion": "DELETE_ON_COMPLETION",
              "time_before_removal_ns": "TIME_BEFORE_REMOVAL",
              "recovery_action": "RECOVERY_ACTION", "error_summary_description": "ERROR_SUMMARY",
              "element_name": "ELEMENT_NAME", "caption": "CAPTION",
              "description": "DESCRIPTION", "scheduled_start_time": "SCHEDULED_START_TIME",
              "until_time": "UNTIL_TIME", "job_run_times": "JOB_RUN_TIMES",
              "local_or_utc_time": "LOCAL_OR_UTC_TIME"}

    def set_props(self, job, **props):
        """Change the job's producer-settable properties in one version: priority,
        delete_on_completion, time_before_removal_ns, recovery_action (with
        other_recovery_action, required with 1 "Other"), error_summary_description,
        element_name, caption, description (None clears), scheduled_start_time,
        until_time (ns since the epoch, None clears), job_run_times, local_or_utc_time
        (1 Local, 2 UTC, None clears). Bad values raise JobstatError naming the property."""
        other = props.pop("other_recovery_action", None)
        p = ffi.new("struct jst_job_props *")
        keep = []
        for k, v in props.items():
            bit = self._PROPS.get(k)
            if bit is None:
                raise TypeError(f"jobstat: set_props() has no property {k!r}")
            p.set |= getattr(lib, "JST_PROP_" + bit)
            if isinstance(v, str):
                keep.append(ffi.new("char[]", v.encode("utf-8", "surrogateescape")))
                setattr(p, k, keep[-1])
            elif v is None:
                if k in ("element_name", "caption", "description", "error_summary_description"):
                    setattr(p, k, ffi.NULL)
                else:
                    setattr(p, k, 0)
            else:
                setattr(p, k, v)
        if other is not None:
            if "recovery_action" not in props:
                raise TypeError("jobstat: other_recovery_action goes with recovery_action=1")
            keep.append(ffi.new("char[]", other.encode("utf-8", "surrogateescape")))
            p.other_recovery_action = keep[-1]
        rc = lib.jst_job_set_props(self._ptr, _handle(job), p, ffi.sizeof(p[0]))
        if rc < 0:
            raise self._fail(rc, "set props")

    def remove(self, job, now=False):
        """Remove the job: once TimeBeforeRemoval has passed since it finished, or at once
        with @now whatever its state. Return: the CLOCK_REALTIME nanosecond of removal."""
        when = ffi.new("uint64_t *")
        rc = lib.jst_job_remove(self._ptr, _handle(job), lib.JST_REMOVE_NOW if now else 0,
                                when)
        if rc < 0:
            raise self._fail(rc, "remove")
        return when[0]

    def request_state_change(self, instance_id, state, timeout=None):
        """CIM RequestStateChange on any job, by InstanceID; waits up to @timeout seconds
        (None: 5 s) for the producer's answer. Return: its RscCode (COMPLETED, STARTED,
        NOT_SUPPORTED, ...). A refusal raises JobstatError with .rsc_code set (EPERM 6,
        ETRANSITION 4097, EPENDING 4099, ...)."""
        code = ffi.new("uint32_t *")
        t = 0 if timeout is None else _timeout_ns(timeout)
        rc = lib.jst_request_state_change(self._ptr, instance_id.encode("utf-8"), int(state),
                                          t, code)
        c = RscCode(code[0]) if code[0] in RscCode._value2member_map_ else code[0]
        if rc < 0:
            e = self._fail(rc, f"RequestStateChange {instance_id!r}")
            e.rsc_code = c
            raise e
        return c

    def dispatch(self, timeout=0):
        """Run on_request for the requests that arrived, waiting up to @timeout seconds for
        the first (0: do not wait; None: no limit). The GIL is released while it waits.
        Return: how many were handled."""
        self._raised = None
        c = self._ptr
        # jst_dispatch() returns 0 when nothing came in time: sliced like Reader.wait().
        rc = _sliced(lambda ns: lib.jst_dispatch(c, ns) or Errno.ETIMEDOUT, timeout)
        if rc == Errno.ETIMEDOUT:
            rc = 0
        raised, self._raised = self._raised, None
        if raised is not None:
            raise raised
        if rc < 0:
            raise self._fail(rc, "dispatch")
        return rc

    def stats(self):
        """The daemon's own bookkeeping (a DaemonStats)."""
        s = ffi.new("struct jst_daemon_stats *")
        rc = lib.jst_daemon_stats(self._ptr, s)
        if rc < 0:
            raise self._fail(rc, "stats")
        return DaemonStats(s.connections, s.sessions, s.timers, s.pending, s.heap_bytes)

    @property
    def last_error(self):
        """What the daemon said about the last failed call ("" if nothing)."""
        return ffi.string(lib.jst_conn_error(self._ptr)).decode("utf-8", "replace")

