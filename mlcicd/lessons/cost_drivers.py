"""What lesson 7 (what drives the cost) computes and draws: the cost c of one training +
validation cycle as a function of the data rows m, the features and the model's complexity
(T(n, m) = n * c(m)), data validation before training, parallel workers and incremental caching.

The sweeps live in :mod:`mlcicd.measure.scaling`; this module condenses their frames and the results of
:func:`~mlcicd.pipeline.run_versions` into the lesson's tables, figures and results.
Each ``draw_*`` function plots on a matplotlib axis it is given (two panels split it in two).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.course import save_results
from mlcicd.course.widgets import Explorer, question_bank
from mlcicd.data import load_dataset, synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.lessons._common import BAD, ML, SOFTWARE, _label_bars, _two_panels, _whole
from mlcicd.measure.growth import COLUMNS, TOTAL, GrowthFit, fit_exponent, total_rows
from mlcicd.pipeline import run_versions
from mlcicd.pipeline.cache import StageCache
from mlcicd.training import ModelSpec

CYCLE_STAGES = ("train", "evaluate", "validate_model")  # one training + validation cycle
CHECK_STAGE = "validate_data"  # the data check in front of it


# ---------------------------------------------------------------- c: the cost of one cycle


def cycle_cost(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per value of a one-version sweep (:func:`~mlcicd.measure.scaling.sweep_data_size`,
    :func:`~mlcicd.measure.scaling.sweep_features`, :func:`~mlcicd.measure.scaling.sweep_complexity`): the
    seconds of one training + validation cycle (train, evaluate, gate), of the data check, and
    the cells the cycle read. Seconds come from the fastest repeat (load only slows a run)."""
    if not isinstance(sweep, pd.DataFrame) or not set(COLUMNS) <= set(sweep.columns):
        raise InputError(f"cycle_cost: expected a sweep frame with columns {', '.join(COLUMNS)}")
    rows = sweep[(sweep["pipeline"] == "ml") & (sweep["stage"] != TOTAL)]
    if rows.empty or set(total_rows(sweep)["operations"]) != {1}:
        raise InputError("cycle_cost: expected a sweep of one model version per run")
    part = rows["stage"].map(
        lambda s: "cycle" if s in CYCLE_STAGES else "check" if s == CHECK_STAGE else "other"
    )
    rows = rows.assign(part=part, cycle_cells=rows["cells"].where(part == "cycle", 0))
    per_run = rows.pivot_table(
        index=["value", "repeat"], columns="part", values="seconds", aggfunc="sum", fill_value=0.0
    )
    per_run = per_run.reindex(columns=["cycle", "check"], fill_value=0.0)
    fastest = per_run.loc[per_run.groupby(level="value")["cycle"].idxmin()].droplevel("repeat")
    cells = rows[rows["repeat"] == rows["repeat"].min()].groupby("value")["cycle_cells"].sum()
    return pd.DataFrame(
        {
            "value": fastest.index.to_numpy(),
            "cycle seconds": fastest["cycle"].to_numpy(),
            "data check seconds": fastest["check"].to_numpy(),
            "cycle cells": cells.loc[fastest.index].to_numpy().astype("int64"),
        }
    )


def cycle_fits(table: pd.DataFrame) -> tuple[GrowthFit, GrowthFit]:
    """Growth exponents of :func:`cycle_cost`'s seconds and cells against its value."""
    return (
        fit_exponent(table["value"], table["cycle seconds"]),
        fit_exponent(table["value"], table["cycle cells"]),
    )


@dataclass(frozen=True)
class CycleCost:
    """c(m) = fixed_seconds + seconds_per_row * m, fitted by least squares on measured cycles."""

    fixed_seconds: float
    seconds_per_row: float

    def __call__(self, m: float | np.ndarray) -> Any:
        return self.fixed_seconds + self.seconds_per_row * m

    @property
    def break_even_rows(self) -> float:
        """The m from which the per-row part outweighs the fixed part (inf if it never does)."""
        if self.seconds_per_row <= 0:
            return float("inf")
        return max(self.fixed_seconds, 0.0) / self.seconds_per_row

    def to_dict(self) -> dict:
        return asdict(self) | {"break_even_rows": self.break_even_rows}

    def __str__(self) -> str:
        return f"c(m) = {self.fixed_seconds:.3f} s + {1000 * self.seconds_per_row:.4f} s per 1,000 rows"


