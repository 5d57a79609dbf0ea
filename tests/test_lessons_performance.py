"""The compute and draw functions behind lesson 6 (performance analysis), and its explorer."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest

from mlcicd.errors import InputError
from mlcicd.growth import fit_exponent
from mlcicd.lessons import performance as perf
from mlcicd.scaling import seed_table, sweep_validation, sweep_versions

matplotlib.use("Agg")
QUICK = dict(progress=False, warmup=False)
pytestmark = pytest.mark.usefixtures("close_figures")


def _axes():
    return plt.subplots()


def test_validation_table_counts_checks_per_mode(small):
    sweep = sweep_validation((2, 3), data=small, spec="dummy", **QUICK)
    table = perf.validation_table(sweep)
    assert table["mode"].tolist() == ["off", "each", "once"] * 2
    assert table["validations"].tolist() == [0, 2, 1, 0, 3, 1]
    assert table["training + validation cycles"].tolist() == [2, 2, 2, 3, 3, 3]
    assert (table.loc[table["mode"] == "off", "validation seconds"] == 0).all()
    assert perf.validation_counts(table) == {
        "off": {"2": 0, "3": 0},
        "each": {"2": 2, "3": 3},
        "once": {"2": 1, "3": 1},
    }


def test_seed_rows_are_json_ready(small):
    table = seed_table(sweep_versions((1, 2), data=small, spec="dummy", **QUICK))
    rows = perf.seed_rows(table)
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
    fig, ax = _axes()
    perf.add_fit(ax, [1, 10, 100], [2.0, 20.0, 200.0], fit, "loop")
    points, line = ax.get_lines()
    assert list(points.get_ydata()) == [2.0, 20.0, 200.0]
    assert line.get_ydata()[-1] == pytest.approx(200.0)
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert [t.get_text() for t in ax.get_legend().get_texts()][1].startswith(
        "loop: fit, slope 1.00"
    )


def test_parallel_speedup_gives_the_same_results_with_two_workers(small):
    r = perf.parallel_speedup(2, data=small, n_jobs=2)
    assert (r["versions"], r["n_jobs"], r["same_results"]) == (2, 2, True)
    assert r["trained"] == {"1": 2, "2": 2}
    assert r["speedup"] == pytest.approx(r["seconds"]["1"] / r["seconds"]["2"])
    assert r["ideal"] == min(2, r["cores"])
    fig, ax = _axes()
    perf.draw_parallel(r, ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["n_jobs=1", "n_jobs=2"]
    assert ax.get_ylabel() == "wall-clock time (s)"


def test_parallel_speedup_needs_at_least_two_workers(small):
    with pytest.raises(InputError, match="n_jobs=1"):
        perf.parallel_speedup(2, data=small, n_jobs=1)


def test_incremental_runs_train_only_what_changed(small):
    runs = perf.incremental_runs(2, data=small)
    assert runs["run"].tolist() == ["first run", "unchanged re-run", "one version added"]
    assert runs["versions"].tolist() == [2, 2, 3]
    assert runs["trained"].tolist() == [2, 0, 1]
    assert runs["gates run"].tolist() == [2, 2, 3]  # the gate is never cached
    # setup (3) + one data check (the second is a hit) + train/evaluate/monitor per version
    assert runs["cache misses"].tolist() == [10, 0, 3]
    assert runs["cache hits"].tolist() == [1, 11, 12]
    fig, ax = _axes()
    perf.draw_incremental(runs, ax)
    assert [len(a.patches) for a in fig.axes] == [3, 3]
    with pytest.raises(InputError, match="versions=0"):
        perf.incremental_runs(0, data=small)


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
