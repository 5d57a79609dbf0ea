"""Lesson 1 (software CI/CD vs ML CI/CD): the functions of ``mlcicd/lessons/software_vs_ml.py`` on
small inputs, then the notebook executed in CI and what it recorded."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest

from mlcicd.course.run import NOTEBOOKS, ci_parameters
from mlcicd.errors import InputError
from mlcicd.lessons import software_vs_ml as sv
from mlcicd.measure.scaling import sweep_data_size
from mlcicd.measure.software_ci import STEPS

matplotlib.use("Agg")
QUICK = {"progress": False, "warmup": False}
pytestmark = pytest.mark.usefixtures("close_figures")


def _axes():
    return plt.subplots()


def test_side_by_side_runs_both_pipelines_on_the_same_data(tmp_path, small):
    r = sv.side_by_side(tmp_path / "ci", data=small, versions=2, repeats=2)
    assert (r["rows"], r["columns"], r["versions"], r["repeats"]) == (200, 5, 2, 2)
    assert list(r["software"]) == list(STEPS) and r["software_ok"]
    assert r["software_total"] == pytest.approx(sum(r["software"].values()))
    assert r["ml_cycles"] == 2
    assert {"split", "validate_data", "train", "evaluate", "monitor"} <= set(r["ml"])
    assert "evaluate_production" not in r["ml"]  # stages that never ran are left out
    assert r["ratio"] == pytest.approx(r["ml_total"] / r["software_total"])
    # the software pipeline received a data file of as many rows, and never read it
    assert (tmp_path / "ci" / "data" / "rows.csv").read_text().count("\n") == 201


def test_side_by_side_makes_synthetic_data_of_the_requested_rows(tmp_path):
    r = sv.side_by_side(tmp_path, rows=300, versions=1)
    assert (r["rows"], r["columns"], r["ml_cycles"]) == (300, 31, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"versions": 0}, "versions=0"),
        ({"rows": 5}, "rows=5"),
        ({"repeats": 1.5}, "repeats=1.5"),
    ],
)
def test_side_by_side_refuses_bad_sizes(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        sv.side_by_side(tmp_path, **kwargs)


def test_draw_side_by_side_puts_both_pipelines_on_one_scale(tmp_path, small):
    r = sv.side_by_side(tmp_path, data=small, versions=1)
    fig, ax = _axes()
    sv.draw_side_by_side(r, ax)
    left, right = fig.axes
    assert len(left.patches) == len(STEPS) and len(right.patches) == len(r["ml"])
    assert left.get_ylim() == right.get_ylim()
    assert left.get_ylabel() == "seconds (s)"
    assert "200 data rows" in fig._suptitle.get_text()
    assert "software CI" in sv.describe_side_by_side(r)


def test_side_by_side_explorer_reruns_both_pipelines_at_the_slider_size(tmp_path):
    ex = sv.side_by_side_explorer(tmp_path, rows=2_000)
    assert list(ex.controls) == ["rows"] and ex.controls["rows"].description == "rows"
    ex.update()
    assert ex.last_result["rows"] == 2_000
    ex.update(rows=3_000)
    assert (ex.runs, ex.last_result["rows"], ex.last_result["ml_cycles"]) == (2, 3_000, 1)
    assert ex.summary.startswith("3,000 rows: software CI")
    assert len(ex.figure.axes) == 2


def test_ml_vs_software_table_counts_operations_and_cells(tmp_path):
    sweep = sweep_data_size((100, 400), n_features=4, spec="dummy", workdir=str(tmp_path), **QUICK)
    table = sv.ml_vs_software_table(sweep)
    assert table["data rows"].tolist() == [100, 400]
    ops = table["software operations"].tolist()
    assert ops[0] == ops[1] > 0  # the same files and tests whatever the data size
    # split reads all rows; schema, validation, training and monitoring the 3/4 training split;
    # baseline, evaluation and monitoring the 1/4 holdout: 4.75 x rows x 5 columns
    assert table["ML cells read"].tolist() == [2_375, 9_500]
    assert (table["ML / software"] == table["ML seconds"] / table["software seconds"]).all()
    with pytest.raises(InputError, match="software=True"):
        sv.ml_vs_software_table(sweep[sweep["pipeline"] == "ml"])


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """Small sweeps of every kind the growth table combines."""
    from mlcicd.measure.scaling import sweep_complexity, sweep_versions
    from mlcicd.measure.software_ci import software_ci_code_sweep

    tmp = tmp_path_factory.mktemp("growth")
    data = sweep_data_size(
        (100, 200, 400), n_features=4, spec="dummy", workdir=str(tmp / "d"), **QUICK
    )
    code = software_ci_code_sweep((0, 2, 4), tests_per_module=2, workdir=tmp / "c", **QUICK)
    versions = sweep_versions((1, 2, 4), spec="dummy", **QUICK)
    complexity = sweep_complexity((2, 4), rows=100, n_features=3, **QUICK)
    return data, code, versions, complexity


def test_growth_table_counts_what_each_pipeline_grows_with(sweeps):
    data, code, versions, complexity = sweeps
    table = sv.growth_table(data, code, versions, complexity)
    assert list(table.columns) == list(sv.GROWTH_COLUMNS)
    rows = {
        (p, g): r
        for p, g, r in zip(
            table["pipeline"], table["grows with"], table.to_dict("records"), strict=True
        )
    }
    code_row = rows[("software", "code and tests (lines of Python)")]
    # 3 + 2m files, each handled by 4 steps, and 13 + 2m tests run
    assert (code_row["work: smallest"], code_row["work: largest"]) == (4 * 3 + 13, 4 * 11 + 21)
    assert code_row["size: largest"] > code_row["size: smallest"]
    assert code_row["work exponent"] > 0
    sw = rows[("software", "data (rows)")]
    assert (sw["size: smallest"], sw["size: largest"], sw["work exponent"]) == (100, 400, 0.0)
    assert sw["work: smallest"] == sw["work: largest"] == code_row["work: smallest"]
    ml = rows[("ML", "data (rows)")]
    assert ml["work: largest"] == 4 * ml["work: smallest"]
    assert ml["work exponent"] == pytest.approx(1.0)
    v = rows[("ML", "model versions")]
    assert (v["work: smallest"], v["work: largest"]) == (1, 4)
    assert v["work exponent"] == pytest.approx(1.0)
    cx = rows[("ML", "model complexity (n_estimators)")]
    assert (cx["size: smallest"], cx["size: largest"], cx["work exponent"]) == (2, 4, 0.0)
    assert len(sv.growth_table(data, code, versions)) == 4  # complexity is optional
    _fig, ax = _axes()
    sv.draw_growth(table, ax)
    assert len(ax.patches) == len(table)
    assert next(t.get_text() for t in ax.get_yticklabels()).startswith("software: code")


def test_growth_table_refuses_a_sweep_without_the_rows_it_needs(sweeps):
    data, code, versions, _ = sweeps
    with pytest.raises(InputError, match="no software rows for 'code_modules'"):
        sv.growth_table(data, data, versions)
    with pytest.raises(InputError, match="at least two distinct sizes"):
        sv.growth_table(data, code[code["value"] == 0], versions)


def test_record_results_writes_what_the_lesson_computed(tmp_path, sweeps, small):
    import json

    from mlcicd.measure.software_ci import run_software_ci

    data, code, versions, _ = sweeps
    growth = sv.growth_table(data, code, versions)
    software = run_software_ci(tmp_path / "ci")
    both = sv.side_by_side(tmp_path / "ci", data=small, versions=1)
    explorer = sv.side_by_side_explorer(tmp_path / "ex", rows=1_000)
    explorer.update()
    path = sv.record_results(
        tmp_path / "out", software=software, both=both, sweep=data, growth=growth, explorer=explorer
    )
    saved = json.loads(path.read_text())
    assert saved["software_steps"] == sorted(STEPS)
    assert saved["side_by_side"]["rows"] == 200 and saved["side_by_side"]["software_ok"]
    assert saved["sweep"]["rows"] == [100, 200, 400] and saved["sweep"]["software_cells"] == 0
    assert [g["grows with"] for g in saved["growth"]] == growth["grows with"].tolist()
    assert saved["explorer"]["rows"] == 1_000 and saved["explorer"]["runs"] == 1


def test_the_maturity_levels_name_their_source():
    import nbformat

    from mlcicd.course.run import NOTEBOOKS

    nb = nbformat.read(NOTEBOOKS / "01_software_vs_ml_cicd.ipynb", as_version=4)
    (text,) = [c.source for c in nb.cells if "MLOps maturity: how much" in c.source]
    assert "Google Cloud" in text and "Continuous\ndelivery and automation pipelines" in text
    assert "Level 2: CI/CD of the pipeline itself" in text


STEM = "01_software_vs_ml_cicd"
CI = ci_parameters(NOTEBOOKS / f"{STEM}.ipynb")


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_01")]

    def test_side_by_side_ran_both_real_pipelines(self, run):
        s = run.results["side_by_side"]
        assert run.results["software_steps"] == sorted(STEPS)
        assert (s["rows"], s["versions"], s["ml_cycles"], s["software_ok"]) == (
            569,
            CI["ml_versions"],
            CI["ml_versions"],
            True,
        )
        assert s["software_operations"] > 0

    def test_software_work_is_constant_while_ml_work_grows_with_the_data(self, run):
        sweep = run.results["sweep"]
        assert sweep["rows"] == CI["data_rows"]
        ops = sweep["software_operations"]
        assert len(set(ops)) == 1 and ops[0] == run.results["side_by_side"]["software_operations"]
        assert sweep["software_cells"] == 0  # no software step reads the data
        # the ML stages read every row: cells read grow exactly with the rows
        per_row = [
            cells / rows for cells, rows in zip(sweep["ml_cells"], sweep["rows"], strict=True)
        ]
        assert per_row == [per_row[0]] * len(per_row) and per_row[0] > 0

    def test_the_ratio_the_lesson_states_is_its_measured_ml_over_software_time(self, run):
        # timings are never compared in a test (a shared machine is noisy): only that the
        # ratio the lesson prints is the one of its own measurements
        sweep = run.results["sweep"]
        assert run.results["ratio_at_largest"] == pytest.approx(
            sweep["ml_seconds"][-1] / sweep["software_seconds"][-1]
        )

    def test_explorer_ran_both_pipelines_at_the_slider_size(self, run):
        e = run.results["explorer"]
        assert (e["runs"], e["rows"], e["ml_cycles"], e["software_ok"]) == (
            1,
            CI["explorer_rows"],
            1,
            True,
        )
        assert e["summary"].startswith(f"{CI['explorer_rows']:,} rows: software CI")

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        assert_rendered(run)

    def test_growth_table_shows_what_each_pipeline_grows_with(self, run):
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
