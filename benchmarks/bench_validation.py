"""validate_data on a 1,000,000 x 30 frame vs the same checks as bare pandas, and vs pandera.

The checks, for every column of the schema inferred from the frame: present, no unexpected or
duplicate column, the type (float / int), no missing value, no +-inf, inside [min, max]. The
bare pandas version is the limit a careful hand-writer reaches: frame-wide min/max with
``skipna=False`` screen every column in two reductions, and only a flagged column is counted
in detail (on this clean frame none is). pandera runs the same checks (type, nullable,
in_range, strict columns) lazily, as a user would write them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.common import best_of, figure, mb, peak_memory
from mlcicd.data import synthetic_dataset
from mlcicd.validation import Schema, infer_schema, validate_data


def frame(n_rows: int) -> pd.DataFrame:
    """29 float features and the int target: 30 columns."""
    return synthetic_dataset(n_rows, 29, seed=0)


def bare_pandas(df: pd.DataFrame, schema: Schema) -> dict:
    """The same checks in vectorised pandas: anomaly counts per column and kind."""
    names = list(schema.names)
    present = set(df.columns)
    found: dict = {}
    for name in names:
        if name not in present:
            found[name, "missing_column"] = 1
    for name in df.columns[~df.columns.isin(names) | df.columns.duplicated()]:
        found[name, "unexpected_or_duplicate"] = 1
    cols = [c for c in names if c in present]
    x = df[cols]
    lo = pd.Series({c.name: -np.inf if c.min is None else c.min for c in schema.columns})[cols]
    hi = pd.Series({c.name: np.inf if c.max is None else c.max for c in schema.columns})[cols]
    kinds = pd.Series({c.name: c.dtype for c in schema.columns})[cols]
    wrong_kind = ((kinds == "float") & ~x.dtypes.map(pd.api.types.is_numeric_dtype)) | (
        (kinds == "int") & ~x.dtypes.map(pd.api.types.is_integer_dtype)
    )
    for name in wrong_kind[wrong_kind].index:
        found[name, "wrong_type"] = 1
    numeric = [c for c in cols if kinds[c] in ("int", "float") and not wrong_kind[c]]
    mins, maxs = x[numeric].min(skipna=False), x[numeric].max(skipna=False)
    suspect = ~(
        (mins >= lo[numeric]) & (maxs <= hi[numeric]) & np.isfinite(mins) & np.isfinite(maxs)
    )
    for name in suspect[suspect].index:  # only a flagged column pays for counting
        v = x[name].to_numpy(dtype=np.float64, na_value=np.nan)
        found[name, "missing_values"] = int(np.isnan(v).sum())
        found[name, "non_finite"] = int(np.isinf(v).sum())
        found[name, "out_of_range"] = int(((v < lo[name]) | (v > hi[name])).sum())
    return {k: n for k, n in found.items() if n}


def pandera_schema(schema: Schema):
    import pandera.pandas as pa

    types = {"float": float, "int": int}
    columns = {
        c.name: pa.Column(
            types[c.dtype], pa.Check.in_range(c.min, c.max), nullable=c.nullable, required=True
        )
        for c in schema.columns
    }
    return pa.DataFrameSchema(columns, strict=True)


def run(quick: bool) -> list:
    n_rows = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 7
    df = frame(n_rows)
    schema = infer_schema(df, target="target")
    frame_bytes = int(df.memory_usage(deep=True, index=True).sum())
    ours = validate_data(df, schema)
    assert ours.valid and bare_pandas(df, schema) == {}, "the benchmark frame must be clean"
    checker = pandera_schema(schema)
    checker.validate(df, lazy=True)  # also warms pandera up

    seconds = best_of(
        {
            "mlcicd": lambda: validate_data(df, schema),
            "pandas": lambda: bare_pandas(df, schema),
            "pandera": lambda: checker.validate(df, lazy=True),
        },
        repeats,
    )
    peaks = {
        "mlcicd": peak_memory(lambda: validate_data(df, schema)),
        "pandas": peak_memory(lambda: bare_pandas(df, schema)),
        "pandera": peak_memory(lambda: checker.validate(df, lazy=True)),
    }
    size = f"{n_rows:,} x {df.shape[1]}"
    memory = ", ".join(f"{k} {mb(v)}" for k, v in peaks.items())
    memory = f"peak extra memory (tracemalloc): {memory}; frame {mb(frame_bytes)}"
    detail = f"{size}, best of {repeats}: {seconds.show()}"
    numbers = {"wall": seconds.wall, "cpu": seconds.cpu, "peak_bytes": peaks}
    numbers["frame_bytes"] = frame_bytes
    wall, cpu = seconds.ratio("mlcicd", "pandas")
    wall_pa, cpu_pa = seconds.ratio("mlcicd", "pandera")
    return [
        figure(
            f"validate_data {size} vs bare pandas",
            wall,
            "<= 1.5",
            cpu_value=cpu,
            detail=detail,
            memory=memory,
            numbers=numbers,
        ),
        figure(
            f"validate_data {size} vs pandera",
            wall_pa,
            "< 1.0",
            cpu_value=cpu_pa,
            detail=detail,
            memory=memory,
        ),
        figure(
            f"validate_data {size}: peak memory / frame memory",
            peaks["mlcicd"] / frame_bytes,
            "<= 2.0",
            detail=f"peak {mb(peaks['mlcicd'])} for a {mb(frame_bytes)} frame",
        ),
    ]
