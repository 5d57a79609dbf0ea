"""Problem set, shipping a model safely: ``python assignments/specs/safe_release.py`` writes
source/safe_release/safe_release.ipynb.

Four autograded items and one written answer: a behavioural test that catches a planted
regression the accuracy gate lets through, a slice gate, a canary decision rule, and that rule run
on simulated traffic. Everything is made in the setup cell, deterministically, from the embedded
data. Edit here, never the notebook's JSON.
"""

from __future__ import annotations

from pathlib import Path

from mlcicd.course.grading import (
    answer,
    build_notebook,
    code,
    markdown,
    tests,
    write_notebook,
    written,
)

OUTPUT = Path(__file__).resolve().parent.parent / "source" / "safe_release" / "safe_release.ipynb"
POINTS = {"behaviour": 3, "slices": 3, "rule": 2, "canary": 3, "written": 2}
BUG_AREA = 2200  # the planted labelling bug: tumours with a larger worst_area labelled benign

INTRO = f"""
# Problem set: shipping a model safely

A candidate model can pass the accuracy gate and still be wrong where it matters, or be better
on the holdout and worse live. This problem set builds three of the defences of lessons 9 and 10.

| Part | What you write | Points |
|---|---|---|
| 1 | `behaves`: a behavioural test that catches a planted regression | {POINTS["behaviour"]} |
| 2 | `failing_slices`: a slice gate | {POINTS["slices"]} |
| 3 | `canary_decision`: a canary decision rule | {POINTS["rule"]} |
| 4 | `simulate_canary`: the rule on simulated traffic | {POINTS["canary"]} |
| 5 | a short written answer | {POINTS["written"]} |

Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
line). The cell under each answer checks its form; whether it is right is checked when the
problem set is graded, on these models and on others. Before you submit, restart the kernel and
run all cells (or click **Validate**).
"""

SETUP = f"""
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mlcicd.data import TARGET, load_dataset, split
from mlcicd.evaluation import validate_model
from mlcicd.training import ModelSpec, train_model

threadpool_limits(1)  # small data: one thread per step is fastest
train, holdout = split(load_dataset(), seed=0)  # in scikit-learn's data, 0 = malignant, 1 = benign

production = train_model(train, TARGET, seed=0).model  # the model serving today
# The candidate was trained after a labelling bug: the largest tumours were labelled benign.
buggy = train.assign(target=train[TARGET].where(train["worst_area"] <= {BUG_AREA}, 1))
candidate = train_model(buggy, TARGET, ModelSpec("random_forest"), seed=0).model

gate = validate_model(candidate, holdout, TARGET)  # the accuracy threshold and the baseline only
print(
    f"an accuracy-only gate blesses the candidate: {{gate.blessed}} "
    f"(accuracy {{gate.metrics['accuracy']:.3f}}, threshold 0.90)"
)
"""

PART_1 = """
## Part 1: a behavioural test ({points} points)

An accuracy-only gate (threshold 0.90) blesses the candidate, yet it learned something
dangerous. Write
`behaves(model)` returning `True` when `model` passes a behavioural test you design and `False`
when it fails. It must pass for a sound model (such as `production`) and fail for the
`candidate`. Ideas from lesson 9: a **minimum functionality** test (cases any sound model gets
right: the patients with the very largest tumours in `holdout` are malignant), or a
**directional** test (making a tumour larger must not make the model more sure it is benign).
You may use `holdout` and `model.predict` / `model.predict_proba` (column 1 is benign).
"""

ANSWER_1 = """
def behaves(model):
    \"\"\"True if model passes the behavioural test.\"\"\"
    ### BEGIN SOLUTION
    largest = holdout[holdout["worst_area"] > 2000]  # all malignant: any sound model knows that
    predicted = model.predict(largest.drop(columns=TARGET))
    return bool((predicted == 0).all())
    ### END SOLUTION
"""

RUN_1 = """
verdicts = {"production": behaves(production), "candidate": behaves(candidate)}
verdicts
"""

