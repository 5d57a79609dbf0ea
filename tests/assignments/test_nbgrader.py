"""The nbgrader round trip, on a temporary copy of ``assignments/`` with its own gradebook.

Every assignment under ``assignments/source/`` is covered: source notebooks pass their tests and
run under papermill, student versions fail theirs and hide solutions and hidden tests, the
source graded as a submission gets full marks and the student version zero, every autograded
item loses its points (and only those) to a plausible wrong answer listed in ``WRONG_ANSWERS``,
hostile submissions are graded to exactly what they earned, and the feedback shows no hidden
test. The nbgrader commands run as an instructor runs them (``nbgrader ...`` in the
course folder), each autograde run grading several students at once.
"""

from __future__ import annotations

import copy
import csv
import html
import importlib.util
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import (
    ASSIGNMENTS,
    COURSE,
    ROOT,
    auto_items,
    auto_scores,
    cell_index,
    full_marks,
    grade_id,
    nbgrader,
    notebooks_of,
    read_nb,
    source_of,
    submit,
)

from mlcicd.course import grading
from mlcicd.course.grading import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    answer,
    build_notebook,
    check_notebook,
    code,
    graded_items,
    markdown,
    marked_regions,
    solution_texts,
    write_notebook,
    written,
)
from mlcicd.errors import InputError

pytestmark = [
    pytest.mark.nbgrader,
    # nbgrader's own gradebook code, when it creates a submission (harmless, known upstream)
    pytest.mark.filterwarnings("ignore:Object of type <Submitted:sqlalchemy.exc.SAWarning"),
]

SPECS = sorted((COURSE / "specs").glob("*.py"))


@dataclass(frozen=True)
class WrongAnswer:
    """In ``notebook``, answer cell ``cell`` with ``old`` replaced by ``new`` fails ``loses``."""

    notebook: str
    cell: str
    old: str
    new: str
    loses: tuple[str, ...]


