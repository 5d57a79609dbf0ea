"""The compute and draw functions behind lesson 1 (software vs ML CI/CD), and its explorer."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest

from mlcicd.errors import InputError
from mlcicd.lessons import software_vs_ml as sv
from mlcicd.scaling import sweep_data_size
from mlcicd.software_ci import STEPS

matplotlib.use("Agg")
QUICK = dict(progress=False, warmup=False)
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
    "kwargs, message",
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
