"""Problem set 3, drift and retraining: ``python assignments/specs/drift_and_retraining.py``
writes source/drift_and_retraining/drift_and_retraining.ipynb.

Four autograded items (the weeks the monitor flags, a PSI computed by hand, a retraining policy,
the accuracy of the serving model with and without retraining) and one written answer graded
by hand. The weeks come from ``mlcicd.data.production_batches`` with a fixed seed, so the
flagged and the retrain weeks are exact. Edit here, never the notebook's JSON.
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

OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "source"
    / "drift_and_retraining"
    / "drift_and_retraining.ipynb"
)
POINTS = {"drift": 2, "psi": 2, "policy": 3, "cost": 3, "written": 3}

# The world of the setup cell, and what the library says about it (checked by hidden tests and,
# against the library, by tests/assignments/test_problem_sets.py).
WORLD = {
    "n_batches": 8,
    "batch_size": 150,
    "covariate_shift": 1.0,
    "concept_drift": 0.5,
    "seed": 0,
}
DRIFT_WEEKS = [5, 6, 7]  # detect_drift(train, week, target=TARGET).dataset_drift
RETRAIN_WEEKS = [4, 5, 6, 7]  # dataset drift, or accuracy more than 0.05 below the holdout's

INTRO = f"""
# Problem set 3: drift and retraining

A model is trained once, but the world it serves keeps moving. Here a model meets eight weeks
of production data (made by `mlcicd.data.production_batches` with a fixed seed): calm at first,
then from week 4 on some features shift and, in one region, the labels change meaning. You
detect the drift, compute a drift statistic yourself, decide when to retrain, and measure what
skipping the retraining costs.

| Part | What you write | Points |
|---|---|---|
| 1 | `drifted_weeks`: the weeks the monitor flags | {POINTS["drift"]} |
| 2 | `psi`: the population stability index of one feature, with numpy | {POINTS["psi"]} |
| 3 | `retrain_weeks`: a retraining policy | {POINTS["policy"]} |
| 4 | `serve`: weekly accuracy, with and without retraining | {POINTS["cost"]} |
| 5 | a written answer, graded by hand | {POINTS["written"]} |

Weeks are numbered from 0. Write your code where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line). The cell under each answer checks its form; whether it is
right is checked when the problem set is graded. Before you submit, restart the kernel and run
all cells (or click **Validate**).
"""

SETUP = """
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mlcicd.data import TARGET, load_dataset, production_batches, split
from mlcicd.evaluation import evaluate_model
from mlcicd.monitoring import detect_drift
from mlcicd.training import train_model

threadpool_limits(1)  # small data: one thread per step is fastest
df = load_dataset()
known, pool = split(df, holdout=0.5, seed=0)  # production weeks are drawn from the pool
train, holdout = split(known, holdout=0.25, seed=0)  # the first model's data
weeks = production_batches(  # 8 weeks; drift starts in week 4 and is strongest in week 7
    pool,
    TARGET,
    n_batches=__N_BATCHES__,
    batch_size=__BATCH_SIZE__,
    covariate_shift=__COVARIATE_SHIFT__,  # by the last week, half the features move 1 std
    concept_drift=__CONCEPT_DRIFT__,  # by the last week, labels in one region flip with p = 0.5
    seed=__SEED__,
)
model = train_model(train, TARGET, seed=0).model  # the model deployed before week 0
reference_accuracy = evaluate_model(model, holdout, TARGET)["accuracy"]
print(f"{len(weeks)} weeks of {len(weeks[0])} labelled rows; the model was trained on {len(train)}")
print(f"accuracy on the holdout before deployment: {reference_accuracy:.3f}")
"""

PART_1 = """
## Part 1: which weeks drifted? ({points} points)

