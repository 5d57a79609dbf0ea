"""One outcome vocabulary: the engine, the course runner and the lessons' CI steps share it."""

from __future__ import annotations

import mlcicd.outcomes as outcomes
from mlcicd.course import run as course_run
from mlcicd.lessons import workflow
from mlcicd.pipeline import runner

WORDS = ("OK", "FAILED", "REJECTED", "SKIPPED", "WARNING", "CACHED")


def test_each_outcome_is_one_distinct_lowercase_word():
    values = [getattr(outcomes, name) for name in WORDS]
    assert values == [name.lower() for name in WORDS] and len(set(values)) == len(values)


def test_the_engine_the_course_and_lesson_8_use_the_same_words():
    for name in ("OK", "FAILED", "SKIPPED"):
        assert getattr(runner, name) is getattr(workflow, name) is getattr(outcomes, name), name
    assert workflow.WARNING is outcomes.WARNING
    assert {course_run.OK, course_run.FAILED, course_run.CACHED} == {"ok", "failed", "cached"}


def test_a_ci_step_that_exits_0_is_ok_and_a_non_blocking_check_is_a_warning():
    passed = workflow.StepRun("a", "mlcicd x", 0, 0.1)
    warned = workflow.StepRun("b", "mlcicd y", 1, 0.1, blocking=False)
    failed = workflow.StepRun("c", "mlcicd z", 1, 0.1)
    assert (passed.status, warned.status, failed.status) == ("ok", "warning", "failed")
