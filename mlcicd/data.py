"""Data for the pipeline: datasets, splits, simulated production weeks and fingerprints.

>>> df = load_dataset()
>>> df.shape
(569, 31)
>>> train, holdout = split(df, seed=0)
>>> len(train), len(holdout)
(426, 143)
>>> weeks = production_batches(df, n_batches=4, batch_size=50, covariate_shift=1.0)
>>> [len(w) for w in weeks]
[50, 50, 50, 50]
>>> fingerprint(df) == fingerprint(df.copy())
True
"""

from __future__ import annotations

import hashlib
import json
import re
from numbers import Real

import numpy as np
import pandas as pd

from mlcicd.checks import check_int
from mlcicd.errors import InputError

TARGET = "target"
DATASETS = ("breast_cancer", "wine_binary", "diabetes", "penguins_like")
# the label column of each named dataset (penguins_like keeps the real table's name)
DATASET_TARGETS = dict.fromkeys(DATASETS, TARGET) | {"penguins_like": "species"}
TASKS = ("classification", "regression")
MAX_CLASSES = 20  # a float label with more distinct values than this is a regression target


def _snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", str(name)).strip("_").lower()


def load_dataset(name: str = "breast_cancer") -> pd.DataFrame:
    """Load a named dataset: features in snake_case plus its label (see ``DATASET_TARGETS``).

    ``"breast_cancer"``: int ``target``, 1 = benign, 0 = malignant. ``"wine_binary"``: int
    ``target``, 1 = cultivar 0, 0 = others. ``"diabetes"``: scikit-learn's shipped diabetes data
    in its original units, float ``target`` (disease progression after a year): regression.
    ``"penguins_like"``: :func:`penguins_like` with its defaults (label ``species``).
    """
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    if name == "penguins_like":
        return penguins_like()
    if name == "diabetes":
        bunch = load_diabetes(as_frame=True, scaled=False)
        y = bunch.target.astype("float64")
    elif name == "breast_cancer":
        bunch = load_breast_cancer(as_frame=True)
        y = bunch.target
    elif name == "wine_binary":
        bunch = load_wine(as_frame=True)
        y = bunch.target == 0
    else:
        raise InputError(f"dataset {name!r}: unknown name (known: {', '.join(DATASETS)})")
    df = bunch.data.rename(columns=_snake_case).astype("float64")
    df[TARGET] = y.to_numpy() if name == "diabetes" else y.to_numpy().astype("int64")
    return df


def load_data(source: str, target: str | None = None) -> tuple[pd.DataFrame, str]:
    """``(frame, label column)`` from a dataset name (see ``DATASETS``) or a CSV path.

    A name brings its own label (``target`` may repeat it); a CSV path needs ``target``.

    >>> df, label = load_data("penguins_like")
    >>> df.shape, label
    ((344, 7), 'species')
    """
    if source in DATASETS:
        label = DATASET_TARGETS[source]
        if target not in (None, label):
            raise InputError(f"dataset {source!r}: its label column is {label!r}, not {target!r}")
        return load_dataset(source), label
    from mlcicd.files import read_csv

    if target is None:
        raise InputError(f"data {source}: give the label column (target) for a CSV file")
    df = read_csv(source, "data")
    if target not in df.columns:
        raise InputError(f"target column {target!r}: not in {source}")
    return df, target


_SPECIES = {  # share of the real table; (mean, sd) of bill length, bill depth, flipper, mass
    "Adelie": (152, (38.8, 2.7), (18.3, 1.2), (190.0, 6.5), (3700.0, 460.0)),
    "Chinstrap": (68, (48.8, 3.3), (18.4, 1.1), (195.8, 7.1), (3733.0, 384.0)),
    "Gentoo": (124, (47.5, 3.1), (15.0, 1.0), (217.2, 6.5), (5076.0, 504.0)),
}
_ISLANDS = {  # where each species lives, with the real table's shares
    "Adelie": (("Biscoe", "Dream", "Torgersen"), (44, 56, 52)),
    "Chinstrap": (("Dream",), (68,)),
    "Gentoo": (("Biscoe",), (124,)),
}
PENGUIN_NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")


