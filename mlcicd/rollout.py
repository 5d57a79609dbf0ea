"""Shipping a candidate model safely: shadow comparison and a canary decision rule.

Both work on simulated live traffic: a stream of requests drawn (with a seed) from a pool of
live rows. For each row we know whether production and the candidate would answer correctly
(:func:`correct_on`), so a simulated request costs nothing and every number is reproducible.

* **Shadow**: every request is scored by both models, users only see production's answer; the
  comparison needs labels only to count errors (agreement is visible at once).
* **Canary**: each request goes to the candidate with probability ``share``. The decision rule
  (:class:`CanaryRule`) is checked after every canary request once ``min_canary`` of them were
  seen: **roll back** when the candidate's error rate exceeds production's (on the control
  requests) by more than ``threshold``; **promote** when ``max_canary`` canary requests passed
  without a roll back.

>>> rule = CanaryRule(share=0.1, threshold=0.05, min_canary=50, max_canary=200)
>>> prod = np.ones(100, dtype=bool); cand = np.zeros(100, dtype=bool)  # the candidate always errs
>>> r = run_canary(prod, cand, rule, seed=0)
>>> r.decision, r.users_affected
('rollback', 50)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.checks import check_fraction, check_int
from mlcicd.errors import InputError
from mlcicd.evaluation import correct_rows

PROMOTE, ROLLBACK, UNDECIDED = "promote", "rollback", "undecided"


def _correct_pair(production: Any, candidate: Any) -> tuple[np.ndarray, np.ndarray]:
    prod, cand = np.asarray(production, dtype=bool), np.asarray(candidate, dtype=bool)
    if prod.ndim != 1 or prod.shape != cand.shape or len(prod) == 0:
        raise InputError(
            "correct answers: expected two non-empty 1-D arrays of equal length "
            f"(got shapes {prod.shape} and {cand.shape})"
        )
    return prod, cand


def correct_on(model: Any, live: pd.DataFrame, target: str) -> np.ndarray:
    """Per row of ``live``: does ``model`` predict the label? (a boolean array)"""
    return correct_rows(model, live, target)


# ------------------------------------------------------------------------------------ shadow


@dataclass(frozen=True)
class ShadowReport:
    """Production and candidate on the same requests; users saw only production's answers."""

    n_requests: int
    agreement: float  # share of requests where both models predict the same class
    production_accuracy: float
    candidate_accuracy: float
    users_affected: int = 0  # the candidate answered nobody

    @property
    def candidate_worse(self) -> bool:
        return self.candidate_accuracy < self.production_accuracy

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_requests": self.n_requests,
            "agreement": self.agreement,
            "production_accuracy": self.production_accuracy,
            "candidate_accuracy": self.candidate_accuracy,
            "users_affected": self.users_affected,
            "candidate_worse": self.candidate_worse,
        }


def traffic(n_rows: int, n_requests: int, seed: int = 0) -> np.ndarray:
    """The row each of ``n_requests`` live requests carries (drawn with replacement)."""
    check_int(n_rows, "n_rows", low=1)
    check_int(n_requests, "n_requests", low=1)
    return np.random.default_rng(seed).integers(0, n_rows, size=n_requests)


def shadow_compare(
    production: Any, candidate: Any, live: pd.DataFrame, target: str, n_requests: int, seed: int = 0
) -> ShadowReport:
    """Score ``n_requests`` requests drawn from ``live`` with both models (a shadow deployment)."""
    rows = live.iloc[traffic(len(live), n_requests, seed)].reset_index(drop=True)
    features = rows.drop(columns=[target])
    p, c = production.predict(features), candidate.predict(features)
    y = rows[target].to_numpy()
    return ShadowReport(
        n_requests=int(n_requests),
        agreement=float(np.mean(p == c)),
        production_accuracy=float(np.mean(p == y)),
        candidate_accuracy=float(np.mean(c == y)),
    )


# ------------------------------------------------------------------------------------ canary


@dataclass(frozen=True)
class CanaryRule:
    """The canary's decision rule (see the module docstring)."""

    share: float = 0.1
    threshold: float = 0.02
    min_canary: int = 100
    max_canary: int = 400

    def __post_init__(self) -> None:
        check_fraction(self.share, "share", closed="high")
        check_fraction(self.threshold, "threshold")
        check_int(self.min_canary, "min_canary", low=1)
        check_int(self.max_canary, "max_canary", low=1)
        if self.max_canary < self.min_canary:
            raise InputError(
                f"max_canary={self.max_canary}: must be >= min_canary={self.min_canary}"
            )

    def decide(self, canary_errors: int, n_canary: int, control_errors: int, n_control: int) -> str:
        """``rollback``, ``promote`` or ``undecided`` for these counts."""
        if n_canary < self.min_canary:
            return UNDECIDED
        control_rate = control_errors / n_control if n_control else 0.0
        if canary_errors / n_canary - control_rate > self.threshold:
            return ROLLBACK
        return PROMOTE if n_canary >= self.max_canary else UNDECIDED

    def to_dict(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "threshold": self.threshold,
            "min_canary": self.min_canary,
            "max_canary": self.max_canary,
        }


