"""Autograde a whole class in parallel, on one machine or on a dask cluster.

``nbgrader autograde`` grades one submission after another. Here every submission is a task:

1. the driver packs what grading needs -- ``nbgrader_config.py``, the assignment's source folder
   and a copy of the course gradebook that ``generate_assignment`` wrote -- once, and each
   submission's files as a task;
2. a worker (a joblib/loky process, or a dask worker) unpacks the course into a private folder the
   first time it is handed one, and grades each of its tasks with nbgrader's own ``Autograde``
   converter (through ``NbGraderAPI.autograde``) against its private gradebook: a fresh kernel per
   submission, nbgrader's imports and configuration paid once per worker;
3. it returns the grades and comments that nbgrader wrote for that student, as plain data, and the
   autograded notebooks;
4. the driver, the only writer, puts each student's rows into the course gradebook with
   nbgrader's ``Gradebook`` API and the notebooks into ``autograded/``, as results arrive.

The course gradebook then holds what a serial ``nbgrader autograde`` writes (a test compares
them), so the formgrader, ``make feedback`` and ``make grades`` work on it unchanged. Every
submission gets a status: ``graded``, ``timed out in cell X``, ``kernel died in cell X``,
``notebook missing`` (graded, that notebook scores 0), ``could not be read`` or ``internal
error``. The last two are not graded, and the exit code is then 1, naming the students.

``python -m mlcicd.course.autograde quiz --jobs 2`` (``make autograde ASSIGNMENT=quiz JOBS=2``);
``--scheduler tcp://host:8786`` (or ``DASK_SCHEDULER``) grades on a dask cluster, whose workers
need this package installed and one thread each (``dask worker --nthreads 1``); the course
travels to them with the tasks, so no shared file system is needed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlcicd.checks import check_int
from mlcicd.errors import InputError

GRADED = "graded"
MISSING = "notebook missing"
UNREADABLE = "could not be read"
INTERNAL = "internal error"
NOT_GRADED = (UNREADABLE, INTERNAL)
# where a submission's seconds go: the phases of a notebook's execution, timed by
# mlcicd.course.grading.ResilientExecute (which imports them from here: this module stays light),
# and bookkeeping, the rest: nbgrader reading, sanitizing and saving the notebook, its gradebook
# writes, this worker's files
EXECUTION_PHASES = ("kernel start", "given code", "answers", "tests", "kernel stop")
PHASE_COLUMNS = (*EXECUTION_PHASES, "bookkeeping")


@dataclass(frozen=True)
class CourseBundle:
    """What a worker needs to grade: files by path relative to the course folder."""

    assignment: str
    files: dict[str, bytes]
    key: str
    work_root: str = ""  # where workers on the driver's machine unpack (removed at the end)


@dataclass(frozen=True)
class Job:
    student: str
    files: dict[str, bytes]  # relative to submitted/<student>/<assignment>/


@dataclass(frozen=True)
class Outcome:
    """One submission: its status, score and seconds, and what the driver must write."""

    student: str
    status: str
    score: float | None
    max_score: float | None
    seconds: float
    detail: str = ""
    rows: dict | None = field(default=None, repr=False)
    autograded: dict[str, bytes] = field(default_factory=dict, repr=False)
    # where the seconds went: PHASE_COLUMNS, and "bookkeeping" (the rest)
    phases: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def graded(self) -> bool:
        return self.status not in NOT_GRADED


# --- packing (driver) ------------------------------------------------------------------------


def _files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    }


def _gradebook_path(course: Path) -> Path:
    return course / "gradebook.db"


def pack_course(course: Path, assignment: str, work_root: str = "") -> CourseBundle:
    """The course's config, the assignment's sources and a consistent copy of the gradebook."""
    import sqlite3

    files = {"nbgrader_config.py": (course / "nbgrader_config.py").read_bytes()}
    for rel, data in _files_under(course / "source" / assignment).items():
        files[f"source/{assignment}/{rel}"] = data
    with tempfile.TemporaryDirectory() as tmp:  # sqlite's backup: a consistent snapshot
        copy = Path(tmp) / "gradebook.db"
        src = sqlite3.connect(_gradebook_path(course))
        dst = sqlite3.connect(copy)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        files["gradebook.db"] = copy.read_bytes()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return CourseBundle(assignment, files, digest.hexdigest()[:16], work_root)


def submissions(course: Path, assignment: str, students: Iterable[str] | None = None) -> list[str]:
    """The students who handed ``assignment`` in (``submitted/<student>/<assignment>/``)."""
    folder = course / "submitted"
    found = sorted(p.parent.name for p in folder.glob(f"*/{assignment}") if p.is_dir())
    if students is None:
        return found
    wanted = list(students)
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise InputError(
            f"--student: no submission of {assignment} from {', '.join(unknown)} in {folder}"
        )
    return wanted


def check_course(course: Path, assignment: str) -> None:
    """Refuse, in one line, a course folder that cannot be graded."""
    if not (course / "nbgrader_config.py").is_file():
        raise InputError(f"--course {course}: no nbgrader_config.py (not an nbgrader course)")
    if not (course / "source" / assignment).is_dir():
        known = sorted(p.name for p in (course / "source").glob("*") if p.is_dir())
        raise InputError(
            f"assignment {assignment!r}: not in {course / 'source'} "
            f"(known: {', '.join(known) or 'none'})"
        )
    if not _gradebook_path(course).is_file():
        raise InputError(f"{_gradebook_path(course)}: missing; run `make assign` first")
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{_gradebook_path(course)}") as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise InputError(
                f"assignment {assignment!r} is not in {_gradebook_path(course)}; "
                "run `make assign` first"
            ) from None


# --- grading (worker) ------------------------------------------------------------------------

_WORKERS: dict[tuple, tuple[Path, object]] = {}


def _worker_course(bundle: CourseBundle) -> tuple[Path, Any]:
    """This process's (and thread's) private copy of the course and its nbgrader API."""
    key = (bundle.key, os.getpid(), threading.get_ident())
    if key in _WORKERS:
        return _WORKERS[key]
    parent = bundle.work_root if bundle.work_root and os.path.isdir(bundle.work_root) else None
    root = Path(tempfile.mkdtemp(prefix="worker-", dir=parent)) / "course"
    for rel, data in bundle.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader logs to the "traitlets" logger; each result carries its own captured log
    logging.getLogger("traitlets").addHandler(logging.NullHandler())
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    _WORKERS[key] = (root, api)
    return root, api


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for rel, data in files.items():
        path = folder / rel
        if folder not in path.resolve().parents:
            continue  # a name that climbs out of the folder is not copied
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _cell_label(cell, index: int) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta.get("grade_id") or cell.get("id") or str(index)


def _execution_status(folder: Path) -> str:
    """``graded``, or where the kernel died or a cell timed out (first such cell)."""
    import nbformat

    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:
            return INTERNAL
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if out.get("output_type") != "error":
                    continue
                where = f"{path.stem}/{_cell_label(cell, index)}"
                if out.get("ename") == "DeadKernelError" and "died in this cell" in out.get(
                    "evalue", ""
                ):
                    return f"kernel died in cell {where}"
                if out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                    return f"timed out in cell {where}"
    return GRADED


def _rows(root: Path, assignment: str, student: str) -> dict | None:
    """What nbgrader wrote to the gradebook for this student's submission, as plain data."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{_gradebook_path(root)}") as gb:
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        return {
            "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
            "score": float(sub.score),
            "max_score": float(sub.max_score),
            "notebooks": {
                nb.name: {
                    "late_submission_penalty": nb.late_submission_penalty,
                    "flagged": bool(nb.flagged),
                    "grades": {
                        g.name: [
                            g.auto_score,
                            g.manual_score,
                            g.extra_credit,
                            bool(g.needs_manual_grade),
                        ]
                        for g in nb.grades
                    },
                    "comments": {c.name: [c.auto_comment, c.manual_comment] for c in nb.comments},
                }
                for nb in sub.notebooks
            },
        }


