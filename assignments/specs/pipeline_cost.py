"""Problem set 1, what the pipeline loop costs: ``python assignments/specs/pipeline_cost.py``
writes source/pipeline_cost/pipeline_cost.ipynb.

Four autograded items (the per-version loop with operation counts, the measurement, the growth
exponents, the loop with data validation) and one written answer graded by hand (the seed's
follow-up question). Every hidden test calls the learner's function on inputs of its own, so a
wrong answer in one item costs only that item's points. Edit here, never the notebook's JSON.
"""

from __future__ import annotations

from pathlib import Path

from mlcicd.grading import answer, build_notebook, code, markdown, tests, write_notebook, written

OUTPUT = Path(__file__).resolve().parent.parent / "source" / "pipeline_cost" / "pipeline_cost.ipynb"
POINTS = {"loop": 3, "measure": 2, "exponents": 2, "validated": 3, "written": 4}

INTRO = f"""
# Problem set 1: what the pipeline loop costs

The seed lesson's pipeline runs, for each model version, *train, validate, deploy, monitor*, and
claims that its cost grows linearly with the number of versions: $O(n)$. Here you build that
loop with `mlcicd`, count what it does, measure it, fit the growth exponent, and then answer the
lesson's follow-up question: what happens when automated data validation runs before training?

| Part | What you write | Points |
|---|---|---|
| 1 | `run_loop`: the loop, counting trainings and validations | {POINTS["loop"]} |
| 2 | `measure`: operations and seconds for several numbers of versions | {POINTS["measure"]} |
| 3 | `growth_exponents`: the fitted exponents | {POINTS["exponents"]} |
| 4 | `run_loop_validated`: the loop with data validation, per version or once | {POINTS["validated"]} |
| 5 | a written answer, graded by hand | {POINTS["written"]} |

Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
line). The cell under each answer checks its form; whether it is right is checked when the
problem set is graded. Everything runs in a few seconds: the data is small and the model is a
logistic regression. Before you submit, restart the kernel and run all cells (or click
**Validate**).
"""

SETUP = """
import time

import pandas as pd
from threadpoolctl import threadpool_limits

from mlcicd.data import TARGET, load_dataset, split
from mlcicd.evaluation import validate_model
from mlcicd.growth import fit_exponent
from mlcicd.training import train_model
from mlcicd.validation import infer_schema, validate_data

threadpool_limits(1)  # small data: one thread per step is fastest and keeps timings steady
df = load_dataset()  # 569 rows, 30 features and the label "target"
train, holdout = split(df, seed=0)  # 426 rows to train on, 143 to validate on
schema = infer_schema(train, target=TARGET)  # what valid training data looks like
SIZES = [2, 3, 4]  # numbers of model versions to measure (kept small: seconds, not minutes)
print(f"train: {len(train)} rows, holdout: {len(holdout)} rows, sizes: {SIZES}")
"""

PART_1 = """
## Part 1: the loop, with operation counts ({points} points)

Write `run_loop(n_versions, train, holdout, target=TARGET, seed=0)`. For each of the
`n_versions` model versions it trains a model on `train` with
`train_model(train, target, seed=seed + version)` (the default model is a logistic regression)
and validates it on `holdout` with `validate_model(trained.model, holdout, target)` (the quality
gate). Call `train_model` and `validate_model` exactly as imported above, once each per version.
Deploying and monitoring are left out: they would write files and need production data.

Return the counts as a dict: `{{"trainings": ..., "validations": ...}}`.
"""

ANSWER_1 = """
def run_loop(n_versions, train, holdout, target=TARGET, seed=0):
    \"\"\"Train and validate n_versions models; return how often each step ran.\"\"\"
    ### BEGIN SOLUTION
    counts = {"trainings": 0, "validations": 0}
    for version in range(n_versions):
        trained = train_model(train, target, seed=seed + version)
        counts["trainings"] += 1
        validate_model(trained.model, holdout, target)
        counts["validations"] += 1
    return counts
    ### END SOLUTION
"""

