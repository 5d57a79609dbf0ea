"""How sure is a holdout accuracy, and is a gap between two models real or noise?

Three tools, each on plain counts or per-row correctness (``True`` where a model got the row right):

- :func:`wilson_interval` (and :func:`bootstrap_interval`): a confidence interval for an accuracy
  measured on ``n`` rows (Wilson, 1927, "Probable inference, the law of succession, and statistical
  inference", JASA 22).
- :func:`mcnemar_test`: the exact McNemar test of two models scored on the *same* rows. Only the
  rows where exactly one model is right carry information: ``b`` rows only the candidate gets
  right, ``c`` rows only the reference gets right. If the models were equally accurate, each such
  row would go either way with probability 1/2, so the p-value is a two-sided binomial test of
  ``b`` out of ``b + c`` (McNemar, 1947, Psychometrika 12; recommended for comparing classifiers by
  Dietterich, 1998, Neural Computation 10).
- :func:`rows_to_detect`: the holdout size at which a given accuracy gap would be significant, and
  :func:`rows_for_margin`: the size at which an accuracy's interval is as narrow as a tolerance.

>>> round(wilson_interval(137, 143).low, 3), round(wilson_interval(137, 143).high, 3)
(0.911, 0.981)
>>> t = mcnemar_test([True, True, False, True], [True, False, True, False])
>>> (t.b, t.c, t.n, round(t.p_value, 3), t.significant)
(2, 1, 4, 1.0, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binom, binomtest, norm

from mlcicd.checks import check_fraction, check_int
from mlcicd.errors import InputError

DEFAULT_ALPHA = 0.05
DEFAULT_CONFIDENCE = 0.95


def check_level(value: Any, name: str) -> float:
    """``value`` as a float if it is strictly between 0 and 1 (a confidence or an alpha)."""
    return check_fraction(value, name, closed="neither")


def _correct(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) == 0:
        raise InputError(f"{name}: expected a non-empty 1-D list of True/False per row")
    if array.dtype != bool:
        if not np.isin(array, [0, 1]).all():
            raise InputError(f"{name}: expected True/False (or 1/0) per row")
        array = array.astype(bool)
    return array


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` for an accuracy ``estimate`` measured on ``n`` rows."""

    estimate: float
    low: float
    high: float
    n: int
    confidence: float
    method: str

    @property
    def width(self) -> float:
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "confidence": self.confidence,
            "method": self.method,
        }


