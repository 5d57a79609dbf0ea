"""Lesson 5 (monitoring, drift and retraining) runs in CI and computes what it teaches."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_05")]

STEM = "05_monitoring_drift_retraining"


def test_drift_is_flagged_in_the_drifted_weeks_and_not_in_the_first(run):
    r = run.results
    assert r["n_weeks"] == 8  # the CI parameter; the drift ramps up from week 4
    assert r["drift_flag"] == [False, False, False, False, True, True, True, True]
    assert r["feature_drift_weeks"][-4:] == [4, 5, 6, 7]


def test_skipping_retraining_ends_worse_than_retraining_on_drift(run):
    never, on_drift = run.results["policies"]["never"], run.results["policies"]["on_drift"]
    assert never["accuracy"][0] > 0.9 and never["final_accuracy"] < 0.5
    assert never["retrain_weeks"] == [] and never["deploy_weeks"] == []
    assert on_drift["accuracy"][:4] == never["accuracy"][:4]  # same weeks, same model until drift
    assert on_drift["final_accuracy"] > never["final_accuracy"] + 0.2
    assert on_drift["mean_accuracy"] > never["mean_accuracy"]
    # the monitor's decision is what triggered each retrain, and only in drifted weeks
    assert run.results["retrain_weeks"] == [4, 5, 6, 7]
    assert run.results["deploy_weeks"] == [4, 5, 7]  # week 6's candidate failed the gate
    assert run.results["registry_versions"] == [1, 2, 3, 4]


def test_concept_drift_shows_in_accuracy_not_in_the_features(run):
    concept = run.results["concept_only"]
    assert concept["drift_flag"] == [False] * 8
    assert run.results["concept_max_drift_share"] < 0.35  # below the dataset-drift threshold
    assert concept["accuracy"][-1] < concept["accuracy"][0] - 0.3
    assert concept["monitor_retrain"][-4:] == [True] * 4  # raised by the accuracy check


def test_explorer_ran_a_real_simulation(run):
    assert run.results["explorer_runs"] == 1
    assert run.results["explorer_summary"].startswith("never: mean accuracy 0.786")
    assert "on_drift: mean accuracy" in run.results["explorer_summary"]


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    assert_rendered(run)
