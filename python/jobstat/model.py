# SPDX-License-Identifier: MIT
"""model.py - the CIM job model in Python: enums for its values, read-only dataclasses
for a job's status, its properties and a CIM_Error, and their conversion from C."""

import dataclasses
import enum
import struct
from typing import NamedTuple, Optional, Tuple, Union

from ._native import ffi, lib
from .errors import Errno, error


class JobState(enum.IntEnum):
    """CIM_ConcreteJob JobState (vendor values >= 32768 other than these stay plain ints)."""
    NEW = 2
    STARTING = 3
    RUNNING = 4
    SUSPENDED = 5
    SHUTTING_DOWN = 6
    COMPLETED = 7
    TERMINATED = 8
    KILLED = 9
    EXCEPTION = 10
    SERVICE = 11
    QUERY_PENDING = 12
    COMPLETED_WITH_WARNINGS = 32768

    @property
    def is_final(self):
        return bool(lib.jst_job_state_is_final(self))


class OperationalStatus(enum.IntEnum):
    """CIM OperationalStatus values that jobs use."""
    UNKNOWN = 0
    OTHER = 1
    OK = 2
    DEGRADED = 3
    ERROR = 6
    STARTING = 8
    STOPPING = 9
    STOPPED = 10
    IN_SERVICE = 11
    NO_CONTACT = 12
    LOST_COMMUNICATION = 13
    ABORTED = 14
    DORMANT = 15
    COMPLETED = 17


class TransferState(enum.IntEnum):
    """A transfer job's state (Delivery Optimization / BITS)."""
    QUEUED = 0
    CONNECTING = 1
    TRANSFERRING = 2
    SUSPENDED = 3
    ERROR = 4
    TRANSIENT_ERROR = 5
    TRANSFERRED = 6
    ACKNOWLEDGED = 7
    CANCELLED = 8


class Flavour(enum.IntEnum):
    """Whose GetError semantics and return codes to follow."""
    CIM = 0     # CIM_ConcreteJob.GetError / GetErrors
    HYPERV = 1  # Msvm_ConcreteJob.GetError / GetErrorEx
    DO = 2      # IBackgroundCopyJob::GetError


class RequestedState(enum.IntEnum):
    """RequestStateChange's RequestedState."""
    START = 2
    SUSPEND = 3
    TERMINATE = 4
    KILL = 5
    SERVICE = 6


class RscCode(enum.IntEnum):
    """RequestStateChange's return codes (CIM_ConcreteJob)."""
    COMPLETED = 0
    NOT_SUPPORTED = 1
    UNKNOWN = 2
    TIMEOUT = 3
    FAILED = 4
    INVALID_PARAMETER = 5
    IN_USE = 6
    STARTED = 4096
    INVALID_TRANSITION = 4097
    TIMEOUT_NOT_SUPPORTED = 4098
    BUSY = 4099
    ACCESS_DENIED = 32769  # vendor range, as Hyper-V's: CIM has no Access Denied code


# Plain dict look-ups: the status read is the hot path and Enum(value) is slow.
_STATES = {int(s): s for s in JobState}
_OPS = {int(s): s for s in OperationalStatus}
_TRANSFER = {int(s) + 1: s for s in TransferState}  # stored + 1; 0 = not a transfer job

STATUS_DELETE_ON_COMPLETION = 0x01
STATUS_CANCELLABLE = 0x02
STATUS_DO_ERROR = 0x04


# Handle and Status are the hot path's objects, read-only as NamedTuples rather than frozen
# dataclasses: building a 20-field frozen dataclass costs ten times a tuple's
# tuple.__new__ (bench/pyread.py measured 3 us against 0.26 us), more than the read itself.
# Job, CimError and the rest are frozen dataclasses.
class Handle(NamedTuple):
    """A job's identity for repeated reads (slot and generation): a value."""
    slot: int
    gen: int


class Status(NamedTuple):
    """One consistent version of a job's hot properties, read-only. Instants are
    nanoseconds since the Unix epoch, None for NULL; intervals are nanoseconds."""
    handle: Handle
    job_state: Union[JobState, int]
    percent_complete: Optional[int]          # None: undefined (101 in C)
    change_seq: int
    operational_status: Tuple[Union[OperationalStatus, int], ...]
    flags: int                               # STATUS_* bits
    error_code: int
    recovery_action: int
    job_type: int
    priority: int
    transfer_state: Optional[TransferState]  # None: not a transfer job
    n_errors: int
    time_submitted: Optional[int]
    start_time: Optional[int]
    time_of_last_state_change: Optional[int]
    elapsed_ns: int
    time_before_removal_ns: int
    owner_uid: int
    errors_total: int
    producer_session: int

    @property
    def removed(self):
        """True for a change-log entry of a job removed since its change."""
        return self.handle.gen == 0

    @property
    def is_final(self):
        return bool(lib.jst_job_state_is_final(self.job_state))

    @property
    def delete_on_completion(self):
        return bool(self.flags & STATUS_DELETE_ON_COMPLETION)

    @property
    def cancellable(self):
        return bool(self.flags & STATUS_CANCELLABLE)


