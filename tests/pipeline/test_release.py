"""The release policy (mlcicd.pipeline.release) and the four places that use it: the loop's
stages, the command line, lesson 4's registry, lesson 5's retraining loop (and lesson 8's verdict)."""

from __future__ import annotations

import pandas as pd
import pytest

from mlcicd.cli import main
from mlcicd.data import TARGET, load_dataset, split
from mlcicd.errors import CheckFailed, InputError
from mlcicd.evaluation import GateDecision
from mlcicd.pipeline import release, stages
from mlcicd.registry import Registry
from mlcicd.training import ModelSpec, save_model, train_model


@pytest.fixture(scope="module")
def data():
    train, holdout = split(load_dataset(), seed=0)
    return train, holdout


@pytest.fixture(scope="module")
def good(data):
    return train_model(data[0], TARGET, ModelSpec("logistic_regression", {"C": 1.0}), seed=0)


@pytest.fixture(scope="module")
def dummy(data):
    return train_model(data[0], TARGET, ModelSpec("dummy"), seed=0)


def spy(monkeypatch, name):
    """Record each call of ``release.<name>`` (which still does its work)."""
    calls = []
    original = getattr(release, name)

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(release, name, recording)
    return calls


# ---------------------------------------------------------------------------------- the policy


def test_a_blessed_candidate_is_deployed(data, good, tmp_path):
    decision = release.decide(good.model, data[1], TARGET)
    assert decision.blessed and release.refusal(decision) is None
    registry = Registry(tmp_path / "reg")
    version = release.release(registry, good, decision)
    assert version.version == 1 and registry.aliases() == {"production": 1}
    assert release.production_model(registry) is not None
    assert release.release(None, good, decision, version=7) == 7  # the caller's count


def test_a_rejected_candidate_is_never_deployed_and_the_registry_is_unchanged(
    data, good, dummy, tmp_path
):
    registry = Registry(tmp_path / "reg")
    release.release(registry, good, release.decide(good.model, data[1], TARGET))
    before = (registry.aliases(), [v.version for v in registry.versions()])
    decision = release.decide(dummy.model, data[1], TARGET, production_model=good.model)
    assert not decision.blessed
    assert release.refusal(decision) == "; ".join(decision.reasons)
    assert release.release(registry, dummy, decision) is None
    assert release.release(None, dummy, decision, version=2) is None
    with pytest.raises(CheckFailed, match="deploy refused: the quality gate did not bless"):
        release.release(registry, dummy, decision, strict=True)
    assert (registry.aliases(), [v.version for v in registry.versions()]) == before


def test_a_candidate_worse_than_production_is_rejected():
    decision = release.decide_on_metrics(
        {"accuracy": 0.92}, {"accuracy": 0.63}, {"accuracy": 0.96}, {"accuracy": 0.90}, 0.01
    )
    assert not decision.blessed
    failed = [c.name for c in decision.checks if not c.passed]
    assert failed == ["no_regression_accuracy"]
    assert release.refusal(decision) == (
        "accuracy 0.920 is 0.040 below production 0.960 (tolerance 0.010)"
    )
    same = release.decide_on_metrics(
        {"accuracy": 0.955}, {"accuracy": 0.63}, {"accuracy": 0.96}, {"accuracy": 0.90}, 0.01
    )
    assert same.blessed  # within the tolerance


def test_gate_and_release_refuses_a_worse_model_and_keeps_production(data, good, dummy, tmp_path):
    registry = Registry(tmp_path / "reg")
    decision, version = release.gate_and_release(registry, good, data[1], TARGET)
    assert decision.blessed and version.version == 1
    with pytest.raises(CheckFailed):
        release.gate_and_release(registry, dummy, data[1], TARGET)
    decision, version = release.gate_and_release(registry, dummy, data[1], TARGET, strict=False)
    assert not decision.blessed and version is None
    assert registry.aliases() == {"production": 1} and len(registry.versions()) == 1


def test_refusal_needs_a_gate_decision():
    with pytest.raises(InputError, match="expected a GateDecision, got dict"):
        release.refusal({"blessed": True})


@pytest.mark.parametrize(
    ("production", "previous", "expected", "words"),
    [
        ((2, 0.80), (1, 0.95), True, ["trails previous v1 by 0.150"]),
        ((2, 0.80), (1, 0.81), False, ["also below 0.900", "retrain"]),
        ((2, 0.80), None, False, ["no previous version to roll back to"]),
        ((2, 0.95), (1, 0.955), False, []),
        ((2, 0.92), (1, 0.97), True, ["trails previous v1 by 0.050"]),
    ],
)
def test_rollback_policy(production, previous, expected, words):
    roll_back, reasons = release.rollback_policy(
        production, previous, min_accuracy=0.90, tolerance=0.01
    )
    assert roll_back is expected
    text = " | ".join(reasons)
    assert all(w in text for w in words) and (reasons == ()) == (words == [])