`detect_drift(reference, current, target=TARGET)` compares every feature of `current` with
`reference` (a Kolmogorov-Smirnov test per feature here) and sets `dataset_drift` in its report
when at least half of the features drifted (a drift share of 0.5: the library's default and
the course's threshold). Write `drifted_weeks(reference, weeks)` that returns
the numbers of the weeks (from 0) whose report has `dataset_drift`, in order, with the training
data as the reference.
"""

ANSWER_1 = """
def drifted_weeks(reference, weeks):
    \"\"\"Numbers of the weeks (from 0) in which detect_drift sees dataset drift.\"\"\"
    ### BEGIN SOLUTION
    return [
        week
        for week, batch in enumerate(weeks)
        if detect_drift(reference, batch, target=TARGET).dataset_drift
    ]
    ### END SOLUTION
"""

RUN_1 = """
flagged = drifted_weeks(train, weeks)
print("weeks with dataset drift:", flagged)
"""

TEST_1 = """
# Checks the form of your answer; the weeks are checked at grading time.
assert isinstance(flagged, list), "drifted_weeks must return a list"
assert all(isinstance(w, int) and 0 <= w < len(weeks) for w in flagged), "week numbers from 0"
### BEGIN HIDDEN TESTS
assert flagged == __DRIFT_WEEKS__, "not the weeks the monitor flags"
_later_flags = drifted_weeks(train, weeks[4:7])
assert _later_flags == __LATE_WEEKS__, "wrong weeks when given weeks 4 to 6 only"
assert drifted_weeks(train, [holdout, train]) == [], "data like the reference does not drift"
### END HIDDEN TESTS
"""

PART_2 = """
## Part 2: the population stability index, by hand ({points} points)

Each feature in a drift report also has a PSI, the industry's rule of thumb (below 0.1 stable,
0.1 to 0.2 moderate, above 0.2 significant). Write `psi(reference, current)` for two 1-d arrays
of numbers, with numpy:

1. the inner bin edges are the 10 %, 20 %, ..., 90 % quantiles of `reference`
   (`np.quantile`, default method), with repeated edges dropped (`np.unique`); the outer edges
   are $-\\infty$ and $+\\infty$, so there are up to 10 bins;
2. a value equal to an edge belongs to the bin above it (`np.searchsorted(edges, x,
   side="right")` gives each value's bin);
3. $r_i$ and $c_i$ are the shares of `reference` and of `current` in bin $i$, each raised to at
   least $10^{{-4}}$ (`np.clip`) so that an empty bin does not give $\\log 0$;
4. $\\mathrm{{PSI}} = \\sum_i (c_i - r_i) \\ln(c_i / r_i)$.

Your value must match the library's (`report.features[k].psi`) to $10^{{-6}}$.
"""

ANSWER_2 = """
def psi(reference, current):
    \"\"\"Population stability index of current against reference (decile bins).\"\"\"
    ### BEGIN SOLUTION
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = np.unique(np.quantile(reference, np.arange(1, 10) / 10))
    bins = len(edges) + 1
    r = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins)
    c = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins)
    r = np.clip(r / r.sum(), 1e-4, None)
    c = np.clip(c / c.sum(), 1e-4, None)
    return float(np.sum((c - r) * np.log(c / r)))
    ### END SOLUTION
"""

RUN_2 = """
last = weeks[-1]
report = detect_drift(train, last, target=TARGET, columns=["mean_radius"])
mine = psi(train["mean_radius"], last["mean_radius"])
print(f"mean_radius, last week: my PSI {mine:.6f}, the library's {report.features[0].psi:.6f}")
"""

TEST_2 = """
# Checks the form of your answer; the value is checked at grading time.
assert isinstance(mine, float), "psi must return a float"
assert mine >= 0, "a PSI is never negative"
### BEGIN HIDDEN TESTS
for _feature, _week in (("mean_radius", 7), ("worst_texture", 2), ("mean_concavity", 5)):
    _batch = weeks[_week]
    _library_psi = detect_drift(train, _batch, target=TARGET, columns=[_feature]).features[0].psi
    _my_psi = psi(train[_feature].to_numpy(), _batch[_feature].to_numpy())
    assert abs(_my_psi - _library_psi) < 1e-6, f"PSI of {_feature} in week {_week} differs"
assert abs(psi(np.arange(100.0), np.arange(100.0))) < 1e-12, "identical samples have PSI 0"
_edge_cases = (
    (np.arange(100.0), np.arange(-10.0, 40.0), "empty top bins of current"),
    (np.r_[np.zeros(50), np.arange(1.0, 51.0)], np.arange(-5.0, 95.0), "empty bin of reference"),
)
for _ref, _cur, _what in _edge_cases:
    _frames = pd.DataFrame({"v": _ref}), pd.DataFrame({"v": _cur})
    _library_psi = detect_drift(*_frames, columns=["v"]).features[0].psi
    assert abs(psi(_ref, _cur) - _library_psi) < 1e-6, f"PSI differs with an {_what}"
