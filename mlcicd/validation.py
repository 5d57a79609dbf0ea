"""Data validation: infer a schema from reference data, then check new data against it.

>>> from mlcicd.data import load_dataset
>>> df = load_dataset()
>>> schema = infer_schema(df, target="target")
>>> validate_data(df, schema).valid
True
>>> bad = df.drop(columns="mean_radius").assign(mean_area=-1000.0)
>>> [(a.column, a.kind, a.count) for a in validate_data(bad, schema).anomalies]
[('mean_radius', 'missing_column', 1), ('mean_area', 'out_of_range', 569)]

``Anomaly.count`` is the number of affected values for value checks, the number of copies for
``duplicate_column``, 1 for a missing or unexpected column and 0 for an empty dataset.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from mlcicd.checks import check_int, check_number
from mlcicd.data import check_frame
from mlcicd.errors import InputError
from mlcicd.files import atomic_write_json, read_json

SCHEMA_FORMAT = "mlcicd.schema"
SCHEMA_VERSION = 1
DTYPES = ("int", "float", "bool", "category", "string")

MISSING_COLUMN = "missing_column"
UNEXPECTED_COLUMN = "unexpected_column"
DUPLICATE_COLUMN = "duplicate_column"
WRONG_TYPE = "wrong_type"
MISSING_VALUES = "missing_values"
NON_FINITE = "non_finite"
OUT_OF_RANGE = "out_of_range"
UNKNOWN_CATEGORY = "unknown_category"
EMPTY_DATASET = "empty_dataset"
ANOMALY_KINDS = (
    MISSING_COLUMN,
    UNEXPECTED_COLUMN,
    DUPLICATE_COLUMN,
    WRONG_TYPE,
    MISSING_VALUES,
    NON_FINITE,
    OUT_OF_RANGE,
    UNKNOWN_CATEGORY,
    EMPTY_DATASET,
)
_COLUMN_KEYS = ("name", "dtype", "required", "nullable", "min", "max", "categories")


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_column(where: str, dtype, lo, hi, categories) -> None:
    """Raise InputError(``where.field: problem``) for an inconsistent column description."""
    if dtype not in DTYPES:
        raise InputError(f"{where}.dtype: {dtype!r} is not one of {', '.join(DTYPES)}")
    for key, bound in (("min", lo), ("max", hi)):
        if bound is None:
            continue
        if dtype not in ("int", "float"):
            raise InputError(f"{where}.{key}: must be null for a {dtype} column")
        if not _is_number(bound) or not math.isfinite(bound):
            raise InputError(f"{where}.{key}: expected a finite number or null, got {bound!r}")
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"{where}.min: {lo} is greater than max {hi}")
    if dtype == "category":
        if not isinstance(categories, list | tuple):
            raise InputError(f"{where}.categories: expected a list for a category column")
        if not all(isinstance(c, str | int | float) for c in categories):
            raise InputError(f"{where}.categories: expected strings or numbers")
    elif categories is not None:
        raise InputError(f"{where}.categories: must be null for a {dtype} column")


@dataclass(frozen=True)
class ColumnSchema:
    """What a column must look like. ``min``/``max`` only for numbers, ``categories`` only for
    ``category`` columns."""

    name: str
    dtype: str
    required: bool = True
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    categories: tuple | None = None

    def __post_init__(self):
        if self.categories is not None:
            object.__setattr__(self, "categories", tuple(self.categories))
        _check_column(f"column {self.name!r}", self.dtype, self.min, self.max, self.categories)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["categories"] = None if self.categories is None else list(self.categories)
        return d


@dataclass(frozen=True)
class Schema:
    """The expected columns of a dataset, and which one is the label (if any)."""

    columns: tuple[ColumnSchema, ...]
    target: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "columns", tuple(self.columns))
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise InputError(f"columns: duplicate names {', '.join(dup)}")
        if self.target is not None and self.target not in names:
            raise InputError(f"target: {self.target!r} is not one of the columns")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise InputError(f"column {name!r}: not in the schema (columns: {', '.join(self.names)})")

    def to_dict(self) -> dict:
        return {
            "format": SCHEMA_FORMAT,
            "version": SCHEMA_VERSION,
            "target": self.target,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, d) -> Schema:
        """Build a schema from :meth:`to_dict` output, checking every field."""
        if not isinstance(d, dict):
            raise InputError(
                f"not an mlcicd schema (expected a JSON object, got {type(d).__name__})"
            )
        for key in ("columns", "format"):
            if key not in d:
                raise InputError(f"not an mlcicd schema (missing key {key!r})")
        if d["format"] != SCHEMA_FORMAT:
            raise InputError(f"format: {d['format']!r} is not {SCHEMA_FORMAT!r}")
        if d.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise InputError(f"version: {d['version']!r} unsupported (expected {SCHEMA_VERSION})")
        if not isinstance(d["columns"], list):
            raise InputError("columns: expected a list of column objects")
        target = d.get("target")
        if target is not None and not isinstance(target, str):
            raise InputError(f"target: expected a column name or null, got {target!r}")
        return cls(tuple(_column_from_dict(i, c) for i, c in enumerate(d["columns"])), target)


def _column_from_dict(i: int, c) -> ColumnSchema:
    where = f"columns[{i}]"
    if not isinstance(c, dict):
        raise InputError(f"{where}: expected an object, got {type(c).__name__}")
    unknown = sorted(set(c) - set(_COLUMN_KEYS))
    if unknown:
        raise InputError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_COLUMN_KEYS)})"
        )
    for key in ("name", "dtype"):
        if key not in c:
            raise InputError(f"{where}: missing key {key!r}")
    if not isinstance(c["name"], str) or not c["name"]:
        raise InputError(f"{where}.name: expected a non-empty string, got {c['name']!r}")
    where = f"columns[{i}] ({c['name']!r})"
    for key, default in (("required", True), ("nullable", False)):
        if not isinstance(c.get(key, default), bool):
            raise InputError(f"{where}.{key}: expected true or false, got {c[key]!r}")
    _check_column(where, c["dtype"], c.get("min"), c.get("max"), c.get("categories"))
    return ColumnSchema(**{k: c[k] for k in _COLUMN_KEYS if k in c})


def save_schema(schema: Schema, path: str | os.PathLike) -> None:
    """Write ``schema`` as JSON to ``path`` (atomically)."""
    atomic_write_json(path, schema.to_dict())


def load_schema(path: str | os.PathLike) -> Schema:
    """Read a schema written by :func:`save_schema`; ``InputError`` naming ``path`` if it can't."""
    d = read_json(path, "schema")
    try:
        return Schema.from_dict(d)
    except InputError as exc:
        raise InputError(f"schema {path}: {exc.message}") from None


