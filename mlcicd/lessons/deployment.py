"""What lesson 4 (deployment and rollback) computes and draws: a versioned model registry, its
aliases over time, a rollback decided from live accuracy (for a bad deploy, not for drift), a
tampered artifact, a reproduced version; the lesson's self-checks and results.

The notebook calls these functions (and the explorer built from them); the tests call them too,
without a browser. Each ``draw_*`` function plots on a matplotlib axis it is given.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlcicd.course import save_results
from mlcicd.course.widgets import Explorer, question_bank
from mlcicd.data import TARGET, fingerprint
from mlcicd.errors import InputError
from mlcicd.evaluation import METRICS, GateDecision, evaluate_model
from mlcicd.lessons._common import BAD, BLUE, GOOD, GREY
from mlcicd.pipeline import release
from mlcicd.registry import ModelVersion, Registry
from mlcicd.training import ModelSpec, TrainedModel, model_fingerprint, save_model, train_model
from mlcicd.validation import Schema


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
    (:class:`~mlcicd.errors.CheckFailed` when the gate does not bless it); the policy is
    :func:`mlcicd.pipeline.release.gate_and_release`."""
    return release.gate_and_release(
        registry,
        trained,
        holdout,
        target,
        schema=schema,
        thresholds=thresholds,
        tolerance=tolerance,
        strict=True,
    )


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
    """Roll back or not, from :func:`live_accuracy`'s weeks: each model's mean live accuracy
    goes to :func:`mlcicd.pipeline.release.rollback_policy` (roll back when production trails the
    previous model on the same weeks; when both miss ``min_accuracy``, retrain instead)."""
    mean = live.groupby("alias")["accuracy"].mean()
    version = live.groupby("alias")["version"].first()
    if "production" not in mean:
        raise InputError("live: no rows for the production model")
    previous = (version["previous"], mean["previous"]) if "previous" in mean else None
    return release.rollback_policy(
        (version["production"], mean["production"]),
        previous,
        min_accuracy=min_accuracy,
        tolerance=tolerance,
    )


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


# ------------------------------------------------------------------------------ self-checks

QUESTIONS = {
    "commit_is_not_enough": {
        "question": (
            "An auditor asks what produced the model that served last March. For the web shop's "
            "checkout service, the commit hash of the release answers the same question. Why is "
            "a commit hash not enough for the model?"
        ),
        "options": [
            "It is enough: the training code in that commit determines the model",
            "The model also depends on the data version and the training settings, so those "
            "must be versioned and recorded with the model, too",
            "Git cannot store binary files such as model files",
            "It is never answerable: retrained models cannot be traced",
        ],
        "answer": 1,
        "explanation": (
            "A model is code plus data plus training settings. The registry records all three "
            "with each version (data fingerprint, parameters and seed, gate decision, file hash), "
            "which is what lets section 6 retrain versions 1 to 3 into identical models."
        ),
        "feedback": {
            0: "The same code trained on another data version gives another model: version 4 "
            "here came from the same code as version 3 and a broken batch.",
            2: "Git can store binary files; the trouble is that the file alone does not say which "
            "data and settings produced it.",
            3: "They can, when the pipeline records the data fingerprint, the parameters and the "
            "seed: versions 1 to 3 retrained into the identical models.",
        },
    },
    "what_rollback_does": {
        "question": (
            "Production v4 turns out bad and you call registry.rollback(). What happens to v4?"
        ),
        "options": [
            "It is deleted from the registry",
            "It stops serving but stays in the registry as a record",
            "It becomes the 'previous' version, ready to come back",
            "It is retrained automatically on fresh data",
        ],
        "answer": 1,
        "explanation": (
            "Rollback moves the aliases back (production v3, previous v2); versions are never "
            "changed or removed, so v4 remains for the audit."
        ),
        "feedback": {
            0: "The registry only ever adds: after the rollback above, 'versions kept' still "
            "lists v4.",
            2: "The aliases move back along the history: the old 'previous' (v3) serves and the "
            "one before it (v2) becomes 'previous'.",
            3: "Rollback changes which existing version serves; nothing is trained.",
        },
    },
    "rollback_or_retrain": {
        "question": (
            "Three weeks after a deploy, the live accuracy of production v7 falls below the "
            "required level. Scored on the same labelled weeks, the previous version v6 falls "
            "just as far. What should the team do?"
        ),
        "options": [
            "Roll back to v6: rollback is the safe answer to any drop in live accuracy",
            "Retrain on recent labelled data and gate the new model: the data changed, not the "
            "deploy",
            "Lower the required accuracy until the alarm stops",
            "Delete v7 from the registry so it can never serve again",
        ],
        "answer": 1,
        "explanation": (
            "Rollback undoes a bad deploy: it helps when the previous version does better on the "
            "same live data. When both fall together, the world moved away from the training "
            "data; a model trained on recent data, gated as usual, is the fix (lesson 5)."
        ),
        "feedback": {
            0: "v6 is no better on the same weeks, so serving it fixes nothing; section 4's "
            "drifted weeks show the decision rule refusing this rollback.",
            2: "That hides the problem from the monitor; the model still answers worse.",
            3: "The registry never deletes a version: it is the record of what served. And v7 "
            "is not worse than v6 here.",
        },
    },
    "hash_check": {
        "question": (
            "The registry refuses a model file whose sha256 does not match its record. Why not "
            "just load it?"
        ),
        "options": [
            "A changed file would load more slowly",
            "The hash proves the file is the exact model that passed the gate; any other file "
            "is not",
            "skops cannot read a file after it has been changed",
            "The registry also refuses files that were only renamed",
        ],
        "answer": 1,
        "explanation": (
            "The replaced file in section 5 was a perfectly valid model, just not the one that "
            "was gated. Only the recorded hash can tell."
        ),
        "feedback": {
            0: "Speed has nothing to do with it: the replaced file loaded fine as a plain file.",
            2: "It can: section 5 loaded the replaced file without complaint. The file was "
            "valid, just not the gated one.",
            3: "The hash covers the file's content, not its name; the check is about which "
            "model the bytes are.",
        },
    },
}
check_yourself = question_bank(QUESTIONS)