TEST_1 = """
# Checks the form of your answer; the counts are checked at grading time.
_counts = run_loop(1, train, holdout)
assert isinstance(_counts, dict), "run_loop must return a dict"
assert set(_counts) == {"trainings", "validations"}, "the keys must be trainings and validations"
assert all(isinstance(v, int) for v in _counts.values()), "the counts must be integers"
### BEGIN HIDDEN TESTS
_library_steps = (train_model, validate_model)
_library_calls = {"train_model": 0, "validate_model": 0}


def train_model(*args, **kwargs):
    _library_calls["train_model"] += 1
    return _library_steps[0](*args, **kwargs)


def validate_model(*args, **kwargs):
    _library_calls["validate_model"] += 1
    return _library_steps[1](*args, **kwargs)


_loop_counts = [run_loop(_n, train, holdout, seed=1) for _n in (1, 2)]
train_model, validate_model = _library_steps
assert _loop_counts[0] == {"trainings": 1, "validations": 1}, "wrong counts for one version"
assert _loop_counts[1] == {"trainings": 2, "validations": 2}, "wrong counts for two versions"
assert _library_calls == {"train_model": 3, "validate_model": 3}, (
    "run_loop must call train_model and validate_model once per version"
)
assert run_loop(0, train, holdout) == {"trainings": 0, "validations": 0}, "zero versions"
### END HIDDEN TESTS
"""

PART_2 = """
## Part 2: measure it ({points} points)

Write `measure(loop, sizes, **loop_args)`. For each `n` in `sizes` it runs
`loop(n, **loop_args)`, timing the call with `time.perf_counter()`, and records one row: `n`,
`operations` (the trainings and the validations together, as the loop reported them) and
`seconds` (the wall-clock time of that call). Return a `pandas.DataFrame` with the columns
`n`, `operations`, `seconds`, one row per size, in the order of `sizes`.

The cell after your answer measures your `run_loop` for the sizes in `SIZES`.
"""

ANSWER_2 = """
def measure(loop, sizes, **loop_args):
    \"\"\"Operations and seconds of loop(n, **loop_args) for each n in sizes.\"\"\"
    ### BEGIN SOLUTION
    rows = []
    for n in sizes:
        start = time.perf_counter()
        counts = loop(n, **loop_args)
        seconds = time.perf_counter() - start
        rows.append(
            {"n": n, "operations": counts["trainings"] + counts["validations"], "seconds": seconds}
        )
    return pd.DataFrame(rows, columns=["n", "operations", "seconds"])
    ### END SOLUTION
"""

RUN_2 = """
table = measure(run_loop, SIZES, train=train, holdout=holdout)
table
"""

TEST_2 = """
# Checks the form of your table; the numbers are checked at grading time.
assert isinstance(table, pd.DataFrame), "measure must return a DataFrame"
assert list(table.columns) == ["n", "operations", "seconds"], "columns: n, operations, seconds"
assert table["n"].tolist() == SIZES, "one row per size, in the order of SIZES"


### BEGIN HIDDEN TESTS
def _counting_loop(n, per_version=1):
    _seen_sizes.append(n)
    return {"trainings": n * per_version, "validations": n}


_seen_sizes = []
_measured = measure(_counting_loop, [3, 1, 5], per_version=2)
assert _seen_sizes == [3, 1, 5], "measure must call the loop once per size, passing loop_args"
assert _measured["n"].tolist() == [3, 1, 5], "the n column is not the sizes"
assert _measured["operations"].tolist() == [9, 3, 15], "operations are not trainings + validations"
assert all(float(s) >= 0 for s in _measured["seconds"]), "seconds must be elapsed times"
### END HIDDEN TESTS
"""

PART_3 = """
## Part 3: the growth exponent ({points} points)

If a cost grows as $c \\cdot n^k$, then $\\log(\\text{{cost}}) = \\log c + k \\log n$: the
exponent $k$ is the slope of a straight line on log-log axes. `mlcicd.growth.fit_exponent(x, y)`
fits it by least squares and returns a result whose `.slope` is $k$.

Write `growth_exponents(table)` that returns `{{"operations": k_ops, "seconds": k_sec}}`: the
fitted exponents (plain floats) of the `operations` and of the `seconds` columns against `n`.
For $O(n)$, $k$ is 1. Operation counts give exactly 1; seconds give a number near it, with some
noise (short runs, a busy machine).
"""

