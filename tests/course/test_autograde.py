"""Parallel autograding: the same gradebook as serial nbgrader, an account of every submission,
the dask path, and student code that cannot take the grader or another student down."""

from __future__ import annotations

import copy
import csv
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from mlcicd.course import autograde as ag
from mlcicd.course import grading
from mlcicd.course.sandbox import limits, make_pids_group, remove_pids_group, scrubbed_env
from mlcicd.errors import InputError

pytestmark = [
    pytest.mark.nbgrader,
    pytest.mark.filterwarnings("ignore:Object of type <Submitted:sqlalchemy.exc.SAWarning"),
    pytest.mark.xdist_group("test_autograde"),
]

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "assignments"
GENERATED = (
    "release",
    "submitted",
    "autograded",
    "feedback",
    "downloaded",
    "gradebook.db",
    "exchange",
    "__pycache__",
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The environment nbgrader runs in: Jupyter folders in tmp, this venv's tools first."""
    home = tmp_path_factory.mktemp("grader-home")
    values = dict(os.environ)
    for var in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
        "MPLCONFIGDIR",
    ):
        (home / var).mkdir()
        values[var] = str(home / var)
    values["PATH"] = os.path.dirname(sys.executable) + os.pathsep + values["PATH"]
    values["PYTHONPATH"] = str(ROOT)
    saved = dict(os.environ)
    os.environ.update(values)
    yield values
    os.environ.clear()
    os.environ.update(saved)


def nbgrader(course: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )


def new_course(where: Path, env: dict, assignments=("quiz",), timeout: int = 10) -> Path:
    course = where / "assignments"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns(*GENERATED))
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {timeout}  # the tests' endless loops end sooner\n")
    for assignment in assignments:
        done = nbgrader(course, env, "generate_assignment", assignment)
        assert done.returncode == 0, done.stderr[-2000:]
    return course


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_answer(nb, grade_id, source):
    nb = copy.deepcopy(nb)
    cell_of(nb, grade_id).source = source
    return nb


def hand_in(course: Path, assignment: str, submissions: dict) -> None:
    for student, content in submissions.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        if isinstance(content, str):
            (folder / f"{assignment}.ipynb").write_text(content)
        elif content is not None:
            nbformat.write(content, str(folder / f"{assignment}.ipynb"))


