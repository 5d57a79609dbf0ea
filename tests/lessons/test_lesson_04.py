"""Lesson 4 (deployment and rollback) runs in CI and computes what it teaches."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_04")]

STEM = "04_deployment_and_rollback"


def test_versions_and_aliases_after_each_step(run):
    r = run.results
    assert r["versions"] == [1, 2, 3, 4]
    assert r["models"] == {
        "1": "logistic_regression",
        "2": "gradient_boosting",
        "3": "logistic_regression",
        "4": "logistic_regression",
    }
    aliases = [(s["step"], s["production"], s["previous"], s["n_versions"]) for s in r["steps"]]
    assert aliases == [
        ("start", None, None, 0),
        ("deploy v1", 1, None, 1),
        ("deploy v2", 2, 1, 2),
        ("deploy v3", 3, 2, 3),
        ("refused: dummy", 3, 2, 3),
        ("deploy v4", 4, 3, 4),
        ("rollback to v3", 3, 2, 4),
    ]
    assert r["steps"][-1]["history"] == [1, 2, 3]
    assert r["aliases"] == {"production": 3, "previous": 2}


def test_unblessed_deploy_is_refused(run):
    refused = run.results["refused_deploy"]
    assert refused.startswith("deploy refused: the quality gate did not bless the model")
    assert "does not beat the baseline" in refused


def test_bad_model_slips_in_is_detected_and_rolled_back(run):
    r = run.results
    assert r["bad_version"] == 4 and r["bad_blessed_by_loosened_gate"] is True
    assert r["bad_accuracy"] == 0.783217
    assert r["intended_gate_reasons"] == [
        "accuracy 0.783 < threshold 0.900",
        "accuracy 0.783 is 0.175 below production 0.958 (tolerance 0.010)",
    ]
    assert r["roll_back"] is True and r["rollback_target"] == 3
    assert r["live_accuracy"]["production"] < 0.9 < r["live_accuracy"]["previous"]
    assert r["rollback_reasons"][0].startswith("production v4 live accuracy")
    assert "trails previous v3" in r["rollback_reasons"][1]


def test_rollback_is_not_the_answer_to_drift(run):
    r = run.results
    # after the rollback, v3 serves and v2 is previous; both were trained on the old world
    assert r["drift_versions"] == {"production": 3, "previous": 2}
    drift = r["drift_live_accuracy"]
    assert drift["production"] < 0.9 and drift["previous"] < 0.9  # both miss the bar
    assert drift["previous"] - drift["production"] <= 0.01  # the previous one is no better
    assert r["drift_roll_back"] is False
    assert r["drift_reasons"][-1] == (
        "the deploy is not the cause: retrain on recent labelled data"
    )
    assert r["aliases"] == {"production": 3, "previous": 2}  # the registry was left alone


def test_v4_stands_out_in_the_audit(run):
    # "a gate threshold of 0.7, and a data fingerprint that is not the reviewed training set's"
    assert run.results["gate_thresholds"] == {"1": 0.9, "2": 0.9, "3": 0.9, "4": 0.7}
    assert run.results["reproduced"]["4"]["same_data"] is False


def test_tampering_is_detected_and_versions_reproduce(run):
    r = run.results
    assert r["tamper_detected"] is True
    same = {"same_data": True, "same_model": True}
    assert r["reproduced"] == {
        "1": same,
        "2": same,
        "3": same,
        "4": {"same_data": False, "same_model": False},
    }


def test_explorer_loaded_and_scored_every_version(run):
    e = run.results["explorer"]
    assert e["selected"] == 4
    assert e["scores"] == {"1": 0.958042, "2": 0.958042, "3": 0.958042, "4": 0.783217}
    assert e["summary"].startswith("v4 (logistic_regression): accuracy 0.783")


def test_registry_is_written_under_output_dir(run):
    out = run.output.parent / STEM
    assert sorted(p.name for p in (out / "registry" / "versions").iterdir()) == [
        "0001",
        "0002",
        "0003",
        "0004",
    ]


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    assert_rendered(run)