# ---------------------------------------------------------------- inference


def _column_kind(s: pd.Series, max_categories: int) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "int"
    if pd.api.types.is_float_dtype(s):
        return "float"
    return "category" if s.nunique(dropna=True) <= max_categories else "string"


def _bounds(values: np.ndarray, kind: str, slack: float) -> tuple:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None, None
    lo, hi = float(finite.min()), float(finite.max())
    pad = slack * (hi - lo)
    low, high = lo - pad, hi + pad
    if lo >= 0:  # never negative (areas, counts, prices): the widened range keeps the sign
        low = max(low, 0.0)
    if hi <= 0:  # never positive: likewise
        high = min(high, 0.0)
    if kind == "int":
        return math.floor(low), math.ceil(high)
    return low, high


def _sorted_categories(s: pd.Series) -> tuple:
    values = [v.item() if isinstance(v, np.generic) else v for v in s.dropna().unique()]
    return tuple(sorted(values, key=lambda v: (not isinstance(v, str), str(v))))


def infer_schema(
    df: pd.DataFrame, target: str | None = None, slack: float = 0.5, max_categories: int = 20
) -> Schema:
    """Describe ``df``: numeric ranges widened by ``slack`` x range on both sides (but a column
    that never changed sign keeps it: a range starting at 0 or above stays >= 0, one ending at 0
    or below stays <= 0), text columns with at most ``max_categories`` distinct values as
    categories. Every column is required;
    a column is nullable when ``df`` has missing values in it. The default slack of 0.5 lets a
    fresh sample of heavy-tailed real data pass (a holdout of the embedded data does)."""
    check_frame(df)
    if target is not None and target not in df.columns:
        raise InputError(f"target column {target!r}: not in the data")
    check_number(slack, "slack", low=0, finite=True)
    check_int(max_categories, "max_categories", low=0)
    columns = []
    for name in df.columns:
        s = df[name]
        kind = _column_kind(s, max_categories)
        lo = hi = cats = None
        if kind in ("int", "float"):
            lo, hi = _bounds(s.to_numpy(dtype="float64", na_value=np.nan), kind, slack)
        elif kind == "category":
            cats = _sorted_categories(s)
        nullable = bool(s.isna().any())
        columns.append(ColumnSchema(str(name), kind, True, nullable, lo, hi, cats))
    return Schema(tuple(columns), target)


