# SPDX-License-Identifier: MIT
"""test_produce.py - the producer and control API through Python against a real jobstatd:
create, batched updates with per-update results, errors and GetError in three flavours,
CIM-XML and JSON, completion, removal, RequestStateChange answered by a Python handler."""

import json
import os
import threading
import xml.etree.ElementTree as ET

import pytest

import jobstat
from jobstat import (CimError, Errno, Flavour, JobState, OperationalStatus, RequestedState,
                     RscCode, TransferState, Update)


def test_create_gives_handle_and_instance_id(producer, reader):
    j = producer.create("named", instance_id="Org:a")
    assert j.instance_id == "Org:a"
    gen = producer.create()
    assert gen.instance_id.startswith("jobstat:")
    assert reader.lookup(gen.instance_id) == gen.handle
    with pytest.raises(jobstat.JobstatError) as e:
        producer.create(instance_id="Org:a")
    assert e.value.code == Errno.EEXIST
    with pytest.raises(jobstat.JobstatError) as e:
        producer.create(instance_id="no-colon")
    assert e.value.code == Errno.EINSTANCEID


def test_invalid_utf8_is_refused_by_the_library_with_its_code(producer):
    with pytest.raises(jobstat.JobstatError) as e:
        producer.create(b"bad \xff name".decode("utf-8", "surrogateescape"))
    assert e.value.code == Errno.EUTF8


def test_batched_update_applies_in_order_and_reports_each_result(producer, reader):
    a, b = producer.create("a"), producer.create("b")
    res = producer.update([
        Update(a, state=JobState.RUNNING, percent=5, job_status="copying"),
        Update(b, operational_status=[OperationalStatus.OK, OperationalStatus.DEGRADED],
               status_descriptions=["fine", "slow disk"]),
        Update(a, percent=60),
    ])
    assert res == [0, 0, 0]
    sa, sb = reader.status(a), reader.status(b)
    assert (sa.job_state, sa.percent_complete) == (JobState.RUNNING, 60)
    assert sb.operational_status == (OperationalStatus.OK, OperationalStatus.DEGRADED)
    assert reader.job(b).status_descriptions == ("fine", "slow disk")
    assert reader.job(a).job_status == "copying"


def test_batch_failure_raises_with_every_result_and_keeps_the_others(producer, reader):
    a = producer.create("a", initial_state=JobState.RUNNING)
    producer.complete(a)
    b = producer.create("b")
    with pytest.raises(jobstat.BatchError) as e:
        producer.update([Update(b, percent=30), Update(a, state=JobState.RUNNING),
                         Update(b, percent=31)])
    assert e.value.code == Errno.ETRANSITION
    assert e.value.results == [0, Errno.ETRANSITION, 0]
    assert "7" in e.value.detail  # the daemon says which transition
    assert reader.status(b).percent_complete == 31
    assert reader.status(a).job_state is JobState.COMPLETED


def test_single_update_failure_raises_plain_error(producer):
    a = producer.create("a")
    producer.complete(a)
    with pytest.raises(jobstat.JobstatError) as e:
        producer.set_state(a, JobState.RUNNING)
    assert not isinstance(e.value, jobstat.BatchError)
    assert e.value.code == Errno.ETRANSITION
    with pytest.raises(jobstat.JobstatError) as e:
        producer.set_state(a, 70000)
    assert e.value.code == Errno.EINVAL and "16-bit" in str(e.value)


ERR = CimError(message_id="DISK0042", message="disk full on %1", message_arguments=("sda",),
               error_type=4, perceived_severity=6, probable_cause=47,
               recommended_actions=("free space", "retry <now> & \"then\""),
               owning_entity="Org", cim_status_code=1)


def test_get_error_follows_each_flavour(producer, reader):
    j = producer.create("failing", initial_state=JobState.RUNNING)
    producer.report_error(j, ERR)
    # CIM and Hyper-V: no error while OperationalStatus is OK.
    assert reader.get_error(j, Flavour.CIM) is None
    assert reader.get_errors(j, Flavour.HYPERV) == []
    assert jobstat.method_code(Errno.ENOERROR, Flavour.DO) == 0x80d02014
    producer.report_error(j, CimError(message_id="DISK0043", message="gave up"), fail=True)
    st = reader.status(j)
    assert st.job_state is JobState.EXCEPTION and st.n_errors == 2
    for fl in (Flavour.CIM, Flavour.HYPERV):
        e = reader.get_error(j, fl)
        assert (e.message_id, e.sequence, e.job_state) == ("DISK0043", 2, JobState.RUNNING)
        assert [x.message_id for x in reader.get_errors(j, fl)] == ["DISK0042", "DISK0043"]
    # Delivery Optimization: not a transfer job, so no error object.
    assert reader.get_error(j, Flavour.DO) is None
    with pytest.raises(jobstat.JobstatError) as ex:
        reader.get_errors(j, Flavour.DO)
    assert ex.value.code == Errno.ENOTSUP
    first = reader.error(j, 0)
    assert first.message_arguments == ("sda",)
    assert first.recommended_actions == ERR.recommended_actions
    assert (first.perceived_severity, first.probable_cause) == (6, 47)
    with pytest.raises(jobstat.JobstatError) as ex:
        reader.error(j, 2)
    assert ex.value.code == Errno.ENOERROR


