"""Problem set 2, data validation and the quality gate: ``python
assignments/specs/validation_and_gate.py`` writes source/validation_and_gate/validation_and_gate.ipynb.

Three answers, four autograded items: the anomaly kinds of given broken batches, an
out-of-range check written by hand, and a quality gate (its main rules, then its edges: the
tolerance boundary, the threshold and the beats-the-baseline rule). The broken batches are made
in the setup cell, deterministically, from the embedded data. Edit here, never the notebook's JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlcicd.course.grading import answer, build_notebook, code, markdown, tests, write_notebook

OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "source"
    / "validation_and_gate"
    / "validation_and_gate.ipynb"
)
POINTS = {"problems": 3, "range": 2, "gate_rules": 2, "gate_edges": 2}

# The anomaly kinds mlcicd.validation reports for each given batch (checked by a hidden test and,
# against the library, by tests/assignments/test_problem_sets.py).
EXPECTED_KINDS = {
    "clean": [],
    "batch_a": ["missing_column"],
    "batch_b": ["wrong_type"],
    "batch_c": ["out_of_range"],
    "batch_d": ["missing_values"],
}

INTRO = f"""
# Problem set 2: data validation and the quality gate

A pipeline has two gates. Before training, **data validation** keeps bad batches out: a column
missing, numbers arriving as text, values in the wrong unit, holes in the data. After training,
the **quality gate** keeps bad models out: a candidate is deployed only if it is good enough,
no worse than the model in production, and better than a trivial baseline.

| Part | What you write | Points |
|---|---|---|
| 1 | `find_problems`: the kinds of anomaly in a batch | {POINTS["problems"]} |
| 2 | `count_out_of_range`: one check, written by hand | {POINTS["range"]} |
| 3 | `my_gate`: the quality gate's decision | {POINTS["gate_rules"]} + {POINTS["gate_edges"]} |

Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
line). The cell under each answer checks its form; whether it is right is checked when the
problem set is graded, on these batches and on others. Before you submit, restart the kernel
and run all cells (or click **Validate**).
"""

SETUP = """
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mlcicd.data import TARGET, load_dataset, split
from mlcicd.evaluation import validate_model
from mlcicd.training import ModelSpec, train_model
from mlcicd.validation import ANOMALY_KINDS, infer_schema, validate_data

threadpool_limits(1)  # small data: one thread per step is fastest
df = load_dataset()
train, holdout = split(df, seed=0)
schema = infer_schema(train, target=TARGET)  # learned from the training data

# Four batches broken the ways real data breaks, made from the holdout (and the clean holdout)
rng = np.random.default_rng(0)
holes = rng.random(len(holdout)) < 0.1
batches = {
    "clean": holdout,
    "batch_a": holdout.drop(columns="mean_texture"),
    "batch_b": holdout.assign(  # decimal commas: "17,99" instead of 17.99
        mean_radius=holdout["mean_radius"].round(2).astype(str).str.replace(".", ",", regex=False)
    ),
    "batch_c": holdout.assign(mean_area=holdout["mean_area"] * 10),  # another unit
    "batch_d": holdout.assign(
        worst_area=holdout["worst_area"].mask(holes),
        worst_texture=holdout["worst_texture"].mask(holes[::-1]),
    ),
}
print("anomaly kinds mlcicd.validation knows:", ", ".join(ANOMALY_KINDS))
for name, batch in batches.items():
    print(f"{name}: {batch.shape[0]} rows x {batch.shape[1]} columns")
"""

PART_1 = """
## Part 1: what is wrong with each batch? ({points} points)

Write `find_problems(df, schema)` that returns the **kinds** of anomaly in `df` as a sorted
list of distinct strings, with the names `mlcicd.validation` uses (`"missing_column"`,
`"wrong_type"`, `"out_of_range"`, `"missing_values"`, ...); a clean batch gives `[]`. Use
`validate_data(df, schema)` (it returns a report whose `anomalies` each have a `kind`), or write
the checks yourself with the library's conventions: a required column that is absent is a
`"missing_column"`; a value that cannot be read as a number is a `"wrong_type"` (not a missing
value); an empty cell is a `"missing_values"`; a number below the column's `min` or above its
`max` is `"out_of_range"`. Look at the batches above (`batches["batch_b"].head()`, ...) to see
what went wrong with each.
"""

ANSWER_1 = """
def find_problems(df, schema):
    \"\"\"Sorted, distinct kinds of anomaly of df against schema.\"\"\"
    ### BEGIN SOLUTION
    report = validate_data(df, schema)
    return sorted({anomaly.kind for anomaly in report.anomalies})
    ### END SOLUTION
"""

RUN_1 = """
problems = {name: find_problems(batch, schema) for name, batch in batches.items()}
problems
"""

TEST_1 = """
# Checks the form of your answer; the kinds are checked at grading time.
assert isinstance(problems, dict) and set(problems) == set(batches), "one entry per batch"
for _kinds in problems.values():
    assert isinstance(_kinds, list), "find_problems must return a list"
    assert all(_kind in ANOMALY_KINDS for _kind in _kinds), "use mlcicd.validation's kind names"