def fit_cycle_cost(table: pd.DataFrame) -> CycleCost:
    """Fit c(m) = c0 + c1 * m to :func:`cycle_cost` of a data-size sweep.

    >>> t = pd.DataFrame({"value": [1000, 2000, 4000], "cycle seconds": [0.3, 0.5, 0.9]})
    >>> c = fit_cycle_cost(t)
    >>> round(c.fixed_seconds, 6), round(c.seconds_per_row, 9), round(c.break_even_rows)
    (0.1, 0.0002, 500)
    """
    if len(table) < 2 or table["value"].nunique() < 2:
        raise InputError("fit_cycle_cost: need cycles measured at two or more data sizes")
    slope, intercept = np.polyfit(table["value"].to_numpy(float), table["cycle seconds"], 1)
    return CycleCost(float(intercept), float(slope))


def draw_cycle_cost(table: pd.DataFrame, ax, xlabel: str, fit: CycleCost | None = None) -> None:
    """c against the factor (measured points), with the fitted line c0 + c1 * m when given."""
    x, y = table["value"].to_numpy(float), table["cycle seconds"].to_numpy(float)
    ax.plot(x, y, "o-", color=ML, label="c: measured (fastest run)")
    if fit is not None:
        xs = np.linspace(0, x.max(), 50)
        ax.plot(xs, fit(xs), ":", color=BAD, label=f"fit: {fit}")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("c: seconds per cycle (s)")
    ax.set_title(f"one training + validation cycle vs {xlabel}")
    ax.legend(fontsize="small", loc="upper left")


# ---------------------------------------------------------------- data validation before training


