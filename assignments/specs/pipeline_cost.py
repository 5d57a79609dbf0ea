"""Problem set 1, what the pipeline loop costs: ``python assignments/specs/pipeline_cost.py``
writes source/pipeline_cost/pipeline_cost.ipynb.

Six autograded items (the per-version loop with operation counts, the measurement, the growth
exponents, the loop with data validation, extrapolation to the seed's 10, 100 and 1000
versions, and the seed's misconception measured against a real software pipeline) and one
written answer graded by hand (the seed's follow-up question). Every hidden test calls the
learner's function on inputs of its own and checks behaviour, not spelling (library calls are
counted however they are reached, timings on a clock only the test moves), so a wrong answer in
one item costs only that item's points. Edit here, never the notebook's JSON.
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

OUTPUT = Path(__file__).resolve().parent.parent / "source" / "pipeline_cost" / "pipeline_cost.ipynb"
POINTS = {
    "loop": 3,
    "measure": 2,
    "exponents": 2,
    "validated": 3,
    "extrapolate": 2,
    "misconception": 2,
    "written": 4,
}

INTRO = f"""
# Problem set 1: what the pipeline loop costs

The seed lesson's pipeline runs, for each model version, *train, validate, deploy, monitor*, and
claims that its cost grows linearly with the number of versions: $O(n)$. Here you build that
loop with `mlcicd`, count what it does, measure it, fit the growth exponent, extrapolate it to the
seed's 10, 100 and 1000 versions, test the seed's common mistake ("ML CI/CD runs as fast as
software CI"), and answer the lesson's follow-up question: what happens when automated data
validation runs before training?

| Part | What you write | Points |
|---|---|---|
| 1 | `run_loop`: the loop, counting trainings and validations | {POINTS["loop"]} |
| 2 | `measure`: operations and seconds for several numbers of versions | {POINTS["measure"]} |
| 3 | `growth_exponents`: the fitted exponents | {POINTS["exponents"]} |
| 4 | `run_loop_validated`: the loop with data validation, per version or once | {POINTS["validated"]} |
| 5 | `extrapolate`: from 2, 3 and 4 versions to the seed's 10, 100 and 1000 | {POINTS["extrapolate"]} |
| 6 | `data_growth`, `as_fast_as_software`: the seed's misconception, measured | {POINTS["misconception"]} |
| 7 | a written answer, graded by hand | {POINTS["written"]} |

Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
line). The cell under each answer checks its form; whether it is right is checked when the
problem set is graded. Every cell runs in seconds: the data is small and the model is a
logistic regression. Before you submit, restart the kernel and run all cells (or click
**Validate**).
"""

SETUP = """
import tempfile
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mlcicd.data import TARGET, load_dataset, split, synthetic_dataset
from mlcicd.evaluation import validate_model
from mlcicd.measure.growth import fit_exponent
from mlcicd.measure.software_ci import run_software_ci
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
gate). Call each of `train_model` and `validate_model` once per version (as imported above, or
through their modules, `mlcicd.training` and `mlcicd.evaluation`).
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
from mlcicd.course.hidden import count_calls as _count_calls

with _count_calls(
    globals(), "mlcicd.training.train_model", "mlcicd.evaluation.validate_model"
) as _library_calls:
    _loop_counts = [run_loop(_n, train, holdout, seed=1) for _n in (1, 2)]
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
# A clock that only the loop moves: a call of size n "takes" n * n / 2 seconds on it, so the
# seconds measure() reports are known exactly, whichever clock of the time module it reads.
_now = [1000.0]


def _seconds():
    return _now[0]


def _nanoseconds():
    return int(_now[0] * 1e9)


_real_clocks = {_name: getattr(time, _name) for _name in ("perf_counter", "monotonic", "time")}
_real_clocks.update({f"{_name}_ns": getattr(time, f"{_name}_ns") for _name in list(_real_clocks)})
_fake_for = {
    id(_clock): _nanoseconds if _name.endswith("_ns") else _seconds
    for _name, _clock in _real_clocks.items()
}
_rebound = {_key: _value for _key, _value in list(globals().items()) if id(_value) in _fake_for}


def _counting_loop(n, per_version=1):
    _seen_sizes.append(n)
    _now[0] += n * n / 2
    return {"trainings": n * per_version, "validations": n}


_seen_sizes = []
try:
    for _name, _clock in _real_clocks.items():
        setattr(time, _name, _fake_for[id(_clock)])
    for _key, _value in _rebound.items():
        globals()[_key] = _fake_for[id(_value)]
    _measured = measure(_counting_loop, [3, 1, 5], per_version=2)
