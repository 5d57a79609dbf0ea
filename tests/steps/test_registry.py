"""The model registry: versions, aliases, rollback, integrity, concurrency and crash safety."""

from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from mlcicd import registry as registry_module
from mlcicd.data import load_dataset, split
from mlcicd.errors import CheckFailed, InputError
from mlcicd.evaluation import quality_gate, validate_model
from mlcicd.registry import ModelVersion, Registry
from mlcicd.training import ModelSpec, TrainedModel, model_fingerprint, train_model

C_VALUES = [0.01 * 1.5**i for i in range(10)]


@pytest.fixture(scope="module")
def data():
    return split(load_dataset(), seed=0)


@pytest.fixture(scope="module")
def models(data):
    """10 distinct small models (logistic regression with different C)."""
    train = data[0]
    return [train_model(train, "target", ModelSpec(params={"C": c})) for c in C_VALUES]


@pytest.fixture(scope="module")
def blessed(data, models):
    decision = validate_model(models[5].model, data[1], "target")
    assert decision.blessed
    return decision


@pytest.fixture
def reg(tmp_path) -> Registry:
    return Registry(tmp_path / "registry")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _check_consistent(root: Path) -> Registry:
    """The invariants a reader relies on, whatever happened to the writers."""
    reg = Registry(root)
    names = sorted(p.name for p in (root / "versions").iterdir())
    assert names == [f"{v.version:04d}" for v in reg.versions()]
    for v in reg.versions():
        assert sorted(p.name for p in v.path.iterdir()) == ["metadata.json", "model.skops"]
        digest = hashlib.sha256(v.model_file.read_bytes()).hexdigest()
        assert digest == v.metadata["artifact_sha256"]
    aliases = reg.aliases()
    assert set(aliases.values()) <= {v.version for v in reg.versions()}
    if "production" in aliases:
        assert reg.production() is not None
    return reg


# ---------------------------------------------------------------------------------- deploy


def test_a_new_registry_is_empty(reg):
    assert reg.versions() == [] and reg.aliases() == {} and reg.production() is None
    assert not reg.root.exists()  # created on the first write only


def test_deploy_refuses_an_unblessed_decision_and_changes_nothing(reg, models, blessed):
    reg.deploy(models[0], blessed)
    before = _tree(reg.root)
    rejected = quality_gate({"accuracy": 0.853}, baseline_metrics={"accuracy": 0.627})
    with pytest.raises(
        CheckFailed, match=r"deploy refused: .*\(accuracy 0.853 < threshold 0.900\)"
    ):
        reg.deploy(models[1], rejected)
    assert _tree(reg.root) == before


def test_a_refused_first_deploy_creates_no_folder(reg, models):
    rejected = quality_gate({"accuracy": 0.5}, baseline_metrics={"accuracy": 0.627})
    with pytest.raises(CheckFailed):
        reg.deploy(models[0], rejected)
    assert not reg.root.exists()


def test_versions_are_numbered_and_aliases_move(reg, models, blessed):
    expected_aliases = [
        {"production": 1},
        {"production": 2, "previous": 1},
        {"production": 3, "previous": 2},
    ]
    for i, expected in enumerate(expected_aliases):
        v = reg.deploy(models[i], blessed)
        assert isinstance(v, ModelVersion) and v.version == i + 1
        assert reg.aliases() == expected
    assert [v.version for v in reg.versions()] == [1, 2, 3]
    assert sorted(p.name for p in (reg.root / "versions").iterdir()) == ["0001", "0002", "0003"]
    assert json.loads((reg.root / "aliases.json").read_text()) == {
        "production": 3,
        "previous": 2,
        "history": [1, 2, 3],
    }
    assert reg.production().spec == models[2].spec


def test_version_metadata(reg, models, blessed):
    schema = {"columns": [], "target": "target"}
    v = reg.deploy(models[0], blessed, schema=schema)
    meta = json.loads((v.path / "metadata.json").read_text())
    assert meta == v.metadata == reg.get(1).metadata
    assert meta["version"] == 1
    assert meta["model_name"] == "logistic_regression"
    assert meta["params"] == {"C": C_VALUES[0]}
    assert meta["data_fingerprint"] == models[0].metadata["data_fingerprint"]
    assert meta["schema"] == schema
    assert meta["metrics"] == blessed.metrics
    assert meta["gate"] == json.loads(json.dumps(blessed.to_dict()))
    assert meta["created_at"].endswith("+00:00")
    assert meta["artifact_sha256"] == hashlib.sha256(v.model_file.read_bytes()).hexdigest()
    assert meta["model_fingerprint"] == model_fingerprint(models[0].model)
    assert meta["training"] == models[0].metadata
    assert v.to_dict() == {"version": 1, "path": str(v.path), "metadata": meta}


