"""Lesson 10, shipping a model safely: shadow deployment, a canary, and the registry's record.

The scenario: production is a strongly regularised logistic regression; the candidate, a
gradient-boosted tree ensemble, is as good or better on the holdout and passes the gate. Live
traffic then comes from a recalibrated instrument: the three size features (``worst_radius``,
``worst_area``, ``worst_perimeter``) read ``shift`` standard deviations higher. The trees split
on fixed size thresholds and suffer; the linear model, which spreads its weight over many
features, suffers less. The shadow and the canary measure this on live traffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.course.widgets import question_bank
from mlcicd.data import TARGET, load_dataset, production_batches, split
from mlcicd.evaluation import GateDecision, validate_model
from mlcicd.lessons._common import BAD, BLUE, GOOD, GREY, fresh_workdir
from mlcicd.registry import Registry
from mlcicd.rollout import (
    CanaryResult,
    CanaryRule,
    RuleErrorRates,
    ShadowReport,
    canary_tradeoff,
    correct_on,
    rule_error_rates,
    run_canary,
    shadow_compare,
)
from mlcicd.training import ModelSpec, TrainedModel, train_model

SHIFTED = ["worst_radius", "worst_area", "worst_perimeter"]
PRODUCTION_SPEC = ModelSpec("logistic_regression", {"C": 0.01})
CANDIDATE_SPEC = ModelSpec("gradient_boosting")
SHARES = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass(frozen=True)
class Scenario:
    """Two models, the holdout they were gated on and the live rows they will meet."""

    holdout: pd.DataFrame
    live: pd.DataFrame
    production: TrainedModel
    candidate: TrainedModel
    gate: GateDecision  # the candidate against production on the holdout
    accuracy: dict[str, dict[str, float]]  # model -> {"holdout": ..., "live": ...}
    shift: float

    @property
    def production_correct(self) -> np.ndarray:
        return correct_on(self.production.model, self.live, TARGET)

    @property
    def candidate_correct(self) -> np.ndarray:
        return correct_on(self.candidate.model, self.live, TARGET)


def scenario(shift: float = 0.5, n_live: int = 2000, seed: int = 0) -> Scenario:
    """Train both models on the course's split, gate the candidate, draw the live rows."""
    train, holdout = split(load_dataset(), seed=0)
    production = train_model(train, TARGET, PRODUCTION_SPEC, seed=seed)
    candidate = train_model(train, TARGET, CANDIDATE_SPEC, seed=seed)
    gate = validate_model(candidate.model, holdout, TARGET, production_model=production.model)
    live = production_batches(
        holdout,
        n_batches=1,
        batch_size=n_live,
        covariate_shift=shift,
        drift_start=0,
        features=SHIFTED,
        seed=seed + 1,
    )[0]
    accuracy = {
        name: {
            "holdout": float(correct_on(m.model, holdout, TARGET).mean()),
            "live": float(correct_on(m.model, live, TARGET).mean()),
        }
        for name, m in (("production", production), ("candidate", candidate))
    }
    return Scenario(holdout, live, production, candidate, gate, accuracy, float(shift))


def shadow(s: Scenario, n_requests: int = 1000, seed: int = 0) -> ShadowReport:
    """Both models score ``n_requests`` live requests; users see production's answers."""
    return shadow_compare(s.production.model, s.candidate.model, s.live, TARGET, n_requests, seed)


def canary(s: Scenario, rule: CanaryRule, seed: int = 0) -> CanaryResult:
    return run_canary(s.production_correct, s.candidate_correct, rule, seed=seed)


def error_rates(rule: CanaryRule, s: Scenario, n_runs: int = 200, seed: int = 0) -> RuleErrorRates:
    """The rule's simulated error rates at production's live error rate and the candidate's gap."""
    prod_error = 1 - s.accuracy["production"]["live"]
    gap = s.accuracy["production"]["live"] - s.accuracy["candidate"]["live"]
    return rule_error_rates(
        rule,
        production_error=round(prod_error, 3),
        worse_by=round(gap, 3),
        n_runs=n_runs,
        seed=seed,
    )


def tradeoff(s: Scenario, rule: CanaryRule, shares=SHARES, seed: int = 0) -> pd.DataFrame:
    """Users affected and requests to the decision, one canary per share (rule's threshold)."""
    shares = sorted({*map(float, shares), rule.share})
    return canary_tradeoff(
        s.production_correct,
        s.candidate_correct,
        shares,
        threshold=rule.threshold,
        min_canary=rule.min_canary,
        max_canary=rule.max_canary,
        seed=seed,
    )


