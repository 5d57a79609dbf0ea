"""The compute and draw functions behind lessons 5 and 7, and their explorers, without a browser."""

from __future__ import annotations

import json
import re
from functools import partial

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml

from mlcicd import lessons_ops as lo
from mlcicd.data import TARGET, load_dataset
from mlcicd.errors import InputError
from mlcicd.registry import Registry
from mlcicd.widgets import Explorer

SMALL = dict(n_weeks=6, batch_size=100, seed=0)  # drift in weeks 3, 4, 5


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def covariate():
    return lo.compare_policies(("never", "on_drift"), covariate_shift=2.0, **SMALL)


# ------------------------------------------------------------------------------- lesson 5


def test_never_flags_drift_only_in_the_drifted_weeks_and_decays(covariate):
    never = covariate[covariate["policy"] == "never"]
    assert never["dataset_drift"].tolist() == [False, False, False, True, True, True]
    assert never["drift_strength"].tolist() == [0.0, 0.0, 0.0, 1 / 3, 2 / 3, 1.0]
    assert (never["version"] == 1).all() and not never["retrained"].any()
    acc = never["accuracy"].to_numpy()
    assert acc[:3].min() > 0.9 and acc[-1] < acc[0] - 0.3
    assert acc[3] > acc[4] > acc[5] - 0.05 and acc[5] < 0.6  # falls once the drift starts
    last = never.iloc[-1]
    assert last["alarm"] == "features + accuracy" and last["n_drifted"] == 15
    assert "mean_radius" in last["drifted"].split(", ")


def test_retraining_on_drift_recovers_accuracy_through_the_gate(covariate):
    never = covariate[covariate["policy"] == "never"].reset_index(drop=True)
    on = covariate[covariate["policy"] == "on_drift"].reset_index(drop=True)
    # identical until the first retrain, since both policies see the same weeks
    assert on.loc[:3, "accuracy"].tolist() == never.loc[:3, "accuracy"].tolist()
    assert on["retrained"].tolist() == on["monitor_retrain"].tolist()
    retrained = on.loc[on["retrained"], "week"].tolist()
    assert retrained and min(retrained) >= 3  # no retrain in the calm weeks
    deployed = on[on["deployed_version"] > 0]
    assert deployed["blessed"].all()
    assert deployed["deployed_version"].tolist() == list(range(2, 2 + len(deployed)))
    assert on["accuracy"].iloc[-1] > never["accuracy"].iloc[-1] + 0.2
    record = lo.weeks_record(covariate)
    assert record["on_drift"]["retrain_weeks"] == retrained
    assert record["on_drift"]["mean_accuracy"] > record["never"]["mean_accuracy"]
    json.dumps(record)  # JSON-ready for save_results


def test_every_week_retrains_each_week():
    frame = lo.simulate_weeks("every_week", covariate_shift=0.0, n_weeks=4, batch_size=60)
    assert frame["retrained"].all()
    assert (frame["deployed_version"] > 0).sum() == (frame["blessed"]).sum()


def test_concept_drift_is_invisible_to_feature_tests_but_not_to_accuracy():
    frame = lo.simulate_weeks("never", covariate_shift=0.0, concept_drift=0.9, **SMALL)
    assert not frame["dataset_drift"].any()
    assert frame["drift_share"].max() < 0.25
    assert frame["accuracy"].iloc[-1] < frame["accuracy"].iloc[0] - 0.2
    assert frame["alarm"].iloc[-1] == "accuracy" and frame["monitor_retrain"].iloc[-1]


def test_deploys_go_into_a_real_registry(tmp_path):
    frame = lo.compare_policies(("on_drift",), covariate_shift=2.0, registry=tmp_path, **SMALL)
    registry = Registry(tmp_path / "on_drift")
    deployed = frame.loc[frame["deployed_version"] > 0, "deployed_version"].tolist()
    assert [v.version for v in registry.versions()] == [1, *deployed]
    assert registry.aliases()["production"] == deployed[-1]
    with pytest.raises(InputError, match="already holds versions"):
        lo.simulate_weeks("on_drift", registry=registry, **SMALL)
    # a folder (as a re-run notebook passes it) is replaced by a fresh registry, not refused
    lo.simulate_weeks("on_drift", covariate_shift=2.0, registry=tmp_path / "on_drift", **SMALL)
    assert [v.version for v in Registry(tmp_path / "on_drift").versions()] == [1, *deployed]
    again = lo.compare_policies(("on_drift",), covariate_shift=2.0, registry=tmp_path, **SMALL)
    assert again.equals(frame)  # the marked folder is emptied, the run repeats exactly


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"policy": "sometimes"},
            "policy='sometimes': unknown (allowed: never, on_drift, every_week)",
        ),
        ({"concept_drift": 1.5}, "concept_drift=1.5"),
        ({"covariate_shift": "big"}, "covariate_shift='big'"),
        ({"batch_size": 5}, "batch_size=5: expected an integer >= 20"),
    ],
)
def test_simulate_weeks_refuses_bad_parameters(kwargs, message):
    with pytest.raises(InputError, match=re.escape(message)):
        lo.simulate_weeks(**{"policy": "never", **kwargs})


