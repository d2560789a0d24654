"""The latest-wins worker: stale results never land, errors become signals."""

from __future__ import annotations

import threading

import pytest

from ui.worker import LatestWinsWorker


@pytest.fixture
def gated():
    """A job function that blocks on its first call until the test opens the gate."""
    gate = threading.Event()
    started = threading.Event()
    calls: list[int] = []

    def compute(value: int) -> int:
        calls.append(value)
        started.set()
        if value == 1:
            gate.wait(10)
        if value < 0:
            raise ValueError(f"negative: {value}")
        return value * 10

    return compute, gate, started, calls


def test_superseded_request_never_lands(qtbot, gated):
    compute, gate, started, calls = gated
    worker = LatestWinsWorker(compute)
    landed: list[int] = []
    worker.finished.connect(lambda job, result: landed.append(result))
    try:
        worker.submit(1)
        assert started.wait(5)  # job 1 is running and held
        worker.submit(2)
        worker.submit(3)  # replaces 2 before it ever starts
        gate.set()
        qtbot.waitUntil(lambda: landed == [30], timeout=5000)
        qtbot.waitUntil(lambda: not worker.is_busy(), timeout=5000)
    finally:
        worker.stop()
    assert calls == [1, 3]  # 2 was never computed
    assert landed == [30]  # 1's result was stale when it finished: never delivered
    assert worker.superseded == 1


def test_error_becomes_failed_signal(qtbot, gated):
    compute, _gate, _started, _calls = gated
    worker = LatestWinsWorker(compute)
    try:
        with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
            worker.submit(-5)
    finally:
        worker.stop()
    assert blocker.args[1] == "negative: -5"


def test_unexpected_exception_is_reported_not_raised(qtbot, capsys):
    def broken(_):
        raise ZeroDivisionError("boom")

    worker = LatestWinsWorker(broken)
    try:
        with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
            worker.submit(0)
    finally:
        worker.stop()
    assert "ZeroDivisionError: boom" in blocker.args[1]


def test_busy_signal_brackets_work(qtbot, gated):
    compute, gate, _started, _calls = gated
    gate.set()
    worker = LatestWinsWorker(compute)
    states: list[bool] = []
    worker.busy_changed.connect(states.append)
    try:
        worker.submit(2)
        qtbot.waitUntil(lambda: states and states[-1] is False, timeout=5000)
    finally:
        worker.stop()
    assert states[0] is True and states[-1] is False


def test_stop_is_idempotent_and_joins():
    worker = LatestWinsWorker(lambda x: x)
    worker.stop()
    worker.stop()
    assert not worker._thread.is_alive()
