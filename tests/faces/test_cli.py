"""The command line as a CI job uses it: the steps chain, and every failure is exit 1 or 2 in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlcicd.cli import main
from mlcicd.data import load_dataset, production_batches, split


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    """train.csv, holdout.csv, drifted.csv and same.csv from the embedded dataset."""
    folder = tmp_path_factory.mktemp("csv")
    train, holdout = split(load_dataset(), seed=0)
    train.to_csv(folder / "train.csv", index=False)
    holdout.to_csv(folder / "holdout.csv", index=False)
    drifted = production_batches(train, n_batches=4, batch_size=300, covariate_shift=2.0, seed=1)[
        -1
    ]
    drifted.to_csv(folder / "drifted.csv", index=False)
    holdout.to_csv(folder / "same.csv", index=False)
    return folder


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    return code, json.loads(out), err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("mlcicd: error: ")
    return lines[0]


def test_the_ci_steps_chain(csvs, tmp_path, capsys):
    schema, model, registry = tmp_path / "schema.json", tmp_path / "model.skops", tmp_path / "reg"
    code, out, _ = run_json(
        capsys, "infer-schema", csvs / "train.csv", "--target", "target", "-o", schema
    )
    assert code == 0 and out["columns"] == 31 and schema.exists()

    code, out, _ = run_json(capsys, "validate-data", csvs / "train.csv", "--schema", schema)
    assert code == 0 and out["valid"] is True and out["anomalies"] == []

    code, out, _ = run_json(capsys, "train", csvs / "train.csv", "--target", "target", "-o", model)
    assert code == 0 and out["model_name"] == "logistic_regression" and model.exists()

    code, out, _ = run_json(
        capsys,
        "test-model",
        model,
        csvs / "holdout.csv",
        "--target",
        "target",
        "--registry",
        registry,
    )
    assert code == 0 and out["blessed"] is True and out["metrics"]["accuracy"] >= 0.9
    assert isinstance(out["reasons"], list)

    code, out, _ = run_json(capsys, "deploy", model, "--registry", registry, "--schema", schema)
    assert code == 0 and out["version"] == 1

    # a second, different model: test against production, deploy, then roll back
    model2 = tmp_path / "model2.skops"
    code, _, _ = run(
        capsys,
        "train",
        csvs / "train.csv",
        "--target",
        "target",
        "-o",
        model2,
        "--model",
        "random_forest",
        "--param",
        "n_estimators=30",
        "--param",
        "max_depth=4",
    )
    assert code == 0
    code, out, _ = run_json(
        capsys,
        "test-model",
        model2,
        csvs / "holdout.csv",
        "--target",
        "target",
        "--registry",
        registry,
        "--tolerance",
        "0.05",
    )
    assert code == 0 and out["blessed"] is True, out["reasons"]
    code, out, _ = run_json(capsys, "deploy", model2, "--registry", registry)
    assert code == 0 and out["version"] == 2

    code, out, _ = run_json(capsys, "registry", "--registry", registry)
    assert code == 0
    assert [v["version"] for v in out["versions"]] == [1, 2]
    assert out["aliases"]["production"] == 2 and out["aliases"]["previous"] == 1

    code, out, _ = run_json(
        capsys,
        "monitor",
        csvs / "train.csv",
        csvs / "same.csv",
        "--target",
        "target",
        "--registry",
        registry,
    )
    assert code == 0 and out["retrain"] is False and out["dataset_drift"] is False
    assert len(out["features"]) == 30
    assert set(out["features"][0]) >= {"feature", "method", "statistic", "p_value", "psi", "drift"}

    code, out, _ = run_json(
        capsys, "monitor", csvs / "train.csv", csvs / "drifted.csv", "--target", "target"
    )
    assert code == 1 and out["retrain"] is True and out["drift_share"] > 0

    code, out, _ = run_json(capsys, "rollback", "--registry", registry)
    assert code == 0 and out["production"] == 1


def test_text_output_is_readable(csvs, tmp_path, capsys):
    schema = tmp_path / "s.json"
    assert run(capsys, "infer-schema", csvs / "train.csv", "-o", schema)[0] == 0
    code, out, _ = run(capsys, "validate-data", csvs / "holdout.csv", "--schema", schema)
    assert code == 0 and "valid" in out


def test_validate_data_reports_anomalies_with_exit_1(csvs, tmp_path, capsys):
    schema = tmp_path / "schema.json"
    run(capsys, "infer-schema", csvs / "train.csv", "--target", "target", "-o", schema)
    bad = load_dataset().head(50).drop(columns=["mean_radius"])
    bad.loc[0:4, "mean_texture"] = None
    bad["extra"] = 1
    bad.to_csv(tmp_path / "bad.csv", index=False)
    code, out, _ = run_json(capsys, "validate-data", tmp_path / "bad.csv", "--schema", schema)
    assert code == 1 and out["valid"] is False
    kinds = {(a["column"], a["kind"]) for a in out["anomalies"]}
    assert ("mean_radius", "missing_column") in kinds
    assert ("extra", "unexpected_column") in kinds
    assert ("mean_texture", "missing_values") in kinds


def test_gate_rejects_and_deploy_refuses(csvs, tmp_path, capsys):
    model, registry = tmp_path / "dummy.skops", tmp_path / "reg"
    assert (
        run(
            capsys,
            "train",
            csvs / "train.csv",
            "--target",
            "target",
            "-o",
            model,
            "--model",
            "dummy",
        )[0]
        == 0
    )
    code, out, _ = run_json(capsys, "test-model", model, csvs / "holdout.csv", "--target", "target")
    assert code == 1 and out["blessed"] is False and out["reasons"]
    code, out, _err = run_json(capsys, "deploy", model, "--registry", registry)
    assert code == 1 and out["deployed"] is False and "not blessed" in out["reason"]
    assert not (registry / "versions").exists() or not any((registry / "versions").iterdir())


def test_deploy_without_gate_or_for_another_model_is_refused(csvs, tmp_path, capsys):
    a, b = tmp_path / "a.skops", tmp_path / "b.skops"
    run(capsys, "train", csvs / "train.csv", "--target", "target", "-o", a)
    run(capsys, "train", csvs / "train.csv", "--target", "target", "-o", b, "--param", "C=0.01")
    code, out, _ = run(capsys, "deploy", a, "--registry", tmp_path / "reg")
    assert code == 1 and "run test-model first" in out
    run(capsys, "test-model", a, csvs / "holdout.csv", "--target", "target")
    code, out, _ = run(
        capsys, "deploy", b, "--registry", tmp_path / "reg", "--decision", str(a) + ".gate.json"
    )
    assert code == 1 and "another model" in out


def test_rollback_with_nothing_to_roll_back_is_exit_1(csvs, tmp_path, capsys):
    model, registry = tmp_path / "m.skops", tmp_path / "reg"
    run(capsys, "train", csvs / "train.csv", "--target", "target", "-o", model)
    run(capsys, "test-model", model, csvs / "holdout.csv", "--target", "target")
    assert run(capsys, "deploy", model, "--registry", registry)[0] == 0
    code, _, err = run(capsys, "rollback", "--registry", registry)
    assert code == 1
    one_line(err)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["validate-data", "{tmp}/nope.csv", "--schema", "{tmp}/schema.json"], "nope.csv"),
        (["validate-data", "{tmp}", "--schema", "{tmp}/schema.json"], "directory"),
        (["validate-data", "{tmp}/empty.csv", "--schema", "{tmp}/schema.json"], "empty"),
        (["validate-data", "{tmp}/binary.csv", "--schema", "{tmp}/schema.json"], "not a CSV"),
        (["validate-data", "{csvs}/train.csv", "--schema", "{tmp}/broken.json"], "broken.json"),
        (["validate-data", "{csvs}/train.csv", "--schema", "{tmp}/notaschema.json"], "notaschema.json"),
        (["train", "{csvs}/train.csv", "--target", "target", "-o", "{tmp}/m.skops", "--model", "svm"], "svm"),
        (["train", "{csvs}/train.csv", "--target", "target", "-o", "{tmp}/m.skops", "--param", "nope=1"], "nope"),
        (["train", "{csvs}/train.csv", "--target", "target", "-o", "{tmp}/m.skops", "--param", "C"], "--param"),
        (["train", "{csvs}/train.csv", "--target", "label", "-o", "{tmp}/m.skops"], "label"),
        (["train", "{csvs}/train.csv", "--target", "target", "-o", "{tmp}/no/such/dir/m.skops"], "does not exist"),
        (["test-model", "{csvs}/train.csv", "{csvs}/holdout.csv", "--target", "target"], "train.csv"),
        (["test-model", "{tmp}/m0.skops", "{csvs}/holdout.csv", "--target", "target", "--min-accuracy", "x"], "--min-accuracy"),
        (["monitor", "{csvs}/train.csv", "{tmp}/nope.csv"], "nope.csv"),
        (["registry", "--registry", "{tmp}/noregistry"], "noregistry"),
        (["pipeline", "--versions", "0"], "--versions"),
        (["frobnicate"], "frobnicate"),
        (["train", "{csvs}/train.csv"], "required"),
    ],
)  # fmt: skip
def test_bad_input_is_exit_2_with_one_line(csvs, tmp_path, capsys, argv, needle):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "binary.csv").write_bytes(b"\x00\x01\x02PK\x03\x04")
    (tmp_path / "broken.json").write_text('{"columns": [')
    (tmp_path / "notaschema.json").write_text('{"hello": "world"}')
    run(capsys, "infer-schema", csvs / "train.csv", "-o", tmp_path / "schema.json")
    run(capsys, "train", csvs / "train.csv", "--target", "target", "-o", tmp_path / "m0.skops")
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.format(tmp=tmp_path, csvs=csvs) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    line = one_line(err)
    assert needle in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "no partial output file"


def test_json_errors_are_json_too(tmp_path, capsys):
    code, out, err = run(
        capsys, "validate-data", tmp_path / "x.csv", "--schema", tmp_path / "s.json", "--json"
    )
    assert code == 2
    assert json.loads(out)["exit_code"] == 2
    one_line(err)


def test_pipeline_command_prints_stage_times(tmp_path, capsys):
    code, out, _ = run(capsys, "pipeline", "--versions", "3", "--registry", tmp_path / "reg")
    assert code == 0
    for stage in ("validate_data", "train", "validate_model", "deploy", "monitor"):
        assert stage in out
    code, out, _ = run_json(capsys, "pipeline", "--versions", "3", "--no-cache")
    assert code == 0 and out["counts"]["train"] == 3
    assert set(out["stage_seconds"]) >= {"train", "validate_model"}


def test_console_script_runs_without_traceback(tmp_path):
    env = dict(os.environ)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlcicd",
            "validate-data",
            str(tmp_path / "x.csv"),
            "--schema",
            "s.json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "s.json: no such file" in proc.stderr


def test_missing_registry_folder_for_test_model_is_fine(csvs, tmp_path, capsys):
    """A first run has no registry yet: the gate skips the production comparison."""
    model = tmp_path / "m.skops"
    run(capsys, "train", csvs / "train.csv", "--target", "target", "-o", model)
    code, out, _ = run_json(
        capsys,
        "test-model",
        model,
        csvs / "holdout.csv",
        "--target",
        "target",
        "--registry",
        tmp_path / "none",
    )
    assert code == 0 and out["blessed"] is True
    assert not Path(tmp_path / "none").exists()


# ------------------------------------------------------------------ the learner's own data


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """CSVs with the bad inputs of issue 10, from the penguins-like and the diabetes data."""
    import numpy as np

    from mlcicd.data import penguins_like

    folder = tmp_path_factory.mktemp("own")
    penguins = penguins_like(n=120, seed=0)
    penguins.to_csv(folder / "penguins.csv", index=False)
    penguins.assign(species="Adelie").to_csv(folder / "constant_label.csv", index=False)
    penguins.assign(species=np.nan).to_csv(folder / "no_label.csv", index=False)
    penguins.assign(bill_depth_mm=np.nan).to_csv(folder / "empty_feature.csv", index=False)
    serving = penguins.drop(columns="species").assign(island="Anvers")
    serving.to_csv(folder / "new_island.csv", index=False)
    diabetes = load_dataset("diabetes")
    diabetes.to_csv(folder / "diabetes.csv", index=False)
    target = diabetes["target"].copy()
    target.iloc[[3, 7]] = np.inf
    diabetes.assign(target=target).to_csv(folder / "inf_label.csv", index=False)
    diabetes.assign(age=-diabetes["age"]).to_csv(folder / "negative_age.csv", index=False)
    main(
        [
            "infer-schema",
            str(folder / "penguins.csv"),
            "--target",
            "species",
            "-o",
            str(folder / "penguins.json"),
        ]
    )
    main(
        [
            "infer-schema",
            str(folder / "diabetes.csv"),
            "--target",
            "target",
            "-o",
            str(folder / "diabetes.json"),
        ]
    )
    return folder


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["train", "{own}/penguins.csv", "--target", "label", "-o", "{tmp}/m.skops"], 2, "'label'"),
        (["train", "{own}/constant_label.csv", "--target", "species", "-o", "{tmp}/m.skops"], 2, "target column 'species' has a single class"),
        (["train", "{own}/no_label.csv", "--target", "species", "-o", "{tmp}/m.skops"], 2, "target column 'species' is entirely missing"),
        (["train", "{own}/empty_feature.csv", "--target", "species", "-o", "{tmp}/m.skops"], 2, "feature column 'bill_depth_mm' is entirely missing"),
        (["train", "{own}/inf_label.csv", "--target", "target", "-o", "{tmp}/m.skops"], 2, "target column 'target' has 2 infinite values"),
        (["train", "{own}/diabetes.csv", "--target", "target", "-o", "{tmp}/m.skops", "--model", "logistic_regression"], 2, "--task classification"),
        (["train", "{own}/penguins.csv", "--target", "species", "-o", "{tmp}/m.skops", "--model", "ridge"], 2, "--task regression"),
        (["train", "{own}/penguins.csv", "--target", "species", "-o", "{tmp}/m.skops", "--task", "regression"], 2, "target column 'species' is not numeric"),
        (["validate-data", "{own}/penguins.csv", "--schema", "{own}/diabetes.json"], 1, "anomalies"),
        (["validate-data", "{own}/no_label.csv", "--schema", "{own}/penguins.json"], 1, "species: missing_values (120) all 120 values missing"),
        (["validate-data", "{own}/empty_feature.csv", "--schema", "{own}/penguins.json"], 1, "bill_depth_mm: missing_values (120) all 120 values missing"),
        (["validate-data", "{own}/new_island.csv", "--schema", "{own}/penguins.json", "--serving"], 1, "island: unknown_category (120)"),
        (["validate-data", "{own}/inf_label.csv", "--schema", "{own}/diabetes.json"], 1, "target: non_finite (2) 2 x +inf"),
        (["validate-data", "{own}/negative_age.csv", "--schema", "{own}/diabetes.json"], 1, "age: out_of_range (442) 442 below min 0 "),
    ],
)  # fmt: skip
def test_bad_own_data_is_exit_1_or_2_naming_the_column(own, tmp_path, capsys, argv, code, needle):
    argv = [a.format(tmp=tmp_path, own=own) for a in argv]
    got, out, err = run(capsys, *argv)
    assert got == code, (out, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert needle in one_line(err) and out == ""
    else:
        assert needle in out and err == ""
    left = [p for p in tmp_path.iterdir() if p.name != "default-cache"]  # the run cache
    assert left == [], "no partial output file"


def test_help_explains_every_option_lists_the_models_and_shows_an_example(capsys):
    from mlcicd.cli import MODEL_NAMES, build_parser
    from mlcicd.training import MODELS, REGRESSION_MODELS

    assert {
        "classification": tuple(MODELS),
        "regression": tuple(REGRESSION_MODELS),
    } == MODEL_NAMES
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        for action in sub._actions:
            assert action.help, f"{name}: option {action.option_strings or action.dest} has no help"
        text = sub.format_help()
        assert "example: mlcicd " + name in " ".join(text.split()), name
    train = " ".join(commands["train"].format_help().split())
    for task, names in MODEL_NAMES.items():
        assert f"{task}: {', '.join(names)}" in train


# --- the run cache (issue 10): --cache/--no-cache, cache info|gc|clear, re-runs in a new process


@pytest.fixture(autouse=True)
def _cache_per_test(tmp_path, monkeypatch):
    """Every test gets its own default run cache, never the working directory's."""
    monkeypatch.setenv("MLCICD_CACHE", str(tmp_path / "default-cache"))