finally:
    for _name, _clock in _real_clocks.items():
        setattr(time, _name, _clock)
    globals().update(_rebound)
assert _seen_sizes == [3, 1, 5], "measure must call the loop once per size, passing loop_args"
assert _measured["n"].tolist() == [3, 1, 5], "the n column is not the sizes"
assert _measured["operations"].tolist() == [9, 3, 15], "operations are not trainings + validations"
assert np.allclose(_measured["seconds"].astype(float), [4.5, 0.5, 12.5], rtol=0, atol=1e-6), (
    "seconds must be the time of each call on its own"
)
### END HIDDEN TESTS
"""

PART_3 = """
## Part 3: the growth exponent ({points} points)

If a cost grows as $c \\cdot n^k$, then $\\log(\\text{{cost}}) = \\log c + k \\log n$: the
exponent $k$ is the slope of a straight line on log-log axes. `mlcicd.measure.growth.fit_exponent(x, y)`
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
_quadratic_table = pd.DataFrame(
    {"n": [3, 6, 12, 24], "operations": [27, 108, 432, 1728], "seconds": [0.3, 0.6, 1.2, 2.4]}
)
_fitted = growth_exponents(_quadratic_table)
assert abs(_fitted["operations"] - 2) < 1e-9, "not the exponent of the operations"
assert abs(_fitted["seconds"] - 1) < 1e-9, "not the exponent of the seconds"
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
from mlcicd.course.hidden import count_calls as _count_calls

_m = len(train)
_broken = train.drop(columns="mean_texture")
with _count_calls(globals(), "mlcicd.validation.validate_data") as _validator_calls:
    _each = run_loop_validated(2, train, holdout, schema, mode="each")
    _once = run_loop_validated(2, train, holdout, schema, mode="once")
    _each_broken = run_loop_validated(3, _broken, holdout, schema, mode="each")
    _once_broken = run_loop_validated(2, _broken, holdout, schema, mode="once")
assert _each == {
    "trainings": 2,
    "validations": 2,
    "data_validations": 2,
    "rows_validated": 2 * _m,
}, "validation per version: wrong counts"
assert _once == {"trainings": 2, "validations": 2, "data_validations": 1, "rows_validated": _m}, (
    "validation once: wrong counts"
)
# invalid data, per version: no training; stopping at the first failed validation is fine too
assert _each_broken["trainings"] == _each_broken["validations"] == 0, (
    "invalid data, validation per version: trained anyway"
)
assert _each_broken["data_validations"] in (1, 3), "invalid data, validation per version"
assert _each_broken["rows_validated"] == _each_broken["data_validations"] * _m, (
    "invalid data, validation per version: wrong rows"
)
_no_training = dict(trainings=0, validations=0, data_validations=1, rows_validated=_m)
assert _once_broken == _no_training, "invalid data, validation once: wrong counts"
_reported = sum(_c["data_validations"] for _c in (_each, _once, _each_broken, _once_broken))
assert _validator_calls["validate_data"] == _reported, (
    "validate_data must check the data each time it is counted"
)
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

PART_5 = """
## Part 5: from 2, 3 and 4 versions to 10, 100 and 1000 ({points} points)

The seed's table goes to 10, 100 and 1000 model versions; you measured 2, 3 and 4. A fitted
growth law $\\text{{cost}} \\approx e^{{a}} n^{{k}}$ (`fit_exponent(...)` returns $a$ as
`.intercept` and $k$ as `.slope`) lets you extrapolate, and a measurement tells you how far to
trust it.

Write `extrapolate(table, column, sizes)`: fit the growth law of `table[column]` against
`table["n"]` and return its predictions for the numbers of versions in `sizes`, as a list of
floats. Then write `relative_error(predicted, measured)`: $(\\text{{predicted}} -
\\text{{measured}}) / \\text{{measured}}$, a float.

The cell after your answers predicts the seed's sizes, then runs 10 versions for real and
compares.
"""

ANSWER_5 = """
def extrapolate(table, column, sizes):
    \"\"\"Predictions of table[column] for the numbers of versions in sizes, from a fitted n^k.\"\"\"
    ### BEGIN SOLUTION
    fit = fit_exponent(table["n"], table[column])
    return [float(np.exp(fit.intercept) * n**fit.slope) for n in sizes]
    ### END SOLUTION


def relative_error(predicted, measured):
    \"\"\"How far a prediction is from the measurement, as a fraction of the measurement.\"\"\"
    ### BEGIN SOLUTION
    return float((predicted - measured) / measured)
    ### END SOLUTION
"""

