"""Lesson 7 (what drives the cost): the functions of ``mlcicd/lessons/cost_drivers.py`` on small
inputs, then the notebook executed in CI and what it recorded."""

from __future__ import annotations

import json

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mlcicd.course.run import NOTEBOOKS, ci_parameters
from mlcicd.errors import InputError
from mlcicd.lessons import cost_drivers as cd
from mlcicd.measure.scaling import (
    sweep_complexity,
    sweep_data_size,
    sweep_validation,
    sweep_versions,
)

matplotlib.use("Agg")
QUICK = {"progress": False, "warmup": False}
pytestmark = pytest.mark.usefixtures("close_figures")


def _axes():
    return plt.subplots()


def test_cycle_cost_takes_the_cycle_stages_of_the_fastest_run():
    sweep = sweep_data_size((100, 200, 400), n_features=4, software=False, repeats=2, **QUICK)
    table = cd.cycle_cost(sweep)
    assert table["value"].tolist() == [100, 200, 400]
    assert table["cycle cells"].tolist() == [500, 1000, 2000]  # all rows x (4 features + target)
    stages = sweep[sweep["stage"].isin(cd.CYCLE_STAGES)]
    per_run = stages.groupby(["value", "repeat"])["seconds"].sum().groupby(level="value").min()
    assert table["cycle seconds"].tolist() == pytest.approx(per_run.tolist())
    checks = sweep[sweep["stage"] == cd.CHECK_STAGE]
    assert (table["data check seconds"] > 0).all() and len(checks) == 6
    seconds_fit, cells_fit = cd.cycle_fits(table)
    assert cells_fit.slope == pytest.approx(1.0, abs=1e-9)
    assert seconds_fit.n_points == 3
    _fig, ax = _axes()
    fit = cd.fit_cycle_cost(table)
    cd.draw_cycle_cost(table, ax, "m (data rows)", fit=fit)
    measured, line = ax.get_lines()
    assert list(measured.get_xdata()) == [100, 200, 400]
    assert line.get_ydata()[0] == pytest.approx(fit.fixed_seconds)
    assert ax.get_ylabel() == "c: seconds per cycle (s)"


def test_cycle_cost_of_a_complexity_sweep_reads_the_same_cells():
    sweep = sweep_complexity((2, 4), rows=100, n_features=3, **QUICK)
    assert cd.cycle_cost(sweep)["cycle cells"].tolist() == [400, 400]


def test_cycle_cost_refuses_what_is_not_a_one_version_sweep(small):
    with pytest.raises(InputError, match="one model version"):
        cd.cycle_cost(sweep_versions((1, 2), data=small, spec="dummy", **QUICK))
    with pytest.raises(InputError, match="sweep frame"):
        cd.cycle_cost(pd.DataFrame({"value": [1]}))


def test_fit_cycle_cost_is_a_fixed_part_plus_a_part_per_row():
    table = pd.DataFrame({"value": [1000, 2000, 4000], "cycle seconds": [0.3, 0.5, 0.9]})
    c = cd.fit_cycle_cost(table)
    assert (c.fixed_seconds, c.seconds_per_row) == pytest.approx((0.1, 0.0002))
    assert c(10_000) == pytest.approx(2.1)
    assert c.break_even_rows == pytest.approx(500)
    assert c.to_dict()["break_even_rows"] == pytest.approx(500)
    assert str(c) == "c(m) = 0.100 s + 0.2000 s per 1,000 rows"
    flat = cd.fit_cycle_cost(pd.DataFrame({"value": [1, 2], "cycle seconds": [0.6, 0.5]}))
    assert flat.break_even_rows == float("inf")
    with pytest.raises(InputError, match="two or more data sizes"):
        cd.fit_cycle_cost(table.iloc[:1])


