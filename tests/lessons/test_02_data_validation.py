"""Lesson 2 (data validation): the functions of ``mlcicd/lessons/data_validation.py`` on small
inputs, then the notebook executed in CI and what it recorded."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlcicd.data import TARGET, fingerprint
from mlcicd.errors import InputError
from mlcicd.lessons import data_validation as dv
from mlcicd.training import train_model
from mlcicd.validation import validate_data


@pytest.fixture(scope="module")
def schema(df):
    return dv.reference_schema(df)


# what each broken batch of the lesson must show: the module's batches and the notebook's run alike
ANOMALY_KINDS = {
    "clean": [],
    "missing column": ["missing_column"],
    "wrong type": ["wrong_type"],
    "missing values": ["missing_values"],
    "out of range": ["out_of_range"],
    "unknown category": ["unknown_category"],
    "empty": ["empty_dataset"],
    "all at once": [
        "missing_column",
        "missing_values",
        "out_of_range",
        "unknown_category",
        "wrong_type",
    ],
}


def _axes():
    fig, ax = plt.subplots()
    return fig, ax


def test_reference_schema_declares_the_label_a_category(df, data, schema):
    label = schema.column(TARGET)
    assert (label.dtype, label.categories) == ("category", (0, 1))
    assert schema.column("mean_radius").dtype == "float"
    assert validate_data(data[0], schema).valid and validate_data(data[1], schema).valid


def test_slack_tradeoff_counts_false_alarms_and_catches(data):
    t = dv.slack_tradeoff(data[0], data[1], [0.1, 0.5])
    assert t["false_alarms"].tolist() == [8, 0]
    assert t["unit_change_caught"].tolist() == [True, False]
    # a radius was never negative: the widest slack reaches 0 but keeps the sign
    assert t["mean_radius_min"].iloc[1] == 0 < t["mean_radius_min"].iloc[0]


def test_corrupt_scales_one_column_and_blanks_a_share(data):
    train = data[0]
    out = dv.corrupt(train, missing_share=0.2, scale=0.1, seed=3)
    features = [c for c in train.columns if c != TARGET]
    share = out[features].isna().to_numpy().mean()
    assert 0.18 < share < 0.22 and out[TARGET].equals(train[TARGET])
    kept = out["mean_radius"].notna()
    assert np.allclose(out.loc[kept, "mean_radius"], train.loc[kept, "mean_radius"] * 0.1)
    assert dv.corrupt(train, missing_share=0.2, seed=3).equals(
        dv.corrupt(train, missing_share=0.2, seed=3)
    )
    assert dv.corrupt(train).equals(train)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"missing_share": 1.5}, "missing_share=1.5: expected a share in [0, 1]"),
        ({"scale": 0}, "scale=0: expected a finite number > 0"),
        ({"column": "nope"}, "column 'nope': not a feature column of the data"),
        ({"column": TARGET}, "column 'target': not a feature column of the data"),
    ],
)
def test_corrupt_refuses_bad_parameters(data, kwargs, message):
    with pytest.raises(InputError) as err:
        dv.corrupt(data[0], **kwargs)
    assert str(err.value) == message


def test_each_broken_batch_shows_its_anomaly_and_one_pass_finds_them_all(data, schema):
    batches = dv.broken_batches(data[1], seed=0)
    reports = {name: validate_data(b, schema) for name, b in batches.items()}
    kinds = {name: sorted({a.kind for a in r.anomalies}) for name, r in reports.items()}
    assert kinds == ANOMALY_KINDS
    unknown = next(a for a in reports["unknown category"].anomalies)
    assert (unknown.column, unknown.count) == (TARGET, 5)
    summary = dv.anomaly_summary(reports)
    assert list(summary.columns) == ["batch", "rows", "valid", "anomalies", "kinds"]
    assert summary.set_index("batch").loc["all at once", "anomalies"] == 5
    assert summary["valid"].tolist() == [True] + [False] * 7
    fig, ax = _axes()
    dv.draw_anomaly_matrix(reports, ax)
    assert "found" in [t.get_text() for t in ax.texts] and ax.get_title()
    plt.close(fig)


def test_broken_batches_needs_the_breast_cancer_columns():
    with pytest.raises(InputError, match="needs the column 'mean_radius'"):
        dv.broken_batches(pd.DataFrame({"x": [1.0], TARGET: [0]}))


def test_validation_first_blocks_training_on_a_broken_batch(data, schema):
    train = data[0]
    report, trained = dv.train_with_validation(dv.corrupt(train, scale=0.1), schema)
    assert not report.valid and trained is None
    report, trained = dv.train_with_validation(train, schema)
    assert report.valid and trained.metadata["data_fingerprint"] == fingerprint(train)
    holes = dv.corrupt(train, missing_share=0.2)
    imputed = train_model(holes, TARGET)  # no error: the pipeline imputes the holes silently
    assert [name for name, _ in imputed.model.steps] == ["prepare", "model"]
    assert dv.train_without_validation(holes).metadata["n_rows"] == len(train)


def test_corruption_explorer_reruns_validation_and_training(data, schema):
    ex = dv.corruption_explorer(data[0], data[1], schema)
    r = ex.update(missing_share=0.0, scale=0.1)
    assert not r["valid"] and r["anomalies"] == {"out_of_range": len(data[0])}
    assert r["accuracy_with_validation"] == r["accuracy_clean"] == 0.958042
    assert r["accuracy_without_validation"] < 0.5
    assert "training blocked" in ex.summary and len(ex.figure.axes) == 2
    r = ex.update(missing_share=0.0, scale=1.0)
    assert r["valid"] and r["anomalies"] == {}
    assert r["accuracy_without_validation"] == r["accuracy_with_validation"] == r["accuracy_clean"]
    r = ex.update(missing_share=0.3, scale=1.0)
    assert set(r["anomalies"]) == {"missing_values"} and ex.runs == 3
    assert r["accuracy_without_validation"] < r["accuracy_clean"] - 0.1


def test_scale_sweep_blocks_out_of_range_factors(data, schema):
    sweep = dv.scale_sweep(data[0], data[1], schema, [0.1, 1.0, 10.0])
    assert sweep["blocked"].tolist() == [True, False, True]
    assert sweep["accuracy_with_validation"].tolist() == [0.958042] * 3
    assert sweep["accuracy_without_validation"].iloc[0] < 0.5
    fig, ax = _axes()
    dv.draw_scale_sweep(sweep, ax, len(data[1]))
    assert ax.get_xscale() == "log" and "143 rows" in ax.get_ylabel()
    plt.close(fig)


def test_unit_factor_window_is_where_the_range_check_goes_blind(data, schema):
    train = data[0]
    low, high = dv.unit_factor_window(train, schema)
    bounds = schema.column("mean_radius")
    assert low == pytest.approx(bounds.min / train["mean_radius"].min())
    assert high == pytest.approx(bounds.max / train["mean_radius"].max())
    assert 0 < low < 1 < high
    # just inside the window the batch passes; just outside it is refused
    for factor, valid in (
        (low * 1.001, True),
        (high * 0.999, True),
        (low * 0.99, False),
        (high * 1.01, False),
    ):
        assert validate_data(dv.corrupt(train, scale=factor), schema).valid is valid, factor
    with pytest.raises(InputError, match="column mean_radius: needs positive values"):
        dv.unit_factor_window(train.assign(mean_radius=-1.0), schema)


def test_the_seeds_practice_question_is_set_in_a_new_scenario():
    # test_lessons_common checks that every question is asked and has feedback
    assert "main reason" not in dv.QUESTIONS["keep_the_step"]["question"]


def test_record_results_writes_what_the_lesson_computed(tmp_path, df, data, schema):
    import json

    train, holdout = data
    reports = {name: validate_data(b, schema) for name, b in dv.broken_batches(holdout).items()}
    tradeoff = dv.slack_tradeoff(train, holdout, [0.1, 0.5])
    model = train_model(train, TARGET)
    fps = {
        "train": fingerprint(train),
        "train, rebuilt from the source": fingerprint(train),
        "train, one value changed": "x",
        "train, rows reversed": "y",
    }
    sweep = dv.scale_sweep(train, holdout, schema, [0.1, 1.0])
    explorer = dv.corruption_explorer(train, holdout, schema)
    explorer.update(missing_share=0.0, scale=1.0)
    path = dv.record_results(
        tmp_path,
        reports=reports,
        tradeoff=tradeoff,
        fingerprints=fps,
        model=model,
        accuracy={"clean": 0.9},
        benign_share=0.6,
        training_refused_gaps=True,
        blocked={"unit change": True},
        window=(0.6, 1.1),
        sweep=sweep,
        explorer=explorer,
    )
    saved = json.loads(path.read_text())
    assert saved["all_at_once_anomalies"] == 5
    assert saved["fingerprints"] == dict.fromkeys(
        [
            "same_content_same_id",
            "one_value_changed_new_id",
            "row_order_new_id",
            "model_records_data_version",
        ],
        True,
    )
    assert saved["sweep"]["blocked"] == [True, False] and saved["unit_factor_window"] == [0.6, 1.1]
    assert saved["explorer"]["valid"] is True and saved["training_refused_gaps"] is True


STEM = "02_data_validation"


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_02")]

    def test_every_broken_batch_is_caught_with_its_own_anomaly(self, run):
        r = run.results
        assert r["anomaly_kinds"] == ANOMALY_KINDS
        assert r["all_at_once_anomalies"] == 5

    def test_slack_trades_false_alarms_against_missed_errors(self, run):
        t = run.results["slack_tradeoff"]
        assert t["slack"] == [0.05, 0.1, 0.2, 0.3, 0.5]
        assert t["false_alarms"] == [10, 8, 6, 2, 0]
        assert t["unit_change_caught"] == [True, True, True, True, False]
        # the default slack (0.5) widens the lower bound of a radius down to 0: its sign stops it
        assert t["mean_radius_min"][-1] == 0 < t["mean_radius_min"][0]  # the sign is kept

    def test_the_sizes_the_lesson_states(self, run):
        # "569 tumour samples", "426 rows x 31 columns", a holdout of 143 rows
        assert run.results["shapes"] == {
            "dataset": [569, 31],
            "train": [426, 31],
            "holdout": [143, 31],
        }

    def test_fingerprints_identify_content(self, run):
        assert run.results["fingerprints"] == {
            "same_content_same_id": True,
            "one_value_changed_new_id": True,
            "row_order_new_id": True,
            "model_records_data_version": True,
        }

    def test_training_on_broken_data_degrades_silently_and_validation_blocks_it(self, run):
        r = run.results
        assert r["accuracy"]["clean"] == 0.958042
        assert r["accuracy"]["unit_change_no_validation"] == 0.384615
        assert r["accuracy"]["missing_filled_with_0_no_validation"] < r["accuracy"]["clean"] - 0.02
        # "worse than always answering benign", and "about 0.63 of the holdout is benign"
        assert r["benign_share"] == pytest.approx(90 / 143)
        assert r["accuracy"]["unit_change_no_validation"] < r["benign_share"]
        assert r["training_refused_gaps"] is False  # train_model imputes the gaps in its pipeline
        assert r["blocked_by_validation"] == {"unit change": True, "missing values": True}
        sweep = r["sweep"]
        assert len(sweep["factor"]) == 7  # the CI parameter
        assert sweep["blocked"] == [True, True, True, False, True, True, True]
        assert sweep["accuracy_with_validation"] == [0.958042] * 7
        assert min(sweep["accuracy_without_validation"]) < 0.5
        # the window of factors the range check cannot see, computed from the schema
        low, high = r["unit_factor_window"]
        assert low == pytest.approx(0.633, abs=0.001) and high == pytest.approx(1.075, abs=0.001)
        passed = [low <= f <= high for f in sweep["factor"]]
        assert sweep["blocked"] == [not p for p in passed]

    def test_explorer_ran_a_real_computation(self, run):
        e = run.results["explorer"]
        assert (e["missing_share"], e["scale"], e["valid"]) == (0.1, 0.1, False)
        assert set(e["anomalies"]) == {"missing_values", "out_of_range"}
        assert e["accuracy_with_validation"] == e["accuracy_clean"] == 0.958042
        assert e["accuracy_without_validation"] < 0.9

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        assert_rendered(run)