### BEGIN HIDDEN TESTS
for _name, _expected in __EXPECTED_KINDS__.items():
    assert find_problems(batches[_name], schema) == _expected, f"wrong kinds for {_name}"
_no_label = holdout.drop(columns=TARGET).assign(mean_smoothness=holdout["mean_smoothness"] * 100)
assert find_problems(_no_label, schema) == ["missing_column", "out_of_range"], (
    "wrong kinds for a batch with two problems"
)
assert find_problems(train, schema) == [], "wrong kinds for the training data"
### END HIDDEN TESTS
"""

PART_2 = """
## Part 2: one check, by hand ({points} points)

To see what a check does inside, write one yourself. `count_out_of_range(df, schema)` returns a
dict `{{column: count}}` with, for every column of the schema that has both a `min` and a `max`
(`schema.columns` holds them: `c.name`, `c.min`, `c.max`) and is present in `df`, the number of
values below `min` or above `max`; a value equal to `min` or `max` is in range. Missing values
are not counted, nor are values that are not numbers (like the text in `batch_b`):
`pd.to_numeric(values, errors="coerce")` turns those into missing values. Leave out the columns
with a count of 0. Use pandas (or numpy) on whole columns: a loop over the columns is fine, a
loop over the rows is not.
"""

ANSWER_2 = """
def count_out_of_range(df, schema):
    \"\"\"{column: number of values outside [min, max]} for the columns with any.\"\"\"
    ### BEGIN SOLUTION
    counts = {}
    for column in schema.columns:
        if column.min is None or column.max is None or column.name not in df.columns:
            continue
        values = pd.to_numeric(df[column.name], errors="coerce")
        n = int(((values < column.min) | (values > column.max)).sum())
        if n:
            counts[column.name] = n
    return counts
    ### END SOLUTION
"""

RUN_2 = """
out_of_range = {name: count_out_of_range(batch, schema) for name, batch in batches.items()}
out_of_range
"""

TEST_2 = """
# Checks the form of your answer; the counts are checked at grading time.
assert isinstance(out_of_range, dict) and set(out_of_range) == set(batches), "one entry per batch"
for _counts in out_of_range.values():
    assert isinstance(_counts, dict), "count_out_of_range must return a dict"
    assert all(isinstance(_n, int | np.integer) for _n in _counts.values()), "counts are integers"
### BEGIN HIDDEN TESTS
for _name, _batch in batches.items():
    _found = validate_data(_batch, schema).anomalies
    _library_counts = {_a.column: _a.count for _a in _found if _a.kind == "out_of_range"}
    assert count_out_of_range(_batch, schema) == _library_counts, f"wrong counts for {_name}"
_edge = holdout.copy()
_area = schema.column("mean_area")
_edge.loc[0:4, "mean_area"] = _area.max
_edge.loc[5:6, "mean_area"] = _area.min
_edge.loc[7:9, "mean_area"] = _area.max + 0.5
_edge.loc[10, "worst_radius"] = schema.column("worst_radius").min - 1
assert count_out_of_range(_edge, schema) == {"mean_area": 3, "worst_radius": 1}, (
    "wrong counts at the edges of the range"
)
from mlcicd.validation import ColumnSchema, Schema

_one_bound = Schema(
    (ColumnSchema("mean_area", "float", max=100.0), ColumnSchema("mean_radius", "float", min=0.0))
)
assert count_out_of_range(holdout, _one_bound) == {}, "a column with only one bound is not checked"
### END HIDDEN TESTS
"""

PART_3 = """
## Part 3: the quality gate ({rules} + {edges} points)

Write `my_gate(candidate_metrics, production_metrics, baseline_metrics, min_accuracy=0.9,
tolerance=0.01)` returning `True` (deploy the candidate) or `False` (reject it). The metrics are
dicts with an `"accuracy"` (a fraction); `production_metrics` is `None` while no model is in
production. The candidate passes only if all three rules hold:

1. **threshold**: its accuracy is at least `min_accuracy`;
2. **no regression**: it is at most `tolerance` below production's accuracy (skip this rule
   when there is no production model);
3. **beats the baseline**: its accuracy is strictly higher than the baseline's (the baseline
   always predicts the most frequent class).

These are the rules of `mlcicd.evaluation.quality_gate`, and the defaults are the library's and
the course's (accuracy at least 0.90, a tolerance of 0.01); write the rules yourself with plain
comparisons. The cell after your answer trains a few models and compares your gate's verdicts
with the library's.
"""

ANSWER_3 = """
def my_gate(
    candidate_metrics, production_metrics, baseline_metrics, min_accuracy=0.9, tolerance=0.01
):
    \"\"\"True if the candidate may be deployed.\"\"\"
    ### BEGIN SOLUTION
    accuracy = candidate_metrics["accuracy"]
    if accuracy < min_accuracy:
        return False
    if production_metrics is not None and production_metrics["accuracy"] - accuracy > tolerance:
        return False
    return accuracy > baseline_metrics["accuracy"]
    ### END SOLUTION