def test_validation_table_counts_checks_per_mode(small):
    sweep = sweep_validation((2, 3), data=small, spec="dummy", **QUICK)
    table = cd.validation_table(sweep)
    assert table["mode"].tolist() == ["off", "each", "once"] * 2
    assert table["validations"].tolist() == [0, 2, 1, 0, 3, 1]
    assert table["training + validation cycles"].tolist() == [2, 2, 2, 3, 3, 3]
    assert (table.loc[table["mode"] == "off", "validation seconds"] == 0).all()
    assert cd.validation_counts(table) == {
        "off": {"2": 0, "3": 0},
        "each": {"2": 2, "3": 3},
        "once": {"2": 1, "3": 1},
    }


def test_parallel_speedup_gives_the_same_results_with_two_workers(small):
    r = cd.parallel_speedup(2, data=small, n_jobs=2)
    assert (r["versions"], r["n_jobs"], r["same_results"]) == (2, 2, True)
    assert r["trained"] == {"1": 2, "2": 2}
    assert r["speedup"] == pytest.approx(r["seconds"]["1"] / r["seconds"]["2"])
    assert r["ideal"] == min(2, r["cores"])
    _fig, ax = _axes()
    cd.draw_parallel(r, ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["n_jobs=1", "n_jobs=2"]
    assert ax.get_ylabel() == "wall-clock time (s)"


def test_parallel_speedup_needs_at_least_two_workers(small):
    with pytest.raises(InputError, match="n_jobs=1"):
        cd.parallel_speedup(2, data=small, n_jobs=1)


def test_incremental_runs_train_only_what_changed(small):
    runs = cd.incremental_runs(2, data=small)
    assert runs["run"].tolist() == ["first run", "unchanged re-run", "one version added"]
    assert runs["versions"].tolist() == [2, 2, 3]
    assert runs["trained"].tolist() == [2, 0, 1]
    assert runs["gates run"].tolist() == [2, 2, 3]  # the gate is never cached
    # setup (3) + one data check (the second is a hit) + train/evaluate/monitor per version
    assert runs["cache misses"].tolist() == [10, 0, 3]
    assert runs["cache hits"].tolist() == [1, 11, 12]
    fig, ax = _axes()
    cd.draw_incremental(runs, ax)
    assert [len(a.patches) for a in fig.axes] == [3, 3]
    with pytest.raises(InputError, match="versions=0"):
        cd.incremental_runs(0, data=small)


def test_record_results_writes_what_the_tests_read(tmp_path, small):
    by_rows = sweep_data_size((100, 200, 400), n_features=4, software=False, **QUICK)
    by_trees = sweep_complexity((2, 4, 8), rows=100, n_features=3, **QUICK)
    modes = cd.validation_table(sweep_validation((2, 3), data=small, spec="dummy", **QUICK))
    runs = cd.incremental_runs(2, data=small)
    parallel = {"versions": 2, "same_results": True}
    explorer = cd.cycle_explorer(rows=200, features=3)
    explorer.update()
    path = cd.record_results(
        tmp_path / "out",
        by_rows=by_rows,
        by_features=by_rows,
        by_trees=by_trees,
        modes=modes,
        parallel=parallel,
        runs=runs,
        explorer=explorer,
    )
    saved = json.loads(path.read_text())
    assert saved["cycle_cost"]["rows"]["cycle_cells"] == [500, 1000, 2000]
    assert set(saved["cycle_cost"]["rows"]["fit"]) == {
        "fixed_seconds",
        "seconds_per_row",
        "break_even_rows",
    }
    assert saved["cycle_cost"]["trees"]["values"] == [2, 4, 8]
    assert saved["validation_counts"]["each"] == {"2": 2, "3": 3}
    assert saved["parallel"] == parallel
    assert saved["cache"]["unchanged re-run"]["trained"] == 0
    assert (saved["explorer"]["runs"], saved["explorer"]["cells"]) == (1, 800)


def test_cycle_explorer_runs_one_cycle_and_keeps_every_run():
    ex = cd.cycle_explorer(rows=200, features=3)
    assert list(ex.controls) == ["rows", "features", "model"]
    ex.update()
    ex.update(rows=400)
    ex.update(features=7, model="decision_tree")
    history = ex.last_result["history"]
    assert [(h["rows"], h["features"], h["model"]) for h in history] == [
        (200, 3, "logistic_regression"),
        (400, 3, "logistic_regression"),
        (200, 7, "decision_tree"),  # overrides apply to one run; the sliders stay put
    ]
    assert [h["cells"] for h in history] == [800, 1600, 1600]  # rows x (features + target)
    assert [h["cycles"] for h in history] == [1, 1, 1]
    assert all(h["cycle seconds"] > 0 for h in history)
    assert ex.summary.startswith("decision_tree on 200 rows x 7 features: c = ")
    (ax,) = ex.figure.axes
    assert ax.get_xlabel() == "cells read per cycle (rows x columns)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "logistic_regression",
        "decision_tree",
        "latest run",
    ]


