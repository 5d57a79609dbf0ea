"""Training: model factories, specs, parameter parsing, provenance and safe model files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from mlcicd.data import fingerprint, load_dataset, penguins_like, split
from mlcicd.errors import InputError
from mlcicd.training import (
    MODELS,
    REGRESSION_MODELS,
    ModelSpec,
    TrainedModel,
    load_model,
    make_estimator,
    model_fingerprint,
    parse_param,
    save_model,
    serialize_model,
    stored_model_fingerprint,
    train_model,
)
from mlcicd.validation import infer_schema

SMALL = {"random_forest": {"n_estimators": 5}, "gradient_boosting": {"n_estimators": 5}}


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return load_dataset()


@pytest.fixture(scope="module")
def trained(df) -> TrainedModel:
    return train_model(df, "target", ModelSpec("logistic_regression", {"C": 0.5}), seed=3)


class Opaque:
    """A class outside scikit-learn/numpy: model files holding it must be refused."""

    def __init__(self):
        self.value = 1

    def predict(self, X):
        return np.zeros(len(X))


# ---------------------------------------------------------------------------------- specs


def test_the_five_models_exist():
    assert set(MODELS) == {
        "logistic_regression",
        "random_forest",
        "gradient_boosting",
        "decision_tree",
        "dummy",
    }


def test_logistic_regression_is_a_scaled_pipeline_with_routed_params():
    est = make_estimator(ModelSpec("logistic_regression", {"C": 0.5}), seed=7)
    assert [name for name, _ in est.steps] == ["scale", "model"]
    lr = est.named_steps["model"]
    assert (lr.C, lr.max_iter, lr.random_state) == (0.5, 1000, 7)


def test_seed_and_params_reach_the_estimator():
    est = make_estimator(ModelSpec("random_forest", {"n_estimators": 12}), seed=4)
    assert (est.n_estimators, est.random_state) == (12, 4)
    assert make_estimator(ModelSpec("dummy")).strategy == "most_frequent"


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(
        InputError,
        match=r"unknown model 'svm' \(known: classification: logistic_regression, .*regression: ridge",
    ):
        make_estimator(ModelSpec("svm"))


def test_unknown_hyper_parameter_names_it_and_the_model():
    with pytest.raises(InputError) as err:
        make_estimator(ModelSpec("random_forest", {"foo": 1}))
    msg = str(err.value)
    assert msg.startswith("model 'random_forest' has no hyper-parameter 'foo' (known: ")
    assert "n_estimators" in msg and "max_depth" in msg
    with pytest.raises(InputError, match="model 'logistic_regression' has no hyper-parameter 'C1'"):
        make_estimator(ModelSpec("logistic_regression", {"C1": 1.0}))


def test_model_spec_params_are_sorted_and_hashable():
    a = ModelSpec("random_forest", {"n_estimators": 5, "max_depth": 3})
    b = ModelSpec("random_forest", {"max_depth": 3, "n_estimators": 5})
    assert a == b and hash(a) == hash(b)
    assert a.params == (("max_depth", 3), ("n_estimators", 5))
    assert a.to_dict() == {"name": "random_forest", "params": {"max_depth": 3, "n_estimators": 5}}
    assert ModelSpec().to_dict() == {"name": "logistic_regression", "params": {}}


def test_model_spec_refuses_non_json_params():
    with pytest.raises(InputError, match="JSON-serialisable"):
        ModelSpec("random_forest", {"n_estimators": object()})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n_estimators=50", ("n_estimators", 50)),
        ("C=0.5", ("C", 0.5)),
        ("tol=1e-3", ("tol", 0.001)),
        ("x=true", ("x", True)),
        ("x=False", ("x", False)),
        ("x=none", ("x", None)),
        ("criterion=entropy", ("criterion", "entropy")),
        ("max_features=sqrt", ("max_features", "sqrt")),
        (" depth = -2 ", ("depth", -2)),
    ],
)
def test_parse_param(text, expected):
    key, value = parse_param(text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize("text", ["foo", "=3", "two words=1"])
def test_parse_param_refuses_malformed_text(text):
    with pytest.raises(InputError, match=r"option --param: expected KEY=VALUE, got"):
        parse_param(text)
    with pytest.raises(InputError, match="option -p:"):
        parse_param(text, option="-p")


# ---------------------------------------------------------------------------------- training


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_trains_and_records_its_provenance(df, name):
    trained = train_model(df, "target", ModelSpec(name, SMALL.get(name, {})), seed=1)
    meta = trained.metadata
    assert set(meta) == {
        "model_name",
        "params",
        "target",
        "task",
        "features",
        "n_rows",
        "data_fingerprint",
        "seed",
        "training_seconds",
        "library_versions",
        "created_at",
    }
    assert meta["model_name"] == name
    assert meta["task"] == trained.task == "classification"
    assert meta["params"] == SMALL.get(name, {})
    assert meta["features"] == [c for c in df.columns if c != "target"]
    assert (meta["target"], meta["n_rows"], meta["seed"]) == ("target", 569, 1)
    assert meta["data_fingerprint"] == fingerprint(df)
    assert set(meta["library_versions"]) == {"python", "sklearn", "numpy", "pandas", "mlcicd"}
    assert isinstance(meta["training_seconds"], float)  # recorded; its size is benchmarked
    assert meta["created_at"].endswith("+00:00")
    json.dumps(meta)  # JSON-serialisable as it is
    predictions = trained.model.predict(df.drop(columns="target"))
    assert predictions.shape == (569,)
    if name != "dummy":
        assert (predictions == df["target"].to_numpy()).mean() > 0.9


def test_training_is_deterministic_for_a_seed(df):
    spec = ModelSpec("random_forest", {"n_estimators": 5})
    a, b = train_model(df, "target", spec, seed=0), train_model(df, "target", spec, seed=0)
    c = train_model(df, "target", spec, seed=1)
    assert model_fingerprint(a.model) == model_fingerprint(b.model)
    assert model_fingerprint(a.model) != model_fingerprint(c.model)


def test_missing_target_is_named(df):
    with pytest.raises(InputError, match="no target column 'label'"):
        train_model(df, "label")


def test_free_text_features_are_named(df):
    bad = df.assign(note=[f"note {i}" for i in range(len(df))])
    with pytest.raises(InputError, match="feature column 'note' is free text"):
        train_model(bad, "target")


def test_numeric_complete_data_keeps_the_bare_estimator(df):
    """No category and no missing value: the model is exactly the one make_estimator builds."""
    trained = train_model(df, "target", ModelSpec("logistic_regression"), seed=0)
    assert [name for name, _ in trained.model.steps] == ["scale", "model"]
    plain = make_estimator(ModelSpec("logistic_regression"), seed=0)
    plain.fit(df.drop(columns="target"), df["target"])
    X = df.drop(columns="target")
    assert np.array_equal(trained.model.predict_proba(X), plain.predict_proba(X))


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return penguins_like(n=344, seed=0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_trains_on_categories_and_missing_values(penguins, name):
    train, holdout = split(penguins, "species", seed=0)
    trained = train_model(train, "species", ModelSpec(name, SMALL.get(name, {})), seed=0)
    assert [step for step, _ in trained.model.steps] == ["prepare", "model"]
    predicted = trained.model.predict(holdout.drop(columns="species"))
    accuracy = float(np.mean(predicted == holdout["species"].to_numpy()))
    # the dummy predicts the majority class; every real model does far better on this table
    assert accuracy > (0.9 if name != "dummy" else 0.3)


def test_the_encoder_categories_are_the_schemas(penguins):
    schema = infer_schema(penguins, target="species")
    trained = train_model(penguins, "species", schema=schema)
    prepare = trained.model.named_steps["prepare"]
    encoder = prepare.named_transformers_["categories"].named_steps["onehot"]
    assert [list(c) for c in encoder.categories_] == [
        list(schema.column("island").categories),
        list(schema.column("sex").categories),
    ]
    # missing values: a median imputer with an indicator for the numbers, one for sex
    assert prepare.named_transformers_["numeric_missing"].named_steps["impute"].add_indicator
    assert list(prepare.named_transformers_["categories_missing"].feature_names_in_) == ["sex"]


def test_an_unknown_category_at_serving_time_encodes_as_zeros(penguins):
    trained = train_model(penguins, "species", ModelSpec("random_forest", SMALL["random_forest"]))
    rows = penguins.drop(columns="species").head(5)
    prepare = trained.model.named_steps["prepare"]
    seen = prepare.transform(rows)
    unseen = prepare.transform(rows.assign(island="Atlantis"))
    onehot = [i for i, n in enumerate(prepare.get_feature_names_out()) if n.startswith("island_")]
    assert seen[:, onehot].sum(axis=1).tolist() == [1.0] * 5
    assert unseen[:, onehot].sum(axis=1).tolist() == [0.0] * 5
    assert len(trained.model.predict(rows.assign(island="Atlantis"))) == 5


def test_a_model_with_preprocessing_survives_skops(penguins, tmp_path):
    trained = train_model(penguins, "species", ModelSpec("logistic_regression"))
    loaded = load_model(save_model(trained, tmp_path / "penguins.skops"))
    X = penguins.drop(columns="species")
    assert np.array_equal(loaded.model.predict_proba(X), trained.model.predict_proba(X))
    assert model_fingerprint(loaded.model) == model_fingerprint(trained.model)


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_dataset("diabetes")


@pytest.mark.parametrize("name", sorted(REGRESSION_MODELS))
def test_every_regression_model_trains_on_the_diabetes_target(diabetes, name):
    trained = train_model(diabetes, "target", ModelSpec(name, SMALL.get(name, {})), seed=0)
    assert trained.task == "regression"
    predicted = trained.model.predict(diabetes.drop(columns="target"))
    assert predicted.dtype.kind == "f" and len(np.unique(predicted)) > (1 if name != "dummy" else 0)
    if name == "dummy":
        assert np.allclose(predicted, diabetes["target"].mean())


def test_the_default_model_follows_the_task(diabetes, df):
    assert train_model(diabetes, "target").spec.name == "ridge"
    assert train_model(df, "target").spec.name == "logistic_regression"


def test_a_classifier_on_a_continuous_label_is_refused_naming_label_and_option(diabetes):
    with pytest.raises(InputError, match=r"target column 'target' is continuous .*--task"):
        train_model(diabetes, "target", ModelSpec("logistic_regression"))
    with pytest.raises(InputError, match=r"target column 'target' holds 2 classes.*--task"):
        train_model(load_dataset(), "target", ModelSpec("ridge"))
    forced = train_model(diabetes.head(60), "target", ModelSpec("dummy"), task="classification")
    assert forced.task == "classification"


def test_regression_labels_with_infinities_or_constant_are_refused(diabetes):
    bad = diabetes.assign(target=diabetes["target"].where(diabetes.index > 1, np.inf))
    with pytest.raises(InputError, match="target column 'target' has 2 infinite values"):
        train_model(bad, "target")
    with pytest.raises(InputError, match="target column 'target' is constant"):
        train_model(diabetes.assign(target=1.5), "target", task="regression")
    with pytest.raises(InputError, match=r"task must be one of .*, got 'ranking'"):
        train_model(diabetes, "target", task="ranking")


def test_an_entirely_missing_feature_or_label_is_named(df):
    with pytest.raises(InputError, match="feature column 'mean_radius' is entirely missing"):
        train_model(df.assign(mean_radius=np.nan), "target")
    with pytest.raises(InputError, match="target column 'target' is entirely missing"):
        train_model(df.assign(target=np.nan), "target")


def test_empty_frame_is_refused(df):
    with pytest.raises(InputError, match="empty"):
        train_model(df.iloc[:0], "target")


def test_single_class_is_refused(df):
    with pytest.raises(InputError, match="target column 'target' has a single class"):
        train_model(df[df["target"] == 1], "target")


def test_missing_labels_are_refused(df):
    bad = df.assign(target=df["target"].astype("float64").where(df.index > 2))
    with pytest.raises(InputError, match="target column 'target' has 3 missing values"):
        train_model(bad, "target")


def test_an_invalid_parameter_value_names_the_model(df):
    with pytest.raises(InputError, match=r"model 'random_forest': training failed: .*n_estimators"):
        train_model(df, "target", ModelSpec("random_forest", {"n_estimators": 0}))


# ---------------------------------------------------------------------------------- files


def test_save_and_load_round_trip(df, trained, tmp_path):
    path = save_model(trained, tmp_path / "model.skops")
    back = load_model(path)
    X = df.drop(columns="target")
    np.testing.assert_array_equal(back.model.predict(X), trained.model.predict(X))
    assert back.metadata == trained.metadata
    assert back.spec == trained.spec
    assert model_fingerprint(back.model) == model_fingerprint(trained.model)
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]  # no temp file left


def test_the_file_is_a_skops_zip_without_pickle(trained, tmp_path):
    path = save_model(trained, tmp_path / "model.skops")
    with zipfile.ZipFile(path) as zf:
        assert "schema.json" in zf.namelist()
        assert not any(name.endswith((".pkl", ".pickle")) for name in zf.namelist())
    payload = sio.load(path, trusted=[])
    assert set(payload) == {"model", "metadata"}
    assert json.loads(payload["metadata"]) == trained.metadata


def test_a_failed_save_leaves_the_old_file(trained, tmp_path, monkeypatch):
    path = save_model(trained, tmp_path / "model.skops")
    before = path.read_bytes()

    def broken_write(self, data):
        with open(self, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", broken_write)  # how save_model writes the bytes
    with pytest.raises(OSError, match="disk full"):
        save_model(trained, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_load_refuses_a_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"model .*nope\.skops: no such file"):
        load_model(tmp_path / "nope.skops")


def test_load_refuses_garbage_and_other_zips(tmp_path):
    garbage = tmp_path / "garbage.skops"
    garbage.write_bytes(b"this is not a model\n" * 10)
    with pytest.raises(InputError, match=r"model .*garbage\.skops: not a skops model file"):
        load_model(garbage)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(InputError, match=r"other\.zip: not a skops model file"):
        load_model(other)


def test_load_refuses_a_skops_file_without_metadata(df, tmp_path):
    path = tmp_path / "bare.skops"
    sio.dump(make_estimator(ModelSpec("dummy")).fit(df.drop(columns="target"), df["target"]), path)
    with pytest.raises(InputError, match=r"bare\.skops: not an mlcicd model file"):
        load_model(path)


@pytest.mark.parametrize(
    ("model", "type_name"),
    [
        (Opaque(), "Opaque"),
        (FunctionTransformer(func=eval), "builtins.eval"),
        (FunctionTransformer(func=json.loads), "json.loads"),
    ],
)
def test_load_refuses_untrusted_types(model, type_name, tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump({"model": model, "metadata": json.dumps({"model_name": "dummy"})}, path)
    assert any(t.endswith(type_name) for t in sio.get_untrusted_types(file=path))
    with pytest.raises(
        InputError, match=rf"evil\.skops: refusing to load untrusted type '.*{type_name}'"
    ):
        load_model(path)


def test_tree_models_load_with_their_tree_type(df, tmp_path):
    trained = train_model(df, "target", ModelSpec("decision_tree", {"max_depth": 3}))
    path = save_model(trained, tmp_path / "tree.skops")
    assert sio.get_untrusted_types(file=path) == ["sklearn.tree._tree.Tree"]
    back = load_model(path)
    assert back.model.tree_.node_count == trained.model.tree_.node_count
    assert model_fingerprint(back.model) == model_fingerprint(trained.model)


def test_model_fingerprint_is_canonical(df, trained):
    # the raw bytes differ from one dump to the next (zip timestamps, id()-based names) ...
    fp = model_fingerprint(trained.model)
    assert fp == model_fingerprint(trained.model)
    assert len(fp) == 64 and set(fp) <= set("0123456789abcdef")
    # ... while any fitted value or parameter changes it
    other = train_model(df, "target", ModelSpec("logistic_regression", {"C": 0.25}), seed=3)
    assert model_fingerprint(other.model) != fp
    assert model_fingerprint(make_estimator(ModelSpec("dummy"))) != model_fingerprint(
        make_estimator(ModelSpec("dummy", {"strategy": "prior"}))
    )


@pytest.mark.parametrize("name", ["logistic_regression", "random_forest", "dummy"])
def test_stored_fingerprint_equals_the_models(df, name, tmp_path):
    # the registry fingerprints the bytes it writes instead of serialising the model twice
    spec = ModelSpec(name, {"n_estimators": 5} if name == "random_forest" else {})
    trained = train_model(df, "target", spec)
    data = serialize_model(trained)
    assert stored_model_fingerprint(data) == model_fingerprint(trained.model)
    path = save_model(trained, tmp_path / "m.skops")
    assert stored_model_fingerprint(path.read_bytes()) == model_fingerprint(trained.model)
    other = train_model(df, "target", ModelSpec("logistic_regression", {"C": 0.25}))
    assert stored_model_fingerprint(serialize_model(other)) != stored_model_fingerprint(data)