def explore_canary(share: float, threshold: float, *, s: Scenario, rule: CanaryRule, seed: int):
    """The Explorer's computation: the trade-off table at ``threshold``, with ``share`` marked."""
    moved = CanaryRule(share, threshold, rule.min_canary, rule.max_canary)
    return {"share": share, "threshold": threshold, "table": tradeoff(s, moved, seed=seed)}


def draw_tradeoff(result: dict[str, Any], ax) -> None:
    """Users affected against requests to the decision; the chosen share is the big dot."""
    table = result["table"]
    colours = [BAD if d == "promote" else GOOD for d in table["decision"]]
    ax.scatter(table["requests"], table["users_affected"], c=colours, s=30, zorder=3)
    ax.plot(table["requests"], table["users_affected"], color=GREY, lw=1)
    for row in table.itertuples():
        ax.annotate(
            f"{row.share:g}",
            (row.requests, row.users_affected),
            fontsize="small",
            xytext=(4, 4),
            textcoords="offset points",
        )
    chosen = table[np.isclose(table["share"], result["share"])].iloc[0]
    ax.scatter(
        [chosen["requests"]],
        [chosen["users_affected"]],
        s=160,
        facecolor="none",
        edgecolor=BLUE,
        lw=2,
        zorder=4,
        label=f"share {result['share']:g}",
    )
    ax.set_xscale("log")
    ax.set_xlabel("live requests until the decision (time)")
    ax.set_ylabel("requests the candidate answered")
    ax.set_title(
        f"canary trade-off at threshold {result['threshold']:g} (green: rolled back, red: promoted)"
    )
    ax.legend(loc="upper left")


def describe_tradeoff(result: dict[str, Any]) -> str:
    table = result["table"]
    row = table[np.isclose(table["share"], result["share"])].iloc[0]
    return (
        f"share {result['share']:g}, threshold {result['threshold']:g}: {row['decision']} after "
        f"{row['requests']} requests, {row['users_affected']} answered by the candidate "
        f"({row['extra_errors']} more wrong answers than production would have given)"
    )


def draw_accuracy(s: Scenario, ax) -> None:
    """Holdout vs live accuracy of both models."""
    x = np.arange(2)
    for i, (name, colour) in enumerate((("production", GREY), ("candidate", BLUE))):
        values = [s.accuracy[name]["holdout"], s.accuracy[name]["live"]]
        bars = ax.bar(x + (i - 0.5) * 0.38, values, 0.38, color=colour, label=name)
        for bar, v in zip(bars, values, strict=True):
            ax.annotate(
                f"{v:.3f}",
                (bar.get_x() + bar.get_width() / 2, v),
                ha="center",
                va="bottom",
                fontsize="small",
            )
    ax.set_xticks(x, ["holdout (the gate)", f"live (size features +{s.shift:g} sd)"])
    ax.set_ylim(0.5, 1.02)
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower left")


def release_in_registry(workdir, s: Scenario, rule: CanaryRule, result: CanaryResult) -> Registry:
    """Production deployed, candidate staged (shadow), canary share set, then the rule's verdict."""
    root = fresh_workdir(workdir)
    registry = Registry(root / "registry")
    prod_gate = validate_model(s.production.model, s.holdout, TARGET)
    registry.deploy(s.production, prod_gate)
    registry.stage_candidate(s.candidate, s.gate, share=0.0, reason="shadow deployment")
    registry.set_share(rule.share, reason="canary")
    evidence = {**result.to_dict(), "rule": rule.to_dict()}
    if result.decision == "promote":
        registry.promote(reason="canary rule: promote", evidence=evidence)
    else:
        registry.reject_candidate(reason=f"canary rule: {result.decision}", evidence=evidence)
    return registry


TOOLS = pd.DataFrame(
    [
        ("registry, aliases (production, previous, candidate)", "mlcicd.registry",
         "MLflow Model Registry (model version aliases)",
         "a server, access control, a UI, lineage across runs"),
        ("data and run cache, fingerprints", "mlcicd.pipeline.cache, data.fingerprint",
         "DVC (data versioning, pipeline stages and their cache)",
         "remote storage, versioned data in git, a pipeline file"),
        ("data validation against a schema", "mlcicd.validation",
         "TFDV, pandera, Great Expectations",
         "schema evolution, rich statistics, many column types, data docs"),
        ("drift monitoring", "mlcicd.monitoring", "Evidently",
         "dashboards, many tests, scheduled reports on live data"),
        ("orchestration of the pipeline", "mlcicd.pipeline, make, GitHub Actions",
         "Airflow, Prefect, TFX pipelines",
         "schedules, retries, distributed workers, a metadata store"),
        ("shadow and canary", "mlcicd.rollout (simulated traffic)",
         "a serving layer or service mesh that splits traffic",
         "real requests, latency, routing per user, automatic rollback"),
    ],
    columns=["concept", "in this course", "at scale", "what the course leaves out"],
)  # fmt: skip


