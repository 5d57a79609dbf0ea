"""Scaling sweeps over the real pipeline: counts are exact, fits are exact on power laws."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mlcicd.data import split, synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.measure import scaling
from mlcicd.measure.growth import COLUMNS, fit_exponent, growth

matplotlib.use("Agg")

NS = (2, 4, 8)
NS_VALIDATION = (1, 2, 4)
SMALL = {"progress": False, "warmup": False}


@pytest.fixture(scope="module")
def small_data():
    return synthetic_dataset(200, 4, seed=0)


@pytest.fixture(scope="module")
def versions(small_data):
    return scaling.sweep_versions(NS, data=small_data, spec="dummy", repeats=2, **SMALL)


@pytest.fixture(scope="module")
def validation(small_data):
    return scaling.sweep_validation(NS_VALIDATION, data=small_data, spec="dummy", **SMALL)


@pytest.fixture(scope="module")
def data_size(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("software-ci")
    return scaling.sweep_data_size(
        (100, 1_000, 10_000), n_features=4, spec="dummy", workdir=str(workdir), **SMALL
    )


def _stage(df, stage, **where):
    rows = df[df["stage"] == stage]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows.set_index("value") if "repeat" not in where else rows


# ---------------------------------------------------------------------------- versions


def test_frames_are_tidy(versions):
    assert list(versions.columns) == list(COLUMNS)
    assert set(versions["pipeline"]) == {"ml"}
    assert set(versions["factor"]) == {"versions"}
    # one row per stage per (n, repeat): 9 stages of the loop plus the total
    assert versions.groupby(["value", "repeat"]).size().tolist() == [10] * 6
    assert versions["seconds"].notna().all()  # every stage of every run was timed
    totals = versions["stage"] == "total"
    assert (versions.loc[totals, "cpu_seconds"] > 0).all()
    assert versions.loc[~totals, "cpu_seconds"].isna().all()
    assert growth(versions, "versions", y="cpu_seconds", agg="min").n_points == len(NS)


def test_operation_counts_are_linear_in_n(versions):
    for stage in ("validate_data", "train", "evaluate", "validate_model", "monitor"):
        ops = _stage(versions, stage, repeat=0).set_index("value")["operations"]
        assert ops.to_dict() == {n: n for n in NS}, stage
    for stage in ("split", "infer_schema", "baseline"):  # once per data version
        assert set(_stage(versions, stage)["operations"]) == {1}
    cycles = _stage(versions, "total", repeat=1).set_index("value")["operations"]
    assert cycles.to_dict() == {n: n for n in NS}


def test_cells_count_rows_times_columns_read(versions, small_data):
    train, holdout = split(small_data, seed=0)
    cols = small_data.shape[1]
    rows = _stage(versions, "train", repeat=0).set_index("value")["cells"]
    assert rows.to_dict() == {n: n * len(train) * cols for n in NS}
    monitor = _stage(versions, "monitor", repeat=0).set_index("value")["cells"]
    assert monitor.to_dict() == {n: n * (len(train) + len(holdout)) * cols for n in NS}


def test_cost_table(versions):
    table = scaling.cost_table(versions)
    assert list(table.columns) == [
        "n versions",
        "training + validation cycles",
        "seconds",
        "seconds per version",
    ]
    assert table["n versions"].tolist() == list(NS)
    assert table["training + validation cycles"].tolist() == list(NS)
    assert (table["seconds"] > 0).all()
    np.testing.assert_allclose(table["seconds per version"], table["seconds"] / table["n versions"])


def test_exponent_of_operation_counts_is_one(versions):
    fit = growth(versions, "versions", y="operations")
    assert fit.slope == pytest.approx(1.0, abs=1e-9)
    assert fit.r2 == pytest.approx(1.0, abs=1e-9)
    assert fit.n_points == len(NS)


def test_default_grid_versions_are_counted(small_data):
    df = scaling.sweep_versions((1, 2), data=small_data, **SMALL)  # logistic regressions
    assert scaling.cost_table(df)["training + validation cycles"].tolist() == [1, 2]


# ---------------------------------------------------------------------------- validation


def test_validations_counted_per_mode(validation, small_data):
    assert set(validation["mode"]) == {"off", "each", "once"}
    runs = _stage(validation, "validate_data")
    each = runs[runs["mode"] == "each"]["operations"]
    once = runs[runs["mode"] == "once"]["operations"]
    assert each.to_dict() == {n: n for n in NS_VALIDATION}
    assert once.to_dict() == dict.fromkeys(NS_VALIDATION, 1)
    assert runs[runs["mode"] == "off"].empty  # never ran: no row
    m = len(split(small_data, seed=0)[0]) * small_data.shape[1]
    cells = runs.reset_index().pivot(index="value", columns="mode", values="cells")
    assert cells["each"].to_dict() == {n: n * m for n in NS_VALIDATION}  # O(n * m)
    assert cells["once"].to_dict() == dict.fromkeys(NS_VALIDATION, m)  # O(m)
    trains = _stage(validation, "train")
    assert (trains["operations"] == trains.index).all()  # the n * t part, in every mode


def test_validation_mode_is_checked():
    with pytest.raises(InputError, match="modes must be one of 'each', 'once', 'off', got 'twice'"):
        scaling.sweep_validation((1, 2), modes=("each", "twice"), **SMALL)


# ---------------------------------------------------------------------------- data size


def test_ml_work_grows_with_rows_and_software_stays_flat(data_size):
    ml = _stage(data_size, "total", pipeline="ml")
    software = data_size[data_size["pipeline"] == "software"]
    assert set(software["factor"]) == {"data_rows"}
    assert ml["cells"].is_monotonic_increasing and ml["cells"].iloc[-1] == 100 * ml["cells"].iloc[0]
    train = _stage(data_size, "train", pipeline="ml")
    for m, cells in train["cells"].items():
        assert cells == (m - math.ceil(0.25 * m)) * 5
    # software: the same steps and operation counts at every size, and no data read
    per_size = software.pivot_table(index="value", columns="stage", values="operations")
    assert len(per_size.drop_duplicates()) == 1
    assert (software["cells"] == 0).all()
    totals = software[software["stage"] == "total"].set_index("value")
    steps = software[software["stage"] != "total"].groupby("value")["seconds"].sum()
    np.testing.assert_allclose(totals["seconds"], steps)


def test_features_and_complexity_sweeps():
    feats = scaling.sweep_features((2, 4, 8), rows=100, spec="dummy", **SMALL)
    train = _stage(feats, "train")
    n_train = 100 - math.ceil(25)
    assert train["cells"].to_dict() == {f: n_train * (f + 1) for f in (2, 4, 8)}
    trees = scaling.sweep_complexity((1, 2, 4), rows=100, n_features=3, **SMALL)
    assert set(trees["factor"]) == {"n_estimators"}
    assert _stage(trees, "train")["operations"].to_dict() == {1: 1, 2: 1, 4: 1}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: scaling.sweep_versions((), **SMALL),
            "ns must be a non-empty list of ints >= 1, got \\(\\)",
        ),
        (
            lambda: scaling.sweep_versions((1, 0), **SMALL),
            r"ns must be a non-empty list of ints >= 1, got \(1, 0\)",
        ),
        (
            lambda: scaling.sweep_versions("10", **SMALL),
            "ns must be a non-empty list of ints >= 1, got '10'",
        ),
        (
            lambda: scaling.sweep_versions((1,), validation="x", **SMALL),
            "validation must be one of 'each', 'once', 'off', got 'x'",
        ),
        (
            lambda: scaling.sweep_data_size((5,), **SMALL),
            r"rows must be a non-empty list of ints >= 20, got \(5,\)",
        ),
        (lambda: scaling.sweep_versions((1,), spec="svm", **SMALL), "'svm'"),
        (
            lambda: scaling.sweep_versions((1,), repeats=0, **SMALL),
            "repeats must be an int >= 1, got 0",
        ),
        (
            lambda: scaling.sweep_features((2,), repets=2, **SMALL),
            "sweep_features: unknown option 'repets' \\(expected one of repeats, holdout",
        ),
        (
            lambda: scaling.sweep_complexity((1,), param="depth", rows=50, **SMALL),
            "no hyper-parameter 'depth'",
        ),
    ],
)
def test_bad_sweep_input(call, message):
    with pytest.raises(InputError, match=message):
        call()


# ---------------------------------------------------------------------------- fits


@pytest.mark.parametrize("power", [1, 2])
def test_fit_exponent_exact_on_power_laws(power):
    x = np.array([10, 30, 100, 300, 1000])
    fit = fit_exponent(x, 0.003 * x**power)
    assert fit.slope == pytest.approx(power, abs=1e-9)
    assert fit.intercept == pytest.approx(math.log(0.003), abs=1e-9)
    assert fit.ci_low <= fit.slope <= fit.ci_high
    assert fit.ci_high - fit.ci_low == pytest.approx(0, abs=1e-6)
    assert fit.r2 == pytest.approx(1.0, abs=1e-12)
    assert set(fit.to_dict()) == {"slope", "intercept", "ci_low", "ci_high", "r2", "n_points"}


def test_fit_interval_covers_the_true_slope_under_noise():
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 10_000, 12)
    y = 2.0 * x**1.5 * np.exp(rng.normal(scale=0.05, size=x.size))
    fit = fit_exponent(x, y)
    assert fit.ci_low < 1.5 < fit.ci_high
    assert fit.ci_low < fit.slope < fit.ci_high
    assert 0 < fit.ci_high - fit.ci_low < 0.2


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1, 2], [1, 2], "at least 3 points"),
        ([1, 2, 3], [1, 0, 3], "y values must be positive"),
        ([1, -2, 3], [1, 2, 3], "x values must be positive"),
        ([1, 2, 3], [1, 2], "x has 3 values but y has 2"),
        ([2, 2, 2], [1, 2, 3], "two distinct values"),
    ],
)
def test_fit_exponent_refuses(x, y, message):
    with pytest.raises(InputError, match=message):
        fit_exponent(x, y)


# ---------------------------------------------------------------------------- figures


def test_plots_return_labelled_axes(versions, validation, data_size):
    import matplotlib.pyplot as plt

    ax = scaling.plot_loglog(versions, "versions")
    assert ax.get_xlabel() == "model versions n (count)"
    assert ax.get_ylabel() == "wall-clock time (s)"
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_title()
    assert any("slope" in t.get_text() for t in ax.get_legend().get_texts())
    ax = scaling.plot_loglog(validation, "versions", y="operations")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("validation once: fit, slope 1.00" in label for label in labels)
    ax = scaling.plot_stage_stack(versions)
    assert ax.get_ylabel() == "seconds per stage (s)" and ax.get_xlabel() and ax.get_title()
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"train", "monitor"}
    ax = scaling.plot_stage_stack(validation)  # one bar per (n, mode)
    assert len(ax.get_xticklabels()) == 9
    ax = scaling.plot_ml_vs_software(data_size)
    assert ax.get_xlabel() == "data rows m (rows)" and ax.get_ylabel() and ax.get_title()
    assert len(ax.get_lines()) == 2
    plt.close("all")


def test_plot_input_is_checked(versions):
    with pytest.raises(InputError, match="factor 'data_rows': no total rows"):
        scaling.plot_loglog(versions, "data_rows")
    with pytest.raises(InputError, match="no software rows"):
        scaling.plot_ml_vs_software(versions.assign(factor="data_rows"))
    with pytest.raises(InputError, match="expected a sweep frame"):
        scaling.plot_stage_stack(pd.DataFrame({"x": [1]}))