# ---------------------------------------------------------------- validation


@dataclass(frozen=True)
class Anomaly:
    """One problem found in one column (``column`` is ``"*"`` for the whole dataset)."""

    column: str
    kind: str
    detail: str
    count: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ValidationReport:
    anomalies: tuple[Anomaly, ...]
    n_rows: int
    n_columns: int

    @property
    def valid(self) -> bool:
        return not self.anomalies

    def to_frame(self) -> pd.DataFrame:
        rows = [a.to_dict() for a in self.anomalies]
        return pd.DataFrame(rows, columns=["column", "kind", "detail", "count"])

    def to_dict(self) -> dict:
        return {
            "valid": self.valid,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "anomalies": [a.to_dict() for a in self.anomalies],
        }


def _v(n: int) -> str:
    return f"{n} value" if n == 1 else f"{n} values"


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _add(found: list, col: ColumnSchema, kind: str, count: int, detail: str) -> None:
    if count:
        found.append(Anomaly(col.name, kind, detail, int(count)))


def _numeric_values(s: pd.Series) -> tuple[np.ndarray, int]:
    """Values as float64 (a view when already float64) and how many could not be read as
    numbers (those become NaN)."""
    if s.dtype == np.float64:
        return s.to_numpy(), 0
    if pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype="float64", na_value=np.nan), 0
    parsed = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return parsed, int(np.count_nonzero(np.isnan(parsed) & s.notna().to_numpy()))


def _check_numeric(s: pd.Series, col: ColumnSchema, found: list) -> None:
    x, unreadable = _numeric_values(s)
    lo = -np.inf if col.min is None else col.min
    hi = np.inf if col.max is None else col.max
    integral = col.dtype == "float" or s.dtype.kind in "iub"
    xmin, xmax = np.min(x), np.max(x)  # NaN if any value is missing
    if integral and lo <= xmin and xmax <= hi and np.isfinite(xmin) and np.isfinite(xmax):
        return  # the common case: two reductions, no temporary arrays
    _add(found, col, WRONG_TYPE, unreadable, f"{_v(unreadable)} cannot be read as a number")
    n_missing = int(np.count_nonzero(np.isnan(x))) - unreadable
    _report_missing(n_missing, len(x), col, found)
    n_pos, n_neg = int(np.count_nonzero(x == np.inf)), int(np.count_nonzero(x == -np.inf))
    _add(found, col, NON_FINITE, n_pos + n_neg, f"{n_pos} x +inf and {n_neg} x -inf")
    if not integral:
        with np.errstate(invalid="ignore"):
            frac = int(np.count_nonzero(np.isfinite(x) & (x != np.floor(x))))
        _add(found, col, WRONG_TYPE, frac, f"{_v(frac)} not an integer")
    below = int(np.count_nonzero(x < lo)) - (n_neg if lo > -np.inf else 0)
    above = int(np.count_nonzero(x > hi)) - (n_pos if hi < np.inf else 0)
    if below + above:
        finite = x[np.isfinite(x)]
        sides = [f"{below} below min {_fmt(lo)}"] if below else []
        sides += [f"{above} above max {_fmt(hi)}"] if above else []
        observed = f"observed {_fmt(finite.min())} .. {_fmt(finite.max())}"
        _add(found, col, OUT_OF_RANGE, below + above, f"{' and '.join(sides)} ({observed})")