def grade_submission(bundle: CourseBundle, job: Job) -> Outcome:
    """Grade one submission in this worker's private course (see the module)."""
    start = time.perf_counter()
    try:
        outcome = _grade(bundle, job, start)
    except Exception as exc:
        outcome = Outcome(
            job.student,
            INTERNAL,
            None,
            None,
            time.perf_counter() - start,
            f"{type(exc).__name__}: {exc}",
        )
    return replace(outcome, phases=_phases(outcome.seconds))


def _phases(seconds: float) -> dict[str, float]:
    """Per phase, the seconds of the notebooks just executed here; the rest is bookkeeping."""
    from mlcicd.course.grading import take_execution_timings

    spent = dict.fromkeys(EXECUTION_PHASES, 0.0)
    for notebook in take_execution_timings():
        for phase, value in notebook.items():
            spent[phase] += value
    spent["bookkeeping"] = max(0.0, seconds - sum(spent.values()))
    return spent


def _grade(bundle: CourseBundle, job: Job, start: float) -> Outcome:
    from mlcicd.course.grading import take_execution_timings

    take_execution_timings()  # forget anything executed here before this submission
    root, api = _worker_course(bundle)
    a, s = bundle.assignment, job.student
    _write_tree(root / "submitted" / s / a, job.files)
    out = root / "autograded" / s / a
    if out.exists():
        shutil.rmtree(out)
    with warnings.catch_warnings():
        # nbgrader's gradebook code makes SQLAlchemy warn three times for every new submission
        # ("Object of type <Submitted...> not in session"; harmless, upstream): not over the bar
        warnings.filterwarnings("ignore", message=r"Object of type <Submitted")
        result = api.autograde(a, s, force=True, create=True)
    seconds = time.perf_counter() - start
    log = (result.get("log") or "") + (result.get("error") or "")
    # what nbgrader wrote even when it failed (a serial run leaves the same rows behind)
    rows = _rows(root, a, s)
    if not result.get("success"):
        detail = next((line for line in reversed(log.splitlines()) if line.strip()), "")
        if not any(name.endswith(".ipynb") for name in job.files):
            top = rows["max_score"] if rows else None
            return Outcome(s, MISSING, 0.0, top, seconds, "no notebook handed in", rows)
        unreadable = (
            "NotJSONError",
            "not valid JSON",
            "Unreadable",
            "ValidationError",
            "JSONDecodeError",
            "UnicodeDecodeError",
            "nbformat",
        )
        status = UNREADABLE if any(w in log for w in unreadable) else INTERNAL
        return Outcome(s, status, None, None, seconds, detail[:300], rows)
    status = _execution_status(out)
    if status == GRADED and "No submitted file" in log:
        status = MISSING
    if rows is None:
        return Outcome(s, INTERNAL, None, None, seconds, "graded, but not in the gradebook")
    files = _files_under(out) if out.exists() else {}
    return Outcome(s, status, rows["score"], rows["max_score"], seconds, "", rows, autograded=files)


