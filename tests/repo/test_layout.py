"""The tests are laid out like the code: every module of ``mlcicd/`` is imported by a test, and
every test file sits in the folder of a layer."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
# the layers of ARCHITECTURE.md, and the tests of what is built on them
FOLDERS = {"steps", "pipeline", "measure", "faces", "course", "lessons", "assignments", "repo"}
# not imported by name: package markers, `python -m` entry points, the old names' shim
# (tests/repo/test_module_names.py imports the old names through it)
SKIP = {"__init__", "__main__", "_moved"}
# the sample project the software CI pipeline checks out, lints and tests as files (in
# tests/measure/test_software_ci.py); it is data for that pipeline, never imported
SAMPLE_APP = "mlcicd.measure.sample_app"


def modules() -> set[str]:
    """Every module of mlcicd/, dotted (``mlcicd.pipeline.loop``)."""
    found = set()
    for path in (ROOT / "mlcicd").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if path.stem not in SKIP and not name.startswith(SAMPLE_APP):
            found.add(name)
    return found


def imported(path: Path) -> set[str]:
    """The mlcicd modules a file imports, at any depth: ``from mlcicd.lessons import x`` names
    ``mlcicd.lessons.x``, and a name a package re-exports names the module that defines it
    (``from mlcicd.pipeline import run_versions``: ``mlcicd.pipeline.loop``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "mlcicd":
                continue
            names.add(node.module)
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                names.add(getattr(value, "__module__", None) or f"{node.module}.{alias.name}")
    return {name for name in names if name.split(".")[0] == "mlcicd"}


def test_every_module_is_imported_by_a_test():
    seen = set().union(*(imported(p) for p in TESTS.rglob("*.py")))
    missing = sorted(modules() - seen)
    assert not missing, f"no test imports {missing}"


def test_every_test_file_sits_in_a_layer_folder():
    misplaced = [
        str(p.relative_to(TESTS))
        for p in TESTS.rglob("test_*.py")
        if p.parent == TESTS or p.relative_to(TESTS).parts[0] not in FOLDERS
    ]
    assert not misplaced, f"test files outside {sorted(FOLDERS)}: {misplaced}"


def test_the_checks_see_what_they_check():
    # the walk finds the modules and the imports it should (an empty set passes the tests above)
    assert {"mlcicd.data", "mlcicd.pipeline.loop", "mlcicd.lessons.workflow"} <= modules()
    assert not modules() & {"mlcicd", "mlcicd._moved", "mlcicd.course.__main__"}
    assert "mlcicd.lessons.workflow" in imported(TESTS / "lessons" / "test_08_workflow.py")
    assert "mlcicd.pipeline.loop" in imported(TESTS / "pipeline" / "test_pipeline.py")
    assert imported(Path(__file__)) == set()
