"""Issue 10: lessons 2 to 5 run on the learner's own data, given as a CSV path and its label
column: a penguins-like table (string categories, missing values, three classes) generated here,
and scikit-learn's diabetes data (a regression target). Nothing is downloaded."""

from __future__ import annotations

import pytest

from mlcicd.course.run import NOTEBOOKS, run_notebook
from mlcicd.data import load_dataset, penguins_like

pytestmark = pytest.mark.notebooks

LESSONS = {
    2: "02_data_validation",
    3: "03_training_and_quality_gate",
    4: "04_deployment_and_rollback",
    5: "05_monitoring_drift_retraining",
}


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own-data")
    penguins_like(n=344, seed=0).to_csv(folder / "penguins.csv", index=False)
    load_dataset("diabetes").to_csv(folder / "diabetes.csv", index=False)
    return folder


def execute(lesson: int, csv, target: str, build):
    run = run_notebook(
        NOTEBOOKS / f"{LESSONS[lesson]}.ipynb",
        build,
        ci=True,
        timeout=300,
        parameters={"dataset": str(csv), "target": target},
    )
    assert run.status == "ok", run.error
    assert run.results["dataset"] == str(csv)
    return run.results["own_data"]


@pytest.mark.parametrize(
    "lesson",
    [pytest.param(n, marks=pytest.mark.xdist_group(f"test_lesson_0{n}")) for n in LESSONS],
)
def test_lesson_runs_on_a_penguins_like_csv(lesson, csvs, tmp_path, jupyter_env):
    own = execute(lesson, csvs / "penguins.csv", "species", tmp_path)
    assert own["task"] == "classification" and own["label"] == "species"
    assert own["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert own["categorical_columns"] == ["island", "sex"]  # string columns found as categories
    assert own["missing_cells"] > 0
    # the trained model imputes the gaps and one-hot encodes the categories itself
    assert {"numeric_missing/impute", "categories/impute", "categories/onehot"} <= set(
        own["model_steps"]
    )
    assert own["gate_metrics"] == ["accuracy"]
    assert own["blessed"] and not own["shuffled_labels_blessed"]
    if lesson == 5:
        assert len(own["drift_share"]) == 8  # the CI parameter n_weeks
        assert own["drift_share"][0] < own["drift_share"][-1]


@pytest.mark.parametrize(
    "lesson",
    [pytest.param(n, marks=pytest.mark.xdist_group(f"test_lesson_0{n}")) for n in (2, 5)],
)
def test_lesson_runs_on_diabetes_regression(lesson, csvs, tmp_path, jupyter_env):
    own = execute(lesson, csvs / "diabetes.csv", "target", tmp_path)
    assert own["task"] == "regression" and own["classes"] == []
    assert own["categorical_columns"] == [] and len(own["numeric_columns"]) == 10
    assert own["gate_metrics"] == ["r2"]  # the task-aware gate: R^2, not accuracy
    assert own["blessed"] and not own["shuffled_labels_blessed"]
    assert 0.2 < own["metrics"]["r2"] < 1
    if lesson == 5:
        assert len(own["drift_share"]) == 8
