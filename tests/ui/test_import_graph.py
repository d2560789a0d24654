"""No two ui modules import each other in a circle (GUIDE: "the shape of the program").

The graph is read from the source with ``ast`` (nothing is imported): every ``import ui.x`` and
``from ui.x import y`` counts, also inside functions (a local import is still a dependency at
run time); imports under ``if TYPE_CHECKING:`` are excluded on purpose, since they exist only
for annotations.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Module names ``tree`` imports at run time (TYPE_CHECKING blocks skipped)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            # "from ui import panes" imports the module ui.panes
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """``module -> modules of the same package it imports``, for every .py under it."""
    files = {_module_name(p, package_dir): p for p in package_dir.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        imported = _imported(tree, module, path.name == "__init__.py")
        graph[module] = {name for name in imported if name in files and name != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None if the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_ui_modules_import_each_other_in_no_circle():
    graph = import_graph(ROOT / "ui")
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle among ui modules: " + " -> ".join(cycle)


def test_the_graph_sees_runtime_imports_and_skips_type_checking_ones():
    graph = import_graph(ROOT / "ui")
    # Real dependencies are found (else the acyclic verdict above would be empty praise) ...
    assert {"ui.workbench", "ui.live", "ui.menus", "ui.pane_group"} <= graph["ui.main_window"]
    assert "ui.workbench" in graph["ui.live.controller"]
    assert "ui.pg_internals" in graph["ui.panes"]
    # ... and the menus' annotation-only import of the window is not one of them.
    assert "ui.main_window" not in graph["ui.menus"]
    # Neither the live controller nor its toolbar depends on the window.
    for module in ("ui.live.controller", "ui.live.toolbar", "ui.live.histograms"):
        assert "ui.main_window" not in graph[module]


def test_the_detector_finds_a_circle_through_a_local_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.c import other\n"
        "def f():\n    from pkg import a\n"
    )
    (pkg / "c.py").write_text("from . import b\n")
    graph = import_graph(pkg)
    # "from pkg import a" runs pkg/__init__ and pkg.a; the TYPE_CHECKING import of c is skipped.
    assert graph["pkg.b"] == {"pkg", "pkg.a"}
    assert graph["pkg.c"] == {"pkg", "pkg.b"}  # a relative import is resolved
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]
    (pkg / "b.py").write_text("def f():\n    return 1\n")
    assert find_cycle(import_graph(pkg)) is None
