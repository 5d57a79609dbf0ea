"""Training and validation with the schema-built preprocessing vs the same pipeline by hand.

The data: 100,000 rows, 20 numeric columns (``synthetic_dataset``) and 5 text categories of
6 levels each (binned from informative columns, so they carry signal), with 1% of the values
missing in two numeric columns and one category column; 80% train, 20% holdout.

mlcicd: ``train_model(train, schema=...)`` (its checks, the task, the preprocessing built from
the schema, the fit, the data fingerprint for the provenance), then ``evaluate_model`` on the
holdout (six metrics). By hand: the same scikit-learn ``Pipeline`` (median imputer with a
missing-indicator and a scaler for the numbers, most-frequent imputer and one-hot encoder on
the same categories, a missing-indicator, logistic regression) written out, fitted, and
scored with the same six scikit-learn metrics. Both models predict the same labels (checked).
The schema is inferred once beforehand: in CI it is a reviewed file, not part of each run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from benchmarks.common import best_of, figure
from mlcicd.data import synthetic_dataset
from mlcicd.evaluation import evaluate_model
from mlcicd.training import ModelSpec, train_model
from mlcicd.validation import infer_schema

N_NUMERIC, N_CATEGORIES, LEVELS = 20, 5, 6
HOLES = ("f00", "f01", "c0")  # 1% missing in each
TARGET = "target"


def frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """20 numeric and 5 category columns, holes in three of them, and a binary target."""
    df = synthetic_dataset(n_rows, N_NUMERIC, seed=seed)
    rng = np.random.default_rng(seed)
    letters = np.array([chr(ord("a") + i) for i in range(LEVELS)], dtype=object)
    for k in range(N_CATEGORIES):
        source = df[f"f{k:02d}"].to_numpy() + rng.normal(scale=0.5, size=n_rows)
        edges = np.quantile(source, np.linspace(0, 1, LEVELS + 1)[1:-1])
        df.insert(N_NUMERIC + k, f"c{k}", letters[np.searchsorted(edges, source)])
    for name in HOLES:
        holes = rng.random(n_rows) < 0.01
        df[name] = df[name].where(~holes)
    return df


def by_hand(train: pd.DataFrame, categories: dict) -> Pipeline:
    """The pipeline a careful user writes for this table, without mlcicd."""
    numeric = [f"f{i:02d}" for i in range(N_NUMERIC)]
    complete = [c for c in numeric if c not in HOLES]
    holed = [c for c in numeric if c in HOLES]
    cats = list(categories)
    prepare = ColumnTransformer(
        [
            ("numeric", StandardScaler(), complete),
            (
                "numeric_missing",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                holed,
            ),
            (
                "categories",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        (
                            "onehot",
                            OneHotEncoder(
                                categories=[categories[c] for c in cats],
                                handle_unknown="ignore",
                                sparse_output=False,
                            ),
                        ),
                    ]
                ),
                cats,
            ),
            ("categories_missing", MissingIndicator(features="all"), ["c0"]),
        ]
    )
    model = LogisticRegression(max_iter=1000, random_state=0)
    return Pipeline([("prepare", prepare), ("model", model)])


def hand_run(train: pd.DataFrame, holdout: pd.DataFrame, categories: dict) -> tuple:
    pipe = by_hand(train, categories)
    X, y = train.drop(columns=TARGET), train[TARGET].to_numpy()
    pipe.fit(X, y)
    Xh, yh = holdout.drop(columns=TARGET), holdout[TARGET].to_numpy()
    predicted = pipe.predict(Xh)
    metrics = {
        "accuracy": accuracy_score(yh, predicted),
        "balanced_accuracy": balanced_accuracy_score(yh, predicted),
        "precision": precision_score(yh, predicted, zero_division=0),
        "recall": recall_score(yh, predicted, zero_division=0),
        "f1": f1_score(yh, predicted, zero_division=0),
        "roc_auc": roc_auc_score(yh, pipe.predict_proba(Xh)[:, 1]),
    }
    return pipe, metrics


def ours_run(train: pd.DataFrame, holdout: pd.DataFrame, schema) -> tuple:
    trained = train_model(train, TARGET, ModelSpec("logistic_regression"), schema=schema)
    return trained.model, evaluate_model(trained.model, holdout, TARGET)


def run(quick: bool) -> list:
    n_rows = 20_000 if quick else 100_000
    repeats = 3 if quick else 5
    df = frame(n_rows)
    cut = int(0.8 * n_rows)
    train, holdout = df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True)
    schema = infer_schema(train, target=TARGET)
    categories = {c.name: list(c.categories) for c in schema.columns if c.name.startswith("c")}

    ours_model, ours_metrics = ours_run(train, holdout, schema)  # also warms both up
    hand_model, hand_metrics = hand_run(train, holdout, categories)
    Xh = holdout.drop(columns=TARGET)
    assert np.array_equal(ours_model.predict(Xh), hand_model.predict(Xh)), "not the same model"
    assert ours_metrics["accuracy"] == round(hand_metrics["accuracy"], 6)

    seconds = best_of(
        {
            "mlcicd": lambda: ours_run(train, holdout, schema),
            "by hand": lambda: hand_run(train, holdout, categories),
        },
        repeats,
    )
    wall, cpu = seconds.ratio("mlcicd", "by hand")
    size = f"{n_rows:,} rows, {N_NUMERIC} numeric + {N_CATEGORIES} category columns"
    detail = (
        f"{size}, train + evaluate, best of {repeats}: {seconds.show()}; "
        f"holdout accuracy {ours_metrics['accuracy']:.4f} both"
    )
    return [
        figure(
            f"schema-built preprocessing, train + evaluate ({n_rows:,} x 25) vs by hand",
            wall,
            "<= 1.10",
            cpu_value=cpu,
            detail=detail,
            numbers={"wall": seconds.wall, "cpu": seconds.cpu},
        )
    ]
