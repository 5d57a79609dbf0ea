"""Evaluation metrics and the quality gate."""

from __future__ import annotations

import json

import pytest
from sklearn.linear_model import Perceptron
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from mlcicd.data import load_dataset, split
from mlcicd.errors import InputError
from mlcicd.evaluation import (
    DEFAULT_THRESHOLDS,
    DEFAULT_TOLERANCE,
    METRICS,
    GateCheck,
    GateDecision,
    correct_rows,
    evaluate_model,
    quality_gate,
    validate_model,
)
from mlcicd.significance import McNemar, mcnemar_test
from mlcicd.training import ModelSpec, train_model

BASE = {"accuracy": 0.627}


@pytest.fixture(scope="module")
def data():
    return split(load_dataset(), seed=0)


@pytest.fixture(scope="module")
def lr(data):
    return train_model(data[0], "target", ModelSpec("logistic_regression")).model


@pytest.fixture(scope="module")
def stump(data):
    return train_model(data[0], "target", ModelSpec("decision_tree", {"max_depth": 1})).model


# ---------------------------------------------------------------------------------- metrics


def test_evaluate_model_matches_scikit_learn(data, lr):
    holdout = data[1]
    X, y = holdout.drop(columns="target"), holdout["target"]
    pred, proba = lr.predict(X), lr.predict_proba(X)[:, 1]
    metrics = evaluate_model(lr, holdout, "target")
    assert metrics == {
        "accuracy": round(accuracy_score(y, pred), 6),
        "balanced_accuracy": round(balanced_accuracy_score(y, pred), 6),
        "precision": round(precision_score(y, pred), 6),
        "recall": round(recall_score(y, pred), 6),
        "f1": round(f1_score(y, pred), 6),
        "roc_auc": round(roc_auc_score(y, proba), 6),
        "n_rows": 143,
    }
    assert metrics["accuracy"] > 0.9
    assert tuple(k for k in metrics if k != "n_rows") == METRICS


def test_a_trained_model_is_taken_for_its_estimator_and_a_non_model_is_refused(data, lr, stump):
    train, holdout = data
    trained = train_model(train, "target", ModelSpec("logistic_regression"))
    assert evaluate_model(trained, holdout, "target") == evaluate_model(lr, holdout, "target")
    wrapped = validate_model(trained, holdout, "target", production_model=stump)
    assert (
        wrapped.to_dict() == validate_model(lr, holdout, "target", production_model=stump).to_dict()
    )
    with pytest.raises(
        InputError, match=r"^model: expected a fitted scikit-learn model .* got dict"
    ):
        evaluate_model({}, holdout, "target")
    with pytest.raises(InputError, match=r"^production_model: .* got str"):
        validate_model(lr, holdout, "target", production_model="v1")


def test_roc_auc_is_none_without_predict_proba(data):
    train, holdout = data
    model = Perceptron(random_state=0).fit(train.drop(columns="target"), train["target"])
    metrics = evaluate_model(model, holdout, "target")
    assert metrics["roc_auc"] is None
    assert 0 < metrics["accuracy"] <= 1


def test_evaluate_uses_the_columns_the_model_was_fitted_on(data, lr):
    holdout = data[1]
    shuffled = holdout[list(reversed(holdout.columns))].assign(extra=1.0)
    assert evaluate_model(lr, shuffled, "target") == evaluate_model(lr, holdout, "target")


def test_evaluate_names_missing_columns(data, lr):
    holdout = data[1]
    with pytest.raises(InputError, match="missing feature columns: mean_radius, worst_area"):
        evaluate_model(lr, holdout.drop(columns=["mean_radius", "worst_area"]), "target")
    with pytest.raises(InputError, match="no target column 'label'"):
        evaluate_model(lr, holdout, "label")
    with pytest.raises(InputError, match="empty"):
        evaluate_model(lr, holdout.iloc[:0], "target")


# ---------------------------------------------------------------------------------- the gate


def test_below_threshold_is_not_blessed():
    d = quality_gate({"accuracy": 0.853}, baseline_metrics=BASE)
    assert not d.blessed
    assert d.reasons == ("accuracy 0.853 < threshold 0.900",)
    assert d.checks == (
        GateCheck("threshold_accuracy", False, "accuracy 0.853 < threshold 0.900"),
        GateCheck("no_regression", True, "no production model yet"),
        GateCheck("beats_baseline", True, "accuracy 0.853 beats the baseline 0.627"),
    )


