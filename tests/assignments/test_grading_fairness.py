"""Grading is fair, and proven fair: plausible correct answers get full marks, plausible wrong
ones lose exactly their item's points, graded through a real ``nbgrader autograde``.

For every autograded item of every assignment, ``CORRECT`` lists answers that differ from the
reference (another spelling, another library route, a stricter but valid behaviour) and
``WRONG`` lists the mistakes a learner plausibly makes (a hard-coded value, cumulative timings,
counting without running, the seed's letters changed). Each variant is the reference submission
with one answer cell edited. Every wrong variant is its own submission and must lose exactly the
points of the items it names; the correct variants are graded in a few submissions of their own
(one variant per item in each, so every answer cell still differs from the reference), which
keeps one autograde run per assignment within the time budget. Each assignment runs ONE
``nbgrader autograde`` over all its submissions, on its own copy of the course.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
from nbgrader_course import (
    ASSIGNMENTS,
    COURSE,
    auto_scores,
    cell_index,
    full_marks,
    nbgrader,
    notebooks_of,
    read_nb,
    source_of,
    submit,
)

pytestmark = [
    pytest.mark.nbgrader,
    pytest.mark.filterwarnings("ignore:Object of type <Submitted:sqlalchemy.exc.SAWarning"),
]


@dataclass(frozen=True)
class Variant:
    """Answer cell ``cell`` of ``notebook`` with ``old`` replaced by ``new``; ``old=None``
    replaces the whole cell. A correct variant loses nothing; a wrong one loses ``loses``."""

    name: str
    notebook: str
    cell: str
    new: str
    old: str | None = None
    loses: tuple[str, ...] = ()


def apply(nb, variant: Variant):
    nb = copy.deepcopy(nb)
    cell = nb.cells[cell_index(nb, variant.cell)]
    if variant.old is None:
        cell.source = variant.new.strip("\n")
    else:
        assert variant.old in cell.source, f"{variant.name}: {variant.old!r} not in {variant.cell}"
        cell.source = cell.source.replace(variant.old, variant.new)
    return nb


# --- the quiz -------------------------------------------------------------------------------

Q = "quiz"
CORRECT_QUIZ = [
    Variant("single-quotes", Q, "q1-answer", "answer_1 = 'A'", 'answer_1 = "A"'),
    Variant("computed", Q, "q2-answer", 'answer_2 = "d".upper()', 'answer_2 = "D"'),
    Variant("commented", Q, "q3-answer", 'answer_3 = "C"  # data quality first', 'answer_3 = "C"'),
    Variant("reassigned", Q, "q4-answer", 'answer_4 = "B"\nanswer_4 = "A"', 'answer_4 = "A"'),
    Variant("from-a-dict", Q, "q5-answer", 'answer_5 = {"steps": "B"}["steps"]', 'answer_5 = "B"'),
]
WRONG_QUIZ = [
    # the seed's option order matters: the answers are A, D, C, A, B, not the old quiz's letters
    Variant("q1-old-letter", Q, "q1-answer", 'answer_1 = "C"', 'answer_1 = "A"', ("q1-test",)),
    Variant("q2-old-letter", Q, "q2-answer", 'answer_2 = "A"', 'answer_2 = "D"', ("q2-test",)),
    Variant("q3-old-letter", Q, "q3-answer", 'answer_3 = "D"', 'answer_3 = "C"', ("q3-test",)),
    # deployment server or training code: what a learner blames when the model was never retrained
    Variant("q4-server", Q, "q4-answer", 'answer_4 = "C"', 'answer_4 = "A"', ("q4-test",)),
    Variant("q5-code-only", Q, "q5-answer", 'answer_5 = "A"', 'answer_5 = "B"', ("q5-test",)),
]

# --- pipeline_cost --------------------------------------------------------------------------

P = "pipeline_cost"
LOOP_THROUGH_MODULES = """
import mlcicd.evaluation as evaluation
import mlcicd.training


