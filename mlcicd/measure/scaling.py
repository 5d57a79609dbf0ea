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
>>> cost_table(df)["training + validation cycles"].tolist()
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
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.checks import check_choice, check_int, check_ints
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
from mlcicd.outcomes import SKIPPED
from mlcicd.pipeline import VALIDATION_MODES, run_versions
from mlcicd.pipeline.loop import STAGE_ORDER, stage_rank
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


def _run_rows(point: _Point, base: dict, common: dict[str, Any]) -> list[dict]:
    """Run the pipeline once at ``point``; one row per stage plus the ``total`` row."""
    df, holdout = point.data, common["holdout"]
    start, cpu = time.perf_counter(), time.process_time()
    result = run_versions(point.versions, data=df, validation=point.mode, **common)
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


@dataclass(frozen=True)
class SweepOptions:
    """What every sweep shares: ``repeats`` of each size (interleaved: all sizes, then again),
    the ``holdout`` share, the ``seed``, ``n_jobs`` workers for training, a progress bar, and a
    ``warmup`` run (imports and first calls are paid there, not by the first measured size)."""

    repeats: int = 1
    holdout: float = 0.25
    seed: int = 0
    n_jobs: int = 1
    progress: bool = True
    warmup: bool = True

    @classmethod
    def of(cls, sweep: str, options: dict[str, Any]) -> SweepOptions:
        """The options a sweep was called with (``InputError`` for an unknown keyword)."""
        known = [f.name for f in fields(cls)]
        unknown = [k for k in options if k not in known]
        if unknown:
            raise InputError(
                f"{sweep}: unknown option {unknown[0]!r} (expected one of {', '.join(known)})"
            )
        out = cls(**options)
        check_int(out.repeats, "repeats", low=1)
        return out


@dataclass(frozen=True)
class _Point:
    """One measured run of a sweep: the factor's ``value``, the validation ``mode``, the data
    and the model versions."""

    value: Any
    mode: str
    data: pd.DataFrame
    versions: list[ModelSpec]


def _sweep(plan: list[_Point], factor: str, options: SweepOptions, desc: str) -> pd.DataFrame:
    """Run every point of ``plan`` ``options.repeats`` times; the rows of all runs."""
    from tqdm.auto import tqdm

    common: dict[str, Any] = {"holdout": options.holdout, "seed": options.seed}
    common["n_jobs"] = options.n_jobs
    if options.warmup:
        first = plan[0]
        run_versions(first.versions[:1], data=first.data, validation=first.mode, **common)
    runs = [(rep, point) for rep in range(options.repeats) for point in plan]
    rows: list[dict] = []
    for rep, point in tqdm(runs, desc=desc, disable=not options.progress):
        base = {"pipeline": "ml", "factor": factor, "value": point.value, "mode": point.mode}
        base["repeat"] = rep
        rows += _run_rows(point, base, common)
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
    **options: Any,
) -> pd.DataFrame:
    """The seed's loop for n model versions, for each n in ``ns``.

    Versions cycle through :func:`mlcicd.pipeline.stages.default_grid` (or all use ``spec``);
    ``data`` defaults to the breast cancer data. ``options``: the fields of
    :class:`SweepOptions` (``repeats``, ``holdout``, ``seed``, ``n_jobs``, ``progress``,
    ``warmup``), as for every sweep.
    """
    opts = SweepOptions.of("sweep_versions", options)
    ns = check_ints(ns, "ns", low=1)
    df = load_dataset() if data is None else data
    _check_mode(validation)
    plan = [_Point(n, validation, df, _versions(n, spec)) for n in ns]
    return _sweep(plan, "versions", opts, "versions")


def cost_table(df: pd.DataFrame) -> pd.DataFrame:
    """The seed's table from :func:`sweep_versions`: n versions, training + validation cycles
    (counted), seconds (measured, median over repeats) and seconds per version."""
    totals = total_rows(df, "versions")
    table = totals.groupby("value").agg(
        cycles=("operations", "max"), low=("operations", "min"), seconds=("seconds", "median")
    )
    if (table["cycles"] != table["low"]).any():
        raise InputError("cost_table: cycles differ between repeats of the same n")
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
    **options: Any,
) -> pd.DataFrame:
    """One model version on :func:`~mlcicd.data.synthetic_dataset` of each size in ``rows``,
    and (``software=True``) the software CI pipeline over the same data sizes.

    The software runs use ``workdir`` (a temporary folder, removed afterwards, by default).
    ``options``: as for :func:`sweep_versions`.
    """
    opts = SweepOptions.of("sweep_data_size", options)
    rows = check_ints(rows, "rows", low=20)
    n_features = check_int(n_features, "n_features", low=1)
    _check_mode(validation)
    versions = [_spec(spec)]
    plan = [
        _Point(m, validation, synthetic_dataset(m, n_features, opts.seed), versions) for m in rows
    ]
    ml = _sweep(plan, "data_rows", opts, "ML pipeline")
    if not software:
        return ml
    return pd.concat([ml, _software(rows, workdir, opts)], ignore_index=True)