def test_a_good_candidate_without_production_is_blessed():
    d = quality_gate({"accuracy": 0.951}, baseline_metrics=BASE)
    assert d.blessed and d.reasons == ()
    assert [c.passed for c in d.checks] == [True, True, True]
    assert d.checks[0].detail == "accuracy 0.951 >= threshold 0.900"


def test_regression_beyond_tolerance_is_not_blessed():
    d = quality_gate(
        {"accuracy": 0.912}, baseline_metrics=BASE, production_metrics={"accuracy": 0.943}
    )
    assert not d.blessed
    assert d.reasons == ("accuracy 0.912 is 0.031 below production 0.943 (tolerance 0.010)",)


def test_regression_within_tolerance_is_blessed():
    d = quality_gate(
        {"accuracy": 0.935}, baseline_metrics=BASE, production_metrics={"accuracy": 0.943}
    )
    assert d.blessed
    assert d.checks[1] == GateCheck(
        "no_regression_accuracy",
        True,
        "accuracy 0.935 vs production 0.943 (-0.008, tolerance 0.010)",
    )
    wider = quality_gate(
        {"accuracy": 0.912},
        baseline_metrics=BASE,
        production_metrics={"accuracy": 0.943},
        tolerance=0.05,
    )
    assert wider.blessed


def test_the_baseline_must_be_beaten_strictly():
    d = quality_gate({"accuracy": 0.6}, baseline_metrics=BASE, thresholds={"accuracy": 0.5})
    assert d.reasons == ("accuracy 0.600 does not beat the baseline 0.627",)
    tie = quality_gate({"accuracy": 0.951}, baseline_metrics={"accuracy": 0.951})
    assert tie.reasons == ("accuracy 0.951 does not beat the baseline 0.951",)


def test_every_threshold_metric_is_checked_against_production():
    d = quality_gate(
        {"accuracy": 0.95, "recall": 0.90},
        baseline_metrics=BASE,
        production_metrics={"accuracy": 0.94, "recall": 0.99},
        thresholds={"accuracy": 0.9, "recall": 0.95},
    )
    assert [c.name for c in d.checks] == [
        "threshold_accuracy",
        "threshold_recall",
        "no_regression_accuracy",
        "no_regression_recall",
        "beats_baseline",
    ]
    assert d.reasons == (
        "recall 0.900 < threshold 0.950",
        "recall 0.900 is 0.090 below production 0.990 (tolerance 0.010)",
    )


def test_a_missing_roc_auc_fails_its_threshold():
    d = quality_gate(
        {"accuracy": 0.95, "roc_auc": None},
        baseline_metrics=BASE,
        thresholds={"roc_auc": 0.9},
    )
    assert d.reasons == ("roc_auc is not available",)


@pytest.mark.parametrize(
    ("thresholds", "tolerance", "match"),
    [
        ({"acc": 0.9}, 0.01, r"unknown metric 'acc' \(known: accuracy, balanced_accuracy, "),
        ({"n_rows": 10}, 0.01, "unknown metric 'n_rows'"),
        ({"accuracy": 1.5}, 0.01, r"accuracy must be a number in \[0, 1\]"),
        ({"accuracy": "high"}, 0.01, "accuracy must be a number"),
        ({}, 0.01, "non-empty"),
        ({"accuracy": 0.9}, -0.1, "tolerance must be a finite number >= 0, got -0.1"),
    ],
)
def test_bad_gate_settings(thresholds, tolerance, match):
    with pytest.raises(InputError, match=match):
        quality_gate(
            {"accuracy": 0.95}, baseline_metrics=BASE, thresholds=thresholds, tolerance=tolerance
        )


def test_decision_to_dict_is_json():
    d = quality_gate(
        {"accuracy": 0.912, "n_rows": 10},
        baseline_metrics=BASE,
        production_metrics={"accuracy": 0.943},
    )
    out = json.loads(json.dumps(d.to_dict()))
    assert out["blessed"] is False
    assert out["reasons"] == list(d.reasons)
    assert out["checks"][0] == {
        "name": "threshold_accuracy",
        "passed": True,
        "detail": "accuracy 0.912 >= threshold 0.900",
    }
    assert out["thresholds"] == {"accuracy": 0.9} and out["tolerance"] == 0.01
    assert isinstance(d, GateDecision)


