"""Lesson 8 (putting it together) runs the ML CI workflow and production monitoring, and records
every exit code, verdict and gate decision it reports."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_08")]

STEM = "08_putting_it_together"
STEPS = ["Data Validation", "Data Drift", "Train Model", "Test Model", "Deploy Model"]


def test_clean_workflow_passes_every_step_and_deploys_version_1(run):
    r = run.results
    assert r["setup_exit_code"] == 0
    assert r["clean"]["exit_codes"] == dict.fromkeys(STEPS, 0) and r["clean"]["ok"] is True
    assert r["clean"]["deployed"] == 1


def test_broken_batch_stops_the_workflow_at_data_validation(run):
    r = run.results["broken"]
    assert r["exit_codes"] == {**dict.fromkeys(STEPS, None), "Data Validation": 1}
    assert r["failed_step"] == "Data Validation" and r["deployed"] is None


def test_a_calm_live_week_keeps_version_1(run):
    week = run.results["week1"]
    assert (week["production"], week["verdict"], week["exit_code"]) == (1, "keep", 0)
    assert week["previous"] is None and week["drift_share"] < 0.5


def test_mislabelled_batch_passes_every_check_and_the_gate_finds_it_better(run):
    r = run.results
    assert r["mislabelled"]["exit_codes"] == dict.fromkeys(STEPS, 0)  # drift check quiet too
    assert r["mislabelled"]["deployed"] == 2
    gate = r["gate_mislabelled"]
    assert gate["blessed"] is True and gate["metrics"]["accuracy"] >= 0.90
    assert gate["metrics"]["accuracy"] > gate["production_metrics"]["accuracy"]


def test_live_labels_expose_the_bad_deploy_and_the_verdict_is_rollback(run):
    r = run.results
    week = r["week2"]
    assert (week["production"], week["exit_code"], week["retrain"]) == (2, 1, True)
    assert week["drift_share"] < 0.5  # the features did not drift: the accuracy fell
    assert week["reference_accuracy"] - week["accuracy"] > 0.05
    assert week["previous"] == 1 and week["previous_retrain"] is False
    assert week["previous_accuracy"] > week["accuracy"]
    assert week["verdict"] == "rollback"
    assert r["rollback_exit_code"] == 0
    after = r["week2_after"]
    assert (after["production"], after["verdict"]) == (1, "keep")


def test_drift_calls_for_retraining_and_the_workflow_deploys_a_new_version(run):
    r = run.results
    week = r["week3"]
    assert (week["production"], week["verdict"], week["previous"]) == (1, "retrain", None)
    assert week["drift_share"] >= 0.5
    drifted = r["drifted"]
    assert drifted["exit_codes"] == {**dict.fromkeys(STEPS, 0), "Data Drift": 1}
    assert drifted["statuses"]["Data Drift"] == "warning" and drifted["ok"] is True
    assert drifted["deployed"] == 3
    gate = r["gate_drifted"]
    assert gate["blessed"] is True
    assert gate["metrics"]["accuracy"] > gate["production_metrics"]["accuracy"]
    assert (r["week4"]["production"], r["week4"]["verdict"]) == (3, "keep")
    assert r["versions"] == [1, 2, 3] and r["aliases"]["production"] == 3


def test_commit_jobs_and_nightly_jobs_all_ran(run):
    schedule = run.results["schedule"]
    assert [(j["trigger"], j["job"]) for j in schedule] == [
        ("every commit", "code tests"),
        ("every commit", "data validation (sample)"),
        ("every commit", "training smoke test"),
        ("every commit", "quality gate"),
        ("nightly", "full retraining"),
        ("nightly", "version sweep"),
        ("nightly", "drift monitoring"),
    ]
    assert all(j["ok"] for j in schedule)
    assert set(run.results["schedule_seconds"]) == {"every commit", "nightly"}


def test_checklist_and_explorer(run):
    r = run.results
    assert r["course_pipeline"]["score"] == 3 and r["course_pipeline"]["weakest"] == ["monitoring"]
    assert r["checklist_score"] == 0
    assert r["explorer_batch"] == "broken"  # the CI parameter
    assert r["explorer"]["exit_codes"] == {**dict.fromkeys(STEPS, None), "Data Validation": 1}


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    nb = assert_rendered(run)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not any("SelfCheck(" in s for s in sources)
    asked = [s for s in sources if s.startswith("check_yourself(")]
    assert len(asked) == 5 and all(s.count("\n") == 0 for s in asked)