@pytest.mark.parametrize(
    ("production", "previous", "verdict"),
    [(False, None, "keep"), (False, True, "keep"), (True, False, "rollback"),
     (True, True, "retrain"), (True, None, "retrain")],
)  # fmt: skip
def test_live_verdict(production, previous, verdict):
    assert release.live_verdict(production, previous) == verdict


def test_retrain_policy():
    assert [release.retrain_policy(p, False) for p in release.RETRAIN_POLICIES] == [
        False,
        False,
        True,
    ]
    assert [release.retrain_policy(p, True) for p in release.RETRAIN_POLICIES] == [
        False,
        True,
        True,
    ]
    with pytest.raises(InputError, match="policy='sometimes': unknown"):
        release.retrain_policy("sometimes", True)


# ---------------------------------------------------------------------------------- call sites


def test_the_loop_stages_gate_and_deploy_through_the_policy(good, monkeypatch, tmp_path):
    decide = spy(monkeypatch, "decide_on_metrics")
    deploy = spy(monkeypatch, "release")
    decision = stages.gate({"accuracy": 0.95}, {"accuracy": 0.6}, None, {"accuracy": 0.9}, 0.01)
    assert isinstance(decision, GateDecision) and decision.blessed and len(decide) == 1
    assert stages.gate_verdict(decision) is None
    assert stages.deploy(None, good, decision, None, 3) == 3
    version = stages.deploy(Registry(tmp_path / "reg"), good, decision, None, 3)
    assert version.version == 1 and len(deploy) == 2
    rejected = stages.gate({"accuracy": 0.5}, {"accuracy": 0.6}, None, {"accuracy": 0.9}, 0.01)
    assert stages.gate_verdict(rejected)[0] == "rejected"
    assert stages.deploy(None, good, rejected, None, 4) is None


def test_the_command_line_gates_and_deploys_through_the_policy(
    data, good, monkeypatch, tmp_path, capsys
):
    model, holdout = tmp_path / "m.skops", tmp_path / "holdout.csv"
    save_model(good, model)
    data[1].to_csv(holdout, index=False)
    decide, deploy = spy(monkeypatch, "decide"), spy(monkeypatch, "release")
    registry = tmp_path / "reg"
    argv = ["test-model", model, holdout, "--target", TARGET, "--registry", registry, "--no-cache"]
    assert main([str(a) for a in argv]) == 0 and len(decide) == 1
    assert main(["deploy", str(model), "--registry", str(registry)]) == 0 and len(deploy) == 1
    assert Registry(registry).aliases() == {"production": 1}
    capsys.readouterr()


def test_lesson_4_gates_deploys_and_rolls_back_through_the_policy(
    data, good, dummy, monkeypatch, tmp_path
):
    from mlcicd.lessons import deployment as dep

    decide, policy = spy(monkeypatch, "decide"), spy(monkeypatch, "rollback_policy")
    registry = dep.fresh_registry(tmp_path / "reg")
    decision, version = dep.gate_and_deploy(registry, good, data[1])
    assert decision.blessed and version.version == 1 and len(decide) == 1
    with pytest.raises(CheckFailed, match="deploy refused"):
        dep.gate_and_deploy(registry, dummy, data[1])
    assert len(registry.versions()) == 1 and len(decide) == 2
    live = pd.DataFrame(
        {
            "week": [1, 1],
            "alias": ["production", "previous"],
            "version": [2, 1],
            "accuracy": [0.80, 0.95],
        }
    )
    assert dep.rollback_decision(live) == release.rollback_policy((2, 0.80), (1, 0.95))
    assert len(policy) == 2


def test_lesson_5_retrains_gates_and_deploys_through_the_policy(monkeypatch):
    from mlcicd.lessons import monitoring as mon

    retrain, decide = spy(monkeypatch, "retrain_policy"), spy(monkeypatch, "decide")
    deploy = spy(monkeypatch, "release")
    frame = mon.simulate_weeks("every_week", covariate_shift=0.0, n_weeks=3, batch_size=60)
    assert len(retrain) == 1 + 3  # the policy's name checked, then once a week
    assert len(decide) == 1 + 3  # the first model, then each week's candidate
    assert len(deploy) == 3  # each week's candidate (the first serves without a registry)
    assert frame["retrained"].all()
    blessed = frame["blessed"].to_numpy()
    assert ((frame["deployed_version"] > 0).to_numpy() == blessed).all()


def test_lesson_8_verdict_is_the_policys(monkeypatch):
    from mlcicd.lessons import workflow as wf

    calls = spy(monkeypatch, "live_verdict")
    assert wf.live_verdict({"retrain": True}, {"retrain": False}) == "rollback"
    assert wf.live_verdict({"retrain": True}, None) == "retrain"
    assert len(calls) == 2
