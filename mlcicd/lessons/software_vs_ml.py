"""What lesson 1 (software vs ML CI/CD) computes and draws: software CI beside the ML pipeline
on the same data, timed, and how each grows with the data.

The sweeps themselves live in :mod:`mlcicd.scaling`; this module turns their frames and the
results of :func:`~mlcicd.pipeline.run_versions` into the lesson's tables, figures and explorer.

>>> import tempfile
>>> result = side_by_side(tempfile.mkdtemp(), versions=1)
>>> result["software_operations"] > 0, result["ml_cycles"]
(True, 1)
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping

import pandas as pd

from mlcicd.data import load_dataset, synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.growth import total_rows
from mlcicd.lessons._common import ML, SOFTWARE, _label_bars, _two_panels, _whole
from mlcicd.pipeline import run_versions
from mlcicd.software_ci import run_software_ci
from mlcicd.widgets import Explorer


def side_by_side(
    workdir: str | os.PathLike,
    *,
    data: pd.DataFrame | None = None,
    rows: int | None = None,
    versions: int = 3,
    repeats: int = 1,
    seed: int = 0,
) -> dict:
    """Software CI and the ML pipeline (``versions`` model versions) on the same data, timed.

    The data are ``data``, else :func:`~mlcicd.data.synthetic_dataset` of ``rows`` rows, else
    the breast cancer data. Software CI receives a data file of as many rows (it never reads it).
    The pipelines run ``repeats`` times in turn; the fastest run of each is kept (the one least
    disturbed by other programs on the machine).
    """
    versions, repeats = _whole(versions, "versions"), _whole(repeats, "repeats")
    if data is None:
        data = (
            load_dataset()
            if rows is None
            else synthetic_dataset(_whole(rows, "rows", 20), seed=seed)
        )
    software, ml, ml_wall = None, None, float("inf")
    for _ in range(repeats):
        sw = run_software_ci(workdir, data_rows=len(data), seed=seed)
        if software is None or sw.total_seconds < software.total_seconds:
            software = sw
        start = time.perf_counter()
        run = run_versions(versions, data=data, seed=seed)
        seconds = time.perf_counter() - start
        if seconds < ml_wall:
            ml, ml_wall = run, seconds
    stages = {k: v for k, v in ml.stage_totals().items() if ml.counts.get(k, 0) > 0}
    return {
        "rows": len(data),
        "columns": data.shape[1],
        "versions": versions,
        "repeats": repeats,
        "software": {step.name: step.seconds for step in software.steps},
        "software_ok": software.ok,
        "software_total": software.total_seconds,
        "software_operations": software.operations,
        "ml": stages,
        "ml_total": ml_wall,
        "ml_cycles": ml.counts["cycles"],
        "ratio": ml_wall / software.total_seconds,
    }


def draw_side_by_side(result: Mapping, ax) -> None:
    """Seconds per step: software CI (left) and the ML pipeline (right), on the same scale."""
    left, right = _two_panels(ax, wspace=0.15)
    sw, ml = result["software"], result["ml"]
    top = 1.15 * max([*sw.values(), *ml.values()])
    panels = (
        (left, sw, SOFTWARE, f"software CI: {result['software_total']:.2f} s"),
        (right, ml, ML, f"ML pipeline, {result['versions']} versions: {result['ml_total']:.2f} s"),
    )
    for axis, seconds, colour, title in panels:
        bars = axis.bar(list(seconds), list(seconds.values()), color=colour)
        _label_bars(axis, bars, "{:.3f}")
        axis.set_ylim(0, top)
        axis.set_title(title, fontsize="medium")
        axis.tick_params(axis="x", labelrotation=45, labelsize="small")
    left.set_ylabel("seconds (s)")
    right.set_yticklabels([])
    left.figure.suptitle(
        f"The same kind of pipeline, timed: {result['rows']:,} data rows", fontsize="medium"
    )


def describe_side_by_side(result: Mapping) -> str:
    return (
        f"{result['rows']:,} rows: software CI {result['software_total']:.3f} s "
        f"({result['software_operations']} operations, data never read); ML pipeline "
        f"{result['ml_total']:.3f} s for {result['versions']} model version(s) -> "
        f"{result['ratio']:.0f}x slower"
    )


def side_by_side_explorer(
    workdir: str | os.PathLike,
    *,
    rows: int = 10_000,
    max_rows: int = 100_000,
    versions: int = 1,
    seed: int = 0,
) -> Explorer:
    """A ``rows`` slider: both pipelines run at that data size and the bars are redrawn."""
    import ipywidgets as w

    slider = w.IntSlider(value=rows, min=1_000, max=max_rows, step=1_000,
                         description="rows", style={"description_width": "initial"})  # fmt: skip
    compute = functools.partial(side_by_side, workdir, versions=versions, seed=seed)
    return Explorer({"rows": slider}, compute, draw_side_by_side, describe_side_by_side,
                    figsize=(10, 4.5))  # fmt: skip


def ml_vs_software_table(df: pd.DataFrame) -> pd.DataFrame:
    """From :func:`~mlcicd.scaling.sweep_data_size`: per data size, each pipeline's seconds
    (median over repeats), the ratio, the software operations and the cells the ML stages read."""
    rows = total_rows(df, "data_rows", pipeline=None)
    if set(rows["pipeline"]) != {"ml", "software"}:
        raise InputError("ml_vs_software_table: needs ML and software rows (software=True)")
    agg = rows.pivot_table(index="value", columns="pipeline", values="seconds", aggfunc="median")
    ops = rows[rows["pipeline"] == "software"].groupby("value")["operations"].max()
    cells = rows[rows["pipeline"] == "ml"].groupby("value")["cells"].max()
    return pd.DataFrame(
        {
            "data rows": agg.index.to_numpy(),
            "ML seconds": agg["ml"].to_numpy(),
            "software seconds": agg["software"].to_numpy(),
            "ML / software": (agg["ml"] / agg["software"]).to_numpy(),
            "software operations": ops.reindex(agg.index).to_numpy(),
            "ML cells read": cells.reindex(agg.index).to_numpy(),
        }
    )