def run_loop(n_versions, train, holdout, target=TARGET, seed=0):
    trainings = validations = 0
    for version in range(n_versions):
        model = mlcicd.training.train_model(train, target, seed=seed + version).model
        decision = evaluation.validate_model(model, holdout, target)
        trainings += 1
        validations += 1
        if not decision.blessed:  # a red step stops the pipeline, as lesson 8's workflow does
            break
    return {"trainings": trainings, "validations": validations}
"""
LOOP_ALIASES = """
from mlcicd.evaluation import validate_model as gate
from mlcicd.training import train_model as fit


def run_loop(n_versions, train, holdout, target=TARGET, seed=0):
    counts = dict(trainings=0, validations=0)
    version = 0
    while version < n_versions:
        gate(fit(train, target, seed=seed + version).model, holdout, target)
        counts["trainings"] += 1
        counts["validations"] += 1
        version += 1
    return counts
"""
MEASURE_OTHER_CLOCK = """
from time import perf_counter


def measure(loop, sizes, **loop_args):
    table = {"n": [], "operations": [], "seconds": []}
    for n in sizes:
        before = perf_counter()
        counts = loop(n, **loop_args)
        after = perf_counter()
        table["n"].append(n)
        table["operations"].append(sum(counts.values()))
        table["seconds"].append(after - before)
    return pd.DataFrame(table)
"""
MEASURE_MONOTONIC = """
def measure(loop, sizes, **loop_args):
    rows = []
    for n in sizes:
        start = time.monotonic()
        result = loop(n, **loop_args)
        rows.append((n, result["trainings"] + result["validations"], time.monotonic() - start))
    return pd.DataFrame(rows, columns=["n", "operations", "seconds"])
"""
EXPONENTS_NUMPY = """
def growth_exponents(table):
    log_n = np.log(table["n"].to_numpy(dtype=float))
    return {
        column: float(np.polyfit(log_n, np.log(table[column].to_numpy(dtype=float)), 1)[0])
        for column in ("operations", "seconds")
    }
"""
VALIDATED_STOPS = """
import mlcicd.validation


def run_loop_validated(n_versions, train, holdout, schema, mode="each", target=TARGET, seed=0):
    counts = {"trainings": 0, "validations": 0, "data_validations": 0, "rows_validated": 0}
    if mode == "once":
        counts["data_validations"] += 1
        counts["rows_validated"] += len(train)
        if not mlcicd.validation.validate_data(train, schema).valid:
            return counts
    for version in range(n_versions):
        if mode == "each":
            report = mlcicd.validation.validate_data(train, schema)
            counts["data_validations"] += 1
            counts["rows_validated"] += len(train)
            if not report.valid:
                break  # a broken batch stops the pipeline before any training
        trained = train_model(train, target, seed=seed + version)
        validate_model(trained.model, holdout, target)
        counts["trainings"] += 1
        counts["validations"] += 1
    return counts
"""
EXTRAPOLATE_FROM_LAST = """
def extrapolate(table, column, sizes):
    k = fit_exponent(table["n"], table[column]).slope
    last_n, last_cost = table["n"].iloc[-1], table[column].iloc[-1]
    return [float(last_cost * (n / last_n) ** k) for n in sizes]


def relative_error(predicted, measured):
    return float(predicted / measured - 1)
"""
MISCONCEPTION_OTHER_SPELLING = """
import mlcicd.evaluation
import mlcicd.training


def data_growth(rows_list, workdir, seed=0):
    table = pd.DataFrame(columns=["rows", "software_operations", "ml_rows"])
    for n in rows_list:
        fit_part, check_part = split(synthetic_dataset(n, seed=seed), seed=seed)
        work = run_software_ci(workdir, data_rows=n, seed=seed).operations
        model = mlcicd.training.train_model(fit_part, TARGET, seed=seed).model
        mlcicd.evaluation.validate_model(model, check_part, TARGET)
        table.loc[len(table)] = [n, work, len(fit_part) + len(check_part)]
    return table.astype(int)


