"""What lessons 2-4 compute and draw: broken data batches, the quality gate, the model registry.

The notebooks call these functions (and the explorers built from them); the tests call them too,
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
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlcicd.data import TARGET, fingerprint
from mlcicd.errors import InputError
from mlcicd.evaluation import METRICS, GateDecision, evaluate_model, validate_model
from mlcicd.registry import ModelVersion, Registry
from mlcicd.training import (
    ModelSpec,
    TrainedModel,
    load_model,
    model_fingerprint,
    save_model,
    train_model,
)
from mlcicd.validation import ColumnSchema, Schema, ValidationReport, infer_schema, validate_data
from mlcicd.widgets import Explorer

UNIT_COLUMN = "mean_radius"  # the column the lessons put into a wrong unit
GOOD, BAD, GREY, BLUE = "#2a9d4b", "#c0392b", "#7f8c8d", "#1f77b4"

# ---------------------------------------------------------------- lesson 2: data validation


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


def _check_share(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InputError(f"{name}={value!r}: expected a share in [0, 1]")
    return float(value)


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


def _accuracy(trained: TrainedModel, holdout: pd.DataFrame, target: str) -> float:
    return evaluate_model(trained.model, holdout, target)["accuracy"]


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


def _two_panels(ax):
    fig, spec = ax.figure, ax.get_subplotspec().subgridspec(1, 2, wspace=0.4)
    ax.remove()
    return fig.add_subplot(spec[0]), fig.add_subplot(spec[1])


def draw_corruption(result: Mapping, ax) -> None:
    left, right = _two_panels(ax)
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


# ---------------------------------------------------------------- lesson 3: the quality gate


def shuffle_labels(
    df: pd.DataFrame, target: str = TARGET, share: float = 1.0, seed: int = 0
) -> pd.DataFrame:
    """A copy of ``df`` whose labels are permuted among a random ``share`` of the rows."""
    share = _check_share("share", share)
    if target not in df.columns:
        raise InputError(f"target column {target!r}: not in the data")
    rng = np.random.default_rng(seed)
    chosen = np.flatnonzero(rng.random(len(df)) < share)
    labels = df[target].to_numpy().copy()
    labels[chosen] = labels[rng.permutation(chosen)]
    return df.assign(**{target: labels})


def train_candidates(
    train: pd.DataFrame,
    specs: Mapping[str, ModelSpec],
    target: str = TARGET,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, TrainedModel]:
    """Train each named spec on ``train``."""
    items = tqdm(list(specs.items()), desc="training", disable=not progress)
    return {name: train_model(train, target, spec, seed) for name, spec in items}


def _passed(decision: GateDecision, prefix: str) -> bool:
    return all(c.passed for c in decision.checks if c.name.startswith(prefix))


def gate_report(
    candidates: Mapping[str, TrainedModel],
    holdout: pd.DataFrame,
    *,
    production: TrainedModel | None = None,
    target: str = TARGET,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = 0.01,
) -> tuple[pd.DataFrame, dict[str, GateDecision]]:
    """Gate every candidate against ``production`` and the baseline on ``holdout``."""
    prod = None if production is None else production.model
    decisions = {
        name: validate_model(
            m.model,
            holdout,
            target,
            production_model=prod,
            thresholds=thresholds,
            tolerance=tolerance,
        )
        for name, m in candidates.items()
    }
    rows = [
        {
            "model": name,
            **{k: d.metrics[k] for k in ("accuracy", "balanced_accuracy", "f1", "roc_auc")},
            "threshold": _passed(d, "threshold_"),
            "no_regression": _passed(d, "no_regression"),
            "beats_baseline": _passed(d, "beats_baseline"),
            "blessed": d.blessed,
            "reasons": "; ".join(d.reasons),
        }
        for name, d in decisions.items()
    ]
    return pd.DataFrame(rows), decisions


def _gate_lines(ax, threshold: float, production: float | None, tolerance: float, baseline: float):
    ax.axvline(threshold, color="black", ls="--", label=f"threshold {threshold:.2f}")
    if production is not None:
        ax.axvline(
            production - tolerance,
            color=BLUE,
            ls=":",
            label=f"production {production:.3f} - tolerance {tolerance:.2f}",
        )
    ax.axvline(baseline, color=GREY, ls="-.", label=f"baseline {baseline:.3f}")


def _bar_values(ax, values) -> None:
    """Write each horizontal bar's value at its end; zoom the x axis on the values."""
    values = list(values)
    for i, v in enumerate(values):
        ax.text(v + 0.003, i, f"{v:.3f}", va="center", fontsize=8)
    ax.set_xlim(max(0.0, min(values) - 0.1), 1.04)


