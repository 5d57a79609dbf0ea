"""What lesson 6 (performance analysis) computes and draws: the seed's loop over model
versions, written out and run by the library, its table for growing n, its growth exponent (O(n))
and the loop explorer. Lesson 7 (what drives the cost) is :mod:`mlcicd.lessons.cost_drivers`.

The sweeps themselves live in :mod:`mlcicd.measure.scaling`; this module turns their frames and the
results of :func:`~mlcicd.pipeline.run_versions` into the lesson's tables, figures and explorer.
Each ``draw_*`` function plots on a matplotlib axis it is given (two panels split it in two).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlcicd.course import save_results
from mlcicd.course.widgets import Explorer, question_bank
from mlcicd.data import synthetic_dataset
from mlcicd.errors import InputError
from mlcicd.lessons._common import _two_panels, _whole
from mlcicd.measure.growth import TOTAL, GrowthFit
from mlcicd.pipeline import VALIDATION_MODES, PipelineResult, run_versions
from mlcicd.pipeline.loop import stage_rank

SETUP_STAGES = ("split", "infer_schema", "baseline")


# ---------------------------------------------------------------- the loop's cost


def loop_seconds(df: pd.DataFrame, agg: str = "median") -> pd.DataFrame:
    """From :func:`~mlcicd.measure.scaling.sweep_versions`: per n, the seconds of the one-off setup
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
    ax.plot(
        xs, np.exp(fit.intercept) * xs**fit.slope, ":", color=colour, label=f"{label}: fit, {fit}"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize="small")


def cost_rows(table: pd.DataFrame) -> dict[str, list]:
    """The seed table as JSON-ready lists: n, cycles, seconds, seconds_per_version."""
    return {
        "n": [int(v) for v in table["n versions"]],
        "cycles": [int(v) for v in table["training + validation cycles"]],
        "seconds": [float(v) for v in table["seconds"]],
        "seconds_per_version": [float(v) for v in table["seconds per version"]],
    }


# ---------------------------------------------------------------- the loop explorer


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
    history.append(
        {
            "versions": versions,
            "rows": rows,
            "validation": validation,
            "cycles": result.counts["cycles"],
            "validations": result.counts["validate_data"],
            "seconds": seconds,
            "seconds per version": seconds / versions,
            "stages": stages,
        }
    )
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
    cells = [
        [
            r["versions"],
            f"{r['rows']:,}",
            r["validation"],
            r["cycles"],
            r["validations"],
            f"{r['seconds']:.2f}",
            f"{r['seconds per version']:.3f}",
        ]
        for r in runs
    ]
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


# ---------------------------------------------------------------- the loop written out


def compare_loops(rows: Sequence[Mapping], result: PipelineResult) -> dict:
    """The loop written out in the notebook (``rows``, one per version, with ``deployed`` and
    ``accuracy``) against :func:`~mlcicd.pipeline.run_versions` on the same versions."""
    if not rows:
        raise InputError("compare_loops: rows is empty; run the written-out loop first")
    library = [result.decisions[v] for v in sorted(result.decisions)]
    return {
        "versions": len(rows),
        "deployed": [bool(r["deployed"]) for r in rows],
        "library_deployed": [d.blessed for d in library],
        "accuracy": [float(r["accuracy"]) for r in rows],
        "library_accuracy": [float(d.metrics["accuracy"]) for d in library],
        "seconds": [float(r["seconds"]) for r in rows],
        "same_decisions": [bool(r["deployed"]) for r in rows] == [d.blessed for d in library],
    }


# ---------------------------------------------------------------- self-checks

