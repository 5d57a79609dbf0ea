"""The pipeline's overhead: run_versions(100) vs a hand-written loop doing the same work.

The hand-written loop calls scikit-learn, pandas, scipy and skops directly, version by version:
split once (stratified), a most-frequent baseline, the schema's bounds; then for each version:
check the training data against the bounds, fit the scaler + logistic regression of that
version's C, score the six metrics on the holdout, compare every feature of the holdout with
the training data (Kolmogorov-Smirnov and PSI over the deciles, as detect_drift does for fewer
than 1,000 reference rows) and the model's accuracy on both, apply the gate's three rules, and
"deploy". Without a registry the deploy is a list append on both sides; with one, the hand
loop writes the model and its metadata with skops and json (temp file + rename), while the
pipeline deploys to an mlcicd Registry (which also fingerprints the model, finds duplicates,
fsyncs and moves the aliases). The pipeline adds: stage records and timing, fingerprints of
the inputs, the data fingerprint and provenance of each model, the gate's report objects.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from scipy import stats
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.common import best_of, figure, mb, peak_memory
from mlcicd.data import TARGET, load_dataset
from mlcicd.pipeline import run_versions
from mlcicd.pipeline.stages import DEFAULT_C


def _metrics(model, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    predicted = model.predict(X)
    return {
        "accuracy": accuracy_score(y, predicted),
        "balanced_accuracy": balanced_accuracy_score(y, predicted),
        "precision": precision_score(y, predicted, zero_division=0),
        "recall": recall_score(y, predicted, zero_division=0),
        "f1": f1_score(y, predicted, zero_division=0),
        "roc_auc": roc_auc_score(y, model.predict_proba(X)[:, 1]),
    }


def _drift(model, train: pd.DataFrame, current: pd.DataFrame, features: list[str]) -> dict:
    out = {}
    for name in features:
        ref, cur = np.sort(train[name].to_numpy()), np.sort(current[name].to_numpy())
        ks = stats.ks_2samp(ref, cur)
        edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
        p = np.diff(np.concatenate([[0], np.searchsorted(ref, edges), [ref.size]])) / ref.size
        q = np.diff(np.concatenate([[0], np.searchsorted(cur, edges), [cur.size]])) / cur.size
        p, q = np.clip(p, 1e-4, None), np.clip(q, 1e-4, None)
        out[name] = (ks.pvalue < 0.05, float(np.sum((q - p) * np.log(q / p))))
    drifted = sum(d for d, _ in out.values()) / len(features) >= 0.5
    acc_ref = float(np.mean(model.predict(train[features]) == train[TARGET].to_numpy()))
    acc_cur = float(np.mean(model.predict(current[features]) == current[TARGET].to_numpy()))
    return {"features": out, "retrain": drifted or acc_ref - acc_cur > 0.05}


def hand_loop(n: int, df: pd.DataFrame, folder: Path | None = None, seed: int = 0) -> list[int]:
    """The seed's loop written by hand; returns the deployed version numbers."""
    train, holdout = train_test_split(df, test_size=0.25, random_state=seed, stratify=df[TARGET])
    train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
    features = [c for c in df.columns if c != TARGET]
    X_hold, y_hold = holdout[features], holdout[TARGET].to_numpy()
    baseline = DummyClassifier(strategy="most_frequent").fit(X_hold, y_hold)
    base_acc = _metrics(baseline, X_hold, y_hold)["accuracy"]
    lo, hi = train.min(), train.max()
    lo, hi = lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)
    deployed, production = [], None
    for v in range(1, n + 1):
        mins, maxs = train.min(skipna=False), train.max(skipna=False)
        if not ((mins >= lo) & (maxs <= hi)).all() or list(train.columns) != list(lo.index):
            continue
        model = Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "model",
                    LogisticRegression(
                        C=DEFAULT_C[(v - 1) % len(DEFAULT_C)],
                        max_iter=1000,
                        random_state=seed + v - 1,
                    ),
                ),
            ]
        ).fit(train[features], train[TARGET].to_numpy())
        metrics = _metrics(model, X_hold, y_hold)
        _drift(model, train, holdout, features)
        acc = metrics["accuracy"]
        if acc < 0.9 or acc <= base_acc or (production is not None and acc < production - 0.01):
            continue
        if folder is not None:
            target = folder / f"{v:04d}"
            target.mkdir(parents=True)
            sio.dump({"model": model, "metadata": json.dumps({"C": model[-1].C})}, target / ".tmp")
            os.replace(target / ".tmp", target / "model.skops")
            (target / "metadata.json").write_text(json.dumps({"version": v, "metrics": metrics}))
        deployed.append(v)
        production = acc
    return deployed


def run(quick: bool) -> list:
    from mlcicd.registry import Registry

    n = 20 if quick else 100
    repeats = 2 if quick else 3
    df = load_dataset()
    figures = []
    with tempfile.TemporaryDirectory(prefix="mlcicd-bench-") as tmp:
        counter = iter(range(10**6))

        def folder() -> Path:
            return Path(tmp) / f"run{next(counter)}"

        ours = run_versions(n, data=df)
        assert ours.deployed == hand_loop(n, df), "the two loops must deploy the same versions"
        registry, files = folder(), folder()
        run_versions(n, data=df, registry=registry)
        hand_loop(n, df, files)
        written = (len(Registry(registry).versions()), len(list(files.iterdir())))
        for to_disk in (False, True):
            subjects = {
                "mlcicd": lambda d=to_disk: run_versions(
                    n, data=df, registry=folder() if d else None
                ),
                "hand": lambda d=to_disk: hand_loop(n, df, folder() if d else None),
            }
            seconds = best_of(subjects, repeats)
            peaks = {name: peak_memory(call) for name, call in subjects.items()}
            wall, cpu = seconds.ratio("mlcicd", "hand")
            where = "to a Registry vs skops files" if to_disk else "in memory"
            files_note = (
                f"; model files written: Registry {written[0]}, hand-written loop {written[1]}"
                if to_disk
                else ""
            )
            figures.append(
                figure(
                    f"pipeline overhead, {n} versions, deploy {where}",
                    wall,
                    "<= 1.10",
                    cpu_value=cpu,
                    detail=(
                        f"best of {repeats}: {seconds.show()} (mlcicd = run_versions, hand = "
                        f"hand-written loop); {len(ours.deployed)} deploys{files_note}"
                    ),
                    memory=(
                        f"peak memory (tracemalloc): run_versions {mb(peaks['mlcicd'])}, "
                        f"hand-written loop {mb(peaks['hand'])}"
                    ),
                    numbers={"wall": seconds.wall, "cpu": seconds.cpu, "peak_bytes": peaks},
                )
            )
    return figures