def validation_table(df: pd.DataFrame) -> pd.DataFrame:
    """From :func:`~mlcicd.measure.scaling.sweep_validation`: per n and mode, the data validations run,
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
    out = out.rename(
        columns={
            "value": "n versions",
            "validation_seconds": "validation seconds",
            "cycles": "training + validation cycles",
        }
    )
    columns = [
        "n versions",
        "mode",
        "validations",
        "validation seconds",
        "training + validation cycles",
        "seconds",
    ]
    return out[columns].reset_index(drop=True)


def validation_counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """``{mode: {str(n): validations}}`` from :func:`validation_table` (JSON-ready)."""
    return {
        str(mode): {str(n): int(v) for n, v in zip(g["n versions"], g["validations"], strict=True)}
        for mode, g in table.groupby("mode", sort=False)
    }


# ---------------------------------------------------------------- parallel workers


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


# ---------------------------------------------------------------- incremental caching


def incremental_runs(versions: int, *, data: pd.DataFrame | None = None, seed: int = 0):
    """One :class:`~mlcicd.pipeline.cache.StageCache` across three runs: ``versions`` versions, the same
    again unchanged, and one version more. Per run: what ran, what the cache gave, seconds."""
    versions = _whole(versions, "versions")
    data = load_dataset() if data is None else data
    cache = StageCache()
    rows = []
    for label, n in (
        ("first run", versions),
        ("unchanged re-run", versions),
        ("one version added", versions + 1),
    ):
        start = time.perf_counter()
        result = run_versions(n, data=data, cache=cache, seed=seed)
        seconds = time.perf_counter() - start
        c = result.counts
        rows.append(
            {
                "run": label,
                "versions": n,
                "trained": c["train"],
                "data validations": c["validate_data"],
                "gates run": c["validate_model"],
                "cache hits": c["cache_hits"],
                "cache misses": c["cache_misses"],
                "seconds": seconds,
            }
        )
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


# ---------------------------------------------------------------- self-checks

QUESTIONS = {
    "double_both": {
        "question": (
            "A loop costs T(n, m) = n · c(m), and its data is large enough that c grows about in "
            "proportion to the rows m (the part per row dominates). The team doubles the model "
            "versions and, at the same time, the rows each version trains on. About how long "
            "does the loop take now?"
        ),
        "options": [
            "About 2x as long: n and m add up, so doubling both doubles the sum",
            "About 4x as long: twice the cycles, each on twice the rows",
            "About 8x as long: versions, rows and features each double the cost",
            "About as long as before: the model and its code did not change",
        ],
        "answer": 1,
        "explanation": (
            "n multiplies the cost of one cycle, and c(2m) ≈ 2 c(m): 2n · 2c(m) = 4 T(n, m). "
            "Rows and seconds are different units: they multiply through c, they never add."
        ),
        "feedback": {
            0: "That would be O(n + m), adding versions to rows. Every version reads all m rows, "
            "so the rows multiply the number of cycles.",
            2: "Only two things doubled: the versions and the rows. The features stayed the "
            "same, so c doubles once, not twice.",
            3: "Unchanged code is what keeps a software build flat; the ML loop trains once per "
            "version on every row, so both changes cost time.",
        },
    },
    "check_every_training": {
        "question": (
            "A fraud team trains n candidate models every night on the same table of m rows and "
            "now adds a full schema and range check of that table in front of every training. "
            "What does the check add to the night's run?"
        ),
        "options": [
            "Nothing measurable: a check looks at the schema, not at the rows",
            "n checks of m rows, n · v(m) on top of n · c(m): still linear in n, and validating "
            "once per data version (by fingerprint) brings it down to one v(m)",
            "It makes the run O(n²): every check compares the table with each earlier model",
            "One check v(m) whatever the settings: a pipeline never checks the same table twice",
        ],
        "answer": 1,
        "explanation": (
            "Each check reads every row: v(m) grows with m, and 'each' runs it n times. The data "
            "did not change between trainings, so 'once' (reuse the report by the data's "
            "fingerprint) does the same job with one pass."
        ),
        "feedback": {
            0: "The check reads every row (types, ranges, missing values): its seconds grew "
            "with n in mode 'each' in the table above.",
            2: "A data check compares the table with the schema, not with models: each check "
            "costs the same, so n checks are linear in n.",
            3: "Only with 'once' (or a cache) is a check reused; in mode 'each' the table above "
            "counted n checks.",
        },
    },
    "two_cores": {
        "question": (
            "You run the loop with n_jobs=4 worker processes on a laptop with 2 CPU cores. "
            "What is the best you can expect?"
        ),
        "options": [
            "4x faster: four workers train four versions at once",
            "At most about 2x faster, minus the cost of starting workers and sending them data",
            "No speed-up at all: training a model can never run in parallel",
            "The loop becomes O(log n): the workers split the versions recursively",
        ],
        "answer": 1,
        "explanation": (
            "Independent versions can train at once, but only as many as there are free cores: "
            "the time is about n · c / p with p at most the cores, plus a start-up cost. The "
            "growth stays linear in n."
        ),
        "feedback": {
            0: "Four processes on two cores take turns: two of them wait at any moment.",
            2: "The versions are independent until the gate, so their trainings can run at "
            "once; the lesson's two workers gave the same models and decisions.",
            3: "p workers divide the constant by at most p; the number of cycles is still n.",
        },
    },
    "one_more": {
        "question": (
            "Yesterday's run trained 40 candidate models and filled the stage cache. Today one "
            "candidate is added and nothing else changed (code, data, parameters). How many "
            "models does today's run train?"
        ),
        "options": ["0", "1", "40", "41"],
        "answer": 1,
        "explanation": (
            "The 40 unchanged versions have the same cache keys (code, input fingerprints, "
            "parameters) as yesterday and come from the cache; only the new one trains."
        ),
        "feedback": {
            0: "The new candidate has no cached result yet: its key was never seen, so it trains.",
            2: "The 40 old versions are unchanged, so their keys match yesterday's cache entries.",
            3: "A run without a cache would train 41; with it only what changed runs.",
        },
    },
}

check_yourself = question_bank(QUESTIONS)


# ---------------------------------------------------------------- what the lesson recorded


def _ints(values) -> list[int]:
    return [int(v) for v in values]


def record_results(
    output_dir: str | Path,
    *,
    by_rows: pd.DataFrame,
    by_features: pd.DataFrame,
    by_trees: pd.DataFrame,
    modes: pd.DataFrame,
    parallel: Mapping,
    runs: pd.DataFrame,
    explorer: Explorer,
) -> Path:
    """Write what lesson 7 computed to ``<output_dir>/results.json`` (the tests read it)."""
    cost = {}
    for name, sweep in (("rows", by_rows), ("features", by_features), ("trees", by_trees)):
        table = cycle_cost(sweep)
        seconds_fit, cells_fit = cycle_fits(table)
        cost[name] = {
            "values": _ints(table["value"]),
            "cycle_seconds": [float(v) for v in table["cycle seconds"]],
            "check_seconds": [float(v) for v in table["data check seconds"]],
            "cycle_cells": _ints(table["cycle cells"]),
            "exponent_seconds": seconds_fit.to_dict(),
            "exponent_cells": cells_fit.slope,
        }
    cost["rows"]["fit"] = fit_cycle_cost(cycle_cost(by_rows)).to_dict()
    keys = ("versions", "trained", "data validations", "gates run", "cache hits", "cache misses")
    return save_results(
        output_dir,
        {
            "cycle_cost": cost,
            "validation_counts": validation_counts(modes),
            "validation_seconds": {
                f"{mode} n={n}": float(s)
                for n, mode, s in modes[["n versions", "mode", "validation seconds"]].itertuples(
                    index=False
                )
            },
            "parallel": dict(parallel),
            "cache": {row["run"]: {k: int(row[k]) for k in keys} for _, row in runs.iterrows()},
            "explorer": {
                "runs": explorer.runs,
                "values": explorer.last_values,
                "cells": explorer.last_result["cells"],
                "cycles": explorer.last_result["cycles"],
                "summary": explorer.summary,
            },
        },
    )


# ---------------------------------------------------------------- the cycle explorer

EXPLORER_MODELS = ("logistic_regression", "random_forest", "decision_tree")


def cycle_explorer_compute(
    rows: int, features: int, model: str, *, history: list, seed: int = 0
) -> dict:
    """Run one version of ``model`` on ``rows`` x ``features`` synthetic data; time its cycle."""
    rows, features = _whole(rows, "rows", 20), _whole(features, "features", 2)
    if model not in EXPLORER_MODELS:
        raise InputError(f"model={model!r}: expected one of {', '.join(EXPLORER_MODELS)}")
    data = synthetic_dataset(rows, features, seed)
    result = run_versions([ModelSpec(model)], data=data, seed=seed)
    totals = result.stage_totals()
    history.append(
        {
            "rows": rows,
            "features": features,
            "model": model,
            "cycle seconds": sum(totals.get(s, 0.0) for s in CYCLE_STAGES),
            "data check seconds": totals.get(CHECK_STAGE, 0.0),
            "cells": rows * (features + 1),
            "cycles": result.counts["cycles"],
        }
    )
    return {**history[-1], "history": [dict(h) for h in history]}


def draw_cycles(result: Mapping, ax) -> None:
    """c of every run so far against the cells it read, one colour per model; latest ringed."""
    for i, model in enumerate(EXPLORER_MODELS):
        runs = [h for h in result["history"] if h["model"] == model]
        if runs:
            ax.plot(
                [h["cells"] for h in runs],
                [h["cycle seconds"] for h in runs],
                "o",
                color=f"C{i}",
                label=model,
            )
    ax.plot(
        result["cells"],
        result["cycle seconds"],
        "o",
        ms=14,
        mfc="none",
        color="k",
        label="latest run",
    )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("cells read per cycle (rows x columns)")
    ax.set_ylabel("c: seconds per cycle (s)")
    ax.set_title("one training + validation cycle, every run so far")
    ax.legend(fontsize="small", loc="upper left")


def describe_cycle(result: Mapping) -> str:
    return (
        f"{result['model']} on {result['rows']:,} rows x {result['features']} features: "
        f"c = {result['cycle seconds']:.3f} s per training + validation cycle, data check "
        f"{result['data check seconds']:.3f} s, {result['cells']:,} cells read"
    )


def cycle_explorer(
    *, rows: int = 5_000, features: int = 30, model: str = "logistic_regression", seed: int = 0
) -> Explorer:
    """Sliders for the data rows and features, a model dropdown and a Run button."""
    import ipywidgets as w

    if model not in EXPLORER_MODELS:
        raise InputError(f"model={model!r}: expected one of {', '.join(EXPLORER_MODELS)}")
    style = {"description_width": "initial"}
    controls = {
        "rows": w.IntSlider(
            value=rows, min=200, max=max(100_000, rows), step=200, description="rows", style=style
        ),
        "features": w.IntSlider(
            value=features, min=2, max=max(100, features), description="features", style=style
        ),
        "model": w.Dropdown(
            options=list(EXPLORER_MODELS), value=model, description="model", style=style
        ),
    }
    compute = functools.partial(cycle_explorer_compute, history=[], seed=seed)
    return Explorer(controls, compute, draw_cycles, describe_cycle, figsize=(8, 4.5))
