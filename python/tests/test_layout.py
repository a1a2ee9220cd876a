# SPDX-License-Identifier: MIT
"""test_layout.py - cffi's ABI mode lays the structs out from python/jobstat/_native.py's
declarations, not from jobstat.h: the C compiler, given jobstat.h, must agree on every
struct's size and every field's offset and size, and the enum values must match."""

import os
import struct
import subprocess

import jobstat
from jobstat import _native
from jobstat.model import _STATUS

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ffi = _native.ffi

ENUMS = {  # Python enum -> the C prefix of its values in jobstat.h
    "JobState": "JST_JOB_", "OperationalStatus": "JST_OPS_", "TransferState": "JST_BG_",
    "Flavour": "JST_FLAVOUR_", "RequestedState": "JST_REQ_", "RscCode": "JST_RSC_",
}


def _program():
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "jobstat.h"',
             "int main(void) {"]
    want = []
    for name in _native.STRUCTS:
        t = ffi.typeof(name)
        lines.append(f'printf("{name} size %zu\\n", sizeof({name}));')
        want.append(f"{name} size {ffi.sizeof(t)}")
        for field, f in t.fields:
            lines.append(f'printf("{name} {field} %zu %zu\\n", offsetof({name}, {field}), '
                         f'sizeof((({name} *)0)->{field}));')
            want.append(f"{name} {field} {f.offset} {ffi.sizeof(f.type)}")
    for enum_name, prefix in ENUMS.items():
        for m in getattr(jobstat, enum_name):
            c = "JST_JOB_COMPLETED_WITH_WARNINGS" if m.name == "COMPLETED_WITH_WARNINGS" \
                else prefix + m.name
            lines.append(f'printf("{enum_name}.{m.name} %ld\\n", (long){c});')
            want.append(f"{enum_name}.{m.name} {int(m)}")
    for name in dir(_native.lib):
        if name.startswith("JST_"):  # the #defines copied into the cdefs
            lines.append(f'printf("{name} %ld\\n", (long){name});')
            want.append(f"{name} {getattr(_native.lib, name)}")
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n", want


def test_cffi_layout_matches_the_c_compilers(tmp_path):
    src, want = _program()
    (tmp_path / "layout.c").write_text(src)
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=gnu11", "-I", os.path.join(ROOT, "include"), "-I", os.path.join(ROOT, "libclient"), "-o", str(exe),
                    str(tmp_path / "layout.c")], check=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert got.splitlines() == want


def test_status_unpack_format_matches_the_struct():
    fields = dict(ffi.typeof("struct jst_status").fields)
    assert _STATUS.size == ffi.sizeof("struct jst_status") == 128
    # The format's offsets, field by field, against cffi's (checked above against C).
    offs, off = [], 0
    for name, fmt in (("internal_stamp", "I"), ("handle", "II"), ("job_state", "H"),
                      ("percent_complete", "H"), ("change_seq", "Q"),
                      ("internal_detail", "Q"), ("operational_status", "8H"),
                      ("n_operational_status", "B"), ("flags", "B"), ("error_code", "H"),
                      ("recovery_action", "H"), ("job_type", "H"), ("priority", "I"),
                      ("transfer_state", "H"), ("n_errors", "H"), ("time_submitted", "Q"),
                      ("start_time", "Q"), ("time_of_last_state_change", "Q"),
                      ("elapsed_ns", "Q"), ("time_before_removal_ns", "Q"),
                      ("owner_uid", "I"), ("errors_total", "I"), ("producer_session", "Q"),
                      ("reserved", "Q")):
        assert fields[name].offset == off, name
        offs.append(fmt)
        off += struct.calcsize("=" + fmt)
    assert "".join(offs) == _STATUS.format.replace(" ", "").lstrip("=")


def test_errno_enum_has_every_code_of_the_header():
    import re
    text = open(os.path.join(ROOT, "include", "jobstat.h")).read()
    table = {name: int(val) for name, val in re.findall(r"XX\((\w+), (-\d+),", text)}
    assert table, "no JST_ERRNO_MAP entries found in jobstat.h"
    assert {m.name: int(m) for m in jobstat.Errno if m.name != "OK"} == table
    for name, val in table.items():
        e = jobstat.JobstatError(val)
        assert (e.code, e.name) == (jobstat.Errno[name], "JST_" + name)
        assert e.message and e.message != "unknown jobstat error"
