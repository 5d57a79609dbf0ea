"""What lessons 1 and 6 compute and draw: software CI beside the ML pipeline, and the cost of
the seed's loop (validation modes, parallel workers, incremental caching, the loop explorer).

The sweeps themselves live in :mod:`mlcicd.scaling`; this module turns their frames and the
results of :func:`~mlcicd.pipeline.run_versions` into the lessons' tables, figures and explorers.
Each ``draw_*`` function plots on a matplotlib axis it is given (two panels split it in two).

>>> import tempfile
>>> result = side_by_side(tempfile.mkdtemp(), versions=1)
>>> result["software_operations"] > 0, result["ml_cycles"]
(True, 1)
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.cache import StageCache
from mlcicd.data import load_dataset, synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.growth import TOTAL, total_rows
from mlcicd.pipeline import VALIDATION_MODES, run_versions
from mlcicd.runner import stage_rank
from mlcicd.software_ci import run_software_ci
from mlcicd.training import ModelSpec
from mlcicd.widgets import Explorer

SOFTWARE, ML = "#7f8c8d", "#1f77b4"
SETUP_STAGES = ("split", "infer_schema", "baseline")


def _whole(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{name}={value!r}: expected a whole number >= {low}")
    return value


def _two_panels(ax, wspace: float = 0.35):
    fig, grid = ax.figure, ax.get_subplotspec().subgridspec(1, 2, wspace=wspace)
    ax.remove()
    return fig.add_subplot(grid[0]), fig.add_subplot(grid[1])


def _label_bars(ax, bars, fmt: str) -> None:
    for bar in bars:
        height = bar.get_height()
        ax.annotate(fmt.format(height), (bar.get_x() + bar.get_width() / 2, height),
                    ha="center", va="bottom", fontsize="small")  # fmt: skip


def one_thread_per_process() -> int:
    """Limit the native thread pools (BLAS, OpenMP) of this process to one thread each; how many
    pools it limited.

    The course's models are small: on a shared 2-core machine a second BLAS thread mostly waits
    for the first (a logistic regression fit took 5x longer with two threads under load).
    joblib gives each worker process one thread as well, so ``n_jobs=1`` and ``n_jobs=2``
    compare like with like.
    """
    import scipy.optimize  # noqa: F401  (loads scipy's own BLAS, so that it is limited too)
    import sklearn.ensemble  # noqa: F401  (and scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=1)
    return len(threadpool_info())


# ---------------------------------------------------------------- lesson 1: side by side


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


# ---------------------------------------------------------------- lesson 6: the loop's cost


def validation_table(df: pd.DataFrame) -> pd.DataFrame:
    """From :func:`~mlcicd.scaling.sweep_validation`: per n and mode, the data validations run,
    their seconds, the training + validation cycles and the total seconds (medians)."""
    totals = total_rows(df, "versions")
    checks = df[(df["stage"] == "validate_data") & (df["factor"] == "versions")]
    keys = ["value", "mode"]
    out = totals.groupby(keys, as_index=False).agg(
        cycles=("operations", "max"), seconds=("seconds", "median")
    )
    per = checks.groupby(keys, as_index=False).agg(
        validations=("operations", "max"), validation_seconds=("seconds", "median")
    )
    out = out.merge(per, on=keys, how="left").fillna({"validations": 0, "validation_seconds": 0.0})
    out["validations"] = out["validations"].astype("int64")
    order = {m: i for i, m in enumerate(("off", "each", "once"))}
    out = out.sort_values(["value", "mode"], key=lambda s: s.map(order) if s.name == "mode" else s)
    out = out.rename(columns={"value": "n versions", "validation_seconds": "validation seconds",
                              "cycles": "training + validation cycles"})  # fmt: skip
    columns = ["n versions", "mode", "validations", "validation seconds",
               "training + validation cycles", "seconds"]  # fmt: skip
    return out[columns].reset_index(drop=True)


def validation_counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """``{mode: {str(n): validations}}`` from :func:`validation_table` (JSON-ready)."""
    return {
        str(mode): {str(n): int(v) for n, v in zip(g["n versions"], g["validations"], strict=True)}
        for mode, g in table.groupby("mode", sort=False)
    }


def parallel_speedup(
    versions: Sequence[ModelSpec] | int,
    *,
    data: pd.DataFrame | None = None,
    n_jobs: int = 2,
    repeats: int = 1,
    seed: int = 0,
) -> dict:
    """Time the loop with ``n_jobs=1`` and with ``n_jobs`` workers (best of ``repeats``, in turn).

    A short run first starts the worker pool (joblib keeps it), so the speed-up is the steady
    state; the cold start is reported apart. Both runs must give the same models and decisions.
    """
    n_jobs, repeats = _whole(n_jobs, "n_jobs", 2), _whole(repeats, "repeats")
    data = load_dataset() if data is None else data
    start = time.perf_counter()
    warm = min(versions, 2) if isinstance(versions, int) else list(versions)[:2]
    run_versions(warm, data=data, n_jobs=n_jobs, seed=seed)
    cold = time.perf_counter() - start
    best = {1: float("inf"), n_jobs: float("inf")}
    results = {}
    for _ in range(repeats):
        for jobs in best:
            start = time.perf_counter()
            results[jobs] = run_versions(versions, data=data, n_jobs=jobs, seed=seed)
            best[jobs] = min(best[jobs], time.perf_counter() - start)
    one, many = results[1], results[n_jobs]
    same = one.metrics == many.metrics and one.outcomes == many.outcomes
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "versions": len(one.outcomes),
        "n_jobs": n_jobs,
        "seconds": {"1": best[1], str(n_jobs): best[n_jobs]},
        "speedup": best[1] / best[n_jobs],
        "ideal": float(min(n_jobs, cores or 1)),
        "cold_start_seconds": cold,
        "same_results": same,
        "cores": cores,
        "trained": {"1": one.counts["train"], str(n_jobs): many.counts["train"]},
    }


def draw_parallel(result: Mapping, ax) -> None:
    labels = list(result["seconds"])
    seconds = [result["seconds"][k] for k in labels]
    bars = ax.bar([f"n_jobs={k}" for k in labels], seconds, color=[SOFTWARE, ML])
    _label_bars(ax, bars, "{:.2f} s")
    ideal = f"ideal with {result['cores']} cores: 1/{result['ideal']:.0f} of n_jobs=1"
    ax.axhline(seconds[0] / result["ideal"], color="k", ls="--", lw=1, label=ideal)
    ax.set_ylabel("wall-clock time (s)")
    ax.set_title(f"{result['versions']} versions in parallel: speed-up {result['speedup']:.2f}x")
    ax.legend(fontsize="small", loc="upper right")
    ax.set_ylim(0, 1.25 * max(seconds))


def incremental_runs(versions: int, *, data: pd.DataFrame | None = None, seed: int = 0):
    """One :class:`~mlcicd.cache.StageCache` across three runs: ``versions`` versions, the same
    again unchanged, and one version more. Per run: what ran, what the cache gave, seconds."""
    versions = _whole(versions, "versions")
    data = load_dataset() if data is None else data
    cache = StageCache()
    rows = []
    for label, n in (("first run", versions), ("unchanged re-run", versions),
                     ("one version added", versions + 1)):  # fmt: skip
        start = time.perf_counter()
        result = run_versions(n, data=data, cache=cache, seed=seed)
        seconds = time.perf_counter() - start
        c = result.counts
        rows.append({"run": label, "versions": n, "trained": c["train"],
                     "data validations": c["validate_data"], "gates run": c["validate_model"],
                     "cache hits": c["cache_hits"], "cache misses": c["cache_misses"],
                     "seconds": seconds})  # fmt: skip
    return pd.DataFrame(rows)


def draw_incremental(table: pd.DataFrame, ax) -> None:
    left, right = _two_panels(ax)
    colours = [ML, SOFTWARE, ML]
    _label_bars(left, left.bar(table["run"], table["trained"], color=colours), "{:.0f}")
    left.set_ylabel("models trained (count)")
    left.set_title("what really ran")
    _label_bars(right, right.bar(table["run"], table["seconds"], color=colours), "{:.2f}")
    right.set_ylabel("wall-clock time (s)")
    right.set_title("what it cost")
    for axis in (left, right):
        axis.tick_params(axis="x", labelrotation=20, labelsize="small")


# ---------------------------------------------------------------- lesson 6: the loop explorer


def loop_explorer_compute(
    versions: int, rows: int, validation: str, *, history: list, n_features: int = 30, seed: int = 0
) -> dict:
    """Run the loop for ``versions`` versions on ``rows`` synthetic rows; append to ``history``."""
    versions, rows = _whole(versions, "versions"), _whole(rows, "rows", 20)
    data = synthetic_dataset(rows, n_features, seed)
    start = time.perf_counter()
    result = run_versions(versions, data=data, validation=validation, seed=seed)
    seconds = time.perf_counter() - start
    stages = {k: v for k, v in result.stage_totals().items() if k not in SETUP_STAGES}
    stages["setup"] = sum(result.stage_totals().get(k, 0.0) for k in SETUP_STAGES)
    history.append({"versions": versions, "rows": rows, "validation": validation,
                    "cycles": result.counts["cycles"],
                    "validations": result.counts["validate_data"],
                    "seconds": seconds, "seconds per version": seconds / versions,
                    "stages": stages})  # fmt: skip
    return {**history[-1], "history": [dict(h) for h in history]}


def draw_loop(result: Mapping, ax, last: int = 6) -> None:
    """Stacked seconds per stage for the recent runs (left) and the running table (right)."""
    left, right = _two_panels(ax, wspace=0.05)
    runs = result["history"][-last:]
    names = sorted(
        {s for r in runs for s in r["stages"]}, key=lambda s: (s != "setup", stage_rank(s))
    )
    labels = [f"n={r['versions']}\n{r['rows']:,} rows\n{r['validation']}" for r in runs]
    bottom = [0.0] * len(runs)
    for name in names:
        heights = [r["stages"].get(name, 0.0) for r in runs]
        left.bar(labels, heights, bottom=bottom, label=name)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    left.set_ylabel("seconds per stage (s)")
    left.set_title("where the time goes (latest run right)")
    left.tick_params(axis="x", labelsize="x-small")
    cells = [[r["versions"], f"{r['rows']:,}", r["validation"], r["cycles"], r["validations"],
              f"{r['seconds']:.2f}", f"{r['seconds per version']:.3f}"] for r in runs]  # fmt: skip
    right.axis("off")
    columns = ["n", "rows", "validation", "cycles", "checks", "s", "s/version"]
    table = right.table(cellText=cells, colLabels=columns, loc="upper center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.4)
    right.set_title("the running table (cycles counted, seconds measured)")
    handles, labels = left.get_legend_handles_labels()
    right.legend(handles, labels, loc="lower center", ncols=4, fontsize="small", title="stage")


def describe_loop(result: Mapping) -> str:
    return (
        f"{result['versions']} versions x {result['rows']:,} rows, validation "
        f"{result['validation']}: {result['cycles']} training + validation cycles, "
        f"{result['validations']} data checks, {result['seconds']:.2f} s "
        f"({result['seconds per version']:.3f} s per version)"
    )


def loop_explorer(
    *, versions: int = 10, rows: int = 2_000, validation: str = "each", seed: int = 0
) -> Explorer:
    """Sliders for the number of versions and the data rows, a validation mode, a Run button."""
    import ipywidgets as w

    if validation not in VALIDATION_MODES:
        raise InputError(
            f"validation={validation!r}: expected one of {', '.join(VALIDATION_MODES)}"
        )
    style = {"description_width": "initial"}
    controls = {
        "versions": w.IntSlider(
            value=versions, min=1, max=max(50, versions), description="versions", style=style
        ),
        "rows": w.IntSlider(
            value=rows, min=200, max=max(20_000, rows), step=200, description="rows", style=style
        ),
        "validation": w.Dropdown(
            options=list(VALIDATION_MODES), value=validation, description="validation", style=style
        ),
    }
    compute = functools.partial(loop_explorer_compute, history=[], seed=seed)
    return Explorer(controls, compute, draw_loop, describe_loop, figsize=(12, 4.5))


def loop_seconds(df: pd.DataFrame, agg: str = "median") -> pd.DataFrame:
    """From :func:`~mlcicd.scaling.sweep_versions`: per n, the seconds of the one-off setup
    stages, of the stages inside the loop over versions, and of the whole run; repeats are
    combined by ``agg`` (``"median"``, or ``"min"``: the run least disturbed by other programs)."""
    if agg not in ("median", "min"):
        raise InputError(f"agg={agg!r}: expected median or min")
    rows = df[(df["pipeline"] == "ml") & (df["factor"] == "versions")]
    if rows.empty:
        raise InputError("loop_seconds: expected a sweep_versions frame (factor 'versions')")
    part = rows["stage"].map(
        lambda s: "total" if s == TOTAL else "setup" if s in SETUP_STAGES else "loop"
    )
    per_run = rows.assign(part=part).pivot_table(
        index=["value", "repeat"], columns="part", values="seconds", aggfunc="sum", fill_value=0.0
    )
    if agg == "min":  # the whole fastest run of each n, so that its parts still add up
        per_run = per_run.loc[per_run.groupby(level="value")["total"].idxmin()]
    table = per_run.groupby(level="value").median()
    return pd.DataFrame(
        {
            "n versions": table.index.to_numpy(),
            "setup seconds": table["setup"].to_numpy(),
            "loop seconds": table["loop"].to_numpy(),
            "total seconds": table["total"].to_numpy(),
        }
    )


def add_fit(ax, x, y, fit, label: str, colour: str = "#d62728") -> None:
    """Points ``(x, y)`` and the fitted power law ``fit`` on log-log axes ``ax``, labelled."""
    ax.plot(x, y, "s", color=colour, label=f"{label}: measured")
    xs = np.geomspace(min(x), max(x), 50)
    ax.plot(xs, np.exp(fit.intercept) * xs**fit.slope, ":", color=colour,
            label=f"{label}: fit, {fit}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize="small")


def seed_rows(table: pd.DataFrame) -> dict[str, list]:
    """The seed table as JSON-ready lists: n, cycles, seconds, seconds_per_version."""
    return {
        "n": [int(v) for v in table["n versions"]],
        "cycles": [int(v) for v in table["training + validation cycles"]],
        "seconds": [float(v) for v in table["seconds"]],
        "seconds_per_version": [float(v) for v in table["seconds per version"]],
    }
