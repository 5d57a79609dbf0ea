"""Behavioural tests of a model: what it must do, not only how accurate it is on average.

Three kinds, after Ribeiro et al., "Beyond Accuracy: Behavioral Testing of NLP Models with
CheckList" (ACL 2020), applied to tabular models:

* **invariance**: a change that must not move the prediction (``perturb`` keeps the label);
* **directional**: a change that must move the predicted probability of a class one way;
* **minimum functionality**: clear cases the model must get right.

Each test returns a :class:`BehaviourResult`; :func:`behaviour_gate` adds them to a quality gate
decision, so one failed behavioural test rejects the model, with the test named in the reason.

>>> import numpy as np, pandas as pd
>>> class Sign:  # predicts 1 when x > 0
...     classes_ = np.array([0, 1])
...     def predict(self, X): return (X["x"].to_numpy() > 0).astype(int)
...     def predict_proba(self, X):
...         p = 1 / (1 + np.exp(-X["x"].to_numpy())); return np.c_[1 - p, p]
>>> rows = pd.DataFrame({"x": [-2.0, -1.0, 1.0, 2.0]})
>>> invariance("tiny noise", Sign(), rows, lambda d: d.assign(x=d["x"] * 1.01)).passed
True
>>> directional("x up -> class 1 up", Sign(), rows, lambda d: d.assign(x=d["x"] + 1), 1).passed
True
>>> minimum_functionality("signs", Sign(), rows, [0, 0, 1, 0]).detail
'signs: 1 of 4 cases failed (max allowed 0)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcicd.checks import check_int
from mlcicd.errors import InputError
from mlcicd.evaluation import GateCheck, GateDecision

KINDS = ("invariance", "directional", "minimum_functionality")


@dataclass(frozen=True)
class BehaviourResult:
    """One behavioural test on one model: how many cases failed, and whether that is allowed."""

    name: str
    kind: str
    n_cases: int
    n_failed: int
    max_failures: int

    @property
    def passed(self) -> bool:
        return self.n_failed <= self.max_failures

    @property
    def detail(self) -> str:
        return (
            f"{self.name}: {self.n_failed} of {self.n_cases} cases failed "
            f"(max allowed {self.max_failures})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "passed": self.passed, "detail": self.detail}


def _rows(rows: Any, name: str) -> pd.DataFrame:
    if not isinstance(rows, pd.DataFrame) or len(rows) == 0:
        raise InputError(f"behavioural test {name!r}: expected a non-empty DataFrame of cases")
    return rows


def _max_failures(value: Any, name: str) -> int:
    return check_int(value, f"behavioural test {name!r}: max_failures", low=0)


def _perturbed(rows: pd.DataFrame, perturb: Callable, name: str) -> pd.DataFrame:
    changed = perturb(rows.copy())
    if not isinstance(changed, pd.DataFrame) or changed.shape != rows.shape:
        raise InputError(
            f"behavioural test {name!r}: perturb must return a DataFrame of the same shape"
        )
    return changed


def _proba(model: Any, X: pd.DataFrame, label: Any, name: str) -> np.ndarray:
    classes = list(getattr(model, "classes_", []))
    if label not in classes:
        raise InputError(f"behavioural test {name!r}: class {label!r} is not one of {classes}")
    return np.asarray(model.predict_proba(X))[:, classes.index(label)]


def invariance(
    name: str, model: Any, rows: pd.DataFrame, perturb: Callable, *, max_failures: int = 0
) -> BehaviourResult:
    """The predicted class must not change when ``perturb`` is applied to ``rows``."""
    rows, limit = _rows(rows, name), _max_failures(max_failures, name)
    before = np.asarray(model.predict(rows))
    after = np.asarray(model.predict(_perturbed(rows, perturb, name)))
    return BehaviourResult(name, "invariance", len(rows), int(np.sum(before != after)), limit)


def directional(
    name: str,
    model: Any,
    rows: pd.DataFrame,
    perturb: Callable,
    label: Any,
    *,
    increase: bool = True,
    tolerance: float = 0.0,
    max_failures: int = 0,
) -> BehaviourResult:
    """``perturb`` must raise (``increase``) or lower the predicted probability of ``label``.

    A case fails when the probability moves the wrong way by more than ``tolerance`` (so a model
    whose probability does not move at all passes: the expectation is "not the wrong way").
    """
    rows, limit = _rows(rows, name), _max_failures(max_failures, name)
    before = _proba(model, rows, label, name)
    after = _proba(model, _perturbed(rows, perturb, name), label, name)
    moved = after - before if increase else before - after
    return BehaviourResult(name, "directional", len(rows), int(np.sum(moved < -tolerance)), limit)


def minimum_functionality(
    name: str, model: Any, rows: pd.DataFrame, expected: Sequence[Any], *, max_failures: int = 0
) -> BehaviourResult:
    """Each case in ``rows`` must be predicted as the matching label in ``expected``."""
    rows, limit = _rows(rows, name), _max_failures(max_failures, name)
    labels = np.asarray(expected)
    if labels.shape != (len(rows),):
        raise InputError(f"behavioural test {name!r}: expected {len(rows)} labels, one per case")
    wrong = int(np.sum(np.asarray(model.predict(rows)) != labels))
    return BehaviourResult(name, "minimum_functionality", len(rows), wrong, limit)


def run_behaviour_tests(model: Any, tests: Iterable[Callable[[Any], BehaviourResult]]) -> list:
    """Run each test (a function of the model returning a :class:`BehaviourResult`)."""
    results = []
    for test in tests:
        result = test(model)
        if not isinstance(result, BehaviourResult):
            raise InputError(f"behavioural test {test!r}: must return a BehaviourResult")
        results.append(result)
    return results


def behaviour_gate(decision: GateDecision, results: Iterable[BehaviourResult]) -> GateDecision:
    """``decision`` with one check per behavioural test; a failed test rejects, named in reasons."""
    checks = tuple(GateCheck(f"behaviour_{r.name}", r.passed, r.detail) for r in results)
    all_checks = decision.checks + checks
    reasons = tuple(c.detail for c in all_checks if not c.passed)
    return dataclasses.replace(decision, checks=all_checks, reasons=reasons, blessed=not reasons)
