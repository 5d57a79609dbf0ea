"""Lesson 8 (putting it together): the functions of ``mlcicd/lessons/workflow.py`` on small
inputs, then the notebook executed in CI and what it recorded."""

from __future__ import annotations

from functools import partial

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml

from mlcicd.course.widgets import Explorer
from mlcicd.data import load_dataset
from mlcicd.errors import InputError
from mlcicd.lessons import workflow as wf

pytestmark = pytest.mark.usefixtures("close_figures")


STEPS = ["Data Validation", "Data Drift", "Train Model", "Test Model", "Deploy Model"]


def test_workflow_batches_split_new_data_into_train_and_holdout():
    reference, live = wf.workflow_pools()
    assert (len(reference), len(live)) == (426, 143)
    train, holdout = wf.workflow_batch("clean", seed=1)
    assert (len(train), len(holdout)) == (319, 107)
    assert list(train.columns) == list(load_dataset().columns)
    assert not train.duplicated().any()  # drawn without replacement
    assert train.merge(holdout).empty  # the gate's holdout shares no row with the training part
    assert len(train.merge(reference)) == len(train) and train.merge(live).empty
    drifted, _ = wf.workflow_batch("drifted", seed=1)
    shift = reference["mean_radius"].std() * wf.DRIFT_SHIFT
    assert np.allclose(drifted["mean_radius"] - train["mean_radius"], shift)
    assert drifted["worst_radius"].equals(train["worst_radius"])
    mislabelled, _ = wf.workflow_batch("mislabelled", seed=1)
    assert mislabelled.drop(columns="target").equals(train.drop(columns="target"))
    rule = (train["mean_texture"] <= reference["mean_texture"].median()).astype(int)
    assert mislabelled["target"].tolist() == rule.tolist()
    assert (mislabelled["target"] != train["target"]).sum() > 50
    with pytest.raises(InputError, match="allowed: clean, broken, drifted, mislabelled"):
        wf.workflow_batch("dirty")


def test_broken_batch_breaks_both_parts():
    for part in wf.workflow_batch("broken", seed=2):
        assert "mean_texture_v2" in part.columns and "mean_texture" not in part.columns
        assert part["mean_radius"].isna().sum() == len(part) // 20
        assert (part["mean_area"] < 0).sum() == len(part) // 40


def test_live_weeks_come_from_rows_no_batch_uses():
    reference, live = wf.workflow_pools()
    week = wf.live_week(seed=3)
    assert len(week) == wf.LIVE_ROWS and not week.duplicated().any()
    assert len(week.merge(live)) == len(week) and week.merge(reference).empty
    moved = wf.live_week(seed=3, shift=1.0)
    assert (moved["mean_radius"] > week["mean_radius"]).all()
    assert moved["worst_radius"].equals(week["worst_radius"])
    with pytest.raises(InputError, match=r"rows=500: expected 1 .. 143"):
        wf.live_week(rows=500)


def test_workflow_yaml_checks_new_data_before_training():
    doc = yaml.safe_load(wf.workflow_yaml())
    steps = [s for s in doc["jobs"]["ml-ci"]["steps"] if "name" in s]
    assert [s["name"] for s in steps] == STEPS
    assert all(s["run"].startswith("mlcicd ") for s in steps)
    drift = steps[1]["run"]
    assert drift.startswith("mlcicd monitor data/PRODUCTION/train.csv train.csv")
    assert drift.endswith("|| [ $? -eq 1 ]")  # a warning: exit 1 goes on, exit 2 fails
    assert "holdout.csv" in steps[3]["run"]


def test_broken_batch_stops_the_workflow_at_data_validation(tmp_path):
    setup = wf.setup_workflow(tmp_path / "repo")
    assert setup.exit_code == 0 and (tmp_path / "repo" / "schema.json").is_file()
    run = wf.run_workflow(wf.workflow_batch("broken"), tmp_path / "repo", label="broken")
    assert run.exit_codes == {**dict.fromkeys(STEPS, None), "Data Validation": 1}
    assert run.failed_step == "Data Validation" and not run.ok and run.deployed is None
    assert [s.status for s in run.steps] == ["failed"] + ["skipped"] * 4
    assert "missing_column" in run.log() and "(exit code 1)" in run.log()
    # the first command failed, so the holdout's validation never ran
    assert run.steps[0].command == "mlcicd validate-data train.csv --schema schema.json"
    assert run.steps[1].command == "mlcicd monitor reference.csv train.csv --target target"
    assert not (tmp_path / "repo" / "model.skops").exists()
    frame = run.to_frame()
    assert frame["exit_code"].tolist()[0] == 1 and frame["exit_code"].isna().sum() == 4
    assert wf.describe_workflow(run).startswith(
        "batch 'broken': red at Data Validation (exit code 1)"
    )
    with pytest.raises(InputError, match="no production model to monitor"):
        wf.check_production(wf.live_week(), tmp_path / "repo")