### END HIDDEN TESTS
"""

PART_3 = """
## Part 3: when to retrain ({points} points)

Drift tests look at the features only; when labels arrive, the accuracy of the serving model
tells more. The cell below gives, for every week, the drift report of the week against the
training data and the accuracy of the deployed model on the week's labelled rows.

Write `retrain_weeks(reports, accuracies, reference_accuracy, max_accuracy_drop=0.05)`: the
numbers of the weeks after which to retrain, in order. Retrain after week $w$ when its report
has `dataset_drift`, **or** when the accuracy fell by more than `max_accuracy_drop` below
`reference_accuracy` (a drop of exactly `max_accuracy_drop` is not enough). `reports` may be
any objects with a `dataset_drift` attribute.
"""

GIVEN_3 = """
reports = [detect_drift(train, batch, target=TARGET) for batch in weeks]
accuracies = [evaluate_model(model, batch, TARGET)["accuracy"] for batch in weeks]
pd.DataFrame(
    {
        "drift_share": [r.drift_share for r in reports],
        "dataset_drift": [r.dataset_drift for r in reports],
        "accuracy": accuracies,
        "drop": [reference_accuracy - a for a in accuracies],
    }
).round(3)
"""

ANSWER_3 = """
def retrain_weeks(reports, accuracies, reference_accuracy, max_accuracy_drop=0.05):
    \"\"\"Weeks after which to retrain: dataset drift, or accuracy fell too far.\"\"\"
    ### BEGIN SOLUTION
    return [
        week
        for week, (report, accuracy) in enumerate(zip(reports, accuracies, strict=True))
        if report.dataset_drift or reference_accuracy - accuracy > max_accuracy_drop
    ]
    ### END SOLUTION
"""

RUN_3 = """
policy = retrain_weeks(reports, accuracies, reference_accuracy)
print("retrain after weeks:", policy)
"""

TEST_3 = """
# Checks the form of your answer; the weeks are checked at grading time.
assert isinstance(policy, list), "retrain_weeks must return a list"
assert all(isinstance(w, int) and 0 <= w < len(weeks) for w in policy), "week numbers from 0"


### BEGIN HIDDEN TESTS
class _WeekReport:
    def __init__(self, dataset_drift):
        self.dataset_drift = dataset_drift


assert policy == __RETRAIN_WEEKS__, "not the weeks this policy retrains after"
_calm, _drifted = _WeekReport(False), _WeekReport(True)
_toy_reports = [_calm, _calm, _drifted, _calm, _calm]
_toy_accuracies = [0.75, 0.6875, 0.75, 0.671875, 0.7421875]
assert retrain_weeks(_toy_reports, _toy_accuracies, 0.75, 0.0625) == [2, 3], (
    "wrong weeks for a drop exactly at, and just beyond, the limit"
)
assert retrain_weeks(_toy_reports, _toy_accuracies, 0.75) == [1, 2, 3], "default max_accuracy_drop"
assert retrain_weeks([], [], 0.9) == [], "no weeks, no retraining"
### END HIDDEN TESTS
"""

PART_4 = """
## Part 4: what skipping retraining costs ({points} points)

Write `serve(weeks, train, retrain_after)`: the weekly accuracy of the model in production.
It starts with `train_model(train, TARGET, seed=0).model`. Each week, first the serving model
is scored on the week's labelled rows (`evaluate_model(serving, batch, TARGET)["accuracy"]`);
then, if the week is in `retrain_after`, a new model is trained on that week's rows
(`train_model(batch, TARGET, seed=0)`) and serves from the next week on. Return the list of
weekly accuracies.

The cell after your answer compares never retraining with your policy.
"""

ANSWER_4 = """
def serve(weeks, train, retrain_after):
    \"\"\"Weekly accuracy of the serving model, retraining after the given weeks.\"\"\"
    ### BEGIN SOLUTION
    serving = train_model(train, TARGET, seed=0).model
    scores = []
    for week, batch in enumerate(weeks):
        scores.append(evaluate_model(serving, batch, TARGET)["accuracy"])
        if week in retrain_after:
            serving = train_model(batch, TARGET, seed=0).model
    return scores
    ### END SOLUTION
