"""What lesson 6 (performance analysis) computes and draws: the cost of the seed's loop, with
validation modes, parallel workers, incremental caching and the loop explorer.

The sweeps themselves live in :mod:`mlcicd.scaling`; this module turns their frames and the
results of :func:`~mlcicd.pipeline.run_versions` into the lesson's tables, figures and explorer.
Each ``draw_*`` function plots on a matplotlib axis it is given (two panels split it in two).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mlcicd.cache import StageCache
from mlcicd.data import load_dataset, synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.growth import TOTAL, total_rows
from mlcicd.lessons._common import ML, SOFTWARE, _label_bars, _two_panels, _whole
from mlcicd.pipeline import VALIDATION_MODES, run_versions
from mlcicd.runner import stage_rank
from mlcicd.training import ModelSpec
from mlcicd.widgets import Explorer

SETUP_STAGES = ("split", "infer_schema", "baseline")


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
