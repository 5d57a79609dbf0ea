"""The learner's own data on the command line, end to end: the CI workflow (infer-schema,
validate-data, train, test-model, deploy, monitor) on a penguins-like CSV (string categories,
missing values, three classes) and on scikit-learn's diabetes data (a regression target)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlcicd.cli import main
from mlcicd.data import load_dataset, penguins_like, split


def run(capsys, *argv):
    code = main([str(a) for a in argv] + ["--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, (json.loads(out) if out.strip() else None), err


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    folder = tmp_path_factory.mktemp("penguins")
    train, holdout = split(penguins_like(n=344, seed=0), "species", seed=0)
    train.to_csv(folder / "train.csv", index=False)
    holdout.to_csv(folder / "holdout.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diabetes")
    train, holdout = split(load_dataset("diabetes"), seed=0)
    train.to_csv(folder / "train.csv", index=False)
    holdout.to_csv(folder / "holdout.csv", index=False)
    return folder


def test_the_ci_workflow_on_the_penguins_like_table(penguins, tmp_path, capsys):
    d, reg = penguins, tmp_path / "registry"
    schema, model = tmp_path / "schema.json", tmp_path / "model.skops"
    code, out, _ = run(capsys, "infer-schema", d / "train.csv", "--target", "species", "-o", schema)
    assert code == 0 and out["columns"] == 7
    saved = json.loads(schema.read_text())
    kinds = {c["name"]: (c["dtype"], c["nullable"]) for c in saved["columns"]}
    assert kinds["island"] == ("category", False) and kinds["sex"] == ("category", True)
    assert kinds["body_mass_g"] == ("float", True)  # the two blank rows fell in train.csv
    for data in ("train.csv", "holdout.csv"):
        code, out, _ = run(capsys, "validate-data", d / data, "--schema", schema)
        assert (code, out["valid"]) == (0, True)

    code, out, _ = run(
        capsys, "train", d / "train.csv", "--target", "species", "-o", model, "--schema", schema
    )
    assert code == 0 and (out["task"], out["model_name"]) == (
        "classification",
        "logistic_regression",
    )
    code, out, _ = run(
        capsys, "test-model", model, d / "holdout.csv", "--target", "species", "--registry", reg
    )
    assert code == 0 and out["blessed"]
    assert out["metrics"]["averaging"] == "macro" and out["metrics"]["accuracy"] > 0.9
    assert out["metrics"]["roc_auc"] > 0.95  # one-vs-rest
    code, out, _ = run(capsys, "deploy", model, "--registry", reg, "--schema", schema)
    assert (code, out["deployed"], out["version"]) == (0, True, 1)
    code, out, _ = run(
        capsys,
        "monitor",
        d / "train.csv",
        d / "holdout.csv",
        "--target",
        "species",
        "--registry",
        reg,
    )
    assert code == 0 and not out["retrain"] and out["accuracy"] > 0.9


def test_serving_penguins_with_an_unknown_island_is_caught_and_still_predicted(
    penguins, tmp_path, capsys
):
    import pandas as pd

    from mlcicd.training import load_model

    schema, model = tmp_path / "schema.json", tmp_path / "model.skops"
    run(capsys, "infer-schema", penguins / "train.csv", "--target", "species", "-o", schema)
    run(capsys, "train", penguins / "train.csv", "--target", "species", "-o", model)
    serving = pd.read_csv(penguins / "holdout.csv").drop(columns="species").head(20)
    serving.loc[:4, "island"] = "Anvers"
    serving.to_csv(tmp_path / "serving.csv", index=False)
    code, out, _ = run(
        capsys, "validate-data", tmp_path / "serving.csv", "--schema", schema, "--serving"
    )
    assert code == 1
    assert [(a["column"], a["kind"], a["count"]) for a in out["anomalies"]] == [
        ("island", "unknown_category", 5)
    ]
    # the model's encoder ignores the unknown island (all zeros) instead of crashing
    predicted = load_model(model).model.predict(serving)
    assert len(predicted) == 20 and set(predicted) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_the_ci_workflow_on_the_diabetes_regression(diabetes, tmp_path, capsys):
    d, reg = diabetes, tmp_path / "registry"
    schema, model = tmp_path / "schema.json", tmp_path / "model.skops"
    assert run(capsys, "infer-schema", d / "train.csv", "--target", "target", "-o", schema)[0] == 0
    code, out, _ = run(capsys, "validate-data", d / "holdout.csv", "--schema", schema)
    assert (code, out["valid"]) == (0, True)
    code, out, _ = run(capsys, "train", d / "train.csv", "--target", "target", "-o", model)
    assert code == 0 and (out["task"], out["model_name"]) == ("regression", "ridge")
    code, out, _ = run(
        capsys, "test-model", model, d / "holdout.csv", "--target", "target", "--registry", reg
    )
    assert code == 0 and out["blessed"] and out["thresholds"] == {"r2": 0.2}
    assert set(out["metrics"]) == {"rmse", "mae", "r2", "n_rows"}
    assert out["metrics"]["rmse"] < out["baseline_metrics"]["rmse"]  # beats the mean
    code, out, _ = run(capsys, "deploy", model, "--registry", reg)
    assert (code, out["version"]) == (0, 1)
    code, out, _ = run(
        capsys,
        "monitor",
        d / "train.csv",
        d / "holdout.csv",
        "--target",
        "target",
        "--registry",
        reg,
    )
    assert code == 0 and not out["retrain"]
    assert out["accuracy"] is None and not out["residual_drift"]["drift"]


def test_a_regression_gate_and_monitor_can_fail(diabetes, tmp_path, capsys):
    import pandas as pd

    d, model = diabetes, tmp_path / "dummy.skops"
    run(capsys, "train", d / "train.csv", "--target", "target", "-o", model, "--model", "dummy")
    code, out, _ = run(capsys, "test-model", model, d / "holdout.csv", "--target", "target")
    assert code == 1 and not out["blessed"]
    assert any(r.startswith("rmse ") and "does not beat the baseline" in r for r in out["reasons"])
    code, out, err = run(
        capsys,
        "test-model",
        model,
        d / "holdout.csv",
        "--target",
        "target",
        "--min-accuracy",
        "0.5",
    )
    assert code == 2 and "--min-accuracy" in err and "regression" in err
    # labels 60 higher with the same features: predictions stay, residuals drift -> retrain
    holdout = pd.read_csv(d / "holdout.csv")
    holdout.assign(target=holdout["target"] + 60).to_csv(tmp_path / "later.csv", index=False)
    code, out, _ = run(
        capsys,
        "monitor",
        d / "train.csv",
        tmp_path / "later.csv",
        "--target",
        "target",
        "--model",
        model,
    )
    assert code == 1 and out["retrain"] and out["residual_drift"]["drift"]


def test_a_classifier_on_the_diabetes_label_is_refused_naming_label_and_task(
    diabetes, tmp_path, capsys
):
    model = tmp_path / "m.skops"
    code, _, err = run(
        capsys,
        "train",
        diabetes / "train.csv",
        "--target",
        "target",
        "-o",
        model,
        "--model",
        "logistic_regression",
    )
    assert code == 2 and "'target'" in err and "--task classification" in err
    assert not model.exists()
    code, out, _ = run(
        capsys,
        "train",
        diabetes / "train.csv",
        "--target",
        "target",
        "-o",
        model,
        "--model",
        "decision_tree",
        "--task",
        "classification",
        "--param",
        "max_depth=2",
    )
    assert code == 0 and out["task"] == "classification"


def test_penguins_like_is_deterministic_with_the_real_tables_holes():
    a, b = penguins_like(n=344, seed=0), penguins_like(n=344, seed=0)
    assert a.equals(b) and not a.equals(penguins_like(n=344, seed=1))
    assert int(a.isna().sum().sum()) == 19
    assert a.isna().sum().to_dict() == {
        "species": 0,
        "island": 0,
        "bill_length_mm": 2,
        "bill_depth_mm": 2,
        "flipper_length_mm": 2,
        "body_mass_g": 2,
        "sex": 11,
    }
    assert set(a.groupby("species")["island"].unique().map(len)) == {1, 3}
    assert np.all(a["body_mass_g"].dropna() > 0)
