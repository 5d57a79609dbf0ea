"""The compute and draw functions behind lessons 2-4, and their explorers, without a browser."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from mlcicd import lessons_core as lc
from mlcicd.data import TARGET, fingerprint, load_dataset, split
from mlcicd.errors import CheckFailed, InputError
from mlcicd.evaluation import validate_model
from mlcicd.registry import Registry
from mlcicd.training import ModelSpec, load_model, train_model
from mlcicd.validation import validate_data


@pytest.fixture(scope="module")
def df():
    return load_dataset()


@pytest.fixture(scope="module")
def data(df):
    return split(df, seed=0)


@pytest.fixture(scope="module")
def schema(df):
    return lc.reference_schema(df)


@pytest.fixture(scope="module")
def production(data):
    return train_model(data[0], TARGET)


def _axes():
    fig, ax = plt.subplots()
    return fig, ax


# ---------------------------------------------------------------- lesson 2


def test_reference_schema_declares_the_label_a_category(df, data, schema):
    label = schema.column(TARGET)
    assert (label.dtype, label.categories) == ("category", (0, 1))
    assert schema.column("mean_radius").dtype == "float"
    assert validate_data(data[0], schema).valid and validate_data(data[1], schema).valid


def test_slack_tradeoff_counts_false_alarms_and_catches(data):
    t = lc.slack_tradeoff(data[0], data[1], [0.1, 0.5])
    assert t["false_alarms"].tolist() == [8, 0]
    assert t["unit_change_caught"].tolist() == [True, False]
    assert t["mean_radius_min"].iloc[1] < 0 < t["mean_radius_min"].iloc[0]


def test_corrupt_scales_one_column_and_blanks_a_share(data):
    train = data[0]
    out = lc.corrupt(train, missing_share=0.2, scale=0.1, seed=3)
    features = [c for c in train.columns if c != TARGET]
    share = out[features].isna().to_numpy().mean()
    assert 0.18 < share < 0.22 and out[TARGET].equals(train[TARGET])
    kept = out["mean_radius"].notna()
    assert np.allclose(out.loc[kept, "mean_radius"], train.loc[kept, "mean_radius"] * 0.1)
    assert lc.corrupt(train, missing_share=0.2, seed=3).equals(
        lc.corrupt(train, missing_share=0.2, seed=3)
    )
    assert lc.corrupt(train).equals(train)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"missing_share": 1.5}, "missing_share=1.5: expected a share in [0, 1]"),
        ({"scale": 0}, "scale=0: expected a finite number > 0"),
        ({"column": "nope"}, "column 'nope': not a feature column of the data"),
        ({"column": TARGET}, "column 'target': not a feature column of the data"),
    ],
)
def test_corrupt_refuses_bad_parameters(data, kwargs, message):
    with pytest.raises(InputError) as err:
        lc.corrupt(data[0], **kwargs)
    assert str(err.value) == message


def test_each_broken_batch_shows_its_anomaly_and_one_pass_finds_them_all(data, schema):
    batches = lc.broken_batches(data[1], seed=0)
    reports = {name: validate_data(b, schema) for name, b in batches.items()}
    kinds = {name: sorted({a.kind for a in r.anomalies}) for name, r in reports.items()}
    assert kinds == {
        "clean": [],
        "missing column": ["missing_column"],
        "wrong type": ["wrong_type"],
        "missing values": ["missing_values"],
        "out of range": ["out_of_range"],
        "unknown category": ["unknown_category"],
        "empty": ["empty_dataset"],
        "all at once": [
            "missing_column",
            "missing_values",
            "out_of_range",
            "unknown_category",
            "wrong_type",
        ],
    }
    unknown = next(a for a in reports["unknown category"].anomalies)
    assert (unknown.column, unknown.count) == (TARGET, 5)
    summary = lc.anomaly_summary(reports)
    assert list(summary.columns) == ["batch", "rows", "valid", "anomalies", "kinds"]
    assert summary.set_index("batch").loc["all at once", "anomalies"] == 5
    assert summary["valid"].tolist() == [True] + [False] * 7
    fig, ax = _axes()
    lc.draw_anomaly_matrix(reports, ax)
    assert "found" in [t.get_text() for t in ax.texts] and ax.get_title()
    plt.close(fig)


def test_broken_batches_needs_the_breast_cancer_columns():
    with pytest.raises(InputError, match="needs the column 'mean_radius'"):
        lc.broken_batches(pd.DataFrame({"x": [1.0], TARGET: [0]}))


def test_validation_first_blocks_training_on_a_broken_batch(data, schema):
    train = data[0]
    report, trained = lc.train_with_validation(lc.corrupt(train, scale=0.1), schema)
    assert not report.valid and trained is None
    report, trained = lc.train_with_validation(train, schema)
    assert report.valid and trained.metadata["data_fingerprint"] == fingerprint(train)
    holes = lc.corrupt(train, missing_share=0.2)
    with pytest.raises(InputError, match="training failed"):
        train_model(holes, TARGET)  # logistic regression refuses NaN loudly
    assert lc.train_without_validation(holes).metadata["n_rows"] == len(train)


def test_corruption_explorer_reruns_validation_and_training(data, schema):
    ex = lc.corruption_explorer(data[0], data[1], schema)
    r = ex.update(missing_share=0.0, scale=0.1)
    assert not r["valid"] and r["anomalies"] == {"out_of_range": len(data[0])}
    assert r["accuracy_with_validation"] == r["accuracy_clean"] == 0.958042
    assert r["accuracy_without_validation"] < 0.5
    assert "training blocked" in ex.summary and len(ex.figure.axes) == 2
    r = ex.update(missing_share=0.0, scale=1.0)
    assert r["valid"] and r["anomalies"] == {}
    assert r["accuracy_without_validation"] == r["accuracy_with_validation"] == r["accuracy_clean"]
    r = ex.update(missing_share=0.3, scale=1.0)
    assert set(r["anomalies"]) == {"missing_values"} and ex.runs == 3
    assert r["accuracy_without_validation"] < r["accuracy_clean"] - 0.1


def test_scale_sweep_blocks_out_of_range_factors(data, schema):
    sweep = lc.scale_sweep(data[0], data[1], schema, [0.1, 1.0, 10.0])
    assert sweep["blocked"].tolist() == [True, False, True]
    assert sweep["accuracy_with_validation"].tolist() == [0.958042] * 3
    assert sweep["accuracy_without_validation"].iloc[0] < 0.5
    fig, ax = _axes()
    lc.draw_scale_sweep(sweep, ax, len(data[1]))
    assert ax.get_xscale() == "log" and "143 rows" in ax.get_ylabel()
    plt.close(fig)


# ---------------------------------------------------------------- lesson 3


def test_shuffle_labels_keeps_features_and_label_counts(data):
    train = data[0]
    assert lc.shuffle_labels(train, share=0.0).equals(train)
    out = lc.shuffle_labels(train, share=1.0, seed=1)
    assert out.drop(columns=TARGET).equals(train.drop(columns=TARGET))
    assert out[TARGET].value_counts().equals(train[TARGET].value_counts())
    assert (out[TARGET] != train[TARGET]).mean() > 0.3
    with pytest.raises(InputError, match="share=2: expected a share in"):
        lc.shuffle_labels(train, share=2)


def test_gate_report_blesses_and_rejects_with_reasons(data, production):
    train, holdout = data
    specs = {"tree": ModelSpec("decision_tree", {"max_depth": 3}), "dummy": ModelSpec("dummy")}
    candidates = lc.train_candidates(train, specs)
    candidates["same as production"] = production
    table, decisions = lc.gate_report(candidates, holdout, production=production)
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
    lc.draw_gate_overview(table, decisions, ax)
    assert len(ax.patches) == 3 and "143 rows" in ax.get_xlabel()
    plt.close(fig)


def test_code_checks_pass_for_a_useless_model(data, tmp_path):
    train, holdout = data
    shuffled = lc.shuffle_labels(train, seed=0)
    bad = train_model(shuffled, TARGET)
    checks = lc.code_checks(bad, shuffled, holdout, workdir=tmp_path)
    assert checks["passed"].all() and len(checks) == 6
    assert not validate_model(bad.model, holdout, TARGET).blessed
    assert len(lc.code_checks(bad, shuffled, holdout)) == 5
    # checked against the wrong data version, the provenance check does fail
    checks = lc.code_checks(bad, train, holdout).set_index("check")["passed"]
    assert not checks["metadata names the training data version"]


def test_gate_explorer_retrains_and_gates(data, production):
    ex = lc.gate_explorer(data[0], data[1], production, n_estimators=10)
    r = ex.update()
    assert r["params"] == {"max_depth": 3} and not r["decision"].blessed
    assert "REJECTED" in ex.summary and "below production" in ex.summary
    r = ex.update(model="random_forest", max_depth=4, threshold=0.85, label_noise=0.0)
    assert r["params"] == {"max_depth": 4, "n_estimators": 10}
    assert r["decision"].thresholds == {"accuracy": 0.85}
    r = ex.update(model="decision_tree", label_noise=1.0)
    assert not r["decision"].blessed and r["label_noise"] == 1.0
    assert ex.figure.axes[0].get_title().endswith("REJECTED")


# ---------------------------------------------------------------- lesson 4


@pytest.fixture(scope="module")
def registry(data, tmp_path_factory):
    """v1, v2 good trees; v3 a bad model let through by a loosened gate."""
    train, holdout = data
    reg = lc.fresh_registry(tmp_path_factory.mktemp("lessons") / "registry")
    for depth in (4, 5):
        trained = train_model(train, TARGET, ModelSpec("decision_tree", {"max_depth": depth}))
        lc.gate_and_deploy(reg, trained, holdout, thresholds={"accuracy": 0.85})
    bad = lc.train_without_validation(lc.corrupt(train, missing_share=0.3))
    loose = {"thresholds": {"accuracy": 0.5}, "tolerance": 1.0}
    decision, version = lc.gate_and_deploy(reg, bad, holdout, **loose)
    assert decision.blessed and version.version == 3
    return reg


def test_gate_and_deploy_refuses_what_the_gate_rejects(data, tmp_path):
    train, holdout = data
    reg = Registry(tmp_path / "registry")
    first = train_model(train, TARGET, ModelSpec("decision_tree", {"max_depth": 4}))
    decision, version = lc.gate_and_deploy(reg, first, holdout, thresholds={"accuracy": 0.85})
    assert decision.checks[1].detail == "no production model yet" and version.version == 1
    stump = train_model(train, TARGET, ModelSpec("decision_tree", {"max_depth": 1}))
    with pytest.raises(CheckFailed, match="deploy refused: .* below production"):
        lc.gate_and_deploy(reg, stump, holdout, thresholds={"accuracy": 0.85})
    assert [v.version for v in reg.versions()] == [1] and reg.aliases() == {"production": 1}


def test_fresh_registry_removes_only_registries(tmp_path, registry):
    import shutil

    shutil.copytree(registry.root, tmp_path / "old")
    assert lc.fresh_registry(tmp_path / "old").versions() == []
    assert not (tmp_path / "old").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="not a registry .*refusing to delete it"):
        lc.fresh_registry(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").exists()
    (tmp_path / "empty").mkdir()
    assert lc.fresh_registry(tmp_path / "empty").versions() == []
    with pytest.raises(InputError, match="exists and is not a folder"):
        lc.fresh_registry(tmp_path / "mine" / "notes.txt")


def test_snapshot_table_and_timeline(registry):
    snap = lc.registry_snapshot(registry, "after v3")
    assert snap == {"step": "after v3", "production": 3, "previous": 2, "n_versions": 3,
                    "history": [1, 2, 3]}  # fmt: skip
    table = lc.versions_table(registry)
    assert table["version"].tolist() == [1, 2, 3]
    assert table["alias"].tolist() == ["", "previous", "production"]
    assert table["gate_threshold"].tolist() == [0.85, 0.85, 0.5]
    assert (
        table["data_fingerprint"].nunique() == 2 and table["artifact_sha256"].str.len().eq(12).all()
    )
    fig, ax = _axes()
    lc.draw_timeline([lc.registry_snapshot(Registry(registry.root / "none"), "start"), snap], ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["start", "after v3"]
    plt.close(fig)


def test_live_accuracy_calls_for_a_rollback(registry, data):
    weeks = [data[1].iloc[:70], data[1].iloc[70:]]
    live = lc.live_accuracy(registry, weeks)
    assert live[["week", "alias", "version"]].values.tolist() == [
        [1, "production", 3], [2, "production", 3], [1, "previous", 2], [2, "previous", 2]
    ]  # fmt: skip
    roll, reasons = lc.rollback_decision(live)
    assert roll and reasons[0].startswith("production v3 live accuracy")
    assert "trails previous v2" in reasons[1]
    fig, ax = _axes()
    lc.draw_live_accuracy(live, ax)
    assert len(ax.lines) == 3
    plt.close(fig)


def test_rollback_decision_exact_reasons():
    live = pd.DataFrame(
        {"week": [1, 1], "alias": ["production", "previous"], "version": [4, 3],
         "accuracy": [0.93, 0.95]}
    )  # fmt: skip
    assert lc.rollback_decision(live) == (
        True,
        ("production v4 trails previous v3 by 0.020 (tolerance 0.010)",),
    )
    assert lc.rollback_decision(live, tolerance=0.05) == (False, ())
    assert lc.rollback_decision(live.iloc[:1], min_accuracy=0.95)[1] == (
        "production v4 live accuracy 0.930 < 0.950",
    )
    with pytest.raises(InputError, match="no rows for the production model"):
        lc.rollback_decision(live.iloc[1:])


def test_tampered_copy_loads_as_a_file_but_not_from_the_registry(registry, data, tmp_path):
    dummy = train_model(data[0], TARGET, ModelSpec("dummy"))
    path = lc.tamper_copy(registry, tmp_path / "copy", version=2, replacement=dummy)
    assert load_model(path).spec.name == "dummy"
    with pytest.raises(CheckFailed, match="does not match the recorded"):
        Registry(tmp_path / "copy").load(2)
    assert registry.load(2).spec.name == "decision_tree"  # the original is untouched


def test_reproduce_version_from_metadata(registry, data):
    assert lc.reproduce_version(registry, 2, data[0]) == {
        "version": 2,
        "same_data": True,
        "same_model": True,
    }
    assert lc.reproduce_version(registry, "production", data[0]) == {
        "version": 3,
        "same_data": False,
        "same_model": False,
    }


def test_version_explorer_loads_and_scores_each_version(registry, data):
    ex = lc.version_explorer(registry, data[1])
    r = ex.update()
    assert r["selected"] == 3 and set(r["scores"]) == {1, 2, 3}
    assert r["aliases"] == {"production": 3, "previous": 2}
    r = ex.update(version=1, metric="f1")
    assert ex.summary.startswith("v1 (decision_tree): f1 ")
    assert len(ex.figure.axes[0].patches) == 3
    with pytest.raises(InputError, match="metric 'speed': unknown"):
        lc.version_explorer_compute(registry, data[1], version=1, metric="speed")
    with pytest.raises(InputError, match="version 9: not in the registry"):
        lc.version_explorer_compute(registry, data[1], version=9, metric="accuracy")