def as_fast_as_software(table):
    logs = np.log(table.astype(float))
    columns = ("software_operations", "ml_rows")
    k_sw, k_ml = (np.polyfit(logs["rows"], logs[column], 1)[0] for column in columns)
    return {"software": float(k_sw), "ml": float(k_ml), "as_fast": bool(k_ml - k_sw <= 0.1)}
"""
CORRECT_PIPELINE = [
    Variant("loop-through-modules", P, "loop-answer", LOOP_THROUGH_MODULES),
    Variant("loop-aliases", P, "loop-answer", LOOP_ALIASES),
    Variant("measure-imported-clock", P, "measure-answer", MEASURE_OTHER_CLOCK),
    Variant("measure-monotonic", P, "measure-answer", MEASURE_MONOTONIC),
    Variant("exponents-numpy", P, "exponents-answer", EXPONENTS_NUMPY),
    Variant("validated-stops-early", P, "validated-answer", VALIDATED_STOPS),
    Variant("extrapolate-from-last", P, "extrapolate-answer", EXTRAPOLATE_FROM_LAST),
    Variant("misconception-spelling", P, "misconception-answer", MISCONCEPTION_OTHER_SPELLING),
]
WRONG_PIPELINE = [
    # counts a validation without running it
    Variant(
        "loop-counts-without-running",
        P,
        "loop-answer",
        '        counts["validations"] += 1',
        '        validate_model(trained.model, holdout, target)\n        counts["validations"] += 1',
        ("loop-test",),
    ),
    # cumulative: the clock started once, before all sizes
    Variant(
        "measure-cumulative",
        P,
        "measure-answer",
        "    rows = []\n    start = time.perf_counter()\n    for n in sizes:\n"
        "        counts = loop(n, **loop_args)",
        "    rows = []\n    for n in sizes:\n        start = time.perf_counter()\n"
        "        counts = loop(n, **loop_args)",
        ("measure-test",),
    ),
    # "it is O(n)": the operations' exponent written down instead of fitted
    Variant(
        "exponents-hard-coded",
        P,
        "exponents-answer",
        '"operations": 1.0,',
        '"operations": float(fit_exponent(table["n"], table["operations"]).slope),',
        ("exponents-test",),
    ),
    # per version, validates the first version only and counts the others without running them
    Variant(
        "validated-counts-without-running",
        P,
        "validated-answer",
        '        if mode == "each" and version > 0:\n'
        '            counts["data_validations"] += 1\n'
        '            counts["rows_validated"] += len(train)\n'
        '        elif mode == "each" and not data_is_valid():\n',
        '        if mode == "each" and not data_is_valid():\n',
        ("validated-test",),
    ),
    # assumes linear growth instead of the fitted exponent
    Variant(
        "extrapolate-linear",
        P,
        "extrapolate-answer",
        "np.exp(fit.intercept) * n**1",
        "np.exp(fit.intercept) * n**fit.slope",
        ("extrapolate-test",),
    ),
    # the verdict written down, not computed from the exponents
    Variant(
        "misconception-hard-coded",
        P,
        "misconception-answer",
        '"as_fast": False',
        '"as_fast": k_ml <= k_sw + 0.1',
        ("misconception-test",),
    ),
    # the ML work counted without the validation's rows
    Variant(
        "misconception-training-rows-only",
        P,
        "misconception-answer",
        'ml_rows = trained.metadata["n_rows"]\n',
        'ml_rows = trained.metadata["n_rows"] + len(data_holdout)\n',
        ("misconception-test",),
    ),
]

# --- validation_and_gate --------------------------------------------------------------------

V = "validation_and_gate"
PROBLEMS_SET = """
def find_problems(df, schema):
    kinds = set()
    for anomaly in validate_data(df, schema).anomalies:
        kinds.add(anomaly.kind)
    return sorted(kinds)
"""
PROBLEMS_BY_HAND = """
def find_problems(df, schema):
    kinds = set()
    for column in schema.columns:
        if column.name not in df.columns:
            kinds.add("missing_column")
            continue
        raw = df[column.name]
        values = pd.to_numeric(raw, errors="coerce")
        if (values.isna() & raw.notna()).any():
            kinds.add("wrong_type")
        if raw.isna().any():
            kinds.add("missing_values")
        low = -np.inf if column.min is None else column.min
        high = np.inf if column.max is None else column.max
        if ((values < low) | (values > high)).any():
            kinds.add("out_of_range")
    return sorted(kinds)