def gradebook_dump(course: Path, assignment: str) -> dict:
    """Every grade and comment, per student, notebook and cell, as nbgrader stored them."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(assignment):
            for nb in sub.notebooks:
                key = (sub.student.id, nb.name)
                found[(*key, "late")] = nb.late_submission_penalty
                for g in nb.grades:
                    found[(*key, g.name)] = (
                        g.auto_score,
                        g.manual_score,
                        g.extra_credit,
                        g.needs_manual_grade,
                        g.max_score,
                    )
                for c in nb.comments:
                    found[(*key, "comment", c.name)] = (c.auto_comment, c.manual_comment)
    return found


# --- the quiz class: serial and parallel agree ------------------------------------------------


def quiz_class(course: Path) -> dict:
    source = nbformat.read(str(course / "source/quiz/quiz.ipynb"), as_version=4)
    blank = nbformat.read(str(course / "release/quiz/quiz.ipynb"), as_version=4)
    right = re.search(r'answer_1 = "([A-E])"', cell_of(source, "q1-answer").source).group(1)
    wrong_letter = "B" if right != "B" else "C"
    return {
        "full": source,
        "blank": blank,
        "partly_wrong": with_answer(source, "q1-answer", f'answer_1 = "{wrong_letter}"'),
        "endless_loop": with_answer(source, "q2-answer", "while True:\n    pass"),
        "kernel_exit": with_answer(source, "q3-answer", "import os\nos._exit(1)"),
        "no_notebook": None,
        "not_json": "{this is not a notebook",
    }


def test_parallel_gradebook_equals_serial_and_every_submission_is_accounted_for(
    tmp_path, env, capsys
):
    serial = new_course(tmp_path / "serial", env)
    parallel = new_course(tmp_path / "parallel", env)
    for course in (serial, parallel):
        hand_in(course, "quiz", quiz_class(course))
    nbgrader(serial, env, "autograde", "quiz")  # exits 1: one notebook is not JSON

    out = tmp_path / "account.csv"
    code = ag.main(
        ["quiz", "--course", str(parallel), "--jobs", "2", "--csv", str(out), "--no-progress"]
    )
    assert code == 1  # one submission could not be graded
    assert "not graded: not_json" in capsys.readouterr().err

    assert gradebook_dump(parallel, "quiz") == gradebook_dump(serial, "quiz")
    for student in ("full", "partly_wrong", "endless_loop", "kernel_exit", "blank"):
        names = sorted(p.name for p in (serial / "autograded" / student / "quiz").iterdir())
        assert (
            sorted(p.name for p in (parallel / "autograded" / student / "quiz").iterdir()) == names
        )

    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert {s: r["status"] for s, r in rows.items()} == {
        "blank": "graded",
        "endless_loop": "timed out in cell quiz/q2-answer",
        "full": "graded",
        "kernel_exit": "kernel died in cell quiz/q3-answer",
        "no_notebook": "notebook missing",
        "not_json": "could not be read",
        "partly_wrong": "graded",
    }
    auto_max = float(rows["full"]["max_score"])
    assert float(rows["full"]["score"]) == auto_max - 4  # the written answer waits for a human
    assert float(rows["blank"]["score"]) == 0
    assert float(rows["partly_wrong"]["score"]) == float(rows["full"]["score"]) - 2
    assert rows["not_json"]["score"] == ""
    assert all(r["seconds"] for r in rows.values())  # every submission has its seconds
    # where the seconds went: the phases add up to the submission's seconds
    phases = [f"seconds: {p}" for p in ag.PHASE_COLUMNS]
    for r in rows.values():
        assert abs(sum(float(r[p]) for p in phases) - float(r["seconds"])) < 0.01
    full = {p: float(rows["full"][f"seconds: {p}"]) for p in ag.PHASE_COLUMNS}
    assert full["kernel start"] > 0 and full["answers"] > 0 and full["tests"] > 0
    # the endless loop ran in an answer cell until the 10 s cell timeout stopped it
    assert float(rows["endless_loop"]["seconds: answers"]) >= 10
    for student in ("no_notebook", "not_json"):  # nothing was executed
        assert float(rows[student]["seconds: kernel start"]) == 0
        assert float(rows[student]["seconds: answers"]) == 0

    # nbgrader's own tools read the merged gradebook as they read a serial one
    export = tmp_path / "grades.csv"
    done = nbgrader(parallel, env, "export", "--to", str(export))
    assert done.returncode == 0, done.stderr[-1500:]
    scores = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(export.open())}
    assert scores["full"] == float(rows["full"]["score"])
    done = nbgrader(parallel, env, "generate_feedback", "quiz", "--student", "partly_wrong")
    assert done.returncode == 0, done.stderr[-1500:]
    assert list((parallel / "feedback" / "partly_wrong" / "quiz").glob("*.html"))


def test_one_student_and_bad_requests(tmp_path, env):
    course = new_course(tmp_path, env)
    source = nbformat.read(str(course / "source/quiz/quiz.ipynb"), as_version=4)
    hand_in(course, "quiz", {"ada": source, "bob": source})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = ag.autograde_class(course, "quiz", students=["bob"], jobs=1, progress=False)
    assert [o.student for o in report.outcomes] == ["bob"] and report.outcomes[0].graded
    # nbgrader's harmless SQLAlchemy warnings (three per submission) do not reach the terminal
    assert not [w for w in caught if "not in session" in str(w.message)]
    assert not (course / "autograded" / "ada").exists()
    with pytest.raises(InputError, match="no submission of quiz from carol"):
        ag.autograde_class(course, "quiz", students=["carol"], progress=False)
    with pytest.raises(InputError, match="assignment 'nope'"):
        ag.autograde_class(course, "nope", progress=False)
    with pytest.raises(InputError, match="--jobs"):
        ag.autograde_class(course, "quiz", jobs=0, progress=False)
    with pytest.raises(InputError, match=r"no nbgrader_config.py"):
        ag.autograde_class(tmp_path, "quiz", progress=False)
    assert ag.main(["quiz", "--course", str(tmp_path / "nowhere"), "--no-progress"]) == 2


def test_dask_local_cluster_grades_like_the_local_processes(tmp_path, env):
    distributed = pytest.importorskip("dask.distributed")
    course = new_course(tmp_path, env)
    source = nbformat.read(str(course / "source/quiz/quiz.ipynb"), as_version=4)
    hand_in(
        course, "quiz", {"ada": source, "bob": with_answer(source, "q5-answer", "answer_5 = 1")}
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        report = ag.autograde_class(course, "quiz", scheduler=client, progress=False)
    scores = {o.student: o.score for o in report.outcomes}
    assert all(o.status == "graded" for o in report.outcomes)
    assert scores["bob"] == scores["ada"] - 2
    assert {k[0] for k in gradebook_dump(course, "quiz")} == {"ada", "bob"}


# --- what a submission cannot do -----------------------------------------------------------------

HOSTILE_ANSWERS = {
    "memory_bomb": "blob = bytearray(64 * 2**30)\nx = 1",
    "fork_bomb": (
        "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(120)\n"
        "        os._exit(0)\nx = 1"
    ),
    "huge_output": "print('x' * 20_000_000)\nx = 1",
    "huge_file": "open('big.bin', 'wb').write(b'0' * 200 * 2**20)\nx = 1",
    "writes_gradebook": (
        "for up in ('../', '../../', '../../../'):\n"
        "    try:\n        open(up + 'gradebook.db', 'w').write('garbage')\n"
        "    except OSError:\n        pass\nx = 1"
    ),
    "reads_secret": "import os\nx = os.environ.get('MLCICD_TEST_SECRET', 1)",
    "endless_loop": "while True:\n    pass",
    "exits": "import os\nos._exit(3)",
}
# what each earns: item 1 (x == 1) lost where the cell fails, item 2 (y == 2) runs in a later
# cell and is lost only where the kernel died
EARNS = {
    "memory_bomb": (0, 1), "fork_bomb": (0, 1), "huge_output": (1, 1), "huge_file": (0, 1),
    "writes_gradebook": (1, 1), "reads_secret": (1, 1),
    "endless_loop": (0, 1), "exits": (0, 0), "clean_1": (1, 1), "clean_2": (1, 1),
}  # fmt: skip


def hostile_source() -> nbformat.NotebookNode:
    return grading.build_notebook(
        [
            grading.markdown("# Hostile"),
            grading.code("import os"),
            grading.answer("x-answer", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
            grading.tests("x-test", "assert x == 1", 1),
            grading.answer("y-answer", "### BEGIN SOLUTION\ny = 2\n### END SOLUTION"),
            grading.tests("y-test", "assert y == 2", 1),
        ]
    )


def test_hostile_submissions_earn_what_they_earn_and_harm_no_one(tmp_path, env, monkeypatch):
    if os.geteuid() == 0:
        group = make_pids_group("probe", 8)
        if group is None:
            pytest.skip("running as root without a writable pids cgroup: no fork-bomb limit here")
        remove_pids_group(group)
    monkeypatch.setenv("MLCICD_TEST_SECRET", "s3cret")
    course = tmp_path / "assignments"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns(*GENERATED))
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.Execute.timeout = 10\n")
    shutil.rmtree(course / "source")
    (course / "source" / "hostile").mkdir(parents=True)
    source = hostile_source()
    grading.write_notebook(source, course / "source" / "hostile" / "hostile.ipynb")
    done = nbgrader(course, dict(os.environ), "generate_assignment", "hostile")
    assert done.returncode == 0, done.stderr[-1500:]
    students = {
        name: with_answer(source, "x-answer", code) for name, code in HOSTILE_ANSWERS.items()
    }
    students.update(clean_1=source, clean_2=source)
    hand_in(course, "hostile", students)

    report = ag.autograde_class(course, "hostile", jobs=2, progress=False)

    dump = gradebook_dump(course, "hostile")
    earned = {
        student: (dump[(student, "hostile", "x-test")][0], dump[(student, "hostile", "y-test")][0])
        for student in students
    }
    assert earned == EARNS
    status = {o.student: o.status for o in report.outcomes}
    assert status["exits"] == "kernel died in cell hostile/x-answer"
    assert status["endless_loop"] == "timed out in cell hostile/x-answer"
    assert all(o.graded for o in report.outcomes)
    # the relative paths aimed at the course's gradebook hit nothing of the course
    for folder in (course, course / "autograded", course / "autograded" / "writes_gradebook"):
        assert not (folder / "gradebook.db").is_file() or folder == course


def test_sandbox_environment_is_scrubbed_and_limits_are_checked(tmp_path):
    env = scrubbed_env(
        {
            "PATH": "/usr/bin",
            "AWS_SECRET_ACCESS_KEY": "x",
            "GITHUB_TOKEN": "y",
            "HOME": "/root",
            "JPY_PARENT_PID": "1",
            "LANG": "C.UTF-8",
        },
        tmp_path,
    )
    assert "AWS_SECRET_ACCESS_KEY" not in env and "GITHUB_TOKEN" not in env
    assert env["HOME"] == str(tmp_path / "home") and env["LANG"] == "C.UTF-8"
    assert env["JPY_PARENT_PID"] == "1" and env["OPENBLAS_NUM_THREADS"] == "1"
    assert limits({"MLCICD_SANDBOX_MEMORY_MB": "512"})["MLCICD_SANDBOX_MEMORY_MB"] == 512
    with pytest.raises(InputError, match="MLCICD_SANDBOX_CPU_SECONDS='lots'"):
        limits({"MLCICD_SANDBOX_CPU_SECONDS": "lots"})
    with pytest.raises(InputError, match="must be positive"):
        limits({"MLCICD_SANDBOX_FILE_MB": "0"})
