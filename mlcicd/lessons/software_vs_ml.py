"""What lesson 1 (software vs ML CI/CD) computes and draws: software CI beside the ML pipeline
on the same data, timed; what each one's cost grows with; the lesson's self-checks and results.

The sweeps themselves live in :mod:`mlcicd.measure.scaling` and :mod:`mlcicd.measure.software_ci`; this module
turns their frames and the results of :func:`~mlcicd.pipeline.run_versions` into the lesson's
tables, figures and explorer.

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
from pathlib import Path

import numpy as np
import pandas as pd

from mlcicd.course import save_results
from mlcicd.course.widgets import Explorer, question_bank
from mlcicd.data import load_dataset, synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.lessons._common import ML, SOFTWARE, _label_bars, _two_panels, _whole
from mlcicd.measure.growth import total_rows
from mlcicd.measure.software_ci import SoftwareCIResult, run_software_ci
from mlcicd.pipeline import run_versions


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
    assert software is not None and ml is not None  # repeats >= 1
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

    slider = w.IntSlider(
        value=rows,
        min=1_000,
        max=max_rows,
        step=1_000,
        description="rows",
        style={"description_width": "initial"},
    )
    compute = functools.partial(side_by_side, workdir, versions=versions, seed=seed)
    return Explorer(
        {"rows": slider}, compute, draw_side_by_side, describe_side_by_side, figsize=(10, 4.5)
    )


def ml_vs_software_table(df: pd.DataFrame) -> pd.DataFrame:
    """From :func:`~mlcicd.measure.scaling.sweep_data_size`: per data size, each pipeline's seconds
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


# ------------------------------------------------------------- what each pipeline's cost grows with

GROWTH_COLUMNS = (
    "pipeline",
    "grows with",
    "size: smallest",
    "size: largest",
    "work counted",
    "work: smallest",
    "work: largest",
    "work exponent",
    "seconds: smallest",
    "seconds: largest",
    "seconds exponent",
)


def _slope(x, y) -> float:
    """Least-squares slope of log y on log x (the growth exponent); 0 when y does not move."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or np.unique(x).size < 2:
        raise InputError("growth_table: each sweep needs at least two distinct sizes")
    if np.all(y == y[0]):
        return 0.0
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _growth_row(pipeline, factor, size, work_name, work, seconds) -> dict:
    size, work, seconds = (np.asarray(v, dtype=float) for v in (size, work, seconds))
    return dict(
        zip(
            GROWTH_COLUMNS,
            (
                pipeline,
                factor,
                int(size[0]),
                int(size[-1]),
                work_name,
                int(work[0]),
                int(work[-1]),
                _slope(size, work),
                float(seconds[0]),
                float(seconds[-1]),
                _slope(size, seconds),
            ),
            strict=True,
        )
    )


def _software_points(frame: pd.DataFrame, factor: str) -> pd.DataFrame:
    steps = frame[(frame["pipeline"] == "software") & (frame["factor"] == factor)]
    steps = steps[steps["stage"] != "total"]
    if steps.empty:
        raise InputError(f"growth_table: no software rows for {factor!r} in the sweep given")
    per_run = steps.groupby(["value", "repeat"]).agg(
        seconds=("seconds", "sum"), operations=("operations", "sum")
    )
    if "lines" in steps:
        per_run["lines"] = steps.groupby(["value", "repeat"])["lines"].max()
    return per_run.groupby("value").median()


def _ml_points(frame: pd.DataFrame, factor: str) -> pd.DataFrame:
    rows = total_rows(frame, factor, "ml")
    return rows.groupby("value")[["seconds", "operations", "cells"]].median()


def growth_table(
    data_sweep: pd.DataFrame,
    code_sweep: pd.DataFrame,
    versions_sweep: pd.DataFrame,
    complexity_sweep: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (pipeline, what grows): the size, the work counted and the seconds measured
    at the smallest and largest size, and their growth exponents (log-log slopes against size).

    ``data_sweep`` comes from :func:`~mlcicd.measure.scaling.sweep_data_size` (both pipelines),
    ``code_sweep`` from :func:`~mlcicd.measure.software_ci.software_ci_code_sweep` (its size is the
    package's lines of Python), ``versions_sweep`` from :func:`~mlcicd.measure.scaling.sweep_versions`,
    ``complexity_sweep`` (optional) from :func:`~mlcicd.measure.scaling.sweep_complexity`. Seconds are
    medians over repeats; counts do not vary between repeats.
    """
    rows = []
    code = _software_points(code_sweep, "code_modules")
    work = "files handled + tests run"
    rows.append(
        _growth_row(
            "software",
            "code and tests (lines of Python)",
            code["lines"],
            work,
            code["operations"],
            code["seconds"],
        )
    )
    sw = _software_points(data_sweep, "data_rows")
    rows.append(
        _growth_row("software", "data (rows)", sw.index, work, sw["operations"], sw["seconds"])
    )
    ml = _ml_points(data_sweep, "data_rows")
    rows.append(
        _growth_row("ML", "data (rows)", ml.index, "data cells read", ml["cells"], ml["seconds"])
    )
    versions = _ml_points(versions_sweep, "versions")
    rows.append(
        _growth_row(
            "ML",
            "model versions",
            versions.index,
            "training + validation cycles",
            versions["operations"],
            versions["seconds"],
        )
    )
    if complexity_sweep is not None:
        factor = next(f for f in complexity_sweep["factor"].unique())
        cx = _ml_points(complexity_sweep, factor)
        rows.append(
            _growth_row(
                "ML",
                f"model complexity ({factor})",
                cx.index,
                "data cells read",
                cx["cells"],
                cx["seconds"],
            )
        )
    return pd.DataFrame(rows, columns=list(GROWTH_COLUMNS))