"""
RANGE_BETWEEN = """
def count_out_of_range(df, schema):
    counts = {}
    for c in schema.columns:
        if c.name in df and c.min is not None and c.max is not None:
            values = pd.to_numeric(df[c.name], errors="coerce").dropna()
            outside = int((~values.between(c.min, c.max)).sum())
            if outside > 0:
                counts[c.name] = outside
    return counts
"""
GATE_ALL_RULES = """
def my_gate(
    candidate_metrics, production_metrics, baseline_metrics, min_accuracy=0.9, tolerance=0.01
):
    accuracy = candidate_metrics["accuracy"]
    rules = [
        accuracy >= min_accuracy,
        production_metrics is None or accuracy + tolerance >= production_metrics["accuracy"],
        accuracy > baseline_metrics["accuracy"],
    ]
    return all(rules)
"""
CORRECT_GATE = [
    Variant("problems-set", V, "problems-answer", PROBLEMS_SET),
    Variant("problems-by-hand", V, "problems-answer", PROBLEMS_BY_HAND),
    Variant("range-between", V, "range-answer", RANGE_BETWEEN),
    Variant("gate-all-rules", V, "gate-answer", GATE_ALL_RULES),
]
WRONG_GATE = [
    Variant(
        "problems-not-distinct",
        V,
        "problems-answer",
        "[anomaly.kind for anomaly in report.anomalies]",
        "sorted({anomaly.kind for anomaly in report.anomalies})",
        ("problems-test",),
    ),
    # the threshold rule left out: better than production and the baseline is not enough
    Variant(
        "gate-no-threshold",
        V,
        "gate-answer",
        "",
        "    if accuracy < min_accuracy:\n        return False\n",
        ("gate-rules-test",),
    ),
    # missing values counted as out of range
    Variant(
        "range-counts-missing",
        V,
        "range-answer",
        "n = int((~values.between(column.min, column.max)).sum())",
        "n = int(((values < column.min) | (values > column.max)).sum())",
        ("range-test",),
    ),
    # the tolerance hard-coded: right with the defaults, wrong with any other
    Variant(
        "gate-fixed-tolerance",
        V,
        "gate-answer",
        'production_metrics["accuracy"] - accuracy > 0.01',
        'production_metrics["accuracy"] - accuracy > tolerance',
        ("gate-edges-test",),
    ),
]

# --- drift_and_retraining -------------------------------------------------------------------

D = "drift_and_retraining"
DRIFT_LOOP = """
import mlcicd.monitoring


def drifted_weeks(reference, weeks):
    flagged = []
    for number in range(len(weeks)):
        report = mlcicd.monitoring.detect_drift(reference, weeks[number], target=TARGET)
        if report.dataset_drift:
            flagged.append(number)
    return flagged
"""
PSI_DIGITIZE = """
def psi(reference, current):
    reference, current = np.asarray(reference, float), np.asarray(current, float)
    edges = np.unique(np.quantile(reference, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]))
    n_bins = edges.size + 1
    r = np.bincount(np.digitize(reference, edges), minlength=n_bins) / reference.size
    c = np.bincount(np.digitize(current, edges), minlength=n_bins) / current.size
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    return float(((c - r) * np.log(c / r)).sum())
"""
POLICY_LOOP = """
def retrain_weeks(reports, accuracies, reference_accuracy, max_accuracy_drop=0.05):
    weeks = []
    for week in range(len(reports)):
        fell_too_far = accuracies[week] < reference_accuracy - max_accuracy_drop
        if reports[week].dataset_drift or fell_too_far:
            weeks.append(week)
    return weeks
