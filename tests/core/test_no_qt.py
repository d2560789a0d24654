"""core/ is pure computation: importing any of it must not pull in Qt or pyqtgraph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# Every module of core/, sub-packages included: a new file is covered the day it appears.
CORE_MODULES = sorted(_module_name(path) for path in (ROOT / "core").rglob("*.py"))
FORBIDDEN = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2", "shiboken6")

CHECK = """
import importlib, sys
importlib.import_module({module!r})
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({forbidden!r}))
print(",".join(loaded))
"""


def test_core_modules_found():
    # Sub-packages too: the Qt-free halves of live mode, inputs and the kernel maths.
    assert {
        "core",
        "core.ops",
        "core.kernels",
        "core.pipeline",
        "core.inputs",
        "core.kernel_math",
        "core.live",
        "core.live.frames",
        "core.live.processor",
        "core.network",
        "core.network.run",
    } <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_qt(module):
    # A fresh interpreter per module: this test process may already have Qt loaded (tests/ui).
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module, forbidden=FORBIDDEN)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"{module} imports {done.stdout.strip()}"


def test_all_of_core_together_imports_without_qt():
    imports = "; ".join(f"import {module}" for module in CORE_MODULES)
    code = f"{imports}; import sys; print(sorted(set({FORBIDDEN!r}) & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
