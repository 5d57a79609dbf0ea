"""Who may import whom: a module of mlcicd/ imports only from its own layer or the layers below.

The layers, bottom up (docs/ARCHITECTURE.md draws them): the base (errors, files, checks, hashing), the
steps of an ML pipeline, the engine that runs them (mlcicd.pipeline), the measurements of its cost
(mlcicd.measure), and the faces (the command line, the report, the course's tools, the lessons).
Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "mlcicd"
BASE, STEPS, ENGINE, MEASURE, FACES = range(5)
NAMES = {BASE: "base", STEPS: "steps", ENGINE: "engine", MEASURE: "measure", FACES: "faces"}


def layer(module: str) -> int:
    """The layer of a dotted module name under ``mlcicd``."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    if top in {"", "errors", "files", "checks", "hashing", "outcomes", "_moved"}:
        return BASE
    if top == "pipeline":
        return ENGINE
    if top == "measure":
        return MEASURE
    if top in {"cli", "report", "course", "lessons", "__main__"}:
        return FACES
    return STEPS


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every mlcicd module ``path`` imports, at any depth of the code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("mlcicd")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "mlcicd":  # from mlcicd import data: the submodules themselves
                found += [(node.lineno, f"mlcicd.{a.name}") for a in node.names]
            elif node.module.startswith("mlcicd."):
                found.append((node.lineno, node.module))
    return found


MODULES = sorted(p for p in LIBRARY.rglob("*.py") if "sample_app" not in p.parts)


def test_the_layers_are_assigned_as_documented():
    assert layer("mlcicd.errors") == BASE and layer("mlcicd.data") == STEPS
    assert layer("mlcicd.pipeline.loop") == ENGINE and layer("mlcicd.measure.scaling") == MEASURE
    assert layer("mlcicd.lessons.workflow") == FACES and layer("mlcicd.cli") == FACES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_a_module_imports_only_from_its_layer_or_below(path):
    own = layer(module_name(path))
    upward = [
        f"{path.relative_to(ROOT)}:{line}: {NAMES[own]} imports {name} ({NAMES[layer(name)]})"
        for line, name in imports(path)
        if layer(name) > own
    ]
    assert not upward, "\n".join(upward)
