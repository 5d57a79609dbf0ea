"""The course's own tools: run the lessons, their widgets and self-checks, grade the assignments.

- :mod:`~mlcicd.course.run`: execute the lessons (``python -m mlcicd.course``, ``make course``),
  with a cache and a progress line; :func:`save_results` is what a lesson records for its tests;
- :mod:`~mlcicd.course.widgets`: the lessons' sliders and self-checks;
- :mod:`~mlcicd.course.grading`: what the assignments' hidden tests call;
- :mod:`~mlcicd.course.autograde`: parallel, accounted autograding of a class;
- :mod:`~mlcicd.course.sandbox`: the limits each graded kernel runs under;
- :mod:`~mlcicd.course.mutants`: mutation testing of the hidden tests.
"""

from mlcicd.course.run import (
    NotebookRun,
    ci_parameters,
    lesson_notebooks,
    run_course,
    run_notebook,
    save_results,
)

__all__ = [
    "NotebookRun",
    "ci_parameters",
    "lesson_notebooks",
    "run_course",
    "run_notebook",
    "save_results",
]
