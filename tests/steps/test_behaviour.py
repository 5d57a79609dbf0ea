"""Behavioural tests (mlcicd.behaviour) on the course's data and models."""

from __future__ import annotations

import numpy as np
import pytest

from mlcicd.behaviour import (
    behaviour_gate,
    directional,
    invariance,
    minimum_functionality,
    run_behaviour_tests,
)
from mlcicd.errors import InputError
from mlcicd.evaluation import quality_gate
from mlcicd.training import ModelSpec, train_model


@pytest.fixture(scope="module")
def model(data):
    train, _ = data
    return train_model(train, "target", ModelSpec("logistic_regression"), seed=0).model


def _features(frame):
    return frame.drop(columns=["target"])


def test_invariance_to_tiny_noise_passes_and_a_big_change_fails(model, data):
    rows = _features(data[1])
    tiny = invariance("x1.001", model, rows, lambda d: d * 1.001, max_failures=2)
    assert tiny.passed and tiny.n_cases == len(rows)
    big = invariance("x3", model, rows, lambda d: d * 3)
    assert not big.passed and "cases failed" in big.detail


def test_directional_bigger_tumours_are_not_more_benign(model, data):
    rows = _features(data[1])
    grow = lambda d: d.assign(worst_area=d["worst_area"] * 1.5)  # noqa: E731
    # target 1 = benign in scikit-learn's breast cancer data
    result = directional("larger -> less benign", model, rows, grow, 1, increase=False)
    assert result.passed, result.detail
    wrong_way = directional("larger -> more benign", model, rows, grow, 1, increase=True)
    assert not wrong_way.passed


def test_minimum_functionality_and_gate_names_the_test(model, data):
    holdout = data[1]
    extreme = holdout.nlargest(10, "worst_concave_points")
    ok = minimum_functionality("clear malignant", model, _features(extreme), [0] * 10)
    assert ok.passed
    bad = minimum_functionality("all benign", model, _features(extreme), [1] * 10)
    decision = quality_gate({"accuracy": 0.95}, baseline_metrics={"accuracy": 0.6})
    assert decision.blessed
    gated = behaviour_gate(decision, run_behaviour_tests(model, [lambda m: ok, lambda m: bad]))
    assert not gated.blessed
    assert gated.reasons == ("all benign: 10 of 10 cases failed (max allowed 0)",)
    assert [c.name for c in gated.checks][-2:] == [
        "behaviour_clear malignant",
        "behaviour_all benign",
    ]


def test_bad_inputs_are_input_errors(model, data):
    rows = _features(data[1])
    with pytest.raises(InputError, match="same shape"):
        invariance("drop", model, rows, lambda d: d.iloc[:3])
    with pytest.raises(InputError, match="class 7"):
        directional("d", model, rows, lambda d: d, 7)
    with pytest.raises(InputError, match="one per case"):
        minimum_functionality("m", model, rows, np.zeros(2))
    with pytest.raises(InputError, match="non-empty"):
        invariance("e", model, rows.iloc[:0], lambda d: d)