def test_do_flavour_gives_a_transfer_jobs_error_object(producer, reader):
    j = producer.create("download", transfer=True)
    assert reader.status(j).transfer_state is TransferState.SUSPENDED
    producer.set_transfer_state(j, TransferState.QUEUED)
    producer.set_transfer_state(j, TransferState.TRANSFERRING)
    producer.report_error(j, CimError(message_id="NET1", message="reset", hresult=0x80072efe,
                                      context=5, file="/tmp/x"))
    producer.set_transfer_state(j, TransferState.TRANSIENT_ERROR)
    e = reader.get_error(j, Flavour.DO)
    assert (e.hresult, e.context, e.file, e.message) == (0x80072efe, 5, "/tmp/x", "reset")
    producer.set_transfer_state(j, TransferState.TRANSFERRING)
    assert reader.get_error(j, Flavour.DO) is None


def test_cimxml_and_json_parse_and_carry_the_error(producer, reader):
    j = producer.create("f", initial_state=JobState.RUNNING)
    producer.report_error(j, ERR, fail=True)
    e = reader.get_error(j)
    root = ET.fromstring(e.to_cimxml())
    assert root.tag == "INSTANCE" and root.get("CLASSNAME") == "CIM_Error"
    props = {p.get("NAME"): p for p in root}
    assert props["MessageID"].findtext("VALUE") == "DISK0042"
    assert [v.text for v in props["RecommendedActions"].iter("VALUE")] == list(
        ERR.recommended_actions)
    assert props["OtherErrorType"].find("VALUE") is None  # NULL: no VALUE
    doc = json.loads(e.to_json())
    assert doc["MessageID"] == "DISK0042" and doc["MessageArguments"] == ["sda"]
    assert doc["OtherErrorType"] is None and doc["Sequence"] == 1
    # A CimError built in Python renders too (nothing read from the segment).
    assert json.loads(CimError(message_id="X1").to_json())["MessageID"] == "X1"


def test_report_error_refuses_bad_input_specifically(producer):
    j = producer.create("x")
    with pytest.raises(jobstat.JobstatError) as e:
        producer.report_error(j, CimError(message="no id"))
    assert e.value.code == Errno.EINVAL
    with pytest.raises(jobstat.JobstatError) as e:
        producer.report_error(j, CimError(message_id="A", message_arguments=("x",) * 17))
    assert e.value.code == Errno.ETOOLONG
    with pytest.raises(TypeError):
        producer.report_error(j, "not an error")


def test_complete_and_remove(producer, reader):
    j = producer.create("short", initial_state=JobState.RUNNING)
    with pytest.raises(jobstat.JobstatError) as e:
        producer.remove(j)
    assert e.value.code == Errno.ENOTFINISHED
    producer.complete(j)
    st = reader.status(j)
    assert (st.job_state, st.percent_complete) == (JobState.COMPLETED, 100)
    assert st.operational_status == (OperationalStatus.COMPLETED, OperationalStatus.OK)
    assert st.is_final
    when = producer.remove(j, now=True)
    assert when > 0
    with pytest.raises(jobstat.NoSuchJobError):
        reader.status(j)


def test_request_state_change_reaches_the_python_handler(daemon, reader):
    seen = []

    def on_request(conn, rq):
        seen.append(rq)
        conn.set_state(rq.handle, JobState.TERMINATED)  # the producer API, from the handler
        return RscCode.COMPLETED

    with jobstat.Connection(socket_path=daemon.sock, producer=True,
                            on_request=on_request) as p, \
            jobstat.Connection(socket_path=daemon.sock) as client:
        j = p.create("long", instance_id="Org:long", initial_state=JobState.RUNNING)
        handled = []
        t = threading.Thread(target=lambda: handled.append(p.dispatch(timeout=10)))
        t.start()
        code = client.request_state_change("Org:long", RequestedState.TERMINATE, timeout=10)
        t.join()
        assert code is RscCode.COMPLETED and handled == [1]
        assert len(seen) == 1
        rq = seen[0]
        assert (rq.handle, rq.instance_id) == (j.handle, "Org:long")
        assert rq.requested_state is RequestedState.TERMINATE
        assert (rq.requester_uid, rq.requester_pid) == (os.getuid(), os.getpid())
        assert reader.status(j).job_state is JobState.TERMINATED
        # The daemon records who asked, as a CIM_Error (JST0001).
        assert reader.get_error(j).message_id == "JST0001"
        # A final job refuses further requests, with the method's code.
        with pytest.raises(jobstat.JobstatError) as e:
            client.request_state_change("Org:long", RequestedState.KILL)
        assert e.value.code == Errno.ETRANSITION
        assert e.value.rsc_code is RscCode.INVALID_TRANSITION