def test_a_non_blocking_step_warns_on_exit_1_and_fails_on_exit_2(tmp_path):
    step = wf.Step("Check", (("rollback", "--registry", "nowhere"),), blocking=False)
    assert wf.run_step(step, tmp_path, "reference.csv").status == "failed"  # exit 2
    assert wf.StepRun("Check", "x", 1, 0.1, blocking=False).status == "warning"
    assert wf.StepRun("Check", "x", 1, 0.1).status == "failed"
    run = wf.WorkflowRun(
        "w", (wf.StepRun("a", "x", 0, 0.1), wf.StepRun("b", "y", 1, 0.1, blocking=False))
    )
    assert run.ok and run.failed_step is None and run.statuses == {"a": "ok", "b": "warning"}
    assert "warning at b" in wf.describe_workflow(run)


def test_live_verdict_keeps_rolls_back_or_retrains():
    keep, retrain = {"retrain": False}, {"retrain": True}
    assert wf.live_verdict(keep, None) == "keep"
    assert wf.live_verdict(keep, retrain) == "keep"
    assert wf.live_verdict(retrain, keep) == "rollback"  # the previous version still does well
    assert wf.live_verdict(retrain, retrain) == "retrain"  # the world moved for both
    assert wf.live_verdict(retrain, None) == "retrain"


def test_record_results_flattens_runs(tmp_path):
    import json

    run = wf.WorkflowRun("w", (wf.StepRun("a", "x", 0, 0.1),), deployed=4)
    path = wf.record_results(tmp_path, clean=run, setup=wf.StepRun("s", "x", 0, 0.1), n=3)
    saved = json.loads(path.read_text())
    assert saved["clean"]["deployed"] == 4 and saved["clean"]["exit_codes"] == {"a": 0}
    assert saved["setup"] == 0 and saved["n"] == 3


def test_run_workflow_needs_a_set_up_folder(tmp_path):
    with pytest.raises(InputError, match="run setup_workflow first"):
        wf.run_workflow(wf.workflow_batch("clean"), tmp_path)


def test_run_command_reports_bad_input_as_exit_code_2(tmp_path):
    step = wf.run_command("Rollback", ["rollback", "--registry", "nowhere"], tmp_path)
    assert step.exit_code == 2 and step.status == "failed"
    assert step.stderr.startswith("mlcicd: error: --registry nowhere")
    assert step.command == "mlcicd rollback --registry nowhere"


def test_draw_workflow_colours_steps_by_status():
    run = wf.WorkflowRun(
        "demo",
        (
            wf.StepRun("Data Validation", "mlcicd validate-data", 0, 1.0),
            wf.StepRun("Train Model", "mlcicd train", 1, 2.0),
            wf.StepRun("Test Model", "mlcicd test-model", None, 0.0),
        ),
    )
    _fig, ax = plt.subplots()
    wf.draw_workflow(run, ax)
    colours = [tuple(np.round(p.get_facecolor()[:3], 2)) for p in ax.patches]
    assert colours[0] != colours[1] != colours[2]
    assert [t.get_text() for t in ax.texts] == ["exit 0", "exit 1", "skipped"]
    assert ax.get_ylabel() == "wall time (s)"
    assert "red at Train Model (exit code 1), 1 step(s) skipped" in wf.describe_workflow(run)


def test_workflow_explorer_reruns_the_commands(tmp_path):
    explorer = Explorer(
        {"batch_kind": w.Dropdown(options=wf.BATCH_KINDS, value="broken")},
        partial(wf.explore_workflow, workdir=tmp_path / "x"),
        wf.draw_workflow,
        wf.describe_workflow,
    )
    run = explorer.update()
    assert run.exit_codes["Data Validation"] == 1 and "red at Data Validation" in explorer.summary
    with pytest.raises(InputError, match="batch_kind='nope'"):
        explorer.update(batch_kind="nope")