def draw_gate_overview(table: pd.DataFrame, decisions: Mapping[str, GateDecision], ax) -> None:
    """Holdout accuracy per candidate (green blessed, red rejected) against the gate's lines."""
    first = next(iter(decisions.values()))
    prod = first.production_metrics["accuracy"] if first.production_metrics else None
    colours = [GOOD if b else BAD for b in table["blessed"]]
    ax.barh(table["model"], table["accuracy"], color=colours)
    _gate_lines(
        ax,
        first.thresholds.get("accuracy", 0.0),
        prod,
        first.tolerance,
        first.baseline_metrics["accuracy"],
    )
    _bar_values(ax, table["accuracy"])
    ax.invert_yaxis()
    ax.set_xlabel(f"holdout accuracy (fraction of {first.metrics['n_rows']} rows)")
    ax.set_title("The quality gate: green blessed, red rejected")
    ax.legend(loc="lower right", fontsize=8)


def code_checks(
    trained: TrainedModel,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str = TARGET,
    workdir: str | Path | None = None,
) -> pd.DataFrame:
    """The tests a software pipeline would run on the model code: shapes, types, determinism,
    provenance, and (with ``workdir``) a save/load round trip. They say nothing about accuracy."""
    model, X = trained.model, holdout.drop(columns=[target])
    predicted = model.predict(X)
    proba = model.predict_proba(X)
    again = train_model(train, target, trained.spec, trained.metadata["seed"])
    checks = [
        ("one prediction per row", len(predicted) == len(X), f"{len(predicted)} for {len(X)}"),
        (
            "predictions are known labels",
            set(np.unique(predicted)) <= set(train[target].unique()),
            f"labels {sorted(np.unique(predicted).tolist())}",
        ),
        (
            "probabilities in [0, 1], rows sum to 1",
            bool(((proba >= 0) & (proba <= 1)).all() and np.allclose(proba.sum(axis=1), 1)),
            f"{proba.shape[1]} classes",
        ),
        (
            "retraining with the same seed gives the same model",
            model_fingerprint(again.model) == model_fingerprint(model),
            f"seed {trained.metadata['seed']}",
        ),
        (
            "metadata names the training data version",
            trained.metadata["data_fingerprint"] == fingerprint(train),
            trained.metadata["data_fingerprint"][:12],
        ),
    ]
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        path = save_model(trained, Path(workdir) / "code-check.skops")
        same = np.array_equal(load_model(path).model.predict(X), predicted)
        checks.append(("save and load keep the predictions", same, path.name))
    return pd.DataFrame(checks, columns=["check", "passed", "detail"])


def gate_explorer_compute(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    production: TrainedModel,
    *,
    model: str,
    max_depth: int,
    threshold: float,
    label_noise: float,
    target: str = TARGET,
    tolerance: float = 0.01,
    n_estimators: int = 50,
    seed: int = 0,
) -> dict:
    """Train one tree model of the chosen depth (on labels shuffled for ``label_noise`` of the
    rows), then gate it against ``production`` with an accuracy threshold of ``threshold``."""
    params: dict[str, Any] = {"max_depth": int(max_depth)}
    if model in ("random_forest", "gradient_boosting"):
        params["n_estimators"] = int(n_estimators)
    data = shuffle_labels(train, target, label_noise, seed) if label_noise else train
    trained = train_model(data, target, ModelSpec(model, params), seed)
    decision = validate_model(
        trained.model,
        holdout,
        target,
        production_model=production.model,
        thresholds={"accuracy": threshold},
        tolerance=tolerance,
    )
    return {
        "model": model,
        "params": params,
        "label_noise": float(label_noise),
        "train_accuracy": _accuracy(trained, data, target),
        "decision": decision,
    }


