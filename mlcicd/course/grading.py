"""nbgrader notebooks as data: build them from a short spec, check them, and grade them safely.

The assignments under ``assignments/source/`` are generated with the cell builders below, so their
nbgrader metadata is always right (schema version 3, locked test cells, points on every graded
cell) and the JSON is never hand-edited. :func:`check_notebook` lists what is wrong with a source
notebook; :func:`marked_regions` pulls out the solution and hidden-test text a student version
must not contain.

Three nbgrader preprocessors used by ``assignments/nbgrader_config.py`` live here too:

* :class:`RestoreDeletedCells` -- autograde puts back the test cells a student deleted, after the
  nearest cell that is still there (nbgrader's own version fails when that is also deleted);
* :class:`ResilientExecute` -- autograde keeps going when a submission kills its kernel: the
  cell that killed it and every later code cell get an error, so their tests score zero;
* :class:`FeedbackHiddenTests` -- the feedback HTML shows no hidden test code, not even quoted
  in a traceback, while a failed hidden test still shows its error and its lost points.

>>> nb = build_notebook([markdown("# Quiz"), answer("q1", 'x = 1'), tests("q1-test", "assert x", 1)])
>>> check_notebook(nb)
['answer cell q1: no ### BEGIN SOLUTION / ### END SOLUTION region']
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Iterable

import nbformat
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import ClearHiddenTests, Execute, OverwriteCells

from mlcicd.course.autograde import EXECUTION_PHASES as PHASES
from mlcicd.course.hidden import count_calls  # noqa: F401 -- hidden tests written before it moved
from mlcicd.errors import InputError
from mlcicd.files import atomic_write_text

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


# --- building -------------------------------------------------------------------------------


def _text(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0) -> dict:
    if not grade_id or not all(ch.isalnum() or ch in "-_" for ch in grade_id):
        raise InputError(f"grade_id {grade_id!r}: use letters, digits, '-' and '_' only")
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        if not points > 0:
            raise InputError(f"points of {grade_id}: must be > 0, got {points}")
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(text: str) -> NotebookNode:
    """A plain markdown cell (text the learner reads)."""
    return nbformat.v4.new_markdown_cell(_text(text))


def code(source: str) -> NotebookNode:
    """A plain code cell the learner runs (imports, given data)."""
    return nbformat.v4.new_code_cell(_text(source))


def answer(grade_id: str, source: str) -> NotebookNode:
    """An autograded answer cell: the ``### BEGIN/END SOLUTION`` region becomes a stub."""
    meta = _meta(grade_id, grade=False, solution=True, locked=False)
    return nbformat.v4.new_code_cell(_text(source), id=grade_id, metadata=meta)


def tests(grade_id: str, source: str, points: float) -> NotebookNode:
    """A locked test cell worth ``points``; it may hold a ``### BEGIN/END HIDDEN TESTS`` region."""
    meta = _meta(grade_id, grade=True, solution=False, locked=True, points=points)
    return nbformat.v4.new_code_cell(_text(source), id=grade_id, metadata=meta)


def written(grade_id: str, text: str, points: float) -> NotebookNode:
    """A written answer graded by hand; ``text`` is the model answer students never see."""
    meta = _meta(grade_id, grade=True, solution=True, locked=False, points=points)
    return nbformat.v4.new_markdown_cell(_text(text), id=grade_id, metadata=meta)