def penguins_like(n: int = 344, seed: int = 0) -> pd.DataFrame:
    """A generated table shaped like the Palmer penguins (Gorman, Williams and Fraser 2014,
    published as the R package palmerpenguins); nothing is downloaded.

    Columns: ``species`` (label: Adelie, Chinstrap, Gentoo), ``island`` and ``sex`` (strings),
    four float measurements drawn per species around the real table's means. As in the real
    table, ``round(2 n / 344)`` rows lack all four measurements and ``round(11 n / 344)`` rows
    (those included) lack ``sex``: 19 missing values for ``n = 344``.

    >>> df = penguins_like()
    >>> int(df.isna().sum().sum()), sorted(df["species"].unique())
    (19, ['Adelie', 'Chinstrap', 'Gentoo'])
    """
    n = check_int(n, "n", low=3)
    rng = np.random.default_rng(seed)
    names = list(_SPECIES)
    shares = np.array([_SPECIES[s][0] for s in names], dtype=float)
    species = np.array(names, dtype=object)[rng.choice(3, size=n, p=shares / shares.sum())]
    species[:3] = names  # every class present, whatever n
    island = np.empty(n, dtype=object)
    sex = np.where(rng.random(n) < 0.5, "female", "male").astype(object)
    columns = {name: np.empty(n) for name in PENGUIN_NUMERIC}
    for name in names:
        rows = np.flatnonzero(species == name)
        places, counts = _ISLANDS[name]
        weights = np.array(counts, dtype=float)
        island[rows] = np.array(places, dtype=object)[
            rng.choice(len(places), size=rows.size, p=weights / weights.sum())
        ]
        for col, (mean, sd) in zip(PENGUIN_NUMERIC, _SPECIES[name][1:], strict=True):
            columns[col][rows] = rng.normal(mean, sd, size=rows.size)
    heavier = np.where(sex == "male", 1.0, -1.0)  # males are larger in every species
    columns["body_mass_g"] += heavier * 250.0
    columns["bill_length_mm"] += heavier * 1.5
    df = pd.DataFrame({"species": species, "island": island})
    df["bill_length_mm"] = np.round(columns["bill_length_mm"], 1)
    df["bill_depth_mm"] = np.round(columns["bill_depth_mm"], 1)
    df["flipper_length_mm"] = np.round(columns["flipper_length_mm"])
    df["body_mass_g"] = np.round(columns["body_mass_g"] / 25.0) * 25.0
    df["sex"] = sex
    n_blank, n_sex = round(2 * n / 344), round(11 * n / 344)
    missing = rng.permutation(n)[: max(n_sex, n_blank)]
    df.loc[missing[:n_blank], list(PENGUIN_NUMERIC)] = np.nan
    df.loc[missing[:n_sex], "sex"] = np.nan
    return df


def infer_task(labels: pd.Series) -> str:
    """``"regression"`` for a float label with more than ``MAX_CLASSES`` distinct values or a
    fractional value; otherwise ``"classification"``.

    >>> infer_task(load_dataset("diabetes")[TARGET]), infer_task(load_dataset()[TARGET])
    ('regression', 'classification')
    """
    if not pd.api.types.is_float_dtype(labels):
        return "classification"
    values = labels.to_numpy(dtype="float64", na_value=np.nan)
    values = values[np.isfinite(values)]
    if np.unique(values).size > MAX_CLASSES or np.any(values != np.round(values)):
        return "regression"
    return "classification"


