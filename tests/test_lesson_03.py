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


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    assert_rendered(run)