def draw_gate(result: Mapping, ax) -> None:
    d = result["decision"]
    names = [
        "candidate (training data)",
        "candidate (holdout)",
        "production (holdout)",
        "baseline (holdout)",
    ]
    values = [
        result["train_accuracy"],
        d.metrics["accuracy"],
        d.production_metrics["accuracy"],
        d.baseline_metrics["accuracy"],
    ]
    ax.barh(names, values, color=[GREY, GOOD if d.blessed else BAD, BLUE, GREY])
    _gate_lines(
        ax,
        d.thresholds["accuracy"],
        d.production_metrics["accuracy"],
        d.tolerance,
        d.baseline_metrics["accuracy"],
    )
    _bar_values(ax, values)
    ax.invert_yaxis()
    ax.set_xlabel("accuracy (fraction of rows)")
    params = ", ".join(f"{k}={v}" for k, v in result["params"].items())
    verdict = "BLESSED" if d.blessed else "REJECTED"
    ax.set_title(f"{result['model']} ({params}): {verdict}")
    ax.legend(loc="lower right", fontsize=8)


def describe_gate(result: Mapping) -> str:
    d = result["decision"]
    why = "all three checks pass" if d.blessed else "; ".join(d.reasons)
    return (
        f"{result['model']}, {result['label_noise']:.0%} labels shuffled: holdout accuracy "
        f"{d.metrics['accuracy']:.3f} -> {'BLESSED' if d.blessed else 'REJECTED'} ({why})"
    )


def gate_explorer(train, holdout, production, *, target=TARGET, n_estimators=50, seed=0):
    """Model family, tree depth, accuracy threshold and label noise -> retrain and gate."""
    import ipywidgets as w

    style = {"description_width": "initial"}
    controls = {
        "model": w.Dropdown(
            options=["decision_tree", "random_forest", "gradient_boosting"],
            value="decision_tree",
            description="model",
        ),
        "max_depth": w.IntSlider(value=3, min=1, max=12, description="max depth", style=style),
        "threshold": w.FloatSlider(
            value=0.9, min=0.8, max=0.99, step=0.01, description="threshold", style=style
        ),
        "label_noise": w.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.1, description="labels shuffled", style=style
        ),
    }
    compute = functools.partial(
        gate_explorer_compute,
        train,
        holdout,
        production,
        target=target,
        n_estimators=n_estimators,
        seed=seed,
    )
    return Explorer(controls, compute, draw_gate, describe_gate, figsize=(9, 4))


# ---------------------------------------------------------------- lesson 4: the registry


def fresh_registry(root: str | Path) -> Registry:
    """An empty registry at ``root``. A registry left there by an earlier run (a folder with
    ``versions/`` or ``aliases.json``) is removed first; any other non-empty folder is refused."""
    root = Path(root)
    if root.exists():
        if not root.is_dir():
            raise InputError(f"registry {root}: exists and is not a folder")
        is_registry = (root / "versions").is_dir() or (root / "aliases.json").is_file()
        if not is_registry and any(root.iterdir()):
            raise InputError(
                f"registry {root}: a non-empty folder that is not a registry "
                "(no versions/ or aliases.json); refusing to delete it"
            )
        shutil.rmtree(root)
    return Registry(root)


def gate_and_deploy(
    registry: Registry,
    trained: TrainedModel,
    holdout: pd.DataFrame,
    *,
    schema: Schema | None = None,
    target: str = TARGET,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = 0.01,
) -> tuple[GateDecision, ModelVersion]:
    """Gate ``trained`` against the registry's production model on ``holdout``, then deploy it
    (:class:`~mlcicd.errors.CheckFailed` from the registry when the gate does not bless it)."""
    current = registry.production()
    decision = validate_model(
        trained.model,
        holdout,
        target,
        production_model=None if current is None else current.model,
        thresholds=thresholds,
        tolerance=tolerance,
    )
    return decision, registry.deploy(trained, decision, schema=schema)


def registry_snapshot(registry: Registry, step: str) -> dict:
    """The aliases and version count after ``step`` (JSON-serialisable)."""
    aliases = registry.aliases()
    return {
        "step": step,
        "production": aliases.get("production"),
        "previous": aliases.get("previous"),
        "n_versions": len(registry.versions()),
        "history": registry.history(),
    }