def build_notebook(cells: Iterable[NotebookNode]) -> NotebookNode:
    """A python3 notebook of ``cells``, without outputs; ungraded cells get ids ``cell-NN``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
    }
    nb.cells = [NotebookNode(cell) for cell in cells]
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            cell.id = f"cell-{index:02d}"
    return nb


def write_notebook(nb: NotebookNode, path: str | os.PathLike) -> None:
    """Write ``nb`` to ``path`` atomically after checking it (``InputError`` listing problems)."""
    problems = check_notebook(nb)
    if problems:
        raise InputError(f"notebook {path}: " + "; ".join(problems))
    atomic_write_text(path, nbformat.writes(nb) + "\n")


# --- checking -------------------------------------------------------------------------------


def marked_regions(source: str, begin: str, end: str) -> list[str]:
    """The texts between ``begin`` and ``end`` marker lines (markers excluded).

    >>> marked_regions("a\\n### BEGIN SOLUTION\\nx = 1\\n### END SOLUTION", BEGIN_SOLUTION, END_SOLUTION)
    ['x = 1']
    """
    regions: list[str] = []
    current: list[str] | None = None
    for line in source.split("\n"):
        if begin in line:
            if current is not None:
                raise InputError(f"nested {begin!r} region")
            current = []
        elif end in line:
            if current is None:
                raise InputError(f"{end!r} without {begin!r}")
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        raise InputError(f"{begin!r} without {end!r}")
    return regions


def solution_texts(cell: NotebookNode) -> list[str]:
    """What a student version must not show of this cell: its solution regions (a written
    answer without markers is all solution)."""
    meta = cell.metadata.get("nbgrader", {})
    if not meta.get("solution"):
        return []
    found = marked_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION)
    if not found and cell.cell_type == "markdown":
        found = [cell.source]
    return found


def _load(nb: NotebookNode | str | os.PathLike) -> NotebookNode:
    if isinstance(nb, NotebookNode):
        return nb
    try:
        return nbformat.read(os.fspath(nb), as_version=4)
    except (OSError, ValueError) as exc:
        raise InputError(f"notebook {nb}: cannot be read ({exc})") from None


def _cell_problems(cell: NotebookNode) -> list[str]:
    meta = cell.metadata.get("nbgrader")
    if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
        return [f"code cell {cell.get('id')}: has outputs or an execution count"]
    if meta is None:
        if BEGIN_HIDDEN in cell.source or BEGIN_SOLUTION in cell.source:
            return [f"cell {cell.get('id')}: marker region outside an nbgrader cell"]
        return []
    name = meta.get("grade_id", "?")
    problems = []
    if meta.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"cell {name}: schema_version is not {SCHEMA_VERSION}")
    try:
        hidden = marked_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        solutions = marked_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION)
    except InputError as exc:
        return [*problems, f"cell {name}: {exc}"]
    is_test = meta.get("grade") and not meta.get("solution")
    answer = cell.cell_type == "code" and meta.get("solution") and not meta.get("grade")
    if answer and not solutions:
        problems.append(f"answer cell {name}: no {BEGIN_SOLUTION} / {END_SOLUTION} region")
    if is_test and not meta.get("locked"):
        problems.append(f"test cell {name}: not locked")
    if meta.get("grade") and not float(meta.get("points") or 0) > 0:
        problems.append(f"graded cell {name}: no points")
    if hidden and not is_test:
        problems.append(f"cell {name}: hidden tests outside a test cell")
    return problems


def check_notebook(nb: NotebookNode | str | os.PathLike) -> list[str]:
    """Problems of an nbgrader source notebook (a notebook object or a path); ``[]`` when fine."""
    nb = _load(nb)
    problems = []
    try:
        nbformat.validate(nb)
        MetadataValidator().validate_nb(nb)
    except Exception as exc:  # nbformat's and nbgrader's errors (duplicate grade ids, ...)
        problems.append(f"invalid notebook: {str(exc).splitlines()[0]}")
    if nb.metadata.get("kernelspec", {}).get("name") != KERNELSPEC["name"]:
        problems.append(f"kernelspec is not {KERNELSPEC['name']}")
    if not any(c.metadata.get("nbgrader", {}).get("grade") for c in nb.cells):
        problems.append("no graded cell")
    for cell in nb.cells:
        problems += _cell_problems(cell)
    return problems


def graded_items(nb: NotebookNode | str | os.PathLike) -> dict[str, float]:
    """``{grade_id: points}`` of the graded cells, in notebook order."""
    nb = _load(nb)
    return {
        c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }


# --- nbgrader preprocessors -------------------------------------------------------------------


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


#: Where the seconds of each notebook executed in this process went (see ResilientExecute),
#: oldest first; :func:`take_execution_timings` hands them over and forgets them.
_TIMINGS: list[dict[str, float]] = []


def take_execution_timings() -> list[dict[str, float]]:
    """The timings of the notebooks executed here since the last call, one dict per notebook."""
    taken = list(_TIMINGS)
    _TIMINGS.clear()
    return taken


def _phase(cell: NotebookNode) -> str:
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return "tests"
    return "answers" if meta.get("solution") else "given code"


class ResilientExecute(Execute):
    """nbgrader's Execute, but a dead kernel fails the rest of the notebook instead of the run.

    Like "restart and run all" in Jupyter: the cell that killed the kernel and every code cell
    after it get an error output, so their tests earn nothing while earlier ones keep their
    points, and autograde goes on with the next student.

    It also times the notebook (wall-clock seconds): starting the kernel, the instructor's given
    cells, the student's answer cells, the test cells and stopping the kernel, kept for
    :func:`take_execution_timings`.
    """

    def preprocess(self, nb, resources=None, km=None):
        self._died_in: int | None = None
        self._clock = {"started": time.perf_counter(), "cells_done": 0.0}
        self._seconds = dict.fromkeys(PHASES, 0.0)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            now = time.perf_counter()
            if self._clock["cells_done"]:
                self._seconds["kernel stop"] = now - self._clock["cells_done"]
            else:  # the kernel never ran a cell: all of it was starting (or failing to)
                self._seconds["kernel start"] = now - self._clock["started"]
            _TIMINGS.append(dict(self._seconds))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        start = time.perf_counter()
        if not self._clock["cells_done"]:
            self._seconds["kernel start"] = start - self._clock["started"]
        try:
            return self._run_cell(cell, resources, index)
        finally:
            self._clock["cells_done"] = time.perf_counter()
            self._seconds[_phase(cell)] += self._clock["cells_done"] - start

    def _run_cell(self, cell, resources, index):
        if self._died_in is not None:
            cell.outputs = [
                _error_output(
                    "DeadKernelError", f"not run: the kernel died in cell {self._died_in}"
                )
            ]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.log.warning("The kernel died in cell %d; later cells are not run", index)
            self._died_in = index
            cell.outputs.append(_error_output("DeadKernelError", "the kernel died in this cell"))
            return cell, self.resources


class FeedbackHiddenTests(ClearHiddenTests):
    """For feedback: remove hidden test code, and shorten the errors of those cells to
    ``name: message`` so no traceback quotes it; the score of the cell is kept."""

    def preprocess_cell(self, cell, resources, cell_index):
        if self._remove_hidden_test_region(cell) and cell.cell_type == "code":
            cell.outputs = [
                _error_output(out.ename, out.evalue)
                for out in cell.get("outputs", [])
                if out.output_type == "error"
            ]
        return cell, resources


class RestoreDeletedCells(OverwriteCells):
    """nbgrader's OverwriteCells, putting deleted graded cells back after the nearest earlier
    cell of the source that the submission still has (or first, when there is none)."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source_nb.source_cells]  # notebook order, as nbgrader's
        solutions = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
            if grade_cell.name in present:
                continue
            self.log.warning("Graded cell %s was deleted; putting it back", grade_cell.name)
            source_cell = next(c for c in source_nb.source_cells if c.name == grade_cell.name)
            cell = self.missing_cell_transform(
                source_cell, grade_cell.max_score, is_solution=grade_cell.name in solutions
            )
            cell.id = f"restored-{grade_cell.name}"[:64]
            earlier = order[: order.index(grade_cell.name)]
            anchors = [i for i, name in enumerate(present) if name in earlier]
            nb.cells.insert(anchors[-1] + 1 if anchors else 0, cell)
        return nb, resources