QUESTIONS = {
    "regions": {
        "question": (
            "A team's nightly pipeline trains, gates and deploys one model per sales region, each "
            "on its own region's data (all regions about the same size). With 12 regions it takes "
            "3 hours. Next quarter there are 36 regions. About how long will it take?"
        ),
        "options": [
            "About 3 hours: it is the same pipeline with the same steps",
            "About 9 hours: one training + validation cycle per region, three times the cycles",
            "About 27 hours: each new region is compared with every other region's model",
            "About 3 hours and a few minutes: only the cheap deploy step runs more often",
        ],
        "answer": 1,
        "explanation": (
            "The loop runs one cycle per version (here per region), so its time is about n times "
            "the cost of one cycle: O(n). Three times the regions, three times the time."
        ),
        "feedback": {
            0: "The steps are the same, but the loop runs them once per region: 36 cycles "
            "instead of 12. The counted cycles in the table grew exactly with n.",
            2: "The gate compares a candidate with the one production model and a baseline, "
            "not with every other version: the work per version stays the same, so O(n), "
            "not O(n²) (27 = 3 x 9 would need the cost per version to triple too).",
            3: "Training and validating are the costly stages (see the stage stack), and they "
            "run for every region too, not only the deploy.",
        },
    },
    "same_as_software": {
        "question": (
            "A colleague argues: 'Our model's pipeline has the same steps as our web app's "
            "CI (check, build, test, deploy), so it will take about as long and stay flat as "
            "the project grows.' What did this lesson measure?"
        ),
        "options": [
            "The colleague is right: both are a fixed list of steps, so both stay O(1)",
            "The colleague is wrong: every model version adds a training + validation cycle, "
            "so the ML pipeline's time grows linearly with the versions (and the cost of a "
            "cycle grows with the data)",
            "The colleague is wrong only because the ML pipeline is O(n²): versions are "
            "compared pairwise",
            "The colleague is right once caching is switched on: a cached ML pipeline is as "
            "fast as a software one",
        ],
        "answer": 1,
        "explanation": (
            "The step names match, but the ML loop repeats its costly steps once per model "
            "version: cycles exactly n, seconds fitted with an exponent near 1. A software "
            "build does not train anything on the data (lesson 1)."
        ),
        "feedback": {
            0: "A fixed list of steps, yes, but run once per model version: the counted cycles "
            "grew exactly with n, and the seconds with them.",
            2: "The fitted exponent was near 1, not 2, and each version's gate compares it with "
            "one production model, not with all other versions.",
            3: "A cache removes repeated work (lesson 7), but every new version or new data "
            "still trains; the first run of n new versions is still O(n).",
        },
    },
    "small_n_slope": {
        "question": (
            "Each run pays a one-off setup a (split, baseline, schema) and then b seconds per "
            "version: T(n) = a + b·n. Fitted on log-log axes over small n only, such runs give a "
            "slope below 1. Why?"
        ),
        "options": [
            "The loop is really O(log n): later versions get cheaper",
            "The fixed a is a larger share of a small run than of a large one, so T grows by a "
            "smaller factor than n does",
            "The stage cache makes repeated versions free after the first five",
            "The clock cannot time short runs, so small n are measured too slow",
        ],
        "answer": 1,
        "explanation": (
            "Going from n to 2n doubles b·n but not a, so T less than doubles; the larger n, the "
            "less a matters. loop_seconds separates a from the loop, and the loop alone fits "
            "about 1."
        ),
        "feedback": {
            0: "The counted cycles grow exactly with n, and each cycle does the same work: "
            "nothing makes later versions cheaper here.",
            2: "sweep_versions runs without a cache: every version trains (the cycles column "
            "counts only versions whose training really ran).",
            3: "time.perf_counter resolves far below a millisecond, and even the smallest run "
            "lasts much longer: the extra time at small n is real, the setup stages the run "
            "record times on their own.",
        },
    },
}

check_yourself = question_bank(QUESTIONS)


# ---------------------------------------------------------------- what the lesson recorded


def record_results(
    output_dir: str | Path,
    *,
    plain: Mapping,
    demo: PipelineResult,
    table: pd.DataFrame,
    fit: GrowthFit,
    loop_fit: GrowthFit,
    counted: GrowthFit,
    explorer: Explorer,
) -> Path:
    """Write what lesson 6 computed to ``<output_dir>/results.json`` (the tests read it)."""
    return save_results(
        output_dir,
        {
            "plain_loop": dict(plain),
            "demo": {"versions": len(demo.specs), "counts": dict(demo.counts)},
            "cost_table": cost_rows(table),
            "exponent_seconds": fit.to_dict(),
            "exponent_loop_seconds": loop_fit.to_dict(),
            "exponent_operations": counted.slope,
            "explorer": {
                "runs": explorer.runs,
                "values": explorer.last_values,
                "cycles": explorer.last_result["cycles"],
                "validations": explorer.last_result["validations"],
                "summary": explorer.summary,
            },
        },
    )
