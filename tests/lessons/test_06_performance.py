"""Lesson 6 (performance analysis): the functions of ``mlcicd/lessons/performance.py`` on small
inputs, then the notebook executed in CI and what it recorded."""

from __future__ import annotations

import json

import matplotlib
import matplotlib.pyplot as plt
import pytest

from mlcicd.course.run import NOTEBOOKS, ci_parameters
from mlcicd.errors import InputError
from mlcicd.lessons import performance as perf
from mlcicd.measure.growth import fit_exponent
from mlcicd.measure.scaling import cost_table, sweep_versions
from mlcicd.pipeline import run_versions

matplotlib.use("Agg")
QUICK = {"progress": False, "warmup": False}
pytestmark = pytest.mark.usefixtures("close_figures")


def _axes():
    return plt.subplots()


def test_cost_rows_are_json_ready(small):
    table = cost_table(sweep_versions((1, 2), data=small, spec="dummy", **QUICK))
    rows = perf.cost_rows(table)
    assert (rows["n"], rows["cycles"]) == ([1, 2], [1, 2])
    assert all(type(v) is float for v in rows["seconds"] + rows["seconds_per_version"])
    assert rows["seconds_per_version"][1] == pytest.approx(rows["seconds"][1] / 2)


def test_loop_seconds_split_setup_from_the_loop(small):
    sweep = sweep_versions((1, 3), data=small, spec="dummy", repeats=2, **QUICK)
    table = perf.loop_seconds(sweep)
    assert table["n versions"].tolist() == [1, 3]
    stages = sweep[sweep["stage"] != "total"]
    for n, row in table.set_index("n versions").iterrows():
        runs = stages[stages["value"] == n]
        setup = runs["stage"].isin(["split", "infer_schema", "baseline"])
        per_rep_setup = runs[setup].groupby("repeat")["seconds"].sum()
        per_rep_loop = runs[~setup].groupby("repeat")["seconds"].sum()
        assert row["setup seconds"] == pytest.approx(per_rep_setup.median())
        assert row["loop seconds"] == pytest.approx(per_rep_loop.median())
    assert (table["total seconds"] >= table["setup seconds"] + table["loop seconds"] - 1e-9).all()
    fastest = perf.loop_seconds(sweep, agg="min")  # parts of the one fastest run of each n
    totals = sweep[sweep["stage"] == "total"].groupby("value")["seconds"].min()
    assert fastest["total seconds"].tolist() == totals.tolist()
    with pytest.raises(InputError, match="sweep_versions"):
        perf.loop_seconds(sweep[sweep["factor"] == "nothing"])
    with pytest.raises(InputError, match="agg='mean'"):
        perf.loop_seconds(sweep, agg="mean")


def test_add_fit_draws_points_and_the_power_law():
    fit = fit_exponent([1, 10, 100], [2.0, 20.0, 200.0])
    _fig, ax = _axes()
    perf.add_fit(ax, [1, 10, 100], [2.0, 20.0, 200.0], fit, "loop")
    points, line = ax.get_lines()
    assert list(points.get_ydata()) == [2.0, 20.0, 200.0]
    assert line.get_ydata()[-1] == pytest.approx(200.0)
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert [t.get_text() for t in ax.get_legend().get_texts()][1].startswith(
        "loop: fit, slope 1.00"
    )


def test_loop_explorer_reruns_the_loop_and_keeps_a_running_table():
    ex = perf.loop_explorer(versions=2, rows=200)
    assert list(ex.controls) == ["versions", "rows", "validation"]
    assert [c.description for c in ex.controls.values()] == ["versions", "rows", "validation"]
    ex.update()
    ex.update(versions=3, validation="once")
    ex.update(rows=400, validation="off")
    history = ex.last_result["history"]
    assert [(h["versions"], h["rows"], h["validation"]) for h in history] == [
        (2, 200, "each"),
        (3, 200, "once"),
        (2, 400, "off"),
    ]
    assert [(h["cycles"], h["validations"]) for h in history] == [(2, 2), (3, 1), (2, 0)]
    assert "setup" in ex.last_result["stages"] and "train" in ex.last_result["stages"]
    assert ex.summary.startswith("2 versions x 400 rows, validation off: 2 training")
    left, right = ex.figure.axes
    assert len(left.get_xticklabels()) == 3  # one stacked bar per run
    assert right.tables and right.tables[0].get_celld()[(3, 0)].get_text().get_text() == "2"


def test_loop_explorer_refuses_an_unknown_validation_mode():
    with pytest.raises(InputError, match="validation='sometimes'"):
        perf.loop_explorer(validation="sometimes")
    with pytest.raises(InputError, match="versions=0"):
        perf.loop_explorer_compute(0, 200, "each", history=[])


