"""The loop's stages (``mlcicd.pipeline.stages``): the model grid, the baseline and the verdicts
that stop a version. The stages running in order are tested through ``run_versions``
(test_pipeline.py)."""

from __future__ import annotations

import pytest

from mlcicd.data import TARGET
from mlcicd.evaluation import evaluate_model, quality_gate
from mlcicd.monitoring import detect_drift
from mlcicd.outcomes import FAILED, OK, REJECTED
from mlcicd.pipeline import stages as st
from mlcicd.training import train_model
from mlcicd.validation import infer_schema, validate_data


def test_default_grid_is_logistic_regression_over_c():
    grid = st.default_grid()
    assert [spec.name for spec in grid] == ["logistic_regression"] * len(st.DEFAULT_C)
    assert [spec.params for spec in grid] == [(("C", c),) for c in st.DEFAULT_C]


def test_baseline_is_the_most_frequent_class(data):
    _, holdout = data
    share = holdout[TARGET].value_counts(normalize=True).max()
    assert st.baseline(holdout, TARGET)["accuracy"] == pytest.approx(share)


def test_data_verdict_fails_a_version_on_invalid_data_and_names_three_anomalies(data):
    train, _ = data
    schema = infer_schema(train)
    assert st.data_verdict(validate_data(train, schema)) is None
    broken = train.drop(columns=["mean_radius", "mean_texture"]).assign(mean_area=-1.0)
    broken.loc[broken.index[:5], "mean_perimeter"] = None
    report = validate_data(broken, schema)
    outcome, detail = st.data_verdict(report)
    n = len(report.anomalies)
    assert outcome == FAILED and n > 3
    assert detail.startswith(f"{n} data anomalies (") and detail.endswith(", ...)")
    assert detail.count(": ") == 3  # the first three, by column and kind


def test_gate_verdict_rejects_with_the_gate_s_reasons(data):
    train, holdout = data
    metrics = evaluate_model(train_model(train, TARGET).model, holdout, TARGET)
    base = st.baseline(holdout, TARGET)
    blessed = quality_gate(metrics, baseline_metrics=base)
    assert blessed.blessed and st.gate_verdict(blessed) is None
    rejected = quality_gate(metrics, baseline_metrics=base, thresholds={"accuracy": 0.999})
    assert st.gate_verdict(rejected) == (REJECTED, "; ".join(rejected.reasons))
    assert rejected.reasons


def test_drift_verdict_never_stops_a_version_and_says_retrain(data):
    train, holdout = data
    calm = detect_drift(train, holdout, target=TARGET)
    assert st.drift_verdict(calm) == (OK, "retrain" if calm.retrain else "")
    shifted = holdout.assign(**{c: holdout[c] * 3 for c in holdout.columns if c != TARGET})
    drifted = detect_drift(train, shifted, target=TARGET)
    assert drifted.retrain and st.drift_verdict(drifted) == (OK, "retrain")


def test_the_stages_are_named_after_the_loop():
    assert list(st.setup_stages(0.25, 0)) == ["split", "baseline", "infer_schema"]
    assert st.validation_stage().name == "validate_data"
    assert tuple(s.name for s in st.worker_stages()) == st.WORKER_STAGES
    drivers = st.driver_stages(None, 0.01)
    assert tuple(s.name for s in drivers) == st.DRIVER_STAGES
    assert not any(s.cacheable for s in drivers)  # the gate and the deploy always run