def test_pipeline_json_reports_cache_hits_and_misses(tmp_path, capsys):
    argv = ["pipeline", "--versions", "2", "--validation", "once", "--cache", tmp_path / "c"]
    code, first, _ = run_json(capsys, *argv)
    # split, baseline, infer_schema, validate_data (version 2 reuses version 1's report: a hit),
    # then train, evaluate and monitor per version
    assert code == 0 and first["cache"]["hits"] == 1 and first["cache"]["misses"] == 10
    assert first["cache"]["written"] == 10 and first["counts"]["train"] == 2
    code, again, _ = run_json(capsys, *argv)
    assert code == 0 and (again["cache"]["hits"], again["cache"]["misses"]) == (11, 0)
    assert again["counts"]["train"] == 0 and again["cache"]["dir"] == str(tmp_path / "c")
    code, out, _ = run(capsys, *argv)
    assert code == 0 and f"run cache {tmp_path / 'c'}: 11 hits, 0 misses" in out


def test_no_cache_reads_and_writes_nothing(tmp_path, capsys):
    code, out, _ = run_json(capsys, "pipeline", "--versions", "2", "--no-cache")
    assert code == 0 and out["cache"] is None and out["counts"]["train"] == 2
    assert not (tmp_path / "default-cache").exists()
    code, out, _ = run_json(capsys, "pipeline", "--versions", "2")  # the default folder
    assert code == 0 and out["cache"]["dir"] == str(tmp_path / "default-cache")
    assert (tmp_path / "default-cache" / "entries").is_dir()