RUN_5 = """
SEED_SIZES = [10, 100, 1000]
predicted = pd.DataFrame(
    {
        "n": SEED_SIZES,
        "operations": extrapolate(table, "operations", SEED_SIZES),
        "seconds": extrapolate(table, "seconds", SEED_SIZES),
    }
)
check = measure(run_loop, [10], train=train, holdout=holdout).iloc[0]  # 10 versions, for real
for _column in ("operations", "seconds"):
    _error = relative_error(predicted[_column].iloc[0], check[_column]) + 0.0  # no "-0.0%"
    print(
        f"10 versions, {_column}: predicted {predicted[_column].iloc[0]:.3g}, "
        f"measured {check[_column]:.3g}, relative error {_error:+.1%}"
    )
predicted
"""

TEST_5 = """
# Checks the form of your answers; the values are checked at grading time.
_predictions = extrapolate(table, "operations", [10])
assert isinstance(_predictions, list) and len(_predictions) == 1, "one prediction per size"
assert isinstance(relative_error(11.0, 10.0), float), "relative_error must return a float"
### BEGIN HIDDEN TESTS
_square_table = pd.DataFrame({"n": [2, 3, 4], "operations": [12, 27, 48], "seconds": [1, 2, 3]})
assert np.allclose(
    extrapolate(_square_table, "operations", [10, 100, 1000]), [300, 30_000, 3_000_000], rtol=1e-6
), "wrong predictions for a cost that grows as 3 n^2"
_linear_table = pd.DataFrame({"n": [2, 3, 4], "operations": [4, 6, 8], "seconds": [0.5, 0.7, 0.9]})
assert np.allclose(
    extrapolate(_linear_table, "operations", [10, 100, 1000]), [20, 200, 2000], rtol=1e-6
), "wrong predictions for a cost that grows as 2 n"
assert len(extrapolate(_linear_table, "seconds", [5, 50])) == 2, "one prediction per size"
assert abs(relative_error(11.0, 10.0) - 0.1) < 1e-9, "wrong relative error of a prediction too high"
assert abs(relative_error(6.0, 8.0) + 0.25) < 1e-9, "wrong relative error of a prediction too low"
### END HIDDEN TESTS
"""

PART_6 = """
## Part 6: "ML CI/CD runs as fast as software CI" ({points} points)

The seed lesson names a common mistake: *ML CI/CD pipelines run as fast as regular software
pipelines because they do similar steps.* Test it as the data grows. `run_software_ci(workdir,
data_rows=n)` runs a real software pipeline (checkout, compile, lint, unit tests, build) on a
small app, in a folder that also holds a data file of `n` rows; its result has `.operations`,
the units of work its steps did (files compiled, linted, archived, tests run). No software step
opens the data file: compiling and testing code never read data, so a flat line is what to
expect, and what you test is whether the ML side shares it.

1. Write `data_growth(rows_list, workdir, seed=0)`. For each `n` in `rows_list`: make the data
   with `synthetic_dataset(n, seed=seed)` and split it with `split(data, seed=seed)`; run the
   software pipeline with `data_rows=n`; run one ML cycle (train a model on the training part
   with `train_model`, validate it on the holdout with `validate_model`). Return a DataFrame
   with one row per size and the columns `rows` (`n`), `software_operations` (the result's
   `.operations`) and `ml_rows` (the rows the ML cycle read: the training rows the model
   reports in `trained.metadata["n_rows"]`, plus the holdout rows it was validated on).
2. Write `as_fast_as_software(table)`: the growth exponents of `software_operations` and of
   `ml_rows` against `rows`, and your verdict: `{{"software": k_sw, "ml": k_ml, "as_fast":
   ...}}` with `as_fast` true when the ML pipeline's work grows no faster than the software
   pipeline's, that is when $k_{{ml}} \\le k_{{sw}} + 0.1$ (the 0.1 absorbs fitting noise).

The cell after your answers measures both pipelines on 500 to 4000 rows. The verdict uses the
work done, which is exact, rather than seconds, which on a shared machine are noisy.
"""

