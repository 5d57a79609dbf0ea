"""Registry releases: a candidate beside production, a traffic share, promote and reject."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import time

import pytest

from mlcicd import files as files_module
from mlcicd.data import load_dataset, split
from mlcicd.errors import CheckFailed, InputError
from mlcicd.evaluation import quality_gate, validate_model
from mlcicd.registry import Registry
from mlcicd.training import ModelSpec, train_model


@pytest.fixture(scope="module")
def models():
    train, _ = split(load_dataset(), seed=0)
    return [train_model(train, "target", ModelSpec(params={"C": c})) for c in (0.1, 0.3, 1.0)]


@pytest.fixture(scope="module")
def blessed(models):
    decision = validate_model(models[0].model, split(load_dataset(), seed=0)[1], "target")
    assert decision.blessed
    return decision


@pytest.fixture
def reg(tmp_path, models, blessed) -> Registry:
    reg = Registry(tmp_path / "registry")
    reg.deploy(models[0], blessed)
    return reg


def test_staging_a_candidate_leaves_production_serving(reg, models, blessed):
    version = reg.stage_candidate(models[1], blessed, share=0.0, reason="shadow first")
    assert version.version == 2
    assert reg.aliases() == {"production": 1}
    assert reg.traffic() == {"production": 1, "candidate": 2, "share": 0.0}
    assert reg.get("candidate").version == 2 and reg.candidate().version == 2
    assert reg.production().metadata == models[0].metadata
    [record] = reg.releases()
    assert record["action"] == "candidate" and record["reason"] == "shadow first"


def test_canary_then_promote_records_the_split_of_each_decision(reg, models, blessed):
    reg.stage_candidate(models[1], blessed)
    assert reg.set_share(0.1, reason="canary 10 %") == {
        "production": 1,
        "candidate": 2,
        "share": 0.1,
    }
    promoted = reg.promote(reason="canary passed", evidence={"users_affected": 40})
    assert promoted.version == 2
    assert reg.aliases() == {"production": 2, "previous": 1}
    assert reg.traffic() == {"production": 2, "candidate": None, "share": 0.0}
    actions = [(r["action"], r["version"], r["production"], r["share"]) for r in reg.releases()]
    assert actions == [("candidate", 2, 1, 0.0), ("share", 2, 1, 0.1), ("promote", 2, 1, 0.1)]
    assert reg.releases()[-1]["evidence"] == {"users_affected": 40}
    # rollback still walks back, and keeps the release record
    assert reg.rollback().version == 1
    assert len(reg.releases()) == 3


def test_reject_sends_all_traffic_back_to_production(reg, models, blessed):
    reg.stage_candidate(models[1], blessed, share=0.2)
    assert reg.reject_candidate(reason="canary error rate +8 points").version == 2
    assert reg.traffic() == {"production": 1, "candidate": None, "share": 0.0}
    assert reg.releases()[-1]["action"] == "reject"
    with pytest.raises(CheckFailed, match="no candidate"):
        reg.promote()
    with pytest.raises(InputError, match="no candidate"):
        reg.get("candidate")


def test_deploy_keeps_a_staged_candidate(reg, models, blessed):
    reg.stage_candidate(models[1], blessed, share=0.05)
    reg.deploy(models[2], blessed)
    assert reg.traffic() == {"production": 3, "candidate": 2, "share": 0.05}


def test_refusals_change_nothing(reg, models, blessed):
    before = (reg.root / "aliases.json").read_bytes()
    rejected = quality_gate({"accuracy": 0.5}, baseline_metrics={"accuracy": 0.6})
    with pytest.raises(CheckFailed, match="did not bless"):
        reg.stage_candidate(models[1], rejected)
    with pytest.raises(CheckFailed, match="already production"):
        reg.stage_candidate(models[0], blessed)
    with pytest.raises(InputError, match="share"):
        reg.stage_candidate(models[1], blessed, share=1.5)
    with pytest.raises(CheckFailed, match="no candidate"):
        reg.set_share(0.5)
    assert (reg.root / "aliases.json").read_bytes() == before
    assert json.loads(before) == {"production": 1, "previous": None, "history": [1]}


@pytest.mark.parametrize(
    ("patch", "match"),
    [({"candidate": 99}, "candidate 99 does not exist"), ({"share": 2}, "share must be"),
     ({"share": 0.5}, "no candidate"), ({"releases": "x"}, "releases must be")],
)  # fmt: skip
def test_a_malformed_release_state_is_named(reg, patch, match):
    data = json.loads(reg.aliases_path.read_text())
    reg.aliases_path.write_text(json.dumps({**data, **patch}))
    with pytest.raises(InputError, match=match):
        Registry(reg.root)


def test_a_failed_promotion_leaves_the_registry_unchanged(reg, models, blessed, monkeypatch):
    reg.stage_candidate(models[1], blessed, share=0.1)
    before = reg.aliases_path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        reg.promote(reason="x")
    monkeypatch.undo()
    assert reg.aliases_path.read_bytes() == before
    assert reg.traffic() == {"production": 1, "candidate": 2, "share": 0.1}


def _release_forever(root, trained_models, decision):
    reg = Registry(root)
    for i in range(10_000):
        reg.stage_candidate(trained_models[1 + i % 2], decision, share=0.1)
        reg.set_share(0.5)
        if i % 2:
            reg.promote(reason=str(i))
        else:
            reg.reject_candidate(reason=str(i))
        if len(reg.history()) > 1:
            reg.rollback()


def test_a_killed_release_never_leaves_a_broken_registry(reg, models, blessed):
    ctx = mp.get_context("fork")
    rng = random.Random(0)
    for _ in range(5):
        child = ctx.Process(target=_release_forever, args=(reg.root, models, blessed))
        child.start()
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        fresh = Registry(reg.root)
        traffic = fresh.traffic()
        assert traffic["production"] in {v.version for v in fresh.versions()}
        if traffic["candidate"] is None:
            assert traffic["share"] == 0.0
        else:
            assert traffic["share"] in (0.1, 0.5) and fresh.load("candidate") is not None
        # a record exists for every decision that took effect: the candidate shown was staged
        staged = [r["version"] for r in fresh.releases() if r["action"] == "candidate"]
        assert traffic["candidate"] is None or traffic["candidate"] == staged[-1]
        fresh.production()
