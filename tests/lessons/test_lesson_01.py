"""Lesson 1 (software CI/CD vs ML CI/CD) runs in CI and measures what it teaches."""

from __future__ import annotations

import pytest

from mlcicd.course.run import NOTEBOOKS, ci_parameters
from mlcicd.measure.software_ci import STEPS

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_01")]

STEM = "01_software_vs_ml_cicd"
CI = ci_parameters(NOTEBOOKS / f"{STEM}.ipynb")


def test_side_by_side_ran_both_real_pipelines(run):
    s = run.results["side_by_side"]
    assert run.results["software_steps"] == sorted(STEPS)
    assert (s["rows"], s["versions"], s["ml_cycles"], s["software_ok"]) == (
        569,
        CI["ml_versions"],
        CI["ml_versions"],
        True,
    )
    assert s["software_operations"] > 0


def test_software_work_is_constant_while_ml_work_grows_with_the_data(run):
    sweep = run.results["sweep"]
    assert sweep["rows"] == CI["data_rows"]
    ops = sweep["software_operations"]
    assert len(set(ops)) == 1 and ops[0] == run.results["side_by_side"]["software_operations"]
    assert sweep["software_cells"] == 0  # no software step reads the data
    # the ML stages read every row: cells read grow exactly with the rows
    per_row = [cells / rows for cells, rows in zip(sweep["ml_cells"], sweep["rows"], strict=True)]
    assert per_row == [per_row[0]] * len(per_row) and per_row[0] > 0


def test_ml_pipeline_is_much_slower_than_software_ci_at_the_largest_size(run):
    # measured, so only with a wide margin: a few milliseconds of software CI against
    # training, evaluating and monitoring tens of thousands of rows (about 15x in CI)
    sweep = run.results["sweep"]
    assert sweep["ml_seconds"][-1] > sweep["software_seconds"][-1]
    assert run.results["ratio_at_largest"] == pytest.approx(
        sweep["ml_seconds"][-1] / sweep["software_seconds"][-1]
    )


def test_explorer_ran_both_pipelines_at_the_slider_size(run):
    e = run.results["explorer"]
    assert (e["runs"], e["rows"], e["ml_cycles"], e["software_ok"]) == (
        1,
        CI["explorer_rows"],
        1,
        True,
    )
    assert e["summary"].startswith(f"{CI['explorer_rows']:,} rows: software CI")


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    assert_rendered(run)


def test_growth_table_shows_what_each_pipeline_grows_with(run):
    rows = {(g["pipeline"], g["grows with"]): g for g in run.results["growth"]}
    code = rows[("software", "code and tests (lines of Python)")]
    data_sw = rows[("software", "data (rows)")]
    data_ml = rows[("ML", "data (rows)")]
    versions = rows[("ML", "model versions")]
    complexity = rows[("ML", "model complexity (n_estimators)")]
    modules, per_module = CI["code_modules"], 5
    # software work = 4 x files (checkout, compile, lint, build) + tests run, counted
    files = [3 + 2 * m for m in (modules[0], modules[-1])]
    tests = [13 + per_module * m for m in (modules[0], modules[-1])]
    assert (code["work: smallest"], code["work: largest"]) == (
        4 * files[0] + tests[0],
        4 * files[1] + tests[1],
    )
    assert code["size: largest"] > code["size: smallest"] and code["work exponent"] > 0.5
    # the same pipeline, flat in the data by construction: no step reads it
    assert data_sw["work: smallest"] == data_sw["work: largest"] == code["work: smallest"]
    assert data_sw["work exponent"] == 0
    assert (data_sw["size: smallest"], data_sw["size: largest"]) == (
        CI["data_rows"][0],
        CI["data_rows"][-1],
    )
    # the ML pipeline reads every cell: work proportional to the rows, and to the versions
    assert data_ml["work exponent"] == pytest.approx(1.0)
    assert data_ml["work: largest"] / data_ml["work: smallest"] == pytest.approx(
        CI["data_rows"][-1] / CI["data_rows"][0]
    )
    assert (versions["work: smallest"], versions["work: largest"]) == (
        CI["version_counts"][0],
        CI["version_counts"][-1],
    )
    assert versions["work exponent"] == pytest.approx(1.0)
    # more trees, the same data read
    assert (complexity["size: smallest"], complexity["size: largest"]) == (
        CI["complexity"][0],
        CI["complexity"][-1],
    )
    assert complexity["work exponent"] == 0
    assert all(g["seconds: smallest"] > 0 for g in run.results["growth"])