def wilson_interval(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The Wilson score interval for ``successes`` right out of ``n`` rows.

    Unlike the textbook ``p +- z * sqrt(p(1-p)/n)``, it stays inside [0, 1] and does not shrink
    to a point when every row is right.
    """
    confidence = check_level(confidence, "confidence")
    successes, n = check_int(successes, "successes"), check_int(n, "n")
    if n < 1 or not 0 <= successes <= n:
        raise InputError(f"successes={successes}, n={n}: expected 0 <= successes <= n and n >= 1")
    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(
        p, max(0.0, centre - half), min(1.0, centre + half), int(n), confidence, "wilson"
    )


def bootstrap_interval(
    correct: Sequence[bool],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """A percentile bootstrap interval for the accuracy of per-row ``correct`` flags."""
    confidence = check_level(confidence, "confidence")
    flags = _correct(correct, "correct")
    n_resamples = check_int(n_resamples, "n_resamples", low=100)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(flags), size=(n_resamples, len(flags)))
    means = flags[picks].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(
        float(flags.mean()), float(low), float(high), len(flags), confidence, "bootstrap"
    )


@dataclass(frozen=True)
class McNemar:
    """The exact McNemar test of a candidate against a reference model on the same ``n`` rows.

    ``b``: rows only the candidate gets right; ``c``: rows only the reference gets right. The
    candidate's accuracy minus the reference's is ``(b - c) / n``.
    """

    b: int
    c: int
    n: int
    p_value: float
    alpha: float = DEFAULT_ALPHA

    @property
    def significant(self) -> bool:
        """True when the two accuracies differ at level ``alpha`` (p-value < alpha)."""
        return self.p_value < self.alpha

    @property
    def difference(self) -> float:
        """Candidate accuracy minus reference accuracy (a fraction of the ``n`` rows)."""
        return (self.b - self.c) / self.n

    def describe(self) -> str:
        """One line: the discordant counts, the p-value and the verdict."""
        verdict = "significant" if self.significant else "not significant"
        return (
            f"McNemar: {self.b} rows only the candidate gets right, {self.c} only the reference; "
            f"p = {self.p_value:.3f}, {verdict} at alpha {self.alpha:g}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "b": self.b,
            "c": self.c,
            "n": self.n,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "significant": self.significant,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> McNemar:
        """Rebuild from :meth:`to_dict` output (``significant`` is recomputed)."""
        try:
            return cls(
                int(data["b"]),
                int(data["c"]),
                int(data["n"]),
                float(data["p_value"]),
                float(data.get("alpha", DEFAULT_ALPHA)),
            )
        except (KeyError, TypeError, ValueError):
            raise InputError("McNemar: expected an object with b, c, n, p_value") from None


def mcnemar_test(
    candidate_correct: Sequence[bool] | np.ndarray,
    reference_correct: Sequence[bool] | np.ndarray,
    alpha: float = DEFAULT_ALPHA,
) -> McNemar:
    """Exact McNemar test: a two-sided binomial test (p = 1/2) on the rows where the models
    disagree about being right (``scipy.stats.binomtest``). No disagreement gives p = 1."""
    alpha = check_level(alpha, "alpha")
    cand = _correct(candidate_correct, "candidate_correct")
    ref = _correct(reference_correct, "reference_correct")
    if len(cand) != len(ref):
        raise InputError(
            f"candidate_correct has {len(cand)} rows, reference_correct {len(ref)}: "
            "the two models must be scored on the same rows"
        )
    b = int((cand & ~ref).sum())
    c = int((~cand & ref).sum())
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return McNemar(b, c, len(cand), p, alpha)


def rows_to_detect(
    gap: float, disagreement: float, alpha: float = DEFAULT_ALPHA, max_rows: int = 1_000_000
) -> int | None:
    """The holdout size from which on an accuracy ``gap`` between two models is significant by
    the exact McNemar test (at that size and every larger one up to ``max_rows``), if they
    disagree (one right, the other wrong) on a share ``disagreement`` of the rows; None if not
    reached within ``max_rows``.

    At ``n`` rows the discordant counts are ``n * (disagreement -+ gap) / 2``, rounded to whole
    rows. For example, two models 2 rows apart on 143 rows, where 6 rows have one model right
    and the other wrong (p = 0.69 there; the first significant size is 876, but 894 is not):

    >>> rows_to_detect(2 / 143, 6 / 143)
    984
    """
    alpha = check_level(alpha, "alpha")
    gap = check_fraction(gap, "gap", closed="high")
    disagreement = check_fraction(disagreement, "disagreement", closed="high")
    if gap > disagreement:
        raise InputError(
            f"gap={gap} > disagreement={disagreement}: two models cannot differ in accuracy "
            "on more rows than they disagree on"
        )
    n = np.arange(1, int(max_rows) + 1)
    b = np.rint(n * (disagreement - gap) / 2).astype(int)
    c = np.rint(n * (disagreement + gap) / 2).astype(int)
    # binomtest(b, b + c, 0.5) two-sided, written for every n at once (the null is symmetric)
    p = np.minimum(1.0, 2 * binom.cdf(np.minimum(b, c), b + c, 0.5))
    p[b + c == 0] = 1.0
    # the first size from which every larger one is significant too: the counts are whole rows,
    # so the p-value zigzags, and the first significant size alone would promise too much
    misses = np.flatnonzero(p >= alpha)
    if len(misses) == 0:
        return 1
    return None if misses[-1] == len(n) - 1 else int(n[misses[-1] + 1])


def rows_for_margin(
    accuracy: float,
    margin: float,
    confidence: float = DEFAULT_CONFIDENCE,
    max_rows: int = 1_000_000,
) -> int | None:
    """The smallest holdout size whose Wilson interval around ``accuracy`` reaches no further
    than ``margin`` on either side; None if not reached within ``max_rows``.

    >>> rows_for_margin(0.958, 0.01)
    1894
    """
    confidence = check_level(confidence, "confidence")
    accuracy, margin = check_fraction(accuracy, "accuracy"), check_fraction(margin, "margin")
    if margin == 0:
        raise InputError("margin=0: no finite holdout gives an interval of width 0")
    z = float(norm.ppf(0.5 + confidence / 2))
    n = np.arange(1, int(max_rows) + 1, dtype=float)
    p = float(accuracy)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    reach = np.maximum(p - np.maximum(0.0, centre - half), np.minimum(1.0, centre + half) - p)
    hits = np.flatnonzero(reach <= margin)
    return None if len(hits) == 0 else int(n[hits[0]])
