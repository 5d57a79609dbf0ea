"""The three problem sets: their fixed answers agree with the library, and their shape holds.

The nbgrader round trip (tests/assignments/test_nbgrader.py) proves that the solutions pass the hidden tests
and the student versions fail them. This file checks, in-process and in a few seconds, what
those hidden tests take for granted: the setup cells build the batches and weeks they describe,
the expected anomaly kinds, drift weeks and retrain weeks are what the library computes (the
retrain weeks through ``detect_drift``'s own retraining rule, not the notebook's solution), and
every problem set has its points, hidden tests in every test cell and its written answer.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from mlcicd.course.grading import BEGIN_HIDDEN, graded_items
from mlcicd.data import TARGET
from mlcicd.monitoring import detect_drift
from mlcicd.validation import validate_data

SPECS = Path(__file__).resolve().parents[2] / "assignments" / "specs"
PROBLEM_SETS = ("pipeline_cost", "validation_and_gate", "drift_and_retraining", "safe_release")


def load_spec(name: str):
    module_spec = importlib.util.spec_from_file_location(
        f"problem_set_{name}", SPECS / f"{name}.py"
    )
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def run_setup(source: str) -> dict:
    """Run a setup cell's code; its thread limit is undone afterwards."""
    namespace: dict = {}
    with threadpool_limits():
        exec(compile(source, "<setup cell>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", PROBLEM_SETS)
def test_problem_set_has_points_and_a_short_intro(name):
    nb = load_spec(name).build()
    items = graded_items(nb)
    tests = [c for c in nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata]
    tests = [c for c in tests if c.metadata["nbgrader"]["grade"]]
    assert len(tests) >= 4, f"{name}: at least four autograded items"
    assert all(BEGIN_HIDDEN in c.source for c in tests), f"{name}: every test cell has hidden tests"
    assert 9 <= sum(items.values()) <= 20, items
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Problem set")
    written = [c for c in nb.cells if c.cell_type == "markdown" and "nbgrader" in c.metadata]
    assert len(written) == (0 if name == "validation_and_gate" else 1)
    # the intro's table of parts adds up to the points of the graded cells
    table_rows = re.findall(r"^\| \d+ \|.*\| ([\d +]+) \|$", nb.cells[0].source, re.MULTILINE)
    table_points = sum(int(p) for row in table_rows for p in row.split("+"))
    assert table_points == sum(items.values()), (name, table_rows, items)


def test_given_batches_have_the_expected_anomaly_kinds():
    spec = load_spec("validation_and_gate")
    ns = run_setup(spec.SETUP)
    assert set(ns["batches"]) == set(spec.EXPECTED_KINDS)
    for name, batch in ns["batches"].items():
        kinds = sorted({a.kind for a in validate_data(batch, ns["schema"]).anomalies})
        assert kinds == spec.EXPECTED_KINDS[name], name
    assert all(len(b) == len(ns["holdout"]) for b in ns["batches"].values())


def test_drift_and_retrain_weeks_are_the_library_s():
    spec = load_spec("drift_and_retraining")
    ns = run_setup(spec._filled(spec.SETUP))
    train, weeks, model = ns["train"], ns["weeks"], ns["model"]
    assert len(weeks) == spec.WORLD["n_batches"]
    reports = [
        detect_drift(
            train,
            batch,
            target=TARGET,
            model=model,
            reference_accuracy=ns["reference_accuracy"],
            max_accuracy_drop=0.05,
        )
        for batch in weeks
    ]
    assert [w for w, r in enumerate(reports) if r.dataset_drift] == spec.DRIFT_WEEKS
    assert [w for w, r in enumerate(reports) if r.retrain] == spec.RETRAIN_WEEKS
    # the accuracy rule adds a week the feature tests miss: the policy is more than drift
    assert set(spec.RETRAIN_WEEKS) > set(spec.DRIFT_WEEKS)
    assert min(spec.DRIFT_WEEKS) >= spec.WORLD["n_batches"] // 2  # calm before the drift starts
