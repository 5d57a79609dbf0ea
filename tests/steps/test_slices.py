"""The slice gate (mlcicd.slices)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcicd.errors import InputError
from mlcicd.slices import slice_accuracy, slice_gate, slice_masks


class Fixed:
    """Predicts the labels given for each x (a model whose mistakes we choose)."""

    def __init__(self, wrong):
        self.wrong = set(wrong)

    def predict(self, X):
        return np.array([(x % 2) ^ (x in self.wrong) for x in X["x"]])


@pytest.fixture
def frame():
    x = np.arange(100)
    return pd.DataFrame({"x": x, "target": x % 2})


def test_slice_accuracy_table(frame):
    table = slice_accuracy(Fixed(range(10)), frame, "target", {"low": "x < 20", "high": "x >= 20"})
    assert table.to_dict(orient="list") == {
        "slice": ["overall", "low", "high"],
        "n_rows": [100, 20, 80],
        "accuracy": [0.9, 0.5, 1.0],
    }


def test_gain_overall_loss_on_a_slice_is_rejected_with_the_slice_named(frame):
    production = Fixed(range(80, 100))  # 20 mistakes, all in "high"
    candidate = Fixed(range(0, 10))  # 10 mistakes, all in "low": better overall
    decision = slice_gate(candidate, production, frame, "target", {"low": "x < 20"})
    assert not decision.passed
    assert decision.reasons == (
        "slice 'low' (20 rows): accuracy 0.500 < production 1.000 - tolerance 0.020",
    )
    overall = decision.table.set_index("slice").loc["overall"]
    assert overall["candidate"] > overall["production"]
    assert slice_gate(production, production, frame, "target", {"low": "x < 20"}).passed


def test_small_slices_are_reported_not_gated(frame):
    decision = slice_gate(Fixed([0]), Fixed([]), frame, "target", {"tiny": "x < 5"}, min_rows=10)
    assert decision.passed
    assert not decision.table.set_index("slice").loc["tiny", "gated"]


def test_bad_slices_are_input_errors(frame):
    with pytest.raises(InputError, match="slice 'b'"):
        slice_masks(frame, {"b": "no_such_column > 1"})
    with pytest.raises(InputError, match="True/False"):
        slice_masks(frame, {"n": lambda d: d["x"]})
    with pytest.raises(InputError, match="tolerance"):
        slice_gate(Fixed([]), Fixed([]), frame, "target", {"a": "x > 1"}, tolerance=-1)
