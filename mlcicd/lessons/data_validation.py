"""What lesson 2 (data validation) computes and draws: broken data batches, a reviewed schema,
validation before training; the lesson's self-checks and results.

The notebook calls these functions (and the explorer built from them); the tests call them too,
without a browser. Each ``draw_*`` function plots on a matplotlib axis it is given.

>>> from mlcicd.data import load_dataset, split
>>> train, holdout = split(load_dataset(), seed=0)
>>> schema = reference_schema(load_dataset())
>>> batches = broken_batches(holdout)
>>> sorted({a.kind for a in validate_data(batches["all at once"], schema).anomalies})
['missing_column', 'missing_values', 'out_of_range', 'unknown_category', 'wrong_type']
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlcicd.course import save_results
from mlcicd.course.widgets import Explorer, question_bank
from mlcicd.data import TARGET
from mlcicd.errors import InputError
from mlcicd.lessons._common import BAD, GOOD, GREY, _accuracy, _check_share, _two_panels
from mlcicd.training import ModelSpec, TrainedModel, train_model
from mlcicd.validation import ColumnSchema, Schema, ValidationReport, infer_schema, validate_data

UNIT_COLUMN = "mean_radius"  # the column the lessons put into a wrong unit


def reference_schema(df: pd.DataFrame, target: str = TARGET, slack: float = 0.1) -> Schema:
    """:func:`infer_schema` as reviewed by a person: the label is a category of the seen classes,
    and ranges are tight (slack 0.1), so a unit change in a column is out of range."""
    schema = infer_schema(df, target=target, slack=slack)
    classes = tuple(sorted(pd.unique(df[target].dropna()).tolist()))
    columns = [
        ColumnSchema(c.name, "category", categories=classes) if c.name == target else c
        for c in schema.columns
    ]
    return Schema(tuple(columns), target)


def slack_tradeoff(
    reference: pd.DataFrame,
    batch: pd.DataFrame,
    slacks: Sequence[float],
    target: str = TARGET,
) -> pd.DataFrame:
    """Per slack: false alarms on the clean ``batch`` (schema inferred from ``reference``), the
    inferred lower bound of ``mean_radius``, and whether that column in a unit 10x off is caught."""
    rows = []
    for slack in slacks:
        schema = infer_schema(reference, target=target, slack=slack)
        unit = validate_data(corrupt(batch, target=target, scale=0.1), schema)
        rows.append(
            {
                "slack": slack,
                "false_alarms": len(validate_data(batch, schema).anomalies),
                f"{UNIT_COLUMN}_min": schema.column(UNIT_COLUMN).min,
                "unit_change_caught": any(a.column == UNIT_COLUMN for a in unit.anomalies),
            }
        )
    return pd.DataFrame(rows)


def corrupt(
    df: pd.DataFrame,
    *,
    target: str = TARGET,
    missing_share: float = 0.0,
    scale: float = 1.0,
    column: str = UNIT_COLUMN,
    seed: int = 0,
) -> pd.DataFrame:
    """A copy of ``df`` with ``column`` multiplied by ``scale`` (a unit change) and a random
    ``missing_share`` of all feature values blanked out."""
    missing_share = _check_share("missing_share", missing_share)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale < np.inf:
        raise InputError(f"scale={scale!r}: expected a finite number > 0")
    if column not in df.columns or column == target:
        raise InputError(f"column {column!r}: not a feature column of the data")
    out = df.copy()
    if scale != 1:
        out[column] = out[column] * scale
    if missing_share > 0:
        features = [c for c in out.columns if c != target]
        mask = np.random.default_rng(seed).random((len(out), len(features))) < missing_share
        out[features] = out[features].mask(mask)
    return out


def broken_batches(batch: pd.DataFrame, target: str = TARGET, seed: int = 0) -> dict:
    """``batch`` broken the ways real data breaks, one way per entry (plus the clean original)."""
    for col in (UNIT_COLUMN, "mean_texture", "worst_area", "worst_radius", target):
        if col not in batch.columns:
            raise InputError(f"batch: needs the column {col!r} of the breast cancer data")
    rng = np.random.default_rng(seed)
    n = len(batch)
    as_text = batch[UNIT_COLUMN].round(2).astype(str).str.replace(".", ",", regex=False)
    holes = rng.random(n) < 0.2
    new_code = np.zeros(n, dtype=bool)
    new_code[rng.choice(n, size=min(5, n), replace=False)] = True

    def with_label_code(df: pd.DataFrame) -> pd.DataFrame:  # an upstream "2 = needs review"
        return df.assign(**{target: df[target].mask(new_code, 2)})

    def with_holes(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(worst_area=df["worst_area"].mask(holes))

    every = with_label_code(with_holes(batch.drop(columns="mean_texture")))
    every = every.assign(**{UNIT_COLUMN: as_text, "worst_radius": every["worst_radius"] / 10})
    return {
        "clean": batch.copy(),
        "missing column": batch.drop(columns="mean_texture"),
        "wrong type": batch.assign(**{UNIT_COLUMN: as_text}),  # decimal commas: text
        "missing values": with_holes(batch),
        "out of range": corrupt(batch, target=target, scale=0.1),  # cm instead of mm
        "unknown category": with_label_code(batch),
        "empty": batch.iloc[0:0],
        "all at once": every,
    }


def anomaly_summary(reports: Mapping[str, ValidationReport]) -> pd.DataFrame:
    """One row per batch: valid or not, how many anomalies and of which kinds."""
    rows = [
        {
            "batch": name,
            "rows": r.n_rows,
            "valid": r.valid,
            "anomalies": len(r.anomalies),
            "kinds": ", ".join(sorted({a.kind for a in r.anomalies})),
        }
        for name, r in reports.items()
    ]
    return pd.DataFrame(rows, columns=["batch", "rows", "valid", "anomalies", "kinds"])


def draw_anomaly_matrix(reports: Mapping[str, ValidationReport], ax) -> None:
    """Batches x anomaly kinds; each cell shows how many values (or columns) are affected."""
    frames = [r.to_frame().assign(batch=name) for name, r in reports.items()]
    long = pd.concat(frames)
    counts, found = (
        long.pivot_table(index="batch", columns="kind", values="count", aggfunc=agg, fill_value=0)
        .reindex(index=list(reports))
        .fillna(0)
        .astype(int)
        for agg in ("sum", "size")
    )
    ax.imshow(found.to_numpy() > 0, cmap="Reds", vmin=0, vmax=1.6, aspect="auto")
    for (i, j), n in np.ndenumerate(found.to_numpy()):
        if n:
            ax.text(j, i, str(counts.iat[i, j] or "found"), ha="center", va="center", fontsize=9)
    table = counts
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    ax.set_xlabel("anomaly kind (cell: affected values or columns, count)")
    ax.set_ylabel("incoming batch")
    ax.set_title("Anomalies found by validate_data, one pass per batch")


def train_without_validation(
    batch: pd.DataFrame, target: str = TARGET, spec: ModelSpec | None = None, seed: int = 0
) -> TrainedModel:
    """The careless pipeline: fill every gap with 0 and train on whatever arrived."""
    return train_model(batch.fillna(0), target, spec, seed)


def train_with_validation(
    batch: pd.DataFrame,
    schema: Schema,
    target: str = TARGET,
    spec: ModelSpec | None = None,
    seed: int = 0,
) -> tuple[ValidationReport, TrainedModel | None]:
    """Validate first; train only on a valid batch (``None`` when training was blocked)."""
    report = validate_data(batch, schema)
    return report, train_model(batch, target, spec, seed) if report.valid else None


def corruption_explorer_compute(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    schema: Schema,
    *,
    missing_share: float,
    scale: float,
    target: str = TARGET,
    spec: ModelSpec | None = None,
    seed: int = 0,
    clean_accuracy: float | None = None,
) -> dict:
    """Corrupt ``train``, validate it, and score the model each pipeline ends up serving.

    Without validation the corrupted batch is trained on (gaps filled with 0); with validation
    an invalid batch is refused and the model trained on clean ``train`` keeps serving (its
    holdout accuracy is ``clean_accuracy``, computed when not given).
    """
    batch = corrupt(train, target=target, missing_share=missing_share, scale=scale, seed=seed)
    report = validate_data(batch, schema)
    clean = clean_accuracy
    if clean is None:
        clean = _accuracy(train_model(train, target, spec, seed), holdout, target)
    careless = _accuracy(train_without_validation(batch, target, spec, seed), holdout, target)
    counts = report.to_frame().groupby("kind")["count"].sum()
    return {
        "missing_share": float(missing_share),
        "scale": float(scale),
        "valid": report.valid,
        "n_anomalies": len(report.anomalies),
        "anomalies": {str(k): int(v) for k, v in counts.items()},
        "accuracy_clean": clean,
        "accuracy_without_validation": careless,
        "accuracy_with_validation": careless if report.valid else clean,
        "n_holdout": len(holdout),
    }


def draw_corruption(result: Mapping, ax) -> None:
    left, right = _two_panels(ax, wspace=0.4)
    kinds = result["anomalies"]
    if kinds:
        left.barh(list(kinds), list(kinds.values()), color=BAD)
    else:
        left.text(0.5, 0.5, "no anomaly:\nbatch accepted", ha="center", va="center", color=GOOD)
        left.set_yticks([])
    left.set_xlabel("affected values (count)")
    left.set_title("validate_data on the batch")
    labels = ["clean data", "no validation", "validation first"]
    values = [result[f"accuracy_{k}"] for k in ("clean", "without_validation", "with_validation")]
    right.bar(labels, values, color=[GREY, BAD if values[1] < values[0] - 0.01 else GOOD, GOOD])
    for i, v in enumerate(values):
        right.text(i, v + 0.02, f"{v:.3f}", ha="center")
    right.set_ylim(0, 1.1)
    right.set_ylabel(f"holdout accuracy (fraction of {result['n_holdout']} rows)")
    right.set_title("the model that ends up serving")


def describe_corruption(result: Mapping) -> str:
    verdict = "training blocked" if not result["valid"] else "batch accepted"
    kinds = ", ".join(result["anomalies"]) or "none"
    return (
        f"{result['missing_share']:.0%} missing, {UNIT_COLUMN} x {result['scale']:.3g}: "
        f"anomalies: {kinds} -> {verdict}; accuracy without validation "
        f"{result['accuracy_without_validation']:.3f}, with validation first "
        f"{result['accuracy_with_validation']:.3f}"
    )


def corruption_explorer(train, holdout, schema, *, target=TARGET, spec=None, seed=0) -> Explorer:
    """Sliders for the share of missing values and the unit factor on ``mean_radius``."""
    import ipywidgets as w

    style = {"description_width": "initial"}
    controls = {
        "missing_share": w.FloatSlider(
            value=0.1, min=0, max=0.5, step=0.05, description="missing share", style=style
        ),
        "scale": w.FloatLogSlider(
            value=0.1,
            base=10,
            min=-2,
            max=2,
            step=0.25,
            description=f"{UNIT_COLUMN} x",
            style=style,
        ),
    }
    clean = _accuracy(train_model(train, target, spec, seed), holdout, target)
    compute = functools.partial(
        corruption_explorer_compute,
        train,
        holdout,
        schema,
        target=target,
        spec=spec,
        seed=seed,
        clean_accuracy=clean,
    )
    return Explorer(controls, compute, draw_corruption, describe_corruption, figsize=(10, 4))


def scale_sweep(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    schema: Schema,
    factors: Sequence[float],
    *,
    target: str = TARGET,
    spec: ModelSpec | None = None,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """For each unit factor on ``mean_radius``: anomalies found, and holdout accuracy of the model
    trained on the batch (no validation) vs the model serving when validation runs first."""
    clean = _accuracy(train_model(train, target, spec, seed), holdout, target)
    rows = []
    for factor in tqdm(list(factors), desc="unit factors", disable=not progress):
        batch = corrupt(train, target=target, scale=factor)
        report, trained = train_with_validation(batch, schema, target, spec, seed)
        if trained is None:
            trained = train_model(batch, target, spec, seed)
        careless = _accuracy(trained, holdout, target)
        rows.append(
            {
                "factor": float(factor),
                "anomalies": len(report.anomalies),
                "blocked": not report.valid,
                "accuracy_without_validation": careless,
                "accuracy_with_validation": clean if report.valid is False else careless,
            }
        )
    return pd.DataFrame(rows)


def draw_scale_sweep(sweep: pd.DataFrame, ax, n_holdout: int | None = None) -> None:
    x = sweep["factor"]
    ax.plot(x, sweep["accuracy_without_validation"], "o-", color=BAD, label="no validation")
    ax.plot(x, sweep["accuracy_with_validation"], "s--", color=GOOD, label="validation first")
    x_arr = x.to_numpy(dtype=float)
    mids = np.sqrt(x_arr[1:] * x_arr[:-1])  # midpoints on the log axis
    lefts = np.concatenate([[x_arr[0] / 1.2], mids])
    rights = np.concatenate([mids, [x_arr[-1] * 1.2]])
    for k in np.flatnonzero(sweep["blocked"].to_numpy()):
        ax.axvspan(
            lefts[k],
            rights[k],
            color=GOOD,
            alpha=0.1,
            lw=0,
            label="batch refused by validation" if k == np.argmax(sweep["blocked"]) else None,
        )
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(f"unit factor applied to {UNIT_COLUMN} in the training batch (x, log scale)")
    rows = f" of {n_holdout} rows" if n_holdout else ""
    ax.set_ylabel(f"holdout accuracy (fraction{rows})")
    ax.set_title("A unit change in one column: silent damage vs validation first")
    ax.legend(loc="lower right")


def unit_factor_window(
    batch: pd.DataFrame, schema: Schema, column: str = UNIT_COLUMN
) -> tuple[float, float]:
    """The unit factors ``f`` for which ``batch[column] * f`` stays inside the schema's range.

    From the batch's smallest and largest (positive) values and the schema's bounds: a factor in
    ``[low, high]`` keeps every value in range, so the range check cannot see it.
    """
    values = batch[column].dropna()
    bounds = schema.column(column)
    if values.empty or values.min() <= 0 or bounds.min is None or bounds.max is None:
        raise InputError(
            f"column {column}: needs positive values and a numeric range in the schema"
        )
    low = max(bounds.min, 0) / values.min()
    return float(low), float(bounds.max / values.max())


# ------------------------------------------------------------------------------ self-checks

QUESTIONS = {
    "keep_the_step": {
        "question": (
            "A nightly workflow runs Data Validation, Train Model, Test Model, Deploy Model. Last "
            "night an upstream export renamed a column; Data Validation failed and nothing was "
            "trained or deployed. A colleague wants to drop the step: 'Test Model would catch a "
            "bad model anyway.' What does keeping Data Validation buy the team?"
        ),
        "options": [
            "It checks the training script for syntax errors before it runs",
            "A batch that does not meet the expected schema and quality is stopped before any "
            "training, with a report naming the column and the problem",
            "It compiles the model into a deployable file before testing",
            "Nothing once Test Model exists: a model trained on bad data always fails its test",
        ],
        "answer": 1,
        "explanation": (
            "Data validation checks the input of training (columns, types, ranges, missing "
            "values, categories) against a reviewed schema, so bad data never becomes a model. "
            "Test Model judges a model after training, and only as well as its test data allows."
        ),
        "feedback": {
            0: "That is a code check (lint, compile, unit tests). The renamed column is in the "
            "data; the training script did not change.",
            2: "Nothing is compiled in this workflow: a model is trained, then saved as a file. "
            "The step's name says what it checks: the data.",
            3: "Not always: some damage shows only on data the test set does not cover, a holdout "
            "drawn from the same broken export hides it, and even when it fails, the test says "
            "'accuracy fell', not which column broke, after paying for training.",
        },
    },
    "silent_unit_error": {
        "question": (
            "mean_radius arrives 10x too small and the batch is not validated. What happens when "
            "the pipeline trains on it?"
        ),
        "options": [
            "Training stops with a type error",
            "Training succeeds, and the model is silently worse on real data",
            "Nothing: rescaling one column never changes a model",
            "Training succeeds, and the model only gets worse if the data also has gaps",
        ],
        "answer": 1,
        "explanation": (
            "In section 3 training finished without an error or a warning, and the model's holdout "
            "accuracy fell below the 'always benign' guess. Only a check that compares the data "
            "with a schema notices."
        ),
        "feedback": {
            0: "The values are still numbers, so every type check passes; nothing stops training.",
            2: "The model learned weights for the wrong scale: in section 3 its holdout accuracy "
            "fell far below the clean model's.",
            3: "Section 3 trained on the unit change alone (no gaps) and the model was already "
            "far worse on the holdout.",
        },
    },
    "fingerprint": {
        "question": (
            "You fix one typo in one cell of a 10,000-row training file. What happens to its "
            "fingerprint?"
        ),
        "options": [
            "Nothing: the change is too small to matter",
            "It changes completely: any change of content gives a new id",
            "Only its last few digits change",
            "It changes only if the file is renamed",
        ],
        "answer": 1,
        "explanation": (
            "A sha256 hash of the content changes entirely with any change, which is what makes "
            "it a reliable version id for data."
        ),
        "feedback": {
            0: "Section 5 changed one value of the training split, and its fingerprint changed.",
            2: "A cryptographic hash spreads any change over the whole digest: the new id shares "
            "no visible pattern with the old one.",
            3: "The fingerprint hashes the content, not the name: the split rebuilt from the "
            "source got the same id, the edited one a new id.",
        },
    },
}
check_yourself = question_bank(QUESTIONS)


# ------------------------------------------------------------------------------ results


def record_results(
    output_dir: str | os.PathLike,
    *,
    reports: Mapping[str, ValidationReport],
    tradeoff: pd.DataFrame,
    fingerprints: Mapping[str, str],
    model: TrainedModel,
    accuracy: Mapping[str, float],
    benign_share: float,
    training_refused_gaps: bool,
    blocked: Mapping[str, bool],
    window: tuple[float, float],
    sweep: pd.DataFrame,
    explorer: Explorer,
    sizes: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write what lesson 2 computed to ``output_dir/results.json`` (the course's tests read it).

    ``fingerprints`` maps "train", "train, rebuilt from the source", "train, one value changed"
    and "train, rows reversed" to their ids; ``model`` is the model trained on clean "train";
    ``sizes`` names frames whose (rows, columns) the lesson states, e.g. ``{"train": train}``.
    """
    fp = fingerprints
    return save_results(
        output_dir,
        {
            "anomaly_kinds": {
                name: sorted({a.kind for a in r.anomalies}) for name, r in reports.items()
            },
            "all_at_once_anomalies": len(reports["all at once"].anomalies),
            "slack_tradeoff": {col: tradeoff[col].tolist() for col in tradeoff.columns},
            "fingerprints": {
                "same_content_same_id": fp["train"] == fp["train, rebuilt from the source"],
                "one_value_changed_new_id": fp["train"] != fp["train, one value changed"],
                "row_order_new_id": fp["train"] != fp["train, rows reversed"],
                "model_records_data_version": model.metadata["data_fingerprint"] == fp["train"],
            },
            "accuracy": dict(accuracy),
            "benign_share": float(benign_share),
            "training_refused_gaps": bool(training_refused_gaps),
            "blocked_by_validation": dict(blocked),
            "unit_factor_window": [float(w) for w in window],
            "sweep": {col: sweep[col].tolist() for col in sweep.columns},
            "explorer": dict(explorer.last_result),
            "shapes": {name: list(frame.shape) for name, frame in (sizes or {}).items()},
        },
    )