def draw_growth(table: pd.DataFrame, ax) -> None:
    """Growth exponents of seconds (bars) and of the counted work (diamonds), one row each."""
    labels = [f"{p}: {g}" for p, g in zip(table["pipeline"], table["grows with"], strict=True)]
    y = np.arange(len(table))[::-1]
    colours = [SOFTWARE if p == "software" else ML for p in table["pipeline"]]
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.barh(y, table["seconds exponent"], color=colours, height=0.6)
    ax.scatter(table["work exponent"], y, marker="D", color="black", zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.axvline(1, color="black", linewidth=0.8, linestyle=":")
    ax.set_yticks(y, labels)
    ax.set_xlabel("growth exponent (log-log slope against the size; 0 = flat, 1 = linear)")
    ax.set_title("What each pipeline's cost grows with", fontsize="medium")
    handles = [
        Patch(color=SOFTWARE, label="software: seconds (measured)"),
        Patch(color=ML, label="ML: seconds (measured)"),
        Line2D([], [], marker="D", color="black", linestyle="", label="work (counted)"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize="small")


# ------------------------------------------------------------------------------ self-checks

QUESTIONS = {
    "maturity": {
        "question": (
            "A team's model retrains by itself every night and whenever the drift monitor fires, "
            "and every retrained model passes a quality gate before it is deployed. But when they "
            "change the training code, someone copies the new files to the server by hand. Which "
            "maturity level is this?"
        ),
        "options": [
            "Level 0: the process is manual",
            "Level 1: the ML pipeline is automated, the delivery of the pipeline itself is not",
            "Level 2: CI/CD automates the pipeline itself",
            "Between levels 1 and 2: a quality gate counts as CI/CD of the pipeline",
        ],
        "answer": 1,
        "explanation": (
            "Continuous training with automated data and model checks is level 1. Level 2 also "
            "builds, tests and deploys changes to the pipeline's own code automatically."
        ),
        "feedback": {
            0: "Training, gating and deploying models run without a person here; level 0 is a "
            "data scientist training and handing over models by hand.",
            2: "Level 2 would build, test and release the changed training code automatically; "
            "here a person copies it to the server.",
            3: "The gate checks each *model*; CI/CD of the pipeline tests and releases the "
            "pipeline's *code*, which here is still copied by hand.",
        },
    },
    "what_to_track": {
        "question": (
            "A shop's recommendation service and its checkout service share one repository and "
            "one CI system. Nobody changes a line of either for a month, yet only the "
            "recommendation team re-runs its pipeline every week. What does their pipeline "
            "track that checkout's does not?"
        ),
        "options": [
            "Nothing: re-running unchanged code is a habit, not a need",
            "New versions of the data, and the model versions trained on them",
            "The compiler version, since ML code must be rebuilt more often",
            "More unit tests, because ML code has more functions",
        ],
        "answer": 1,
        "explanation": (
            "An ML system has three inputs that change: code, data and the model learned from "
            "them. New data makes a new model version (fingerprinted data, a registry, a gate) "
            "even when the code is unchanged."
        ),
        "feedback": {
            0: "The data changed: a model trained on last month's data can be wrong about this "
            "month's, so re-running is a need, not a habit.",
            2: "Both services build with the same toolchain; a compiler change would trigger "
            "both pipelines, not only one.",
            3: "The number of tests grows the cost of a software run, but it is not something "
            "that changes on its own while nobody edits the code.",
        },
    },
    "what_grows": {
        "question": (
            "Next quarter your training data grows ten times, and, separately, your team's code "
            "base and its test suite grow ten times. From this lesson's measurements, which "
            "statement is right?"
        ),
        "options": [
            "Both pipelines slow down with both: a bigger repository is a bigger repository",
            "The software pipeline slows with the code and tests only; the ML pipeline's "
            "training and evaluation slow with the data",
            "Neither slows down much, because the steps are the same",
            "The software pipeline slows with the data, because the data file is checked out",
        ],
        "answer": 1,
        "explanation": (
            "Software CI handles every file and runs every test, so its work grows with the code; "
            "no step reads data. Training, evaluation and monitoring read every row, so the ML "
            "pipeline's work grows with the data, the versions and the model's complexity."
        ),
        "feedback": {
            0: "No software step opens the data file: its counted work stayed the same at every "
            "data size in the growth table.",
            2: "The steps have similar names, not similar costs: the ML pipeline's cells read "
            "grew exactly with the rows.",
            3: "A checkout of code does not read the data: in the growth table the software "
            "work is flat in the rows and grows with the lines of code.",
        },
    },
}
check_yourself = question_bank(QUESTIONS)


# ------------------------------------------------------------------------------ results


def record_results(
    output_dir: str | os.PathLike,
    *,
    software: SoftwareCIResult,
    both: Mapping,
    sweep: pd.DataFrame,
    growth: pd.DataFrame,
    explorer: Explorer,
) -> Path:
    """Write what lesson 1 computed to ``output_dir/results.json`` (the course's tests read it)."""
    table = ml_vs_software_table(sweep)
    software_steps = sweep[(sweep["pipeline"] == "software") & (sweep["stage"] != "total")]
    keys = (
        "rows",
        "versions",
        "software_total",
        "ml_total",
        "ratio",
        "software_operations",
        "ml_cycles",
        "software_ok",
    )
    return save_results(
        output_dir,
        {
            "side_by_side": {key: both[key] for key in keys},
            "software_steps": sorted(software.to_frame()["step"]),
            "sweep": {
                "rows": [int(v) for v in table["data rows"]],
                "ml_seconds": [float(v) for v in table["ML seconds"]],
                "software_seconds": [float(v) for v in table["software seconds"]],
                "software_operations": [int(v) for v in table["software operations"]],
                "ml_cells": [int(v) for v in table["ML cells read"]],
                "software_cells": int(software_steps["cells"].sum()),
            },
            "ratio_at_largest": float(table["ML / software"].iloc[-1]),
            "growth": growth.to_dict("records"),
            "explorer": {
                "runs": explorer.runs,
                "rows": explorer.last_result["rows"],
                "ml_cycles": explorer.last_result["ml_cycles"],
                "software_ok": explorer.last_result["software_ok"],
                "summary": explorer.summary,
            },
        },
    )
