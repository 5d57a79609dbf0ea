"""Growth of a sweep's cost: fit the exponent (log-log least squares) and draw the figures.

The frames are those of :mod:`mlcicd.measure.scaling` (columns :data:`COLUMNS`); fits and figures use
the ``total`` rows (one per run), taking the median over repeats.

>>> fit = fit_exponent([10, 100, 1000], [2.0, 200.0, 20000.0])
>>> round(fit.slope, 9), round(fit.r2, 9)
(2.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.checks import check_choice
from mlcicd.errors import InputError
from mlcicd.pipeline.loop import stage_rank

COLUMNS = (
    "pipeline",
    "factor",
    "value",
    "mode",
    "repeat",
    "stage",
    "seconds",
    "cpu_seconds",
    "operations",
    "cells",
)
TOTAL = "total"
AXIS_LABELS = {
    "versions": "model versions n (count)",
    "data_rows": "data rows m (rows)",
    "features": "feature columns (count)",
    "n_estimators": "trees in the forest (n_estimators)",
    "max_depth": "tree depth (max_depth)",
}
Y_LABELS = {
    "seconds": "wall-clock time (s)",
    "cpu_seconds": "CPU time of this process (s)",
    "operations": "operations (count)",
    "cells": "cells read (rows x columns)",
}


# ------------------------------------------------------------------------------ growth fits


@dataclass(frozen=True)
class GrowthFit:
    """``y ~ exp(intercept) * x ** slope``: log-log least squares with a 95% interval."""

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    r2: float
    n_points: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"slope {self.slope:.2f} [{self.ci_low:.2f}, {self.ci_high:.2f}]"


def fit_exponent(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> GrowthFit:
    """Fit ``log y = intercept + slope * log x``; the interval uses Student's t.

    >>> fit = fit_exponent([10, 100, 1000], [2.0, 200.0, 20000.0])
    >>> round(fit.slope, 9), round(fit.r2, 9)
    (2.0, 1.0)
    """
    from scipy import stats

    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.size != ys.size:
        raise InputError(f"fit_exponent: x has {xs.size} values but y has {ys.size}")
    if xs.size < 3:
        raise InputError(f"fit_exponent: need at least 3 points for an interval, got {xs.size}")
    for name, values in (("x", xs), ("y", ys)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise InputError(f"fit_exponent: {name} values must be positive and finite (log-log)")
    if np.unique(xs).size < 2:
        raise InputError("fit_exponent: x needs at least two distinct values")
    if not 0 < confidence < 1:
        raise InputError(f"confidence={confidence!r}: expected a fraction between 0 and 1")
    fit = stats.linregress(np.log(xs), np.log(ys))
    half = float(stats.t.ppf(0.5 + confidence / 2, xs.size - 2)) * float(fit.stderr)
    slope = float(fit.slope)
    r2 = float(fit.rvalue) ** 2 if np.isfinite(fit.rvalue) else 1.0
    return GrowthFit(slope, float(fit.intercept), slope - half, slope + half, r2, int(xs.size))


def total_rows(df: pd.DataFrame, factor: str | None = None, pipeline: str | None = "ml"):
    """The ``total`` rows of a sweep frame (of one ``pipeline`` and ``factor`` when given)."""
    if not isinstance(df, pd.DataFrame) or not set(COLUMNS) <= set(df.columns):
        raise InputError(f"expected a sweep frame with columns {', '.join(COLUMNS)}")
    rows = df[df["stage"] == TOTAL]
    if pipeline is not None:
        rows = rows[rows["pipeline"] == pipeline]
    if factor is not None:
        rows = rows[rows["factor"] == factor]
        if rows.empty:
            known = ", ".join(sorted(map(str, df["factor"].unique())))
            raise InputError(f"factor {factor!r}: no total rows for it (factors: {known})")
    return rows


def growth(
    df: pd.DataFrame,
    factor: str,
    *,
    y: str = "seconds",
    pipeline: str = "ml",
    mode: str | None = None,
    agg: str = "median",
) -> GrowthFit:
    """:func:`fit_exponent` of the total ``y`` against ``factor``; repeats are combined by
    ``agg`` (``"median"``, or ``"min"``: the best of the repeats, as benchmarks do)."""
    check_choice(y, "y", Y_LABELS)
    check_choice(agg, "agg", ("median", "min"))
    rows = total_rows(df, factor, pipeline)
    if mode is not None:
        rows = rows[rows["mode"] == mode]
    points = rows.groupby("value")[y].agg(agg)
    return fit_exponent(points.index.to_numpy(), points.to_numpy())


# ------------------------------------------------------------------------------ figures


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_loglog(df: pd.DataFrame, factor: str, ax=None, *, y: str = "seconds"):
    """Total ``y`` against ``factor`` on log-log axes, one series per pipeline (and validation
    mode), each with its fitted slope in the legend."""
    check_choice(y, "y", Y_LABELS)
    rows = total_rows(df, factor, pipeline=None)
    ax = _axes(ax)
    modes = rows["mode"].dropna().unique()
    for (pipeline, mode), group in rows.groupby(["pipeline", "mode"], dropna=False, sort=True):
        points = group.groupby("value")[y].median()
        label = pipeline if len(modes) < 2 or pd.isna(mode) else f"{pipeline}, validation {mode}"
        try:
            fit = fit_exponent(points.index.to_numpy(), points.to_numpy())
        except InputError:
            fit = None
        (line,) = ax.plot(points.index, points.to_numpy(), "o", label=f"{label}: measured")
        if fit is not None:
            xs = np.geomspace(points.index.min(), points.index.max(), 50)
            ax.plot(
                xs,
                np.exp(fit.intercept) * xs**fit.slope,
                "--",
                color=line.get_color(),
                label=f"{label}: fit, {fit}",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(AXIS_LABELS.get(factor, factor))
    ax.set_ylabel(Y_LABELS[y])
    ax.set_title(f"Pipeline {y} vs {factor} (log-log, fitted growth exponent)")
    ax.legend(fontsize="small")
    return ax


def plot_stage_stack(df: pd.DataFrame, ax=None):
    """Seconds per stage (median over repeats), stacked, for each size of an ML sweep."""
    if not isinstance(df, pd.DataFrame) or not set(COLUMNS) <= set(df.columns):
        raise InputError(f"expected a sweep frame with columns {', '.join(COLUMNS)}")
    rows = df[(df["pipeline"] == "ml") & (df["stage"] != TOTAL)]
    if rows.empty:
        raise InputError("plot_stage_stack: no ML stage rows in the frame")
    factors = rows["factor"].unique()
    if len(factors) > 1:
        raise InputError(f"plot_stage_stack: one factor at a time, got {', '.join(factors)}")
    several_modes = rows["mode"].nunique() > 1
    keys = ["value", "mode"] if several_modes else ["value"]
    table = rows.pivot_table(index=keys, columns="stage", values="seconds", aggfunc="median")
    table = table[sorted(table.columns, key=stage_rank)].fillna(0.0)
    if several_modes:
        table.index = [f"{v}\n{m}" for v, m in table.index]
    ax = _axes(ax)
    table.plot(kind="bar", stacked=True, ax=ax, rot=0, width=0.8)
    ax.set_xlabel(AXIS_LABELS.get(factors[0], factors[0]))
    ax.set_ylabel("seconds per stage (s)")
    ax.set_title(f"Where the time goes: seconds per stage vs {factors[0]}")
    ax.legend(title="stage", fontsize="small")
    return ax


def plot_ml_vs_software(df: pd.DataFrame, ax=None):
    """Total seconds of the ML pipeline and of software CI against data rows (log-log)."""
    rows = total_rows(df, "data_rows", pipeline=None)
    missing = {"ml", "software"} - set(rows["pipeline"])
    if missing:
        raise InputError(
            f"plot_ml_vs_software: no {', '.join(sorted(missing))} rows; "
            "use sweep_data_size(..., software=True)"
        )
    ax = _axes(ax)
    names = {"ml": "ML pipeline (train, validate, ...)", "software": "software CI (build, test)"}
    for pipeline in ("ml", "software"):
        points = rows[rows["pipeline"] == pipeline].groupby("value")["seconds"].median()
        ax.plot(points.index, points.to_numpy(), "o-", label=names[pipeline])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(AXIS_LABELS["data_rows"])
    ax.set_ylabel(Y_LABELS["seconds"])
    ax.set_title("As the data grows, ML CI grows; software CI stays flat")
    ax.legend(fontsize="small")
    return ax