def test_schema_objects_are_stored_with_to_dict(reg, models, blessed):
    class FakeSchema:
        def to_dict(self):
            return {"columns": [{"name": "x"}], "target": None}

    v = reg.deploy(models[0], blessed, schema=FakeSchema())
    assert v.metadata["schema"] == {"columns": [{"name": "x"}], "target": None}
    assert reg.deploy(models[1], blessed).metadata["schema"] is None


def test_redeploying_a_stored_model_promotes_it(reg, data, models, blessed):
    for m in models[:3]:
        assert not reg.deploy(m, blessed).already_deployed  # each one new: stored
    first = reg.deploy(models[2], blessed)  # already production: nothing changes
    assert first.version == 3 and first.already_deployed
    assert reg.aliases() == {"production": 3, "previous": 2}
    retrained = train_model(data[0], "target", ModelSpec(params={"C": C_VALUES[0]}))
    v = reg.deploy(retrained, blessed)  # the same model, trained again
    assert v.version == 1 and v.already_deployed
    assert [v.version for v in reg.versions()] == [1, 2, 3]
    assert reg.aliases() == {"production": 1, "previous": 3}
    assert reg.history() == [1, 2, 3, 1]
    fp = model_fingerprint(models[1].model)
    assert reg.find_by_artifact(fp).version == 2
    assert reg.find_by_artifact(reg.get(3).metadata["artifact_sha256"]).version == 3
    assert reg.find_by_artifact("0" * 64) is None


# ---------------------------------------------------------------------------------- rollback


def test_rollback_walks_back_through_the_history(reg, models, blessed):
    for m in models[:3]:
        reg.deploy(m, blessed)
    assert reg.rollback().version == 2
    assert reg.aliases() == {"production": 2, "previous": 1}
    assert reg.rollback().version == 1
    assert reg.aliases() == {"production": 1}
    with pytest.raises(CheckFailed, match="nothing to roll back to"):
        reg.rollback()
    assert reg.aliases() == {"production": 1}
    assert reg.deploy(models[3], blessed).version == 4
    assert reg.aliases() == {"production": 4, "previous": 1}


def test_rollback_of_an_empty_registry(reg):
    with pytest.raises(CheckFailed, match="nothing to roll back to"):
        reg.rollback()


# ---------------------------------------------------------------------------------- reading


def test_get_by_number_string_and_alias(reg, models, blessed):
    for m in models[:2]:
        reg.deploy(m, blessed)
    assert reg.get(1).version == reg.get("1").version == reg.get("previous").version == 1
    assert reg.get().version == reg.get("production").version == 2
    with pytest.raises(InputError, match=r"no version 7 \(versions: 1, 2\)"):
        reg.get(7)
    with pytest.raises(InputError, match=r"unknown reference 'staging' .*production, previous"):
        reg.get("staging")
    reg.rollback()
    with pytest.raises(InputError, match="alias 'previous' is not set"):
        reg.get("previous")


def test_load_returns_the_deployed_model(reg, data, models, blessed):
    reg.deploy(models[4], blessed)
    back = reg.load(1)
    X = data[1].drop(columns="target")
    np.testing.assert_array_equal(back.model.predict(X), models[4].model.predict(X))
    assert back.metadata == models[4].metadata


def test_load_stored_checks_the_file_and_loads_the_model_only_when_used(reg, data, models, blessed):
    reg.deploy(models[4], blessed)
    stored = reg.load_stored("production")
    assert stored._model is None and stored.spec == models[4].spec
    assert stored.metadata == models[4].metadata
    assert stored.model_fingerprint == model_fingerprint(models[4].model)
    X = data[1].drop(columns="target")
    np.testing.assert_array_equal(stored.model.predict(X), models[4].model.predict(X))
    raw = bytearray(reg.get(1).model_file.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    reg.get(1).model_file.write_bytes(bytes(raw))
    with pytest.raises(CheckFailed, match="modified"):
        reg.load_stored("production")


def test_load_refuses_a_tampered_artifact(reg, models, blessed):
    v = reg.deploy(models[0], blessed)
    raw = bytearray(v.model_file.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    v.model_file.write_bytes(bytes(raw))
    with pytest.raises(CheckFailed, match=r"registry model .*0001/model\.skops: sha256 .*modified"):
        reg.load("production")
    with pytest.raises(CheckFailed):
        reg.production()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"production": 1, "previous": null, "history": "1"}', "history must be a list"),
        ('{"production": 2, "previous": null, "history": [1]}', "production is 2 but the history"),
        ('{"production": 9, "previous": 1, "history": [1, 9]}', "version 9 which does not exist"),
    ],
)
def test_a_malformed_aliases_file_is_named(reg, models, blessed, content, match):
    reg.deploy(models[0], blessed)
    (reg.root / "aliases.json").write_text(content)
    with pytest.raises(InputError, match=rf"registry aliases .*aliases\.json: .*{match}"):
        Registry(reg.root)