def test_train_uses_the_cache_and_writes_the_same_model(csvs, tmp_path, capsys):
    from mlcicd.training import load_model, model_fingerprint

    argv = ["train", csvs / "train.csv", "--target", "target", "--cache", tmp_path / "c"]
    code, first, _ = run_json(capsys, *argv, "-o", tmp_path / "a.skops")
    assert code == 0 and (first["cache"]["hits"], first["cache"]["misses"]) == (0, 1)
    code, again, _ = run_json(capsys, *argv, "-o", tmp_path / "b.skops")
    assert code == 0 and (again["cache"]["hits"], again["cache"]["misses"]) == (1, 0)
    a, b = load_model(tmp_path / "a.skops"), load_model(tmp_path / "b.skops")
    assert model_fingerprint(a.model) == model_fingerprint(b.model) and a.metadata == b.metadata
    code, other, _ = run_json(capsys, *argv, "--seed", "1", "-o", tmp_path / "c.skops")
    assert code == 0 and other["cache"]["misses"] == 1  # another parameter: another key
    code, out, _ = run(capsys, *argv, "-o", tmp_path / "d.skops")
    assert code == 0 and out.startswith(f"from the run cache ({tmp_path / 'c'}): trained")


def test_a_hit_names_the_files_of_this_run_not_of_the_run_that_stored_it(csvs, tmp_path, capsys):
    cache = ["--cache", tmp_path / "c"]
    schema = ["infer-schema", csvs / "train.csv", "--target", "target", *cache]
    run(capsys, *schema, "-o", tmp_path / "s1.json")
    code, out, _ = run(capsys, *schema, "-o", tmp_path / "s2.json")
    assert code == 0 and out.startswith("from the run cache")
    assert str(tmp_path / "s2.json") in out and "s1.json" not in out
    code, hit, _ = run_json(capsys, *schema, "-o", tmp_path / "s3.json")
    assert hit["cache"]["hits"] == 1 and hit["schema"] == str(tmp_path / "s3.json")
    assert (tmp_path / "s3.json").read_bytes() == (tmp_path / "s1.json").read_bytes()
    shutil.copy(tmp_path / "s1.json", tmp_path / "copy.json")  # an input under another name
    validate = ["validate-data", csvs / "holdout.csv", *cache, "--schema"]
    run(capsys, *validate, tmp_path / "s1.json")
    code, hit, _ = run_json(capsys, *validate, tmp_path / "copy.json")
    assert hit["cache"]["hits"] == 1 and "s1.json" not in json.dumps(hit)


