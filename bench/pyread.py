#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pyread.py - one job's status read from Python three ways, in the same run: through the
binding (jobstat.Reader.status: shared memory, no syscall), over jobstatd's socket (a GET
message packed with struct, per proto/jobstat-proto.h, over AF_UNIX SOCK_SEQPACKET) and
from Redis (redis-py HGETALL of the same 13 fields over a Unix socket). Each route ends in
the same kind of object: a jobstat.Status, or redis-py's dict.

Usage: JOBSTAT_LIBRARY=build/libjobstat.so.0 python3 bench/pyread.py [--quick] [BUILD_DIR]
(make bench runs it.) Starts jobstatd and redis-server in a temporary directory and stops
them. Prints ns per read (median of samples that alternate the routes) and the ratios."""

import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import jobstat  # noqa: E402
from jobstat._native import ffi, lib  # noqa: E402
from jobstat.model import _status_from_bytes  # noqa: E402

# proto/jobstat-proto.h: a 16-byte header (magic, version, type, id, length), host order.
PROTO_MAGIC, PROTO_VERSION = 0x5054534A, 1
MSG_HELLO, MSG_GET, MSG_REPLY = 1, 9, 0x8000
HDR = struct.Struct("=IHHII")
GET_ONE = struct.Struct("=IHHII III")       # header, u32 n = 1, u32 slot, u32 gen
# GET's reply: header, i32 result, string NULL (u32 0xffffffff), u32 n, then per handle
# an i32 code and the 128 status bytes.
GET_REPLY = struct.Struct("=IHHII iIIi")
STATUS_OFF = GET_REPLY.size

NJOBS = 10_000


def start(build, tmp):
    ns = f"pybench-{os.getpid()}"
    d = subprocess.Popen([os.path.join(build, "jobstatd"), "-f", "-n", ns, "-c",
                          str(NJOBS + 1024), "--runtime-dir", tmp], stderr=subprocess.DEVNULL)
    rsock = os.path.join(tmp, "redis.sock")
    rs = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", rsock, "--save", "",
                           "--appendonly", "no"], stdout=subprocess.DEVNULL)
    sock = os.path.join(tmp, f"{ns}.sock")
    for _ in range(1000):
        if os.path.exists(sock) and os.path.exists(rsock):
            return ns, sock, rsock, [d, rs]
        time.sleep(0.01)
    sys.exit("pyread: jobstatd or redis-server did not start (make bench installs redis)")


def hello(s):
    s.send(HDR.pack(PROTO_MAGIC, PROTO_VERSION, MSG_HELLO, 1, HDR.size + 12) +
           struct.pack("=IQ", 0, 0))
    rep = s.recv(4096)
    magic, _, typ, _, _ = HDR.unpack_from(rep)
    if magic != PROTO_MAGIC or typ != MSG_HELLO | MSG_REPLY or struct.unpack_from("=i", rep,
                                                                             HDR.size)[0]:
        sys.exit("pyread: jobstatd did not accept HELLO")


def main():
    quick = "--quick" in sys.argv
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build = os.path.abspath(args[0] if args else os.path.join(HERE, "..", "build"))
    samples, batch = (11, 2000) if quick else (51, 20000)
    try:
        import redis
    except ImportError:
        sys.exit("pyread: redis-py is missing (Debian python3-redis; make bench installs it)")
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {0})  # the servers get the other CPU
    tmp = tempfile.mkdtemp(prefix="jst-pybench-")
    procs = []
    try:
        ns, sock_path, redis_path, procs = start(build, tmp)
        prod = jobstat.Connection(socket_path=sock_path, producer=True)
        jobs = []
        for i in range(NJOBS):
            jobs.append(prod.create(f"job {i}", instance_id=f"bench:{i:07d}",
                                    initial_state=jobstat.JobState.RUNNING))
        prod.update([jobstat.Update(j, percent=i % 100) for i, j in enumerate(jobs)])
        reader = jobstat.Reader(ns)
        rd = redis.Redis(unix_socket_path=redis_path)
        pipe = rd.pipeline(transaction=False)
        for j in jobs:
            st = reader.status(j)
            pipe.hset(f"job:{j.instance_id}", mapping={
                "job_state": int(st.job_state), "percent_complete": st.percent_complete,
                "op_status": int(st.operational_status[0]), "priority": st.priority,
                "time_submitted": st.time_submitted, "start_time": st.start_time,
                "owner_uid": st.owner_uid, "flags": st.flags,
                "time_before_removal": st.time_before_removal_ns, "elapsed": 0,
                "error_code": 0, "job_type": 0, "n_errors": 0})
        pipe.execute()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(sock_path)
        hello(s)

        order = list(range(NJOBS))
        random.Random(1).shuffle(order)
        hot = jobs[3]

        def via_jobstat(j):
            return reader.status(j)

        raw_st = ffi.new("struct jst_status *")
        rptr = reader._r

        def via_cffi_call(j):  # the C call alone, no Status object: the binding's floor
            return lib.jst_status(rptr, (j.handle.slot, j.handle.gen), raw_st)

        def via_socket(j, ident=[0]):
            ident[0] += 1
            s.send(GET_ONE.pack(PROTO_MAGIC, PROTO_VERSION, MSG_GET, ident[0], GET_ONE.size,
                                1, j.handle.slot, j.handle.gen))
            rep = s.recv(4096)
            _, _, typ, rid, _, rc, _, n, code = GET_REPLY.unpack_from(rep)
            if typ != MSG_GET | MSG_REPLY or rid != ident[0] or rc or n != 1 or code:
                raise SystemExit(f"pyread: bad GET reply (rc {rc}, code {code})")
            return _status_from_bytes(rep, STATUS_OFF)

        def via_redis(j):
            return rd.hgetall(f"job:{j.instance_id}")

        # The three routes give the same job's same fields.
        a, b = via_jobstat(hot), via_socket(hot)
        assert a == b, (a, b)
        assert int(via_redis(hot)[b"percent_complete"]) == a.percent_complete

        routes = [("jobstat (Reader.status)", via_jobstat),
                  ("cffi call alone (no Status)", via_cffi_call),
                  ("socket (GET, struct)", via_socket), ("redis-py HGETALL", via_redis)]
        print(f"pyread: Python {sys.version.split()[0]}, cffi, redis-py {redis.__version__}; "
              f"{NJOBS} jobs; {samples} samples")
        for label, pick in (("one job polled", lambda i: hot),
                            (f"random job of {NJOBS:,}", lambda i: jobs[order[i % NJOBS]])):
            per = {name: [] for name, _ in routes}
            for _ in range(samples):
                for name, fn in routes:
                    n = batch if "jobstat" in name or "cffi" in name else batch // 20
                    args = [pick(i) for i in range(n)]
                    t0 = time.perf_counter_ns()
                    for x in args:
                        fn(x)
                    per[name].append((time.perf_counter_ns() - t0) / n)
            med = {name: statistics.median(v) for name, v in per.items()}
            base = med["jobstat (Reader.status)"]
            print(f"\n({label}) ns per read, median")
            for name, _ in routes:
                q = statistics.quantiles(per[name], n=4)
                print(f"  {name:30} {med[name]:10,.0f}   (IQR {q[0]:,.0f}-{q[2]:,.0f})"
                      f"   {med[name] / base:6.2f}x jobstat")
        s.close()
        reader.close()
        prod.close()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait()
        jobstat_ns = f"/dev/shm/jobstat.pybench-{os.getpid()}"
        for f in (jobstat_ns, jobstat_ns + ".lock"):
            if os.path.exists(f):
                os.unlink(f)
        shutil.rmtree(tmp, ignore_errors=True)


main()
