"""Reading every format needs neither Qt nor any deep-learning framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = ("torch", "tensorflow", "keras", "jax", "PySide6", "pyqtgraph", "shiboken6")

CHECK = """
import sys
from pathlib import Path
from core.models import list_conv_layers, read_conv_layer, read_network
for path in sorted(Path({fixtures!r}).iterdir()):
    if path.suffix in (".py", ".txt") or path.name.endswith(("output.npy", "input.npy")):
        continue
    try:
        for info in list_conv_layers(path):
            read_conv_layer(path, info.name)
        read_network(path)
    except ValueError:
        pass  # the whole pickled module is refused; it must not import torch either
print(",".join(sorted({{name.split(".")[0] for name in sys.modules}} & set({forbidden!r}))))
"""


def test_readers_import_no_framework():
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(fixtures=str(FIXTURES), forbidden=FORBIDDEN)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
