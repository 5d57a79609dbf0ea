"""Tests for mlcicd.data: datasets, split, simulated production weeks, fingerprints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcicd.data import (
    TARGET,
    drift_region,
    drift_strength,
    fingerprint,
    infer_task,
    load_data,
    load_dataset,
    penguins_like,
    production_batches,
    split,
    synthetic_dataset,
)
from mlcicd.errors import InputError


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_dataset()


# ------------------------------------------------------------------ datasets


def test_breast_cancer_shape_names_and_labels(cancer):
    assert cancer.shape == (569, 31)
    assert list(cancer.columns[:3]) == ["mean_radius", "mean_texture", "mean_perimeter"]
    assert cancer.columns[-1] == TARGET == "target"
    assert "worst_fractal_dimension" in cancer.columns
    assert all(c == c.lower() and " " not in c for c in cancer.columns)
    assert cancer[TARGET].dtype == np.int64
    assert cancer[TARGET].value_counts().to_dict() == {1: 357, 0: 212}  # 1 = benign
    assert (cancer.drop(columns=TARGET).dtypes == np.float64).all()


def test_wine_binary():
    wine = load_dataset("wine_binary")
    assert wine.shape == (178, 14)
    assert "od280_od315_of_diluted_wines" in wine.columns
    assert wine[TARGET].dtype == np.int64
    assert int(wine[TARGET].sum()) == 59


def test_unknown_dataset_lists_known_names():
    with pytest.raises(
        InputError, match=r"'iris'.*breast_cancer, wine_binary, diabetes, penguins_like"
    ):
        load_dataset("iris")


def test_diabetes_is_a_float_regression_target():
    diabetes = load_dataset("diabetes")
    assert diabetes.shape == (442, 11) and diabetes.columns[-1] == TARGET
    assert diabetes[TARGET].dtype == np.float64 and diabetes[TARGET].nunique() == 214
    assert list(diabetes.columns[:4]) == ["age", "sex", "bmi", "bp"]
    assert diabetes["age"].min() > 0  # original units, not scikit-learn's centred copy
    assert infer_task(diabetes[TARGET]) == "regression"


def test_penguins_like_table():
    df = penguins_like(n=344, seed=0)
    assert df.shape == (344, 7) and list(df.columns[:2]) == ["species", "island"]
    assert set(df["species"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert set(df["island"]) == {"Biscoe", "Dream", "Torgersen"}
    assert set(df["sex"].dropna()) == {"female", "male"}
    assert int(df.isna().sum().sum()) == 19
    # Chinstraps live on Dream and Gentoos on Biscoe only, as in the real table
    assert set(df.loc[df["species"] == "Chinstrap", "island"]) == {"Dream"}
    assert set(df.loc[df["species"] == "Gentoo", "island"]) == {"Biscoe"}
    pd.testing.assert_frame_equal(df, penguins_like(n=344, seed=0))
    small = penguins_like(n=30, seed=2)
    assert len(small) == 30 and set(small["species"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert load_dataset("penguins_like").equals(df)
    with pytest.raises(InputError, match="n must be an int >= 3, got 2"):
        penguins_like(n=2)


def test_infer_task_reads_the_label():
    assert infer_task(pd.Series([0, 1, 1])) == "classification"
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([0.0, 1.0, np.nan])) == "classification"  # codes read as floats
    assert infer_task(pd.Series([0.5, 1.0, 2.0])) == "regression"  # a fractional value
    assert infer_task(pd.Series(np.arange(21, dtype=float))) == "regression"
    assert infer_task(pd.Series(np.arange(20, dtype=float))) == "classification"


def test_load_data_takes_a_name_or_a_csv_with_its_target(tmp_path):
    df, target = load_data("diabetes")
    assert (df.shape, target) == ((442, 11), TARGET)
    assert load_data("penguins_like", "species")[1] == "species"
    with pytest.raises(InputError, match="label column is 'species', not 'target'"):
        load_data("penguins_like", "target")
    path = tmp_path / "own.csv"
    penguins_like(n=40).to_csv(path, index=False)
    own, target = load_data(str(path), "species")
    assert own.shape == (40, 7) and target == "species"
    with pytest.raises(InputError, match="give the label column"):
        load_data(str(path))
    with pytest.raises(InputError, match="target column 'label': not in"):
        load_data(str(path), "label")


def test_split_of_a_regression_label_is_not_stratified():
    diabetes = load_dataset("diabetes")
    train, holdout = split(diabetes, seed=0)
    assert (len(train), len(holdout)) == (331, 111)
    # stratifying on 214 values, most seen once, would fail: scikit-learn refuses it
    from sklearn.model_selection import train_test_split

    with pytest.raises(ValueError, match="least populated class"):
        train_test_split(diabetes, test_size=0.25, random_state=0, stratify=diabetes[TARGET])


def test_synthetic_dataset_shape_names_and_determinism():
    df = synthetic_dataset(300, n_features=12, seed=3)
    assert df.shape == (300, 13)
    assert list(df.columns) == [f"f{i:02d}" for i in range(12)] + [TARGET]
    assert df[TARGET].dtype == np.int64 and set(df[TARGET]) == {0, 1}
    assert (df.drop(columns=TARGET).dtypes == np.float64).all()
    pd.testing.assert_frame_equal(df, synthetic_dataset(300, n_features=12, seed=3))
    assert not df.equals(synthetic_dataset(300, n_features=12, seed=4))
    assert list(synthetic_dataset(10, n_features=101).columns[[0, -2]]) == ["f000", "f100"]
    assert synthetic_dataset(50, n_features=1).shape == (50, 2)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"n_rows": 0}, "n_rows"), ({"n_rows": 10, "n_features": 0}, "n_features"),
     ({"n_rows": 10, "n_features": 4, "n_informative": 5}, "n_informative")],
)  # fmt: skip
def test_synthetic_dataset_rejects_bad_sizes(kwargs, name):
    with pytest.raises(InputError, match=name):
        synthetic_dataset(**kwargs)


# ------------------------------------------------------------------ split


def test_split_is_stratified_deterministic_and_complete(cancer):
    train, holdout = split(cancer, holdout=0.25, seed=0)
    assert (len(train), len(holdout)) == (426, 143)
    assert list(train.index) == list(range(426)) and list(holdout.index) == list(range(143))
    assert holdout[TARGET].sum() in (89, 90)  # 357 * 0.25 = 89.25 benign
    assert abs(train[TARGET].mean() - cancer[TARGET].mean()) < 0.005
    again_train, again_holdout = split(cancer, holdout=0.25, seed=0)
    pd.testing.assert_frame_equal(train, again_train)
    pd.testing.assert_frame_equal(holdout, again_holdout)
    other, _ = split(cancer, holdout=0.25, seed=1)
    assert not other.equals(train)
    both = pd.concat([train, holdout]).sort_values(list(cancer.columns)).reset_index(drop=True)
    expected = cancer.sort_values(list(cancer.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(both, expected)


def test_split_rejects_bad_input(cancer):
    with pytest.raises(InputError, match=r"holdout=1.5"):
        split(cancer, holdout=1.5)
    with pytest.raises(InputError, match="'label'"):
        split(cancer, target="label")
    with pytest.raises(InputError, match="split of 3 rows"):
        split(pd.DataFrame({"x": [1.0, 2.0, 3.0], TARGET: [0, 1, 1]}), holdout=0.5)


# ------------------------------------------------------------------ production batches


def test_drift_strength_ramps_to_full_at_last_week():
    assert drift_strength(8).tolist() == [0, 0, 0, 0, 0.25, 0.5, 0.75, 1.0]
    assert drift_strength(5, drift_start=1).tolist() == [0, 0.25, 0.5, 0.75, 1.0]


def test_batches_shape_dtypes_and_determinism(cancer):
    weeks = production_batches(cancer, n_batches=5, batch_size=40, covariate_shift=2.0, seed=7)
    assert len(weeks) == 5
    for week in weeks:
        assert week.shape == (40, 31)
        assert list(week.index) == list(range(40))
        pd.testing.assert_series_equal(week.dtypes, cancer.dtypes)
    again = production_batches(cancer, n_batches=5, batch_size=40, covariate_shift=2.0, seed=7)
    for a, b in zip(weeks, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = production_batches(cancer, n_batches=5, batch_size=40, covariate_shift=2.0, seed=8)
    assert not other[0].equals(weeks[0])


def test_week_zero_is_a_plain_resample(cancer):
    drifted = production_batches(cancer, batch_size=500, covariate_shift=3.0, concept_drift=1.0)
    plain = production_batches(cancer, batch_size=500)
    pd.testing.assert_frame_equal(drifted[0], plain[0])
    # every row of week 0 is a row of the reference, and its means are the reference's
    assert len(drifted[0].merge(cancer.drop_duplicates(), how="inner")) == 500
    z = (drifted[0].mean() - cancer.mean()) / (cancer.std() / np.sqrt(500))
    assert (z.abs() < 4.5).all()


def test_covariate_shift_moves_chosen_features_by_reference_std(cancer):
    kwargs = {"n_batches": 4, "batch_size": 300, "seed": 1}
    plain = production_batches(cancer, **kwargs)
    drifted = production_batches(cancer, covariate_shift=1.0, **kwargs)
    shifted = list(cancer.columns[:15])  # default: first half of the 30 features
    std = cancer[shifted].std()
    last = drifted[-1].mean() - plain[-1].mean()
    np.testing.assert_allclose(last[shifted], std, rtol=1e-9)
    np.testing.assert_allclose(last.drop(shifted), 0.0, atol=1e-12)
    np.testing.assert_allclose((drifted[2].mean() - plain[2].mean())[shifted], 0.5 * std)
    assert drifted[1].equals(plain[1])  # drift starts at week 2 of 4
    # relative to the reference itself: about one std at the last week, not at week 0
    z_last = ((drifted[-1][shifted].mean() - cancer[shifted].mean()) / std).mean()
    z_first = ((drifted[0][shifted].mean() - cancer[shifted].mean()) / std).mean()
    assert 0.8 < z_last < 1.2 and abs(z_first) < 0.2


def test_covariate_scale_and_chosen_features_keep_int_dtype():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": rng.normal(10, 2, 400),
            "n": rng.integers(0, 100, 400),
            TARGET: rng.integers(0, 2, 400),
        }
    )
    kwargs = {"n_batches": 2, "batch_size": 100, "features": ["a", "n"]}
    plain = production_batches(df, **kwargs)
    drifted = production_batches(df, covariate_scale=2.0, **kwargs)
    assert drifted[-1]["n"].dtype == np.int64
    mean = df["a"].mean()
    np.testing.assert_allclose(drifted[-1]["a"] - mean, 2 * (plain[-1]["a"] - mean))
    expected_n = np.round(df["n"].mean() + 2 * (plain[-1]["n"] - df["n"].mean()))
    np.testing.assert_array_equal(drifted[-1]["n"], expected_n.astype("int64"))


def test_concept_drift_flips_labels_only_in_region(cancer):
    feature, threshold = drift_region(cancer)
    assert feature == "worst_concave_points"
    kwargs = {"n_batches": 4, "batch_size": 400, "seed": 2}
    plain = production_batches(cancer, **kwargs)
    drifted = production_batches(cancer, concept_drift=1.0, **kwargs)
    for week in (0, 1):
        pd.testing.assert_frame_equal(drifted[week], plain[week])
    last_plain, last = plain[-1], drifted[-1]
    pd.testing.assert_frame_equal(last.drop(columns=TARGET), last_plain.drop(columns=TARGET))
    inside = last_plain[feature] > threshold
    assert 100 < inside.sum() < 300
    # full strength, probability 1: every label in the region flips, none outside
    np.testing.assert_array_equal(last[TARGET][inside], 1 - last_plain[TARGET][inside])
    np.testing.assert_array_equal(last[TARGET][~inside], last_plain[TARGET][~inside])
    # half strength in week 2: some flipped inside, none outside
    week2 = drifted[2][TARGET] != plain[2][TARGET]
    inside2 = plain[2][feature] > threshold
    assert 0 < week2[inside2].mean() < 1 and not week2[~inside2].any()
    assert last[TARGET][inside].mean() == pytest.approx(1 - last_plain[TARGET][inside].mean())


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"n_batches": 0}, "n_batches"), ({"batch_size": -1}, "batch_size"),
     ({"concept_drift": 1.5}, "concept_drift"), ({"covariate_scale": 0}, "covariate_scale"),
     ({"drift_start": 8}, "drift_start"), ({"features": ["nope"]}, "'nope'"),
     ({"features": ["target"]}, "'target'"), ({"target": "label"}, "'label'"),
     ({"covariate_shift": "big"}, "covariate_shift='big'"),
     ({"covariate_shift": float("nan")}, "covariate_shift=nan")],
)  # fmt: skip
def test_batches_reject_bad_parameters(cancer, kwargs, needle):
    with pytest.raises(InputError, match=needle):
        production_batches(cancer, **kwargs)


# ------------------------------------------------------------------ fingerprint


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.5, np.nan, -2.0, 4.25],
            "n": [1, 2, 3, 4],
            "s": ["a", None, "bc", ""],
            "c": pd.Categorical(["u", "v", "u", None]),
            "b": [True, False, True, True],
            "m": pd.array([1, None, 3, 4], dtype="Int64"),
        }
    )


def test_fingerprint_equal_content_equal_hash(small):
    h = fingerprint(small)
    assert len(h) == 64 and set(h) <= set("0123456789abcdef")
    assert fingerprint(small.copy()) == h
    assert fingerprint(small.set_axis([10, 11, 12, 13])) == h  # index ignored
    rebuilt = pd.DataFrame({c: small[c].tolist() for c in ["x", "n", "s", "b"]})
    assert fingerprint(rebuilt) == fingerprint(small[["x", "n", "s", "b"]])


def test_fingerprint_changes_with_values_names_dtypes_and_order(small):
    h = fingerprint(small)
    changed = small.copy()
    changed.loc[2, "x"] = -2.0000001
    variants = [
        changed,
        small.rename(columns={"n": "N"}),
        small.astype({"n": "float64"}),
        small.astype({"x": "float32"}),
        small.iloc[[1, 0, 2, 3]],
        small[["n", "x", "s", "c", "b", "m"]],
        small.assign(s=["a", "", "bc", ""]),  # missing vs empty string
        small.assign(s=["a", None, "b", "c"]),
        small.assign(m=pd.array([1, 0, 3, 4], dtype="Int64")),  # missing vs 0
        small.iloc[:3],
    ]
    hashes = [fingerprint(v) for v in variants]
    assert h not in hashes
    assert len(set(hashes)) == len(hashes)


def test_fingerprint_text_boundaries_are_unambiguous():
    assert fingerprint(pd.DataFrame({"s": ["ab", "c"]})) != fingerprint(
        pd.DataFrame({"s": ["a", "bc"]})
    )
    assert fingerprint(pd.DataFrame({"s": ["a\x00b"]})) != fingerprint(
        pd.DataFrame({"s": ["a", "b"]})
    )


def test_fingerprint_of_large_frame_and_empty_frame():
    df = synthetic_dataset(20_000, n_features=30)
    assert fingerprint(df) == fingerprint(df.iloc[::-1].iloc[::-1])
    assert fingerprint(df.iloc[:0]) != fingerprint(pd.DataFrame())
    with pytest.raises(InputError, match="DataFrame"):
        fingerprint([1, 2, 3])
