# SPDX-License-Identifier: MIT
"""test_wait.py - Reader.wait() and Connection.dispatch() block in C with the GIL released:
another Python thread keeps running meanwhile, and a change from another thread wakes
the waiter."""

import threading
import time

import pytest


def _progress_during(block):
    """Run @block in a thread; count this thread's loop turns while it was inside."""
    window = {}
    result = []

    def run():
        window["start"] = time.monotonic()
        result.append(block())
        window["end"] = time.monotonic()

    t = threading.Thread(target=run)
    turns = []
    t.start()
    while t.is_alive():
        turns.append(time.monotonic())
    t.join()
    start, end = window["start"], window["end"]
    # Only turns well inside the call count: not those just before it began, nor those
    # between its return and the thread's noting the time.
    inside = sum(1 for x in turns if start + 0.1 < x < end - 0.1)
    return result, end - start, inside


def test_wait_releases_the_gil(reader):
    cursor = reader.change_seq
    result, took, inside = _progress_during(lambda: reader.wait(cursor, timeout=1.0))
    assert result == [False]  # nothing changed: it timed out
    assert took >= 0.9
    # With the GIL held for the whole second this thread could not run at all.
    assert inside > 1000, f"only {inside} turns of the other thread during a 1 s wait"


def test_dispatch_releases_the_gil(producer):
    result, took, inside = _progress_during(lambda: producer.dispatch(timeout=1.0))
    assert result == [0] and took >= 0.9
    assert inside > 1000, f"only {inside} turns of the other thread during a 1 s dispatch"


def test_wait_returns_when_another_thread_publishes(producer, reader):
    j = producer.create("x")
    log = reader.changes()
    assert log.wait(timeout=0) is False
    woke = []
    t = threading.Thread(target=lambda: woke.append((log.wait(timeout=10),
                                                     time.monotonic())))
    t.start()
    time.sleep(0.2)
    sent = time.monotonic()
    producer.set_progress(j, 50)
    t.join()
    assert woke[0][0] is True
    assert woke[0][1] - sent < 1.0
    assert [st.percent_complete for st in log] == [50]


def test_negative_timeout_is_refused(reader):
    with pytest.raises(ValueError, match="negative"):
        reader.wait(reader.change_seq, timeout=-1)


@pytest.mark.parametrize("call", ["wait", "dispatch"])
def test_ctrl_c_ends_a_wait_without_limit(reader, producer, call):
    import os
    import signal
    cursor = reader.change_seq
    # SIGINT goes to the process from another thread while this one has it blocked, so the
    # kernel hands it to that thread and this one's syscall is not interrupted: only the
    # binding's slicing of the wait lets Python run the handler here.
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()  # before the mask: the timer's thread takes the signal
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            if call == "wait":
                reader.wait(cursor, timeout=None)
            else:
                producer.dispatch(timeout=None)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        timer.join()
    assert time.monotonic() - start < 2.0