"""

RUN_4 = """
never = serve(weeks, train, [])
retrained = serve(weeks, train, policy)
comparison = pd.DataFrame({"never retrain": never, "retrain (your policy)": retrained})
print(f"mean accuracy: never {np.mean(never):.3f}, with retraining {np.mean(retrained):.3f}")
comparison.round(3)
"""

TEST_4 = """
# Checks the form of your answer; the accuracies are checked at grading time.
assert isinstance(never, list) and len(never) == len(weeks), "one accuracy per week"
assert all(isinstance(a, float) and 0 <= a <= 1 for a in never), "accuracies are fractions"
### BEGIN HIDDEN TESTS
assert np.allclose(never, accuracies, rtol=0, atol=1e-6), (
    "without retraining, the first model must serve every week"
)
_with_retraining = serve(weeks, train, __RETRAIN_WEEKS__)
assert np.mean(_with_retraining) > np.mean(never), "retraining must pay off in these weeks"
_after_week_5 = train_model(weeks[5], TARGET, seed=0).model
_expected = accuracies[:6] + [
    evaluate_model(_after_week_5, _b, TARGET)["accuracy"] for _b in weeks[6:]
]
assert np.allclose(serve(weeks, train, [5]), _expected, rtol=0, atol=1e-6), (
    "a retrained model serves from the next week on"
)
### END HIDDEN TESTS
"""

PART_5 = f"""
## Part 5 (written, {POINTS["written"]} points)

Every stage of a team's pipeline finished without an error, yet the model it deployed makes
poor predictions a few months later. Using what you measured above, explain in three to five
sentences why this can happen, and what the pipeline needs so that it does not.
"""

MODEL_ANSWER = """
The pipeline checks that the code runs and that the model was good on the data it was
validated on, but the world moved after deployment: the features shifted and, in one region,
the labels changed meaning. The model was never retrained on the updated data, so it kept
predicting for the old world: above, its weekly accuracy fell from about 0.95 to well under 0.7
while nothing failed. Retraining after the drifted weeks brought the mean accuracy back up. The
pipeline needs monitoring in production (drift tests on the features and accuracy on labelled
data, since concept drift can leave the features unchanged), and a trigger that retrains on
fresh data, validates and redeploys when the monitor raises the alarm.
"""

RUBRIC = """
**Grading guide** (1 + 1 + 1 points): the data changed after deployment (drift) while the model
stayed the same: retraining on updated data was skipped (1); backed by the measurement (accuracy
falling over the weeks, or mean accuracy with vs without retraining) (1); names the remedy:
monitoring (drift and accuracy) that triggers retraining, validation and redeployment (1).
"""


def _filled(source: str) -> str:
    values = {f"__{key.upper()}__": repr(value) for key, value in WORLD.items()}
    values["__DRIFT_WEEKS__"] = repr(DRIFT_WEEKS)
    values["__RETRAIN_WEEKS__"] = repr(RETRAIN_WEEKS)
    values["__LATE_WEEKS__"] = repr([w - 4 for w in DRIFT_WEEKS if 4 <= w < 7])
    for placeholder, value in values.items():
        source = source.replace(placeholder, value)
    return source


def build():
    cells = [
        markdown(INTRO),
        code(_filled(SETUP)),
        markdown(PART_1.format(points=POINTS["drift"])),
        answer("drift-answer", ANSWER_1),
        code(RUN_1),
        tests("drift-test", _filled(TEST_1), POINTS["drift"]),
        markdown(PART_2.format(points=POINTS["psi"])),
        answer("psi-answer", ANSWER_2),
        code(RUN_2),
        tests("psi-test", TEST_2, POINTS["psi"]),
        markdown(PART_3.format(points=POINTS["policy"])),
        code(GIVEN_3),
        answer("policy-answer", ANSWER_3),
        code(RUN_3),
        tests("policy-test", _filled(TEST_3), POINTS["policy"]),
        markdown(PART_4.format(points=POINTS["cost"])),
        answer("serve-answer", ANSWER_4),
        code(RUN_4),
        tests("serve-test", _filled(TEST_4), POINTS["cost"]),
        markdown(PART_5),
        written(
            "retraining-written", MODEL_ANSWER.strip() + "\n\n" + RUBRIC.strip(), POINTS["written"]
        ),
    ]
    return build_notebook(cells)


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(build(), OUTPUT)
    print(f"wrote {OUTPUT}")