def test_decision_from_dict_round_trips():
    d = quality_gate(
        {"accuracy": 0.912}, baseline_metrics=BASE, production_metrics={"accuracy": 0.943}
    )
    as_json = json.loads(json.dumps(d.to_dict()))
    assert GateDecision.from_dict({**as_json, "model_sha256": "ab"}) == d


@pytest.mark.parametrize(
    ("drop", "override", "match"),
    [
        ("checks", {}, "missing field 'checks'"),
        (None, {"checks": [{"name": "x"}]}, "field 'checks' must be a list"),
        (None, {"blessed": "yes"}, "field 'blessed' must be true or false"),
        (None, {"metrics": [1]}, "field 'metrics' must be an object"),
    ],
)
def test_decision_from_dict_names_the_bad_field(drop, override, match):
    good = quality_gate({"accuracy": 0.95}, baseline_metrics=BASE).to_dict()
    data = {k: v for k, v in good.items() if k != drop} | override
    with pytest.raises(InputError, match=f"gate decision: {match}"):
        GateDecision.from_dict(data)


# ---------------------------------------------------------------------------------- validate_model


def test_validate_model_blesses_a_good_candidate(data, lr):
    holdout = data[1]
    d = validate_model(lr, holdout, "target")
    assert d.blessed
    assert d.metrics == evaluate_model(lr, holdout, "target")
    share = round(float((holdout["target"] == holdout["target"].mode()[0]).mean()), 6)
    assert d.baseline_metrics["accuracy"] == share
    assert d.production_metrics is None


def test_validate_model_compares_with_production(data, lr, stump):
    holdout = data[1]
    d = validate_model(stump, holdout, "target", production_model=lr, thresholds={"accuracy": 0.5})
    cand, prod = d.metrics["accuracy"], d.production_metrics["accuracy"]
    assert prod - cand > 0.01
    assert not d.blessed
    assert d.reasons == (
        f"accuracy {cand:.3f} is {prod - cand:.3f} below production {prod:.3f} (tolerance 0.010)",
    )
    flipped = validate_model(lr, holdout, "target", production_model=stump)
    assert flipped.blessed


def test_validate_model_with_a_given_baseline(data, lr):
    holdout = data[1]
    d = validate_model(lr, holdout, "target", baseline_model=lr)
    assert d.reasons == (
        f"accuracy {d.metrics['accuracy']:.3f} does not beat the baseline "
        f"{d.metrics['accuracy']:.3f}",
    )


def test_validate_model_checks_settings_first(data, lr):
    with pytest.raises(InputError, match="unknown metric 'auc'"):
        validate_model(lr, data[1], "target", thresholds={"auc": 0.9})


# ------------------------------------------------------------------- regression and multiclass


@pytest.fixture(scope="module")
def diabetes():
    from mlcicd.data import load_dataset

    return split(load_dataset("diabetes"), seed=0)


def test_regression_metrics_follow_the_model(diabetes):
    import numpy as np
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    train, holdout = diabetes
    model = train_model(train, "target", ModelSpec("ridge")).model
    metrics = evaluate_model(model, holdout, "target")
    assert set(metrics) == {"rmse", "mae", "r2", "n_rows"}
    predicted = model.predict(holdout.drop(columns="target"))
    y = holdout["target"].to_numpy()
    assert metrics["rmse"] == pytest.approx(root_mean_squared_error(y, predicted), abs=1e-6)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y, predicted), abs=1e-6)
    assert metrics["r2"] == pytest.approx(r2_score(y, predicted), abs=1e-6)
    assert np.isfinite(metrics["rmse"]) and metrics["n_rows"] == len(holdout)


def test_the_regression_gate_uses_rmse_and_the_mean_baseline(diabetes):
    train, holdout = diabetes
    ridge = train_model(train, "target", ModelSpec("ridge")).model
    dummy = train_model(train, "target", ModelSpec("dummy")).model
    good = validate_model(ridge, holdout, "target")
    assert good.blessed and good.thresholds == {"r2": 0.2}
    assert good.metrics["rmse"] < good.baseline_metrics["rmse"]
    assert [c.name for c in good.checks] == ["threshold_r2", "no_regression", "beats_baseline"]
    bad = validate_model(dummy, holdout, "target", production_model=ridge)
    assert not bad.blessed
    names = {c.name: c for c in bad.checks}
    assert not names["beats_baseline"].passed  # the training mean vs the holdout's own mean
    assert not names["no_regression_r2"].passed  # higher R^2 is better: it looks downwards
    assert "below production" in names["no_regression_r2"].detail
    # lower RMSE is better: a maximum, and a regression check that looks upwards
    capped = validate_model(
        dummy, holdout, "target", thresholds={"rmse": 60.0}, production_model=ridge
    )
    assert capped.reasons[0].startswith("rmse ") and "> maximum 60.000" in capped.reasons[0]
    assert "above production" in capped.reasons[1]