# struct jst_status's bytes, in one unpack (tests check this against cffi's and the C
# compiler's layout).
_STATUS = struct.Struct("=I II HH QQ 8H BBHHHI HH QQQQQ II QQ")
assert _STATUS.size == ffi.sizeof("struct jst_status")
_new = tuple.__new__  # a NamedTuple from a tuple, without the generated __new__'s cost


_ops_seen = {}  # raw OperationalStatus values -> their enum tuple: few distinct lists


def _ops(raw):
    ops = _ops_seen.get(raw)
    if ops is None:
        ops = tuple([_OPS.get(o, o) for o in raw])
        if len(_ops_seen) < 4096:  # bounded, whatever a segment holds
            _ops_seen[raw] = ops
    return ops


def _status_from_bytes(buf, off=0):
    (_, slot, gen, state, pct, seq, _, o0, o1, o2, o3, o4, o5, o6, o7, nops, flags, ecode,
     recovery, jtype, prio, xfer, nerr, submitted, start, last, elapsed, tbr, uid, total,
     session, _) = _STATUS.unpack_from(buf, off)
    return _new(Status, (_new(Handle, (slot, gen)), _STATES.get(state, state),
                         None if pct == 101 else pct, seq,
                         _ops((o0, o1, o2, o3, o4, o5, o6, o7)[:nops]), flags, ecode,
                         recovery, jtype, prio, _TRANSFER.get(xfer), nerr, submitted or None,
                         start or None, last or None, elapsed, tbr, uid, total, session))


def _str(p):
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """Every property of a job: its status and its strings (None for NULL)."""
    status: Status
    instance_id: str
    name: Optional[str]
    job_status: Optional[str]
    error_description: Optional[str]
    owner: Optional[str]
    notify: Optional[str]
    error_summary_description: Optional[str]
    other_recovery_action: Optional[str]
    status_descriptions: Tuple[Optional[str], ...]


def _job_from_c(j):
    return Job(_status_from_bytes(ffi.buffer(ffi.addressof(j.status))), _str(j.instance_id),
               _str(j.name), _str(j.job_status), _str(j.error_description), _str(j.owner),
               _str(j.notify), _str(j.error_summary_description),
               _str(j.other_recovery_action),
               tuple(_str(j.status_descriptions[i]) for i in range(j.n_status_descriptions)))


@dataclasses.dataclass(frozen=True, slots=True)
class JobExt:
    """A Job with the properties of format 1.5 (Reader.job_ext()): ElementName, Caption,
    Description, CIM_Job's schedule (instants in ns since the epoch, None for NULL) and
    the derived statuses of CIM_ManagedSystemElement (README.md "Derived statuses")."""
    job: Job
    element_name: Optional[str]
    caption: Optional[str]
    description: Optional[str]
    scheduled_start_time: Optional[int]
    until_time: Optional[int]
    job_run_times: int
    local_or_utc_time: Optional[int]       # 1 Local Time, 2 UTC Time
    communication_status: int
    health_state: int
    primary_status: int
    detailed_status: int
    operating_status: int


def _job_ext_from_c(x):
    return JobExt(_job_from_c(x.job), _str(x.element_name), _str(x.caption),
                  _str(x.description), x.scheduled_start_time or None, x.until_time or None,
                  x.job_run_times, x.local_or_utc_time or None, x.communication_status,
                  x.health_state, x.primary_status, x.detailed_status, x.operating_status)


