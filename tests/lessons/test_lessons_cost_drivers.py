"""The compute and draw functions behind lesson 7 (what drives the cost), its questions and
its results."""

from __future__ import annotations

import json

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mlcicd.errors import InputError
from mlcicd.lessons import cost_drivers as cd
from mlcicd.measure.scaling import (
    sweep_complexity,
    sweep_data_size,
    sweep_validation,
    sweep_versions,
)

matplotlib.use("Agg")
QUICK = dict(progress=False, warmup=False)
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
    fig, ax = _axes()
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
    fig, ax = _axes()
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


def test_question_bank_hides_answers_and_gives_feedback_to_every_wrong_option():
    for key, q in cd.QUESTIONS.items():
        wrong = set(range(len(q["options"]))) - {q["answer"]}
        assert set(q["feedback"]) == wrong, key
        check = cd.check_yourself(key)
        assert check.check(q["answer"])[0] is True
        for j in wrong:
            ok, text = check.check(j)
            assert not ok and q["feedback"][j] in text


def test_record_results_writes_what_the_tests_read(tmp_path, small):
    by_rows = sweep_data_size((100, 200, 400), n_features=4, software=False, **QUICK)
    by_trees = sweep_complexity((2, 4, 8), rows=100, n_features=3, **QUICK)
    modes = cd.validation_table(sweep_validation((2, 3), data=small, spec="dummy", **QUICK))
    runs = cd.incremental_runs(2, data=small)
    parallel = {"versions": 2, "same_results": True}
    explorer = cd.cycle_explorer(rows=200, features=3)
    explorer.update()
    path = cd.record_results(tmp_path / "out", by_rows=by_rows, by_features=by_rows,
                             by_trees=by_trees, modes=modes, parallel=parallel, runs=runs,
                             explorer=explorer)  # fmt: skip
    saved = json.loads(path.read_text())
    assert saved["cycle_cost"]["rows"]["cycle_cells"] == [500, 1000, 2000]
    assert set(saved["cycle_cost"]["rows"]["fit"]) == {
        "fixed_seconds", "seconds_per_row", "break_even_rows"
    }  # fmt: skip
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
        "logistic_regression", "decision_tree", "latest run"
    ]  # fmt: skip


def test_cycle_explorer_refuses_bad_settings():
    with pytest.raises(InputError, match="model='svm'"):
        cd.cycle_explorer(model="svm")
    with pytest.raises(InputError, match="features=1"):
        cd.cycle_explorer_compute(200, 1, "decision_tree", history=[])