# --- merging (driver, the only writer) -------------------------------------------------------


def merge(course: Path, assignment: str, outcome: Outcome) -> None:
    """Write one graded submission into the course gradebook and ``autograded/``."""
    import datetime

    from nbgrader.api import Gradebook

    rows = outcome.rows
    if rows is None:
        return
    if outcome.autograded:
        target = course / "autograded" / outcome.student / assignment
        staging = target.parent / f".{assignment}.incoming"
        _write_tree(staging, outcome.autograded)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{_gradebook_path(course)}") as gb:
        # nbgrader's own gradebook code warns when it creates a submission (harmless, upstream)
        warnings.simplefilter("ignore", category=Warning)
        gb.update_or_create_student(outcome.student)
        if rows["timestamp"]:
            stamp = datetime.datetime.fromisoformat(rows["timestamp"])
            gb.update_or_create_submission(assignment, outcome.student, timestamp=stamp)
        else:
            gb.update_or_create_submission(assignment, outcome.student)
        for name, nb_rows in rows["notebooks"].items():
            notebook = gb.find_submission_notebook(name, assignment, outcome.student)
            notebook.late_submission_penalty = nb_rows["late_submission_penalty"]
            notebook.flagged = nb_rows["flagged"]
            for grade in notebook.grades:
                if grade.name in nb_rows["grades"]:
                    auto, manual, extra, needs = nb_rows["grades"][grade.name]
                    grade.auto_score, grade.manual_score = auto, manual
                    grade.extra_credit, grade.needs_manual_grade = extra, needs
            for comment in notebook.comments:
                if comment.name in nb_rows["comments"]:
                    comment.auto_comment, comment.manual_comment = nb_rows["comments"][comment.name]
        gb.db.commit()


# --- running ---------------------------------------------------------------------------------


def _run_joblib(bundle: CourseBundle, jobs: list[Job], n_jobs: int) -> Iterator[Outcome]:
    from joblib import Parallel, delayed

    if n_jobs == 1:
        for job in jobs:
            yield grade_submission(bundle, job)
        return
    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(grade_submission)(bundle, job) for job in jobs)


