"""Training: named model factories, a spec, a fit that records its provenance, skops files.

>>> from mlcicd.data import load_dataset
>>> trained = train_model(load_dataset(), "target", ModelSpec("decision_tree", {"max_depth": 2}))
>>> trained.metadata["model_name"], trained.metadata["n_rows"]
('decision_tree', 569)
>>> parse_param("n_estimators=50")
('n_estimators', 50)

The task (classification or regression) is read from the label or given; each task has its
models (``MODELS``, ``REGRESSION_MODELS``). A table with category columns or missing values gets
a preprocessing built from its schema inside the model's pipeline (one-hot encoding on the
schema's categories, imputers with missing-indicators), so the saved model carries it; a table
of complete numbers is fitted exactly as before, without any extra step.

Model files are written with skops (no pickle). Loading a file refuses every type outside
scikit-learn, numpy, scipy and the builtin types, so a model file cannot smuggle in code; the
preprocessing steps are scikit-learn types, so they need no extra trust.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import io
import json
import math
import os
import platform
import re
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import mlcicd
from mlcicd.checks import check_choice
from mlcicd.data import MAX_CLASSES, TASKS, fingerprint, infer_task
from mlcicd.errors import InputError
from mlcicd.files import atomic_write, check_readable_file
from mlcicd.hashing import canonical_fingerprint, sha256_text

# ---------------------------------------------------------------------------------- models


def _with_params(name: str, estimator: Any, params: Mapping[str, Any]) -> Any:
    """Set ``params`` on ``estimator``, refusing any name it does not have."""
    known = sorted(estimator.get_params(deep=False))
    for key in params:
        if key not in known:
            raise InputError(
                f"model {name!r} has no hyper-parameter {key!r} (known: {', '.join(known)})"
            )
    return estimator.set_params(**params)


def _logistic_regression(params: Mapping[str, Any], seed: int) -> Pipeline:
    model = _with_params(
        "logistic_regression", LogisticRegression(max_iter=1000, random_state=seed), params
    )
    return Pipeline([("scale", StandardScaler()), ("model", model)])


def _random_forest(params: Mapping[str, Any], seed: int) -> RandomForestClassifier:
    return _with_params("random_forest", RandomForestClassifier(random_state=seed), params)


def _gradient_boosting(params: Mapping[str, Any], seed: int) -> GradientBoostingClassifier:
    return _with_params("gradient_boosting", GradientBoostingClassifier(random_state=seed), params)


def _decision_tree(params: Mapping[str, Any], seed: int) -> DecisionTreeClassifier:
    return _with_params("decision_tree", DecisionTreeClassifier(random_state=seed), params)


def _dummy(params: Mapping[str, Any], seed: int) -> DummyClassifier:
    return _with_params(
        "dummy", DummyClassifier(strategy="most_frequent", random_state=seed), params
    )


MODELS: dict[str, Callable[[Mapping[str, Any], int], Any]] = {
    "logistic_regression": _logistic_regression,
    "random_forest": _random_forest,
    "gradient_boosting": _gradient_boosting,
    "decision_tree": _decision_tree,
    "dummy": _dummy,
}


def _ridge(params: Mapping[str, Any], seed: int) -> Pipeline:
    model = _with_params("ridge", Ridge(random_state=seed), params)
    return Pipeline([("scale", StandardScaler()), ("model", model)])


def _linear_regression(params: Mapping[str, Any], seed: int) -> Pipeline:
    model = _with_params("linear_regression", LinearRegression(), params)
    return Pipeline([("scale", StandardScaler()), ("model", model)])


def _regressor(name: str, cls: type, **fixed: Any) -> Callable[[Mapping[str, Any], int], Any]:
    def factory(params: Mapping[str, Any], seed: int) -> Any:
        return _with_params(name, cls(**fixed, random_state=seed), params)

    return factory


def _dummy_regressor(params: Mapping[str, Any], seed: int) -> DummyRegressor:
    return _with_params("dummy", DummyRegressor(strategy="mean"), params)


# the same name means the same kind of model for either task (random_forest: a forest of
# classification trees, or of regression trees); logistic_regression only classifies and
# ridge / linear_regression only regress
REGRESSION_MODELS: dict[str, Callable[[Mapping[str, Any], int], Any]] = {
    "ridge": _ridge,
    "linear_regression": _linear_regression,
    "random_forest": _regressor("random_forest", RandomForestRegressor),
    "gradient_boosting": _regressor("gradient_boosting", GradientBoostingRegressor),
    "decision_tree": _regressor("decision_tree", DecisionTreeRegressor),
    "dummy": _dummy_regressor,
}
MODELS_BY_TASK = {"classification": MODELS, "regression": REGRESSION_MODELS}
DEFAULT_MODEL = {"classification": "logistic_regression", "regression": "ridge"}


@dataclass(frozen=True)
class ModelSpec:
    """A model name and its hyper-parameters; ``params`` is kept as a sorted tuple of items.

    >>> ModelSpec("random_forest", {"n_estimators": 50}).to_dict()
    {'name': 'random_forest', 'params': {'n_estimators': 50}}
    """

    name: str = "logistic_regression"
    params: Any = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise InputError(f"model name: expected a string, got {type(self.name).__name__}")
        items = self.params.items() if isinstance(self.params, Mapping) else self.params
        try:
            items = tuple(sorted((str(k), v) for k, v in items))
        except (TypeError, ValueError):
            raise InputError("model params: expected a mapping of name -> value") from None
        try:
            json.dumps(dict(items))
        except (TypeError, ValueError) as exc:
            raise InputError(f"model params: values must be JSON-serialisable ({exc})") from None
        object.__setattr__(self, "params", items)

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.param_dict}


_INT = re.compile(r"[+-]?\d+")


def parse_param(text: str, option: str = "--param") -> tuple[str, Any]:
    """Parse ``KEY=VALUE``; the value becomes an int, float, bool, None or stays a str.

    >>> parse_param("C=0.5"), parse_param("bootstrap=false"), parse_param("max_depth=none")
    (('C', 0.5), ('bootstrap', False), ('max_depth', None))
    """
    key, sep, raw = str(text).partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key.isidentifier():
        raise InputError(f"option {option}: expected KEY=VALUE, got {text!r}")
    low = raw.lower()
    if low in ("true", "false"):
        return key, low == "true"
    if low in ("none", "null"):
        return key, None
    if _INT.fullmatch(raw):
        return key, int(raw)
    try:
        number = float(raw)
    except ValueError:
        return key, raw
    return key, number if math.isfinite(number) else raw


def _check_task(task: str) -> str:
    return check_choice(task, "task", TASKS)


def model_names() -> str:
    """The model names per task, for messages and ``--help``."""
    return "; ".join(f"{task}: {', '.join(models)}" for task, models in MODELS_BY_TASK.items())


def make_estimator(spec: ModelSpec, seed: int = 0, task: str = "classification") -> Any:
    """An unfitted estimator for ``spec`` and ``task`` (without the schema's preprocessing)."""
    models = MODELS_BY_TASK[_check_task(task)]
    if spec.name not in models:
        other = next((t for t, m in MODELS_BY_TASK.items() if t != task and spec.name in m), None)
        if other is not None:
            raise InputError(
                f"model {spec.name!r} is a {other} model, the task is {task} "
                f"({task} models: {', '.join(models)})"
            )
        raise InputError(f"unknown model {spec.name!r} (known: {model_names()})")
    return models[spec.name](spec.param_dict, seed)


# ---------------------------------------------------------------------------------- preprocessing

NUMERIC_KINDS = ("int", "float", "bool")


def preprocessing(schema: Any, features: list, scale: bool) -> ColumnTransformer | None:
    """The schema-built preprocessing of ``features``, or None when it is the identity.

    Numeric columns the schema calls nullable get a median imputer with a missing-indicator;
    category columns a most-frequent imputer and a one-hot encoder whose categories are the
    schema's (a category unseen in the schema encodes as all zeros: validation reports it as
    ``unknown_category``), plus a missing-indicator when nullable. ``scale`` standardises the
    numeric columns (for linear models). Numeric columns without missing values and no category
    column: None, and the model sees the data unchanged (as it always did).
    """
    cols = {c.name: c for c in schema.columns}
    absent = [str(f) for f in features if f not in cols]
    if absent:
        raise InputError(f"training data: feature columns not in the schema: {', '.join(absent)}")
    text = [cols[f] for f in features if cols[f].dtype == "string"]
    if text:
        raise InputError(
            f"training data: feature column {text[0].name!r} is free text (more distinct values "
            "than a category may have, see --max-categories of infer-schema): drop it"
        )
    plain = [f for f in features if cols[f].dtype in NUMERIC_KINDS and not cols[f].nullable]
    holes = [f for f in features if cols[f].dtype in NUMERIC_KINDS and cols[f].nullable]
    cats = [f for f in features if cols[f].dtype == "category"]
    if not holes and not cats:
        return None
    parts: list = []
    if plain:
        parts.append(("numeric", StandardScaler() if scale else "passthrough", plain))
    if holes:
        impute = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        steps = [("impute", impute)] + ([("scale", StandardScaler())] if scale else [])
        parts.append(("numeric_missing", Pipeline(steps), holes))
    if cats:
        encoder = OneHotEncoder(
            categories=[list(cols[f].categories) for f in cats],
            handle_unknown="ignore",
            sparse_output=False,
            dtype=np.float64,
        )
        impute = SimpleImputer(strategy="most_frequent", keep_empty_features=True)
        parts.append(("categories", Pipeline([("impute", impute), ("onehot", encoder)]), cats))
        nullable = [f for f in cats if cols[f].nullable]
        if nullable:
            parts.append(("categories_missing", MissingIndicator(features="all"), nullable))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def build_model(
    spec: ModelSpec, schema: Any, features: list, seed: int = 0, task: str = "classification"
) -> Any:
    """``spec``'s estimator behind the schema-built :func:`preprocessing` of ``features``:
    ``Pipeline([("prepare", ...), ("model", ...)])``, or the bare estimator when the
    preprocessing is the identity (numeric columns without missing values)."""
    estimator = make_estimator(spec, seed, task)
    scaled = isinstance(estimator, Pipeline) and estimator.steps[0][0] == "scale"
    prepare = preprocessing(schema, features, scale=scaled)
    if prepare is None:
        return estimator
    model = estimator.named_steps["model"] if scaled else estimator
    return Pipeline([("prepare", prepare), ("model", model)])


# ---------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainedModel:
    """A fitted estimator, the spec it came from and its provenance (see :func:`train_model`)."""

    model: Any
    spec: ModelSpec
    metadata: dict[str, Any]

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"`` (files from before tasks: classification)."""
        return self.metadata.get("task", "classification")

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "metadata": dict(self.metadata)}

    def __fingerprint__(self) -> str:
        """The content fingerprint the stage cache keys use: the fitted model and the spec, not
        the metadata (a :class:`StoredModel` knows its model's fingerprint: not loaded)."""
        known = getattr(self, "model_fingerprint", None)
        spec = canonical_fingerprint(self.spec.to_dict())
        return "trained:" + sha256_text((known or model_fingerprint(self.model)) + spec)


