"""Lesson 3 (training and the quality gate): the functions of ``mlcicd/lessons/quality_gate.py`` on small
inputs, then the notebook executed in CI and what it recorded."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mlcicd.data import TARGET
from mlcicd.errors import InputError
from mlcicd.evaluation import validate_model
from mlcicd.lessons import quality_gate as qg
from mlcicd.significance import (
    bootstrap_interval,
    mcnemar_test,
    rows_for_margin,
    rows_to_detect,
    wilson_interval,
)
from mlcicd.training import ModelSpec, train_model


@pytest.fixture(scope="module")
def production(data):
    return train_model(data[0], TARGET)


def _axes():
    fig, ax = plt.subplots()
    return fig, ax


def test_shuffle_labels_keeps_features_and_label_counts(data):
    train = data[0]
    assert qg.shuffle_labels(train, share=0.0).equals(train)
    out = qg.shuffle_labels(train, share=1.0, seed=1)
    assert out.drop(columns=TARGET).equals(train.drop(columns=TARGET))
    assert out[TARGET].value_counts().equals(train[TARGET].value_counts())
    assert (out[TARGET] != train[TARGET]).mean() > 0.3
    with pytest.raises(InputError, match="share=2: expected a share in"):
        qg.shuffle_labels(train, share=2)


def test_gate_report_blesses_and_rejects_with_reasons(data, production):
    train, holdout = data
    specs = {"tree": ModelSpec("decision_tree", {"max_depth": 3}), "dummy": ModelSpec("dummy")}
    candidates = qg.train_candidates(train, specs)
    candidates["same as production"] = production
    table, decisions = qg.gate_report(candidates, holdout, production=production)
    rows = table.set_index("model")
    assert rows["blessed"].to_dict() == {"tree": False, "dummy": False, "same as production": True}
    assert rows.loc["tree", ["threshold", "no_regression", "beats_baseline"]].tolist() == [
        True,
        False,
        True,
    ]
    assert not rows.loc["dummy", ["threshold", "no_regression", "beats_baseline"]].any()
    assert decisions["dummy"].reasons[-1] == "accuracy 0.629 does not beat the baseline 0.629"
    fig, ax = _axes()
    qg.draw_gate_overview(table, decisions, ax)
    assert len(ax.patches) == 3 and "143 rows" in ax.get_xlabel()
    plt.close(fig)


def test_code_checks_pass_for_a_useless_model(data, tmp_path):
    train, holdout = data
    shuffled = qg.shuffle_labels(train, seed=0)
    bad = train_model(shuffled, TARGET)
    checks = qg.code_checks(bad, shuffled, holdout, workdir=tmp_path)
    assert checks["passed"].all() and len(checks) == 6
    assert not validate_model(bad.model, holdout, TARGET).blessed
    assert len(qg.code_checks(bad, shuffled, holdout)) == 5
    # checked against the wrong data version, the provenance check does fail
    checks = qg.code_checks(bad, train, holdout).set_index("check")["passed"]
    assert not checks["metadata names the training data version"]


def test_gate_explorer_retrains_and_gates(data, production):
    ex = qg.gate_explorer(data[0], data[1], production, n_estimators=10)
    r = ex.update()
    assert r["params"] == {"max_depth": 3} and not r["decision"].blessed
    assert "REJECTED" in ex.summary and "below production" in ex.summary
    r = ex.update(model="random_forest", max_depth=4, threshold=0.85, label_noise=0.0)
    assert r["params"] == {"max_depth": 4, "n_estimators": 10}
    assert r["decision"].thresholds == {"accuracy": 0.85}
    r = ex.update(model="decision_tree", label_noise=1.0)
    assert not r["decision"].blessed and r["label_noise"] == 1.0
    assert ex.figure.axes[0].get_title().endswith("REJECTED")


# ---------------------------------------------------------------------------------- how sure


@pytest.fixture(scope="module")
def tree(data):
    return train_model(data[0], TARGET, ModelSpec("decision_tree", {"max_depth": 3}))


def test_accuracy_intervals_are_wilson_intervals_of_the_rows_right(data, production, tree):
    holdout = data[1]
    table = qg.accuracy_intervals({"production": production, "tree": tree}, holdout)
    rows = table.set_index("model")
    assert rows["rows_right"].to_dict() == {"production": 137, "tree": 131}
    assert (rows["rows"] == 143).all()
    wilson = wilson_interval(137, 143)
    assert rows.loc["production", ["low", "high"]].tolist() == [
        round(wilson.low, 6),
        round(wilson.high, 6),
    ]
    assert (
        rows.loc["production", "accuracy"]
        == validate_model(production.model, holdout, TARGET).metrics["accuracy"]
    )
    assert rows.loc["tree", "width"] > rows.loc["production", "width"]


def test_paired_comparisons_count_the_disagreements(data, production, tree):
    holdout = data[1]
    paired = qg.paired_comparisons({"tree": tree, "same": production}, production, holdout)
    rows = paired.set_index("model")
    assert rows.loc["tree", ["b", "c", "rows_behind"]].tolist() == [2, 8, 6]
    assert rows.loc["tree", "p_value"] == 0.109375 and not rows.loc["tree", "significant"]
    assert rows.loc["tree", "rows_needed"] == rows_to_detect(6 / 143, 10 / 143) == 206
    assert rows.loc["same", ["b", "c", "p_value"]].tolist() == [0, 0, 1.0]
    assert rows.loc["same", "rows_needed"] is pd.NA


def test_gate_report_can_require_significance(data, production, tree):
    holdout = data[1]
    candidates = {"tree": tree}
    _, plain = qg.gate_report(candidates, holdout, production=production)
    _, required = qg.gate_report(
        candidates, holdout, production=production, require_significance=True
    )
    assert not plain["tree"].blessed and required["tree"].blessed
    assert (
        required["tree"]
        .checks[1]
        .detail.endswith("McNemar p = 0.109, not significant at 0.05: within noise, not rejected")
    )


def test_interval_by_size_narrows_and_the_plot_marks_the_sizes(close_figures):
    frame = qg.interval_by_size(0.958042, [143, 1000, 10000])
    assert frame["rows"].tolist() == [143, 1000, 10000]
    assert frame["below"].is_monotonic_decreasing and frame["above"].is_monotonic_decreasing
    first = wilson_interval(137, 143)
    assert frame.loc[0, "below"] == round(first.estimate - first.low, 6)
    assert frame.loc[2, "below"] < 0.01 < frame.loc[1, "below"]
    _fig, ax = plt.subplots()
    qg.draw_interval_by_size(frame, ax, tolerance=0.01, holdout_rows=143, rows_needed=1893)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "our holdout: 143 rows" in labels and "1893 rows: reach <= tolerance" in labels
    with pytest.raises(InputError, match="sizes=0: expected a whole number >= 1"):
        qg.interval_by_size(0.9, [0])


# ---------------------------------------------------------------------------------- self-checks


def test_the_numbers_the_questions_state_are_what_the_library_computes(data, production, tree):
    train, holdout = data
    forest = train_model(train, TARGET, ModelSpec("random_forest", {"n_estimators": 30}))
    d = validate_model(forest.model, holdout, TARGET, production_model=production.model)
    text = qg.QUESTIONS["blessed"]["question"]
    for value in (d.metrics["accuracy"], d.production_metrics["accuracy"]):
        assert f"{value:.3f}" in text
    assert f"{d.baseline_metrics['accuracy']:.3f}" in text
    assert not d.blessed and "0.014" in qg.QUESTIONS["blessed"]["explanation"]
    # "noise": 2 against 4 discordant rows of 143
    two_four = mcnemar_test([True] * 2 + [False] * 4 + [True] * 137, [False] * 2 + [True] * 141)
    assert f"p = {two_four.p_value:.2f}" in qg.QUESTIONS["noise"]["question"]
    needed = rows_to_detect(2 / 143, 6 / 143)
    assert (
        f"{needed} rows" in qg.QUESTIONS["noise"]["explanation"] and 950 < needed < 1050
    )  # "roughly 1,000"
    # "bigger_holdout": the depth-3 tree
    t = validate_model(tree.model, holdout, TARGET, production_model=production.model)
    gap = t.production_metrics["accuracy"] - t.metrics["accuracy"]
    text = qg.QUESTIONS["bigger_holdout"]["question"]
    assert f"({gap:.3f})" in text and f"p = {t.comparison.p_value:.2f}" in text
    assert t.comparison.c - t.comparison.b == 6
    options = qg.QUESTIONS["bigger_holdout"]["options"][2]
    assert "from about 200 rows" in options  # 206
    assert 1850 < rows_for_margin(t.production_metrics["accuracy"], 0.01) < 1950  # "about 1,900"


def test_record_results_writes_plain_json(data, production, tree, tmp_path):
    train, holdout = data
    candidates = {"tree": tree}
    _, decisions = qg.gate_report(candidates, holdout, production=production)
    _, required = qg.gate_report(
        candidates, holdout, production=production, require_significance=True
    )
    ex = qg.gate_explorer(train, holdout, production, n_estimators=10)
    ex.update()
    checks = pd.DataFrame({"production": [True, True], "shuffled labels": [True, False]})
    path = qg.record_results(
        tmp_path,
        decisions=decisions,
        required=required,
        plain_blessed={"tree": False},
        checks=checks,
        intervals=qg.accuracy_intervals(candidates, holdout),
        bootstrap=bootstrap_interval([True] * 137 + [False] * 6),
        paired=qg.paired_comparisons({**candidates, "same": production}, production, holdout),
        by_size=qg.interval_by_size(0.958042, [143]),
        rows_for_tolerance=1893,
        dataset_rows=569,
        explorer=ex,
    )
    out = json.loads(path.read_text())
    assert out["blessed"] == {"tree": False}
    assert out["blessed_if_significance_required"] == {"tree": True}
    assert out["paired"]["tree"]["rows_needed"] == 206
    assert out["paired"]["same"]["rows_needed"] is None
    assert out["holdout_rows"] == 143 and out["tolerance_rows"] == 1.43
    assert out["standard_error"] == 0.0168
    assert out["code_checks_passed"] == {"production": 2, "shuffled labels": 1}
    assert out["explorer"]["blessed"] is False
    assert out["production_bootstrap"]["method"] == "bootstrap"


STEM = "03_training_and_quality_gate"


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_03")]

    def test_metrics_per_model_on_the_holdout(self, run):
        m = run.results["metrics"]
        assert set(m) == {
            "logistic_regression (C=0.1)",
            "random_forest",
            "gradient_boosting",
            "decision_tree (depth 3)",
            "dummy (most frequent)",
            "shuffled labels",
        }
        assert m["logistic_regression (C=0.1)"]["accuracy"] == 0.958042
        assert m["decision_tree (depth 3)"]["accuracy"] == 0.916084
        assert m["dummy (most frequent)"]["accuracy"] == 0.629371
        assert m["dummy (most frequent)"]["balanced_accuracy"] == 0.5
        assert round(m["dummy (most frequent)"]["f1"], 2) == 0.77  # "its f1 of about 0.77"
        assert run.results["production_accuracy"] == 0.958042
        assert run.results["baseline_accuracy"] == 0.629371

    def test_gate_blesses_good_models_and_rejects_bad_ones(self, run):
        assert run.results["blessed"] == {
            "logistic_regression (C=0.1)": True,
            "random_forest": False,
            "gradient_boosting": True,
            "decision_tree (depth 3)": False,
            "dummy (most frequent)": False,
            "shuffled labels": False,
        }
        reasons = run.results["reasons"]
        assert set(reasons) == {
            "random_forest",
            "decision_tree (depth 3)",
            "dummy (most frequent)",
            "shuffled labels",
        }
        assert reasons["decision_tree (depth 3)"] == [
            "accuracy 0.916 is 0.042 below production 0.958 (tolerance 0.010)"
        ]
        assert len(reasons["dummy (most frequent)"]) == 3
        assert (
            reasons["dummy (most frequent)"][-1]
            == "accuracy 0.629 does not beat the baseline 0.629"
        )
        assert reasons["shuffled labels"][0] == "accuracy 0.629 < threshold 0.900"

    def test_code_checks_pass_for_the_bad_model_too(self, run):
        r = run.results
        assert r["code_checks_total"] == 6
        assert r["code_checks_passed"] == {"production": 6, "shuffled labels": 6}

    def test_explorer_retrained_and_gated(self, run):
        e = run.results["explorer"]
        assert (e["model"], e["params"], e["blessed"]) == ("decision_tree", {"max_depth": 3}, False)
        assert "REJECTED" in e["summary"] and "below production" in e["summary"]

    def test_the_plain_rules_give_the_library_verdicts(self, run):
        blessed = {k: v for k, v in run.results["blessed"].items() if k != "shuffled labels"}
        assert run.results["plain_blessed"] == blessed

    def test_the_gaps_in_rows_the_lesson_states(self, run):
        r = run.results
        right = {name: row["rows_right"] for name, row in r["intervals"].items()}
        assert right["production"] == 137 and right["random_forest"] == 135  # 2 rows behind
        assert right["gradient_boosting"] == 136  # 1 row behind
        assert r["holdout_rows"] == 143 and r["tolerance_rows"] == 1.43  # "1.4 rows"
        assert r["standard_error"] == 0.0168  # "0.017, more than the tolerance"

    def test_confidence_intervals(self, run):
        iv = run.results["intervals"]
        prod = iv["production"]
        assert (round(prod["low"], 3), round(prod["high"], 3)) == (0.911, 0.981)
        assert round(prod["width"], 3) == 0.069 and round(prod["width"] / 0.01) == 7
        # the bootstrap: similar width, centred on the measured accuracy (Wilson is pulled to 0.5)
        boot = run.results["production_bootstrap"]
        assert abs((boot["high"] - boot["low"]) - prod["width"]) < 0.01
        assert boot["estimate"] - boot["low"] < prod["accuracy"] - prod["low"]
        # every candidate but the dummy overlaps production's interval, the dummy does not
        for name, row in iv.items():
            overlaps = row["high"] >= prod["low"] and row["low"] <= prod["high"]
            assert overlaps is (name != "dummy (most frequent)"), name

    def test_mcnemar_only_the_dummy_is_significantly_worse(self, run):
        paired = run.results["paired"]
        assert {n for n, row in paired.items() if row["significant"]} == {"dummy (most frequent)"}
        assert (paired["random_forest"]["b"], paired["random_forest"]["c"]) == (2, 4)
        tree = paired["decision_tree (depth 3)"]
        assert (tree["b"], tree["c"], tree["rows_behind"]) == (2, 8, 6)
        assert round(tree["p_value"], 2) == 0.11 and tree["rows_needed"] == 206
        assert paired["random_forest"]["rows_needed"] >= 6 * 143  # "at least six times ours"
        assert paired["logistic_regression (C=0.1)"]["rows_needed"] is None  # no gap at all

    def test_requiring_significance_blesses_the_noise_sized_and_the_real_drop(self, run):
        r = run.results
        assert r["blessed_if_significance_required"] == {
            "logistic_regression (C=0.1)": True,
            "random_forest": True,
            "gradient_boosting": True,
            "decision_tree (depth 3)": True,
            "dummy (most frequent)": False,
        }
        assert r["reasons_if_significance_required"]["dummy (most frequent)"][1].endswith(
            "significant at 0.05"
        )

    def test_a_bigger_holdout(self, run):
        r = run.results
        assert r["rows_for_tolerance"] == 1893 and r["dataset_rows"] == 569
        below = [row["below"] for row in r["interval_by_size"]]
        assert below == sorted(below, reverse=True) and below[0] > 0.01 > below[-1]

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        assert_rendered(run)