def _report_missing(n: int, n_rows: int, col: ColumnSchema, found: list) -> None:
    """Missing values in a column the schema says is never missing; an entirely missing column
    even when it is nullable (there is nothing left to check or to learn from)."""
    if n and n == n_rows:
        _add(found, col, MISSING_VALUES, n, f"all {_v(n)} missing (the column is empty)")
    elif not col.nullable:
        _add(found, col, MISSING_VALUES, n, f"{_v(n)} missing")


def _missing(s: pd.Series, col: ColumnSchema, found: list) -> np.ndarray:
    missing = s.isna().to_numpy()
    _report_missing(int(np.count_nonzero(missing)), len(s), col, found)
    return missing


def _check_bool(s: pd.Series, col: ColumnSchema, found: list) -> None:
    missing = _missing(s, col, found)
    if not pd.api.types.is_bool_dtype(s):
        bad = int(np.count_nonzero(~missing & ~s.isin([True, False]).to_numpy()))
        _add(found, col, WRONG_TYPE, bad, f"{_v(bad)} not true/false")


def _check_text(s: pd.Series, col: ColumnSchema, found: list) -> None:
    missing = _missing(s, col, found)
    if col.dtype == "string":
        if pd.api.types.is_numeric_dtype(s):
            n = len(s) - int(missing.sum())
            _add(found, col, WRONG_TYPE, n, f"{_v(n)} of type {s.dtype}, not text")
        return
    unknown = ~missing & ~s.isin(list(col.categories or ())).to_numpy()
    n = int(np.count_nonzero(unknown))
    if n:
        seen = pd.unique(s[unknown])[:5]
        examples = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in seen)
        _add(found, col, UNKNOWN_CATEGORY, n, f"{_v(n)} not among the categories, e.g. {examples}")


def _column_anomalies(
    df: pd.DataFrame, schema: Schema, serving: bool, found: list[Anomaly]
) -> dict[str, int]:
    """Duplicate, missing and unexpected columns (added to ``found``); returns each column
    name's first position in ``df``."""
    first: dict[str, int] = {}
    copies: dict[str, int] = {}
    for pos, name in enumerate(map(str, df.columns)):
        first.setdefault(name, pos)
        copies[name] = copies.get(name, 0) + 1
    for name, n in copies.items():
        if n > 1:
            found.append(Anomaly(name, DUPLICATE_COLUMN, f"the column appears {n} times", n))
    for col in schema.columns:
        if col.name not in first and col.required and not (serving and col.name == schema.target):
            found.append(Anomaly(col.name, MISSING_COLUMN, "required column is absent", 1))
    known = set(schema.names)
    for name in first:
        if name not in known:
            found.append(Anomaly(name, UNEXPECTED_COLUMN, "column not in the schema", 1))
    return first


def validate_data(df: pd.DataFrame, schema: Schema, *, serving: bool = False) -> ValidationReport:
    """Check ``df`` against ``schema`` and report every anomaly found (one per column and kind).

    With ``serving=True`` the target column may be absent; if present it is checked."""
    check_frame(df, allow_duplicates=True)
    if not isinstance(schema, Schema):
        raise InputError(f"schema: expected a Schema, got {type(schema).__name__}")
    found: list[Anomaly] = []
    n_rows = len(df)
    if n_rows == 0:
        found.append(Anomaly("*", EMPTY_DATASET, "the dataset has no rows", 0))
    first = _column_anomalies(df, schema, serving, found)
    if n_rows:
        for col in schema.columns:
            if col.name in first:
                _check_column_values(df.iloc[:, first[col.name]], col, found)
    return ValidationReport(tuple(found), n_rows, df.shape[1])


def _check_column_values(s: pd.Series, col: ColumnSchema, found: list) -> None:
    if col.dtype in ("int", "float"):
        _check_numeric(s, col, found)
    elif col.dtype == "bool":
        _check_bool(s, col, found)
    else:
        _check_text(s, col, found)