def synthetic_dataset(
    n_rows: int, n_features: int = 30, seed: int = 0, n_informative: int | None = None
) -> pd.DataFrame:
    """A binary classification frame (columns ``f00..fNN`` and ``target``) of any size.

    ``n_informative`` defaults to a third of the features (at least 2); up to two more
    are linear combinations of them and the rest are noise.
    """
    from sklearn.datasets import make_classification

    n_rows, n_features = (
        check_int(n_rows, "n_rows", low=2),
        check_int(n_features, "n_features", low=1),
    )
    if n_informative is None:
        n_informative = min(n_features, max(2, n_features // 3))
    if not 1 <= n_informative <= n_features:
        raise InputError(f"n_informative={n_informative!r}: expected 1 .. n_features={n_features}")
    n_redundant = min(2, n_features - n_informative)
    x, y = make_classification(
        n_samples=int(n_rows),
        n_features=int(n_features),
        n_informative=int(n_informative),
        n_redundant=n_redundant,
        n_clusters_per_class=1 if n_informative == 1 else 2,
        random_state=seed,
    )
    width = max(2, len(str(n_features - 1)))
    df = pd.DataFrame(x, columns=[f"f{i:0{width}d}" for i in range(n_features)])
    df[TARGET] = y.astype("int64")
    return df


def check_frame(df, what: str = "data", *, allow_duplicates: bool = False) -> None:
    """``InputError`` unless ``df`` is a DataFrame (with unique column names)."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    if not allow_duplicates and df.columns.has_duplicates:
        dups = sorted(map(str, df.columns[df.columns.duplicated()].unique()))
        raise InputError(f"{what}: duplicate column names: {', '.join(dups)}")


def _check_target(df: pd.DataFrame, target: str) -> None:
    check_frame(df)
    if target not in df.columns:
        raise InputError(f"target column {target!r}: not in the data")


def split(
    df: pd.DataFrame, target: str = TARGET, holdout: float = 0.25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split into (train, holdout), both with a fresh 0..n-1 index; stratified by the label
    unless it is a regression target (see :func:`infer_task`)."""
    from sklearn.model_selection import train_test_split

    _check_target(df, target)
    if not isinstance(holdout, float | int) or not 0 < holdout < 1:
        raise InputError(f"holdout={holdout!r}: expected a fraction strictly between 0 and 1")
    labels = df[target]
    if labels.isna().any():
        raise InputError(f"target column {target!r}: {int(labels.isna().sum())} missing labels")
    strata = labels if infer_task(labels) == "classification" else None
    try:
        train, test = train_test_split(df, test_size=holdout, random_state=seed, stratify=strata)
    except ValueError as exc:
        raise InputError(f"split of {len(df)} rows (holdout={holdout}): {exc}") from None
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _numeric_features(df: pd.DataFrame, target: str) -> list:
    return [
        c
        for c in df.columns
        if c != target
        and pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
    ]


def _as_float(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype="float64", na_value=np.nan)


def _restore_dtype(values: np.ndarray, like: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(like):
        values = np.round(values)
    return pd.Series(values, name=like.name).astype(like.dtype)


def drift_strength(n_batches: int, drift_start: int | None = None) -> np.ndarray:
    """Drift strength per week: 0 before ``drift_start``, then linear up to 1 at the last week.

    >>> drift_strength(8).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0]
    """
    start = n_batches // 2 if drift_start is None else drift_start
    if not 0 <= start < n_batches:
        raise InputError(f"drift_start={drift_start!r}: expected a week in 0 .. {n_batches - 1}")
    weeks = np.arange(n_batches)
    return np.clip((weeks - start + 1) / (n_batches - start), 0.0, 1.0)


def production_batches(
    df: pd.DataFrame,
    target: str = TARGET,
    n_batches: int = 8,
    batch_size: int = 200,
    *,
    covariate_shift: float = 0.0,
    covariate_scale: float = 1.0,
    concept_drift: float = 0.0,
    drift_start: int | None = None,
    features: list | None = None,
    seed: int = 0,
) -> list[pd.DataFrame]:
    """Simulate ``n_batches`` weeks of production data resampled from ``df``, with drift.

    Rows are drawn with replacement; the draws depend only on ``seed``, so runs with and
    without drift see the same rows. With strength ``s`` of the week (see :func:`drift_strength`)
    each drifted feature becomes ``mean + (x - mean) * (1 + s (scale - 1)) + s * shift * std``
    (reference mean and std of ``df``), and labels of rows in the upper half of the feature
    most correlated with the label (judged on the undrifted values) flip with probability
    ``s * concept_drift``.
    """
    _check_target(df, target)
    n_batches = check_int(n_batches, "n_batches", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    if len(df) == 0:
        raise InputError("data: no rows to resample")
    for param, value, ok, expected in (
        ("covariate_shift", covariate_shift, lambda v: True, "a finite number"),
        ("covariate_scale", covariate_scale, lambda v: v > 0, "a number > 0"),
        ("concept_drift", concept_drift, lambda v: 0 <= v <= 1, "a probability in [0, 1]"),
    ):
        if not (isinstance(value, Real) and np.isfinite(value) and ok(value)):
            raise InputError(f"{param}={value!r}: expected {expected}")
    strength = np.repeat(drift_strength(n_batches, drift_start), batch_size)
    numeric = _numeric_features(df, target)
    if features is None:
        features = numeric[: max(1, len(numeric) // 2)] if numeric else []
    for f in features:
        if f not in numeric:
            raise InputError(
                f"feature {f!r}: not a numeric feature column of the data "
                f"(numeric features: {', '.join(map(str, numeric)) or 'none'})"
            )

    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(df), size=n_batches * batch_size)
    flip_draw = rng.random(n_batches * batch_size)
    out = df.iloc[rows].reset_index(drop=True)

    if concept_drift > 0:
        out[target] = _flip_labels(df, out, target, flip_draw < strength * concept_drift)
    if covariate_shift != 0 or covariate_scale != 1:
        factor = 1 + strength * (covariate_scale - 1)
        for f in features:
            ref = _as_float(df[f])
            mean = np.nanmean(ref)
            std = np.nanstd(ref, ddof=1) if np.count_nonzero(~np.isnan(ref)) > 1 else 0.0
            x = _as_float(out[f])
            drifted = mean + (x - mean) * factor + strength * covariate_shift * std
            drifted = np.where(strength > 0, drifted, x)  # undrifted weeks stay bit-identical
            out[f] = _restore_dtype(drifted, df[f])
    return [
        out.iloc[i * batch_size : (i + 1) * batch_size].reset_index(drop=True)
        for i in range(n_batches)
    ]


def _region(df: pd.DataFrame, target: str, numeric: list) -> tuple[object, float]:
    """The feature most correlated with the label (by class code) and its median."""
    classes = pd.Index(df[target].dropna().unique()).sort_values()
    codes = pd.Series(pd.Categorical(df[target], categories=classes).codes, index=df.index)
    corr = df[numeric].corrwith(codes.where(codes >= 0).astype("float64")).abs()
    feature = corr.idxmax() if corr.notna().any() else numeric[0]
    return feature, float(np.nanmedian(_as_float(df[feature])))


def drift_region(df: pd.DataFrame, target: str = TARGET) -> tuple[object, float]:
    """The concept-drift region of :func:`production_batches`: ``(feature, threshold)``.

    Rows with ``feature > threshold`` are the ones whose labels may flip.

    >>> drift_region(load_dataset())
    ('worst_concave_points', 0.09993)
    """
    _check_target(df, target)
    numeric = _numeric_features(df, target)
    if not numeric or df[target].nunique() < 2:
        raise InputError(
            f"concept drift: needs at least two classes in {target!r} and a numeric feature"
        )
    return _region(df, target, numeric)


def _flip_labels(ref: pd.DataFrame, out: pd.DataFrame, target: str, chosen: np.ndarray):
    """Labels of ``out`` where ``chosen`` rows inside the drift region move to the next class."""
    feature, threshold = drift_region(ref, target)
    classes = pd.Index(ref[target].dropna().unique()).sort_values()
    labels = out[target]
    codes = pd.Categorical(labels, categories=classes).codes
    flip = chosen & (codes >= 0) & (_as_float(out[feature]) > threshold)
    moved = classes.take((codes[flip] + 1) % len(classes)).to_numpy()
    labels = labels.copy()
    labels.iloc[np.flatnonzero(flip)] = moved
    return labels


# ---------------------------------------------------------------- fingerprint


def _name_key(name) -> object:
    return name if isinstance(name, str) else {"type": type(name).__name__, "repr": repr(name)}


def _encode_texts(values: pd.Series) -> list[bytes]:
    """Length-prefixed utf-8: int64 lengths in characters (-1 = missing), then the text."""
    missing = values.isna().to_numpy()
    texts = values.astype(object).where(~missing, "").astype(str)
    lengths = texts.str.len().to_numpy(dtype="<i8", copy=True)
    lengths[missing] = -1
    return [lengths.tobytes(), "".join(texts.tolist()).encode("utf-8", "surrogatepass")]


def _encode_numbers(values: pd.Series) -> list[bytes | memoryview]:
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        arr = np.ascontiguousarray(values.to_numpy())
        if arr.dtype.kind in "mM":
            arr = arr.view("int64")
        if arr.dtype.kind in "fc" and np.isnan(arr).any():
            arr = np.where(np.isnan(arr), np.nan, arr)  # one canonical NaN bit pattern
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        return [arr.data.cast("B")]
    # nullable extension arrays (Int64, Float64, boolean): mask, then values with holes as 0
    missing = values.isna().to_numpy()
    numpy_dtype = getattr(dtype, "numpy_dtype", np.dtype("float64"))
    arr = values.to_numpy(dtype=numpy_dtype, na_value=0).astype(numpy_dtype.newbyteorder("<"))
    return [np.packbits(missing).tobytes(), np.ascontiguousarray(arr).tobytes()]


def _column_chunks(values: pd.Series) -> tuple[str, list]:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = _encode_texts(pd.Series(dtype.categories.astype(str), dtype=object))
        desc = f"category(ordered={dtype.ordered}, categories={hashlib.sha256(b''.join(cats)).hexdigest()})"
        codes = values.cat.codes.to_numpy().astype("<i8")
        return desc, [codes.tobytes()]
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        if isinstance(dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return str(dtype), _encode_numbers(values)
    return str(dtype), _encode_texts(values)


def fingerprint(df: pd.DataFrame) -> str:
    """sha256 (hex) of column names, dtypes and values in row order; the index is ignored.

    Object columns are hashed by the ``str()`` of their values.
    """
    check_frame(df, allow_duplicates=True)
    columns = [(_column_chunks(df.iloc[:, i])) for i in range(df.shape[1])]
    header = {
        "format": "mlcicd-fingerprint/1",
        "n_rows": len(df),
        "columns": [_name_key(name) for name in df.columns],
        "dtypes": [desc for desc, _ in columns],
    }
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode("utf-8"))
    for _, chunks in columns:
        for chunk in chunks:
            h.update(len(chunk).to_bytes(8, "little"))
            h.update(chunk)
    return h.hexdigest()
