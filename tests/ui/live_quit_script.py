"""Run by test_live.py in a subprocess: quit the app while live mode is recording.

    python live_quit_script.py OUT.avi SETTINGS.ini

Starts the real main window (offscreen) on the synthetic scene, records the convolution pane
to OUT.avi, and after a few frames closes the window, which must stop every thread and
finalize the file; the app then quits because its last window closed. Prints
``recorded N frames`` (from the recorder) so the test can compare it with the file.
Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

FRAMES_BEFORE_QUIT = 25


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from core.sources import SyntheticSource
    from ui.main_window import MainWindow

    out, ini = Path(sys.argv[1]), sys.argv[2]
    app = QApplication(sys.argv[:1])
    window = MainWindow(QSettings(ini, QSettings.Format.IniFormat), interactive=False)
    window.resize(1000, 700)
    window.show()
    if not window.live.start(SyntheticSource((320, 240), fps=120)):
        print(f"live mode did not start: {window.banner.text()}", file=sys.stderr)
        return 3
    if not window.live.start_recording(out, "conv"):
        print(f"recording did not start: {window.banner.text()}", file=sys.stderr)
        return 3
    recorder = window.live.recorder
    shown = 0

    def on_frame(_result) -> None:
        nonlocal shown
        shown += 1
        if shown == FRAMES_BEFORE_QUIT:
            window.close()  # closeEvent: stop live mode and the recording, join every thread

    window.live.frame_shown.connect(on_frame)
    app.exec()
    alive = [t.name for t in __import__("threading").enumerate() if t.name != "MainThread"]
    print(f"recorded {recorder.written} frames, dropped {recorder.dropped}, threads {alive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
