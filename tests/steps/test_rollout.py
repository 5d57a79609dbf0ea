"""Shadow comparison and the canary decision rule (mlcicd.rollout)."""

from __future__ import annotations

import numpy as np
import pytest

from mlcicd.data import load_dataset, production_batches, split
from mlcicd.errors import InputError
from mlcicd.rollout import (
    PROMOTE,
    ROLLBACK,
    CanaryRule,
    canary_tradeoff,
    rule_error_rates,
    run_canary,
    shadow_compare,
)
from mlcicd.training import ModelSpec, train_model


def test_rule_decides_on_counts():
    rule = CanaryRule(share=0.1, threshold=0.05, min_canary=10, max_canary=20)
    assert rule.decide(9, 9, 0, 100) == "undecided"  # too few canary requests
    assert rule.decide(2, 10, 5, 100) == ROLLBACK  # 0.20 - 0.05 > 0.05
    assert rule.decide(1, 10, 5, 100) == "undecided"  # 0.10 - 0.05 is not > 0.05
    assert rule.decide(1, 20, 5, 100) == PROMOTE


@pytest.mark.parametrize(
    "kwargs", [{"share": 0}, {"share": 1.5}, {"threshold": -0.1}, {"min_canary": 0},
               {"min_canary": 50, "max_canary": 10}, {"share": True}],
)  # fmt: skip
def test_bad_rule_is_one_line_input_error(kwargs):
    with pytest.raises(InputError):
        CanaryRule(**kwargs)


def test_equal_models_are_promoted_after_max_canary_users():
    correct = np.ones(500, dtype=bool)
    r = run_canary(correct, correct, CanaryRule(0.2, 0.0, 30, 80), seed=3)
    assert r.decision == PROMOTE and r.users_affected == 80
    assert r.extra_errors == 0 and r.canary_errors == 0
    # the time to decision is about max_canary / share requests
    assert 250 < r.requests < 550


def test_a_broken_candidate_is_rolled_back_at_min_canary():
    prod = np.ones(300, dtype=bool)
    r = run_canary(prod, np.zeros(300, dtype=bool), CanaryRule(0.05, 0.1, 25, 100), seed=1)
    assert r.decision == ROLLBACK and r.users_affected == 25 and r.extra_errors == 25


def test_canary_is_deterministic_and_share_trades_users_for_time():
    rng = np.random.default_rng(0)
    prod, cand = rng.random(1000) > 0.05, rng.random(1000) > 0.2
    table = canary_tradeoff(prod, cand, [0.05, 0.2, 0.5], threshold=0.02, min_canary=40)
    again = canary_tradeoff(prod, cand, [0.05, 0.2, 0.5], threshold=0.02, min_canary=40)
    assert table.equals(again)
    assert (table["decision"] == ROLLBACK).all()
    assert table["requests"].is_monotonic_decreasing  # a larger share decides sooner
    assert (table["users_affected"] >= 40).all()


def test_mismatched_arrays_are_refused():
    with pytest.raises(InputError, match="equal length"):
        run_canary(np.ones(3, bool), np.ones(4, bool), CanaryRule())


def test_rule_error_rates_move_with_the_threshold():
    strict = rule_error_rates(CanaryRule(0.1, 0.0, 50, 200), n_runs=60, seed=0)
    lenient = rule_error_rates(CanaryRule(0.1, 0.08, 50, 200), n_runs=60, seed=0)
    assert strict.false_rollback > lenient.false_rollback
    assert strict.missed_regression < lenient.missed_regression
    assert 0 <= strict.false_rollback <= 1 and strict.n_runs == 60


def test_shadow_catches_a_candidate_better_on_holdout_worse_live():
    df = load_dataset()
    train, holdout = split(df, seed=0)
    prod = train_model(train, "target", ModelSpec("logistic_regression", {"C": 0.01}), seed=0)
    cand = train_model(train, "target", ModelSpec("gradient_boosting"), seed=0)
    live = production_batches(
        holdout,
        n_batches=1,
        batch_size=1000,
        covariate_shift=0.5,
        drift_start=0,
        features=["worst_radius", "worst_area", "worst_perimeter"],
        seed=1,
    )[0]
    report = shadow_compare(prod.model, cand.model, live, "target", n_requests=500, seed=0)
    assert report.candidate_worse and report.users_affected == 0
    assert report.agreement < 1