QUESTIONS = {
    "shadow_users": {
        "question": "During a shadow deployment, whose predictions do users receive?",
        "options": [
            "Production's; the candidate's are only logged and compared",
            "The candidate's, with production as a fallback on errors",
            "Half get production's, half the candidate's",
            "Both, so the user can choose",
        ],
        "answer": 0,
        "explanation": "That is why a shadow affects no user: it measures the candidate on live "
        "traffic at the cost of computing predictions twice.",
        "feedback": {
            1: "A fallback still shows the candidate's answers to users; a shadow shows none.",
            2: "Splitting the traffic is a canary (with a 0.5 share), not a shadow.",
            3: "Users never see the candidate's answer in a shadow deployment.",
        },
    },
    "holdout_not_enough": {
        "question": "The candidate beat production on the holdout and passed the gate. Why did "
        "it lose live?",
        "options": [
            "The holdout was too small to measure accuracy",
            "Live rows come from a shifted distribution the holdout does not represent",
            "The gate's tolerance was too loose",
            "Gradient boosting always overfits",
        ],
        "answer": 1,
        "explanation": "The holdout is a sample of the training distribution; the size features "
        "moved live, and the trees' fixed thresholds on them misfire.",
        "feedback": {
            0: "A bigger holdout from the same distribution would still not contain the shift.",
            2: "The candidate was better on the holdout, so no tolerance would have stopped it.",
            3: "It generalised fine to the holdout; the problem is the change in the inputs.",
        },
    },
    "share_tradeoff": {
        "question": "With the same decision rule (a fixed number of canary users), what does a "
        "larger canary share change?",
        "options": [
            "Fewer users are affected and the decision takes longer",
            "The decision comes sooner; about the same number of users are affected",
            "More users are affected and the decision takes longer",
            "Nothing: the share only matters for latency",
        ],
        "answer": 1,
        "explanation": "The rule decides after a number of canary requests; a larger share "
        "reaches that number in fewer live requests.",
        "feedback": {
            0: "The rule counts canary users, so their number stays about the same; a larger "
            "share reaches it sooner, not later.",
            2: "A larger share fills the required canary count faster, so it ends sooner.",
            3: "The share decides how fast the canary users arrive, hence the time to decision.",
        },
    },
    "threshold": {
        "question": "Raising the rule's threshold (the error-rate gap that triggers a rollback) "
        "mostly...",
        "options": [
            "lowers false rollbacks of good candidates and raises missed regressions",
            "lowers both error rates",
            "raises false rollbacks and lowers missed regressions",
            "changes only the time to decision",
        ],
        "answer": 0,
        "explanation": "A more tolerant rule rolls back less often, for good and bad candidates "
        "alike; only more canary users lower both error rates.",
        "feedback": {
            1: "A threshold trades one error for the other; lowering both needs more data.",
            2: "That is what lowering the threshold does.",
            3: "It changes which candidates are rolled back, as the simulation shows.",
        },
    },
}
check_yourself = question_bank(QUESTIONS)


def record_results(
    output_dir,
    *,
    s: Scenario,
    shadow_report: ShadowReport,
    rule: CanaryRule,
    canary_result: CanaryResult,
    rates: RuleErrorRates,
    table: pd.DataFrame,
    registry: Registry,
    explorer,
) -> None:
    """Write what the lesson computed to ``output_dir/results.json``."""
    from mlcicd.course import save_results

    save_results(
        output_dir,
        {
            "shift": s.shift,
            "n_live": len(s.live),
            "accuracy": s.accuracy,
            "gate_blessed": s.gate.blessed,
            "shadow": shadow_report.to_dict(),
            "rule": rule.to_dict(),
            "canary": canary_result.to_dict(),
            "rates": rates.to_dict(),
            "tradeoff": json.loads(table.to_json(orient="records")),
            "traffic": registry.traffic(),
            "aliases": registry.aliases(),
            "releases": [
                {k: r[k] for k in ("action", "version", "production", "share")}
                for r in registry.releases()
            ],
            "tools": TOOLS["at scale"].tolist(),
            "explorer_runs": explorer.runs,
        },
    )