def test_regression_thresholds_are_checked(diabetes):
    train, holdout = diabetes
    ridge = train_model(train, "target", ModelSpec("ridge")).model
    with pytest.raises(InputError, match="rmse must be a finite number >= 0"):
        validate_model(ridge, holdout, "target", thresholds={"rmse": -1.0})
    with pytest.raises(InputError, match="accuracy is not a regression metric"):
        validate_model(ridge, holdout, "target", thresholds={"accuracy": 0.9})


def test_multiclass_metrics_name_their_averaging():
    import numpy as np

    from mlcicd.data import penguins_like

    train, holdout = split(penguins_like(), "species", seed=0)
    stump = train_model(train, "species", ModelSpec("decision_tree", {"max_depth": 1})).model
    metrics = evaluate_model(stump, holdout, "species")
    y, predicted = holdout["species"].to_numpy(), stump.predict(holdout.drop(columns="species"))
    assert metrics["averaging"] == "macro"
    assert metrics["f1"] == pytest.approx(f1_score(y, predicted, average="macro"), abs=1e-6)
    proba = stump.predict_proba(holdout.drop(columns="species"))
    ovr = roc_auc_score(y, proba, multi_class="ovr", labels=stump.classes_)
    assert metrics["roc_auc"] == pytest.approx(ovr, abs=1e-6)
    decision = validate_model(stump, holdout, "species", thresholds={"f1": 0.95, "roc_auc": 0.99})
    assert decision.reasons[:2] == (
        f"f1 (macro average) {metrics['f1']:.3f} < threshold 0.950",
        f"roc_auc (one-vs-rest, macro average) {metrics['roc_auc']:.3f} < threshold 0.990",
    )
    assert np.unique(y).size == 3


def test_binary_metrics_carry_no_averaging_key(data, lr):
    assert "averaging" not in evaluate_model(lr, data[1], "target")


# ---------------------------------------------------------------------------------- significance


def _paired(b: int, c: int, n: int = 143) -> McNemar:
    candidate = [True] * b + [False] * c + [True] * (n - b - c)
    reference = [False] * b + [True] * c + [True] * (n - b - c)
    return mcnemar_test(candidate, reference)


PROD = {"accuracy": 0.958}


def test_the_course_defaults_live_in_one_place():
    assert DEFAULT_THRESHOLDS == {"accuracy": 0.90} and DEFAULT_TOLERANCE == 0.01
    d = quality_gate({"accuracy": 0.951}, baseline_metrics=BASE)
    assert d.thresholds == dict(DEFAULT_THRESHOLDS) and d.tolerance == DEFAULT_TOLERANCE


def test_by_default_a_noise_sized_drop_still_rejects_and_the_test_is_only_reported():
    # 2 rows below production on 143 rows (b=2, c=4): beyond the 0.01 tolerance, p = 0.69
    paired = _paired(2, 4)
    d = quality_gate(
        {"accuracy": 0.944}, baseline_metrics=BASE, production_metrics=PROD, comparison=paired
    )
    assert not d.blessed
    assert d.reasons == ("accuracy 0.944 is 0.014 below production 0.958 (tolerance 0.010)",)
    assert d.comparison == paired and not d.comparison.significant
    assert d.to_dict()["comparison"] == {
        "b": 2,
        "c": 4,
        "n": 143,
        "p_value": 0.6875,
        "alpha": 0.05,
        "significant": False,
    }
    assert d.to_dict()["require_significance"] is False


def test_required_significance_lets_a_drop_within_noise_pass_and_says_so():
    d = quality_gate(
        {"accuracy": 0.944},
        baseline_metrics=BASE,
        production_metrics=PROD,
        comparison=_paired(2, 4),
        require_significance=True,
    )
    assert d.blessed and d.require_significance
    assert d.checks[1] == GateCheck(
        "no_regression_accuracy",
        True,
        "accuracy 0.944 is 0.014 below production 0.958 (tolerance 0.010), "
        "McNemar p = 0.688, not significant at 0.05: within noise, not rejected",
    )


