# SPDX-License-Identifier: MIT
"""errors.py - libjobstat's JST_E* codes as an enum, and the exception that carries one."""

import enum

from ._native import ffi, lib


def _codes():
    # The library's own table (JST_ERRNO_MAP), read through jst_errname(), so that this
    # enum cannot drift from the C codes. Codes are handed out in blocks, so the table
    # may have gaps: look at every value down to _LOWEST.
    members = {"OK": 0}
    for code in range(-1, _LOWEST - 1, -1):
        name = ffi.string(lib.jst_errname(code)).decode()
        if name != "JST_E?":
            members[name[len("JST_"):]] = code
    return members


_LOWEST = -255

Errno = enum.IntEnum("Errno", _codes(), module=__name__)
Errno.__doc__ = "libjobstat's return codes: 0 and the negative JST_E* values (ENOJOB, ...)."


class JobstatError(Exception):
    """A libjobstat call failed.

    code: the Errno (JST_E* code, negative); name: "JST_ENOJOB"; message: the
    library's text for it; detail: what the daemon said about it, or ""; where: the call.
    (Subclasses that are also OSErrors leave OSError's errno None: it is not a JST code.)
    """

    def __init__(self, code, detail="", where=""):
        name = ffi.string(lib.jst_errname(code)).decode()
        message = ffi.string(lib.jst_strerror(code)).decode()
        text = f"{where}: " if where else ""
        text += f"{message} ({name})"
        if detail:
            text += f": {detail}"
        super().__init__(text)
        self.code = Errno(code) if code in Errno._value2member_map_ else code
        self.name = name
        self.message = message
        self.detail = detail
        self.where = where


class NoSuchJobError(JobstatError, LookupError):
    """JST_ENOJOB or JST_ESTALE: the job does not exist (any more)."""


class JobstatPermissionError(JobstatError, PermissionError):
    """JST_EPERM or JST_EACCES."""


class JobstatTimeoutError(JobstatError, TimeoutError):
    """JST_ETIMEDOUT."""


class NoDaemonError(JobstatError, ConnectionError):
    """JST_ENODAEMON, JST_ENOENT (no segment) or JST_EDISCONNECTED."""


class OverrunError(JobstatError):
    """JST_EOVERRUN: changes were lost from the change log; rescan every job."""


_CLASSES = {
    Errno.ENOJOB: NoSuchJobError, Errno.ESTALE: NoSuchJobError,
    Errno.EPERM: JobstatPermissionError, Errno.EACCES: JobstatPermissionError,
    Errno.ETIMEDOUT: JobstatTimeoutError,
    Errno.ENODAEMON: NoDaemonError, Errno.ENOENT: NoDaemonError,
    Errno.EDISCONNECTED: NoDaemonError,
    Errno.EOVERRUN: OverrunError,
}


def error(code, detail="", where=""):
    """The exception for a negative JST code: JobstatError or its subclass for that code."""
    return _CLASSES.get(code, JobstatError)(code, detail, where)