def test_handler_exception_answers_failed_and_is_raised_by_dispatch(daemon):
    def on_request(conn, rq):
        raise RuntimeError("handler broke")

    with jobstat.Connection(socket_path=daemon.sock, producer=True,
                            on_request=on_request) as p, \
            jobstat.Connection(socket_path=daemon.sock) as client:
        p.create("x", instance_id="Org:x", initial_state=JobState.RUNNING)
        raised = []

        def run():
            try:
                p.dispatch(timeout=10)
            except RuntimeError as e:
                raised.append(e)
        t = threading.Thread(target=run)
        t.start()
        code = client.request_state_change("Org:x", RequestedState.SUSPEND, timeout=10)
        t.join()
        assert code is RscCode.FAILED
        assert [str(e) for e in raised] == ["handler broke"]


def test_session_reclaims_jobs_and_stats_count_connections(daemon, reader):
    with jobstat.Connection(socket_path=daemon.sock, producer=True) as p:
        j = p.create("kept")
        session = p.session
        assert p.stats().connections == 1
        assert p.fileno() >= 0
    with jobstat.Connection(socket_path=daemon.sock, producer=True, session=session) as p2:
        assert p2.session == session
        p2.set_progress(j, 77)
    st = reader.status(j)
    assert st.percent_complete == 77 and st.producer_session == session


def test_connect_without_daemon_says_so(tmp_path):
    with pytest.raises(jobstat.NoDaemonError) as e:
        jobstat.Connection(socket_path=str(tmp_path / "none.sock"))
    assert e.value.code == Errno.ENODAEMON
    assert isinstance(e.value, ConnectionError)


def test_set_props_round_trips_and_renders(producer, reader):
    """Issue 14 point 5: the properties a producer sets after creating its job."""
    j = producer.create("props", initial_state=JobState.RUNNING)
    x = reader.job_ext(j)
    assert x.caption is None and x.job_run_times == 1 and x.local_or_utc_time is None
    assert (x.communication_status, x.health_state, x.operating_status) == (2, 5, 16)
    producer.set_props(j, priority=3, recovery_action=1, other_recovery_action="call me",
                       element_name="element", caption="cap", description="desc",
                       until_time=1234567890000000000, job_run_times=0, local_or_utc_time=1,
                       delete_on_completion=True, time_before_removal_ns=5)
    x = reader.job_ext(j)
    assert (x.element_name, x.caption, x.description) == ("element", "cap", "desc")
    assert x.until_time == 1234567890000000000 and x.scheduled_start_time is None
    assert (x.job_run_times, x.local_or_utc_time) == (0, 1)
    assert x.job.other_recovery_action == "call me" and x.job.status.recovery_action == 1
    assert x.job.status.priority == 3 and x.job.status.delete_on_completion
    doc = ET.fromstring(reader.job_cimxml(j))
    inst = doc.find("./DECLARATION/DECLGROUP/VALUE.OBJECT/INSTANCE")
    assert inst.find("./PROPERTY[@NAME='Caption']/VALUE").text == "cap"
    assert inst.find("./PROPERTY[@NAME='OperatingStatus']/VALUE").text == "16"
    assert json.loads(reader.job_json(j))["UntilTime"] == "20090213233130.000000+000"
    producer.set_props(j, caption=None)
    assert reader.job_ext(j).caption is None
    with pytest.raises(jobstat.JobstatError) as e:
        producer.set_props(j, recovery_action=6)
    assert e.value.code == Errno.EVALUEMAP and "RecoveryAction 6" in str(e.value)
    with pytest.raises(jobstat.JobstatError) as e:
        producer.set_props(j, recovery_action=1)
    assert e.value.code == Errno.EOTHERPAIR
    with pytest.raises(jobstat.JobstatError) as e:
        producer.set_props(j, caption="c" * 65)
    assert e.value.code == Errno.ETOOLONG and "Caption" in str(e.value)