def test_ci_schedule_runs_commit_and_nightly_jobs(tmp_path):
    frame = wf.ci_schedule(tmp_path / "s", sample_rows=30, sweep_versions=1, monitor_weeks=1)
    assert frame["trigger"].tolist() == ["every commit"] * 4 + ["nightly"] * 3
    assert frame["ok"].all() and (frame["seconds"] > 0).all()
    assert frame.loc[frame["job"] == "version sweep", "detail"].item().startswith("1 versions")
    fig = wf.plot_schedule(frame)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0].startswith("every commit: ") and texts[1].startswith("nightly: ")
    with pytest.raises(InputError, match="sample_rows=5"):
        wf.ci_schedule(tmp_path / "s", sample_rows=5)


def test_checklist_score_is_the_weakest_area():
    full = {area: range(len(items)) for area, items in wf.CHECKLIST.items()}
    assert wf.checklist_score(full)["score"] == 4
    partial_ticks = {**full, "monitoring": [0]}
    result = wf.checklist_score(partial_ticks)
    assert result["score"] == 1 and result["weakest"] == ["monitoring"]
    assert result["band"] == "a start: every area has at least one check"
    assert wf.checklist_score({})["score"] == 0
    assert wf.describe_score(result).startswith("checklist score 1 of 4")
    with pytest.raises(InputError, match="allowed: data, model, infrastructure, monitoring"):
        wf.checklist_score({"security": [0]})
    with pytest.raises(InputError, match=r"area 'data': item indexes must be in 0..3"):
        wf.checklist_score({"data": [4]})


def test_paper_bands_follow_breck_et_al():
    cases = {
        0: "more of a research project",
        0.5: "not totally untested",
        1: "not totally untested",
        1.5: "first pass at basic productionization",
        2: "first pass at basic productionization",
        3: "reasonably tested",
        4: "strong levels of automated testing and monitoring",
        5: "strong levels of automated testing and monitoring",
        5.5: "exceptional",
    }
    assert {score: wf.paper_band(score) for score in cases} == cases
    with pytest.raises(InputError, match="score=-1"):
        wf.paper_band(-1)


def test_checklist_widget_rescores_on_every_tick():
    box = wf.checklist_widget()
    assert box.score["score"] == 0
    for checks in box.checkboxes.values():
        for check in checks[:2]:
            check.value = True
    assert box.score["score"] == 2 and box.score["by_area"]["data"] == 2
    box.checkboxes["model"][0].value = False
    assert box.score["score"] == 1 and box.score["weakest"] == ["model"]
    assert "checklist score 1 of 4" in box.children[-1].value


STEM = "08_putting_it_together"


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_08")]

    def test_clean_workflow_passes_every_step_and_deploys_version_1(self, run):
        r = run.results
        assert r["setup_exit_code"] == 0
        assert r["clean"]["exit_codes"] == dict.fromkeys(STEPS, 0) and r["clean"]["ok"] is True
        assert r["clean"]["deployed"] == 1

    def test_broken_batch_stops_the_workflow_at_data_validation(self, run):
        r = run.results["broken"]
        assert r["exit_codes"] == {**dict.fromkeys(STEPS, None), "Data Validation": 1}
        assert r["failed_step"] == "Data Validation" and r["deployed"] is None

    def test_a_calm_live_week_keeps_version_1(self, run):
        week = run.results["week1"]
        assert (week["production"], week["verdict"], week["exit_code"]) == (1, "keep", 0)
        assert week["previous"] is None and week["drift_share"] < 0.5

    def test_mislabelled_batch_passes_every_check_and_the_gate_finds_it_better(self, run):
        r = run.results
        assert r["mislabelled"]["exit_codes"] == dict.fromkeys(STEPS, 0)  # drift check quiet too
        assert r["mislabelled"]["deployed"] == 2
        gate = r["gate_mislabelled"]
        assert gate["blessed"] is True and gate["metrics"]["accuracy"] >= 0.90
        assert gate["metrics"]["accuracy"] > gate["production_metrics"]["accuracy"]

    def test_live_labels_expose_the_bad_deploy_and_the_verdict_is_rollback(self, run):
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

    def test_drift_calls_for_retraining_and_the_workflow_deploys_a_new_version(self, run):
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

    def test_commit_jobs_and_nightly_jobs_all_ran(self, run):
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

    def test_checklist_and_explorer(self, run):
        r = run.results
        assert r["course_pipeline"]["score"] == 3 and r["course_pipeline"]["weakest"] == [
            "monitoring"
        ]
        assert r["checklist_score"] == 0
        assert r["explorer_batch"] == "broken"  # the CI parameter
        assert r["explorer"]["exit_codes"] == {**dict.fromkeys(STEPS, None), "Data Validation": 1}

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        assert_rendered(run)
