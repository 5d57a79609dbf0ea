"""A synthetic class graded in parallel: seconds per submission, speed-up, a class of 300.

For each assignment, on a temporary copy of ``assignments/``: a class of N submissions (about 85%
full marks, 5% blank, 5% with one wrong answer, 5% hostile: a dying kernel, a memory bomb, a
deleted test cell) is graded by :func:`mlcicd.course.autograde.autograde_class` with ``jobs=1`` and with
``jobs=2``, each on its own copy with its own gradebook. Figures: the speed-up of two workers over
one (goal >= 1.7x on 2 cores), the seconds per submission, and the whole class of 300 in all four
assignments projected from the measured per-submission cost (goal <= 15 min), plus a projection
for 1,000 students on a dask cluster of k one-thread workers (per-submission cost / k, plus the
driver's merge, measured as the time not spent waiting on workers).
Every full-marks submission is checked for full marks, so a fast broken run cannot pass.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from benchmarks.bench_autograde import COURSE, GENERATED, _env, nbgrader
from benchmarks.common import figure

HOSTILE = {
    "kernel": "import os\nos._exit(1)",
    "memory": "blob = bytearray(64 * 2**30)",
}


def _answer_cells(nb) -> list:
    return [
        c
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]


def make_class(course: Path, assignment: str, n: int) -> list[str]:
    """Hand in ``n`` submissions; return the ids that must get full marks."""
    sources = {
        p.stem: nbformat.read(str(p), as_version=4)
        for p in sorted((course / "source" / assignment).glob("*.ipynb"))
    }
    releases = {
        p.stem: nbformat.read(str(p), as_version=4)
        for p in sorted((course / "release" / assignment).glob("*.ipynb"))
    }
    full = []
    for i in range(n):
        student = f"s{i:04d}"
        kind = i % 20
        notebooks = {k: copy.deepcopy(v) for k, v in sources.items()}
        first = next(iter(notebooks))
        if kind == 0:
            notebooks = {k: copy.deepcopy(v) for k, v in releases.items()}
        elif kind == 1:  # one wrong answer: the first answer cell does nothing
            _answer_cells(notebooks[first])[0].source = "pass"
        elif kind == 2:  # hostile, in turn: a dying kernel, a memory bomb, a deleted test cell
            style = (i // 20) % 3
            cells = notebooks[first].cells
            if style < 2:
                _answer_cells(notebooks[first])[-1].source = list(HOSTILE.values())[style]
            else:
                graded = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
                cells.remove(graded[0])
        else:
            full.append(student)
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return full


def check(report, full: list[str]) -> None:
    by_student = {o.student: o for o in report.outcomes}
    short = [s for s in full if by_student[s].score is None or by_student[s].status != "graded"]
    if short:
        raise RuntimeError(f"{report.assignment}: not graded in full: {short[:5]}")


def grade_class(base: Path, assignment: str, n: int, jobs: int) -> tuple[float, float]:
    """(seconds for the class, seconds the driver spent merging)."""
    from mlcicd.course import autograde as ag

    course = base / f"{assignment}-{jobs}" / "assignments"
    shutil.copytree(
        COURSE, course, ignore=shutil.ignore_patterns(*GENERATED, "gradebook.db", "__pycache__")
    )
    env = _env(base / "home")
    nbgrader(course, env, "generate_assignment", assignment)
    full = make_class(course, assignment, n)
    merged = 0.0
    original = ag.merge

    def timed_merge(*args):
        nonlocal merged
        t0 = time.perf_counter()
        original(*args)
        merged += time.perf_counter() - t0

    ag.merge = timed_merge
    try:
        start = time.perf_counter()
        report = ag.autograde_class(course, assignment, jobs=jobs, progress=False)
        seconds = time.perf_counter() - start
    finally:
        ag.merge = original
    check(report, full)
    return seconds, merged


def run(quick: bool) -> list:
    import os

    assignments = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())
    n = 20 if quick else int(os.environ.get("MLCICD_BENCH_CLASS", "40"))
    if quick:
        assignments = ["quiz"]
    figures = []
    per_sub_two = {}
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        base = Path(tmp)
        for assignment in assignments:
            one, _ = grade_class(base, assignment, n, 1)
            two, merge = grade_class(base, assignment, n, 2)
            per_sub_two[assignment] = two / n
            figures.append(
                figure(
                    f"parallel autograde speed-up, {assignment} (class of {n})",
                    one / two,
                    ">= 1.7",
                    unit="x",
                    detail=(
                        f"jobs=1 {one:.0f} s ({one / n:.2f} s/submission), jobs=2 {two:.0f} s "
                        f"({two / n:.2f} s/submission); merge {merge / n * 1000:.0f} ms/submission"
                    ),
                    numbers={"n": n, "jobs1": one, "jobs2": two, "merge": merge},
                )
            )
            cluster = {k: 1000 * (two * 2 / n) / k + merge / n * 1000 for k in (4, 16, 64)}
            figures[-1].numbers["projection_1000"] = cluster
        total_300 = sum(per * 300 for per in per_sub_two.values())
        figures.append(
            figure(
                "a class of 300, every assignment, jobs=2 (projected from the measured cost)",
                total_300 / 60,
                "<= 15",
                unit=" min",
                detail=", ".join(f"{a} {p:.2f} s/submission" for a, p in per_sub_two.items()),
                numbers={"per_submission": per_sub_two, "class_of_300_seconds": total_300},
            )
        )
    return figures
