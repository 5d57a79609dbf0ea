"""The release policy, in one place: gate a candidate against production, then deploy it or not;
roll back or retrain when production goes wrong; retrain when the monitor (or the calendar) says.

Composed from the steps: :func:`mlcicd.evaluation.validate_model` and
:func:`~mlcicd.evaluation.quality_gate` decide, :meth:`mlcicd.registry.Registry.deploy` deploys.
Every face calls these functions: the loop's gate and deploy stages
(:mod:`mlcicd.pipeline.stages`), the command line's ``test-model`` and ``deploy``
(:mod:`mlcicd.cli`, which keeps its gate-file protocol), and the lessons (deployment, monitoring,
workflow), whose modules only wrap them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcicd.errors import CheckFailed, InputError
from mlcicd.evaluation import DEFAULT_TOLERANCE, GateDecision, quality_gate, validate_model

RETRAIN_POLICIES = ("never", "on_drift", "every_week")
LIVE_VERDICTS = ("keep", "rollback", "retrain")


# ---------------------------------------------------------------------------------- the gate


def production_model(registry: Any) -> Any:
    """The registry's production model (the fitted estimator), or ``None`` without a registry or
    before the first deploy."""
    if registry is None:
        return None
    current = registry.production()
    return None if current is None else current.model


def decide(
    candidate_model: Any,
    holdout: Any,
    target: str,
    *,
    production_model: Any = None,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    require_significance: bool = False,
) -> GateDecision:
    """Gate a fitted candidate against ``production_model`` (``None``: no production yet) on
    ``holdout``: above the thresholds, no worse than production beyond ``tolerance``, better
    than the most-frequent-class baseline (see :func:`mlcicd.evaluation.validate_model`)."""
    return validate_model(
        candidate_model,
        holdout,
        target,
        production_model=production_model,
        thresholds=thresholds,
        tolerance=tolerance,
        require_significance=require_significance,
    )


def decide_on_metrics(
    metrics: Mapping[str, Any],
    baseline_metrics: Mapping[str, Any],
    production_metrics: Mapping[str, Any] | None,
    thresholds: Mapping[str, float] | None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> GateDecision:
    """:func:`decide` when the candidate, the baseline and production are already scored (the
    loop scores them in its own, cached stages)."""
    return quality_gate(
        metrics,
        baseline_metrics=baseline_metrics,
        production_metrics=production_metrics,
        thresholds=thresholds,
        tolerance=tolerance,
    )


# ---------------------------------------------------------------------------------- the deploy


def refusal(decision: GateDecision) -> str | None:
    """Why ``decision`` may not be released (one line), or ``None`` when it may (it is blessed)."""
    if not isinstance(decision, GateDecision):
        raise InputError(f"release: expected a GateDecision, got {type(decision).__name__}")
    if decision.blessed:
        return None
    return "; ".join(decision.reasons) or "the gate rejected it"


def release(
    registry: Any,
    trained: Any,
    decision: GateDecision,
    *,
    schema: Any = None,
    version: Any = None,
    strict: bool = False,
) -> Any:
    """Deploy ``trained`` when ``decision`` blessed it, never otherwise.

    With a registry: the :class:`~mlcicd.registry.ModelVersion` now in production (its
    ``already_deployed`` says whether the model was there before); without one, ``version`` (the
    caller's own version count). A rejected decision deploys nothing and leaves the registry as it
    was: ``None``, or with ``strict`` a :class:`~mlcicd.errors.CheckFailed` saying why.
    """
    why = refusal(decision)
    if why is not None:
        if strict:
            raise CheckFailed(f"deploy refused: the quality gate did not bless the model ({why})")
        return None
    if registry is None:
        return version
    return registry.deploy(trained, decision, schema=schema)


def gate_and_release(
    registry: Any,
    trained: Any,
    holdout: Any,
    target: str,
    *,
    schema: Any = None,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    strict: bool = True,
) -> tuple[GateDecision, Any]:
    """:func:`decide` ``trained`` against the registry's production model, then :func:`release`
    it: ``(decision, version)`` (``strict``: a rejected model raises ``CheckFailed``)."""
    decision = decide(
        trained.model,
        holdout,
        target,
        production_model=production_model(registry),
        thresholds=thresholds,
        tolerance=tolerance,
    )
    return decision, release(registry, trained, decision, schema=schema, strict=strict)


# ---------------------------------------------------------------------------------- afterwards


def retrain_policy(policy: str, monitor_retrain: bool) -> bool:
    """Whether to train a candidate now: ``"never"``, ``"on_drift"`` (when the monitor calls for
    retraining) or ``"every_week"``."""
    if policy not in RETRAIN_POLICIES:
        raise InputError(f"policy={policy!r}: unknown (allowed: {', '.join(RETRAIN_POLICIES)})")
    return policy == "every_week" or (policy == "on_drift" and bool(monitor_retrain))


def rollback_policy(
    production: tuple[Any, float],
    previous: tuple[Any, float] | None,
    *,
    min_accuracy: float = 0.90,
    tolerance: float = DEFAULT_TOLERANCE,
) -> tuple[bool, tuple[str, ...]]:
    """Roll back when the deploy made things worse: on the same live rows, production trails the
    previous model by more than ``tolerance`` and the previous model meets ``min_accuracy``.

    ``production`` and ``previous`` are ``(version, live accuracy)``; ``previous`` is ``None``
    when there is nothing to roll back to. When production misses ``min_accuracy`` but the
    previous model is no better, the deploy is not the cause (the data changed): the answer is to
    retrain, and the reasons say so.
    """
    prod_v, prod = production
    reasons = []
    below = prod < min_accuracy
    if below:
        reasons.append(f"production v{prod_v} live accuracy {prod:.3f} < {min_accuracy:.3f}")
    if previous is None:
        if below:
            reasons.append("no previous version to roll back to: retrain on recent labelled data")
        return False, tuple(reasons)
    prev_v, prev = previous
    trails = prev - prod > tolerance
    if trails:
        reasons.append(
            f"production v{prod_v} trails previous v{prev_v} by "
            f"{prev - prod:.3f} (tolerance {tolerance:.3f})"
        )
    if trails and prev >= min_accuracy:
        return True, tuple(reasons)
    if below:
        reasons.append(
            f"previous v{prev_v} scores {prev:.3f} on the same weeks, also below {min_accuracy:.3f}"
            if prev < min_accuracy
            else f"previous v{prev_v} scores {prev:.3f} on the same weeks, within the tolerance"
        )
        reasons.append("the deploy is not the cause: retrain on recent labelled data")
    return False, tuple(reasons)


def live_verdict(production_retrain: bool, previous_retrain: bool | None) -> str:
    """From the monitor's calls on the same live rows: ``"keep"`` when production's does not call
    for retraining; ``"rollback"`` when it does but the previous version's does not (the last
    deploy is what went wrong); otherwise ``"retrain"`` (the world moved). ``previous_retrain``
    is ``None`` when there is no previous version."""
    if not production_retrain:
        return "keep"
    if previous_retrain is not None and not previous_retrain:
        return "rollback"
    return "retrain"