"""
SERVE_OWN_ACCURACY = """
def serve(weeks, train, retrain_after):
    serving = train_model(train, TARGET, seed=0).model
    scores = []
    for week, batch in enumerate(weeks):
        predictions = serving.predict(batch.drop(columns=TARGET))
        scores.append(float(np.mean(predictions == batch[TARGET].to_numpy())))  # not rounded
        if week in retrain_after:
            serving = train_model(batch, TARGET, seed=0).model
    return scores
"""
CORRECT_DRIFT = [
    Variant("drift-loop", D, "drift-answer", DRIFT_LOOP),
    Variant("psi-digitize", D, "psi-answer", PSI_DIGITIZE),
    Variant("policy-loop", D, "policy-answer", POLICY_LOOP),
    Variant("serve-own-accuracy", D, "serve-answer", SERVE_OWN_ACCURACY),
]
WRONG_DRIFT = [
    Variant(
        "drift-from-one",
        D,
        "drift-answer",
        "enumerate(weeks, start=1)",
        "enumerate(weeks)",
        ("drift-test",),
    ),
    # the bin edges from the current sample instead of the reference
    Variant(
        "psi-edges-from-current",
        D,
        "psi-answer",
        "np.quantile(current, np.arange(1, 10) / 10)",
        "np.quantile(reference, np.arange(1, 10) / 10)",
        ("psi-test",),
    ),
    Variant(
        "policy-drift-only",
        D,
        "policy-answer",
        "if report.dataset_drift\n",
        "if report.dataset_drift or reference_accuracy - accuracy > max_accuracy_drop\n",
        ("policy-test",),
    ),
    # never retrains: the first model serves every week
    Variant(
        "serve-never-retrains",
        D,
        "serve-answer",
        "serving = serving",
        "serving = train_model(batch, TARGET, seed=0).model",
        ("serve-test",),
    ),
]

# --- safe_release -----------------------------------------------------------------------------

S = "safe_release"
BEHAVES_NUMPY = """
def behaves(model):
    rows = holdout.loc[holdout["worst_area"].to_numpy() > 2000]
    return not (model.predict(rows.drop(columns=[TARGET])) != 0).any()
"""
SLICES_LOOP = """
def failing_slices(candidate_acc, production_acc, sizes, tolerance=0.02, min_rows=20):
    blocked = []
    for name in candidate_acc:
        if sizes[name] < min_rows:
            continue
        if production_acc[name] - candidate_acc[name] > tolerance:
            blocked.append(name)
    return sorted(blocked)
"""
RULE_NESTED = """
def canary_decision(canary_errors, n_canary, control_errors, n_control, threshold, min_canary,
                    max_canary):
    if n_canary >= min_canary:
        control = control_errors / n_control if n_control > 0 else 0.0
        if canary_errors / n_canary - control > threshold:
            return "rollback"
        if n_canary >= max_canary:
            return "promote"
    return "undecided"
"""
CANARY_COUNTERS = """
def simulate_canary(to_canary, wrong, threshold, min_canary, max_canary):
    n_c = e_c = n_p = e_p = 0
    for step in range(len(to_canary)):
        if to_canary[step]:
            n_c += 1
            e_c += int(wrong[step])
            decision = canary_decision(e_c, n_c, e_p, n_p, threshold, min_canary, max_canary)
            if decision != "undecided":
                return decision, step + 1, n_c
        else:
            n_p += 1
            e_p += int(wrong[step])
    return "undecided", len(to_canary), n_c
