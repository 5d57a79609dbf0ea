"""Tests for mlcicd.monitoring: drift tests, PSI, the Wasserstein shortcut and the retrain call."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlcicd.errors import InputError
from mlcicd.monitoring import (
    DriftReport,
    FeatureDrift,
    adjust_p_values,
    detect_drift,
    numeric_psi,
    population_stability_index,
    psi_band,
    wasserstein_sorted,
)


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    df = load_breast_cancer(as_frame=True).frame
    df.columns = [c.replace(" ", "_") for c in df.columns]
    return df.sample(frac=1.0, random_state=0).reset_index(drop=True)


def synthetic(n_rows: int, n_features: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = rng.normal(
        loc=np.arange(n_features), scale=1.0 + np.arange(n_features), size=(n_rows, n_features)
    )
    return pd.DataFrame(data, columns=[f"f{i}" for i in range(n_features)])


# --- Wasserstein from sorted samples --------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "ties"),
    [
        (1, 1, False),
        (1, 7, False),
        (5, 3, False),
        (50, 50, True),
        (700, 301, False),
        (999, 1000, True),
        (2048, 96, True),
        (4000, 6000, False),
    ],
)
def test_wasserstein_sorted_matches_scipy(n, m, ties):
    rng = np.random.default_rng(n * 10_000 + m)
    u = rng.normal(size=n)
    v = rng.standard_t(3, size=m) * 2 + 0.3
    if ties:  # few distinct values, shared between the samples
        u, v = np.round(u), np.round(v)
    expected = stats.wasserstein_distance(u, v)
    got = wasserstein_sorted(np.sort(u), np.sort(v))
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_wasserstein_sorted_simple_cases():
    assert wasserstein_sorted(np.array([0.0, 1.0]), np.array([0.0, 1.0, 2.0])) == 0.5
    assert wasserstein_sorted(np.array([3.0]), np.array([3.0, 3.0, 3.0])) == 0.0
    assert wasserstein_sorted(np.array([0.0]), np.array([5.0])) == 5.0
    with pytest.raises(InputError):
        wasserstein_sorted(np.array([]), np.array([1.0]))


# --- numeric drift ------------------------------------------------------------------------


def test_no_drift_between_halves_small_reference(cancer):
    features = cancer.drop(columns="target")
    report = detect_drift(features.iloc[:300], features.iloc[300:])
    assert {f.method for f in report.features} == {"ks"}
    assert all(f.threshold == 0.05 and 0 <= f.p_value <= 1 for f in report.features)
    assert sum(f.drift for f in report.features) <= 3
    assert not report.dataset_drift and not report.retrain
    assert report.n_reference == 300 and report.n_current == 269
    assert report.reasons[-1].endswith("accuracy not measured: keep the production model")


def test_ks_statistics_are_scipy_and_target_is_excluded(cancer):
    ref, cur = cancer.iloc[:300], cancer.iloc[300:]
    report = detect_drift(ref, cur, target="target")
    assert "target" not in [f.feature for f in report.features]
    first = report.features[0]
    expected = stats.ks_2samp(ref[first.feature], cur[first.feature])
    assert first.statistic == pytest.approx(expected.statistic)
    assert first.p_value == pytest.approx(expected.pvalue)


def test_shifted_feature_drifts_ks_path(cancer):
    features = cancer.drop(columns="target")
    ref, cur = features.iloc[:300], features.iloc[300:].copy()
    cur["mean_radius"] += features["mean_radius"].std()
    report = detect_drift(ref, cur, columns=["mean_radius", "mean_texture", "mean_smoothness"])
    verdict = {f.feature: f.drift for f in report.features}
    assert verdict == {"mean_radius": True, "mean_texture": False, "mean_smoothness": False}
    assert report.features[0].p_value < 1e-10
    assert report.features[0].psi_band == "significant"
    assert report.reasons[0] == "1 of 3 features drifted (share 0.33 < 0.50)"


def test_wasserstein_path_no_drift_then_one_shifted():
    df = synthetic(5000)
    ref, cur = df.iloc[:2500], df.iloc[2500:].copy()
    report = detect_drift(ref, cur)
    assert {f.method for f in report.features} == {"wasserstein"}
    assert all(f.p_value is None and f.threshold == 0.1 for f in report.features)
    assert not any(f.drift for f in report.features)
    assert all(f.psi_band == "stable" for f in report.features)

    cur["f2"] += 0.5 * ref["f2"].std()
    report = detect_drift(ref, cur)
    assert [f.feature for f in report.features if f.drift] == ["f2"]
    f2 = report.features[2]
    expected = stats.wasserstein_distance(ref["f2"], cur["f2"]) / ref["f2"].std(ddof=0)
    assert f2.statistic == pytest.approx(expected, rel=1e-9)
    assert 0.45 < f2.statistic < 0.55


def test_zero_std_reference_scales_by_one_and_missing_values_are_dropped():
    ref = pd.DataFrame({"c": np.full(2000, 3.0), "x": np.linspace(0.0, 1.0, 2000)})
    cur = pd.DataFrame({"c": np.full(1500, 3.05), "x": np.linspace(0.0, 1.0, 1500)})
    report = detect_drift(ref, cur)
    assert report.features[0].statistic == pytest.approx(0.05)  # W1 = 0.05, std 0 -> divided by 1
    with_gaps = cur.copy()
    with_gaps.loc[::3, "x"] = np.nan
    with_gaps.loc[1, "x"] = np.inf
    dropped = cur["x"][with_gaps["x"].pipe(np.isfinite)]
    gapped = detect_drift(ref, with_gaps, columns=["x"]).features[0]
    clean = detect_drift(ref, pd.DataFrame({"x": dropped.to_numpy()}), columns=["x"]).features[0]
    assert gapped == clean


def test_nullable_and_integer_dtypes_are_numeric():
    ref = pd.DataFrame({"i": np.arange(400) % 7, "n": pd.array(np.arange(400) % 5, dtype="Int64")})
    cur = ref.copy()
    cur.loc[:10, "n"] = pd.NA
    report = detect_drift(ref, cur)
    assert [f.kind for f in report.features] == ["numeric", "numeric"]
    assert not any(f.drift for f in report.features)


# --- categorical drift --------------------------------------------------------------------


def test_chi2_path_with_unseen_categories():
    ref = pd.DataFrame({"colour": ["red"] * 200 + ["green"] * 150 + ["blue"] * 50})
    same = pd.DataFrame({"colour": ["red"] * 100 + ["green"] * 75 + ["blue"] * 25})
    report = detect_drift(ref, same)
    feature = report.features[0]
    assert (feature.kind, feature.method) == ("categorical", "chi2")
    assert feature.statistic == pytest.approx(0.0, abs=1e-12) and feature.p_value == pytest.approx(
        1.0
    )
    assert not feature.drift

    moved = pd.DataFrame({"colour": ["red"] * 60 + ["green"] * 60 + ["purple"] * 80})
    feature = detect_drift(ref, moved).features[0]
    table = np.array([[200, 150, 50, 0], [60, 60, 0, 80]])
    expected = stats.chi2_contingency(table)
    assert feature.statistic == pytest.approx(expected.statistic)
    assert feature.p_value == pytest.approx(expected.pvalue)
    assert feature.drift


def test_category_and_bool_dtypes_are_categorical():
    cats = pd.CategoricalDtype(["a", "b", "never"])
    ref = pd.DataFrame({"c": pd.Series(["a", "b"] * 100, dtype=cats), "flag": [True, False] * 100})
    cur = pd.DataFrame({"c": pd.Series(["a"] * 90 + ["b"] * 110, dtype=cats), "flag": [True] * 200})
    report = detect_drift(ref, cur)
    assert [f.kind for f in report.features] == ["categorical", "categorical"]
    expected = stats.chi2_contingency(np.array([[100, 100], [90, 110]]))  # "never" is left out
    assert report.features[0].p_value == pytest.approx(expected.pvalue)
    assert not report.features[0].drift
    assert report.features[1].drift


def test_jensen_shannon_path():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame(
        {"city": rng.choice(["paris", "lyon", "nice"], p=[0.5, 0.3, 0.2], size=3000)}
    )
    cur = pd.DataFrame(
        {"city": rng.choice(["paris", "lyon", "lille"], p=[0.3, 0.3, 0.4], size=2000)}
    )
    feature = detect_drift(ref, cur).features[0]
    assert (feature.method, feature.p_value, feature.threshold) == ("jensen_shannon", None, 0.1)
    names = ["paris", "lyon", "nice", "lille"]
    p = ref["city"].value_counts().reindex(names, fill_value=0).to_numpy()
    q = cur["city"].value_counts().reindex(names, fill_value=0).to_numpy()
    assert feature.statistic == pytest.approx(jensenshannon(p / p.sum(), q / q.sum(), base=2))
    assert feature.drift and 0 < feature.statistic <= 1
    assert detect_drift(ref, ref.iloc[:1500]).features[0].statistic < 0.1


# --- PSI ----------------------------------------------------------------------------------


def test_psi_value_and_bands():
    assert population_stability_index([50, 50], [40, 60]) == pytest.approx(0.1 * math.log(1.5))
    assert population_stability_index([1, 2, 3], [1, 2, 3]) == 0.0
    assert [psi_band(x) for x in (0.0, 0.0999, 0.1, 0.1999, 0.2, 3.0)] == [
        "stable",
        "stable",
        "moderate",
        "moderate",
        "significant",
        "significant",
    ]


def test_psi_on_frames_exact():
    ref = pd.DataFrame({"x": np.arange(100.0), "s": ["a"] * 50 + ["b"] * 50})
    cur = pd.DataFrame({"x": np.tile(np.arange(10.0), 10), "s": ["a"] * 33 + ["b"] * 67})
    x, s = detect_drift(ref, cur).features
    # reference deciles cut arange(100) into ten bins of 10; all of current lies in the first
    expected = 0.9 * math.log(10) + 9 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert x.psi == pytest.approx(expected, rel=1e-12)
    assert x.psi_band == "significant"
    assert s.psi == pytest.approx(0.17 * math.log(0.67 / 0.33), rel=1e-12)
    assert s.psi_band == "moderate"


def test_psi_collapses_tied_deciles():
    ref = pd.DataFrame({"x": np.r_[np.zeros(80), np.arange(1.0, 21.0)]})  # 8 deciles are 0
    report = detect_drift(ref, ref.copy())
    assert report.features[0].psi == 0.0


# --- dataset drift, accuracy and the retrain decision --------------------------------------


def test_dataset_drift_boundary_is_inclusive():
    ref = synthetic(400, n_features=4)
    cur = ref.copy()
    cur[["f0", "f1"]] += 50.0
    report = detect_drift(ref, cur)
    assert [f.drift for f in report.features] == [True, True, False, False]
    assert report.drift_share == 0.5 and report.dataset_drift and report.retrain
    assert report.reasons == ("2 of 4 features drifted (share 0.50 >= 0.50)",)
    higher = detect_drift(ref, cur, drift_share=0.6)
    assert not higher.dataset_drift and not higher.retrain
    assert higher.reasons[0] == "2 of 4 features drifted (share 0.50 < 0.60)"


def test_accuracy_drop_calls_for_retraining(cancer):
    train, current = cancer.iloc[:400], cancer.iloc[400:].copy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        train.drop(columns="target"), train["target"]
    )
    rng = np.random.default_rng(0)
    flip = rng.random(len(current)) < 0.3
    current.loc[flip, "target"] = 1 - current.loc[flip, "target"]
    report = detect_drift(train, current, target="target", model=model)
    predicted = model.predict(current.drop(columns="target"))
    assert report.accuracy == pytest.approx(np.mean(predicted == current["target"]))
    assert report.reference_accuracy == pytest.approx(
        model.score(train.drop(columns="target"), train["target"])
    )
    assert report.accuracy_drop == pytest.approx(report.reference_accuracy - report.accuracy)
    assert report.accuracy_drop > 0.05
    assert not report.dataset_drift and report.retrain
    assert any(r.startswith("accuracy fell from") and "> 0.050)" in r for r in report.reasons)

    unlabelled = detect_drift(train, current.drop(columns="target"), target="target", model=model)
    assert unlabelled.accuracy is None and unlabelled.accuracy_drop is None
    assert not unlabelled.retrain

    given = detect_drift(train, current, target="target", model=model, reference_accuracy=0.5)
    assert given.reference_accuracy == 0.5 and given.accuracy_drop < 0 and not given.retrain
    assert given.reasons[1].startswith("accuracy went from 0.500 to ")
    assert given.reasons[-1] == "no dataset drift and no accuracy drop: keep the production model"


def test_to_dict_is_json_and_all_missing_column_drifts():
    ref = synthetic(300, n_features=3)
    cur = ref.copy()
    cur["f1"] = np.nan
    report = detect_drift(ref, cur)
    assert isinstance(report, DriftReport) and isinstance(report.features[1], FeatureDrift)
    assert report.features[1].drift and report.features[1].statistic is None
    assert "feature 'f1': no value in current (all missing): counted as drift" in report.reasons
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert set(data) == {
        "features",
        "drift_share",
        "dataset_drift",
        "accuracy",
        "reference_accuracy",
        "accuracy_drop",
        "retrain",
        "reasons",
        "n_reference",
        "n_current",
        "prediction_drift",
        "residual_drift",
    }
    assert set(data["features"][0]) == {
        "feature",
        "kind",
        "method",
        "statistic",
        "p_value",
        "threshold",
        "psi",
        "psi_band",
        "drift",
    }
    assert type(data["features"][0]["statistic"]) is float and type(data["drift_share"]) is float
    assert data["features"][1]["psi"] is None
    frame = report.to_frame()
    assert list(frame["feature"]) == ["f0", "f1", "f2"] and frame.shape == (3, 9)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["f0", "nope"]}, "columns: not in reference: nope"),
        ({"columns": []}, "columns: no feature"),
        ({"drift_share": 0}, "drift_share"),
        ({"max_accuracy_drop": -0.1}, "max_accuracy_drop"),
        ({"model": object()}, "model: given without target"),
        ({"reference_accuracy": 1.5}, "reference_accuracy"),
    ],
)
def test_bad_parameters(kwargs, message):
    ref = synthetic(50, n_features=2)
    with pytest.raises(InputError, match=message):
        detect_drift(ref, ref, **kwargs)


def test_bad_frames():
    ref = synthetic(50, n_features=3)
    with pytest.raises(InputError, match="reference: the dataset is empty"):
        detect_drift(ref.iloc[:0], ref)
    with pytest.raises(InputError, match="current: the dataset is empty"):
        detect_drift(ref, ref.iloc[:0])
    with pytest.raises(InputError, match="current: missing column\\(s\\): f0, f2"):
        detect_drift(ref, ref[["f1"]])
    with pytest.raises(InputError, match="column 'f1' is numeric in reference but str in current"):
        detect_drift(ref, ref.assign(f1="x"))
    stamped = ref.assign(when=pd.Timestamp("2024-01-01"))
    with pytest.raises(InputError, match="unsupported dtype"):
        detect_drift(stamped, stamped)
    with pytest.raises(InputError, match="reference column 'f2' has no finite value"):
        detect_drift(ref.assign(f2=np.nan), ref)


# ------------------------------------------------------------------ regression models


@pytest.fixture(scope="module")
def diabetes_model():
    from mlcicd.data import load_dataset, split
    from mlcicd.training import train_model

    train, holdout = split(load_dataset("diabetes"), seed=0)
    return train, holdout, train_model(train, "target").model


def test_a_regression_model_gets_prediction_and_residual_drift(diabetes_model):
    train, holdout, model = diabetes_model
    report = detect_drift(train, holdout, target="target", model=model)
    assert report.accuracy is None and report.accuracy_drop is None
    assert report.prediction_drift.feature == "prediction" and not report.prediction_drift.drift
    assert report.residual_drift.method == "ks" and not report.residual_drift.drift
    assert not report.retrain
    assert report.reasons[-1] == "no drift and no residual drift: keep the production model"
    data = report.to_dict()
    assert data["residual_drift"]["feature"] == "residual"
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_a_shifted_label_moves_the_residuals_not_the_predictions(diabetes_model):
    train, holdout, model = diabetes_model
    # the features are unchanged, so are the predictions; the labels (what the model gets
    # wrong) move by 60: only the residuals can see it, and they call for retraining
    report = detect_drift(
        train, holdout.assign(target=holdout["target"] + 60), target="target", model=model
    )
    assert report.drifted == [] and not report.prediction_drift.drift
    assert report.residual_drift.drift and report.retrain
    assert report.reasons[-1].startswith("the residuals (label - prediction) drifted")


def test_without_current_labels_only_the_predictions_are_compared(diabetes_model):
    train, holdout, model = diabetes_model
    report = detect_drift(train, holdout.drop(columns="target"), target="target", model=model)
    assert report.prediction_drift is not None and report.residual_drift is None
    assert report.reasons[-1] == "no drift and errors not measured: keep the production model"


def test_a_classifier_keeps_its_accuracy_and_gets_no_prediction_drift(cancer):
    from mlcicd.training import train_model

    model = train_model(cancer, "target").model
    report = detect_drift(cancer, cancer.sample(200, random_state=0), target="target", model=model)
    assert report.accuracy is not None
    assert report.prediction_drift is None and report.residual_drift is None


# ------------------------------------------------ multiple-testing corrections and numeric PSI


def test_bonferroni_multiplies_by_the_number_of_tests_and_caps_at_one():
    p = [0.001, 0.02, 0.5, 0.0]
    assert adjust_p_values(p, "bonferroni").tolist() == pytest.approx([0.004, 0.08, 1.0, 0.0])
    assert adjust_p_values(p).tolist() == adjust_p_values(p, "bonferroni").tolist()  # default


def test_benjamini_hochberg_matches_scipy_and_keeps_the_input_order():
    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 30):
        p = rng.random(size) ** 3
        p[rng.integers(size)] = p[0]  # a tie
        got = adjust_p_values(p, "benjamini_hochberg")
        np.testing.assert_allclose(got, stats.false_discovery_control(p), rtol=1e-12)
    # by hand: sorted 0.01, 0.03, 0.04 -> 0.03, 0.045, 0.04 -> running minimum from the top
    assert adjust_p_values([0.04, 0.01, 0.03], "benjamini_hochberg").tolist() == pytest.approx(
        [0.04, 0.03, 0.04]
    )
    assert adjust_p_values([], "benjamini_hochberg").size == 0


def test_corrections_are_never_below_the_raw_p_values_and_bonferroni_is_the_stricter():
    p = np.random.default_rng(0).random(30) ** 2
    bonferroni, bh = adjust_p_values(p, "bonferroni"), adjust_p_values(p, "benjamini_hochberg")
    assert (bh >= p).all() and (bonferroni >= bh).all()


@pytest.mark.parametrize(
    ("p_values", "method", "message"),
    [
        (
            [0.1],
            "holm",
            "method='holm': unknown correction (allowed: bonferroni, benjamini_hochberg)",
        ),
        ([0.1, 1.5], "bonferroni", "p_values: every p-value must be a number in [0, 1]"),
        ([0.1, float("nan")], "bonferroni", "p_values: every p-value must be a number in [0, 1]"),
        ([[0.1, 0.2]], "bonferroni", "p_values: expected a flat list, got 2 dimensions"),
        (["a"], "bonferroni", "p_values: expected a list of numbers in [0, 1]"),
    ],
)
def test_adjust_p_values_refuses_bad_input(p_values, method, message):
    with pytest.raises(InputError, match=re.escape(message)):
        adjust_p_values(p_values, method)


def test_numeric_psi_is_the_psi_detect_drift_reports():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=300), "y": rng.exponential(size=300)})
    cur = pd.DataFrame({"x": rng.normal(0.3, size=120), "y": rng.exponential(size=120)})
    cur.loc[0, "x"] = np.nan  # dropped, as detect_drift does
    report = detect_drift(ref, cur)
    for f in report.features:
        assert numeric_psi(ref[f.feature], cur[f.feature]) == f.psi
    with pytest.raises(InputError, match="numeric_psi: both samples need at least one finite"):
        numeric_psi([np.nan], [1.0])


def test_detect_drift_can_decide_on_corrected_p_values():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame(rng.normal(size=(300, 30)), columns=[f"f{i}" for i in range(30)])
    cur = pd.DataFrame(rng.normal(size=(200, 30)), columns=ref.columns)
    cur["f0"] += 1.0  # one real move among 29 calm features
    raw = detect_drift(ref, cur)
    assert len(raw.drifted) > 1  # the move and some false alarms
    assert detect_drift(ref, cur, correction=None) == raw  # the default keeps the behaviour
    for method in ("bonferroni", "benjamini_hochberg"):
        report = detect_drift(ref, cur, correction=method)
        adjusted = adjust_p_values([f.p_value for f in raw.features], method)
        pairs = zip(raw.features, adjusted, strict=True)
        assert report.drifted == [f.feature for f, p in pairs if p < 0.05]
        assert report.drifted == ["f0"]
        assert [f.p_value for f in report.features] == [f.p_value for f in raw.features]
    big = pd.concat([ref] * 4, ignore_index=True)  # > 1000 rows: distances, nothing to correct
    assert detect_drift(big, cur, correction="bonferroni") == detect_drift(big, cur)
    with pytest.raises(
        InputError,
        match=re.escape("correction must be one of 'bonferroni', 'benjamini_hochberg', got 'holm'"),
    ):
        detect_drift(ref, cur, correction="holm")
