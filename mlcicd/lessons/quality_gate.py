"""What lesson 3 (training and the quality gate) computes and draws: candidate models gated
against a threshold, the production model and a baseline, and the code checks a useless model
still passes.

The notebook calls these functions (and the explorer built from them); the tests call them too,
without a browser. Each ``draw_*`` function plots on a matplotlib axis it is given.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlcicd.data import TARGET, fingerprint
from mlcicd.errors import InputError
from mlcicd.evaluation import GateDecision, validate_model
from mlcicd.lessons._common import BAD, BLUE, GOOD, GREY, _accuracy, _check_share
from mlcicd.training import (
    ModelSpec,
    TrainedModel,
    load_model,
    model_fingerprint,
    save_model,
    train_model,
)
from mlcicd.widgets import Explorer


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
