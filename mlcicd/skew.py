"""Training-serving skew: the same feature computed one way for training and another at serving.

The serving code is often a second implementation (another language, another team) of the
training-time transformation; a single differing detail (a unit, a missing-value default) feeds
the model numbers it never learned from, and nothing crashes. :func:`detect_skew` finds it the
two ways the course already has: validating serving rows against the schema inferred on the
training rows (:mod:`mlcicd.validation`), and comparing feature distributions
(:mod:`mlcicd.monitoring`). The fix is one shared transformation used by both sides.

>>> import pandas as pd
>>> train = pd.DataFrame({"area": [500.0, 600.0, 700.0, 800.0] * 10})
>>> detect_skew(train, rescaled(train, "area", 0.01)).anomalies
('area: out_of_range (40 below min 350 (observed 5 .. 8))',)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlcicd.errors import InputError
from mlcicd.monitoring import detect_drift
from mlcicd.validation import Schema, infer_schema, validate_data


def rescaled(df: pd.DataFrame, column: str, factor: float) -> pd.DataFrame:
    """A copy of ``df`` with ``column`` multiplied by ``factor`` (a unit mistake)."""
    if column not in df.columns:
        raise InputError(f"column {column!r}: not in the data")
    out = df.copy()
    out[column] = out[column] * factor
    return out


@dataclass(frozen=True)
class SkewReport:
    """What the two detectors saw in the serving rows."""

    anomalies: tuple[str, ...]  # schema validation: "column: kind (detail)"
    drifted: tuple[str, ...]  # features whose distribution differs from training
    drift_share: float

    @property
    def skewed(self) -> bool:
        return bool(self.anomalies or self.drifted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "anomalies": list(self.anomalies),
            "drifted": list(self.drifted),
            "drift_share": self.drift_share,
            "skewed": self.skewed,
        }


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " ..."


def detect_skew(
    training: pd.DataFrame,
    serving: pd.DataFrame,
    *,
    target: str | None = None,
    schema: Schema | None = None,
) -> SkewReport:
    """Validate ``serving`` against ``schema`` (default: inferred on ``training``) and compare
    each feature's distribution with ``training``."""
    schema = infer_schema(training, target=target) if schema is None else schema
    report = validate_data(serving, schema, serving=True)
    anomalies = tuple(f"{a.column}: {a.kind} ({_short(a.detail)})" for a in report.anomalies)
    columns = [c for c in training.columns if c != target and c in serving.columns]
    drift = detect_drift(training[columns], serving[columns])
    return SkewReport(anomalies, tuple(map(str, drift.drifted)), float(drift.drift_share))
