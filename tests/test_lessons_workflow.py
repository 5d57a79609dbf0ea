"""The compute and draw functions behind lesson 8: workflow, schedule, checklist."""

from __future__ import annotations

from functools import partial

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml

from mlcicd.data import load_dataset
from mlcicd.errors import InputError
from mlcicd.lessons import workflow as wf
from mlcicd.widgets import Explorer

pytestmark = pytest.mark.usefixtures("close_figures")


def test_workflow_batches():
    clean = wf.workflow_batch("clean", rows=50)
    assert clean.shape == (50, 31) and list(clean.columns) == list(load_dataset().columns)
    broken = wf.workflow_batch("broken", rows=50)
    assert "mean_texture_v2" in broken.columns and "mean_texture" not in broken.columns
    assert broken["mean_radius"].isna().sum() == 2 and (broken["mean_area"] < 0).sum() == 1
    drifted = wf.workflow_batch("drifted", rows=50)
    assert (drifted["mean_radius"] > clean["mean_radius"]).all()
    assert drifted["worst_radius"].equals(clean["worst_radius"])
    with pytest.raises(InputError, match="allowed: clean, broken, drifted"):
        wf.workflow_batch("dirty")


def test_workflow_yaml_is_the_seed_steps_plus_monitor():
    doc = yaml.safe_load(wf.workflow_yaml())
    steps = [s for s in doc["jobs"]["ml-ci"]["steps"] if "name" in s]
    assert [s["name"] for s in steps] == [
        "Data Validation",
        "Train Model",
        "Test Model",
        "Deploy Model",
        "Monitor",
    ]
    assert all(s["run"].startswith("mlcicd ") for s in steps)


def test_broken_batch_stops_the_workflow_at_data_validation(tmp_path):
    setup = wf.setup_workflow(tmp_path / "repo")
    assert setup.exit_code == 0 and (tmp_path / "repo" / "schema.json").is_file()
    run = wf.run_workflow(wf.workflow_batch("broken", rows=100), tmp_path / "repo", label="broken")
    assert run.exit_codes == {
        "Data Validation": 1,
        "Train Model": None,
        "Test Model": None,
        "Deploy Model": None,
        "Monitor": None,
    }
    assert run.failed_step == "Data Validation" and not run.ok
    assert [s.status for s in run.steps] == ["failed"] + ["skipped"] * 4
    assert "missing_column" in run.log() and "(exit code 1)" in run.log()
    assert not (tmp_path / "repo" / "model.skops").exists()
    frame = run.to_frame()
    assert frame["exit_code"].tolist()[0] == 1 and frame["exit_code"].isna().sum() == 4
    assert wf.describe_workflow(run).startswith(
        "batch 'broken': red at Data Validation (exit code 1)"
    )


def test_run_workflow_needs_a_set_up_folder(tmp_path):
    with pytest.raises(InputError, match="run setup_workflow first"):
        wf.run_workflow(wf.workflow_batch("clean", rows=20), tmp_path)


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
    fig, ax = plt.subplots()
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
    assert result["band"] == "a first step towards production"
    assert wf.checklist_score({})["score"] == 0
    assert "ML Test Score 1" in wf.describe_score(result)
    with pytest.raises(InputError, match="allowed: data, model, infrastructure, monitoring"):
        wf.checklist_score({"security": [0]})
    with pytest.raises(InputError, match="area 'data': item indexes must be in 0..3"):
        wf.checklist_score({"data": [4]})


def test_checklist_widget_rescores_on_every_tick():
    box = wf.checklist_widget()
    assert box.score["score"] == 0
    for checks in box.checkboxes.values():
        for check in checks[:2]:
            check.value = True
    assert box.score["score"] == 2 and box.score["by_area"]["data"] == 2
    box.checkboxes["model"][0].value = False
    assert box.score["score"] == 1 and box.score["weakest"] == ["model"]
    assert "ML Test Score 1" in box.children[-1].value
