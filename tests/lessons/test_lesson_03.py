"""Lesson 3 (training and the quality gate) runs in CI and computes what it teaches."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_03")]

STEM = "03_training_and_quality_gate"


def test_metrics_per_model_on_the_holdout(run):
    m = run.results["metrics"]
    assert set(m) == {
        "logistic_regression (C=0.1)",
        "random_forest",
        "gradient_boosting",
        "decision_tree (depth 3)",
        "dummy (most frequent)",
        "shuffled labels",
    }
    assert m["logistic_regression (C=0.1)"]["accuracy"] == 0.958042
    assert m["decision_tree (depth 3)"]["accuracy"] == 0.916084
    assert m["dummy (most frequent)"]["accuracy"] == 0.629371
    assert m["dummy (most frequent)"]["balanced_accuracy"] == 0.5
    assert round(m["dummy (most frequent)"]["f1"], 2) == 0.77  # "its f1 of about 0.77"
    assert run.results["production_accuracy"] == 0.958042
    assert run.results["baseline_accuracy"] == 0.629371


def test_gate_blesses_good_models_and_rejects_bad_ones(run):
    assert run.results["blessed"] == {
        "logistic_regression (C=0.1)": True,
        "random_forest": False,
        "gradient_boosting": True,
        "decision_tree (depth 3)": False,
        "dummy (most frequent)": False,
        "shuffled labels": False,
    }
    reasons = run.results["reasons"]
    assert set(reasons) == {
        "random_forest",
        "decision_tree (depth 3)",
        "dummy (most frequent)",
        "shuffled labels",
    }
    assert reasons["decision_tree (depth 3)"] == [
        "accuracy 0.916 is 0.042 below production 0.958 (tolerance 0.010)"
    ]
    assert len(reasons["dummy (most frequent)"]) == 3
    assert reasons["dummy (most frequent)"][-1] == "accuracy 0.629 does not beat the baseline 0.629"
    assert reasons["shuffled labels"][0] == "accuracy 0.629 < threshold 0.900"


def test_code_checks_pass_for_the_bad_model_too(run):
    r = run.results
    assert r["code_checks_total"] == 6
    assert r["code_checks_passed"] == {"production": 6, "shuffled labels": 6}


def test_explorer_retrained_and_gated(run):
    e = run.results["explorer"]
    assert (e["model"], e["params"], e["blessed"]) == ("decision_tree", {"max_depth": 3}, False)
    assert "REJECTED" in e["summary"] and "below production" in e["summary"]


def test_the_plain_rules_give_the_library_verdicts(run):
    blessed = {k: v for k, v in run.results["blessed"].items() if k != "shuffled labels"}
    assert run.results["plain_blessed"] == blessed


def test_the_gaps_in_rows_the_lesson_states(run):
    r = run.results
    right = {name: row["rows_right"] for name, row in r["intervals"].items()}
    assert right["production"] == 137 and right["random_forest"] == 135  # 2 rows behind
    assert right["gradient_boosting"] == 136  # 1 row behind
    assert r["holdout_rows"] == 143 and r["tolerance_rows"] == 1.43  # "1.4 rows"
    assert r["standard_error"] == 0.0168  # "0.017, more than the tolerance"


def test_confidence_intervals(run):
    iv = run.results["intervals"]
    prod = iv["production"]
    assert (round(prod["low"], 3), round(prod["high"], 3)) == (0.911, 0.981)
    assert round(prod["width"], 3) == 0.069 and round(prod["width"] / 0.01) == 7
    # the bootstrap: similar width, centred on the measured accuracy (Wilson is pulled to 0.5)
    boot = run.results["production_bootstrap"]
    assert abs((boot["high"] - boot["low"]) - prod["width"]) < 0.01
    assert boot["estimate"] - boot["low"] < prod["accuracy"] - prod["low"]
    # every candidate but the dummy overlaps production's interval, the dummy does not
    for name, row in iv.items():
        overlaps = row["high"] >= prod["low"] and row["low"] <= prod["high"]
        assert overlaps is (name != "dummy (most frequent)"), name


def test_mcnemar_only_the_dummy_is_significantly_worse(run):
    paired = run.results["paired"]
    assert {n for n, row in paired.items() if row["significant"]} == {"dummy (most frequent)"}
    assert (paired["random_forest"]["b"], paired["random_forest"]["c"]) == (2, 4)
    tree = paired["decision_tree (depth 3)"]
    assert (tree["b"], tree["c"], tree["rows_behind"]) == (2, 8, 6)
    assert round(tree["p_value"], 2) == 0.11 and tree["rows_needed"] == 206
    assert paired["random_forest"]["rows_needed"] >= 6 * 143  # "at least six times ours"
    assert paired["logistic_regression (C=0.1)"]["rows_needed"] is None  # no gap at all


def test_requiring_significance_blesses_the_noise_sized_and_the_real_drop(run):
    r = run.results
    assert r["blessed_if_significance_required"] == {
        "logistic_regression (C=0.1)": True,
        "random_forest": True,
        "gradient_boosting": True,
        "decision_tree (depth 3)": True,
        "dummy (most frequent)": False,
    }
    assert r["reasons_if_significance_required"]["dummy (most frequent)"][1].endswith(
        "significant at 0.05"
    )


def test_a_bigger_holdout(run):
    r = run.results
    assert r["rows_for_tolerance"] == 1893 and r["dataset_rows"] == 569
    below = [row["below"] for row in r["interval_by_size"]]
    assert below == sorted(below, reverse=True) and below[0] > 0.01 > below[-1]


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    nb = assert_rendered(run)
    asks = [c.source for c in nb.cells if "check_yourself" in c.source]
    assert len(asks) == 6 and all(a.startswith('qg.check_yourself("') for a in asks)
    assert not any("SelfCheck" in c.source for c in nb.cells)
