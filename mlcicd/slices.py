"""The gate's metric on named subgroups (slices) of the data, and a gate that looks at them.

An overall gain can hide a loss on a subgroup that matters (small patients, one hospital, one
scanner). :func:`slice_gate` compares candidate and production slice by slice and rejects a
candidate that is worse than production on any slice by more than ``tolerance``, naming it.

A slice is a pandas expression (``"worst_area > 1000"``, evaluated with ``DataFrame.eval``)
or a function of the frame returning a boolean mask.

>>> import pandas as pd
>>> df = pd.DataFrame({"x": [1, 2, 3, 4], "target": [0, 0, 1, 1]})
>>> slice_masks(df, {"small": "x <= 2", "large": lambda d: d["x"] > 2})["large"].tolist()
[False, False, True, True]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.checks import check_int, check_number
from mlcicd.errors import InputError
from mlcicd.evaluation import correct_rows

DEFAULT_TOLERANCE = 0.02
MIN_ROWS = 20  # a slice with fewer rows is reported but not gated on (too noisy)


def slice_masks(df: pd.DataFrame, slices: Mapping[str, str | Callable]) -> dict[str, np.ndarray]:
    """One boolean mask per named slice."""
    if not isinstance(slices, Mapping) or not slices:
        raise InputError("slices: expected a non-empty mapping of name -> expression or function")
    out = {}
    for name, rule in slices.items():
        try:
            mask = df.eval(rule) if isinstance(rule, str) else rule(df)
        except Exception as exc:  # a user's expression: report it in one line
            raise InputError(f"slice {name!r}: cannot evaluate {rule!r}: {exc}") from None
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (len(df),):
            raise InputError(f"slice {name!r}: must give one True/False per row")
        out[str(name)] = mask
    return out


def slice_accuracy(
    model: Any, df: pd.DataFrame, target: str, slices: Mapping[str, str | Callable]
) -> pd.DataFrame:
    """Accuracy of ``model`` overall and on each slice: columns ``slice, n_rows, accuracy``."""
    correct = correct_rows(model, df, target)
    rows = [{"slice": "overall", "n_rows": len(df), "accuracy": float(correct.mean())}]
    for name, mask in slice_masks(df, slices).items():
        n = int(mask.sum())
        rows.append(
            {"slice": name, "n_rows": n, "accuracy": float(correct[mask].mean()) if n else None}
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SliceDecision:
    """Candidate vs production per slice; ``reasons`` name the slices that block the candidate."""

    table: pd.DataFrame  # slice, n_rows, production, candidate, change, gated, passed
    tolerance: float
    reasons: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "tolerance": self.tolerance,
            "reasons": list(self.reasons),
            "slices": self.table.to_dict(orient="records"),
        }


def slice_gate(
    candidate: Any,
    production: Any,
    df: pd.DataFrame,
    target: str,
    slices: Mapping[str, str | Callable],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    min_rows: int = MIN_ROWS,
) -> SliceDecision:
    """Reject ``candidate`` if on some slice (of at least ``min_rows`` rows) its accuracy is below
    production's by more than ``tolerance``, even when it gains overall."""
    check_number(tolerance, "tolerance", low=0)
    check_int(min_rows, "min_rows", low=1)
    cand = slice_accuracy(candidate, df, target, slices)
    prod = slice_accuracy(production, df, target, slices)
    table = pd.DataFrame(
        {
            "slice": cand["slice"],
            "n_rows": cand["n_rows"],
            "production": prod["accuracy"],
            "candidate": cand["accuracy"],
        }
    )
    table["change"] = table["candidate"] - table["production"]
    table["gated"] = (table["slice"] != "overall") & (table["n_rows"] >= min_rows)
    table["passed"] = ~table["gated"] | (table["change"] >= -tolerance - 1e-12)
    reasons = tuple(
        f"slice {r.slice!r} ({r.n_rows} rows): accuracy {r.candidate:.3f} < production "
        f"{r.production:.3f} - tolerance {tolerance:.3f}"
        for r in table.itertuples()
        if not r.passed
    )
    return SliceDecision(table, float(tolerance), reasons)