class StoredModel(TrainedModel):
    """A :class:`TrainedModel` read from a file (the disk cache, a registry): the spec and
    metadata are at hand, the estimator is loaded from its skops bytes on first use of ``model``.

    ``skops_bytes`` and ``model_fingerprint`` let a registry recognise or store the model
    without loading and re-serialising it.
    """

    skops_bytes: bytes
    model_fingerprint: str
    _model: Any

    def __init__(self, data: bytes, fingerprint: str, spec: Any, metadata: dict[str, Any]):
        object.__setattr__(self, "skops_bytes", data)
        object.__setattr__(self, "model_fingerprint", fingerprint)
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "metadata", metadata)
        object.__setattr__(self, "_model", None)

    @property
    def model(self) -> Any:
        if self._model is None:
            object.__setattr__(self, "_model", load_model_bytes(self.skops_bytes, "cache").model)
        return self._model

    def __reduce__(self):  # pickled (to a worker process) as what it is: bytes and metadata
        return (StoredModel, (self.skops_bytes, self.model_fingerprint, self.spec, self.metadata))


def _library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "mlcicd": mlcicd.__version__,
    }


def _check_training_frame(df: pd.DataFrame, target: str) -> list:
    """The feature columns of ``df``, or an :class:`InputError` saying what is unusable."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"training data: expected a DataFrame, got {type(df).__name__}")
    if target not in df.columns:
        shown = ", ".join(map(str, list(df.columns)[:10]))
        more = ", ..." if df.shape[1] > 10 else ""
        raise InputError(f"training data: no target column {target!r} (columns: {shown}{more})")
    if len(df) == 0:
        raise InputError("training data: the data set is empty (0 rows)")
    features = [c for c in df.columns if c != target]
    if not features:
        raise InputError(f"training data: no feature columns besides the target {target!r}")
    labels = df[target]
    n_missing = int(labels.isna().sum())
    if n_missing == len(df):
        raise InputError(f"training data: target column {target!r} is entirely missing")
    if n_missing:
        raise InputError(f"training data: target column {target!r} has {n_missing} missing values")
    return features


def _check_labels(labels: pd.Series, target: str, task: str) -> None:
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
            raise InputError(
                f"training data: target column {target!r} is not numeric ({labels.dtype}), "
                "so it cannot be a regression target (--task classification?)"
            )
        values = labels.to_numpy(dtype="float64")
        n_inf = int(np.count_nonzero(np.isinf(values)))
        if n_inf:
            raise InputError(f"training data: target column {target!r} has {n_inf} infinite values")
        if np.ptp(values) == 0:
            raise InputError(
                f"training data: target column {target!r} is constant ({values[0]!r}); "
                "a regression needs a label that varies"
            )
        return
    classes = labels.unique()
    if len(classes) < 2:
        raise InputError(
            f"training data: target column {target!r} has a single class ({classes[0]!r}); "
            "a classifier needs at least two"
        )


def resolve_task(labels: pd.Series, target: str, model_name: str | None, task: str | None) -> str:
    """The task: ``task`` when given, else the label's (:func:`mlcicd.data.infer_task`); a model
    that only serves the other task is refused, naming the label and the ``--task`` option."""
    if task is not None:
        return _check_task(task)
    detected = infer_task(labels)
    if model_name is None or model_name in MODELS_BY_TASK[detected]:
        return detected
    other = "classification" if detected == "regression" else "regression"
    if model_name not in MODELS_BY_TASK[other]:
        return detected  # an unknown name: make_estimator says so
    n = int(labels.nunique())
    looks = (
        f"is continuous ({n} distinct float values)"
        if detected == "regression"
        else f"holds {n} classes"
    )
    raise InputError(
        f"target column {target!r} {looks}, so the task is {detected}, but {model_name!r} is a "
        f"{other} model: choose one of {', '.join(MODELS_BY_TASK[detected])}, or pass "
        f"--task {other} to override (a float label with more than {MAX_CLASSES} distinct "
        "values is read as regression)"
    )


def _frame_schema(df: pd.DataFrame, X: pd.DataFrame, target: str, schema: Any) -> Any:
    """``schema`` if given, None when every feature is numeric and complete (no preprocessing
    needed, nothing to infer), else the schema inferred from ``df``. Refuses a feature that is
    entirely missing (one missing-value pass over the features ``X`` serves both)."""
    missing = X.isna().to_numpy()
    empty = missing.all(axis=0)
    if empty.any():
        name = X.columns[int(np.argmax(empty))]
        raise InputError(
            f"training data: feature column {str(name)!r} is entirely missing (no value to "
            "learn from): drop it"
        )
    if schema is not None:
        return schema
    numeric = all(
        pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in X.dtypes
    )
    if numeric and not missing.any():
        return None
    from mlcicd.validation import infer_schema

    return infer_schema(df, target=target)


def train_model(
    df: pd.DataFrame,
    target: str,
    spec: ModelSpec | None = None,
    seed: int = 0,
    data_fingerprint: str | None = None,
    *,
    schema: Any = None,
    task: str | None = None,
) -> TrainedModel:
    """Fit ``spec``'s estimator on every non-target column of ``df``.

    The task is ``task`` or read from the label (:func:`resolve_task`); ``spec`` defaults to
    the task's default model. Category columns and missing values are handled by a
    preprocessing built from ``schema`` (default: inferred from ``df``), inside the fitted
    pipeline (see :func:`build_model`). ``data_fingerprint`` is
    ``mlcicd.data.fingerprint(df)`` when the caller already has it (the pipeline hashes each
    frame once per run); otherwise it is computed for the provenance.
    """
    features = _check_training_frame(df, target)
    labels = df[target]
    task = resolve_task(labels, target, None if spec is None else spec.name, task)
    spec = spec if spec is not None else ModelSpec(DEFAULT_MODEL[task])
    _check_labels(labels, target, task)
    X = df[features]
    frame_schema = _frame_schema(df, X, target, schema)
    if frame_schema is None:
        estimator = make_estimator(spec, seed, task)
    else:
        estimator = build_model(spec, frame_schema, features, seed, task)
    y = labels.to_numpy(dtype="float64") if task == "regression" else labels.to_numpy()
    start = time.perf_counter()
    try:
        estimator.fit(X, y)
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"model {spec.name!r}: training failed: {first}") from None
    seconds = time.perf_counter() - start
    metadata = {
        "model_name": spec.name,
        "params": spec.param_dict,
        "target": target,
        "task": task,
        "features": [str(c) for c in features],
        "n_rows": len(df),
        "data_fingerprint": data_fingerprint or fingerprint(df),
        "seed": int(seed),
        "training_seconds": round(seconds, 6),
        "library_versions": _library_versions(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return TrainedModel(model=estimator, spec=spec, metadata=metadata)


# ---------------------------------------------------------------------------------- files

METADATA_KEYS = ("model_name", "params", "target", "features", "data_fingerprint", "seed")
# packages whose types (and functions) a model file may contain; builtins: types only
TRUSTED_PACKAGES = ("sklearn", "numpy", "scipy")


def _is_allowed(type_name: str) -> bool:
    """True for a name skops reports that lies in scikit-learn/numpy/scipy, or a builtin type."""
    module, _, attr = type_name.rpartition(".")
    top = module.split(".")[0]
    if top in TRUSTED_PACKAGES:
        return True
    if module == "builtins":
        # builtin *types* only: functions such as eval, exec or open stay refused
        return isinstance(getattr(builtins, attr, None), type)
    return False


def _skops():
    """skops.io, imported on first use: training alone (and grading) need not pay its import."""
    import skops.io

    return skops.io


def serialize_model(trained: TrainedModel) -> bytes:
    """The bytes of the skops file ``{"model": estimator, "metadata": json}`` for ``trained``."""
    if not isinstance(trained, TrainedModel):
        raise InputError(f"save_model: expected a TrainedModel, got {type(trained).__name__}")
    payload = {
        "model": trained.model,
        "metadata": json.dumps(dict(trained.metadata), sort_keys=True),
    }
    return _skops().dumps(payload)


def save_model(trained: TrainedModel, path: str | os.PathLike) -> Path:
    """Write ``trained`` as a skops file ``{"model": estimator, "metadata": json}``, atomically."""
    return write_model_bytes(serialize_model(trained), path)


def write_model_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write the bytes from :func:`serialize_model` to ``path``, atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def load_model(path: str | os.PathLike) -> TrainedModel:
    """Read a model file written by :func:`save_model`; untrusted types are refused."""
    p = check_readable_file(path, "model")
    return load_model_bytes(p.read_bytes(), p)


def load_model_bytes(data: bytes, where: str | os.PathLike = "<bytes>") -> TrainedModel:
    """:func:`load_model` on the file's bytes (``where`` names the file in messages)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if "schema.json" not in zf.namelist():
                raise InputError(f"model {where}: not a skops model file")
        untrusted = _skops().get_untrusted_types(data=data)
    except InputError:
        raise
    except Exception:  # a zip of garbage fails in many ways, all meaning the same thing
        raise InputError(f"model {where}: not a skops model file") from None
    refused = [name for name in untrusted if not _is_allowed(name)]
    if refused:
        raise InputError(
            f"model {where}: refusing to load untrusted type {refused[0]!r} "
            "(allowed: scikit-learn, numpy and scipy objects, builtin types)"
        )
    try:
        payload = _skops().loads(data, trusted=list(untrusted))
    except Exception as exc:
        raise InputError(f"model {where}: cannot be loaded ({type(exc).__name__})") from None
    return _from_payload(payload, where)