TEST_1 = """
# Checks the form of your answer; whether it catches the regression is checked at grading time.
assert set(verdicts) == {"production", "candidate"}
assert all(isinstance(_v, bool | np.bool_) for _v in verdicts.values()), "behaves returns a bool"
### BEGIN HIDDEN TESTS
assert behaves(production), "a sound model (production) must pass your test"
assert not behaves(candidate), "the planted regression (candidate) must fail your test"
_sound = train_model(train, TARGET, ModelSpec("gradient_boosting"), seed=1).model
assert behaves(_sound), "another sound model (gradient boosting) must pass your test"
_other_bug = train_model(buggy, TARGET, ModelSpec("gradient_boosting"), seed=1).model
assert not behaves(_other_bug), "the same bug in another model must fail your test"
### END HIDDEN TESTS
"""

PART_2 = """
## Part 2: a slice gate ({points} points)

A gate that looks only at the overall accuracy misses a loss on a subgroup. Write
`failing_slices(candidate_acc, production_acc, sizes, tolerance=0.02, min_rows=20)`: the three
dicts map a slice name to the candidate's accuracy, production's accuracy and the number of rows
of that slice. Return the **sorted list** of slices where the candidate's accuracy is below
production's by **more than** `tolerance`, leaving out slices with fewer than `min_rows` rows
(too noisy to judge). `[]` means the candidate passes. (`mlcicd.slices.slice_gate` does the same
on models and data; write it yourself with plain comparisons.)
"""

ANSWER_2 = """
def failing_slices(candidate_acc, production_acc, sizes, tolerance=0.02, min_rows=20):
    \"\"\"Sorted names of the slices that block the candidate.\"\"\"
    ### BEGIN SOLUTION
    return sorted(
        name
        for name, accuracy in candidate_acc.items()
        if sizes[name] >= min_rows and production_acc[name] - accuracy > tolerance
    )
    ### END SOLUTION
"""

RUN_2 = """
from mlcicd.slices import slice_accuracy

slices = {"large tumours": "worst_area > 1000", "small tumours": "worst_area <= 1000"}
_cand = slice_accuracy(candidate, holdout, TARGET, slices).set_index("slice").drop("overall")
_prod = slice_accuracy(production, holdout, TARGET, slices).set_index("slice").drop("overall")
blocked = failing_slices(
    _cand["accuracy"].to_dict(), _prod["accuracy"].to_dict(), _cand["n_rows"].to_dict()
)
print(
    pd.DataFrame(
        {"candidate": _cand["accuracy"], "production": _prod["accuracy"], "rows": _cand["n_rows"]}
    )
)
blocked
"""

TEST_2 = """
# Checks the form of your answer; the slices are checked at grading time.
assert isinstance(blocked, list), "failing_slices returns a list"
### BEGIN HIDDEN TESTS
_prod = {"a": 0.875, "b": 0.9375, "c": 0.5, "d": 0.75}
_sizes = {"a": 40, "b": 40, "c": 10, "d": 20}
assert failing_slices({"a": 0.875, "b": 0.9375, "c": 0.5, "d": 0.75}, _prod, _sizes) == []
assert failing_slices({"a": 0.75, "b": 1.0, "c": 0.5, "d": 0.75}, _prod, _sizes) == ["a"]
assert failing_slices({"d": 0.5, "a": 0.5, "b": 1.0, "c": 0.0}, _prod, _sizes) == ["a", "d"], (
    "several failing slices, sorted; a slice below min_rows is not judged"
)
assert failing_slices({"a": 0.84375}, {"a": 0.875}, {"a": 40}, 0.03125) == [], (
    "exactly the tolerance below production passes"
)
assert failing_slices({"a": 0.84375}, {"a": 0.875}, {"a": 40}, 0.015625) == ["a"]
assert failing_slices({"a": 0.5}, {"a": 1.0}, {"a": 19}, 0.0, 20) == [], "below min_rows"
assert failing_slices({"a": 0.5}, {"a": 1.0}, {"a": 20}, 0.0, 20) == ["a"], "exactly min_rows"
### END HIDDEN TESTS
"""

PART_3 = """
## Part 3: a canary decision rule ({points} points)

A canary sends a share of the traffic to the candidate; the others (the control) get
production. Write `canary_decision(canary_errors, n_canary, control_errors, n_control,
threshold, min_canary, max_canary)` returning one of three strings:

* `"undecided"` while fewer than `min_canary` canary requests were seen;
* `"rollback"` when the candidate's error rate (`canary_errors / n_canary`) exceeds the
  control's (`control_errors / n_control`, taken as 0 when `n_control` is 0) by **more than**
  `threshold`;
* otherwise `"promote"` once `n_canary` reached `max_canary`, else `"undecided"`.
"""

