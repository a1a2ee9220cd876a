# SPDX-License-Identifier: MIT
"""test_read.py - the read API through Python against a real jobstatd: attach, lookup,
status, job, scan, the change log, info, and the errors each gives."""

import dataclasses
import os

import pytest

import jobstat
from jobstat import Errno, JobState, OperationalStatus


def test_status_and_job_show_what_the_producer_wrote(daemon, producer, reader):
    j = producer.create("copy disk", instance_id="Org:copy-1", owner="alice",
                        initial_state=JobState.RUNNING, priority=7, job_type=3)
    producer.set_progress(j, 42)
    h = reader.lookup("Org:copy-1")
    assert h == j.handle
    st = reader.status(h)
    assert st.handle == h
    assert st.job_state is JobState.RUNNING
    assert st.percent_complete == 42
    assert st.operational_status == (OperationalStatus.OK,)
    assert st.priority == 7 and st.job_type == 3
    assert st.owner_uid == os.getuid()
    assert st.producer_session == producer.session
    assert st.time_submitted and st.start_time
    assert st.transfer_state is None and st.cancellable and not st.removed
    job = reader.job(j)
    assert job.status.percent_complete == 42
    assert (job.instance_id, job.name, job.owner) == ("Org:copy-1", "copy disk", "alice")
    assert job.notify is None


def test_status_many_reads_each_job_and_none_for_a_gone_one(producer, reader):
    jobs = [producer.create("many-%d" % i) for i in range(100)]
    for i, j in enumerate(jobs):
        producer.set_progress(j, i)
    producer.remove(jobs[7], now=True)
    got = reader.status_many(jobs + [jobs[3]])
    assert len(got) == 101
    assert got[7] is None
    assert [st.percent_complete for k, st in enumerate(got[:100]) if k != 7] == [
        i for i in range(100) if i != 7]
    assert got[100] == reader.status(jobs[3])
    assert reader.status_many([]) == []


def test_status_and_job_are_read_only(producer, reader):
    j = producer.create("x")
    st = reader.status(j)
    with pytest.raises(AttributeError):
        st.job_state = JobState.COMPLETED
    with pytest.raises(dataclasses.FrozenInstanceError):
        reader.job(j).name = "y"


def test_undefined_percent_and_unknown_vendor_state_come_through(producer, reader):
    j = producer.create("vendor", initial_state=40000)
    producer.set_progress(j, 101)
    st = reader.status(j)
    assert st.percent_complete is None
    assert st.job_state == 40000 and not isinstance(st.job_state, JobState)
    assert jobstat.job_state_name(st.job_state) == "Vendor"


def test_missing_job_raises_with_code_name_and_message(reader):
    with pytest.raises(jobstat.NoSuchJobError) as e:
        reader.lookup("Org:nothing")
    assert e.value.code == Errno.ENOJOB == -13
    assert e.value.name == "JST_ENOJOB"
    assert e.value.message == "no such job"
    assert "Org:nothing" in str(e.value)
    assert isinstance(e.value, LookupError)


def test_removed_job_reads_stale(producer, reader):
    j = producer.create("gone")
    producer.remove(j, now=True)
    with pytest.raises(jobstat.NoSuchJobError) as e:
        reader.status(j)
    assert e.value.code == Errno.ESTALE


def test_attach_errors_are_specific(daemon):
    with pytest.raises(jobstat.NoDaemonError) as e:
        jobstat.Reader("py-no-such-namespace")
    assert e.value.code == Errno.ENOENT
    assert "py-no-such-namespace" in str(e.value)
    with pytest.raises(jobstat.JobstatError) as e:
        jobstat.Reader("bad/name")
    assert e.value.code == Errno.ENAMESPACE


def test_closed_reader_refuses_reads(daemon, producer):
    j = producer.create("x")
    with jobstat.Reader(daemon.ns) as r:
        r.status(j)
    with pytest.raises(ValueError, match="closed"):
        r.status(j)


def test_scan_sees_every_job_exactly_once(producer, reader):
    made = {producer.create(f"j{i}").handle for i in range(600)}  # more than one batch
    producer.remove(next(iter(made)), now=True)
    seen = [st.handle for st in reader.scan(batch=64)]
    assert len(seen) == len(set(seen)) == 599
    assert set(seen) < made
    assert sorted(h.slot for h in seen) == [h.slot for h in seen]
    assert len(list(reader)) == 599


def test_change_log_yields_each_change_in_order_and_catches_up(producer, reader):
    a, b = producer.create("a"), producer.create("b")
    log = reader.changes()
    start = log.cursor
    producer.set_progress(b, 10)
    producer.set_progress(a, 20)
    producer.remove(b, now=True)
    got = list(log)
    # Format 1.5's status ring: each change as it was published, the removal last.
    assert [(st.handle.slot, st.removed) for st in got] == [
        (b.handle.slot, False), (a.handle.slot, False), (b.handle.slot, True)]
    assert got[0].percent_complete == 10
    assert got[1].percent_complete == 20
    assert log.cursor > start and log.cursor == reader.change_seq
    assert list(log) == []  # caught up


def test_change_log_longer_than_a_batch(producer, reader):
    j = producer.create("busy")
    log = reader.changes()
    producer.update([jobstat.Update(j, percent=i % 100) for i in range(700)])
    assert len(list(log)) == 700


def test_change_log_overrun_says_rescan_and_moves_the_cursor():
    import conftest
    d = conftest.Daemon("--log-size", "64").start()
    try:
        with jobstat.Connection(socket_path=d.sock, producer=True) as c, \
                jobstat.Reader(d.ns) as r:
            j = c.create("x")
            log = r.changes()
            c.update([jobstat.Update(j, percent=i % 100) for i in range(500)])
            with pytest.raises(jobstat.OverrunError) as e:
                list(log)
            assert e.value.code == Errno.EOVERRUN
            assert log.cursor == r.change_seq
            assert list(log) == []
    finally:
        d.cleanup()


def test_info_describes_segment_and_daemon(daemon, producer, reader):
    producer.create("x")
    i = reader.info()
    assert i.capacity == 4096 and i.njobs == 1 and i.state == 1
    assert i.daemon_pid == daemon.proc.pid
    assert i.change_seq == reader.change_seq
    assert reader.generation == i.generation >= 1
    assert reader.daemon_alive


def test_bad_arguments_are_named(producer, reader):
    with pytest.raises(TypeError, match="expected a Handle"):
        reader.status("Org:x")
    with pytest.raises(ValueError, match="scan batch 0"):
        list(reader.scan(batch=0))
    h = producer.create("x").handle
    assert reader.status((h.slot, h.gen)).handle == h  # a plain (slot, gen) pair is fine
    with pytest.raises(jobstat.JobstatError) as e:
        reader.status(jobstat.Handle(1 << 31, 1))
    assert e.value.code == Errno.EINVAL


def test_one_reader_shared_by_threads_gives_each_its_own_job(producer, reader):
    import threading
    jobs = [producer.create(f"t{i}").handle for i in range(4)]
    for i, h in enumerate(jobs):
        producer.set_progress(h, 10 * i)
    wrong = []

    def poll(h, want):
        for _ in range(20000):
            st = reader.status(h)
            if st.handle != h or st.percent_complete != want:
                wrong.append((h, st.handle))
                return
            j = reader.job(h)
            if j.status.handle != h:
                wrong.append((h, j.status.handle))
                return

    threads = [threading.Thread(target=poll, args=(h, 10 * i)) for i, h in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