def test_a_file_is_not_a_registry(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        Registry(tmp_path / "file")


def test_leftovers_of_a_crashed_writer_are_ignored_then_removed(reg, models, blessed):
    reg.deploy(models[0], blessed)
    leftover = reg.root / ".tmp-deadbeef"
    leftover.mkdir()
    (leftover / "model.skops").write_bytes(b"PK\x03\x04 half")
    half_aliases = reg.root / ".aliases.json.x1y2.tmp"
    half_aliases.write_text('{"production": ')
    assert [v.version for v in Registry(reg.root).versions()] == [1]
    assert reg.aliases() == {"production": 1}
    assert reg.deploy(models[1], blessed).version == 2
    assert not leftover.exists() and not half_aliases.exists()


def test_a_failure_while_writing_leaves_the_registry_unchanged(reg, models, blessed, monkeypatch):
    reg.deploy(models[0], blessed)
    before = _tree(reg.root)

    def failing_rename(src, dst):
        raise OSError("no space left on device")

    monkeypatch.setattr(registry_module.os, "rename", failing_rename)
    with pytest.raises(OSError, match="no space left"):
        reg.deploy(models[1], blessed)
    monkeypatch.undo()
    assert _tree(reg.root) == before
    assert not list(reg.root.glob(".tmp-*"))
    assert reg.aliases() == {"production": 1}


# ---------------------------------------------------------------------------------- processes


def _deploy_all(root, trained_models, decision, barrier):
    barrier.wait()
    reg = Registry(root)
    for trained in trained_models:
        reg.deploy(trained, decision)


def test_concurrent_deploys_get_distinct_versions(tmp_path, models, blessed):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    root = tmp_path / "registry"
    workers = [
        ctx.Process(target=_deploy_all, args=(root, models[i::2], blessed, barrier))
        for i in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    reg = _check_consistent(root)
    versions = reg.versions()
    assert [v.version for v in versions] == list(range(1, 11))
    stored = {v.metadata["model_fingerprint"] for v in versions}
    assert stored == {model_fingerprint(m.model) for m in models}
    history = reg.history()
    assert sorted(history) == list(range(1, 11))
    assert reg.aliases() == {"production": history[-1], "previous": history[-2]}


def _deploy_forever(root, trained_models, decision, start):
    """Deploy a stream of distinct models (a fitted model with its intercept nudged)."""
    reg = Registry(root)
    for i in range(start, start + 1000):
        base = trained_models[i % len(trained_models)]
        model = copy.deepcopy(base.model)
        model[-1].intercept_ = model[-1].intercept_ + i * 1e-9
        reg.deploy(TrainedModel(model, base.spec, base.metadata), decision)
        if i % 3 == 2:
            reg.rollback()


def _landed(root) -> int:
    """Versions whose folder was renamed into place (a deploy's last step before the aliases)."""
    folder = root / "versions"
    return sum(1 for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else 0


def test_a_killed_deployer_never_leaves_a_broken_registry(tmp_path, models, blessed):
    ctx = mp.get_context("fork")  # the child inherits the fitted models: it only deploys
    root = tmp_path / "registry"
    rng = random.Random(0)
    for round_ in range(6):
        args = (root, models, blessed, round_ * 1000)
        child = ctx.Process(target=_deploy_forever, args=args)
        child.start()
        # this round's first deploy has landed (however loaded the machine), then a random
        # instant later, somewhere in the middle of the deploy loop, the child is killed
        deadline = time.monotonic() + 120
        while _landed(root) <= round_ and time.monotonic() < deadline and child.is_alive():
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        if root.exists() and (root / "versions").exists():
            _check_consistent(root)
    reg = _check_consistent(root)
    assert len(reg.versions()) >= 6
    assert reg.load("production").metadata["model_name"] == "logistic_regression"
