"""Helpers the lesson modules share: parameter checks, colours, figure panels, work folders.

Nothing here is specific to one lesson; each lesson module imports what it needs.

>>> _whole(3, "versions")
3
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.errors import InputError
from mlcicd.evaluation import evaluate_model
from mlcicd.files import atomic_write_text
from mlcicd.training import TrainedModel

GOOD, BAD, GREY, BLUE = "#2a9d4b", "#c0392b", "#7f8c8d", "#1f77b4"
SOFTWARE, ML = GREY, BLUE  # lessons 1 and 6: the software pipeline and the ML pipeline
MARKER = ".mlcicd-lesson"  # the file that marks a work folder a lesson made (fresh_workdir)


def _check_share(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InputError(f"{name}={value!r}: expected a share in [0, 1]")
    return float(value)


def _whole(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InputError(f"{name}={value!r}: expected a whole number >= {low}")
    return value


def _accuracy(trained: TrainedModel, holdout: pd.DataFrame, target: str) -> float:
    return evaluate_model(trained.model, holdout, target)["accuracy"]


def _two_panels(ax, wspace: float = 0.35):
    fig, grid = ax.figure, ax.get_subplotspec().subgridspec(1, 2, wspace=wspace)
    ax.remove()
    return fig.add_subplot(grid[0]), fig.add_subplot(grid[1])


def _label_bars(ax, bars, fmt: str) -> None:
    for bar in bars:
        height = bar.get_height()
        ax.annotate(
            fmt.format(height),
            (bar.get_x() + bar.get_width() / 2, height),
            ha="center",
            va="bottom",
            fontsize="small",
        )


def fresh_workdir(path: str | os.PathLike) -> Path:
    """An empty folder at ``path``: created, or emptied when a lesson made it before (marker).

    A non-empty folder without the marker is refused, so nothing else is ever deleted.
    """
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise InputError(f"workdir {root}: is a file, expected a folder")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise InputError(f"workdir {root}: not empty and not made by a lesson; give a new one")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / MARKER, "work folder of an mlcicd lesson (emptied on re-run)\n")
    return root


DEFAULT_DATASET = "breast_cancer"  # the data every number in the lessons' prose refers to


def lesson_data(dataset: str, target: str | None) -> tuple[pd.DataFrame, str, str]:
    """``(frame, label column, task)`` for a lesson's ``dataset``/``target`` parameters: an
    embedded name (see :data:`mlcicd.data.DATASETS`) or a CSV path with its label column."""
    from mlcicd.data import infer_task, load_data

    target = None if dataset in _embedded() and target == "target" else target
    df, label = load_data(dataset, target)
    return df, label, infer_task(df[label])


def _embedded() -> tuple:
    from mlcicd.data import DATASETS

    return tuple(DATASETS)


def default_data_only(dataset: str) -> None:
    """Register the cell magic ``%%default_data_only``: the cell runs when ``dataset`` is the
    default one; on other data it prints one line saying it was skipped (not an error)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise InputError("default_data_only: needs to run inside Jupyter/IPython")

    def magic(line: str, cell: str) -> None:
        if dataset == DEFAULT_DATASET:
            shell.run_cell(cell).raise_error()
        else:
            why = line.strip() or "this section is written for the breast cancer columns and labels"
            print(f"skipped on {dataset}: {why}")

    shell.register_magic_function(magic, "cell", "default_data_only")


def _model_steps(trained: TrainedModel) -> list[str]:
    """The fitted pipeline's steps, a column transformer's parts as ``part/step``."""
    names = []
    for name, step in getattr(trained.model, "steps", []):
        names.append(name)
        for part, transformer, _ in getattr(step, "transformers_", []):
            inner = getattr(transformer, "steps", None)
            if inner is not None:
                names += [f"{part}/{sub}" for sub, _ in inner]
            elif part != "remainder":
                names.append(part)
    return names


