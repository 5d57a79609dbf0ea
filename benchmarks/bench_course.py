"""The whole course in CI mode against the floor of starting a kernel and importing its libraries.

For each lesson in ``notebooks/``, two runs, interleaved (lesson i, floor i, lesson i+1, ...):
the lesson executed with its CI parameters by :func:`mlcicd.course.run_notebook`, and a floor
notebook executed the same way: the lesson's ``parameters`` cell (same CI parameters) and one cell
with the lesson's top-level import statements plus ``import matplotlib.pyplot``. The floor is what
any notebook of the course pays before it computes anything (kernel start, papermill, imports);
the figure is total course seconds over total floor seconds.
"""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path

import nbformat

from benchmarks.common import figure
from mlcicd.course.run import lesson_notebooks, run_notebook

QUICK_LESSONS = ("01_", "02_")
_JUPYTER_DIRS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")


def import_lines(nb: nbformat.NotebookNode) -> list[str]:
    """The top-level ``import``/``from`` statements of the notebook's code cells, in order."""
    found: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                statement = ast.get_source_segment(source, node)
                if statement and statement not in found:
                    found.append(statement)
    return found


def floor_notebook(lesson: Path, folder: Path) -> Path:
    """A notebook with the lesson's parameters cell, metadata and imports, named like it."""
    nb = nbformat.read(str(lesson), as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if not params:
        raise ValueError(f"{lesson.name}: no cell tagged 'parameters'")
    imports = "\n".join([*import_lines(nb), "import matplotlib.pyplot"])
    floor = nbformat.v4.new_notebook(metadata=nb.metadata)
    floor.cells = [params[0], nbformat.v4.new_code_cell(imports)]
    path = folder / lesson.name
    nbformat.write(floor, str(path))
    return path


def _isolated_jupyter(base: Path) -> dict[str, str | None]:
    """Point the Jupyter/IPython folders at ``base``; returns the previous values."""
    saved = {}
    for var in (*_JUPYTER_DIRS, "MPLCONFIGDIR"):
        (base / var.lower()).mkdir()
        saved[var] = os.environ.get(var)
        os.environ[var] = str(base / var.lower())
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


def run(quick: bool) -> list:
    lessons = lesson_notebooks()
    if quick:
        lessons = [p for p in lessons if p.name.startswith(QUICK_LESSONS)]
    course_s: dict[str, float] = {}
    floor_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-course-") as tmp:
        base = Path(tmp)
        saved = _isolated_jupyter(base)
        try:
            floors = base / "floor-src"
            floors.mkdir()
            for lesson in lessons:
                done = run_notebook(lesson, base / "course", ci=True)
                if done.status != "ok":
                    raise RuntimeError(f"{lesson.name} failed: {done.error}")
                course_s[lesson.stem[:2]] = done.seconds
                bare = run_notebook(floor_notebook(lesson, floors), base / "floor", ci=True)
                if bare.status != "ok":
                    raise RuntimeError(f"floor of {lesson.name} failed: {bare.error}")
                floor_s[lesson.stem[:2]] = bare.seconds
        finally:
            _restore(saved)
    total, bare_total = sum(course_s.values()), sum(floor_s.values())
    per_lesson = ", ".join(f"{k} {course_s[k]:.1f}/{floor_s[k]:.1f}" for k in course_s)
    return [
        figure(
            f"course in CI mode ({len(lessons)} lessons) vs kernel start + imports",
            total / bare_total,
            "<= 2.0",
            detail=(
                f"course {total:.1f} s, floor {bare_total:.1f} s; "
                f"per lesson (course/floor s): {per_lesson}"
            ),
            numbers={"course_seconds": course_s, "floor_seconds": floor_s},
        )
    ]
