"""Lesson 5 (monitoring, drift and retraining) runs in CI and computes what it teaches."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_05")]

STEM = "05_monitoring_drift_retraining"


def test_the_lesson_uses_the_course_thresholds(run):
    assert run.results["thresholds"] == {"drift_share": 0.5, "min_accuracy": 0.9, "tolerance": 0.01}


def test_drift_is_flagged_in_the_drifted_weeks_and_not_in_the_first(run):
    r = run.results
    assert r["n_weeks"] == 8  # the CI parameter; the drift ramps up from week 4
    assert r["drift_flag"] == [False, False, False, False, True, True, True, True]
    assert r["feature_drift_weeks"][-4:] == [4, 5, 6, 7]


def test_skipping_retraining_ends_worse_than_retraining_on_drift(run):
    never, on_drift = run.results["policies"]["never"], run.results["policies"]["on_drift"]
    assert never["accuracy"][0] > 0.9 and never["final_accuracy"] < 0.5  # below a coin toss
    assert never["retrain_weeks"] == [] and never["deploy_weeks"] == []
    assert on_drift["accuracy"][:4] == never["accuracy"][:4]  # same weeks, same model until drift
    assert on_drift["final_accuracy"] > never["final_accuracy"] + 0.2
    assert on_drift["mean_accuracy"] > never["mean_accuracy"]
    # the monitor's decision is what triggered each retrain, and only in drifted weeks
    assert run.results["retrain_weeks"] == [4, 5, 6, 7]
    assert run.results["deploy_weeks"] == [5]  # the gate (0.90, as everywhere) refused the others
    assert set(run.results["gate_rejected"]) == {"4", "6", "7"}
    assert all(run.results["gate_rejected"].values())  # each with the rule it failed
    assert run.results["registry_versions"] == [1, 2]


def test_calm_batches_false_alarms_are_measured_as_the_lesson_says(run):
    rates = {r["scenario"]: r for r in run.results["null_alarm_rates"]}
    fresh = rates["independent, fresh"]
    correlated = rates["correlated, fresh"]
    pool = rates["resampled from one pool"]
    assert run.results["expected_alarm_rate"] == pytest.approx(0.7854, abs=1e-4)
    # "each test fires close to 5 %, close to 79 % of the batches raise at least one alarm"
    assert abs(fresh["per_feature"] - 0.05) < 0.015
    assert abs(fresh["any_alarm"] - run.results["expected_alarm_rate"]) < 0.1
    # correlated: "about the same per-test rate, fewer batches with an alarm, a spread well above"
    assert abs(correlated["per_feature"] - 0.05) < 0.015
    assert correlated["any_alarm"] < fresh["any_alarm"]
    assert correlated["sd_alarms"] > 1.5 * correlated["sd_if_independent"]
    assert pool["per_feature"] > 0.05  # "the tests fire more often than 5 %"
    for r in rates.values():
        assert r["dataset_drift"] == 0  # "no scenario ever reached a drift share of 0.5"
        assert r["any_bonferroni"] <= 0.1 and r["any_benjamini_hochberg"] <= 0.1


def test_small_batches_cost_power_not_false_alarms(run):
    sizes = run.results["rates_by_batch_size"]
    assert [r["batch_size"] for r in sizes] == [50, 200, 800]
    assert all(0.03 <= r["false_alarm"] <= 0.06 for r in sizes)  # near 5 %, a little below
    assert all(r["false_alarm"] < 0.05 for r in sizes)
    power = [r["power"] for r in sizes]
    assert power[0] < 0.5 and power[2] > 0.95 and power == sorted(power)


def test_corrections_silence_the_calm_weeks_and_keep_the_drift(run):
    for method, share in run.results["corrected_drift_share"].items():
        assert max(share[:4]) <= 1 / 30, method  # "at most one feature flagged" in calm weeks
        assert min(share[4:]) >= 13 / 30, method  # most of the 15 moved features
    assert min(run.results["corrected_drift_share"]["benjamini_hochberg"][4:]) >= 0.5


def test_psi_without_drift_matches_its_expected_value(run):
    psi = {(r["n_reference"], r["n_current"]): r for r in run.results["psi_without_drift"]}
    for r in psi.values():
        assert abs(r["mean_psi"] / r["expected_psi"] - 1) < 0.1  # "follows the formula"
    assert psi[100, 100]["mean_psi"] == pytest.approx(0.18, abs=0.02)
    assert psi[100, 100]["moderate_or_more"] > 0.5 and psi[100, 100]["significant"] > 0.2
    assert psi[1000, 1000]["moderate_or_more"] == 0 and psi[5000, 5000]["moderate_or_more"] == 0
    calm = run.results["calm_week_psi"]  # the lesson's calm weeks: at or above 0.1, a bit above
    assert calm["measured"] >= 0.1 and calm["expected"] < calm["measured"] < 1.5 * calm["expected"]


def test_concept_drift_shows_in_accuracy_not_in_the_features(run):
    concept = run.results["concept_only"]
    assert concept["drift_flag"] == [False] * 8
    assert run.results["concept_max_drift_share"] <= 0.25  # "at or below a quarter"
    assert concept["accuracy"][-1] < concept["accuracy"][0] - 0.3
    assert concept["monitor_retrain"][-4:] == [True] * 4  # raised by the accuracy check


def test_explorer_ran_a_real_simulation(run):
    assert run.results["explorer_runs"] == 1
    assert run.results["explorer_summary"].startswith("never: mean accuracy 0.786")
    assert "on_drift: mean accuracy" in run.results["explorer_summary"]


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    assert_rendered(run)