def test_drift_by_feature_has_one_row_per_week_and_feature():
    long = lo.drift_by_feature(2.0, n_weeks=4, batch_size=100)
    assert len(long) == 4 * 30 and set(long["week"]) == {0, 1, 2, 3}
    features = [c for c in load_dataset().columns if c != TARGET]
    last = long[(long["week"] == 3) & long["drift"]]
    assert set(features[:15]) <= set(last["feature"])  # the shifted half ...
    assert set(last["feature"]) - set(features[:15]) == {"symmetry_error", "concave_points_error"}
    # ... and two false alarms among the 15 unshifted features (KS at p < 0.05)
    fig = lo.plot_feature_drift(long)
    assert "stability" in fig.axes[0].get_title() and fig.axes[0].get_xlabel() == "week"


def test_plot_weeks_draws_accuracy_markers_and_drift_share(covariate):
    fig = lo.plot_weeks(covariate, threshold=0.25, title="t")
    top, bottom = fig.axes
    assert "accuracy" in top.get_ylabel() and "fraction" in bottom.get_ylabel()
    labels = top.get_legend_handles_labels()[1]
    assert "policy: never" in labels and "on_drift: retrained + deployed" in labels
    assert "never: retrained + deployed" not in labels  # no empty legend entries
    assert len(bottom.patches) == 2 * 6


def test_policy_explorer_reruns_the_simulation():
    explorer = Explorer(
        {
            "covariate_shift": w.FloatSlider(value=2.0, min=0, max=3),
            "concept_drift": w.FloatSlider(value=0.0, min=0, max=1),
            "policy": w.Dropdown(options=lo.POLICIES, value="on_drift"),
        },
        partial(lo.explore_policy, n_weeks=4, batch_size=60),
        lo.draw_accuracy,
        lo.describe_weeks,
    )
    first = explorer.update()
    assert list(first["policy"].unique()) == ["never", "on_drift"]
    assert explorer.summary.startswith("never: mean accuracy")
    calm = explorer.update(covariate_shift=0.0, policy="never")
    assert list(calm["policy"].unique()) == ["never"] and not calm["dataset_drift"].any()
    assert explorer.runs == 2 and explorer.figure.axes[0].get_xlabel() == "week"


# ------------------------------------------------------------------------------- lesson 7


def test_fresh_workdir_empties_only_folders_it_made(tmp_path):
    root = lo.fresh_workdir(tmp_path / "w")
    (root / "old.txt").write_text("x")
    assert sorted(p.name for p in lo.fresh_workdir(root).iterdir()) == [lo.MARKER]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(InputError, match="not made by a lesson"):
        lo.fresh_workdir(foreign)
    assert (foreign / "keep.txt").read_text() == "precious"
    with pytest.raises(InputError, match="is a file"):
        lo.fresh_workdir(foreign / "keep.txt")


def test_workflow_batches():
    clean = lo.workflow_batch("clean", rows=50)
    assert clean.shape == (50, 31) and list(clean.columns) == list(load_dataset().columns)
    broken = lo.workflow_batch("broken", rows=50)
    assert "mean_texture_v2" in broken.columns and "mean_texture" not in broken.columns
    assert broken["mean_radius"].isna().sum() == 2 and (broken["mean_area"] < 0).sum() == 1
    drifted = lo.workflow_batch("drifted", rows=50)
    assert (drifted["mean_radius"] > clean["mean_radius"]).all()
    assert drifted["worst_radius"].equals(clean["worst_radius"])
    with pytest.raises(InputError, match="allowed: clean, broken, drifted"):
        lo.workflow_batch("dirty")