def _from_payload(payload: Any, where: str | os.PathLike) -> TrainedModel:
    if not isinstance(payload, dict) or not {"model", "metadata"} <= set(payload):
        raise InputError(f"model {where}: not an mlcicd model file (expected model and metadata)")
    try:
        metadata = json.loads(payload["metadata"])
    except (TypeError, ValueError):
        raise InputError(f"model {where}: the metadata is not valid JSON") from None
    missing = [k for k in METADATA_KEYS if not isinstance(metadata, dict) or k not in metadata]
    if missing:
        raise InputError(f"model {where}: the metadata lacks {', '.join(missing)}")
    model = payload["model"]
    if not hasattr(model, "predict"):
        raise InputError(f"model {where}: the stored object has no predict method")
    spec = ModelSpec(metadata["model_name"], metadata["params"])
    return TrainedModel(model=model, spec=spec, metadata=metadata)


def model_fingerprint(model: Any) -> str:
    """sha256 (hex) of the canonical content of the skops serialisation of ``model``.

    The raw skops bytes are not reproducible: the zip stores timestamps, and arrays are stored
    under names taken from ``id()``. The canonical form hashes the schema with every array file
    name replaced by the sha256 of its bytes and the object ids renumbered in order of first
    appearance, so the same fitted model always gives the same fingerprint (also after a
    save/load round trip), and any change of a parameter or a fitted value gives another.
    The skops protocol and version stored beside the model are not part of it.
    """
    return canonical_skops_digest(_skops().dumps(model))