def versions_table(registry: Registry) -> pd.DataFrame:
    """What the registry knows about each version (hashes shortened to 12 hex digits)."""
    aliases = {v: a for a, v in registry.aliases().items()}
    rows = [
        {
            "version": v.version,
            "alias": aliases.get(v.version, ""),
            "model": v.metadata["model_name"],
            "params": json.dumps(v.metadata["params"], sort_keys=True),
            "accuracy": v.metadata["metrics"]["accuracy"],
            "gate_threshold": v.metadata["gate"]["thresholds"].get("accuracy"),
            "data_fingerprint": str(v.metadata["data_fingerprint"])[:12],
            "artifact_sha256": v.metadata["artifact_sha256"][:12],
        }
        for v in registry.versions()
    ]
    return pd.DataFrame(rows)


def draw_timeline(snapshots: Sequence[Mapping], ax) -> None:
    """Which version served (and which was the fallback) after each step; a red cross marks a
    step that changed nothing (a refused deploy)."""
    x = np.arange(len(snapshots))
    prod = [np.nan if s["production"] is None else s["production"] for s in snapshots]
    prev = [np.nan if s["previous"] is None else s["previous"] for s in snapshots]
    ax.step(x, prod, where="post", color=GOOD, lw=2, marker="o", label="production")
    ax.step(
        x, prev, where="post", color=GREY, ls=":", marker="s", label="previous (rollback target)"
    )
    keys = ("production", "previous", "n_versions")
    same = [i for i in x[1:] if all(snapshots[i][k] == snapshots[i - 1][k] for k in keys)]
    if same:
        ax.plot(
            x[same],
            [prod[i] for i in same],
            "x",
            color=BAD,
            ms=12,
            mew=3,
            label="operation changed nothing (refused)",
        )
    ax.set_xticks(x, [s["step"] for s in snapshots], rotation=25, ha="right")
    top = max([s["n_versions"] for s in snapshots] + [1])
    ax.set_yticks(range(1, top + 1))
    ax.set_ylim(0.5, top + 0.5)
    ax.set_xlabel("registry operation (in order)")
    ax.set_ylabel("model version (number)")
    ax.set_title("Registry aliases over time")
    ax.legend(loc="upper left")


def live_accuracy(
    registry: Registry,
    batches: Sequence[pd.DataFrame],
    refs: Sequence[str | int] = ("production", "previous"),
    target: str = TARGET,
) -> pd.DataFrame:
    """Accuracy of each referenced (hash-verified) model on each labelled production week."""
    rows = []
    for ref in refs:
        number, model = registry.get(ref).version, registry.load(ref).model
        for week, batch in enumerate(batches, start=1):
            acc = evaluate_model(model, batch, target)["accuracy"]
            rows.append({"week": week, "alias": str(ref), "version": number, "accuracy": acc})
    return pd.DataFrame(rows, columns=["week", "alias", "version", "accuracy"])


def rollback_decision(
    live: pd.DataFrame, *, min_accuracy: float = 0.90, tolerance: float = 0.01
) -> tuple[bool, tuple[str, ...]]:
    """Roll back when production's mean live accuracy misses ``min_accuracy`` or trails the
    previous model on the same weeks by more than ``tolerance``."""
    mean = live.groupby("alias")["accuracy"].mean()
    version = live.groupby("alias")["version"].first()
    if "production" not in mean:
        raise InputError("live: no rows for the production model")
    prod, reasons = mean["production"], []
    if prod < min_accuracy:
        reasons.append(
            f"production v{version['production']} live accuracy {prod:.3f} < {min_accuracy:.3f}"
        )
    if "previous" in mean and mean["previous"] - prod > tolerance:
        reasons.append(
            f"production v{version['production']} trails previous v{version['previous']} by "
            f"{mean['previous'] - prod:.3f} (tolerance {tolerance:.3f})"
        )
    return bool(reasons), tuple(reasons)


def draw_live_accuracy(live: pd.DataFrame, ax, min_accuracy: float = 0.90) -> None:
    for (alias, version), part in live.groupby(["alias", "version"], sort=False):
        colour = BAD if alias == "production" else GREY
        ax.plot(part["week"], part["accuracy"], "o-", color=colour, label=f"{alias}: v{version}")
    ax.axhline(min_accuracy, color="black", ls="--", label=f"required {min_accuracy:.2f}")
    ax.set_ylim(0.5, 1.0)
    ax.set_xticks(sorted(live["week"].unique()))
    ax.set_xlabel("production week")
    ax.set_ylabel("accuracy on the week's labelled rows (fraction)")
    ax.set_title("Monitoring the live models")
    ax.legend(loc="lower left")


