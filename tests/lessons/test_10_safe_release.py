"""Lesson 10 (shipping a model safely) runs in CI and computes what it states."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_10")]

STEM = "10_shipping_models_safely"


def test_candidate_better_on_the_holdout_worse_live_and_blessed(run):
    r = run.results
    acc = r["accuracy"]
    assert r["gate_blessed"] is True
    # "the candidate's lead there is one patient" (143 holdout rows)
    lead = (acc["candidate"]["holdout"] - acc["production"]["holdout"]) * 143
    assert lead == pytest.approx(1)
    # "live, it is clearly worse"
    assert acc["production"]["live"] - acc["candidate"]["live"] > 0.05


def test_the_shadow_catches_it_with_no_user_affected(run):
    shadow = run.results["shadow"]
    assert shadow["users_affected"] == 0 and shadow["candidate_worse"] is True
    assert shadow["agreement"] < 0.95  # "disagree on a noticeable share"


def test_the_canary_rolls_back_after_a_bounded_number_of_users(run):
    canary, rule = run.results["canary"], run.results["rule"]
    assert canary["decision"] == "rollback"
    assert rule["min_canary"] <= canary["users_affected"] <= rule["max_canary"]
    assert canary["extra_errors"] > 0


def test_the_rule_error_rates(run):
    rates = run.results["rates"]
    assert rates["false_rollback"] >= 0.05  # "a sizeable share" of equal candidates
    assert rates["missed_regression"] <= 0.05  # "rarely missed"


def test_tradeoff_share_sets_time_not_users(run):
    table = run.results["tradeoff"]
    assert all(row["decision"] == "rollback" for row in table)
    requests = [row["requests"] for row in table]
    assert requests == sorted(requests, reverse=True)
    min_canary = run.results["rule"]["min_canary"]
    assert all(min_canary <= row["users_affected"] <= 2 * min_canary for row in table)
    assert run.results["explorer_runs"] >= 1


def test_a_loose_threshold_promotes_the_worse_candidate():
    """The lesson invites the learner to try threshold 0.1 and see a red (promoted) point."""
    import mlcicd.lessons.safe_release as sr
    from mlcicd.rollout import CanaryRule

    s = sr.scenario(0.5, 1000, 0)
    table = sr.tradeoff(s, CanaryRule(0.1, 0.1, 100, 400))
    assert (table["decision"] == "promote").any()


def test_the_registry_recorded_the_release(run):
    r = run.results
    assert r["aliases"] == {"production": 1}
    assert r["traffic"] == {"production": 1, "candidate": None, "share": 0.0}
    assert [(x["action"], x["version"], x["share"]) for x in r["releases"]] == [
        ("candidate", 2, 0.0),
        ("share", 2, 0.1),
        ("reject", 2, 0.1),
    ]
    assert set(r["tools"]) >= {"Evidently", "TFDV, pandera, Great Expectations"}


def test_rendered(run, assert_rendered):
    assert_rendered(run)