"""

RUN_3 = """
production = train_model(train, TARGET, seed=0)  # the model serving today
candidates = {
    "logistic regression, C=10": ModelSpec("logistic_regression", {"C": 10.0}),
    "decision tree, depth 1": ModelSpec("decision_tree", {"max_depth": 1}),
    "most frequent class": ModelSpec("dummy"),
}
verdicts = {}
for name, spec in candidates.items():
    candidate = train_model(train, TARGET, spec, seed=0)
    decision = validate_model(candidate.model, holdout, TARGET, production_model=production.model)
    mine = my_gate(decision.metrics, decision.production_metrics, decision.baseline_metrics)
    verdicts[name] = {
        "accuracy": decision.metrics["accuracy"],
        "production": decision.production_metrics["accuracy"],
        "baseline": decision.baseline_metrics["accuracy"],
        "my gate": mine,
        "library gate": decision.blessed,
    }
pd.DataFrame(verdicts).T
"""

TEST_3 = """
# Checks the form of your answer; the decisions are checked at grading time.
_verdict = my_gate({"accuracy": 0.95}, None, {"accuracy": 0.6})
assert isinstance(_verdict, bool | np.bool_), "my_gate must return True or False"
### BEGIN HIDDEN TESTS
_base = {"accuracy": 0.625}
assert my_gate({"accuracy": 0.984375}, {"accuracy": 0.9375}, _base, 0.875, 0.03125), (
    "a better candidate must pass"
)
_worse = my_gate({"accuracy": 0.90625}, {"accuracy": 0.96875}, _base, 0.875, 0.03125)
assert isinstance(_worse, bool | np.bool_) and not _worse, (
    "a clearly worse candidate must be rejected (with False)"
)
assert my_gate({"accuracy": 0.9375}, None, _base, 0.875, 0.03125), (
    "a good first model (no production yet) must pass"
)
assert not my_gate({"accuracy": 0.8125}, None, _base, 0.875, 0.03125), (
    "a candidate below the threshold must be rejected"
)
assert not my_gate({"accuracy": 0.8125}, {"accuracy": 0.75}, _base, 0.875, 0.03125), (
    "below the threshold, even when better than production"
)
assert my_gate({"accuracy": 0.96}, {"accuracy": 0.95}, {"accuracy": 0.63}), "default arguments"
### END HIDDEN TESTS
"""

TEST_4 = """
# The edges of the rules; checked at grading time.
_verdict = my_gate({"accuracy": 0.5}, None, {"accuracy": 0.4}, 0.9)
assert isinstance(_verdict, bool | np.bool_), "my_gate must return True or False"
### BEGIN HIDDEN TESTS
_floor = {"accuracy": 0.5}
assert my_gate({"accuracy": 0.90625}, {"accuracy": 0.9375}, _floor, 0.875, 0.03125), (
    "exactly the tolerance below production must pass"
)
assert not my_gate({"accuracy": 0.9052734375}, {"accuracy": 0.9375}, _floor, 0.875, 0.03125), (
    "just more than the tolerance below production must be rejected"
)
assert my_gate({"accuracy": 0.875}, None, _floor, 0.875, 0.03125), "exactly the threshold passes"
assert not my_gate({"accuracy": 0.625}, None, {"accuracy": 0.625}, 0.5, 0.03125), (
    "a tie with the baseline does not beat it"
)
assert my_gate({"accuracy": 0.65625}, None, {"accuracy": 0.625}, 0.5, 0.03125), (
    "just above the baseline must pass"
)
### END HIDDEN TESTS
"""


def build():
    expected = "".join(
        f"    {json.dumps(k)}: {json.dumps(v)},\n" for k, v in EXPECTED_KINDS.items()
    )
    hidden_1 = TEST_1.replace("__EXPECTED_KINDS__", "{\n" + expected + "}")
    cells = [
        markdown(INTRO),
        code(SETUP),
        markdown(PART_1.format(points=POINTS["problems"])),
        answer("problems-answer", ANSWER_1),
        code(RUN_1),
        tests("problems-test", hidden_1, POINTS["problems"]),
        markdown(PART_2.format(points=POINTS["range"])),
        answer("range-answer", ANSWER_2),
        code(RUN_2),
        tests("range-test", TEST_2, POINTS["range"]),
        markdown(PART_3.format(rules=POINTS["gate_rules"], edges=POINTS["gate_edges"])),
        answer("gate-answer", ANSWER_3),
        code(RUN_3),
        tests("gate-rules-test", TEST_3, POINTS["gate_rules"]),
        tests("gate-edges-test", TEST_4, POINTS["gate_edges"]),
    ]
    return build_notebook(cells)


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(build(), OUTPUT)
    print(f"wrote {OUTPUT}")
