"""The run cache: a stage whose code, inputs and parameters did not change is not run again.

Like DVC's run cache, a stage execution is identified by a key: the sha256 of the stage name, the
code version of its function (``mlcicd.__version__`` and the sha256 of the function's source), the
fingerprints of the inputs it takes and its parameters. Inputs are fingerprinted by content: a
DataFrame by :func:`mlcicd.data.fingerprint` (once per object in a run), a fitted model by
:func:`mlcicd.training.model_fingerprint`, anything else by its canonical JSON. The output of a
cached stage is fingerprinted by its *provenance* instead: the key that produced it. A trained
model is then identified by "train, on these data, with this spec and seed" without serialising
it, which is exact as long as the stages are deterministic (every random step takes a seed).

>>> cache = StageCache()
>>> cache.get("k")
(False, None)
>>> cache.put("k", 42)
>>> cache.get("k"), cache.hits, cache.misses
((True, 42), 1, 1)
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

import mlcicd


class StageCache:
    """Stage results in memory, by key, with hit and miss counters.

    Values are kept as they are (no copy): stages must not mutate their inputs.
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` on a hit, ``(False, None)`` on a miss; counts either."""
        if key in self._values:
            self.hits += 1
            return True, self._values[key]
        self.misses += 1
        return False, None

    def put(self, key: str, value: Any) -> None:
        self._values[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        """Forget every value and reset the counters."""
        self._values.clear()
        self.hits = self.misses = 0

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._values), "hits": self.hits, "misses": self.misses}

    def __repr__(self) -> str:
        return f"StageCache(entries={len(self)}, hits={self.hits}, misses={self.misses})"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    """Plain JSON data for ``value``, or ``TypeError`` when it has no canonical form."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return _canonical(value.item())
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {
            "__map__": sorted((json.dumps(_canonical(k)), _canonical(v)) for k, v in value.items())
        }
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return {"__set__": sorted(json.dumps(_canonical(v)) for v in value)}
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return {"__array__": [str(data.dtype), list(data.shape), hashlib.sha256(data).hexdigest()]}
    if hasattr(value, "to_dict") and dataclasses.is_dataclass(value):
        return {type(value).__qualname__: _canonical(value.to_dict())}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__qualname__: _canonical(dataclasses.asdict(value))}
    raise TypeError(type(value).__name__)


def canonical_fingerprint(value: Any) -> str:
    """sha256 of the canonical JSON of plain data (scalars, dicts, lists, dataclasses)."""
    return _sha256(json.dumps(_canonical(value), sort_keys=True, separators=(",", ":")))


def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and hasattr(value, "fit")


def _frozen(value: Any) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return params is not None and params.frozen


class Fingerprints:
    """Fingerprints of the values one run feeds to its stages, each object hashed once.

    DataFrames, models and frozen dataclasses are memoised by ``id`` (a reference is kept, so an
    id is never reused within the run): do not mutate them during the run. ``of`` returns ``None`` for a value with
    no fingerprint (an open file, a lambda): a stage taking it is simply not cached.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, str]] = {}
        self._code: dict[Any, str] = {}

    def of(self, value: Any) -> str | None:
        from mlcicd.training import TrainedModel

        if isinstance(value, pd.DataFrame | TrainedModel) or _is_estimator(value) or _frozen(value):
            hit = self._memo.get(id(value))
            if hit is not None and hit[0] is value:
                return hit[1]
            fp = self._content(value)
            self._memo[id(value)] = (value, fp)
            return fp
        if isinstance(value, pd.Series):
            return self.of(value.to_frame())
        try:
            return "json:" + canonical_fingerprint(value)
        except TypeError:
            return None

    def _content(self, value: Any) -> str | None:
        from mlcicd.data import fingerprint
        from mlcicd.training import TrainedModel, model_fingerprint

        if isinstance(value, TrainedModel):  # by the fitted model, not by its metadata
            spec = canonical_fingerprint(value.spec.to_dict())
            # a model read from the disk cache or a registry knows its fingerprint: not loaded
            known = getattr(value, "model_fingerprint", None)
            return "trained:" + _sha256((known or model_fingerprint(value.model)) + spec)
        if _frozen(value):  # a schema, a spec: plain data that cannot change
            try:
                return "json:" + canonical_fingerprint(value)
            except TypeError:
                return None
        if isinstance(value, pd.DataFrame):
            return "frame:" + fingerprint(value)
        return "model:" + model_fingerprint(value)

    def code_version(self, func: Callable) -> str:
        """``mlcicd.__version__`` and the sha256 of the function's source (memoised)."""
        try:
            return self._code[func]
        except (KeyError, TypeError):
            pass
        version = f"{mlcicd.__version__}:{_sha256(_source(func))}"
        try:
            self._code[func] = version
        except TypeError:  # an unhashable callable: not memoised
            pass
        return version


def _source(func: Callable) -> str:
    """The source text of ``func``; for a callable without source, its compiled code."""
    target = inspect.unwrap(func)
    if hasattr(target, "func") and hasattr(target, "args"):  # functools.partial
        bound = canonical_fingerprint([list(target.args), dict(target.keywords)])
        return _source(target.func) + "\npartial:" + bound
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is not None:
            return f"{code.co_code.hex()}:{code.co_consts!r}:{code.co_names!r}"
        module = getattr(target, "__module__", "")
        return f"{module}.{getattr(target, '__qualname__', type(target).__qualname__)}"


def stage_key(stage: str, code_version: str, inputs: Mapping[str, str], params_fp: str) -> str:
    """The cache key of one stage execution (sha256 hex)."""
    payload = {"stage": stage, "code": code_version, "inputs": dict(inputs), "params": params_fp}
    return _sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")))
