"""Evaluation and the quality gate: is the candidate good enough to ship?

A candidate is *blessed* when it meets every threshold, is no worse than the production model by
more than a tolerance on each threshold metric, and beats a trivial baseline (always predicting
the most frequent class; for regression, always predicting the mean). Every check carries a
one-line, human-readable detail.

The task follows the model: a regressor is scored by RMSE, MAE and R^2 (lower RMSE and MAE are
better: their thresholds are maxima, the others minima); a classifier by accuracy, balanced
accuracy, precision, recall, f1 and ROC AUC. With more than two classes precision, recall and
f1 are macro averages and ROC AUC is one-vs-rest (macro): ``metrics["averaging"]`` says
``"macro"`` and the gate's details name it.

Two words differ from TFX's: our *baseline* is that trivial most-frequent-class model, while the
"baseline" of TFX's Evaluator is the current production (previously blessed) model, which is our
*production* model (https://www.tensorflow.org/tfx/guide/evaluator).

On a small holdout a gap of a row or two is noise. When a production model is given,
:func:`validate_model` also compares the two models on the same rows with the exact McNemar test
(:mod:`mlcicd.significance`) and keeps it in ``decision.comparison``. With
``require_significance=True`` an accuracy drop beyond the tolerance rejects the candidate only if
that test finds it significant; a drop the holdout cannot tell from noise passes, and its detail
says so. The default (False) keeps the plain tolerance rule.

>>> from mlcicd.data import load_dataset, split
>>> from mlcicd.training import ModelSpec, train_model
>>> train, holdout = split(load_dataset(), seed=0)
>>> trained = train_model(train, "target", ModelSpec("logistic_regression"))
>>> decision = validate_model(trained.model, holdout, "target")
>>> decision.blessed, decision.reasons
(True, ())
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from mlcicd.checks import check_bool, check_number
from mlcicd.errors import InputError
from mlcicd.significance import DEFAULT_ALPHA, McNemar, check_level, mcnemar_test

METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
LOWER_IS_BETTER = frozenset({"rmse", "mae"})
DEFAULT_THRESHOLDS: Mapping[str, float] = {"accuracy": 0.90}  # the course's gate, every lesson
# a regressor must explain at least a fifth of the label's variance on the holdout
DEFAULT_REGRESSION_THRESHOLDS: Mapping[str, float] = {"r2": 0.20}
DEFAULT_TOLERANCE = 0.01  # how far below production a candidate may be (a fraction)
AVERAGED = {"precision", "recall", "f1"}


def estimator_of(model: Any, name: str = "model") -> Any:
    """The fitted scikit-learn estimator ``model`` stands for: a
    :class:`~mlcicd.training.TrainedModel` gives its ``.model``; an object that cannot predict is
    refused with an :class:`InputError` naming ``name``."""
    if hasattr(model, "spec") and hasattr(model, "metadata") and hasattr(model, "model"):
        model = model.model
    if not callable(getattr(model, "predict", None)):
        raise InputError(
            f"{name}: expected a fitted scikit-learn model or a TrainedModel, "
            f"got {type(model).__name__}"
        )
    return model


def task_of(model: Any) -> str:
    """``"regression"`` for a scikit-learn regressor (also inside a pipeline), else
    ``"classification"``."""
    return "regression" if is_regressor(model) else "classification"


def default_thresholds(task: str) -> Mapping[str, float]:
    return DEFAULT_REGRESSION_THRESHOLDS if task == "regression" else DEFAULT_THRESHOLDS


def _features(model: Any, df: pd.DataFrame, target: str) -> pd.DataFrame:
    """The columns ``model`` was fitted on (all non-target columns if it does not say)."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"evaluation data: expected a DataFrame, got {type(df).__name__}")
    if target not in df.columns:
        raise InputError(f"evaluation data: no target column {target!r}")
    if len(df) == 0:
        raise InputError("evaluation data: the data set is empty (0 rows)")
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return df.drop(columns=[target])
    missing = [str(c) for c in names if c not in df.columns]
    if missing:
        raise InputError(f"evaluation data: missing feature columns: {', '.join(missing)}")
    return df[list(names)]


