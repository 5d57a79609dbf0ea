"""What lesson 4 (deployment and rollback) computes and draws: a versioned model registry, its
aliases over time, a rollback decided from live accuracy, a tampered artifact, a reproduced
version.

The notebook calls these functions (and the explorer built from them); the tests call them too,
without a browser. Each ``draw_*`` function plots on a matplotlib axis it is given.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlcicd.data import TARGET, fingerprint
from mlcicd.errors import InputError
from mlcicd.evaluation import METRICS, GateDecision, evaluate_model, validate_model
from mlcicd.lessons._common import BAD, BLUE, GOOD, GREY
from mlcicd.registry import ModelVersion, Registry
from mlcicd.training import ModelSpec, TrainedModel, model_fingerprint, save_model, train_model
from mlcicd.validation import Schema
from mlcicd.widgets import Explorer


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
