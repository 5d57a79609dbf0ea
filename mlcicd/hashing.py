"""Content hashes of plain data (base layer): the canonical JSON of scalars, mappings, lists,
sets, arrays and dataclasses, hashed with sha256. The engine's cache keys and the values that
fingerprint themselves (``__fingerprint__``) share it, so neither imports the other.

>>> canonical_fingerprint({"b": 1, "a": [1.0, None]}) == canonical_fingerprint({"a": [1.0, None], "b": 1})
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any


def sha256_text(text: str) -> str:
    """sha256 (hex) of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(value: Any) -> Any:
    """Plain JSON data for ``value``, or ``TypeError`` when it has no canonical form."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    np = sys.modules.get("numpy")  # a numpy value exists only once numpy is loaded: not imported
    if np is not None and isinstance(value, np.generic):
        return canonical(value.item())
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {
            "__map__": sorted((json.dumps(canonical(k)), canonical(v)) for k, v in value.items())
        }
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return {"__set__": sorted(json.dumps(canonical(v)) for v in value)}
    if np is not None and isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        digest = hashlib.sha256(data).hexdigest()
        return {"__array__": [str(data.dtype), list(data.shape), digest]}
    if hasattr(value, "to_dict") and dataclasses.is_dataclass(value):
        return {type(value).__qualname__: canonical(value.to_dict())}  # type: ignore[union-attr]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__qualname__: canonical(dataclasses.asdict(value))}
    raise TypeError(type(value).__name__)


def canonical_fingerprint(value: Any) -> str:
    """sha256 of the canonical JSON of plain data (scalars, dicts, lists, dataclasses)."""
    return sha256_text(json.dumps(canonical(value), sort_keys=True, separators=(",", ":")))