def _run_dask(bundle: CourseBundle, jobs: list[Job], scheduler) -> Iterator[Outcome]:
    from dask.distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        [shared] = client.scatter([bundle], broadcast=True)
        futures = client.map(grade_submission, [shared] * len(jobs), jobs, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


@dataclass
class ClassReport:
    assignment: str
    outcomes: list[Outcome]
    seconds: float

    @property
    def failed(self) -> list[str]:
        return [o.student for o in self.outcomes if not o.graded]

    def table(self) -> str:
        rows = [("student", "status", "score", "max", "seconds")]
        for o in self.outcomes:
            score = "" if o.score is None else f"{o.score:g}"
            top = "" if o.max_score is None else f"{o.max_score:g}"
            rows.append((o.student, o.status, score, top, f"{o.seconds:.1f}"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
        )

    def where_time_went(self) -> dict[str, float]:
        """Mean seconds per submission in each phase (the CSV has them per submission)."""
        n = max(1, len(self.outcomes))
        return {p: sum(o.phases.get(p, 0.0) for o in self.outcomes) / n for p in PHASE_COLUMNS}

    def write_csv(self, path: Path) -> Path:
        from mlcicd.files import atomic_write_text

        buffer = __import__("io").StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        phases = list(PHASE_COLUMNS)
        writer.writerow(
            ["student", "status", "score", "max_score", "seconds", "detail"]
            + [f"seconds: {p}" for p in phases]
        )
        for o in self.outcomes:
            writer.writerow(
                [o.student, o.status, o.score, o.max_score, f"{o.seconds:.3f}", o.detail]
                + [f"{o.phases.get(p, 0.0):.3f}" for p in phases]
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, buffer.getvalue())
        return path


def autograde_class(
    course: str | os.PathLike,
    assignment: str,
    *,
    students: Iterable[str] | None = None,
    jobs: int | None = None,
    scheduler=None,
    progress: bool = True,
) -> ClassReport:
    """Grade every submission of ``assignment`` (or ``students``), ``jobs`` at a time.

    ``scheduler`` (an address or a ``dask.distributed.Client``) grades on dask instead of local
    processes. Results are written to the course as they arrive, so an interrupted run keeps
    what it graded.
    """
    course = Path(course).resolve()
    check_course(course, assignment)
    chosen = submissions(course, assignment, students)
    if not chosen:
        raise InputError(f"no submissions of {assignment} in {course / 'submitted'}")
    n_jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    check_int(n_jobs, "--jobs", low=1)
    start = time.perf_counter()
    work = tempfile.mkdtemp(prefix="mlcicd-autograde-")
    try:
        bundle = pack_course(course, assignment, work_root=work)
        tasks = [Job(s, _files_under(course / "submitted" / s / assignment)) for s in chosen]
        if scheduler is not None:
            results = _run_dask(bundle, tasks, scheduler)
        else:
            results = _run_joblib(bundle, tasks, min(n_jobs, len(tasks)))
        outcomes = _collect(course, assignment, results, len(tasks), progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    order = {s: i for i, s in enumerate(chosen)}
    outcomes.sort(key=lambda o: order[o.student])
    return ClassReport(assignment, outcomes, time.perf_counter() - start)


def _collect(course, assignment, results, total, progress) -> list[Outcome]:
    from tqdm.auto import tqdm

    outcomes: list[Outcome] = []
    bar = tqdm(total=total, desc=f"autograde {assignment}", unit="submission", disable=not progress)
    with bar:
        for outcome in results:
            merge(course, assignment, outcome)
            outcomes.append(outcome)
            failed = sum(not o.graded for o in outcomes)
            bar.set_postfix(
                graded=len(outcomes) - failed,
                left=total - len(outcomes),
                failed=failed,
                refresh=False,
            )
            bar.update()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlcicd.course.autograde",
        description="Autograde every collected submission of an assignment in parallel.",
        epilog="example: python -m mlcicd.course.autograde quiz --course assignments --jobs 2",
    )
    parser.add_argument("assignment", help="the assignment to grade, e.g. quiz")
    parser.add_argument(
        "--course", default="assignments", help="the nbgrader course folder (default: assignments)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="submissions graded at once (default: the number of cores)",
    )
    parser.add_argument(
        "--student",
        action="append",
        default=None,
        help="grade only this student (repeat for several)",
    )
    parser.add_argument(
        "--scheduler",
        default=os.environ.get("DASK_SCHEDULER"),
        help="a dask scheduler address: grade on that cluster "
        "(default: $DASK_SCHEDULER, else local processes)",
    )
    parser.add_argument(
        "--csv",
        default=None,
        help="the per-submission account (default: build/autograde-ASSIGNMENT.csv)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        report = autograde_class(
            args.course,
            args.assignment,
            students=args.student,
            jobs=args.jobs,
            scheduler=args.scheduler or None,
            progress=not args.no_progress,
        )
    except InputError as exc:
        print(f"autograde: {exc}", file=sys.stderr)
        return 2
    path = report.write_csv(Path(args.csv or f"build/autograde-{args.assignment}.csv"))
    print(report.table())
    graded = len(report.outcomes) - len(report.failed)
    print(
        f"{graded} of {len(report.outcomes)} submissions graded in {report.seconds:.1f} s; "
        f"account: {path}"
    )
    spent = report.where_time_went()
    print(
        "where a submission's seconds went (mean): "
        + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in spent.items())
    )
    if report.failed:
        print(f"autograde: not graded: {', '.join(report.failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