@dataclass(frozen=True)
class CanaryResult:
    """How one canary ended."""

    decision: str
    requests: int  # live requests until the decision (the time it took)
    users_affected: int  # requests the candidate answered
    canary_errors: int
    control_errors: int
    n_control: int
    extra_errors: int  # candidate errors minus what production would have made on those requests

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_canary(
    production_correct: Any,
    candidate_correct: Any,
    rule: CanaryRule,
    *,
    max_requests: int = 100_000,
    seed: int = 0,
) -> CanaryResult:
    """Simulate a canary: requests drawn from the live rows, a share routed to the candidate.

    ``production_correct`` / ``candidate_correct``: per live row, does that model answer it right
    (:func:`correct_on`). Stops at the rule's decision, or ``undecided`` after ``max_requests``.
    """
    prod, cand = _correct_pair(production_correct, candidate_correct)
    check_int(max_requests, "max_requests", low=1)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(prod), size=max_requests)
    to_canary = rng.random(max_requests) < rule.share
    n_canary = np.cumsum(to_canary)
    canary_err = np.cumsum(to_canary & ~cand[rows])
    n_control = np.cumsum(~to_canary)
    control_err = np.cumsum(~to_canary & ~prod[rows])
    # the rule is checked after each canary request: the first one that decides ends the canary
    decision, stop = UNDECIDED, max_requests - 1
    for i in np.flatnonzero(to_canary & (n_canary >= rule.min_canary)):
        verdict = rule.decide(
            int(canary_err[i]), int(n_canary[i]), int(control_err[i]), int(n_control[i])
        )
        if verdict != UNDECIDED:
            decision, stop = verdict, int(i)
            break
    served = to_canary[: stop + 1]
    served_rows = rows[: stop + 1][served]
    return CanaryResult(
        decision=decision,
        requests=stop + 1,
        users_affected=int(n_canary[stop]),
        canary_errors=int(canary_err[stop]),
        control_errors=int(control_err[stop]),
        n_control=int(n_control[stop]),
        extra_errors=int(np.sum(~cand[served_rows]) - np.sum(~prod[served_rows])),
    )


@dataclass(frozen=True)
class RuleErrorRates:
    """The rule's error rates, simulated: repeated canaries with known error probabilities."""

    n_runs: int
    production_error: float
    false_rollback: float  # share of runs rolling back a candidate exactly as good as production
    missed_regression: float  # share of runs promoting a candidate worse by ``worse_by``
    worse_by: float
    mean_requests_equal: float
    mean_requests_worse: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rule_error_rates(
    rule: CanaryRule,
    *,
    production_error: float = 0.06,
    worse_by: float = 0.05,
    n_runs: int = 200,
    pool: int = 2000,
    seed: int = 0,
) -> RuleErrorRates:
    """Run the canary ``n_runs`` times on synthetic pools where the models err at random.

    Each run draws which of ``pool`` rows each model gets wrong (production with probability
    ``production_error``; the candidate equally, or ``worse_by`` more often) and runs the canary.
    """
    check_fraction(production_error, "production_error")
    check_fraction(worse_by, "worse_by")
    if production_error + worse_by > 1:
        raise InputError("production_error + worse_by: must be at most 1")
    check_int(n_runs, "n_runs", low=1)
    rng = np.random.default_rng(seed)
    outcomes: dict[float, list[CanaryResult]] = {0.0: [], worse_by: []}
    # enough requests that the canary count reaches max_canary (a run left undecided counts as
    # neither error; with 3x the expected need that is vanishingly rare)
    horizon = int(3 * rule.max_canary / rule.share) + 100
    for run in range(n_runs):
        prod = rng.random(pool) >= production_error
        for extra in outcomes:
            cand = rng.random(pool) >= production_error + extra
            outcomes[extra].append(
                run_canary(prod, cand, rule, max_requests=horizon, seed=seed * 100_003 + run)
            )
    equal, worse = outcomes[0.0], outcomes[worse_by]
    return RuleErrorRates(
        n_runs=n_runs,
        production_error=float(production_error),
        false_rollback=float(np.mean([r.decision == ROLLBACK for r in equal])),
        missed_regression=float(np.mean([r.decision == PROMOTE for r in worse])),
        worse_by=float(worse_by),
        mean_requests_equal=float(np.mean([r.requests for r in equal])),
        mean_requests_worse=float(np.mean([r.requests for r in worse])),
    )


def canary_tradeoff(
    production_correct: Any,
    candidate_correct: Any,
    shares: Any,
    *,
    threshold: float = 0.02,
    min_canary: int = 100,
    max_canary: int = 400,
    seed: int = 0,
) -> pd.DataFrame:
    """One canary per share: users affected against requests to the decision (a table)."""
    rows = []
    for share in shares:
        rule = CanaryRule(float(share), threshold, min_canary, max_canary)
        r = run_canary(production_correct, candidate_correct, rule, seed=seed)
        rows.append({"share": float(share), **r.to_dict()})
    return pd.DataFrame(rows)
