"""Autograde seconds per submission, per assignment and for a class of 100.

On a temporary copy of ``assignments/`` (its own gradebook and Jupyter folders): every assignment
is generated, K submissions are made by copying the instructor's notebooks (full marks), and one
``nbgrader autograde <assignment>`` (a subprocess, as an instructor runs it) grades all K. The
figure is that run's seconds / K. The floor is the same run over K submissions of a trivial
assignment of one test cell: nbgrader's own start, its gradebook, and a kernel per submission.
Subject and floor runs are interleaved. Each autograded submission is checked for full marks on
its autograded cells, so a run that failed to grade does not pass for a fast one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import figure
from mlcicd.course.grading import build_notebook, tests, write_notebook

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "assignments"
GENERATED = ("release", "submitted", "autograded", "feedback", "downloaded", "exchange")
FLOOR = "floor"
_ENV_DIRS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")


def _env(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in (*_ENV_DIRS, "MPLCONFIGDIR"):
        folder = base / var.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[var] = str(folder)
    # nbgrader runs alembic from PATH when it creates the gradebook
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(course: Path, env: dict[str, str], *args: str) -> float:
    """Run ``nbgrader *args`` in ``course``; its wall-clock seconds (RuntimeError if it fails)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-15:])
        raise RuntimeError(f"nbgrader {' '.join(args)} exited {done.returncode}:\n{tail}")
    return seconds


def make_floor(course: Path) -> None:
    """A one-cell assignment: a single test cell worth one point."""
    folder = course / "source" / FLOOR
    folder.mkdir(parents=True)
    nb = build_notebook([tests("floor-test", "assert 1 + 1 == 2", 1)])
    write_notebook(nb, folder / f"{FLOOR}.ipynb")


def submit(course: Path, assignment: str, students: list[str]) -> None:
    """Hand in the instructor's notebooks (full marks) as each of ``students``."""
    notebooks = sorted((course / "source" / assignment).glob("*.ipynb"))
    for student in students:
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for nb in notebooks:
            shutil.copyfile(nb, folder / nb.name)


def check_full_marks(course: Path, assignment: str, students: list[str]) -> None:
    """Every autograded code cell of every submission got its full points."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            sub = gb.find_submission(assignment, student)
            for notebook in sub.notebooks:
                for grade in notebook.grades:
                    if grade.cell.cell_type == "code" and grade.auto_score != grade.max_score:
                        raise RuntimeError(
                            f"{assignment}/{student}/{notebook.name}: {grade.name} scored "
                            f"{grade.auto_score} of {grade.max_score}"
                        )


def autograde(course: Path, env: dict[str, str], assignment: str, k: int, tag: str) -> float:
    """Seconds of one autograde run over ``k`` fresh full-marks submissions."""
    students = [f"{tag}{i:03d}" for i in range(k)]
    submit(course, assignment, students)
    seconds = nbgrader(course, env, "autograde", assignment)
    check_full_marks(course, assignment, students)
    for student in students:  # the next run grades only its own submissions
        for stage in ("submitted", "autograded"):
            shutil.rmtree(course / stage / student)
    return seconds


def run(quick: bool) -> list:
    assignments = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())
    if quick:
        assignments = ["quiz"]
    k = 3 if quick else 5
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        base = Path(tmp)
        env = _env(base / "home")
        course = base / "assignments"
        shutil.copytree(
            COURSE,
            course,
            ignore=shutil.ignore_patterns(*GENERATED, "gradebook.db", "__pycache__"),
        )
        make_floor(course)
        for name in [*assignments, FLOOR]:
            nbgrader(course, env, "generate_assignment", name)

        def measure(assignment: str, n: int, tag: str) -> tuple[float, float]:
            subject = autograde(course, env, assignment, n, tag) / n
            floor = autograde(course, env, FLOOR, n, f"{tag}floor") / n
            return subject, floor

        for assignment in assignments:
            per_sub, floor = measure(assignment, k, f"{assignment}-k")
            figures.append(
                figure(
                    f"autograde {assignment} (K={k})",
                    per_sub,
                    "<= 3.0",
                    unit="s",
                    detail=(
                        f"{per_sub:.2f} s per submission vs floor (one-cell assignment) "
                        f"{floor:.2f} s: {per_sub / floor:.2f}x the floor"
                    ),
                    numbers={"k": k, "per_submission": per_sub, "floor": floor},
                )
            )
        if not quick:
            n = 100
            per_sub, floor = measure("quiz", n, "class")
            figures.append(
                figure(
                    f"autograde a class of {n} (quiz)",
                    per_sub,
                    "<= 3.0",
                    unit="s",
                    detail=(
                        f"{per_sub * n:.0f} s for the class, {per_sub:.2f} s per submission vs "
                        f"floor {floor:.2f} s: {per_sub / floor:.2f}x the floor"
                    ),
                    numbers={"k": n, "per_submission": per_sub, "floor": floor},
                )
            )
    return figures