def test_cycle_explorer_refuses_bad_settings():
    with pytest.raises(InputError, match="model='svm'"):
        cd.cycle_explorer(model="svm")
    with pytest.raises(InputError, match="features=1"):
        cd.cycle_explorer_compute(200, 1, "decision_tree", history=[])


STEM = "07_what_drives_the_cost"
CI = ci_parameters(NOTEBOOKS / f"{STEM}.ipynb")
FEATURES = 30  # sweep_data_size's and sweep_complexity's synthetic data


def _cycle_cells(rows: int, columns: int) -> int:
    """Cells one cycle reads: training rows and holdout rows (together all rows) x columns."""
    return rows * columns


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_07")]

    def test_the_cells_a_cycle_reads_grow_exactly_with_the_rows(self, run):
        rows = run.results["cycle_cost"]["rows"]
        assert rows["values"] == CI["data_rows"]
        assert rows["cycle_cells"] == [_cycle_cells(m, FEATURES + 1) for m in CI["data_rows"]]
        assert rows["exponent_cells"] == pytest.approx(1.0, abs=1e-9)
        assert len(rows["cycle_seconds"]) == len(rows["check_seconds"]) == len(CI["data_rows"])
        assert all(s > 0 for s in rows["cycle_seconds"])

    def test_c_of_m_is_fitted_as_a_fixed_part_plus_a_part_per_row(self, run):
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

    def test_features_and_trees_change_what_a_cycle_does(self, run):
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

    def test_data_validation_modes_run_exactly_as_many_checks_as_promised(self, run):
        ns = [str(n) for n in CI["validation_ns"]]
        assert run.results["validation_counts"] == {
            "off": dict.fromkeys(ns, 0),
            "each": {n: int(n) for n in ns},
            "once": dict.fromkeys(ns, 1),
        }

    def test_parallel_workers_give_the_same_results(self, run):
        p = run.results["parallel"]
        assert (p["versions"], p["n_jobs"], p["same_results"]) == (CI["parallel_versions"], 2, True)
        assert p["trained"] == {"1": CI["parallel_versions"], "2": CI["parallel_versions"]}
        # the speed-up the lesson states is the ratio of its own best times (never asserted on)
        assert p["speedup"] == pytest.approx(p["seconds"]["1"] / p["seconds"]["2"])
        assert p["ideal"] == min(2, p["cores"])

    def test_incremental_caching_trains_only_what_changed(self, run):
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
        assert (
            cache["unchanged re-run"]["cache misses"],
            cache["unchanged re-run"]["cache hits"],
        ) == (
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

    def test_explorer_ran_one_cycle_with_its_ci_defaults(self, run):
        e = run.results["explorer"]
        assert e["values"] == {
            "rows": CI["explorer_rows"],
            "features": CI["explorer_features"],
            "model": "logistic_regression",
        }
        assert (e["runs"], e["cycles"]) == (1, 1)
        assert e["cells"] == _cycle_cells(CI["explorer_rows"], CI["explorer_features"] + 1)

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        nb = assert_rendered(run)
        # the cost per cycle is written as a function of m, not as rows added to seconds
        prose = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "T(n, m) = n · c(m)" in prose
        assert "O(n · (m + t))" not in prose
