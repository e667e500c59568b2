"""The code's layering: no import circle between the project's modules, and transforms never import pipeline."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from .conftest import ROOT

PACKAGES = ("pipeline", "transforms")


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
    }


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every project module `path` imports, at the top, in a function or under TYPE_CHECKING alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(name for name in names if name in known)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    # A package's __init__ re-exports its modules: importing it is not a dependency of those modules.
    return {name: _imports(path, known) - {name} for name, path in modules.items()}


def test_the_imports_form_no_circle():
    graph = {name: {dep for dep in deps if not name.startswith(dep + ".")} for name, deps in _graph().items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise AssertionError(f"import circle: {' -> '.join(error.args[1])}") from None


def test_nothing_under_transforms_imports_pipeline():
    offending = {
        name: sorted(dep for dep in deps if dep.split(".")[0] == "pipeline")
        for name, deps in _graph().items()
        if name.split(".")[0] == "transforms"
    }
    assert {name: deps for name, deps in offending.items() if deps} == {}
