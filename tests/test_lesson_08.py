"""Lesson 8 (putting it together) runs the ML CI workflow in CI and records every exit code."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_08")]

STEM = "08_putting_it_together"
STEPS = ["Data Validation", "Train Model", "Test Model", "Deploy Model", "Monitor"]


def test_clean_workflow_is_green_at_every_step_and_deploys_version_1(run):
    r = run.results
    assert r["setup_exit_code"] == 0
    assert r["clean"] == dict.fromkeys(STEPS, 0) and r["clean_ok"] is True
    assert r["deployed_version"] == 1
    assert r["monitor_decision"]["clean"] == "keep"


def test_broken_batch_stops_the_workflow_at_data_validation(run):
    r = run.results
    assert r["broken"] == {**dict.fromkeys(STEPS, None), "Data Validation": 1}
    assert r["broken_failed_step"] == "Data Validation"


def test_drifted_batch_passes_the_gate_but_the_monitor_calls_for_retraining(run):
    r = run.results
    assert r["drifted"] == {**dict.fromkeys(STEPS, 0), "Monitor": 1}
    assert r["deployed_version_drifted"] == 2 and r["versions"] == [1, 2]
    assert r["monitor_decision"]["drifted"] == "retrain"
    assert r["rollback_exit_code"] == 0 and r["production_after_rollback"] == 1


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
    assert r["course_pipeline_score"] == 3 and r["checklist_score"] == 0
    assert r["explorer_batch"] == "broken"  # the CI parameter
    assert r["explorer_exit_codes"] == {**dict.fromkeys(STEPS, None), "Data Validation": 1}


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    assert_rendered(run)