ANSWER_3 = """
def canary_decision(
    canary_errors, n_canary, control_errors, n_control, threshold, min_canary, max_canary
):
    \"\"\"'rollback', 'promote' or 'undecided'.\"\"\"
    ### BEGIN SOLUTION
    if n_canary < min_canary:
        return "undecided"
    control_rate = control_errors / n_control if n_control else 0.0
    if canary_errors / n_canary - control_rate > threshold:
        return "rollback"
    return "promote" if n_canary >= max_canary else "undecided"
    ### END SOLUTION
"""

TEST_3 = """
# Checks the form of your answer; the decisions are checked at grading time.
assert canary_decision(0, 5, 0, 50, 0.0, 10, 20) in ("rollback", "promote", "undecided")
### BEGIN HIDDEN TESTS
assert canary_decision(9, 9, 0, 100, 0.0, 10, 20) == "undecided", "too few canary requests"
assert canary_decision(4, 16, 10, 80, 0.0625, 16, 64) == "rollback", "0.25 - 0.125 > 0.0625"
assert canary_decision(3, 16, 10, 80, 0.0625, 16, 64) == "undecided", "gap exactly the threshold"
assert canary_decision(8, 64, 10, 80, 0.0, 16, 64) == "promote", "max_canary reached, no gap"
assert canary_decision(9, 64, 10, 80, 0.0, 16, 64) == "rollback", "a gap beats max_canary"
assert canary_decision(1, 16, 0, 0, 0.0, 16, 64) == "rollback", "no control yet: its rate is 0"
### END HIDDEN TESTS
"""

PART_4 = """
## Part 4: the rule on simulated traffic ({points} points)

`to_canary[i]` says whether live request `i` went to the candidate, `wrong[i]` whether the model
that answered it was wrong. Write `simulate_canary(to_canary, wrong, threshold, min_canary,
max_canary)`: go through the requests in order, keep the four counts, and **after each canary
request** apply `canary_decision`; stop at the first decision other than `"undecided"`. Return
`(decision, n_requests, users_affected)`: the decision (`"undecided"` if the stream ends first),
the number of requests up to and including the deciding one (all of them if undecided), and the
number of those that went to the candidate. The cell below runs it on traffic where the
candidate errs more often than production.
"""

ANSWER_4 = """
def simulate_canary(to_canary, wrong, threshold, min_canary, max_canary):
    \"\"\"(decision, requests until the decision, requests the candidate answered).\"\"\"
    ### BEGIN SOLUTION
    counts = {"canary_errors": 0, "n_canary": 0, "control_errors": 0, "n_control": 0}
    for i, (canary, error) in enumerate(zip(to_canary, wrong)):
        side = "canary" if canary else "control"
        counts[f"n_{side}"] += 1
        counts[f"{side}_errors"] += int(error)
        if canary:
            decision = canary_decision(
                **counts, threshold=threshold, min_canary=min_canary, max_canary=max_canary
            )
            if decision != "undecided":
                return decision, i + 1, counts["n_canary"]
    return "undecided", len(to_canary), counts["n_canary"]
    ### END SOLUTION
"""

RUN_4 = """
rng = np.random.default_rng(0)
to_canary = rng.random(5000) < 0.1  # a 10 % canary
wrong = np.where(to_canary, rng.random(5000) < 0.15, rng.random(5000) < 0.06)
result = simulate_canary(to_canary, wrong, threshold=0.03, min_canary=100, max_canary=400)
result
"""

