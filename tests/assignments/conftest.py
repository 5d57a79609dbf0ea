"""Fixtures of the assignment tests: the course, generated once per worker, and a copy per test."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from nbgrader_course import ASSIGNMENTS, COURSE, GENERATED, nbgrader


@pytest.fixture(scope="session")
def nbgrader_env(jupyter_env):
    """nbgrader runs `alembic` from PATH when it creates a gradebook: put this venv's first."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + saved
    yield
    os.environ["PATH"] = saved


@pytest.fixture(scope="session")
def released(tmp_path_factory, nbgrader_env) -> Path:
    """A copy of the course with every assignment generated (once per test worker)."""
    course = tmp_path_factory.mktemp("released") / "assignments"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns(*GENERATED, "__pycache__"))
    for assignment in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", assignment)
    return course


@pytest.fixture
def course(tmp_path, released) -> Path:
    """This test's own copy of the released course, with its own gradebook.db."""
    target = tmp_path / "assignments"
    shutil.copytree(released, target)
    return target