def test_compare_loops_matches_the_written_out_loop_with_run_versions(small):
    result = run_versions(2, data=small)
    decisions = [result.decisions[v] for v in (1, 2)]
    rows = [
        {"deployed": d.blessed, "accuracy": d.metrics["accuracy"], "seconds": 0.1}
        for d in decisions
    ]
    same = perf.compare_loops(rows, result)
    assert same["versions"] == 2 and same["same_decisions"] is True
    assert same["deployed"] == same["library_deployed"] == [d.blessed for d in decisions]
    rows[1]["deployed"] = not rows[1]["deployed"]
    assert perf.compare_loops(rows, result)["same_decisions"] is False
    with pytest.raises(InputError, match="rows is empty"):
        perf.compare_loops([], result)


def test_record_results_writes_what_the_tests_read(tmp_path, small):
    sweep = sweep_versions((1, 2, 3), data=small, spec="dummy", **QUICK)
    table = cost_table(sweep)
    demo = run_versions(2, data=small)
    explorer = perf.loop_explorer(versions=2, rows=200)
    explorer.update()
    fit = fit_exponent([1, 2, 3], [1.0, 2.0, 3.0])
    plain = {"versions": 2, "same_decisions": True}
    path = perf.record_results(
        tmp_path / "out",
        plain=plain,
        demo=demo,
        table=table,
        fit=fit,
        loop_fit=fit,
        counted=fit,
        explorer=explorer,
    )
    saved = json.loads(path.read_text())
    assert saved["plain_loop"] == plain
    assert saved["demo"]["versions"] == 2 and saved["demo"]["counts"]["train"] == 2
    assert saved["cost_table"]["cycles"] == [1, 2, 3]
    assert saved["exponent_operations"] == pytest.approx(1.0)
    assert (saved["explorer"]["runs"], saved["explorer"]["cycles"]) == (1, 2)


STEM = "06_performance_analysis"
CI = ci_parameters(NOTEBOOKS / f"{STEM}.ipynb")


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_06")]

    def test_cost_table_counts_one_cycle_per_version(self, run):
        table = run.results["cost_table"]
        assert table["n"] == CI["versions_ns"]
        assert table["cycles"] == table["n"]
        assert all(s > 0 for s in table["seconds"])

    def test_the_loop_grows_linearly_in_the_number_of_versions(self, run):
        # the exponent the lesson asserts is the one of the counted cycles: exactly linear. The
        # ones fitted on seconds are only checked for shape (timings are for benchmarks/)
        assert run.results["exponent_operations"] == pytest.approx(1.0, abs=1e-9)
        for key in ("exponent_seconds", "exponent_loop_seconds"):  # whole runs; loop stages only
            fit = run.results[key]
            assert fit["ci_low"] <= fit["slope"] <= fit["ci_high"]
            assert fit["n_points"] == len(CI["versions_ns"])

    def test_the_loop_written_out_takes_the_library_loops_decisions(self, run):
        plain = run.results["plain_loop"]
        n = CI["demo_versions"]
        assert plain["versions"] == n
        assert len(plain["deployed"]) == len(plain["seconds"]) == n
        assert plain["deployed"] == plain["library_deployed"]
        assert plain["same_decisions"] is True
        assert plain["accuracy"] == plain["library_accuracy"]
        assert plain["deployed"][0] is True  # the first version meets an empty registry
        assert all(s > 0 for s in plain["seconds"])

    def test_demo_run_counts_every_stage_once_per_version(self, run):
        d = run.results["demo"]
        n = CI["demo_versions"]
        counts = d["counts"]
        assert d["versions"] == n
        assert {s: counts[s] for s in ("split", "infer_schema", "baseline")} == dict.fromkeys(
            ("split", "infer_schema", "baseline"), 1
        )
        for stage in ("validate_data", "train", "evaluate", "validate_model", "monitor", "cycles"):
            assert counts[stage] == n, stage

    def test_explorer_reran_the_loop_with_its_ci_defaults(self, run):
        e = run.results["explorer"]
        assert e["values"] == {
            "versions": CI["explorer_versions"],
            "rows": CI["explorer_rows"],
            "validation": "each",
        }
        assert (e["runs"], e["cycles"], e["validations"]) == (
            1,
            CI["explorer_versions"],
            CI["explorer_versions"],
        )

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        nb = assert_rendered(run)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        # the loop is written out first, with the library's functions, then run by the library
        loop = next(i for i, src in enumerate(code) if "for version, spec in" in src)
        assert all(f"{f}(" in code[loop] for f in ("train_model", "validate_model", "detect_drift"))
        assert "registry.deploy(" in code[loop]
        assert loop < next(i for i, src in enumerate(code) if "run_versions(" in src)