def test_a_corrupt_entry_is_reported_on_stderr_and_rewritten(csvs, tmp_path, capsys):
    argv = ["train", csvs / "train.csv", "--target", "target", "--cache", tmp_path / "c"]
    run_json(capsys, *argv, "-o", tmp_path / "a.skops")
    (entry,) = (tmp_path / "c" / "entries").glob("*/*.entry")
    entry.write_bytes(entry.read_bytes()[:-100] + bytes(100))
    code, out, err = run_json(capsys, *argv, "-o", tmp_path / "b.skops")
    assert code == 0 and out["cache"]["corrupt"] == 1 and out["cache"]["misses"] == 1
    assert out["cache"]["written"] == 1 and out["cache"]["corrupt_keys"] == [entry.stem]
    assert "failed its sha256 check; recomputed and written again" in err
    code, out, err = run_json(capsys, *argv, "-o", tmp_path / "c.skops")
    assert out["cache"]["hits"] == 1 and out["cache"]["corrupt"] == 0 and err == ""


def test_cache_info_gc_and_clear(csvs, tmp_path, capsys):
    cache = tmp_path / "c"
    code, info, _ = run_json(capsys, "cache", "info", "--cache", cache)
    assert code == 0 and (info["entries"], info["bytes"]) == (0, 0)
    run_json(capsys, "pipeline", "--versions", "2", "--validation", "once", "--cache", cache)
    code, info, _ = run_json(capsys, "cache", "info", "--cache", cache)
    assert code == 0 and info["entries"] == 10 and info["bytes"] > 0
    code, out, _ = run(capsys, "cache", "info", "--cache", cache)
    assert out.startswith(f"run cache {cache}: 10 entries, ")
    code, done, _ = run_json(capsys, "cache", "gc", "--max-size", "0", "--cache", cache)
    assert code == 0 and (done["removed"], done["kept"], done["kept_bytes"]) == (10, 0, 0)
    assert done["freed_bytes"] == info["bytes"]
    run_json(capsys, "pipeline", "--versions", "1", "--cache", cache)
    code, done, _ = run_json(capsys, "cache", "gc", "--max-size", "1G", "--cache", cache)
    assert code == 0 and done["removed"] == 0 and done["kept"] > 0
    code, cleared, _ = run_json(capsys, "cache", "clear", "--cache", cache)
    assert code == 0 and cleared["removed"] == done["kept"]
    assert run_json(capsys, "cache", "info", "--cache", cache)[1]["entries"] == 0


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["cache", "gc"], "--max-size is required"),
        (["cache", "gc", "--max-size", "lots"], "--max-size: expected a size"),
        (["cache", "prune"], "invalid choice"),
        (["cache", "info", "--cache", "FILE"], "is a file, expected a cache folder"),
        (["pipeline", "--versions", "1", "--cache", "FILE"], "is a file, expected a cache folder"),
    ],
)
def test_bad_cache_usage_is_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    (tmp_path / "FILE").write_text("x")
    argv = [str(tmp_path / "FILE") if a == "FILE" else a for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2 and needle in one_line(err)


def test_an_unchanged_rerun_in_a_new_process_trains_nothing_and_is_already_deployed(tmp_path):
    argv = [sys.executable, "-m", "mlcicd", "pipeline", "--versions", "3", "--registry", "reg"]

    def process(*extra):
        done = subprocess.run(
            [*argv, *extra], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr[-500:]
        return done.stdout

    first = json.loads(process("--json"))
    assert first["counts"]["train"] == 3 and set(first["outcomes"].values()) == {"deployed"}
    assert first["cache"]["dir"] == str(tmp_path / "default-cache")  # $MLCICD_CACHE
    text = process()
    assert "0 training + validation cycles run; 0 deployed, 3 already deployed" in text
    again = json.loads(process("--json"))
    assert again["counts"]["train"] == 0 and again["cache"]["misses"] == 0
    assert set(again["outcomes"].values()) == {"already deployed"}
    assert sorted(p.name for p in (tmp_path / "reg" / "versions").iterdir()) == [
        "0001",
        "0002",
        "0003",
    ]


# --- the stage commands use the run cache too: a hit replays exactly what the miss gave


def _stage_commands(csvs, tmp):
    """(name, argv, files it writes) for each cached stage command, failing checks included."""
    c = csvs
    return [
        (
            "infer-schema",
            ["infer-schema", c / "train.csv", "--target", "target", "-o", tmp / "s.json"],
            ["s.json"],
        ),
        ("validate-data ok", ["validate-data", c / "holdout.csv", "--schema", tmp / "s.json"], []),
        (
            "validate-data anomalies",
            ["validate-data", tmp / "bad.csv", "--schema", tmp / "s.json"],
            [],
        ),
        (
            "train",
            ["train", c / "train.csv", "--target", "target", "-o", tmp / "m.skops"],
            ["m.skops"],
        ),
        (
            "test-model",
            ["test-model", tmp / "m.skops", c / "holdout.csv", "--target", "target"],
            ["m.skops.gate.json"],
        ),
        (
            "test-model rejected",
            [
                "test-model",
                tmp / "m.skops",
                c / "holdout.csv",
                "--target",
                "target",
                "--min-accuracy",
                "0.999",
                "--decision",
                tmp / "r.json",
            ],
            ["r.json"],
        ),
        (
            "monitor same",
            [
                "monitor",
                c / "train.csv",
                c / "same.csv",
                "--target",
                "target",
                "--model",
                tmp / "m.skops",
            ],
            [],
        ),
        (
            "monitor drift",
            ["monitor", c / "train.csv", c / "drifted.csv", "--target", "target"],
            [],
        ),
    ]


def test_each_stage_command_gives_the_same_output_and_exit_code_from_the_cache(
    csvs, tmp_path, capsys
):
    import pandas as pd

    holdout = pd.read_csv(csvs / "holdout.csv")
    holdout.drop(columns=holdout.columns[0]).to_csv(tmp_path / "bad.csv", index=False)
    codes = {}
    for name, argv, writes in _stage_commands(csvs, tmp_path):
        miss_code, miss, _ = run_json(capsys, *argv)
        miss_files = {f: (tmp_path / f).read_bytes() for f in writes}
        for f in writes:
            (tmp_path / f).unlink()  # a hit must write them again, the same bytes
        hit_code, hit, _ = run_json(capsys, *argv)
        assert miss["cache"]["misses"] == 1 and miss["cache"]["hits"] == 0, name
        assert hit["cache"]["hits"] == 1 and hit["cache"]["misses"] == 0, name
        assert hit_code == miss_code, name
        assert {k: v for k, v in hit.items() if k != "cache"} == {
            k: v for k, v in miss.items() if k != "cache"
        }, name
        for f in writes:  # a model file is a zip with timestamps: train's own behaviour
            if not f.endswith(".skops"):
                assert (tmp_path / f).read_bytes() == miss_files[f], name
            assert (tmp_path / f).is_file(), name
        text_code, text, _ = run(capsys, *argv)
        assert text_code == miss_code and text.startswith("from the run cache"), name
        codes[name] = miss_code
    assert codes == {
        "infer-schema": 0,
        "validate-data ok": 0,
        "validate-data anomalies": 1,  # a cached "anomalies found" still exits 1
        "train": 0,
        "test-model": 0,
        "test-model rejected": 1,
        "monitor same": 0,
        "monitor drift": 1,
    }


def test_a_changed_input_or_option_is_a_miss_and_no_cache_reads_nothing(csvs, tmp_path, capsys):
    schema = tmp_path / "s.json"
    run(capsys, "infer-schema", csvs / "train.csv", "--target", "target", "-o", schema)
    argv = ["validate-data", csvs / "holdout.csv", "--schema", schema]
    assert run_json(capsys, *argv)[1]["cache"]["misses"] == 1
    assert run_json(capsys, *argv)[1]["cache"]["hits"] == 1
    assert run_json(capsys, *argv, "--serving")[1]["cache"]["misses"] == 1  # an option
    run(capsys, "infer-schema", csvs / "drifted.csv", "--target", "target", "-o", schema)
    assert run_json(capsys, *argv)[1]["cache"]["misses"] == 1  # the schema file changed
    code, out, _ = run_json(capsys, *argv, "--no-cache")
    assert code == 0 and out["cache"] is None


def test_an_unchanged_rerun_of_the_seed_workflow_in_new_processes_hits_every_stage(csvs, tmp_path):
    c, reg = csvs, tmp_path / "registry"
    workflow = [
        ["infer-schema", c / "train.csv", "--target", "target", "-o", "schema.json"],
        ["validate-data", c / "train.csv", "--schema", "schema.json"],
        ["train", c / "train.csv", "--target", "target", "-o", "model.skops"],
        ["test-model", "model.skops", c / "holdout.csv", "--target", "target", "--registry", reg],
        ["deploy", "model.skops", "--registry", reg],
        ["monitor", c / "train.csv", c / "same.csv", "--target", "target", "--registry", reg],
    ]

    def once():
        stats = []
        for argv in workflow:
            done = subprocess.run(
                [sys.executable, "-m", "mlcicd", *map(str, argv), "--json"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0 and done.stderr == "", (argv[0], done.stderr[-500:])
            cache = json.loads(done.stdout).get("cache")
            stats.append(None if cache is None else (argv[0], cache["hits"], cache["misses"]))
        return [s for s in stats if s is not None]  # deploy has no cache

    first = once()
    assert all(misses == 1 and hits == 0 for _, hits, misses in first)
    # the first deploy set a production model, an input of test-model: its gate runs again
    second = once()
    assert [s for s in second if s[0] != "test-model"] == [
        (name, 1, 0) for name, _, _ in first if name != "test-model"
    ]
    assert ("test-model", 0, 1) in second
    third = once()  # nothing changed since the second run: every cached stage is a hit
    assert third == [(name, 1, 0) for name, _, _ in first]


# --- exit codes: the user's mistake (2), a failed check (1), a bug (3) -------------------------

BUG = "mlcicd: internal error (this is a bug, please report it): "


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (KeyError("boom"), "KeyError: 'boom'"),
        (ValueError("bad value"), "ValueError: bad value"),
        (TypeError("not callable"), "TypeError: not callable"),
        (OSError("disk on fire"), "OSError: disk on fire"),
        (RuntimeError(), "RuntimeError"),
    ],
)
def test_a_library_bug_is_exit_3_in_one_line_without_traceback(monkeypatch, capsys, error, shown):
    import mlcicd.cli as cli

    def broken(args):
        raise error

    monkeypatch.setattr(cli, "cmd_registry", broken)
    code, out, err = run(capsys, "registry", "--registry", "anywhere")
    assert code == 3 and out == ""
    assert err.splitlines() == [BUG + shown] and "Traceback" not in err


def test_a_bug_under_json_is_a_json_error_with_exit_code_3(monkeypatch, capsys):
    import mlcicd.cli as cli

    monkeypatch.setattr(cli, "cmd_registry", lambda args: {}["missing"])
    code, out, err = run(capsys, "registry", "--registry", "anywhere", "--json")
    assert code == 3 and json.loads(out) == {
        "error": "internal error (this is a bug, please report it): KeyError: 'missing'",
        "exit_code": 3,
    }
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_of_a_bug(monkeypatch, capsys, where):
    import mlcicd.cli as cli

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(cli, "cmd_registry", broken)
    argv = ["registry", "--registry", "anywhere"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    code, _out, err = run(capsys, *argv)
    assert code == 3
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.splitlines()[-1] == BUG + "KeyError: 'boom'"


def test_debug_changes_nothing_for_the_users_mistakes(tmp_path, capsys):
    code, _, err = run(
        capsys, "--debug", "infer-schema", tmp_path / "nope.csv", "-o", tmp_path / "s.json"
    )
    assert code == 2 and "Traceback" not in err and "nope.csv" in one_line(err)


def test_help_lists_the_exit_codes(capsys):
    from mlcicd.cli import build_parser

    text = build_parser().format_help()
    assert "--debug" in text
    for line in ("0  success", "1  the check ran and failed", "2  bad usage", "3  an internal"):
        assert line in text


def test_unreadable_files_and_unusable_paths_are_exit_2_naming_them(csvs, tmp_path, capsys):
    a_file, model = tmp_path / "a_file", tmp_path / "m.skops"
    a_file.write_text("x")
    (tmp_path / "folder.csv").mkdir()
    long_name = tmp_path / ("x" * 300 + ".csv")  # longer than a file name may be
    run(capsys, "train", csvs / "train.csv", "--target", "target", "-o", model)
    code, _, _ = run(capsys, "test-model", model, csvs / "holdout.csv", "--target", "target")
    assert code == 0
    cases = [
        (
            ["infer-schema", tmp_path / "folder.csv", "-o", tmp_path / "s.json"],
            "folder.csv: is a directory",
        ),
        (["infer-schema", long_name, "-o", tmp_path / "s.json"], "cannot be read"),
        (["train", csvs / "train.csv", "--target", "target", "-o", a_file / "m.skops"], "a_file"),
        (["train", csvs / "train.csv", "--target", "target", "-o", long_name], "cannot be written"),
        (["deploy", model, "--registry", a_file / "reg"], "a_file is a file, not a folder"),
        (["deploy", model, "--registry", tmp_path / "reg", "--decision", a_file], "a_file"),
    ]
    for argv, needle in cases:
        code, _out, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert needle in one_line(err), (argv, err)
    assert not (tmp_path / "reg").exists()


def test_an_os_error_reading_a_csv_is_exit_2_naming_the_file(csvs, tmp_path, monkeypatch, capsys):
    import pandas as pd

    monkeypatch.chdir(tmp_path)

    def failing_disk(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(pd, "read_csv", failing_disk)
    code, _, err = run(
        capsys, "infer-schema", csvs / "train.csv", "-o", "unused.json", "--no-cache"
    )
    assert code == 2
    assert one_line(err).endswith("train.csv: cannot be read (Input/output error)")


@pytest.mark.parametrize("which", ["reference", "current"])
def test_monitor_checks_the_target_in_both_files(csvs, tmp_path, capsys, which):
    unlabelled = tmp_path / "unlabelled.csv"
    pd = pytest.importorskip("pandas")
    pd.read_csv(csvs / "holdout.csv").drop(columns=["target"]).to_csv(unlabelled, index=False)
    files = [unlabelled, csvs / "holdout.csv"]
    if which == "current":
        files.reverse()
    code, _, err = run(capsys, "monitor", *files, "--target", "target", "--no-cache")
    assert code == 2
    assert one_line(err) == f"mlcicd: error: --target: column 'target' is not in {unlabelled}"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"checks": "x"}, "field 'checks' must be a list"),
        ({"reasons": 5}, "not a valid test-model decision (TypeError"),
        ({"tolerance": "x"}, "not a valid test-model decision (ValueError"),
    ],
)
def test_a_malformed_gate_file_is_exit_2_naming_it(csvs, tmp_path, capsys, fields, needle):
    model, gate = tmp_path / "m.skops", tmp_path / "gate.json"
    run(capsys, "train", csvs / "train.csv", "--target", "target", "-o", model, "--no-cache")
    run(capsys, "test-model", model, csvs / "holdout.csv", "--target", "target", "--no-cache")
    decision = json.loads((tmp_path / "m.skops.gate.json").read_text())
    gate.write_text(json.dumps({**decision, **fields}))
    code, _, err = run(capsys, "deploy", model, "--registry", tmp_path / "reg", "--decision", gate)
    assert code == 2
    line = one_line(err)
    assert f"gate decision {gate}: " in line and needle in line
    assert not (tmp_path / "reg").exists()


def test_monitor_reports_a_column_with_no_value_as_drift(csvs, tmp_path, capsys):
    """A column empty in the current file has no statistic: the table leaves it blank (it used to
    crash formatting None, a bug reported as exit 3)."""
    pd = pytest.importorskip("pandas")
    current = pd.read_csv(csvs / "holdout.csv")
    current["mean_radius"] = float("nan")
    current.to_csv(tmp_path / "empty_column.csv", index=False)
    code, out, err = run(
        capsys, "monitor", csvs / "train.csv", tmp_path / "empty_column.csv", "--no-cache"
    )
    assert code in (0, 1) and err == ""
    row = next(line for line in out.splitlines() if line.startswith("mean_radius "))
    assert row.split() == ["mean_radius", "ks", "DRIFT"]
    assert "no value in current" in out