def _software(rows: list[int], workdir: str | None, opts: SweepOptions) -> pd.DataFrame:
    from mlcicd.measure.software_ci import software_ci_sweep

    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="mlcicd-software-ci-") as tmp:
            return _software(rows, tmp, opts)
    steps = software_ci_sweep(
        rows, workdir=workdir, repeats=opts.repeats, seed=opts.seed, progress=opts.progress
    )
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
    **options: Any,
) -> pd.DataFrame:
    """One model version on a synthetic dataset of ``rows`` rows and each feature count;
    ``options`` as for :func:`sweep_versions`."""
    opts = SweepOptions.of("sweep_features", options)
    features = check_ints(features, "features", low=2)
    rows = check_int(rows, "rows", low=20)
    _check_mode(validation)
    versions = [_spec(spec)]
    plan = [
        _Point(f, validation, synthetic_dataset(rows, f, opts.seed), versions) for f in features
    ]
    return _sweep(plan, "features", opts, "features")


def sweep_complexity(
    values: Sequence[int] = (10, 30, 100, 300),
    *,
    param: str = "n_estimators",
    model: str = "random_forest",
    rows: int = 2_000,
    n_features: int = 30,
    validation: str = "each",
    **options: Any,
) -> pd.DataFrame:
    """One version of ``model`` per value of the hyper-parameter ``param`` (the factor);
    ``options`` as for :func:`sweep_versions`."""
    opts = SweepOptions.of("sweep_complexity", options)
    values = check_ints(values, "values", low=1)
    rows, n_features = check_int(rows, "rows", low=20), check_int(n_features, "n_features", low=1)
    _check_mode(validation)
    df = synthetic_dataset(rows, n_features, opts.seed)
    plan = [_Point(v, validation, df, [_spec(ModelSpec(model, {param: v}))]) for v in values]
    return _sweep(plan, param, opts, param)


def sweep_validation(
    ns: Sequence[int] = (10, 30, 100),
    *,
    modes: Sequence[str] = ("off", "each", "once"),
    data: pd.DataFrame | None = None,
    rows: int = 20_000,
    n_features: int = 30,
    spec: ModelSpec | str | None = None,
    **options: Any,
) -> pd.DataFrame:
    """The seed's follow-up question: n versions of the loop (one data version, so every
    version trains on the same split) with data validation ``off``, before ``each`` training,
    or ``once``.

    The validation part of the cost: ``each`` validates the training split n times (n * m
    cells for an m-cell split), ``once`` validates it once and reuses the report by its
    fingerprint for the other n - 1 versions (m cells, plus n - 1 cache look-ups), ``off``
    never. The n trainings (and evaluations and monitoring) run in every mode, and the split
    is hashed once per run in every mode (for the cache keys). ``data``
    defaults to a synthetic frame of ``rows`` rows; ``options`` as for :func:`sweep_versions`.
    """
    opts = SweepOptions.of("sweep_validation", options)
    ns = check_ints(ns, "ns", low=1)
    if isinstance(modes, str) or not modes:
        raise InputError(f"modes: expected a list of {', '.join(VALIDATION_MODES)}")
    for mode in modes:
        _check_mode(mode, "modes")
    if data is None:
        rows = check_int(rows, "rows", low=20)
        n_features = check_int(n_features, "n_features", low=1)
        data = synthetic_dataset(rows, n_features, opts.seed)
    plan = [_Point(n, mode, data, _versions(n, spec)) for n in ns for mode in modes]
    return _sweep(plan, "versions", opts, "validation")


def _check_mode(mode: Any, name: str = "validation") -> None:
    check_choice(mode, name, VALIDATION_MODES)


__all__ = [
    "COLUMNS",
    "GrowthFit",
    "SweepOptions",
    "cost_table",
    "fit_exponent",
    "growth",
    "plot_loglog",
    "plot_ml_vs_software",
    "plot_stage_stack",
    "sweep_complexity",
    "sweep_data_size",
    "sweep_features",
    "sweep_validation",
    "sweep_versions",
]
