"""Training-serving skew detection (mlcicd.skew) on the course's data."""

from __future__ import annotations

import pytest

from mlcicd.errors import InputError
from mlcicd.skew import detect_skew, rescaled


def test_a_unit_mistake_is_caught_by_schema_and_drift(data):
    train, holdout = data
    serving = holdout.drop(columns=["target"])
    bigger = detect_skew(train, rescaled(serving, "mean_area", 100), target="target")
    assert [a.split(":")[0] for a in bigger.anomalies] == ["mean_area"]
    assert bigger.drifted == ("mean_area",) and bigger.skewed
    # divided by 100 the values stay inside the schema's widened range: only the drift test sees it
    smaller = detect_skew(train, rescaled(serving, "mean_area", 0.01), target="target")
    assert smaller.anomalies == () and smaller.drifted == ("mean_area",)


def test_the_same_transformation_on_both_sides_is_not_skew(data):
    train, holdout = data
    report = detect_skew(train, holdout.drop(columns=["target"]), target="target")
    assert report.anomalies == ()
    assert report.drift_share < 0.5


def test_unknown_column_is_an_input_error(data):
    with pytest.raises(InputError, match="nope"):
        rescaled(data[0], "nope", 2)
