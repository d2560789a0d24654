"""Test-wide setup: offscreen Qt, and no test may leak a thread or a top-level window."""

from __future__ import annotations

import os
import threading

# Before anything imports Qt: render without a screen, keep pyqtgraph on PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """Fail a test that leaves a worker, capture or recorder thread running."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in leaked:  # give a thread that is already stopping a moment to finish
        t.join(timeout=2.0)
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"test leaked threads: {[t.name for t in leaked]}"