def test_workflow_yaml_is_the_seed_steps_plus_monitor():
    doc = yaml.safe_load(lo.workflow_yaml())
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
    setup = lo.setup_workflow(tmp_path / "repo")
    assert setup.exit_code == 0 and (tmp_path / "repo" / "schema.json").is_file()
    run = lo.run_workflow(lo.workflow_batch("broken", rows=100), tmp_path / "repo", label="broken")
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
    assert lo.describe_workflow(run).startswith(
        "batch 'broken': red at Data Validation (exit code 1)"
    )


def test_run_workflow_needs_a_set_up_folder(tmp_path):
    with pytest.raises(InputError, match="run setup_workflow first"):
        lo.run_workflow(lo.workflow_batch("clean", rows=20), tmp_path)


def test_run_command_reports_bad_input_as_exit_code_2(tmp_path):
    step = lo.run_command("Rollback", ["rollback", "--registry", "nowhere"], tmp_path)
    assert step.exit_code == 2 and step.status == "failed"
    assert step.stderr.startswith("mlcicd: error: --registry nowhere")
    assert step.command == "mlcicd rollback --registry nowhere"


def test_draw_workflow_colours_steps_by_status():
    run = lo.WorkflowRun(
        "demo",
        (
            lo.StepRun("Data Validation", "mlcicd validate-data", 0, 1.0),
            lo.StepRun("Train Model", "mlcicd train", 1, 2.0),
            lo.StepRun("Test Model", "mlcicd test-model", None, 0.0),
        ),
    )
    fig, ax = plt.subplots()
    lo.draw_workflow(run, ax)
    colours = [tuple(np.round(p.get_facecolor()[:3], 2)) for p in ax.patches]
    assert colours[0] != colours[1] != colours[2]
    assert [t.get_text() for t in ax.texts] == ["exit 0", "exit 1", "skipped"]
    assert ax.get_ylabel() == "wall time (s)"
    assert "red at Train Model (exit code 1), 1 step(s) skipped" in lo.describe_workflow(run)


def test_workflow_explorer_reruns_the_commands(tmp_path):
    explorer = Explorer(
        {"batch_kind": w.Dropdown(options=lo.BATCH_KINDS, value="broken")},
        partial(lo.explore_workflow, workdir=tmp_path / "x"),
        lo.draw_workflow,
        lo.describe_workflow,
    )
    run = explorer.update()
    assert run.exit_codes["Data Validation"] == 1 and "red at Data Validation" in explorer.summary
    with pytest.raises(InputError, match="batch_kind='nope'"):
        explorer.update(batch_kind="nope")


def test_ci_schedule_runs_commit_and_nightly_jobs(tmp_path):
    frame = lo.ci_schedule(tmp_path / "s", sample_rows=30, sweep_versions=1, monitor_weeks=1)
    assert frame["trigger"].tolist() == ["every commit"] * 4 + ["nightly"] * 3
    assert frame["ok"].all() and (frame["seconds"] > 0).all()
    assert frame.loc[frame["job"] == "version sweep", "detail"].item().startswith("1 versions")
    fig = lo.plot_schedule(frame)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0].startswith("every commit: ") and texts[1].startswith("nightly: ")
    with pytest.raises(InputError, match="sample_rows=5"):
        lo.ci_schedule(tmp_path / "s", sample_rows=5)


def test_checklist_score_is_the_weakest_area():
    full = {area: range(len(items)) for area, items in lo.CHECKLIST.items()}
    assert lo.checklist_score(full)["score"] == 4
    partial_ticks = {**full, "monitoring": [0]}
    result = lo.checklist_score(partial_ticks)
    assert result["score"] == 1 and result["weakest"] == ["monitoring"]
    assert result["band"] == "a first step towards production"
    assert lo.checklist_score({})["score"] == 0
    assert "ML Test Score 1" in lo.describe_score(result)
    with pytest.raises(InputError, match="allowed: data, model, infrastructure, monitoring"):
        lo.checklist_score({"security": [0]})
    with pytest.raises(InputError, match="area 'data': item indexes must be in 0..3"):
        lo.checklist_score({"data": [4]})


def test_checklist_widget_rescores_on_every_tick():
    box = lo.checklist_widget()
    assert box.score["score"] == 0
    for checks in box.checkboxes.values():
        for check in checks[:2]:
            check.value = True
    assert box.score["score"] == 2 and box.score["by_area"]["data"] == 2
    box.checkboxes["model"][0].value = False
    assert box.score["score"] == 1 and box.score["weakest"] == ["model"]
    assert "ML Test Score 1" in box.children[-1].value
