"""The compute and draw functions behind lesson 3 (the quality gate), and its explorer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from mlcicd.data import TARGET
from mlcicd.errors import InputError
from mlcicd.evaluation import validate_model
from mlcicd.lessons import quality_gate as qg
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
