"""Lesson 2 (data validation) runs in CI and computes what it teaches."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_02")]

STEM = "02_data_validation"


def test_every_broken_batch_is_caught_with_its_own_anomaly(run):
    r = run.results
    assert r["anomaly_kinds"] == {
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
    assert r["all_at_once_anomalies"] == 5


def test_slack_trades_false_alarms_against_missed_errors(run):
    t = run.results["slack_tradeoff"]
    assert t["slack"] == [0.05, 0.1, 0.2, 0.3, 0.5]
    assert t["false_alarms"] == [10, 8, 6, 2, 0]
    assert t["unit_change_caught"] == [True, True, True, True, False]
    # the default slack (0.5) widens the lower bound of a radius down to 0: its sign stops it
    assert t["mean_radius_min"][-1] == 0 < t["mean_radius_min"][0]  # the sign is kept


def test_the_sizes_the_lesson_states(run):
    # "569 tumour samples", "426 rows x 31 columns", a holdout of 143 rows
    assert run.results["shapes"] == {"dataset": [569, 31], "train": [426, 31], "holdout": [143, 31]}


def test_fingerprints_identify_content(run):
    assert run.results["fingerprints"] == {
        "same_content_same_id": True,
        "one_value_changed_new_id": True,
        "row_order_new_id": True,
        "model_records_data_version": True,
    }


def test_training_on_broken_data_degrades_silently_and_validation_blocks_it(run):
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


def test_explorer_ran_a_real_computation(run):
    e = run.results["explorer"]
    assert (e["missing_share"], e["scale"], e["valid"]) == (0.1, 0.1, False)
    assert set(e["anomalies"]) == {"missing_values", "out_of_range"}
    assert e["accuracy_with_validation"] == e["accuracy_clean"] == 0.958042
    assert e["accuracy_without_validation"] < 0.9


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    assert_rendered(run)
