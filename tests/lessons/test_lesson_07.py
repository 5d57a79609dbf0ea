"""Lesson 7 (what drives the cost) runs in CI: c(m) of one cycle, validation modes, parallel
workers and caching, each counted where the result is deterministic."""

from __future__ import annotations

import pytest

from mlcicd.course.run import NOTEBOOKS, ci_parameters

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_07")]

STEM = "07_what_drives_the_cost"
CI = ci_parameters(NOTEBOOKS / f"{STEM}.ipynb")
FEATURES = 30  # sweep_data_size's and sweep_complexity's synthetic data


def _cycle_cells(rows: int, columns: int) -> int:
    """Cells one cycle reads: training rows and holdout rows (together all rows) x columns."""
    return rows * columns


def test_the_cells_a_cycle_reads_grow_exactly_with_the_rows(run):
    rows = run.results["cycle_cost"]["rows"]
    assert rows["values"] == CI["data_rows"]
    assert rows["cycle_cells"] == [_cycle_cells(m, FEATURES + 1) for m in CI["data_rows"]]
    assert rows["exponent_cells"] == pytest.approx(1.0, abs=1e-9)
    assert len(rows["cycle_seconds"]) == len(rows["check_seconds"]) == len(CI["data_rows"])
    assert all(s > 0 for s in rows["cycle_seconds"])


def test_c_of_m_is_fitted_as_a_fixed_part_plus_a_part_per_row(run):
    rows = run.results["cycle_cost"]["rows"]
    fit = rows["fit"]
    # least squares of a straight line: its residuals sum to zero (checks the recorded fit)
    residuals = [
        s - (fit["fixed_seconds"] + fit["seconds_per_row"] * m)
        for m, s in zip(rows["values"], rows["cycle_seconds"], strict=True)
    ]
    assert sum(residuals) == pytest.approx(0.0, abs=1e-9)
    if fit["seconds_per_row"] > 0:
        expected = max(fit["fixed_seconds"], 0.0) / fit["seconds_per_row"]
        assert fit["break_even_rows"] == pytest.approx(expected)


def test_features_and_trees_change_what_a_cycle_does(run):
    cost = run.results["cycle_cost"]
    features = cost["features"]
    assert features["values"] == CI["feature_counts"]
    assert features["cycle_cells"] == [
        _cycle_cells(CI["feature_rows"], f + 1) for f in CI["feature_counts"]
    ]
    trees = cost["trees"]
    assert trees["values"] == CI["complexity_trees"]
    # more trees: the same cells read, more training work
    assert trees["cycle_cells"] == [_cycle_cells(CI["complexity_rows"], FEATURES + 1)] * len(
        CI["complexity_trees"]
    )
    assert trees["exponent_cells"] == pytest.approx(0.0, abs=1e-9)


def test_data_validation_modes_run_exactly_as_many_checks_as_promised(run):
    ns = [str(n) for n in CI["validation_ns"]]
    assert run.results["validation_counts"] == {
        "off": dict.fromkeys(ns, 0),
        "each": {n: int(n) for n in ns},
        "once": dict.fromkeys(ns, 1),
    }


def test_parallel_workers_give_the_same_results(run):
    p = run.results["parallel"]
    assert (p["versions"], p["n_jobs"], p["same_results"]) == (CI["parallel_versions"], 2, True)
    assert p["trained"] == {"1": CI["parallel_versions"], "2": CI["parallel_versions"]}
    assert p["speedup"] > 0  # measured; its size depends on the machine's load


def test_incremental_caching_trains_only_what_changed(run):
    n = CI["cache_versions"]
    cache = run.results["cache"]
    assert cache["first run"]["trained"] == n
    assert cache["unchanged re-run"]["trained"] == 0
    assert cache["one version added"]["trained"] == 1
    runs = ("first run", "unchanged re-run", "one version added")
    assert [cache[r]["gates run"] for r in runs] == [n, n, n + 1]  # the gate is never cached
    # hits and misses: setup 3 stages, 1 data check (the others reuse it), 3 stages per version
    assert (cache["first run"]["cache misses"], cache["first run"]["cache hits"]) == (
        3 + 1 + 3 * n,
        n - 1,
    )
    assert (cache["unchanged re-run"]["cache misses"], cache["unchanged re-run"]["cache hits"]) == (
        0,
        3 + n + 3 * n,
    )
    assert (
        cache["one version added"]["cache misses"],
        cache["one version added"]["cache hits"],
    ) == (
        3,
        3 + (n + 1) + 3 * n,
    )


def test_explorer_ran_one_cycle_with_its_ci_defaults(run):
    e = run.results["explorer"]
    assert e["values"] == {
        "rows": CI["explorer_rows"],
        "features": CI["explorer_features"],
        "model": "logistic_regression",
    }
    assert (e["runs"], e["cycles"]) == (1, 1)
    assert e["cells"] == _cycle_cells(CI["explorer_rows"], CI["explorer_features"] + 1)


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    nb = assert_rendered(run)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    checks = [src for src in code if "check_yourself" in src]
    assert len(checks) == 4 and all("answer" not in src for src in checks)
    assert "SelfCheck" not in "".join(code)
    # the cost per cycle is written as a function of m, not as rows added to seconds
    prose = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "T(n, m) = n · c(m)" in prose
    assert "O(n · (m + t))" not in prose