# One plausible wrong answer per autograded item at least; a new assignment adds its own here
# (test_every_autograded_item_has_a_wrong_answer fails until it does).
WRONG_ANSWERS: dict[str, list[WrongAnswer]] = {
    "quiz": [
        WrongAnswer("quiz", "q1-answer", 'answer_1 = "A"', 'answer_1 = "C"', ("q1-test",)),
        WrongAnswer("quiz", "q2-answer", 'answer_2 = "D"', 'answer_2 = "A"', ("q2-test",)),
        WrongAnswer("quiz", "q3-answer", 'answer_3 = "C"', 'answer_3 = "A"', ("q3-test",)),
        WrongAnswer("quiz", "q4-answer", 'answer_4 = "A"', 'answer_4 = "C"', ("q4-test",)),
        WrongAnswer("quiz", "q5-answer", 'answer_5 = "B"', 'answer_5 = "A"', ("q5-test",)),
    ],
    "pipeline_cost": [
        # off by one: the loop skips the first version
        WrongAnswer(
            "pipeline_cost",
            "loop-answer",
            "range(n_versions)",
            "range(1, n_versions)",
            ("loop-test",),
        ),
        # wrong formula: operations counts the trainings only
        WrongAnswer(
            "pipeline_cost",
            "measure-answer",
            'counts["trainings"] + counts["validations"]',
            'counts["trainings"]',
            ("measure-test",),
        ),
        # x and y the wrong way round for the seconds
        WrongAnswer(
            "pipeline_cost",
            "exponents-answer",
            'fit_exponent(table["n"], table["seconds"])',
            'fit_exponent(table["seconds"], table["n"])',
            ("exponents-test",),
        ),
        # forgets to add up: rows_validated keeps only the last validation's rows
        WrongAnswer(
            "pipeline_cost",
            "validated-answer",
            'counts["rows_validated"] += report.n_rows',
            'counts["rows_validated"] = report.n_rows',
            ("validated-test",),
        ),
        # the fitted slope taken as the prediction's exponent, but the intercept left out
        WrongAnswer(
            "pipeline_cost",
            "extrapolate-answer",
            "np.exp(fit.intercept) * n**fit.slope",
            "n**fit.slope",
            ("extrapolate-test",),
        ),
        # the verdict from the ML exponent alone (a flat ML pipeline would be "as fast")
        WrongAnswer(
            "pipeline_cost",
            "misconception-answer",
            '"as_fast": k_ml <= k_sw + 0.1',
            '"as_fast": k_ml <= 0.1',
            ("misconception-test",),
        ),
    ],
    "validation_and_gate": [
        # lists every anomaly instead of the distinct kinds
        WrongAnswer(
            "validation_and_gate",
            "problems-answer",
            "sorted({anomaly.kind for anomaly in report.anomalies})",
            "[anomaly.kind for anomaly in report.anomalies]",
            ("problems-test",),
        ),
        # off by one at the edge: a value equal to max counted as out of range
        WrongAnswer(
            "validation_and_gate",
            "range-answer",
            "values > column.max",
            "values >= column.max",
            ("range-test",),
        ),
        # a tie with the baseline counted as beating it
        WrongAnswer(
            "validation_and_gate",
            "gate-answer",
            'return accuracy > baseline_metrics["accuracy"]',
            'return accuracy >= baseline_metrics["accuracy"]',
            ("gate-edges-test",),
        ),
        # the regression check the wrong way round: rejects better models, keeps worse ones
        WrongAnswer(
            "validation_and_gate",
            "gate-answer",
            'production_metrics["accuracy"] - accuracy > tolerance',
            'accuracy - production_metrics["accuracy"] > tolerance',
            ("gate-rules-test", "gate-edges-test"),
        ),
    ],
    "drift_and_retraining": [
        # off by one: weeks numbered from 1
        WrongAnswer(
            "drift_and_retraining",
            "drift-answer",
            "enumerate(weeks)",
            "enumerate(weeks, start=1)",
            ("drift-test",),
        ),
        # wrong formula: the log ratio upside down
        WrongAnswer(
            "drift_and_retraining",
            "psi-answer",
            "np.log(c / r)",
            "np.log(r / c)",
            ("psi-test",),
        ),
        # a drop of exactly the limit already retrains
        WrongAnswer(
            "drift_and_retraining",
            "policy-answer",
            "accuracy > max_accuracy_drop",
            "accuracy >= max_accuracy_drop",
            ("policy-test",),
        ),
        # retrains on the week's rows before scoring them: the model is scored on its training data
        WrongAnswer(
            "drift_and_retraining",
            "serve-answer",
            'scores.append(evaluate_model(serving, batch, TARGET)["accuracy"])\n'
            "        if week in retrain_after:\n"
            "            serving = train_model(batch, TARGET, seed=0).model",
            "if week in retrain_after:\n"
            "            serving = train_model(batch, TARGET, seed=0).model\n"
            '        scores.append(evaluate_model(serving, batch, TARGET)["accuracy"])',
            ("serve-test",),
        ),
    ],
    "safe_release": [
        # an accuracy test instead of a behavioural one: the planted regression passes it
        WrongAnswer(
            "safe_release",
            "behaviour-answer",
            "    predicted = model.predict(largest.drop(columns=TARGET))\n"
            "    return bool((predicted == 0).all())",
            "    predicted = model.predict(holdout.drop(columns=TARGET))\n"
            "    return bool((predicted == holdout[TARGET]).mean() >= 0.9)",
            ("behaviour-test",),
        ),
        # exactly the tolerance below production already blocks
        WrongAnswer(
            "safe_release",
            "slices-answer",
            "production_acc[name] - accuracy > tolerance",
            "production_acc[name] - accuracy >= tolerance",
            ("slices-test",),
        ),
        # no decision at exactly min_canary canary requests
        WrongAnswer(
            "safe_release",
            "rule-answer",
            "if n_canary < min_canary:",
            "if n_canary <= min_canary:",
            ("rule-test",),
        ),
        # off by one: the deciding request is not counted
        WrongAnswer(
            "safe_release",
            "canary-answer",
            'return decision, i + 1, counts["n_canary"]',
            'return decision, i, counts["n_canary"]',
            ("canary-test",),
        ),
    ],
}
# Per-cell timeout while grading an endless loop: above the slowest correct cell of the assignment.
LOOP_TIMEOUT = {
    "quiz": 5,
    "pipeline_cost": 45,  # 18 trainings in one cell; on a loaded 2-core machine 15 s is too short
    "validation_and_gate": 15,
    "drift_and_retraining": 15,
    "safe_release": 15,
}