ANSWER_3 = """
def growth_exponents(table):
    \"\"\"Fitted growth exponents of operations and seconds against n.\"\"\"
    ### BEGIN SOLUTION
    return {
        "operations": float(fit_exponent(table["n"], table["operations"]).slope),
        "seconds": float(fit_exponent(table["n"], table["seconds"]).slope),
    }
    ### END SOLUTION
"""

RUN_3 = """
exponents = growth_exponents(table)
print(f"operations grow as n^{exponents['operations']:.3f}")
print(f"seconds grow as n^{exponents['seconds']:.2f} (measured, so only near 1)")
"""

TEST_3 = """
# Checks the form of your answer; the exponents are checked at grading time.
assert isinstance(exponents, dict), "growth_exponents must return a dict"
assert set(exponents) == {"operations", "seconds"}, "the keys must be operations and seconds"
assert all(isinstance(v, float) for v in exponents.values()), "the exponents must be floats"
### BEGIN HIDDEN TESTS
_cubic_table = pd.DataFrame(
    {"n": [2, 4, 8, 16], "operations": [6, 12, 24, 48], "seconds": [0.008, 0.064, 0.512, 4.096]}
)
_fitted = growth_exponents(_cubic_table)
assert abs(_fitted["operations"] - 1) < 1e-9, "not the exponent of the operations"
assert abs(_fitted["seconds"] - 3) < 1e-9, "not the exponent of the seconds"
_own_fit = fit_exponent(table["n"], table["operations"]).slope
assert abs(exponents["operations"] - _own_fit) < 1e-9, "exponents do not come from your table"
### END HIDDEN TESTS
"""

PART_4 = """
## Part 4: data validation before training ({points} points)

The lesson ends with a question: what happens to the time complexity when automated data
validation runs before training? Data validation reads every row of the training data: its
cost grows with the number of rows $m$. Where it sits in the loop matters:

- `mode="each"`: validate the training data before every training (the loop as the lesson
  draws it);
- `mode="once"`: validate it once, before the loop: the versions all train on the same data
  version, so checking it again finds nothing new.

Write `run_loop_validated(n_versions, train, holdout, schema, mode="each", target=TARGET,
seed=0)`. It does what `run_loop` does, and validates `train` against `schema` with
`validate_data(train, schema)` (imported above), where `mode` says. Data that fails validation
is not trained on: in `"each"` mode that version is skipped, in `"once"` mode no version is
trained. Return a dict of counts with the keys `trainings`, `validations`, `data_validations`
(calls of `validate_data`) and `rows_validated`: the rows checked by all those calls together
(a report's `n_rows`).
"""

ANSWER_4 = """
def run_loop_validated(n_versions, train, holdout, schema, mode="each", target=TARGET, seed=0):
    \"\"\"run_loop with data validation before training, per version or once.\"\"\"
    ### BEGIN SOLUTION
    counts = {"trainings": 0, "validations": 0, "data_validations": 0, "rows_validated": 0}

    def data_is_valid():
        report = validate_data(train, schema)
        counts["data_validations"] += 1
        counts["rows_validated"] += report.n_rows
        return report.valid

    if mode == "once" and not data_is_valid():
        return counts
    for version in range(n_versions):
        if mode == "each" and not data_is_valid():
            continue
        trained = train_model(train, target, seed=seed + version)
        counts["trainings"] += 1
        validate_model(trained.model, holdout, target)
        counts["validations"] += 1
    return counts
    ### END SOLUTION
"""

TEST_4 = """
# Checks the form of your answer; the counts are checked at grading time.
_counts = run_loop_validated(1, train, holdout, schema, mode="once")
assert isinstance(_counts, dict), "run_loop_validated must return a dict"
_keys = {"trainings", "validations", "data_validations", "rows_validated"}
assert set(_counts) == _keys, f"the keys must be {sorted(_keys)}"
assert all(isinstance(v, int) for v in _counts.values()), "the counts must be integers"
### BEGIN HIDDEN TESTS
_validator = validate_data
_validator_calls = []


def validate_data(frame, *args, **kwargs):
    _validator_calls.append(len(frame))
    return _validator(frame, *args, **kwargs)


_m = len(train)
_each = run_loop_validated(2, train, holdout, schema, mode="each")
_once = run_loop_validated(2, train, holdout, schema, mode="once")
_broken = train.drop(columns="mean_texture")
_each_broken = run_loop_validated(2, _broken, holdout, schema, mode="each")
_once_broken = run_loop_validated(2, _broken, holdout, schema, mode="once")
validate_data = _validator
assert _each == {
    "trainings": 2,
    "validations": 2,
    "data_validations": 2,
    "rows_validated": 2 * _m,
}, "validation per version: wrong counts"
assert _once == {"trainings": 2, "validations": 2, "data_validations": 1, "rows_validated": _m}, (
    "validation once: wrong counts"
)
assert _each_broken["trainings"] == 0 and _each_broken["data_validations"] == 2, (
    "invalid data, validation per version: wrong counts"
)
assert _once_broken["trainings"] == 0 and _once_broken["data_validations"] == 1, (
    "invalid data, validation once: wrong counts"
)
assert len(_validator_calls) == 2 + 1 + 2 + 1, "validate_data must check the data each time"
### END HIDDEN TESTS
"""

