"""Lesson 4 (deployment and rollback): the functions of ``mlcicd/lessons/deployment.py`` on small
inputs, then the notebook executed in CI and what it recorded."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mlcicd.data import TARGET
from mlcicd.errors import CheckFailed, InputError
from mlcicd.lessons import data_validation as dv
from mlcicd.lessons import deployment as dep
from mlcicd.registry import Registry
from mlcicd.training import ModelSpec, load_model, train_model


def _axes():
    fig, ax = plt.subplots()
    return fig, ax


@pytest.fixture(scope="module")
def registry(data, tmp_path_factory):
    """v1, v2 good trees; v3 a bad model let through by a loosened gate."""
    train, holdout = data
    reg = dep.fresh_registry(tmp_path_factory.mktemp("lessons") / "registry")
    for depth in (4, 5):
        trained = train_model(train, TARGET, ModelSpec("decision_tree", {"max_depth": depth}))
        dep.gate_and_deploy(reg, trained, holdout, thresholds={"accuracy": 0.85})
    bad = dv.train_without_validation(dv.corrupt(train, missing_share=0.3))
    loose = {"thresholds": {"accuracy": 0.5}, "tolerance": 1.0}
    decision, version = dep.gate_and_deploy(reg, bad, holdout, **loose)
    assert decision.blessed and version.version == 3
    return reg


def test_gate_and_deploy_refuses_what_the_gate_rejects(data, tmp_path):
    train, holdout = data
    reg = Registry(tmp_path / "registry")
    first = train_model(train, TARGET, ModelSpec("decision_tree", {"max_depth": 4}))
    decision, version = dep.gate_and_deploy(reg, first, holdout, thresholds={"accuracy": 0.85})
    assert decision.checks[1].detail == "no production model yet" and version.version == 1
    stump = train_model(train, TARGET, ModelSpec("decision_tree", {"max_depth": 1}))
    with pytest.raises(CheckFailed, match=r"deploy refused: .* below production"):
        dep.gate_and_deploy(reg, stump, holdout, thresholds={"accuracy": 0.85})
    assert [v.version for v in reg.versions()] == [1] and reg.aliases() == {"production": 1}


def test_fresh_registry_removes_only_registries(tmp_path, registry):
    import shutil

    shutil.copytree(registry.root, tmp_path / "old")
    assert dep.fresh_registry(tmp_path / "old").versions() == []
    assert not (tmp_path / "old").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match=r"not a registry .*refusing to delete it"):
        dep.fresh_registry(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").exists()
    (tmp_path / "empty").mkdir()
    assert dep.fresh_registry(tmp_path / "empty").versions() == []
    with pytest.raises(InputError, match="exists and is not a folder"):
        dep.fresh_registry(tmp_path / "mine" / "notes.txt")


def test_snapshot_table_and_timeline(registry):
    snap = dep.registry_snapshot(registry, "after v3")
    assert snap == {
        "step": "after v3",
        "production": 3,
        "previous": 2,
        "n_versions": 3,
        "history": [1, 2, 3],
    }
    table = dep.versions_table(registry)
    assert table["version"].tolist() == [1, 2, 3]
    assert table["alias"].tolist() == ["", "previous", "production"]
    assert table["gate_threshold"].tolist() == [0.85, 0.85, 0.5]
    assert (
        table["data_fingerprint"].nunique() == 2 and table["artifact_sha256"].str.len().eq(12).all()
    )
    fig, ax = _axes()
    dep.draw_timeline([dep.registry_snapshot(Registry(registry.root / "none"), "start"), snap], ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["start", "after v3"]
    plt.close(fig)


def test_live_accuracy_calls_for_a_rollback(registry, data):
    weeks = [data[1].iloc[:70], data[1].iloc[70:]]
    live = dep.live_accuracy(registry, weeks)
    assert live[["week", "alias", "version"]].values.tolist() == [
        [1, "production", 3],
        [2, "production", 3],
        [1, "previous", 2],
        [2, "previous", 2],
    ]
    roll, reasons = dep.rollback_decision(live)
    assert roll and reasons[0].startswith("production v3 live accuracy")
    assert "trails previous v2" in reasons[1]
    fig, ax = _axes()
    dep.draw_live_accuracy(live, ax)
    assert len(ax.lines) == 3
    plt.close(fig)


def test_rollback_decision_exact_reasons():
    live = pd.DataFrame(
        {
            "week": [1, 1],
            "alias": ["production", "previous"],
            "version": [4, 3],
            "accuracy": [0.93, 0.95],
        }
    )
    assert dep.rollback_decision(live) == (
        True,
        ("production v4 trails previous v3 by 0.020 (tolerance 0.010)",),
    )
    assert dep.rollback_decision(live, tolerance=0.05) == (False, ())
    assert dep.rollback_decision(live.iloc[:1], min_accuracy=0.95) == (
        False,
        (
            "production v4 live accuracy 0.930 < 0.950",
            "no previous version to roll back to: retrain on recent labelled data",
        ),
    )
    assert dep.rollback_decision(live.iloc[:1]) == (False, ())
    with pytest.raises(InputError, match="no rows for the production model"):
        dep.rollback_decision(live.iloc[1:])


@pytest.mark.parametrize(
    ("production", "previous", "expected"),
    [
        # a bad deploy: the previous version is better on the same weeks and good enough
        (0.85, 0.95, (True, ("production v4 live accuracy 0.850 < 0.900",
                             "production v4 trails previous v3 by 0.100 (tolerance 0.010)"))),
        # the data changed: both fall together, the previous version is no better
        (0.85, 0.85, (False, ("production v4 live accuracy 0.850 < 0.900",
                              "previous v3 scores 0.850 on the same weeks, also below 0.900",
                              "the deploy is not the cause: retrain on recent labelled data"))),
        (0.895, 0.9, (False, ("production v4 live accuracy 0.895 < 0.900",
                              "previous v3 scores 0.900 on the same weeks, within the tolerance",
                              "the deploy is not the cause: retrain on recent labelled data"))),
        # the previous version is a little better but misses the bar too: rolling back fixes nothing
        (0.80, 0.83, (False, ("production v4 live accuracy 0.800 < 0.900",
                              "production v4 trails previous v3 by 0.030 (tolerance 0.010)",
                              "previous v3 scores 0.830 on the same weeks, also below 0.900",
                              "the deploy is not the cause: retrain on recent labelled data"))),
    ],
)  # fmt: skip
def test_rollback_is_for_a_bad_deploy_retraining_for_changed_data(production, previous, expected):
    live = pd.DataFrame(
        {
            "week": [1, 1],
            "alias": ["production", "previous"],
            "version": [4, 3],
            "accuracy": [production, previous],
        }
    )
    assert dep.rollback_decision(live) == expected


def test_record_results_writes_what_the_lesson_computed(registry, data, tmp_path):
    import json

    from mlcicd.data import production_batches
    from mlcicd.evaluation import validate_model

    train, holdout = data
    weeks = [holdout.iloc[:70], holdout.iloc[70:]]
    live = dep.live_accuracy(registry, weeks)
    drift = dep.live_accuracy(
        registry,
        production_batches(holdout, n_batches=2, batch_size=50, concept_drift=0.9, drift_start=0),
    )
    v3 = registry.get(3)
    decision = validate_model(registry.load(3).model, holdout, TARGET)
    reproduced = pd.DataFrame(
        [dep.reproduce_version(registry, v.version, train) for v in registry.versions()]
    ).set_index("version")
    explorer = dep.version_explorer(registry, holdout)
    explorer.update()
    path = dep.record_results(
        tmp_path,
        registry=registry,
        steps=[dep.registry_snapshot(registry, "now")],
        refused="no",
        bad_version=v3,
        bad_decision=decision,
        intended=decision,
        live=live,
        rollback=dep.rollback_decision(live),
        drift_live=drift,
        drift_rollback=dep.rollback_decision(drift),
        tamper_detected=True,
        reproduced=reproduced,
        explorer=explorer,
    )
    saved = json.loads(path.read_text())
    assert saved["versions"] == [1, 2, 3] and saved["bad_version"] == 3
    assert saved["gate_thresholds"] == {"1": 0.85, "2": 0.85, "3": 0.5}
    assert saved["roll_back"] is True and saved["drift_versions"] == {
        "previous": 2,
        "production": 3,
    }
    assert saved["reproduced"]["3"] == {"same_data": False, "same_model": False}
    assert saved["explorer"]["selected"] == 3


def test_tampered_copy_loads_as_a_file_but_not_from_the_registry(registry, data, tmp_path):
    dummy = train_model(data[0], TARGET, ModelSpec("dummy"))
    path = dep.tamper_copy(registry, tmp_path / "copy", version=2, replacement=dummy)
    assert load_model(path).spec.name == "dummy"
    with pytest.raises(CheckFailed, match="does not match the recorded"):
        Registry(tmp_path / "copy").load(2)
    assert registry.load(2).spec.name == "decision_tree"  # the original is untouched


def test_reproduce_version_from_metadata(registry, data):
    assert dep.reproduce_version(registry, 2, data[0]) == {
        "version": 2,
        "same_data": True,
        "same_model": True,
    }
    assert dep.reproduce_version(registry, "production", data[0]) == {
        "version": 3,
        "same_data": False,
        "same_model": False,
    }


def test_version_explorer_loads_and_scores_each_version(registry, data):
    ex = dep.version_explorer(registry, data[1])
    r = ex.update()
    assert r["selected"] == 3 and set(r["scores"]) == {1, 2, 3}
    assert r["aliases"] == {"production": 3, "previous": 2}
    r = ex.update(version=1, metric="f1")
    assert ex.summary.startswith("v1 (decision_tree): f1 ")
    assert len(ex.figure.axes[0].patches) == 3
    with pytest.raises(InputError, match="metric 'speed': unknown"):
        dep.version_explorer_compute(registry, data[1], version=1, metric="speed")
    with pytest.raises(InputError, match="version 9: not in the registry"):
        dep.version_explorer_compute(registry, data[1], version=9, metric="accuracy")


STEM = "04_deployment_and_rollback"


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_04")]

    def test_versions_and_aliases_after_each_step(self, run):
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

    def test_unblessed_deploy_is_refused(self, run):
        refused = run.results["refused_deploy"]
        assert refused.startswith("deploy refused: the quality gate did not bless the model")
        assert "does not beat the baseline" in refused

    def test_bad_model_slips_in_is_detected_and_rolled_back(self, run):
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

    def test_rollback_is_not_the_answer_to_drift(self, run):
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

    def test_v4_stands_out_in_the_audit(self, run):
        # "a gate threshold of 0.7, and a data fingerprint that is not the reviewed training set's"
        assert run.results["gate_thresholds"] == {"1": 0.9, "2": 0.9, "3": 0.9, "4": 0.7}
        assert run.results["reproduced"]["4"]["same_data"] is False

    def test_tampering_is_detected_and_versions_reproduce(self, run):
        r = run.results
        assert r["tamper_detected"] is True
        same = {"same_data": True, "same_model": True}
        assert r["reproduced"] == {
            "1": same,
            "2": same,
            "3": same,
            "4": {"same_data": False, "same_model": False},
        }

    def test_explorer_loaded_and_scored_every_version(self, run):
        e = run.results["explorer"]
        assert e["selected"] == 4
        assert e["scores"] == {"1": 0.958042, "2": 0.958042, "3": 0.958042, "4": 0.783217}
        assert e["summary"].startswith("v4 (logistic_regression): accuracy 0.783")

    def test_registry_is_written_under_output_dir(self, run):
        out = run.output.parent / STEM
        assert sorted(p.name for p in (out / "registry" / "versions").iterdir()) == [
            "0001",
            "0002",
            "0003",
            "0004",
        ]

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        assert_rendered(run)
