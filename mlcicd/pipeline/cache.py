"""The run cache: a stage whose code, inputs and parameters did not change is not run again.

Like DVC's run cache, a stage execution is identified by a key: the sha256 of the stage name, the
code version of its function (``mlcicd.__version__`` and the sha256 of the function's source), the
fingerprints of the inputs it takes and its parameters. Inputs are fingerprinted by content, and
the engine knows no domain type: a value with a ``__fingerprint__()`` method gives its own (a
:class:`~mlcicd.training.TrainedModel` does), a type registered with
:func:`register_fingerprinter` is hashed by the registered function (DataFrames and fitted
estimators, registered by :mod:`mlcicd.pipeline.loop`), anything else by its canonical JSON. The output of a
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

import contextlib
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import mlcicd
from mlcicd.hashing import canonical_fingerprint, sha256_text

__all__ = [
    "Fingerprints",
    "StageCache",
    "canonical_fingerprint",
    "register_fingerprinter",
    "stage_key",
]


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


# (does the value match, its fingerprint): asked in order, the first match wins
_FINGERPRINTERS: list[tuple[Callable[[Any], bool], Callable[[Any], str]]] = []


def register_fingerprinter(matches: Callable[[Any], bool], fingerprint: Callable[[Any], str]):
    """Fingerprint the values for which ``matches(value)`` is true with ``fingerprint(value)``
    (a string; prefix it with the kind, e.g. ``"frame:"``). Such values are hashed once per run
    (memoised by ``id``), so they must not change during a run."""
    _FINGERPRINTERS.append((matches, fingerprint))


def _fingerprinter(value: Any) -> Callable[[Any], str] | None:
    if callable(getattr(value, "__fingerprint__", None)) and not isinstance(value, type):
        return lambda v: v.__fingerprint__()
    for matches, fingerprint in _FINGERPRINTERS:
        if matches(value):
            return fingerprint
    return None


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
        self._memo: dict[int, tuple[Any, str | None]] = {}
        self._code: dict[Any, str] = {}

    def of(self, value: Any) -> str | None:
        fingerprinter = _fingerprinter(value)
        if fingerprinter is not None or _frozen(value):
            hit = self._memo.get(id(value))
            if hit is not None and hit[0] is value:
                return hit[1]
            fp = fingerprinter(value) if fingerprinter is not None else _json(value)
            self._memo[id(value)] = (value, fp)
            return fp
        return _json(value)

    def code_version(self, func: Callable | str) -> str:
        """``mlcicd.__version__`` and the sha256 of the function's source (memoised).

        ``func`` may be a function or its name, ``"package.module:qualname"``: then its source is
        read from the module's file without importing the module (see :func:`source_of`).
        """
        try:
            return self._code[func]
        except (KeyError, TypeError):
            pass
        text = source_of(func) if isinstance(func, str) else _source(func)
        version = f"{mlcicd.__version__}:{sha256_text(text)}"
        with contextlib.suppress(TypeError):  # an unhashable callable: not memoised
            self._code[func] = version
        return version


def source_of(ref: str) -> str:
    """The source lines of the function or class ``"package.module:qualname"`` (decorators
    included), read from the module's file and parsed, never imported: a command-line cache hit
    keys on ``mlcicd.training:train_model`` without paying for scikit-learn's import.

    >>> source_of("mlcicd.pipeline.cache:stage_key").splitlines()[0]
    'def stage_key(stage: str, code_version: str, inputs: Mapping[str, str], params_fp: str) -> str:'
    """
    import ast
    import importlib.util

    module, _, qualname = ref.partition(":")
    if not qualname:
        raise LookupError(f"{ref}: expected 'package.module:qualname'")
    path = getattr(sys.modules.get(module), "__file__", None)  # loaded already: its own file
    if path is None:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError, AttributeError):
            spec = None  # e.g. a parent package replaced in sys.modules
        path = spec.origin if spec is not None else None
    if not path or not path.endswith(".py"):  # no source file to read: import it after all
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
        return _source(target)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    body: list[ast.stmt] = ast.parse(text).body
    node: ast.stmt | None = None
    for part in qualname.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and n.name == part
            ),
            None,
        )
        if node is None:
            raise LookupError(f"{ref}: {part} is not defined in {path}")
        body = node.body
    assert node is not None and node.end_lineno is not None
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(d.lineno for d in decorators)])
    return "".join(text.splitlines(keepends=True)[first - 1 : node.end_lineno])


def _json(value: Any) -> str | None:
    """``"json:"`` and the canonical fingerprint of plain data; None for anything else."""
    try:
        return "json:" + canonical_fingerprint(value)
    except TypeError:
        return None


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
    return sha256_text(json.dumps(payload, sort_keys=True, separators=(",", ":")))
