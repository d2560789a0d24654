"""Starting the application: screenshot mode, start-up errors, main() end to end, clean exit."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

import main
from ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def run_main(*args: str, tmp_path: Path, code: str | None = None) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` (or ``python -c CODE``) offscreen, with a throwaway config home
    and temporary folder (``tmp_path / "config"`` and ``tmp_path / "tmp"``)."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        TMPDIR=str(tmp_path / "tmp"),
    )
    command = [sys.executable, "-c", code] if code else [sys.executable, "main.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_screenshot_writes_a_1600x1000_png(tmp_path):
    shot = tmp_path / "shot.png"
    done = run_main("--screenshot", str(shot), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    image = QImage(str(shot))
    assert not image.isNull()
    assert (image.width(), image.height()) == (1600, 1000)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "config") == ["shot.png", "tmp"]
    assert not (tmp_path / "config").exists()  # the person's settings were not touched
    assert list((tmp_path / "tmp").iterdir()) == []  # nor any scratch file left


def test_screenshot_of_a_broken_image_fails_clearly(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    shot = tmp_path / "shot.png"
    done = run_main("--screenshot", str(shot), "--image", str(broken), tmp_path=tmp_path)
    assert done.returncode == 1, done.stderr  # a clean failure, not a crash at exit (139)
    assert "broken.png" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png", "tmp"]  # no shot
    assert list((tmp_path / "tmp").iterdir()) == []


def test_screenshot_into_a_missing_folder_fails_clearly(tmp_path):
    shot = tmp_path / "missing" / "shot.png"
    done = run_main("--screenshot", str(shot), tmp_path=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "could not write" in done.stderr and "Traceback" not in done.stderr
    assert not shot.parent.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_unknown_kernel_preset_exits_2(tmp_path):
    shot = tmp_path / "x.png"
    done = run_main("--kernel", "no-such-preset", "--screenshot", str(shot), tmp_path=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "no-such-preset" in done.stderr
    assert not shot.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--kernel", "missing-kernel.json", "--screenshot", "x.png"],
        ["--kernel", "{broken}", "--screenshot", "x.png"],
        ["--no-such-option"],
        ["--screenshot"],
    ],
)
def test_bad_start_up_arguments_exit_2_in_process(tmp_path, capsys, args):
    broken = tmp_path / "broken.json"
    broken.write_text('{"weights": "not a grid"}')
    args = [
        str(broken) if a == "{broken}" else str(tmp_path / a) if a.endswith(".png") else a
        for a in args
    ]
    assert main.main(args) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_main_end_to_end_with_the_event_loop_patched_out(qapp, monkeypatch, tmp_path):
    """main() builds the window, opens the image and returns exec's status (pymmcore-gui)."""
    ini = tmp_path / "settings.ini"

    class TmpSettings(QSettings):  # the app's default QSettings() would be the person's own
        def __init__(self, *args):
            if args:
                super().__init__(*args)
            else:
                super().__init__(str(ini), QSettings.Format.IniFormat)

    monkeypatch.setattr("PySide6.QtCore.QSettings", TmpSettings)
    seen: list[dict] = []

    def fake_exec(*_args) -> int:
        # What a person does: look at the window, then close it (exec returns after that).
        # (Closed windows of earlier tests may still await deletion: only shown ones count.)
        for window in QApplication.topLevelWidgets():
            if isinstance(window, MainWindow) and window.isVisible():
                seen.append(
                    {
                        "window": window,
                        "kernel": window.editor.kernel(),
                        "workers": (window.loader, window.worker),
                    }
                )
                window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    hook = sys.excepthook
    assert main.main(["--kernel", "sobel-x"]) == 0
    gc.collect()  # the deleted window's Python side (signal-closure cycles) goes now, not later
    assert len(seen) == 1  # exactly one window was shown
    assert seen[0]["kernel"].name == "sobel-x"
    assert not any(w._thread.is_alive() for w in seen[0]["workers"])
    assert not shiboken6.isValid(seen[0]["window"])  # destroyed before main() returned
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert sys.excepthook is hook
    saved = QSettings(str(ini), QSettings.Format.IniFormat)
    assert '"sobel-x"' in saved.value("kernel", "", type=str)  # closing saved the settings


def test_help_exits_0(capsys):
    assert main.main(["--help"]) == 0
    assert "--screenshot" in capsys.readouterr().out


APP_EXIT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import main

    app = QApplication(sys.argv[:1])

    def close_when_shown():
        for w in app.topLevelWidgets():
            if getattr(w, "processed", None) is not None or {at_once}:
                w.close()  # the last window: exec() returns and main() with it

    poll = QTimer()
    poll.timeout.connect(close_when_shown)
    poll.start(20)
    QTimer.singleShot(30_000, app.quit)
    sys.exit(main.main([]))
    """
)


@pytest.mark.parametrize("at_once", [False, True], ids=["after-result", "before-result"])
def test_app_exits_with_status_0_after_showing_the_window(tmp_path, at_once):
    """Guards against crashes at interpreter exit: PySide6 6.12's 'Fatal Python error:
    bool_dealloc', and a segfault when a window that never showed a result is left to PySide's
    own clean-up."""
    done = run_main(tmp_path=tmp_path, code=APP_EXIT.replace("{at_once}", str(at_once)))
    assert done.returncode == 0, done.stderr
    for bad in ("Fatal Python error", "Traceback", "QThread: Destroyed"):
        assert bad not in done.stderr
    # The window saved its settings where we sent them, not into the real config folder.
    assert list((tmp_path / "config").rglob("*.conf"))
