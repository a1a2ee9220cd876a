# SPDX-License-Identifier: MIT
"""jobstat - Python binding of libjobstat: read jobstatd's jobs with no syscall, and
produce and control jobs through its socket.

    import jobstat
    with jobstat.Reader() as r:
        st = r.status(r.lookup("Microsoft:5C0C2F0B-1A2B-4C3D-8E9F-0123456789AB"))
        print(st.job_state.name, st.percent_complete)
"""

from ._native import ffi as _ffi, lib as _lib
from .conn import (BatchError, Connection, DaemonStats, NewJob, Request, Update)
from .errors import (Errno, JobstatError, JobstatPermissionError, JobstatTimeoutError,
                     NoDaemonError, NoSuchJobError, OverrunError)
from .model import (STATUS_CANCELLABLE, STATUS_DELETE_ON_COMPLETION, STATUS_DO_ERROR,
                    CimError, Flavour, Handle, Job, JobExt, JobState, OperationalStatus,
                    RequestedState, RscCode, Status, TransferState, check_transition,
                    job_state_name, method_code)
from .reader import ChangeLog, Info, Reader, default_namespace

__version__ = _ffi.string(_lib.jst_version()).decode()

__all__ = [
    "Reader", "ChangeLog", "Info", "Connection", "NewJob", "Update", "Request",
    "DaemonStats", "Status", "Job", "JobExt", "CimError", "Handle", "JobState",
    "OperationalStatus",
    "TransferState", "Flavour", "RequestedState", "RscCode", "Errno", "JobstatError",
    "NoSuchJobError", "JobstatPermissionError", "JobstatTimeoutError", "NoDaemonError",
    "OverrunError", "BatchError", "STATUS_CANCELLABLE", "STATUS_DELETE_ON_COMPLETION",
    "STATUS_DO_ERROR", "check_transition", "job_state_name", "method_code",
    "default_namespace",
]
