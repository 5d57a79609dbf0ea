"""Monitoring: is production data still like the training data, and is it time to retrain?

Each feature is compared between a ``reference`` frame (the training data) and a ``current`` one
(a production batch). The test depends on the size of the reference: with few rows (<= 1000) a
statistical test answers "could these be the same distribution?" (Kolmogorov-Smirnov for numbers,
chi-square for categories, drift when p < 0.05); with many rows every tiny difference becomes
"significant", so a distance with a fixed threshold is used instead (Wasserstein-1 divided by the
reference standard deviation for numbers, Jensen-Shannon distance for categories, drift when
>= 0.1). Every feature also gets a population stability index (PSI), the industry's rule of thumb.

Missing values are dropped per feature before testing (non-finite numbers too); a current column
with no value left counts as drifted. A numeric reference with standard deviation 0 is scaled
by 1 instead.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(size=500)})
>>> detect_drift(ref, ref.assign(x=ref["x"] + 1)).features[0].drift
True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from mlcicd.checks import check_choice, check_fraction, check_number
from mlcicd.errors import InputError

SMALL_REFERENCE = 1000  # up to this many reference rows: statistical tests, above: distances
P_VALUE = 0.05
DISTANCE_THRESHOLD = 0.1
DEFAULT_DRIFT_SHARE = 0.5  # the dataset drifts when at least this share of its features drift
PSI_BINS = 10
PSI_EPSILON = 1e-4
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.2
P_VALUE_CORRECTIONS = ("bonferroni", "benjamini_hochberg")
METHODS = {  # (kind, small reference) -> method
    ("numeric", True): "ks",
    ("numeric", False): "wasserstein",
    ("categorical", True): "chi2",
    ("categorical", False): "jensen_shannon",
}


@dataclass(frozen=True)
class FeatureDrift:
    """The drift verdict for one feature; ``p_value`` is None for distances."""

    feature: str
    kind: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    psi: float | None
    psi_band: str
    drift: bool

    def to_dict(self) -> dict[str, Any]:
        return {key: _plain(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class DriftReport:
    """Per-feature drift, the dataset verdict, the accuracy check and the retraining decision."""

    features: tuple[FeatureDrift, ...]
    drift_share: float
    dataset_drift: bool
    accuracy: float | None
    reference_accuracy: float | None
    accuracy_drop: float | None
    retrain: bool
    reasons: tuple[str, ...]
    n_reference: int
    n_current: int
    # regression models only: drift of the model's predictions and of its residuals (label -
    # prediction), reference vs current, tested like a numeric feature
    prediction_drift: FeatureDrift | None = None
    residual_drift: FeatureDrift | None = None

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted features."""
        return [f.feature for f in self.features if f.drift]

    def to_dict(self) -> dict[str, Any]:
        out = {key: _plain(getattr(self, key)) for key in self.__dataclass_fields__}
        out["features"] = [f.to_dict() for f in self.features]
        for key in ("prediction_drift", "residual_drift"):
            value = getattr(self, key)
            out[key] = None if value is None else value.to_dict()
        out["reasons"] = list(self.reasons)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per feature (columns as in :class:`FeatureDrift`)."""
        names = list(FeatureDrift.__dataclass_fields__)
        return pd.DataFrame([f.to_dict() for f in self.features], columns=names)


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar: numpy numbers unwrapped, NaN turned into None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def psi_band(psi: float) -> str:
    """``"stable"`` below 0.1, ``"moderate"`` below 0.2, else ``"significant"``."""
    if psi < PSI_MODERATE:
        return "stable"
    return "moderate" if psi < PSI_SIGNIFICANT else "significant"


def population_stability_index(reference_counts, current_counts) -> float:
    """PSI of two count (or proportion) vectors over the same bins.

    Proportions are clipped at ``PSI_EPSILON`` so that an empty bin does not give an infinite PSI.

    >>> round(population_stability_index([50, 50], [40, 60]), 4)
    0.0405
    """
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    ref = np.clip(ref / ref.sum(), PSI_EPSILON, None)
    cur = np.clip(cur / cur.sum(), PSI_EPSILON, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """Wasserstein-1 distance between two samples given as *sorted* 1-d float arrays.

    The area between the two quantile functions, which are step functions with breakpoints at
    ``i/n`` and ``j/m``. Counted in integer units of ``1/lcm(n, m)`` (exact, no rounding), each
    breakpoint closes one piece of the merged grid, reaching back to the nearest breakpoint of
    either sample; a piece adds its width times the gap between the two order statistics there.
    Equal to ``scipy.stats.wasserstein_distance(u, v)``, in linear time and without merging.

    >>> wasserstein_sorted(np.array([0.0, 1.0]), np.array([0.0, 1.0, 2.0]))
    0.5
    """
    n, m = u.size, v.size
    if n == 0 or m == 0:
        raise InputError("wasserstein_sorted: both samples need at least one value")
    if n == m:
        return float(np.abs(u - v).mean())
    g = math.gcd(n, m)
    step_u, step_v = m // g, n // g  # breakpoints: i * step_u for u, j * step_v for v
    total = n * step_u  # lcm(n, m)
    ends = np.arange(step_u, total + 1, step_u)
    iv = (ends - 1) // step_v  # v breakpoints strictly before: the v order statistic in use
    width = ends - np.maximum(ends - step_u, iv * step_v)
    area = np.dot(width, np.abs(u - v[iv]))
    ends = np.arange(step_v, total + 1, step_v)
    iu = ends // step_u  # u breakpoints up to and including: a tie leaves the v piece empty
    width = ends - np.maximum(ends - step_v, iu * step_u)
    np.minimum(iu, n - 1, out=iu)  # only an empty last piece can point past the end
    area += np.dot(width, np.abs(u[iu] - v))
    return float(area) / total


def _sorted_finite(series: pd.Series) -> np.ndarray:
    """The finite values of a numeric column, sorted (one copy: the sort's)."""
    if series.dtype == np.float64:
        values = np.sort(series.to_numpy())  # NaN sorts last
    else:  # ints, float32 and nullable dtypes (pd.NA -> NaN)
        values = np.sort(series.to_numpy(dtype=np.float64, na_value=np.nan))
    lo = np.searchsorted(values, -np.inf, side="right")
    hi = np.searchsorted(values, np.inf, side="left")
    return values[lo:hi]


def _decile_counts(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both sorted samples in bins cut at the reference deciles (ties collapsed)."""
    pos = np.arange(1, PSI_BINS) / PSI_BINS * (ref.size - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, ref.size - 1)
    inner = np.unique(ref[lo] + (ref[hi] - ref[lo]) * (pos - lo))  # linear, like np.quantile
    # bins [edge_k, edge_k+1) with outer edges -inf and +inf
    below_ref = np.concatenate([[0], np.searchsorted(ref, inner, side="left"), [ref.size]])
    below_cur = np.concatenate([[0], np.searchsorted(cur, inner, side="left"), [cur.size]])
    return np.diff(below_ref), np.diff(below_cur)


def _numeric_drift(name: str, ref: np.ndarray, cur: np.ndarray, small: bool) -> FeatureDrift:
    if small:
        result = stats.ks_2samp(ref, cur)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        method, drift = "ks", p_value < P_VALUE
    else:
        scale = float(ref.std()) or 1.0
        statistic, p_value = wasserstein_sorted(ref, cur) / scale, None
        method, drift = "wasserstein", statistic >= DISTANCE_THRESHOLD
    psi = population_stability_index(*_decile_counts(ref, cur))
    threshold = P_VALUE if small else DISTANCE_THRESHOLD
    return FeatureDrift(
        name, "numeric", method, statistic, p_value, threshold, psi, psi_band(psi), drift
    )


def _category_counts(series: pd.Series) -> pd.Series:
    counts = series.value_counts(dropna=True, sort=False)
    counts.index = pd.Index(counts.index.to_numpy(dtype=object), dtype=object)
    return counts


def _categorical_drift(name: str, ref: pd.Series, cur: pd.Series, small: bool) -> FeatureDrift:
    table = pd.concat(
        [_category_counts(ref), _category_counts(cur)], axis=1, keys=["ref", "cur"], sort=False
    ).fillna(0)
    table = table[table.sum(axis=1) > 0]  # categories of the dtype seen on neither side
    ref_counts = table["ref"].to_numpy(dtype=np.float64)
    cur_counts = table["cur"].to_numpy(dtype=np.float64)
    if small:
        # test of homogeneity on the 2 x k table (scipy's Yates correction applies when k = 2)
        result = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]))
        statistic, p_value = float(result.statistic), float(result.pvalue)
        method, drift = "chi2", p_value < P_VALUE
    else:
        p, q = ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()
        mid = (p + q) / 2
        divergence = (special.rel_entr(p, mid).sum() + special.rel_entr(q, mid).sum()) / 2
        statistic = math.sqrt(min(max(divergence / math.log(2), 0.0), 1.0))
        p_value, method, drift = None, "jensen_shannon", statistic >= DISTANCE_THRESHOLD
    psi = population_stability_index(ref_counts, cur_counts)
    threshold = P_VALUE if small else DISTANCE_THRESHOLD
    return FeatureDrift(
        name, "categorical", method, statistic, p_value, threshold, psi, psi_band(psi), drift
    )


def _kind(series: pd.Series) -> str | None:
    """``"numeric"``, ``"categorical"`` or None (a dtype we cannot compare, e.g. datetime)."""
    dtype, types = series.dtype, pd.api.types
    if (
        types.is_bool_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or types.is_string_dtype(dtype)
        or types.is_object_dtype(dtype)
    ):
        return "categorical"
    if types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype):
        return "numeric"
    return None


def _feature_drift(name: str, ref: pd.Series, cur: pd.Series, small: bool) -> FeatureDrift | None:
    """Drift of one feature, or None when the current column has no value at all."""
    kind = _kind(ref)
    if kind is None:
        raise InputError(
            f"reference column {name!r}: unsupported dtype {ref.dtype} "
            "(allowed: numeric, bool, string, category, object)"
        )
    if _kind(cur) != kind:
        if cur.isna().all():  # e.g. an empty text column read from CSV as float
            return None
        raise InputError(f"column {name!r} is {kind} in reference but {cur.dtype} in current")
    if kind == "numeric":
        ref_values = _sorted_finite(ref)
        if ref_values.size == 0:
            raise InputError(f"reference column {name!r} has no finite value to compare against")
        cur_values = _sorted_finite(cur)
        return _numeric_drift(name, ref_values, cur_values, small) if cur_values.size else None
    if ref.isna().all():
        raise InputError(f"reference column {name!r} has no value to compare against")
    return None if cur.isna().all() else _categorical_drift(name, ref, cur, small)


def _accuracy(model: Any, frame: pd.DataFrame, target: str, features: list[str], where: str):
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise InputError(f"{where} lacks the model's feature column(s): {', '.join(missing)}")
    known = frame[target].notna()
    if not known.any():
        return None
    try:
        predicted = np.asarray(model.predict(frame.loc[known, features]))
    except (ValueError, TypeError) as error:
        raise InputError(f"model could not predict on {where}: {error}") from error
    return float(np.mean(predicted == frame.loc[known, target].to_numpy()))


def _model_features(model: Any, reference: pd.DataFrame, target: str) -> list:
    names = getattr(model, "feature_names_in_", None)
    return list(names) if names is not None else [c for c in reference.columns if c != target]


def _predictions(model: Any, frame: pd.DataFrame, features: list, where: str) -> np.ndarray:
    missing = [str(c) for c in features if c not in frame.columns]
    if missing:
        raise InputError(f"{where} lacks the model's feature column(s): {', '.join(missing)}")
    try:
        return np.asarray(model.predict(frame[features]), dtype=np.float64)
    except (ValueError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"model could not predict on {where}: {first}") from None


def _residuals(frame: pd.DataFrame, target: str, predicted: np.ndarray, where: str) -> np.ndarray:
    labels = frame[target]
    if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        raise InputError(f"{where}: target column {target!r} is not numeric ({labels.dtype})")
    return labels.to_numpy(dtype=np.float64, na_value=np.nan) - predicted


def _regression_drift(model, reference, current, target, small):
    """(prediction drift, residual drift or None, reasons) of a regression model."""
    features = _model_features(model, reference, target)
    predicted = {
        where: _predictions(model, frame, features, where)
        for where, frame in (("reference", reference), ("current", current))
    }
    sides = [np.sort(v[np.isfinite(v)]) for v in predicted.values()]
    prediction = _numeric_drift("prediction", *sides, small)
    said = "drifted" if prediction.drift else "did not drift"
    reasons = [f"the model's predictions {said} ({_verdict(prediction)})"]
    if target not in current.columns or target not in reference.columns:
        return prediction, None, reasons
    residuals = [
        _residuals(frame, target, predicted[where], where)
        for where, frame in (("reference", reference), ("current", current))
    ]
    sides = [np.sort(r[np.isfinite(r)]) for r in residuals]
    if not sides[0].size or not sides[1].size:
        return prediction, None, reasons
    residual = _numeric_drift("residual", *sides, small)
    said = "drifted: the model errs differently" if residual.drift else "did not drift"
    reasons.append(f"the residuals (label - prediction) {said} ({_verdict(residual)})")
    return prediction, residual, reasons


def _verdict(drift: FeatureDrift) -> str:
    if drift.p_value is not None:
        return f"{drift.method} p = {drift.p_value:.3g}; drift when p < {drift.threshold}"
    return f"{drift.method} {drift.statistic:.3f}; drift when >= {drift.threshold}"


def _check_frames(reference: Any, current: Any) -> None:
    for where, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"{where}: expected a pandas DataFrame, got {type(frame).__name__}")
        if len(frame) == 0 or frame.shape[1] == 0:
            raise InputError(f"{where}: the dataset is empty")
        if not frame.columns.is_unique:
            dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise InputError(f"{where}: duplicate column(s): {', '.join(dupes)}")


def _pick_features(reference: pd.DataFrame, current: pd.DataFrame, target, columns) -> list:
    """The compared columns: ``columns``, or all of ``reference`` but the target."""
    if columns is None:
        features = [c for c in reference.columns if c != target]
    else:
        features = list(columns)
        unknown = [str(c) for c in features if c not in reference.columns]
        if unknown:
            raise InputError(f"columns: not in reference: {', '.join(unknown)}")
    if not features:
        raise InputError("columns: no feature to compare (only the target is present)")
    missing = [str(c) for c in features if c not in current.columns]
    if missing:
        raise InputError(f"current: missing column(s): {', '.join(missing)}")
    return features


def _check_options(target, model, reference_accuracy, correction) -> None:
    if model is not None and target is None:
        raise InputError("model: given without target, so its accuracy cannot be measured")
    if reference_accuracy is not None:
        check_fraction(reference_accuracy, "reference_accuracy")
    if correction is not None:
        check_choice(correction, "correction", P_VALUE_CORRECTIONS)


def _test_features(
    reference: pd.DataFrame, current: pd.DataFrame, features: list, small: bool
) -> tuple[list[FeatureDrift], list[str]]:
    """Each feature's drift, and the features with no value in ``current`` (counted as drift,
    without a statistic)."""
    results, empty = [], []
    threshold = P_VALUE if small else DISTANCE_THRESHOLD
    for name in features:
        label = str(name)
        drift = _feature_drift(label, reference[name], current[name], small)
        if drift is None:
            empty.append(label)
            kind = _kind(reference[name])
            assert kind is not None  # _feature_drift refused a column it cannot compare
            method = METHODS[kind, small]
            drift = FeatureDrift(
                label, kind, method, None, None, threshold, None, "significant", True
            )
        results.append(drift)
    return results, empty


def _dataset_verdict(
    results: list[FeatureDrift], empty: list[str], drift_share: float
) -> tuple[float, bool, list[str]]:
    """The share of drifted features, whether the dataset drifted, and why."""
    n_drifted = sum(f.drift for f in results)
    share = n_drifted / len(results)
    dataset_drift = share >= drift_share
    sign = ">=" if dataset_drift else "<"
    reasons = [
        f"{n_drifted} of {len(results)} features drifted (share {share:.2f} {sign} {drift_share:.2f})"
    ]
    reasons += [
        f"feature {name!r}: no value in current (all missing): counted as drift" for name in empty
    ]
    return share, dataset_drift, reasons


@dataclass(frozen=True)
class _ModelCheck:
    """What the model says about the current batch: a classifier's accuracy and its drop, or a
    regressor's prediction and residual drift; ``retrain`` if either calls for retraining."""

    regression: bool = False
    accuracy: float | None = None
    reference_accuracy: float | None = None
    accuracy_drop: float | None = None
    prediction_drift: FeatureDrift | None = None
    residual_drift: FeatureDrift | None = None
    retrain: bool = False
    reasons: tuple[str, ...] = ()


def _check_model(model, reference, current, target, reference_accuracy, max_drop, small):
    if model is None:
        return _ModelCheck(reference_accuracy=reference_accuracy)
    if _is_regressor(model):
        prediction, residual, said = _regression_drift(model, reference, current, target, small)
        return _ModelCheck(
            regression=True,
            reference_accuracy=reference_accuracy,
            prediction_drift=prediction,
            residual_drift=residual,
            retrain=residual is not None and residual.drift,
            reasons=tuple(said),
        )
    return _accuracy_check(model, reference, current, target, reference_accuracy, max_drop)


def _accuracy_check(model, reference, current, target, reference_accuracy, max_drop):
    """A classifier's accuracy on ``current`` against ``reference_accuracy`` (default: its
    accuracy on ``reference``); not measured without labels in ``current``."""
    accuracy = None
    if target in current.columns:
        features = list(_model_features(model, reference, target))
        accuracy = _accuracy(model, current, target, features, "current")
        if accuracy is not None and reference_accuracy is None:
            if target not in reference.columns:
                raise InputError(f"reference: missing target column {target!r} for its accuracy")
            reference_accuracy = _accuracy(model, reference, target, features, "reference")
    if accuracy is None or reference_accuracy is None:
        return _ModelCheck(accuracy=accuracy, reference_accuracy=reference_accuracy)
    drop = reference_accuracy - accuracy
    fell = drop > max_drop
    verb, sign = ("fell", ">") if fell else ("went", "<=")
    said = (
        f"accuracy {verb} from {reference_accuracy:.3f} to {accuracy:.3f} "
        f"(drop {drop:.3f} {sign} {max_drop:.3f})"
    )
    return _ModelCheck(
        accuracy=accuracy,
        reference_accuracy=reference_accuracy,
        accuracy_drop=drop,
        retrain=fell,
        reasons=(said,),
    )


def _keep_reason(any_drift: bool, checked: _ModelCheck) -> str:
    """Why the production model stays (nothing called for retraining)."""
    what = "no dataset drift" if any_drift else "no drift"
    if checked.regression:
        measured = checked.residual_drift is not None
        said = "no residual drift" if measured else "errors not measured"
    else:
        measured = checked.accuracy_drop is not None
        said = "no accuracy drop" if measured else "accuracy not measured"
    return f"{what} and {said}: keep the production model"


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    target: str | None = None,
    model: Any = None,
    reference_accuracy: float | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    max_accuracy_drop: float = 0.05,
    columns: list[str] | None = None,
    correction: str | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` feature by feature and decide whether to retrain.

    Features are all columns but ``target`` (or ``columns``). The dataset drifts when at least
    ``drift_share`` of them drift. With a ``model`` and ``target`` labels in ``current``, the
    model's accuracy on ``current`` is compared with ``reference_accuracy`` (default: its
    accuracy on ``reference``); a drop above ``max_accuracy_drop`` also calls for retraining.
    A regression ``model`` has no accuracy: its predictions on ``reference`` and ``current`` are
    compared (``prediction_drift``), and with labels on both sides its residuals
    (``residual_drift``, label - prediction); drifted residuals also call for retraining.
    ``correction`` (see :func:`adjust_p_values`): a feature's test drifts when its *adjusted*
    p-value is below ``P_VALUE`` (the reported ``p_value`` stays the raw one).
    """
    _check_frames(reference, current)
    check_fraction(drift_share, "drift_share", closed="high")
    check_number(max_accuracy_drop, "max_accuracy_drop", low=0)
    features = _pick_features(reference, current, target, columns)
    _check_options(target, model, reference_accuracy, correction)
    small = len(reference) <= SMALL_REFERENCE

    results, empty = _test_features(reference, current, features, small)
    if correction is not None:
        results = _corrected(results, correction)
    share, dataset_drift, reasons = _dataset_verdict(results, empty, drift_share)
    checked = _check_model(
        model, reference, current, target, reference_accuracy, max_accuracy_drop, small
    )
    reasons += checked.reasons
    retrain = dataset_drift or checked.retrain
    if not retrain:
        reasons.append(_keep_reason(any(f.drift for f in results), checked))
    ref_accuracy = checked.reference_accuracy
    return DriftReport(
        features=tuple(results),
        drift_share=share,
        dataset_drift=dataset_drift,
        accuracy=checked.accuracy,
        reference_accuracy=None if ref_accuracy is None else float(ref_accuracy),
        accuracy_drop=checked.accuracy_drop,
        retrain=retrain,
        reasons=tuple(reasons),
        n_reference=len(reference),
        n_current=len(current),
        prediction_drift=checked.prediction_drift,
        residual_drift=checked.residual_drift,
    )


def _is_regressor(model: Any) -> bool:
    from sklearn.base import is_regressor  # scikit-learn is imported only when a model is given

    return bool(is_regressor(model))


def adjust_p_values(p_values, method: str = "bonferroni") -> np.ndarray:
    """P-values adjusted for testing many features at once; compare them with ``P_VALUE``.

    ``"bonferroni"`` multiplies each by the number of tests (the chance of *any* false alarm
    stays at most the level); ``"benjamini_hochberg"`` controls the expected share of false
    alarms among the alarms instead, and so keeps more power when many features really drift
    (Benjamini and Hochberg, 1995). Both are capped at 1; the order of the input is kept.

    >>> adjust_p_values([0.01, 0.04, 0.03], "bonferroni").round(2).tolist()
    [0.03, 0.12, 0.09]
    >>> adjust_p_values([0.01, 0.04, 0.03], "benjamini_hochberg").round(2).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in P_VALUE_CORRECTIONS:
        allowed = ", ".join(P_VALUE_CORRECTIONS)
        raise InputError(f"method={method!r}: unknown correction (allowed: {allowed})")
    try:
        p = np.asarray(p_values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("p_values: expected a list of numbers in [0, 1]") from None
    if p.ndim != 1:
        raise InputError(f"p_values: expected a flat list, got {p.ndim} dimensions")
    if not np.all((p >= 0) & (p <= 1)):  # NaN fails too
        raise InputError("p_values: every p-value must be a number in [0, 1]")
    m = p.size
    if method == "bonferroni" or m == 0:
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def numeric_psi(reference, current) -> float:
    """PSI of two numeric samples in bins cut at the reference deciles, as :func:`detect_drift`
    computes it per feature (non-finite values dropped).

    >>> x = np.arange(100.0)
    >>> numeric_psi(x, x)
    0.0
    """
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    cur = np.sort(np.asarray(current, dtype=np.float64))
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        raise InputError("numeric_psi: both samples need at least one finite value")
    return population_stability_index(*_decile_counts(ref, cur))


def _corrected(results: list[FeatureDrift], method: str) -> list[FeatureDrift]:
    """The features' drift flags decided on p-values adjusted together (distances unchanged)."""
    tested = [i for i, f in enumerate(results) if f.p_value is not None]
    adjusted = adjust_p_values([results[i].p_value for i in tested], method)
    out = list(results)
    for i, p in zip(tested, adjusted, strict=True):
        out[i] = replace(out[i], drift=bool(p < P_VALUE))
    return out