ANSWER_6 = """
def data_growth(rows_list, workdir, seed=0):
    \"\"\"Work of the software pipeline and of one ML cycle, for each data size.\"\"\"
    ### BEGIN SOLUTION
    rows = []
    for n in rows_list:
        data = synthetic_dataset(n, seed=seed)
        data_train, data_holdout = split(data, seed=seed)
        software = run_software_ci(workdir, data_rows=n, seed=seed)
        trained = train_model(data_train, TARGET, seed=seed)
        validate_model(trained.model, data_holdout, TARGET)
        ml_rows = trained.metadata["n_rows"] + len(data_holdout)
        rows.append({"rows": n, "software_operations": software.operations, "ml_rows": ml_rows})
    return pd.DataFrame(rows, columns=["rows", "software_operations", "ml_rows"])
    ### END SOLUTION


def as_fast_as_software(table):
    \"\"\"Growth exponents of both pipelines' work against the rows, and the verdict.\"\"\"
    ### BEGIN SOLUTION
    k_sw = float(fit_exponent(table["rows"], table["software_operations"]).slope)
    k_ml = float(fit_exponent(table["rows"], table["ml_rows"]).slope)
    return {"software": k_sw, "ml": k_ml, "as_fast": k_ml <= k_sw + 0.1}
    ### END SOLUTION
"""

RUN_6 = """
DATA_ROWS = [500, 1000, 2000, 4000]
start = time.perf_counter()
with tempfile.TemporaryDirectory(prefix="software-ci-") as workdir:  # removed afterwards
    growth_table = data_growth(DATA_ROWS, workdir)
verdict = as_fast_as_software(growth_table)
print(f"software work grows as rows^{verdict['software']:.2f}, ML work as rows^{verdict['ml']:.2f}")
print("ML CI/CD as fast as software CI as the data grows:", verdict["as_fast"])
print(f"(both pipelines at four sizes: {time.perf_counter() - start:.1f} s)")
growth_table
"""

TEST_6 = """
# Checks the form of your answers; the values are checked at grading time.
assert isinstance(growth_table, pd.DataFrame), "data_growth must return a DataFrame"
assert list(growth_table.columns) == ["rows", "software_operations", "ml_rows"], "columns"
assert set(verdict) == {"software", "ml", "as_fast"}, "keys: software, ml, as_fast"
assert isinstance(verdict["as_fast"], bool | np.bool_), "as_fast must be True or False"
### BEGIN HIDDEN TESTS
assert growth_table["rows"].tolist() == DATA_ROWS, "one row per data size, in order"
with tempfile.TemporaryDirectory() as _workdir:
    _software_work = run_software_ci(_workdir, data_rows=10).operations
assert growth_table["software_operations"].tolist() == [_software_work] * 4, (
    "software_operations are not the software pipeline's operations"
)
assert growth_table["ml_rows"].tolist() == DATA_ROWS, "ml_rows are not the rows the cycle read"
_own = as_fast_as_software(growth_table)
assert abs(_own["software"]) < 1e-9 and abs(_own["ml"] - 1) < 1e-9, "wrong exponents"
assert not _own["as_fast"], "wrong verdict for your measurement"
_sizes = [100, 200, 400, 800]
_cases = [  # (software work, ML work, as fast?)
    ([25, 25, 25, 25], [100, 200, 400, 800], False),
    ([25, 25, 25, 25], [7, 7, 7, 7], True),
    ([10, 20, 40, 80], [30, 60, 120, 240], True),
    ([5, 5, 5, 5], [10, 40, 160, 640], False),
    ([5, 20, 80, 320], [10, 20, 40, 80], True),
    # near the stated margin of 0.1: 0.15 faster is not "as fast", 0.07 is
    ([5, 5, 5, 5], [100 * 2 ** (0.15 * _i) for _i in range(4)], False),
    ([5, 5, 5, 5], [100 * 2 ** (0.07 * _i) for _i in range(4)], True),
]
for _sw, _ml, _expected in _cases:
    _table = pd.DataFrame({"rows": _sizes, "software_operations": _sw, "ml_rows": _ml})
    _verdict = as_fast_as_software(_table)
    _k_sw, _k_ml = np.log2(_sw[1] / _sw[0]), np.log2(_ml[1] / _ml[0])
    assert abs(_verdict["software"] - _k_sw) < 1e-9, "wrong exponent of the software work"
    assert abs(_verdict["ml"] - _k_ml) < 1e-9, "wrong exponent of the ML work"
    assert bool(_verdict["as_fast"]) is _expected, "wrong verdict for other measurements"
### END HIDDEN TESTS
"""

PART_7 = f"""
## Part 7 (written, {POINTS["written"]} points)

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
        markdown(PART_5.format(points=POINTS["extrapolate"])),
        answer("extrapolate-answer", ANSWER_5),
        code(RUN_5),
        tests("extrapolate-test", TEST_5, POINTS["extrapolate"]),
        markdown(PART_6.format(points=POINTS["misconception"])),
        answer("misconception-answer", ANSWER_6),
        code(RUN_6),
        tests("misconception-test", TEST_6, POINTS["misconception"]),
        markdown(PART_7),
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
