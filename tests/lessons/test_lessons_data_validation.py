"""The compute and draw functions behind lesson 2 (data validation), and its explorer."""

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
    "kwargs, message",
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
    assert kinds == {
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
    for factor, valid in ((low * 1.001, True), (high * 0.999, True), (low * 0.99, False),
                          (high * 1.01, False)):  # fmt: skip
        assert validate_data(dv.corrupt(train, scale=factor), schema).valid is valid, factor
    with pytest.raises(InputError, match="column mean_radius: needs positive values"):
        dv.unit_factor_window(train.assign(mean_radius=-1.0), schema)


def test_questions_give_feedback_for_every_wrong_option():
    for key, entry in dv.QUESTIONS.items():
        wrong = set(range(len(entry["options"]))) - {entry["answer"]}
        assert set(entry["feedback"]) == wrong, key
        ask = dv.check_yourself(key)
        assert ask.check(entry["answer"])[0]
        assert all(not ask.check(choice)[0] for choice in wrong)
    # the seed's practice question is set in a new scenario, not asked in the seed's words
    assert "main reason" not in dv.QUESTIONS["keep_the_step"]["question"]


def test_record_results_writes_what_the_lesson_computed(tmp_path, df, data, schema):
    import json

    train, holdout = data
    reports = {name: validate_data(b, schema) for name, b in dv.broken_batches(holdout).items()}
    tradeoff = dv.slack_tradeoff(train, holdout, [0.1, 0.5])
    model = train_model(train, TARGET)
    fps = {"train": fingerprint(train), "train, rebuilt from the source": fingerprint(train),
           "train, one value changed": "x", "train, rows reversed": "y"}  # fmt: skip
    sweep = dv.scale_sweep(train, holdout, schema, [0.1, 1.0])
    explorer = dv.corruption_explorer(train, holdout, schema)
    explorer.update(missing_share=0.0, scale=1.0)
    path = dv.record_results(
        tmp_path, reports=reports, tradeoff=tradeoff, fingerprints=fps, model=model,
        accuracy={"clean": 0.9}, benign_share=0.6, training_refused_gaps=True,
        blocked={"unit change": True}, window=(0.6, 1.1), sweep=sweep, explorer=explorer,
    )  # fmt: skip
    saved = json.loads(path.read_text())
    assert saved["all_at_once_anomalies"] == 5
    assert saved["fingerprints"] == dict.fromkeys(
        ["same_content_same_id", "one_value_changed_new_id", "row_order_new_id",
         "model_records_data_version"], True,
    )  # fmt: skip
    assert saved["sweep"]["blocked"] == [True, False] and saved["unit_factor_window"] == [0.6, 1.1]
    assert saved["explorer"]["valid"] is True and saved["training_refused_gaps"] is True


def test_the_lesson_asks_every_question_without_showing_its_answer():
    import nbformat

    from mlcicd.course.run import NOTEBOOKS

    nb = nbformat.read(NOTEBOOKS / "02_data_validation.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    asked = [s for s in code if "check_yourself" in s]
    assert asked == [f'dv.check_yourself("{key}")' for key in dv.QUESTIONS]
    assert not [s for s in code if "SelfCheck" in s]
