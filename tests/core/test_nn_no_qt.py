"""core.nn is pure computation too: none of its modules pulls in Qt (test_no_qt.py checks
only the top level of core/)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.core.test_no_qt import CHECK, FORBIDDEN, ROOT

NN_MODULES = sorted(
    "core.nn" if path.stem == "__init__" else f"core.nn.{path.stem}"
    for path in (ROOT / "core" / "nn").glob("*.py")
)


def test_nn_modules_found():
    assert {"core.nn", "core.nn.ops", "core.nn.training", "core.nn.why"} <= set(NN_MODULES)


@pytest.mark.parametrize("module", NN_MODULES)
def test_nn_module_imports_without_qt(module):
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module, forbidden=FORBIDDEN)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"{module} imports {done.stdout.strip()}"