def own_data_summary(
    df: pd.DataFrame, label: str, task: str, *, seed: int = 0, weeks: int = 0, batch_size: int = 100
) -> dict[str, Any]:
    """What the library does with the learner's data, end to end: the inferred schema, a
    validated holdout, a model (imputation included) through the task-aware quality gate, the
    same gate with shuffled labels, and (``weeks`` > 0) drift monitoring on shifted batches."""
    from mlcicd.data import production_batches, split
    from mlcicd.evaluation import validate_model
    from mlcicd.monitoring import detect_drift
    from mlcicd.training import ModelSpec, train_model
    from mlcicd.validation import infer_schema, validate_data

    train, holdout = split(df, label, seed=seed)
    schema = infer_schema(train, target=label)
    kinds = {c.name: c.dtype for c in schema.columns if c.name != label}
    model = train_model(train, label, seed=seed, task=task)
    dummy = ModelSpec("dummy")
    baseline = train_model(train, label, dummy, seed=seed, task=task)
    gate = validate_model(model.model, holdout, label, baseline_model=baseline.model)
    rng = np.random.default_rng(seed)
    shuffled = train.assign(**{label: rng.permutation(train[label].to_numpy())})
    shuffled_model = train_model(shuffled, label, seed=seed, task=task)
    shuffled_gate = validate_model(
        shuffled_model.model, holdout, label, baseline_model=baseline.model
    )
    out: dict[str, Any] = {
        "task": task,
        "label": label,
        "rows": len(df),
        "classes": sorted(map(str, df[label].dropna().unique())) if task != "regression" else [],
        "missing_cells": int(df.drop(columns=label).isna().sum().sum()),
        "categorical_columns": sorted(n for n, k in kinds.items() if k == "category"),
        "numeric_columns": sorted(n for n, k in kinds.items() if k != "category"),
        "holdout_valid": bool(validate_data(holdout, schema).valid),
        "model": model.spec.name,
        "model_steps": _model_steps(model),
        "gate_metrics": sorted(gate.thresholds),
        "metrics": {k: float(v) for k, v in gate.metrics.items() if isinstance(v, int | float)},
        "blessed": bool(gate.blessed),
        "shuffled_labels_blessed": bool(shuffled_gate.blessed),
    }
    if weeks > 0:
        batches = production_batches(
            df, label, weeks, batch_size, covariate_shift=2.0, seed=seed + 1
        )
        reports = [detect_drift(train, b, target=label, model=model.model) for b in batches]
        out["drift_share"] = [round(float(r.drift_share), 3) for r in reports]
        out["retrain"] = [bool(r.retrain) for r in reports]
    return out


def describe_own_data(summary: dict[str, Any]) -> str:
    """A few lines on :func:`own_data_summary`'s findings."""
    lines = [
        f"{summary['rows']} rows, label {summary['label']!r}: task {summary['task']}"
        + (f", classes {summary['classes']}" if summary["classes"] else ""),
        f"schema: categorical {summary['categorical_columns']}, "
        f"{len(summary['numeric_columns'])} numeric; {summary['missing_cells']} missing cells",
        f"model {summary['model']} with steps {summary['model_steps']}",
        f"gate on {summary['gate_metrics']}: {'BLESSED' if summary['blessed'] else 'REJECTED'}; "
        f"same model on shuffled labels: "
        f"{'BLESSED' if summary['shuffled_labels_blessed'] else 'REJECTED'}",
    ]
    if "drift_share" in summary:
        lines.append(f"drift share per week: {summary['drift_share']}")
    return "\n".join(lines)


def record_own_data(output_dir: str | os.PathLike, dataset: str, summary: dict[str, Any]) -> Path:
    """Record :func:`own_data_summary` for a run on ``dataset`` (not the default data)."""
    from mlcicd.course import save_results

    return save_results(output_dir, {"dataset": dataset, "own_data": summary})