"""
CORRECT_SAFE = [
    Variant("behaves-numpy", S, "behaviour-answer", BEHAVES_NUMPY),
    Variant("slices-loop", S, "slices-answer", SLICES_LOOP),
    Variant("rule-nested", S, "rule-answer", RULE_NESTED),
    Variant("canary-counters", S, "canary-answer", CANARY_COUNTERS),
]
WRONG_SAFE = [
    # an accuracy test instead of a behavioural one: the planted regression passes it
    Variant(
        "behaviour-by-accuracy",
        S,
        "behaviour-answer",
        "    predicted = model.predict(holdout.drop(columns=TARGET))\n"
        "    return bool((predicted == holdout[TARGET]).mean() >= 0.9)",
        "    predicted = model.predict(largest.drop(columns=TARGET))\n"
        "    return bool((predicted == 0).all())",
        ("behaviour-test",),
    ),
    # small slices gated too
    Variant(
        "slices-ignore-size",
        S,
        "slices-answer",
        "if production_acc[name] - accuracy > tolerance",
        "if sizes[name] >= min_rows and production_acc[name] - accuracy > tolerance",
        ("slices-test",),
    ),
    # the control group's error rate ignored
    Variant(
        "rule-no-control",
        S,
        "rule-answer",
        "if canary_errors / n_canary > threshold:",
        "if canary_errors / n_canary - control_rate > threshold:",
        ("rule-test",),
    ),
    # the deciding request not counted
    Variant(
        "canary-off-by-one",
        S,
        "canary-answer",
        'return decision, i, counts["n_canary"]',
        'return decision, i + 1, counts["n_canary"]',
        ("canary-test",),
    ),
]

CORRECT = {Q: CORRECT_QUIZ, P: CORRECT_PIPELINE, V: CORRECT_GATE, D: CORRECT_DRIFT, S: CORRECT_SAFE}
WRONG = {Q: WRONG_QUIZ, P: WRONG_PIPELINE, V: WRONG_GATE, D: WRONG_DRIFT, S: WRONG_SAFE}


def correct_rounds(variants: list[Variant]) -> list[list[Variant]]:
    """The correct variants in rounds of at most one per answer cell."""
    rounds: list[list[Variant]] = []
    for variant in variants:
        free = [r for r in rounds if all(v.cell != variant.cell for v in r)]
        if free:
            free[0].append(variant)
        else:
            rounds.append([variant])
    return rounds


def test_every_autograded_item_has_correct_and_wrong_variants():
    for assignment in ASSIGNMENTS:
        sources = source_of_committed(assignment)
        for name, nb in sources.items():
            items = set(full_marks({name: nb})[name])
            answer_cells = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if is_answer(c)}
            correct = {v.cell for v in CORRECT[assignment] if v.notebook == name}
            wrong = {item for v in WRONG[assignment] if v.notebook == name for item in v.loses}
            assert answer_cells <= correct, f"{assignment}: no correct variant for some answers"
            assert items <= wrong, f"{assignment}: no wrong variant for {sorted(items - wrong)}"
            for variant in CORRECT[assignment] + WRONG[assignment]:
                apply(nb, variant)  # the text a variant replaces is still there


def is_answer(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("solution") and not meta.get("grade")


def source_of_committed(assignment):
    return {
        name: read_nb(COURSE / "source" / assignment / f"{name}.ipynb")
        for name in notebooks_of(assignment)
    }


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_variants_full_marks_wrong_ones_lose_their_item(assignment, course):
    sources = source_of(course, assignment)
    submissions: dict[str, dict] = {}
    expected: dict[str, dict] = {}
    for k, variants in enumerate(correct_rounds(CORRECT[assignment]), start=1):
        notebooks = dict(sources)
        for variant in variants:
            notebooks[variant.notebook] = apply(notebooks[variant.notebook], variant)
        submissions[f"correct{k}"] = notebooks
        expected[f"correct{k}"] = full_marks(sources)
    for variant in WRONG[assignment]:
        assert variant.loses, variant.name
        notebooks = dict(sources)
        notebooks[variant.notebook] = apply(sources[variant.notebook], variant)
        submissions[variant.name] = notebooks
        marks = full_marks(sources)
        for item in variant.loses:
            marks[variant.notebook][item] = 0.0
        expected[variant.name] = marks
    for student, notebooks in submissions.items():
        submit(course, student, assignment, notebooks)

    nbgrader(course, "autograde", assignment)

    unfair = {}
    for student in submissions:
        got = auto_scores(course, assignment, student)
        if got != expected[student]:
            unfair[student] = {
                item: (score, expected[student][nb][item])
                for nb, items in got.items()
                for item, score in items.items()
                if score != expected[student][nb][item]
            }
    assert not unfair, f"(score, fair score) per item: {unfair}"