def tamper_copy(
    registry: Registry, dest: str | Path, *, version: int, replacement: TrainedModel
) -> Path:
    """Copy ``registry`` to ``dest`` and overwrite one version's model file there with another,
    valid model file: only the recorded sha256 can tell. Returns the replaced file."""
    copy = fresh_registry(dest)
    shutil.copytree(registry.root, copy.root)
    return save_model(replacement, copy.get(version).model_file)


def reproduce_version(
    registry: Registry, ref: str | int, data: pd.DataFrame, target: str = TARGET
) -> dict:
    """Is ``data`` the data version ``ref`` was trained on, and does retraining with its recorded
    spec and seed give the identical model?"""
    version = registry.get(ref)
    meta = version.metadata
    spec = ModelSpec(meta["model_name"], meta["params"])
    retrained = train_model(data, target, spec, meta["training"]["seed"])
    return {
        "version": version.version,
        "same_data": fingerprint(data) == meta["data_fingerprint"],
        "same_model": model_fingerprint(retrained.model) == meta["model_fingerprint"],
    }


def version_explorer_compute(
    registry: Registry, holdout: pd.DataFrame, *, version: int, metric: str, target: str = TARGET
) -> dict:
    """Load every version (hash-verified) and score it on ``holdout``; ``version`` is selected."""
    if metric not in METRICS:
        raise InputError(f"metric {metric!r}: unknown (known: {', '.join(METRICS)})")
    versions = registry.versions()
    scores = {
        v.version: evaluate_model(registry.load(v.version).model, holdout, target) for v in versions
    }
    if version not in scores:
        raise InputError(f"version {version!r}: not in the registry (versions: {list(scores)})")
    return {
        "selected": int(version),
        "metric": metric,
        "scores": scores,
        "models": {v.version: v.metadata["model_name"] for v in versions},
        "aliases": registry.aliases(),
    }


def draw_versions(result: Mapping, ax) -> None:
    metric, numbers = result["metric"], list(result["scores"])
    values = [result["scores"][n][metric] or 0.0 for n in numbers]
    colours = [BLUE if n == result["selected"] else GREY for n in numbers]
    labels = [f"v{n}\n{result['models'][n]}" for n in numbers]
    ax.bar(labels, values, color=colours)
    aliases = {n: alias for alias, n in result["aliases"].items()}
    for i, (n, v) in enumerate(zip(numbers, values, strict=True)):
        ax.text(
            i,
            v + 0.01,
            f"{v:.3f}\n{aliases[n]}" if n in aliases else f"{v:.3f}",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(0.5, 1.05)
    ax.set_xlabel("registry version")
    rows = next(iter(result["scores"].values()))["n_rows"]
    ax.set_ylabel(f"{metric} on the holdout (fraction of {rows} rows)")
    ax.set_title(f"Version v{result['selected']} against the others")


def describe_versions(result: Mapping) -> str:
    n, metric = result["selected"], result["metric"]
    aliases = ", ".join(f"{a}: v{v}" for a, v in result["aliases"].items())
    return (
        f"v{n} ({result['models'][n]}): {metric} {result['scores'][n][metric]:.3f} "
        f"on the holdout; {aliases}"
    )


def version_explorer(registry: Registry, holdout: pd.DataFrame, *, target=TARGET) -> Explorer:
    """A dropdown of the registry's versions and one of the metrics."""
    import ipywidgets as w

    options = [(f"v{v.version} {v.metadata['model_name']}", v.version) for v in registry.versions()]
    if not options:
        raise InputError(f"registry {registry.root}: no version to explore")
    controls = {
        "version": w.Dropdown(options=options, value=options[-1][1], description="version"),
        "metric": w.Dropdown(
            options=[m for m in METRICS if m != "roc_auc"], value="accuracy", description="metric"
        ),
    }
    compute = functools.partial(version_explorer_compute, registry, holdout, target=target)
    return Explorer(controls, compute, draw_versions, describe_versions, figsize=(8, 4))