TEST_4 = """
# Checks the form of your answer; the simulation is checked at grading time.
assert isinstance(result, tuple) and len(result) == 3, "(decision, n_requests, users_affected)"
### BEGIN HIDDEN TESTS
import inspect

from mlcicd.rollout import CanaryRule as _Rule


def _reference(to_canary, wrong, rule):
    n = {True: 0, False: 0}
    e = {True: 0, False: 0}
    for i, (c, w) in enumerate(zip(to_canary, wrong)):
        n[bool(c)] += 1
        e[bool(c)] += int(w)
        if c:
            d = rule.decide(e[True], n[True], e[False], n[False])
            if d != "undecided":
                return d, i + 1, n[True]
    return "undecided", len(to_canary), n[True]


# Part 4 is graded with the library's rule in place of canary_decision, so a mistake in part 3
# does not cost these points too
_part_3 = inspect.signature(canary_decision)  # called by position or by name, as your loop likes


def _library_decision(*args, **kwargs):
    _a = _part_3.bind(*args, **kwargs).arguments
    _r = _Rule(1.0, _a["threshold"], _a["min_canary"], _a["max_canary"])
    return _r.decide(_a["canary_errors"], _a["n_canary"], _a["control_errors"], _a["n_control"])


_yours, canary_decision = canary_decision, _library_decision
_small = [
    simulate_canary([True, False, True], [True, False, False], 0.0, 1, 5),
    simulate_canary([False, True, True], [True, False, False], 0.0, 1, 2),
    simulate_canary([False, True], [False, False], 0.0, 5, 10),
    simulate_canary([False, True], [True, True], 0.0, 1, 5),  # the control's error counts
]
_streams = []
for _seed, (_share, _p) in enumerate([(0.1, 0.15), (0.3, 0.06), (0.05, 0.2), (0.5, 0.07)]):
    _rng = np.random.default_rng(_seed)
    _c = _rng.random(3000) < _share
    _w = np.where(_c, _rng.random(3000) < _p, _rng.random(3000) < 0.06)
    _expected = _reference(_c, _w, _Rule(_share, 0.02, 50, 200))
    _streams.append((tuple(simulate_canary(list(_c), list(_w), 0.02, 50, 200)), _expected))
canary_decision = _yours
_small_expected = [("rollback", 1, 1), ("promote", 3, 2), ("undecided", 2, 1), ("undecided", 2, 1)]
assert [tuple(_r) for _r in _small] == _small_expected, "wrong result on a short stream"
for _k, (_got, _expected) in enumerate(_streams):
    assert _got == _expected, f"wrong result for traffic {_k}"
### END HIDDEN TESTS
"""

PART_5 = """
## Part 5: written ({points} points)

In two or three sentences: the shadow deployment of lesson 10 caught the candidate before any
user saw it. Why would a team still run a canary afterwards, and what does the canary's
`min_canary` / `max_canary` bound?
"""

MODEL_ANSWER = """
A shadow only compares predictions (and, once labels arrive, their accuracy); it cannot show
what users do with the answers or effects that only appear when the candidate's answers are
used (latency under real routing, downstream systems, user behaviour, feedback loops). A canary
measures those on real users while bounding the damage: at most `max_canary` users are ever
served by the candidate, and a clearly worse one is rolled back after about `min_canary`.
"""

RUBRIC = """
Rubric (2 points): 1 point for what a shadow cannot measure (the effect of the answers being
used: user or downstream reaction, serving under real routing); 1 point for the bound (the
number of users the candidate answers before the decision, at most max_canary).
"""


def build():
    cells = [
        markdown(INTRO),
        code(SETUP),
        markdown(PART_1.format(points=POINTS["behaviour"])),
        answer("behaviour-answer", ANSWER_1),
        code(RUN_1),
        tests("behaviour-test", TEST_1, POINTS["behaviour"]),
        markdown(PART_2.format(points=POINTS["slices"])),
        answer("slices-answer", ANSWER_2),
        code(RUN_2),
        tests("slices-test", TEST_2, POINTS["slices"]),
        markdown(PART_3.format(points=POINTS["rule"])),
        answer("rule-answer", ANSWER_3),
        tests("rule-test", TEST_3, POINTS["rule"]),
        markdown(PART_4.format(points=POINTS["canary"])),
        answer("canary-answer", ANSWER_4),
        code(RUN_4),
        tests("canary-test", TEST_4, POINTS["canary"]),
        markdown(PART_5.format(points=POINTS["written"])),
        written(
            "release-written", MODEL_ANSWER.strip() + "\n\n" + RUBRIC.strip(), POINTS["written"]
        ),
    ]
    return build_notebook(cells)


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(build(), OUTPUT)
    print(f"wrote {OUTPUT}")