@dataclasses.dataclass(frozen=True, slots=True)
class CimError:
    """One CIM_Error (its 15 properties) and Delivery Optimization's view of it (hresult,
    context, file). As read: time, sequence and job_state say when it was reported. As
    given to Connection.report_error(): message_id is required, those three are ignored."""
    message_id: Optional[str] = None
    message: Optional[str] = None
    message_arguments: Tuple[str, ...] = ()
    error_type: int = 0
    other_error_type: Optional[str] = None
    owning_entity: Optional[str] = None
    perceived_severity: int = 0
    probable_cause: int = 0
    probable_cause_description: Optional[str] = None
    recommended_actions: Tuple[str, ...] = ()
    error_source: Optional[str] = None
    error_source_format: int = 0
    other_error_source_format: Optional[str] = None
    cim_status_code: int = 0
    cim_status_code_description: Optional[str] = None
    hresult: int = 0
    context: int = 0
    file: Optional[str] = None
    time: int = 0
    sequence: int = 0
    job_state: int = 0

    def to_cimxml(self):
        """The DSP0201 CIM-XML <INSTANCE CLASSNAME="CIM_Error"> Hyper-V's GetError returns."""
        return _render(lib.jst_error_to_cimxml, self)

    def to_json(self):
        """The same error as one JSON object (a str), as libjobstat renders it."""
        return _render(lib.jst_error_to_json, self)


_ERROR_STRS = ("other_error_type", "owning_entity", "message_id", "message",
               "probable_cause_description", "error_source", "other_error_source_format",
               "cim_status_code_description", "file")
_ERROR_INTS = ("time", "sequence", "job_state", "error_type", "perceived_severity",
               "probable_cause", "error_source_format", "cim_status_code", "hresult",
               "context")


def _error_from_c(e):
    kw = {f: getattr(e, f) for f in _ERROR_INTS}
    kw.update({f: _str(getattr(e, f)) for f in _ERROR_STRS})
    kw["message_arguments"] = tuple(_str(e.message_arguments[i])
                                    for i in range(e.n_message_arguments))
    kw["recommended_actions"] = tuple(_str(e.recommended_actions[i])
                                      for i in range(e.n_recommended_actions))
    return CimError(**kw)


def _cstr(s, keep):
    """A char * for @s (None: NULL), kept alive by the list @keep."""
    if s is None:
        return ffi.NULL
    if not isinstance(s, str):
        raise TypeError(f"jobstat: expected str or None, got {type(s).__name__}")
    # surrogateescape lets bytes that are not UTF-8 reach the library, which refuses them
    # with JST_EUTF8 and says so, rather than failing here with a Python codec error.
    p = ffi.new("char[]", s.encode("utf-8", "surrogateescape"))
    keep.append(p)
    return p


def _cstr_array(field, items, keep, what):
    if len(items) > len(field):
        raise error(Errno.ETOOLONG, f"{what}: {len(items)} entries, at most {len(field)}")
    for i, s in enumerate(items):
        field[i] = _cstr(s, keep)
    return len(items)


def _error_to_c(err, keep):
    """A struct jst_error * for @err; its strings are kept alive by @keep."""
    e = ffi.new("struct jst_error *")
    keep.append(e)
    for f in _ERROR_INTS:
        setattr(e, f, getattr(err, f))
    for f in _ERROR_STRS:
        setattr(e, f, _cstr(getattr(err, f), keep))
    e.n_message_arguments = _cstr_array(e.message_arguments, err.message_arguments, keep,
                                        "message_arguments")
    e.n_recommended_actions = _cstr_array(e.recommended_actions, err.recommended_actions,
                                          keep, "recommended_actions")
    return e


def _render(fn, err):
    keep = []
    e = _error_to_c(err, keep)
    n = ffi.new("size_t *")
    rc = fn(e, ffi.NULL, 0, n)
    if rc not in (0, Errno.ETOOLONG):
        raise error(rc, where=fn.__name__ if hasattr(fn, "__name__") else "render")
    buf = ffi.new("char[]", n[0] + 1)
    rc = fn(e, buf, n[0] + 1, n)
    if rc < 0:
        raise error(rc, where="render")
    return ffi.string(buf, n[0]).decode("utf-8")


def job_state_name(state):
    """ "Running", "Completed", ...; "Vendor" or "Reserved" for other values."""
    return ffi.string(lib.jst_job_state_name(state)).decode()


def method_code(rc, flavour):
    """The return code of the job model's method (CIM, Hyper-V or DO) for a jobstat result:
    0 or an Errno (or a JobstatError)."""
    if isinstance(rc, BaseException):
        rc = rc.code
    return lib.jst_method_code(int(rc), int(flavour))


def check_transition(old, new):
    """Raise JobstatError(ETRANSITION) unless JobState @old may become @new."""
    rc = lib.jst_job_state_check(old, new)
    if rc < 0:
        raise error(rc, f"JobState {int(old)} cannot become {int(new)}")