RUN_4 = """
# Rows validated for each mode and each size, and the exponent of their growth
grid = pd.DataFrame(
    [
        {"mode": mode, "n": n, **run_loop_validated(n, train, holdout, schema, mode=mode)}
        for mode in ("each", "once")
        for n in SIZES
    ]
)
for mode, rows in grid.groupby("mode"):
    k = round(fit_exponent(rows["n"], rows["rows_validated"]).slope, 2) + 0.0  # no "-0.00"
    print(f"validation {mode}: rows validated {rows['rows_validated'].tolist()}, grow as n^{k:.2f}")

# One validation against one training, in seconds
start = time.perf_counter()
validate_data(train, schema)
validation_seconds = time.perf_counter() - start
start = time.perf_counter()
train_model(train, TARGET)
training_seconds = time.perf_counter() - start
print(f"one validation: {validation_seconds * 1000:.1f} ms")
print(f"one training: {training_seconds * 1000:.1f} ms")
grid
"""

PART_5 = f"""
## Part 5 (written, {POINTS["written"]} points)

Use your measurements above. When automated data validation runs before training, what happens
to the time complexity of the loop, in the number of versions $n$ and the number of rows $m$,
if it runs for every version, and if it runs once per data version? How does its cost compare
with the cost of training? Answer in three to five sentences in the cell below.
"""

MODEL_ANSWER = """
Validating before every training adds one pass over the $m$ rows to each of the $n$ iterations:
$n$ validations and $n \\cdot m$ rows checked, so the loop stays $O(n)$ in the number of versions
(and the validation part is $O(n \\cdot m)$); only the constant per version grows. Validating once
per data version checks $m$ rows once: $O(m)$, independent of $n$ (its rows-validated exponent
is 0), so the loop is $O(n)$ for training and validation of models plus a fixed $O(m)$ for the
data. One validation is a single vectorised pass and costs much less than one training, so the
measured seconds barely change either way; and a batch that fails validation stops before the
expensive training runs.
"""

RUBRIC = """
**Grading guide** (2 + 1 + 1 points): per version, still linear in $n$ ($n \\cdot m$ rows, the
constant grows) (2); once per data version, $O(m)$ added once, independent of $n$ (1); validation
is cheaper than training, or failing early skips training, backed by the measurement (1).
"""


def build():
    cells = [
        markdown(INTRO),
        code(SETUP),
        markdown(PART_1.format(points=POINTS["loop"])),
        answer("loop-answer", ANSWER_1),
        tests("loop-test", TEST_1, POINTS["loop"]),
        markdown(PART_2.format(points=POINTS["measure"])),
        answer("measure-answer", ANSWER_2),
        code(RUN_2),
        tests("measure-test", TEST_2, POINTS["measure"]),
        markdown(PART_3.format(points=POINTS["exponents"])),
        answer("exponents-answer", ANSWER_3),
        code(RUN_3),
        tests("exponents-test", TEST_3, POINTS["exponents"]),
        markdown(PART_4.format(points=POINTS["validated"])),
        answer("validated-answer", ANSWER_4),
        tests("validated-test", TEST_4, POINTS["validated"]),
        code(RUN_4),
        markdown(PART_5),
        written(
            "complexity-written",
            MODEL_ANSWER.strip() + "\n\n" + RUBRIC.strip(),
            POINTS["written"],
        ),
    ]
    return build_notebook(cells)


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(build(), OUTPUT)
    print(f"wrote {OUTPUT}")