def _predict(model: Any, X: pd.DataFrame) -> np.ndarray:
    try:
        return model.predict(X)
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"evaluation data: the model cannot predict: {first}") from None


def _labels(df: pd.DataFrame, target: str, task: str) -> np.ndarray:
    labels = df[target]
    n_missing = int(labels.isna().sum())
    if n_missing:
        raise InputError(
            f"evaluation data: target column {target!r} has {n_missing} missing values"
        )
    if task != "regression":
        return labels.to_numpy()
    if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        raise InputError(
            f"evaluation data: target column {target!r} is not numeric ({labels.dtype}) "
            "but the model is a regressor"
        )
    y = labels.to_numpy(dtype="float64")
    n_inf = int(np.count_nonzero(np.isinf(y)))
    if n_inf:
        raise InputError(f"evaluation data: target column {target!r} has {n_inf} infinite values")
    return y


def evaluate_model(model: Any, df: pd.DataFrame, target: str) -> dict[str, Any]:
    """Metrics of ``model`` on ``df``: regression or classification, following the model.

    Regression: ``rmse``, ``mae``, ``r2`` (None with fewer than two rows). Classification:
    binary problems score the second class of ``model.classes_`` (1 = benign by default) as
    positive; with more classes precision, recall and f1 are macro averages, ROC AUC is
    one-vs-rest and ``averaging`` is ``"macro"``. ``roc_auc`` is None when the model has no
    ``predict_proba`` or the labels hold a single class.
    """
    model = estimator_of(model)
    task = task_of(model)
    X = _features(model, df, target)
    y = _labels(df, target, task)
    predicted = _predict(model, X)
    if task == "regression":
        out: dict[str, Any] = {
            "rmse": round(float(root_mean_squared_error(y, predicted)), 6),
            "mae": round(float(mean_absolute_error(y, predicted)), 6),
            "r2": round(float(r2_score(y, predicted)), 6) if len(y) > 1 else None,
        }
        out["n_rows"] = len(df)
        return out
    classes = getattr(model, "classes_", None)
    if classes is None:
        classes = np.unique(np.concatenate([y, predicted]))
    binary = len(classes) == 2
    averaging = {"average": "binary", "pos_label": classes[1]} if binary else {"average": "macro"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        metrics: dict[str, Any] = {
            "accuracy": accuracy_score(y, predicted),
            "balanced_accuracy": balanced_accuracy_score(y, predicted),
            "precision": precision_score(y, predicted, zero_division=0, **averaging),
            "recall": recall_score(y, predicted, zero_division=0, **averaging),
            "f1": f1_score(y, predicted, zero_division=0, **averaging),
            "roc_auc": _roc_auc(model, X, y, classes),
        }
    out = {k: None if v is None else round(float(v), 6) for k, v in metrics.items()}
    out["n_rows"] = len(df)
    if not binary:
        out["averaging"] = "macro"
    return out


def _roc_auc(model: Any, X: pd.DataFrame, y: np.ndarray, classes: np.ndarray) -> float | None:
    if not hasattr(model, "predict_proba") or len(np.unique(y)) < 2:
        return None
    proba = model.predict_proba(X)
    try:
        if len(classes) == 2:
            return roc_auc_score(y == classes[1], proba[:, 1])
        return roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    except ValueError:  # labels outside the model's classes
        return None


# ---------------------------------------------------------------------------------- the gate


@dataclass(frozen=True)
class GateCheck:
    """One check of the gate; ``detail`` is a one-line sentence saying what was compared."""

    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict; ``reasons`` are the details of the failed checks (empty if blessed)."""

    blessed: bool
    checks: tuple[GateCheck, ...]
    reasons: tuple[str, ...]
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    production_metrics: dict[str, Any] | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    tolerance: float = DEFAULT_TOLERANCE
    comparison: McNemar | None = None  # candidate vs production on the same rows, if measured
    require_significance: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "blessed": self.blessed,
            "checks": [c.to_dict() for c in self.checks],
            "reasons": list(self.reasons),
            "metrics": dict(self.metrics),
            "baseline_metrics": dict(self.baseline_metrics),
            "production_metrics": (
                None if self.production_metrics is None else dict(self.production_metrics)
            ),
            "thresholds": dict(self.thresholds),
            "tolerance": self.tolerance,
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "require_significance": self.require_significance,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateDecision:
        """Rebuild a decision from :meth:`to_dict` output (unknown keys are ignored)."""
        if not isinstance(data, Mapping):
            raise InputError("gate decision: expected a JSON object")
        for key in ("blessed", "checks", "reasons", "metrics", "baseline_metrics"):
            if key not in data:
                raise InputError(f"gate decision: missing field {key!r}")
        try:
            checks = tuple(
                GateCheck(str(c["name"]), bool(c["passed"]), str(c["detail"]))
                for c in data["checks"]
            )
        except (TypeError, KeyError):
            raise InputError(
                "gate decision: field 'checks' must be a list of {name, passed, detail}"
            ) from None
        if not isinstance(data["blessed"], bool):
            raise InputError("gate decision: field 'blessed' must be true or false")
        for key in ("metrics", "baseline_metrics"):
            if not isinstance(data[key], Mapping):
                raise InputError(f"gate decision: field {key!r} must be an object")
        production = data.get("production_metrics")
        comparison = data.get("comparison")
        return cls(
            blessed=data["blessed"],
            checks=checks,
            reasons=tuple(str(r) for r in data["reasons"]),
            metrics=dict(data["metrics"]),
            baseline_metrics=dict(data["baseline_metrics"]),
            production_metrics=None if production is None else dict(production),
            thresholds=dict(data.get("thresholds") or {}),
            tolerance=float(data.get("tolerance", DEFAULT_TOLERANCE)),
            comparison=None if comparison is None else McNemar.from_dict(comparison),
            require_significance=bool(data.get("require_significance", False)),
        )


def _check_thresholds(thresholds: Mapping[str, float], tolerance: float) -> dict[str, float]:
    if not isinstance(thresholds, Mapping) or not thresholds:
        raise InputError("thresholds: expected a non-empty mapping of metric -> limit")
    out = {}
    for name, value in thresholds.items():
        if name not in METRICS + REGRESSION_METRICS:
            known = ", ".join(METRICS + REGRESSION_METRICS)
            raise InputError(f"thresholds: unknown metric {name!r} (known: {known})")
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if name in LOWER_IS_BETTER:
            if not number or not 0 <= value < math.inf:
                raise InputError(f"thresholds: {name} must be a finite number >= 0, got {value!r}")
        elif name == "r2":
            if not number or not -math.inf < value <= 1:
                raise InputError(f"thresholds: r2 must be a finite number <= 1, got {value!r}")
        elif not number or not 0 <= value <= 1:
            raise InputError(f"thresholds: {name} must be a number in [0, 1], got {value!r}")
        out[name] = float(value)
    check_number(tolerance, "tolerance", low=0, finite=True)
    return out


def _check_flag(require_significance: Any) -> None:
    check_bool(require_significance, "require_significance")


def _value(metrics: Mapping[str, Any], name: str, what: str) -> float | None:
    if not isinstance(metrics, Mapping):
        raise InputError(f"{what}: expected a mapping of metric -> value")
    value = metrics.get(name)
    return None if value is None else float(value)


def quality_gate(
    metrics: Mapping[str, Any],
    *,
    baseline_metrics: Mapping[str, Any],
    production_metrics: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    comparison: McNemar | None = None,
    require_significance: bool = False,
) -> GateDecision:
    """Decide whether the candidate with ``metrics`` is blessed (see the module docstring).

    ``baseline_metrics`` are those of a trivial model (most frequent class), not of production.
    ``comparison`` is the McNemar test of the candidate against production on the same rows; with
    ``require_significance`` it must be given, and an accuracy drop beyond ``tolerance`` then
    fails only when the test finds it significant.

    >>> d = quality_gate({"accuracy": 0.853}, baseline_metrics={"accuracy": 0.627})
    >>> d.blessed, d.reasons
    (False, ('accuracy 0.853 < threshold 0.900',))
    """
    regression = isinstance(metrics, Mapping) and "rmse" in metrics
    task = "regression" if regression else "classification"
    limits = _check_thresholds(
        default_thresholds(task) if thresholds is None else thresholds, tolerance
    )
    averaging = metrics.get("averaging") if isinstance(metrics, Mapping) else None
    _check_flag(require_significance)
    if require_significance and production_metrics is not None and comparison is None:
        raise InputError(
            "require_significance: needs the paired comparison with production "
            "(comparison=mcnemar_test(...), or call validate_model)"
        )
    paired = comparison if require_significance else None
    checks: list[GateCheck] = []
    for name, limit in limits.items():
        value = _value(metrics, name, "metrics")
        label = _label(name, averaging)
        if value is None:
            checks.append(GateCheck(f"threshold_{name}", False, f"{label} is not available"))
            continue
        if name in LOWER_IS_BETTER:
            ok, sign, bound = value <= limit, "<=" if value <= limit else ">", "maximum"
        else:
            ok, sign, bound = value >= limit, ">=" if value >= limit else "<", "threshold"
        checks.append(
            GateCheck(f"threshold_{name}", ok, f"{label} {value:.3f} {sign} {bound} {limit:.3f}")
        )
    if production_metrics is None:
        checks.append(GateCheck("no_regression", True, "no production model yet"))
    else:
        for name in limits:
            test = paired if name == "accuracy" else None
            checks.append(_regression_check(name, metrics, production_metrics, tolerance, test))
    checks.append(_baseline_check(metrics, baseline_metrics, "rmse" if regression else "accuracy"))
    reasons = tuple(c.detail for c in checks if not c.passed)
    return GateDecision(
        blessed=not reasons,
        checks=tuple(checks),
        reasons=reasons,
        metrics=dict(metrics),
        baseline_metrics=dict(baseline_metrics),
        production_metrics=None if production_metrics is None else dict(production_metrics),
        thresholds=limits,
        tolerance=float(tolerance),
        comparison=comparison,
        require_significance=require_significance,
    )


def _label(name: str, averaging: Any) -> str:
    """The metric's name, with its averaging when it is averaged over more than two classes."""
    if averaging and name in AVERAGED:
        return f"{name} ({averaging} average)"
    if averaging and name == "roc_auc":
        return f"roc_auc (one-vs-rest, {averaging} average)"
    return name


def _regression_check(
    name: str,
    metrics: Mapping[str, Any],
    production: Mapping[str, Any],
    tolerance: float,
    paired: McNemar | None = None,
) -> GateCheck:
    value = _value(metrics, name, "metrics")
    reference = _value(production, name, "production_metrics")
    check = f"no_regression_{name}"
    label = _label(name, metrics.get("averaging"))
    if reference is None:
        return GateCheck(check, True, f"production has no {name} to compare with")
    if value is None:
        return GateCheck(check, False, f"{label} is not available (production {reference:.3f})")
    lower = name in LOWER_IS_BETTER
    gap = value - reference if lower else reference - value  # > 0: the candidate is worse
    if gap > tolerance:
        where = "above" if lower else "below"
        detail = (
            f"{label} {value:.3f} is {gap:.3f} {where} production {reference:.3f} "
            f"(tolerance {tolerance:.3f})"
        )
        if paired is None:
            return GateCheck(check, False, detail)
        # the drop is real only if the paired test finds it significant (and it is a drop)
        real = paired.significant and paired.c > paired.b
        noise = "" if real else ": within noise, not rejected"
        return GateCheck(check, not real, f"{detail}, {_paired_words(paired)}{noise}")
    change = value - reference
    detail = (
        f"{label} {value:.3f} vs production {reference:.3f} "
        f"({change:+.3f}, tolerance {tolerance:.3f})"
    )
    if paired is not None:
        detail = f"{detail}, {_paired_words(paired)}"
    return GateCheck(check, True, detail)


def _paired_words(paired: McNemar) -> str:
    verdict = "significant" if paired.significant else "not significant"
    return f"McNemar p = {paired.p_value:.3g}, {verdict} at {paired.alpha:g}"


def _baseline_check(
    metrics: Mapping[str, Any], baseline: Mapping[str, Any], name: str = "accuracy"
) -> GateCheck:
    value = _value(metrics, name, "metrics")
    reference = _value(baseline, name, "baseline_metrics")
    if reference is None:
        raise InputError(f"baseline_metrics: no {name}")
    if value is None:
        return GateCheck("beats_baseline", False, f"{name} is not available")
    ok = value < reference if name in LOWER_IS_BETTER else value > reference
    verb = "beats" if ok else "does not beat"
    return GateCheck(
        "beats_baseline", ok, f"{name} {value:.3f} {verb} the baseline {reference:.3f}"
    )


def validate_model(
    model: Any,
    holdout: pd.DataFrame,
    target: str,
    *,
    production_model: Any = None,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    baseline_model: Any = None,
    require_significance: bool = False,
    alpha: float = DEFAULT_ALPHA,
) -> GateDecision:
    """Evaluate the candidate, the production model and a baseline on ``holdout``, then gate.

    The baseline, unless given, is a most-frequent ``DummyClassifier`` fitted on the holdout
    labels: the accuracy anyone gets without looking at the features (not TFX's "baseline",
    which is the production model here); for a regressor, a mean ``DummyRegressor`` (the RMSE
    of always predicting the holdout's mean). ``thresholds`` default to the task's
    (``DEFAULT_THRESHOLDS`` or ``DEFAULT_REGRESSION_THRESHOLDS``). With a production
    classifier, the two are also compared row by row (exact McNemar at level ``alpha``, in
    ``decision.comparison``); see :func:`quality_gate` for what ``require_significance``
    changes. Each model may be the estimator or the :class:`~mlcicd.training.TrainedModel`.
    """
    model = estimator_of(model)
    if production_model is not None:
        production_model = estimator_of(production_model, "production_model")
    if baseline_model is not None:
        baseline_model = estimator_of(baseline_model, "baseline_model")
    task = task_of(model)
    limits = _check_thresholds(
        default_thresholds(task) if thresholds is None else thresholds, tolerance
    )
    wrong = [n for n in limits if (n in REGRESSION_METRICS) != (task == "regression")]
    if wrong:
        raise InputError(f"thresholds: {wrong[0]} is not a {task} metric")
    _check_flag(require_significance)
    alpha = check_level(alpha, "alpha")
    metrics = evaluate_model(model, holdout, target)
    if baseline_model is None:
        features = _features(model, holdout, target)
        y = _labels(holdout, target, task)
        if task == "regression":
            baseline_model = DummyRegressor(strategy="mean")
        else:
            baseline_model = DummyClassifier(strategy="most_frequent")
        baseline_model.fit(features, y)
    baseline = evaluate_model(baseline_model, holdout, target)
    production = comparison = None
    if production_model is not None:
        production = evaluate_model(production_model, holdout, target)
    if production_model is not None and task == "classification":  # paired on correct rows
        comparison = mcnemar_test(
            correct_rows(model, holdout, target),
            correct_rows(production_model, holdout, target),
            alpha,
        )
    return quality_gate(
        metrics,
        baseline_metrics=baseline,
        production_metrics=production,
        thresholds=limits,
        tolerance=tolerance,
        comparison=comparison,
        require_significance=require_significance,
    )


def correct_rows(model: Any, df: pd.DataFrame, target: str) -> np.ndarray:
    """One flag per row of ``df``: True where ``model`` predicts the label in ``target``."""
    X = _features(model, df, target)
    try:
        predicted = model.predict(X)
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"evaluation data: the model cannot predict: {first}") from None
    return np.asarray(predicted == df[target].to_numpy(), dtype=bool)
