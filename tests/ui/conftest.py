"""UI test fixtures: no test may leave a window open; a ready main window on a sample image."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from resources import DEFAULT_SAMPLE, SAMPLES

WINDOW_SIZE = (1600, 1000)
IDLE_TIMEOUT_MS = 10_000


def _address(widget) -> int:
    # Not id(): holding no wrapper between the two checks, a new wrapper could reuse an id.
    return shiboken6.getCppPointer(widget)[0]


@pytest.fixture(autouse=True)
def _no_leaked_windows(request):
    """Fail a test that leaves a visible top-level window behind (napari, pymmcore-widgets).

    Runs its check after pytest-qt has closed the widgets registered with ``qtbot.addWidget``
    (and after the test's own fixtures were torn down), so only real leaks are reported.
    """
    if "qapp" not in request.fixturenames:
        yield  # a test that never made a QApplication cannot leak a window
        return
    # Collect garbage first: a cycle freed by the collector *during* the loop below could delete
    # a widget (say a pyqtgraph menu) that topLevelWidgets() has just listed.
    gc.collect()
    before = {_address(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    yield
    QApplication.processEvents()
    gc.collect()
    leaked = [
        w for w in QApplication.topLevelWidgets() if w.isVisible() and _address(w) not in before
    ]
    for w in leaked:  # close them so one leak does not fail every later test
        w.close()
    assert not leaked, "test left windows open: " + ", ".join(
        f"{type(w).__name__}({w.windowTitle()!r})" for w in leaked
    )


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """A settings file in tmp_path: tests never read or change the person's own settings."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    """Build a MainWindow (tmp settings, no modal dialogs), shown at 1600x1000, image loaded.

    ``make_window(image=None, settings=None, load=True)``; every window is shut down at the end.
    """
    from ui.app import wait_until_idle
    from ui.main_window import MainWindow

    made = []

    def make(image: Path | str | None = None, settings_=None, *, load: bool = True):
        window = MainWindow(settings_ if settings_ is not None else settings, interactive=False)
        qtbot.addWidget(window)
        made.append(window)
        window.resize(*WINDOW_SIZE)
        window.show()
        qtbot.waitExposed(window)
        if load:
            window.open_path(image if image is not None else SAMPLES[DEFAULT_SAMPLE])
            assert wait_until_idle(window, IDLE_TIMEOUT_MS), "the first result never came"
            assert window.processed is not None, window.banner.text()
        return window

    yield make
    for window in made:
        window.close()
        window.shutdown()


@pytest.fixture
def window(request, make_window):
    """The main window showing the default sample (or ``request.param``, for indirect use)."""
    return make_window(getattr(request, "param", None))
