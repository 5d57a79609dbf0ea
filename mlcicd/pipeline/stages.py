"""The stages of the seed's loop, as :class:`~mlcicd.pipeline.runner.Stage` objects.

Thin adapters over the library's functions (split, infer_schema, validate_data, train_model,
evaluate_model, detect_drift) and over the release policy (:mod:`mlcicd.pipeline.release`: the
gate and the deploy), named after the stages of the loop.
Each adapter is a module-level function, so joblib and dask can send it to a worker process,
and each verdict turns a result into the outcome that stops a version (invalid data: failed; a
model the gate did not bless: rejected).

Context names used by the loop: ``train_data``, ``train_fingerprint``, ``holdout``, ``current``
(the monitored batch), ``target``, ``spec``, ``seed``, ``schema``, ``baseline_metrics``,
``production_metrics``, ``registry`` and ``version``; stage outputs are stored under the stage names.
"""

from __future__ import annotations

from typing import Any

from sklearn.dummy import DummyClassifier

from mlcicd.data import split
from mlcicd.evaluation import evaluate_model
from mlcicd.monitoring import detect_drift
from mlcicd.outcomes import FAILED, OK, REJECTED
from mlcicd.pipeline import release
from mlcicd.pipeline.runner import Stage
from mlcicd.training import ModelSpec, train_model
from mlcicd.validation import infer_schema, validate_data

DEFAULT_C = (0.1, 0.3, 1.0, 3.0, 10.0)
WORKER_STAGES = ("train", "evaluate", "monitor")
DRIVER_STAGES = ("validate_model", "deploy")


def default_grid() -> tuple[ModelSpec, ...]:
    """The specs ``run_versions(n)`` cycles through: logistic regression, C in ``DEFAULT_C``."""
    return tuple(ModelSpec("logistic_regression", {"C": c}) for c in DEFAULT_C)


# ---------------------------------------------------------------------------------- adapters


def split_frame(df, target, holdout, seed):
    return split(df, target, holdout=holdout, seed=seed)


def baseline(holdout, target):
    """Metrics of the most-frequent-class classifier fitted on the holdout labels."""
    model = DummyClassifier(strategy="most_frequent")
    model.fit(holdout.drop(columns=[target]), holdout[target].to_numpy())
    return evaluate_model(model, holdout, target)


def evaluate(trained, holdout, target):
    return evaluate_model(trained.model, holdout, target)


def monitor(reference, current, target, trained):
    return detect_drift(reference, current, target=target, model=trained.model)


def gate(metrics, baseline_metrics, production_metrics, thresholds, tolerance):
    return release.decide_on_metrics(
        metrics, baseline_metrics, production_metrics, thresholds, tolerance
    )


def deploy(registry, trained, decision, schema, version):
    """The registry's :class:`~mlcicd.registry.ModelVersion` deployed (its ``already_deployed``
    says whether the model was there before); without a registry, the loop's version number.
    A decision the gate did not bless deploys nothing (``None``; the gate's verdict has already
    stopped such a version)."""
    return release.release(registry, trained, decision, schema=schema, version=version)


# ---------------------------------------------------------------------------------- verdicts


def data_verdict(report) -> tuple[str, str] | None:
    if report.valid:
        return None
    kinds = ", ".join(f"{a.column}: {a.kind}" for a in report.anomalies[:3])
    more = ", ..." if len(report.anomalies) > 3 else ""
    return FAILED, f"{len(report.anomalies)} data anomalies ({kinds}{more})"


def gate_verdict(decision) -> tuple[str, str] | None:
    why = release.refusal(decision)
    return None if why is None else (REJECTED, why)


def drift_verdict(report) -> tuple[str, str]:
    return OK, "retrain" if report.retrain else ""


# ---------------------------------------------------------------------------------- stages


def setup_stages(holdout: float, seed: int) -> dict[str, Stage]:
    return {
        "split": Stage("split", split_frame, {"holdout": holdout, "seed": seed}),
        "baseline": Stage("baseline", baseline),
        "infer_schema": Stage("infer_schema", infer_schema, inputs={"df": "train_data"}),
    }


def validation_stage() -> Stage:
    return Stage("validate_data", validate_data, inputs={"df": "train_data"}, verdict=data_verdict)


def worker_stages() -> list[Stage]:
    """The pure, costly part of a version: what runs in parallel."""
    return [
        Stage(
            "train",
            train_model,
            inputs={"df": "train_data", "data_fingerprint": "train_fingerprint"},
        ),
        Stage("evaluate", evaluate, inputs={"trained": "train"}),
        Stage(
            "monitor",
            monitor,
            inputs={"reference": "train_data", "trained": "train"},
            verdict=drift_verdict,
        ),
    ]


def driver_stages(thresholds: Any, tolerance: float) -> list[Stage]:
    """The gate and the deploy: in version order, in the driver, never cached."""
    params = {"thresholds": thresholds, "tolerance": tolerance}
    return [
        Stage("validate_model", gate, params, {"metrics": "evaluate"}, gate_verdict, False),
        Stage(
            "deploy",
            deploy,
            inputs={"trained": "train", "decision": "validate_model"},
            cacheable=False,
        ),
    ]


def production_stage() -> Stage:
    """The production model scored on a holdout it has not been scored on yet (cached: the
    key holds the model's fingerprint, so a re-run need not load the model to score it)."""
    return Stage("evaluate_production", evaluate)