# --- helpers --------------------------------------------------------------------------------


def with_source(nb, name: str, source: str):
    nb = copy.deepcopy(nb)
    nb.cells[cell_index(nb, name)].source = source
    return nb


def with_wrong_answer(nb, case: WrongAnswer):
    cell = nb.cells[cell_index(nb, case.cell)]
    assert case.old in cell.source, f"{case}: {case.old!r} is not in cell {case.cell}"
    return with_source(nb, case.cell, cell.source.replace(case.old, case.new))


def secret_lines(nb) -> set[str]:
    """Lines of solution and hidden-test regions that appear nowhere else in the notebook."""
    secret, visible = set(), set()
    for cell in nb.cells:
        hidden = marked_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        regions = solution_texts(cell) + hidden
        secret |= {line.strip() for region in regions for line in region.splitlines()}
        public = cell.source
        for region in regions:
            public = public.replace(region, "")
        visible |= {line.strip() for line in public.splitlines()}
    return {line for line in secret - visible if len(line) > 3}


def hidden_lines(nb) -> set[str]:
    return {
        line.strip()
        for cell in nb.cells
        for region in marked_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        for line in region.splitlines()
        if len(line.strip()) > 3
    }


def page_text(page: str) -> str:
    """Visible text of an HTML page (syntax highlighting splits code into many tags)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def release_of(course: Path, assignment: str) -> dict[str, nbformat.NotebookNode]:
    return {
        name: read_nb(course / "release" / assignment / f"{name}.ipynb")
        for name in notebooks_of(assignment)
    }


def losing(sources: dict, cases) -> dict[str, dict[str, float]]:
    """Full marks, except the items ``cases`` lose."""
    expected = full_marks(sources)
    for case in cases:
        for item in case.loses:
            expected[case.notebook][item] = 0.0
    return expected


# --- mlcicd.course.grading: building and checking notebooks ----------------------------------------


def good_notebook():
    return build_notebook(
        [
            markdown("# Intro"),
            code("import math"),
            answer("a1", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
            grading.tests(
                "t1", "assert x == 1\n### BEGIN HIDDEN TESTS\nassert x > 0\n### END HIDDEN TESTS", 2
            ),
            written("w1", "Because.", 3),
        ]
    )


def test_built_notebook_is_well_formed_and_lists_its_items():
    nb = good_notebook()
    assert check_notebook(nb) == []
    assert graded_items(nb) == {"t1": 2.0, "w1": 3.0}
    assert [c.id for c in nb.cells] == ["cell-00", "cell-01", "a1", "t1", "w1"]
    meta = nb.cells[3].metadata["nbgrader"]
    assert meta == {
        "grade": True,
        "grade_id": "t1",
        "locked": True,
        "points": 2,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    assert solution_texts(nb.cells[2]) == ["x = 1"] and solution_texts(nb.cells[4]) == ["Because."]


def test_check_notebook_names_every_problem():
    nb = good_notebook()
    nb.cells[2].source = "x = 1"  # solution markers gone
    nb.cells[3].metadata["nbgrader"]["locked"] = False
    nb.cells[1].source = "### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS"
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nb.cells.append(grading.tests("t1", "assert True", 1))
    nb.cells[-1].id = "t1-again"
    assert check_notebook(nb) == [
        "invalid notebook: Duplicate grade id: t1",
        "code cell cell-01: has outputs or an execution count",
        "answer cell a1: no ### BEGIN SOLUTION / ### END SOLUTION region",
        "test cell t1: not locked",
    ]
    nb.cells[1].outputs = []
    assert "cell cell-01: marker region outside an nbgrader cell" in check_notebook(nb)


def test_builders_refuse_bad_ids_and_points(tmp_path):
    with pytest.raises(InputError, match="grade_id 'q 1': use letters, digits"):
        answer("q 1", "x = 1")
    with pytest.raises(InputError, match="points of t1: must be > 0, got 0"):
        grading.tests("t1", "assert True", 0)
    with pytest.raises(InputError, match="without"):
        marked_regions("### BEGIN SOLUTION\nx = 1", BEGIN_SOLUTION, END_SOLUTION)
    bad = build_notebook([markdown("# no graded cell")])
    target = tmp_path / "bad.ipynb"
    with pytest.raises(InputError, match=r"bad.ipynb: no graded cell"):
        write_notebook(bad, target)
    assert list(tmp_path.iterdir()) == []
    write_notebook(good_notebook(), target)
    assert check_notebook(target) == []


# --- the source notebooks -------------------------------------------------------------------


def test_assignments_are_found():
    assert "quiz" in ASSIGNMENTS
    for assignment in ASSIGNMENTS:
        assert notebooks_of(assignment), assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebooks_are_well_formed(assignment):
    for name in notebooks_of(assignment):
        nb = read_nb(COURSE / "source" / assignment / f"{name}.ipynb")
        assert check_notebook(nb) == [], f"{assignment}/{name}"
        assert auto_items(nb), f"{assignment}/{name} has no autograded item"
        assert nb.cells[0].cell_type == "markdown", "the first cell introduces the assignment"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_autograded_item_has_a_wrong_answer(assignment):
    cases = WRONG_ANSWERS.get(assignment, [])
    for name in notebooks_of(assignment):
        nb = read_nb(COURSE / "source" / assignment / f"{name}.ipynb")
        covered = {item for case in cases if case.notebook == name for item in case.loses}
        missing = set(auto_items(nb)) - covered
        assert not missing, f"{assignment}/{name}: add WRONG_ANSWERS for {sorted(missing)}"
        for case in cases:
            if case.notebook == name:
                with_wrong_answer(nb, case)  # the text it replaces is still there


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_committed_notebook_is_what_its_spec_builds(spec):
    module_spec = importlib.util.spec_from_file_location(f"spec_{spec.stem}", spec)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    assert (
        Path(module.OUTPUT).read_text(encoding="utf-8") == nbformat.writes(module.build()) + "\n"
    ), f"regenerate with: python {spec.relative_to(ROOT)}"


def test_quiz_keeps_the_seed_s_answers_and_question_4_s_setting():
    nb = read_nb(COURSE / "source" / "quiz" / "quiz.ipynb")
    letters = [
        re.search(r'"([A-D])"', solution_texts(c)[0]).group(1)
        for c in nb.cells
        if grade_id(c) and grade_id(c).endswith("-answer")
    ]
    assert letters == ["A", "D", "C", "A", "B"], "the seed's answers, in its option order"
    question_4 = next(c.source for c in nb.cells if c.source.startswith("## Question 4"))
    assert "deployed a while ago" in question_4  # else skew or bad training data are fair too
    written = [c for c in nb.cells if c.cell_type == "markdown" and grade_id(c)]
    assert len(written) == 1 and written[0].metadata["nbgrader"]["points"] > 0


# --- source versus student version ----------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_passes_and_student_version_fails(assignment, course):
    from nbgrader.validator import Validator
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    for name, source in source_of(course, assignment).items():
        path = course / "source" / assignment / f"{name}.ipynb"
        assert Validator(config=config).validate(str(path)) == {}, f"source {name} fails"

        student = course / "release" / assignment / f"{name}.ipynb"
        assert Validator(config=config, invert=True).validate(str(student)) == {}, (
            f"student version of {name} passes some tests"
        )
        student_nb = read_nb(student)
        shown = {line.strip() for c in student_nb.cells for line in c.source.splitlines()}
        leaked = secret_lines(source) & shown
        assert not leaked, f"student version of {name} shows {sorted(leaked)}"
        raw = student.read_text(encoding="utf-8")
        for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            assert marker not in raw
        assert len(secret_lines(source)) >= len(auto_items(source))  # the check looked at something


@pytest.mark.notebooks
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_papermill_executes_every_source_notebook(assignment, course):
    import papermill

    folder = course / "source" / assignment
    for name in notebooks_of(assignment):
        out = course / f"executed-{assignment}-{name}.ipynb"
        papermill.execute_notebook(
            str(folder / f"{name}.ipynb"),
            str(out),
            cwd=str(folder),
            kernel_name="python3",
            progress_bar=False,
        )
        executed = read_nb(out)
        errors = [
            o
            for c in executed.cells
            if c.cell_type == "code"
            for o in c.outputs
            if o.output_type == "error"
        ]
        assert errors == []
        assert all(c.execution_count for c in executed.cells if c.cell_type == "code")


# --- the round trip: collect, autograde, feedback, export ----------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_round_trip(assignment, course):
    sources, releases = source_of(course, assignment), release_of(course, assignment)
    cases = WRONG_ANSWERS.get(assignment) or pytest.fail(f"no WRONG_ANSWERS for {assignment}")
    submissions = {"full": sources, "blank": releases}
    for k, case in enumerate(cases, start=1):
        wrong = dict(sources)
        wrong[case.notebook] = with_wrong_answer(sources[case.notebook], case)
        submissions[f"wrong{k}"] = wrong

    # the class list, with one student who hands in nothing
    roster = course / "students.csv"
    with open(roster, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "first_name", "last_name", "email"])
        for student in [*submissions, "absent"]:
            writer.writerow([student, student.title(), "Learner", f"{student}@example.org"])
    nbgrader(course, "db", "student", "import", str(roster))

    # collect: one zip per student, as downloaded from a learning platform
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True)
    for student, notebooks in submissions.items():
        with zipfile.ZipFile(archive / f"{student}.zip", "w") as zf:
            for name, nb in notebooks.items():
                zf.writestr(f"{assignment}/{name}.ipynb", nbformat.writes(nb))
    nbgrader(course, "zip_collect", assignment)
    for student in submissions:
        for name in sources:
            assert (course / "submitted" / student / assignment / f"{name}.ipynb").is_file()

    nbgrader(course, "autograde", assignment)

    assert auto_scores(course, assignment, "full") == full_marks(sources)
    blank = auto_scores(course, assignment, "blank")
    assert all(score == 0 for items in blank.values() for score in items.values()), blank
    for k, case in enumerate(cases, start=1):
        assert auto_scores(course, assignment, f"wrong{k}") == losing(sources, [case]), case

    # feedback: no hidden test code, but the failed hidden test and its lost points are shown
    nbgrader(course, "generate_feedback", assignment)
    for k, case in enumerate(cases, start=1):
        student = f"wrong{k}"
        page = (course / "feedback" / student / assignment / f"{case.notebook}.html").read_text()
        text = page_text(page)
        leaked = {line for line in hidden_lines(sources[case.notebook]) if line in text}
        assert not leaked, f"feedback of {student} shows hidden tests {sorted(leaked)}"
        graded = read_nb(course / "autograded" / student / assignment / f"{case.notebook}.ipynb")
        points = auto_items(sources[case.notebook])
        for item in case.loses:
            assert re.search(
                rf"<code>{re.escape(item)}</code>(</span>)?\s*<span[^>]*>\s*Score: 0\.0 / "
                + re.escape(str(points[item])),
                page,
            ), f"feedback of {student} does not show {item} as failed"
            errors = [
                o
                for o in graded.cells[cell_index(graded, item)].outputs
                if o.output_type == "error"
            ]
            assert errors and f"{errors[0].ename}: {errors[0].evalue}" in text
    # the same check finds the hidden tests in the autograded notebook behind the feedback
    from nbconvert import HTMLExporter

    case = cases[-1]
    graded = read_nb(
        course / "autograded" / f"wrong{len(cases)}" / assignment / f"{case.notebook}.ipynb"
    )
    graded_text = page_text(HTMLExporter().from_notebook_node(graded)[0])
    assert hidden_lines(sources[case.notebook])
    assert all(line in graded_text for line in hidden_lines(sources[case.notebook]))

    # export: one row per student, the absent one with zero
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as fh:
        rows = {
            row["student_id"]: row for row in csv.DictReader(fh) if row["assignment"] == assignment
        }
    total = sum(sum(items.values()) for items in full_marks(sources).values())
    assert set(rows) == {*submissions, "absent"}
    assert float(rows["full"]["raw_score"]) == total
    assert float(rows["blank"]["raw_score"]) == 0
    assert float(rows["absent"]["raw_score"]) == 0
    for k, case in enumerate(cases, start=1):
        expected = sum(sum(items.values()) for items in losing(sources, [case]).values())
        assert float(rows[f"wrong{k}"]["raw_score"]) == expected


# --- broken and hostile submissions ---------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_broken_and_hostile_submissions(assignment, course):
    sources = source_of(course, assignment)
    cases = WRONG_ANSWERS.get(assignment) or pytest.fail(f"no WRONG_ANSWERS for {assignment}")
    case = cases[len(cases) // 2]  # a middle one, so a dead kernel leaves earlier tests standing
    name, target = case.notebook, case.cell
    nb = sources[name]

    def variant(changed):
        return {**sources, name: changed}

    def drop_tests(changed, how):
        changed = copy.deepcopy(changed)
        for item in case.loses:
            i = cell_index(changed, item)
            if how == "delete":
                del changed.cells[i]
            elif how == "edit":
                changed.cells[i].source = "assert True"
            else:  # unmark: a plain cell that passes, nbgrader metadata gone
                changed.cells[i].source = "assert True"
                changed.cells[i].metadata = {}
        return changed

    wrong = with_wrong_answer(nb, case)
    gutted = copy.deepcopy(nb)
    del gutted.cells[cell_index(gutted, target)]
    submissions = {
        "full": sources,
        "standin": variant(with_source(nb, target, 'raise RuntimeError("no answer")')),
        "loop": variant(with_source(nb, target, "while True:\n    pass")),
        "syntax": variant(
            with_source(nb, target, nb.cells[cell_index(nb, target)].source + "\nprint(")
        ),
        "dies": variant(with_source(nb, target, "import os\nos._exit(1)")),
        "deleted": variant(drop_tests(wrong, "delete")),
        "edited": variant(drop_tests(wrong, "edit")),
        "unmarked": variant(drop_tests(wrong, "unmark")),
        "gutted": variant(drop_tests(gutted, "delete")),
    }
    for student, notebooks in submissions.items():
        submit(course, student, assignment, notebooks)
    missing = course / "submitted" / "missing" / assignment
    missing.mkdir(parents=True)
    (missing / "notes.txt").write_text("I forgot the notebook\n")

    timeout = LOOP_TIMEOUT.get(assignment, 10)
    nbgrader(course, "autograde", assignment, f"--Execute.timeout={timeout}")

    scores = {student: auto_scores(course, assignment, student) for student in submissions}
    assert scores["full"] == full_marks(sources), "a good submission graded with the others"
    assert all(scores["standin"][name][item] == 0 for item in case.loses)
    assert scores["loop"] == scores["standin"], "the endless loop is stopped and fails its cell"
    assert scores["syntax"] == scores["standin"]
    assert scores["gutted"] == scores["standin"], "deleted answer and test cells"
    died_at = cell_index(nb, target)
    expected_dies = full_marks(sources)
    expected_dies[name] = {
        item: points if cell_index(nb, item) < died_at else 0.0
        for item, points in auto_items(nb).items()
    }
    assert scores["dies"] == expected_dies, "tests before the kernel died keep their points"
    for student in ("deleted", "edited", "unmarked"):
        assert scores[student] == losing(sources, [case]), f"{student} test cells earn nothing"
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb, pytest.raises(MissingEntry):
        gb.find_submission(assignment, "missing")
    assert not (course / "autograded" / "missing").exists()
    if assignment == "quiz":  # the numbers, spelled out once
        assert sum(scores["standin"]["quiz"].values()) == 8.0
        assert sum(scores["dies"]["quiz"].values()) == 4.0