def test_required_significance_still_rejects_a_significant_drop():
    d = quality_gate(
        {"accuracy": 0.629},
        baseline_metrics=BASE,
        production_metrics=PROD,
        thresholds={"accuracy": 0.5},
        comparison=_paired(3, 50),
        require_significance=True,
    )
    assert not d.blessed
    assert d.reasons == (
        "accuracy 0.629 is 0.329 below production 0.958 (tolerance 0.010), "
        "McNemar p = 5.52e-12, significant at 0.05",
    )


def test_a_significant_drop_within_the_tolerance_passes():
    # the tolerance is the loss we accept; significance only says the loss is real
    many = mcnemar_test([False] * 60 + [True] * 9940, [True] * 60 + [True] * 9940)
    assert many.significant
    d = quality_gate(
        {"accuracy": 0.952},
        baseline_metrics=BASE,
        production_metrics={"accuracy": 0.958},
        comparison=many,
        require_significance=True,
    )
    assert d.blessed
    assert d.checks[1].detail.endswith("McNemar p = 1.73e-18, significant at 0.05")


def test_significance_only_changes_the_accuracy_check():
    d = quality_gate(
        {"accuracy": 0.944, "recall": 0.90},
        baseline_metrics=BASE,
        production_metrics={"accuracy": 0.958, "recall": 0.99},
        thresholds={"accuracy": 0.9, "recall": 0.8},
        comparison=_paired(2, 4),
        require_significance=True,
    )
    assert d.reasons == ("recall 0.900 is 0.090 below production 0.990 (tolerance 0.010)",)


def test_required_significance_needs_the_comparison():
    with pytest.raises(InputError, match="require_significance: needs the paired comparison"):
        quality_gate(
            {"accuracy": 0.944},
            baseline_metrics=BASE,
            production_metrics=PROD,
            require_significance=True,
        )
    # without production there is nothing to compare, and nothing is needed
    assert quality_gate({"accuracy": 0.95}, baseline_metrics=BASE, require_significance=True)
    with pytest.raises(InputError, match="require_significance must be True or False, got 'yes'"):
        quality_gate({"accuracy": 0.95}, baseline_metrics=BASE, require_significance="yes")


def test_decision_with_a_comparison_round_trips():
    d = quality_gate(
        {"accuracy": 0.944},
        baseline_metrics=BASE,
        production_metrics=PROD,
        comparison=_paired(2, 4),
        require_significance=True,
    )
    assert GateDecision.from_dict(json.loads(json.dumps(d.to_dict()))) == d
    old = {k: v for k, v in d.to_dict().items() if k not in ("comparison", "require_significance")}
    rebuilt = GateDecision.from_dict(old)
    assert rebuilt.comparison is None and rebuilt.require_significance is False


def test_validate_model_compares_candidate_and_production_row_by_row(data, lr, stump):
    holdout = data[1]
    d = validate_model(stump, holdout, "target", production_model=lr)
    right_stump = correct_rows(stump, holdout, "target")
    right_lr = correct_rows(lr, holdout, "target")
    assert right_stump.mean() == pytest.approx(d.metrics["accuracy"], abs=1e-6)
    assert d.comparison == mcnemar_test(right_stump, right_lr)
    assert d.comparison.b == int((right_stump & ~right_lr).sum())
    assert d.comparison.difference == pytest.approx(
        d.metrics["accuracy"] - d.production_metrics["accuracy"], abs=1e-5
    )
    assert validate_model(lr, holdout, "target").comparison is None
    strict = validate_model(stump, holdout, "target", production_model=lr, alpha=1e-9)
    assert strict.comparison.alpha == 1e-9


def test_validate_model_with_required_significance(data, lr, stump):
    holdout = data[1]
    plain = validate_model(stump, holdout, "target", production_model=lr)
    required = validate_model(
        stump, holdout, "target", production_model=lr, require_significance=True
    )
    regression = next(c for c in required.checks if c.name == "no_regression_accuracy")
    # the verdict on the regression follows the paired test exactly
    assert regression.passed is (not plain.comparison.significant)
    assert not plain.checks[1].passed
    with pytest.raises(InputError, match=r"alpha must be a number in \(0, 1\), got 1.5"):
        validate_model(stump, holdout, "target", production_model=lr, alpha=1.5)
    with pytest.raises(InputError, match="require_significance must be True or False"):
        validate_model(stump, holdout, "target", require_significance=1)
