"""Training: named model factories, a spec, a fit that records its provenance, skops files.

>>> from mlcicd.data import load_dataset
>>> trained = train_model(load_dataset(), "target", ModelSpec("decision_tree", {"max_depth": 2}))
>>> trained.metadata["model_name"], trained.metadata["n_rows"]
('decision_tree', 569)
>>> parse_param("n_estimators=50")
('n_estimators', 50)

Model files are written with skops (no pickle). Loading a file refuses every type outside
scikit-learn, numpy, scipy and the builtin types, so a model file cannot smuggle in code.
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
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import mlcicd
from mlcicd.data import fingerprint
from mlcicd.errors import InputError
from mlcicd.files import atomic_write, check_readable_file

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


def make_estimator(spec: ModelSpec, seed: int = 0) -> Any:
    """An unfitted estimator for ``spec``."""
    if spec.name not in MODELS:
        raise InputError(f"unknown model {spec.name!r} (known: {', '.join(MODELS)})")
    return MODELS[spec.name](spec.param_dict, seed)


# ---------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainedModel:
    """A fitted estimator, the spec it came from and its provenance (see :func:`train_model`)."""

    model: Any
    spec: ModelSpec
    metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "metadata": dict(self.metadata)}


def _library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "mlcicd": mlcicd.__version__,
    }


def _check_training_frame(df: pd.DataFrame, target: str) -> list[str]:
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
    dtypes = df.dtypes.drop(target)  # one Series of dtypes, not a column Series per feature
    bad = [str(c) for c, t in dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad:
        raise InputError(f"training data: non-numeric feature columns: {', '.join(bad)}")
    labels = df[target]
    if labels.isna().any():
        raise InputError(
            f"training data: target column {target!r} has {int(labels.isna().sum())} missing values"
        )
    classes = labels.unique()
    if len(classes) < 2:
        raise InputError(
            f"training data: target column {target!r} has a single class ({classes[0]!r}); "
            "a classifier needs at least two"
        )
    return features


def train_model(
    df: pd.DataFrame,
    target: str,
    spec: ModelSpec | None = None,
    seed: int = 0,
    data_fingerprint: str | None = None,
) -> TrainedModel:
    """Fit ``spec``'s estimator on every non-target column of ``df``.

    ``data_fingerprint`` is ``mlcicd.data.fingerprint(df)`` when the caller already has it (the
    pipeline hashes each frame once per run); otherwise it is computed for the provenance.
    """
    spec = spec if spec is not None else ModelSpec()
    features = _check_training_frame(df, target)
    estimator = make_estimator(spec, seed)
    X, y = df[features], df[target].to_numpy()
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
        "features": [str(c) for c in features],
        "n_rows": int(len(df)),
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
        out = {}
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