# ------------------------------------------------------------------------------ results


def record_results(
    output_dir: str | os.PathLike,
    *,
    registry: Registry,
    steps: Sequence[Mapping],
    refused: str,
    bad_version: ModelVersion,
    bad_decision: GateDecision,
    intended: GateDecision,
    live: pd.DataFrame,
    rollback: tuple[bool, Sequence[str]],
    drift_live: pd.DataFrame,
    drift_rollback: tuple[bool, Sequence[str]],
    tamper_detected: bool,
    reproduced: pd.DataFrame,
    explorer: Explorer,
) -> Path:
    """Write what lesson 4 computed to ``output_dir/results.json`` (the course's tests read it).

    ``rollback`` and ``drift_rollback`` are :func:`rollback_decision` results for the bad deploy
    and for the drifted weeks; ``reproduced`` is indexed by version.
    """
    versions = registry.versions()
    return save_results(
        output_dir,
        {
            "versions": [v.version for v in versions],
            "models": {v.version: v.metadata["model_name"] for v in versions},
            "gate_thresholds": {
                v.version: v.metadata["gate"]["thresholds"].get("accuracy") for v in versions
            },
            "steps": list(steps),
            "refused_deploy": refused,
            "bad_version": bad_version.version,
            "bad_accuracy": bad_decision.metrics["accuracy"],
            "bad_blessed_by_loosened_gate": bad_decision.blessed,
            "intended_gate_reasons": list(intended.reasons),
            "live_accuracy": live.groupby("alias")["accuracy"].mean().round(6).to_dict(),
            "roll_back": rollback[0],
            "rollback_reasons": list(rollback[1]),
            "drift_live_accuracy": drift_live.groupby("alias")["accuracy"]
            .mean()
            .round(6)
            .to_dict(),
            "drift_versions": drift_live.groupby("alias")["version"].first().to_dict(),
            "drift_roll_back": drift_rollback[0],
            "drift_reasons": list(drift_rollback[1]),
            "rollback_target": registry.get("production").version,
            "aliases": registry.aliases(),
            "tamper_detected": bool(tamper_detected),
            "reproduced": {
                int(v): {"same_data": bool(row.same_data), "same_model": bool(row.same_model)}
                for v, row in reproduced.iterrows()
            },
            "explorer": {
                "selected": explorer.last_result["selected"],
                "scores": {v: s["accuracy"] for v, s in explorer.last_result["scores"].items()},
                "summary": explorer.summary,
            },
        },
    )
