"""Scaling experiments: run the real pipeline at growing sizes and measure how its cost grows.

Every sweep calls :func:`mlcicd.pipeline.run_versions` (or the software CI comparator) and
returns a tidy DataFrame, one row per measurement, with the columns of :data:`COLUMNS`:

* ``pipeline`` (``"ml"`` or ``"software"``), ``factor`` (what grows), ``value`` (its size),
  ``mode`` (the data validation mode of an ML run), ``repeat``;
* ``stage``: a stage of the run, or ``"total"`` (``seconds`` is then the wall-clock time of
  the whole run and, for ML runs, ``operations`` the training + validation cycles);
* ``seconds`` (measured), ``cpu_seconds`` (``total`` rows of ML runs: the CPU time of this
  process, :func:`time.process_time`; steadier than wall-clock on a shared machine, but worker
  processes of ``n_jobs > 1`` are not in it; NaN elsewhere), ``operations`` (counted executions; for software steps, the files or
  tests a step handled) and ``cells`` (rows x columns of the frames the stage read, summed over
  its executions: 0 for software steps, which never read the data).

>>> df = sweep_versions((1, 2), progress=False, warmup=False)
>>> seed_table(df)["training + validation cycles"].tolist()
[1, 2]

The growth fits and figures (:func:`fit_exponent`, :func:`growth`, :func:`plot_loglog`,
:func:`plot_stage_stack`, :func:`plot_ml_vs_software`) live in :mod:`mlcicd.measure.growth` and are
re-exported here.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.data import load_dataset, synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.measure.growth import (
    COLUMNS,
    TOTAL,
    GrowthFit,
    fit_exponent,
    growth,
    plot_loglog,
    plot_ml_vs_software,
    plot_stage_stack,
    total_rows,
)
from mlcicd.pipeline import VALIDATION_MODES, run_versions
from mlcicd.pipeline.runner import SKIPPED, STAGE_ORDER, stage_rank
from mlcicd.training import ModelSpec, make_estimator

READS = {
    "split": ("all",),
    "infer_schema": ("train",),
    "baseline": ("holdout",),
    "validate_data": ("train",),
    "train": ("train",),
    "evaluate": ("holdout",),
    "evaluate_production": ("holdout",),
    "monitor": ("train", "holdout"),  # reference = training split, current = holdout
}


# ------------------------------------------------------------------------------ checking input


def _sizes(values: Any, name: str, low: int = 1) -> list[int]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise InputError(f"{name}: expected a non-empty list of whole numbers, e.g. (10, 100)")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
            raise InputError(f"{name}: {v!r} is not a whole number >= {low}")
    return [int(v) for v in values]


def _count(value: Any, name: str, low: int = 1) -> int:
    return _sizes([value], name, low)[0]


def _spec(spec: Any) -> ModelSpec:
    spec = ModelSpec() if spec is None else ModelSpec(spec) if isinstance(spec, str) else spec
    if not isinstance(spec, ModelSpec):
        raise InputError(f"spec: expected a ModelSpec or a model name, got {type(spec).__name__}")
    make_estimator(spec)  # unknown model or hyper-parameter: InputError naming it
    return spec


# ------------------------------------------------------------------------------ measuring


def _split_rows(n_rows: int, holdout: float) -> tuple[int, int]:
    """(train, holdout) rows of a split (scikit-learn rounds the test share up)."""
    n_holdout = math.ceil(holdout * n_rows)
    return n_rows - n_holdout, n_holdout


def _run_rows(df: pd.DataFrame, holdout: float, base: dict, **options: Any) -> list[dict]:
    """Run the pipeline once on ``df``; one row per stage plus the ``total`` row."""
    start, cpu = time.perf_counter(), time.process_time()
    result = run_versions(data=df, holdout=holdout, **options)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    n_train, n_holdout = _split_rows(len(df), holdout)
    rows_read = {"all": len(df), "train": n_train, "holdout": n_holdout}
    per_run = {s: sum(rows_read[f] for f in READS.get(s, ())) * df.shape[1] for s in STAGE_ORDER}
    frame = result.to_frame()
    frame["executed"] = ~frame["cached"] & (frame["outcome"] != SKIPPED)
    stages = frame.groupby("stage", sort=False).agg(
        seconds=("seconds", "sum"), operations=("executed", "sum")
    )
    rows = []
    for stage in sorted(stages.index, key=stage_rank):
        ops = int(stages.at[stage, "operations"])
        seconds = float(stages.at[stage, "seconds"])
        rows.append({**base, "stage": stage, "seconds": seconds, "operations": ops})
        rows[-1]["cells"] = ops * per_run.get(stage, 0)
    cells = sum(r["cells"] for r in rows)
    rows.append(
        {**base, "stage": TOTAL, "seconds": wall, "operations": result.counts["cycles"]}
        | {"cells": cells, "cpu_seconds": cpu}
    )
    return rows


def _sweep(
    plan: list[tuple[Any, str, pd.DataFrame, dict]],
    factor: str,
    repeats: int,
    holdout: float,
    seed: int,
    progress: bool,
    warmup: bool,
    desc: str,
) -> pd.DataFrame:
    """Run every ``(value, mode, data, run_versions options)`` of ``plan`` ``repeats`` times."""
    from tqdm.auto import tqdm

    repeats = _count(repeats, "repeats")
    if warmup:  # imports and first calls are paid here, not by the first measured size
        value, mode, df, options = plan[0]
        run_versions(**{**options, "versions": options["versions"][:1]}, data=df, seed=seed)
    runs = [(rep, item) for rep in range(repeats) for item in plan]
    rows: list[dict] = []
    for rep, (value, mode, df, options) in tqdm(runs, desc=desc, disable=not progress):
        base = {"pipeline": "ml", "factor": factor, "value": value, "mode": mode, "repeat": rep}
        rows += _run_rows(df, holdout, base, seed=seed, **options)
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    types = {"value": "int64", "repeat": "int64", "operations": "int64", "cpu_seconds": "float64"}
    return out.astype(types)


def _versions(n: int, spec: Any) -> list[ModelSpec]:
    from mlcicd.pipeline.stages import default_grid

    grid = default_grid() if spec is None else (_spec(spec),)
    return [grid[i % len(grid)] for i in range(n)]


# ------------------------------------------------------------------------------ the sweeps


def sweep_versions(
    ns: Sequence[int] = (10, 100, 1000),
    *,
    data: pd.DataFrame | None = None,
    spec: ModelSpec | str | None = None,
    validation: str = "each",
    repeats: int = 1,
    holdout: float = 0.25,
    n_jobs: int = 1,
    seed: int = 0,
    progress: bool = True,
    warmup: bool = True,
) -> pd.DataFrame:
    """The seed's loop for n model versions, for each n in ``ns``.

    Versions cycle through :func:`mlcicd.pipeline.stages.default_grid` (or all use ``spec``); ``data``
    defaults to the breast cancer data.
    """
    ns = _sizes(ns, "ns")
    df = load_dataset() if data is None else data
    _check_mode(validation)
    plan = [
        (n, validation, df, {"versions": _versions(n, spec), "validation": validation}) for n in ns
    ]
    plan = [(n, mode, df, {**options, "n_jobs": n_jobs}) for n, mode, df, options in plan]
    return _sweep(plan, "versions", repeats, holdout, seed, progress, warmup, "versions")


def seed_table(df: pd.DataFrame) -> pd.DataFrame:
    """The seed's table from :func:`sweep_versions`: n versions, training + validation cycles
    (counted), seconds (measured, median over repeats) and seconds per version."""
    totals = total_rows(df, "versions")
    table = totals.groupby("value").agg(
        cycles=("operations", "max"), low=("operations", "min"), seconds=("seconds", "median")
    )
    if (table["cycles"] != table["low"]).any():
        raise InputError("seed_table: cycles differ between repeats of the same n")
    out = pd.DataFrame(
        {
            "n versions": table.index.to_numpy(),
            "training + validation cycles": table["cycles"].to_numpy(),
            "seconds": table["seconds"].to_numpy(),
        }
    )
    out["seconds per version"] = out["seconds"] / out["n versions"]
    return out


def sweep_data_size(
    rows: Sequence[int] = (1_000, 10_000, 100_000),
    *,
    n_features: int = 30,
    spec: ModelSpec | str | None = None,
    validation: str = "each",
    software: bool = True,
    workdir: str | None = None,
    repeats: int = 1,
    holdout: float = 0.25,
    seed: int = 0,
    progress: bool = True,
    warmup: bool = True,
) -> pd.DataFrame:
    """One model version on :func:`~mlcicd.data.synthetic_dataset` of each size in ``rows``,
    and (``software=True``) the software CI pipeline over the same data sizes.

    The software runs use ``workdir`` (a temporary folder, removed afterwards, by default).
    """
    rows = _sizes(rows, "rows", low=20)
    n_features = _count(n_features, "n_features")
    _check_mode(validation)
    options = {"versions": [_spec(spec)], "validation": validation}
    plan = [(m, validation, synthetic_dataset(m, n_features, seed), options) for m in rows]
    ml = _sweep(plan, "data_rows", repeats, holdout, seed, progress, warmup, "ML pipeline")
    if not software:
        return ml
    return pd.concat([ml, _software(rows, workdir, repeats, seed, progress)], ignore_index=True)


def _software(rows: list[int], workdir: str | None, repeats: int, seed: int, progress: bool):
    from mlcicd.measure.software_ci import software_ci_sweep

    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="mlcicd-software-ci-") as tmp:
            return _software(rows, tmp, repeats, seed, progress)
    steps = software_ci_sweep(rows, workdir=workdir, repeats=repeats, seed=seed, progress=progress)
    steps = steps.assign(cells=0, mode=None, cpu_seconds=np.nan)
    totals = steps.groupby(["value", "repeat"], as_index=False).agg(
        seconds=("seconds", "sum"), operations=("operations", "sum")
    )
    totals = totals.assign(
        pipeline="software", factor="data_rows", stage=TOTAL, cells=0, mode=None, cpu_seconds=np.nan
    )
    both = pd.concat([steps, totals], ignore_index=True).sort_values(
        ["repeat", "value"], kind="stable"
    )
    return _frame(both[list(COLUMNS)].to_dict("records"))


def sweep_features(
    features: Sequence[int] = (10, 30, 100),
    *,
    rows: int = 10_000,
    spec: ModelSpec | str | None = None,
    validation: str = "each",
    repeats: int = 1,
    holdout: float = 0.25,
    seed: int = 0,
    progress: bool = True,
    warmup: bool = True,
) -> pd.DataFrame:
    """One model version on a synthetic dataset of ``rows`` rows and each feature count."""
    features = _sizes(features, "features", low=2)
    rows = _count(rows, "rows", low=20)
    _check_mode(validation)
    options = {"versions": [_spec(spec)], "validation": validation}
    plan = [(f, validation, synthetic_dataset(rows, f, seed), options) for f in features]
    return _sweep(plan, "features", repeats, holdout, seed, progress, warmup, "features")


def sweep_complexity(
    values: Sequence[int] = (10, 30, 100, 300),
    *,
    param: str = "n_estimators",
    model: str = "random_forest",
    rows: int = 2_000,
    n_features: int = 30,
    validation: str = "each",
    repeats: int = 1,
    holdout: float = 0.25,
    seed: int = 0,
    progress: bool = True,
    warmup: bool = True,
) -> pd.DataFrame:
    """One version of ``model`` per value of the hyper-parameter ``param`` (the factor)."""
    values = _sizes(values, "values")
    rows, n_features = _count(rows, "rows", low=20), _count(n_features, "n_features")
    _check_mode(validation)
    df = synthetic_dataset(rows, n_features, seed)
    plan = [
        (
            v,
            validation,
            df,
            {"versions": [_spec(ModelSpec(model, {param: v}))], "validation": validation},
        )
        for v in values
    ]
    return _sweep(plan, param, repeats, holdout, seed, progress, warmup, param)


def sweep_validation(
    ns: Sequence[int] = (10, 30, 100),
    *,
    modes: Sequence[str] = ("off", "each", "once"),
    data: pd.DataFrame | None = None,
    rows: int = 20_000,
    n_features: int = 30,
    spec: ModelSpec | str | None = None,
    repeats: int = 1,
    holdout: float = 0.25,
    seed: int = 0,
    progress: bool = True,
    warmup: bool = True,
) -> pd.DataFrame:
    """The seed's follow-up question: n versions with data validation ``off``, before
    ``each`` training (n validations of m rows: O(n*m) on top), or ``once`` per data version
    (cached by fingerprint: O(m + n*t)). ``data`` defaults to a synthetic frame of ``rows``."""
    ns = _sizes(ns, "ns")
    if isinstance(modes, str) or not modes:
        raise InputError(f"modes: expected a list of {', '.join(VALIDATION_MODES)}")
    for mode in modes:
        _check_mode(mode, "modes")
    if data is None:
        data = synthetic_dataset(_count(rows, "rows", 20), _count(n_features, "n_features"), seed)
    df = data
    plan = [
        (n, mode, df, {"versions": _versions(n, spec), "validation": mode})
        for n in ns
        for mode in modes
    ]
    return _sweep(plan, "versions", repeats, holdout, seed, progress, warmup, "validation")


def _check_mode(mode: Any, name: str = "validation") -> None:
    if mode not in VALIDATION_MODES:
        raise InputError(f"{name}: {mode!r} is not one of {', '.join(VALIDATION_MODES)}")


__all__ = [
    "COLUMNS",
    "GrowthFit",
    "fit_exponent",
    "growth",
    "plot_loglog",
    "plot_ml_vs_software",
    "plot_stage_stack",
    "seed_table",
    "sweep_complexity",
    "sweep_data_size",
    "sweep_features",
    "sweep_validation",
    "sweep_versions",
]