def stored_model_fingerprint(data: bytes) -> str:
    """:func:`model_fingerprint` of the model inside the bytes of a model file, without loading
    it: equal to ``model_fingerprint(trained.model)`` for ``data = serialize_model(trained)``."""
    return canonical_skops_digest(data, key="model")


def _array_digest(data: bytes) -> str:
    """sha256 of a stored array's dtype, shape and values; padding bytes of records are skipped.

    (A tree's node records carry padding that scikit-learn leaves uninitialised.)
    """
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return hashlib.sha256(data).hexdigest()
    h = hashlib.sha256(f"{array.dtype!s}|{array.shape}".encode())
    for name in array.dtype.names or (None,):
        values = array if name is None else array[name]
        h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


SKOPS_FILE_KEYS = ("protocol", "_skops_version")  # what skops adds to the root object's node


def canonical_skops_digest(data: bytes, key: str | None = None) -> str:
    """sha256 of a skops file's content, independent of zip timestamps and object ids.

    Without ``key``, of the stored root object; with it, of the value stored under ``key`` in
    a stored dict. Either way the same object gives the same digest.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        schema = json.loads(zf.read("schema.json"))
        if key is None:
            schema = {k: v for k, v in schema.items() if k not in SKOPS_FILE_KEYS}
        else:
            schema = schema["content"][key]
        names = [name for name in zf.namelist() if name != "schema.json"]
        files = {name: _array_digest(zf.read(name)) for name in names}
    ids: dict[Any, int] = {}

    def canon(node: Any) -> Any:
        if isinstance(node, list):
            return [canon(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__":
                out[key] = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str) and value in files:
                out[key] = files[value]
            else:
                out[key] = canon(value)
        return out

    text = json.dumps(canon(schema), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
