"""The release commands of the command line: candidate, canary, promote, reject, releases."""

from __future__ import annotations

import json

import pytest

from mlcicd.cli import main
from mlcicd.data import load_dataset, split


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("csv")
    train, holdout = split(load_dataset(), seed=0)
    train.to_csv(folder / "train.csv", index=False)
    holdout.to_csv(folder / "holdout.csv", index=False)
    return folder


def run_json(capsys, *argv):
    code = main([str(a) for a in argv] + ["--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out.splitlines()[-1]), err


def _trained_and_tested(capsys, csvs, model, C):
    train = ["train", csvs / "train.csv", "--target", "target", "-o", model, "--param", f"C={C}"]
    assert run_json(capsys, *train)[0] == 0
    code, out, _ = run_json(capsys, "test-model", model, csvs / "holdout.csv", "--target", "target")
    assert code == 0 and out["blessed"]


def test_stage_canary_promote_and_reject(csvs, tmp_path, capsys):
    reg, a, b, c = (
        tmp_path / "reg",
        tmp_path / "a.skops",
        tmp_path / "b.skops",
        tmp_path / "c.skops",
    )
    for model, C in ((a, 1.0), (b, 0.3), (c, 0.1)):
        _trained_and_tested(capsys, csvs, model, C)
    assert run_json(capsys, "deploy", a, "--registry", reg)[0] == 0

    code, out, _ = run_json(capsys, "candidate", b, "--registry", reg, "--reason", "shadow")
    assert code == 0 and out == {
        "candidate": 2,
        "traffic": {"production": 1, "candidate": 2, "share": 0.0},
    }
    code, out, _ = run_json(capsys, "canary", "--share", "0.1", "--registry", reg)
    assert code == 0 and out["traffic"]["share"] == 0.1
    code, out, _ = run_json(capsys, "promote", "--registry", reg, "--reason", "canary passed")
    assert code == 0 and out == {"production": 2, "aliases": {"production": 2, "previous": 1}}

    assert run_json(capsys, "candidate", c, "--registry", reg, "--share", "0.05")[0] == 0
    code, out, _ = run_json(capsys, "reject", "--registry", reg, "--reason", "worse live")
    assert code == 0 and out == {
        "rejected": 3,
        "traffic": {"production": 2, "candidate": None, "share": 0.0},
    }
    code, out, _ = run_json(capsys, "releases", "--registry", reg)
    assert [(r["action"], r["version"], r["share"]) for r in out["releases"]] == [
        ("candidate", 2, 0.0),
        ("share", 2, 0.1),
        ("promote", 2, 0.1),
        ("candidate", 3, 0.05),
        ("reject", 3, 0.05),
    ]


def test_refusals_are_exit_1_and_bad_input_exit_2_in_one_line(csvs, tmp_path, capsys):
    reg, a = tmp_path / "reg", tmp_path / "a.skops"
    _trained_and_tested(capsys, csvs, a, 1.0)
    assert run_json(capsys, "deploy", a, "--registry", reg)[0] == 0
    code, out, err = run_json(capsys, "promote", "--registry", reg)
    assert code == 1 and "no candidate is staged" in out["error"] and len(err.splitlines()) == 1
    code, out, _ = run_json(capsys, "candidate", a, "--registry", reg)
    assert code == 1 and "already production" in out["error"]
    code, out, _ = run_json(capsys, "canary", "--share", "1.5", "--registry", reg)
    assert code == 2 and "--share" in out["error"]
    b = tmp_path / "b.skops"
    run_json(capsys, "train", csvs / "train.csv", "--target", "target", "-o", b)
    code, out, _ = run_json(capsys, "candidate", b, "--registry", reg)
    assert code == 1 and "run test-model first" in out["reason"]
