"""The nbgrader course the assignment tests share: where it is, and how an instructor drives it.

``nbgrader`` runs a command in a course folder; ``submit``, ``source_of`` and ``auto_scores`` make
and read submissions. The fixtures that copy the course are in ``conftest.py``.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "assignments"
ASSIGNMENTS = sorted(
    p.name for p in (COURSE / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
)
GENERATED = ("release", "submitted", "autograded", "feedback", "downloaded", "gradebook.db")


def notebooks_of(assignment: str) -> list[str]:
    return sorted(p.stem for p in (COURSE / "source" / assignment).glob("*.ipynb"))


def read_nb(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def auto_items(nb) -> dict[str, float]:
    """Autograded items (test cells) and their points, in notebook order."""
    return {
        grade_id(c): float(c.metadata["nbgrader"]["points"])
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    }


def cell_index(nb, name: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == name)


def nbgrader(course: Path, *args: str) -> str:
    """Run ``nbgrader *args`` in the course folder, as an instructor would, and return its log.

    It runs in this process (as nbgrader's own tests do), which spares a few seconds of imports
    per command; the configuration is read from ``course/nbgrader_config.py`` all the same.
    """
    from jupyter_core.application import NoStart
    from nbgrader.apps import NbGraderApp

    log = io.StringIO()
    here = os.getcwd()
    os.chdir(course)
    app = NbGraderApp.instance()
    try:
        app.initialize(list(args))
        app.init_logging(logging.StreamHandler, [log], color=False, subapps=True)
        app.start()
        code = 0
    except NoStart:  # how a jupyter app says that its subcommand finished
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        app.reset()
        os.chdir(here)
    if code != 0:
        lines = log.getvalue().splitlines()
        errors = [line for line in lines if "ERROR" in line or "Error" in line][:20]
        report = "\n".join([*errors, "...", *lines[-10:]])
        pytest.fail(f"nbgrader {' '.join(args)} exited {code}:\n{report}")
    return log.getvalue()


def submit(course: Path, student: str, assignment: str, notebooks: dict) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, str(folder / f"{name}.ipynb"))


def auto_scores(course: Path, assignment: str, student: str) -> dict[str, dict[str, float]]:
    """``{notebook: {item: autograded score}}`` from the gradebook, for the autograded items."""
    from nbgrader.api import Gradebook

    items = full_marks(source_of(course, assignment))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        return {
            nb.name: {g.name: g.auto_score for g in nb.grades if g.name in items[nb.name]}
            for nb in submission.notebooks
        }


def source_of(course: Path, assignment: str) -> dict[str, nbformat.NotebookNode]:
    return {
        name: read_nb(course / "source" / assignment / f"{name}.ipynb")
        for name in notebooks_of(assignment)
    }


def full_marks(sources: dict) -> dict[str, dict[str, float]]:
    return {name: auto_items(nb) for name, nb in sources.items()}
