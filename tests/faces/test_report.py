"""Markdown job-summary reports of the command line's JSON (``python -m mlcicd.report``)."""

from __future__ import annotations

import json

import pytest

from mlcicd.errors import InputError
from mlcicd.report import main, markdown, table

GATE = {
    "blessed": False,
    "checks": [
        {"name": "threshold_accuracy", "passed": True, "detail": "accuracy 0.950 >= 0.900"},
        {"name": "no_regression_accuracy", "passed": False, "detail": "worse | by 0.03"},
    ],
    "reasons": ["accuracy 0.950 is worse than production 0.980"],
    "metrics": {"n_rows": 100, "accuracy": 0.95, "roc_auc": None, "custom": 1.5},
    "baseline_metrics": {"accuracy": 0.6, "n_rows": 100},
    "production_metrics": {"accuracy": 0.98, "n_rows": 100},
}


def test_table_aligns_numbers_and_escapes_cells():
    assert table(["a", "b"], [[1.23456, None], ["x|y", True]], numeric=[0]) == (
        "| a | b |\n| ---: | --- |\n| 1.2346 | – |\n| x\\|y | yes |"
    )


def test_gate_report_lists_metrics_checks_and_reasons():
    assert markdown("gate", GATE) == (
        "### Test Model: quality gate ❌ rejected\n\n"
        "| metric | candidate | production | baseline |\n"
        "| --- | ---: | ---: | ---: |\n"
        "| accuracy | 0.9500 | 0.9800 | 0.6000 |\n"
        "| roc_auc | – | – | – |\n"
        "| n_rows | 100 | 100 | 100 |\n"
        "| custom | 1.5000 | – | – |\n\n"
        "| check | result | detail |\n"
        "| --- | --- | --- |\n"
        "| threshold_accuracy | ✅ pass | accuracy 0.950 >= 0.900 |\n"
        "| no_regression_accuracy | ❌ fail | worse \\| by 0.03 |\n\n"
        "- accuracy 0.950 is worse than production 0.980\n"
    )


def test_gate_report_of_a_real_decision(tmp_path):
    from mlcicd.data import load_dataset, split
    from mlcicd.evaluation import validate_model
    from mlcicd.training import train_model

    train, holdout = split(load_dataset(), seed=0)
    decision = validate_model(train_model(train, "target").model, holdout, "target")
    text = markdown("gate", json.loads(json.dumps(decision.to_dict())))
    assert text.startswith("### Test Model: quality gate ✅ blessed\n")
    acc, base = decision.metrics["accuracy"], decision.baseline_metrics["accuracy"]
    assert f"| accuracy | {acc:.4f} | – | {base:.4f} |" in text
    assert "| no_regression | ✅ pass | no production model yet |" in text


def test_validation_report_valid_and_with_anomalies():
    assert markdown(
        "validation", {"valid": True, "n_rows": 5, "n_columns": 3, "anomalies": []}
    ) == ("### Data Validation: ✅ valid (5 rows, 3 columns)\n")
    bad = {
        "valid": False,
        "n_rows": 5,
        "anomalies": [
            {"column": "age", "kind": "out_of_range", "detail": "2 values > 120", "count": 2},
            {"column": None, "kind": "empty_dataset", "detail": "no rows", "count": 0},
        ],
    }
    assert markdown("validation", bad, title="Data Validation (new.csv)") == (
        "### Data Validation (new.csv): ❌ 2 anomalies (5 rows)\n\n"
        "| column | anomaly | rows | detail |\n| --- | --- | ---: | --- |\n"
        "| age | out_of_range | 2 | 2 values > 120 |\n| * | empty_dataset | 0 | no rows |\n"
    )


def test_deploy_refused_and_registry_listing():
    refused = {"deployed": False, "reason": "deploy refused: not blessed"}
    assert (
        markdown("deploy", refused)
        == "### Deploy Model: ❌ refused\n\ndeploy refused: not blessed\n"
    )
    listing = {
        "aliases": {"production": 2, "previous": 1},
        "versions": [
            {
                "version": 1,
                "metadata": {
                    "model_name": "dummy",
                    "metrics": {"accuracy": 0.6},
                    "created_at": "2026-01-01T10:00:00+00:00",
                },
            },
            {
                "version": 2,
                "metadata": {
                    "model_name": "logistic_regression",
                    "metrics": {"accuracy": 0.96},
                    "created_at": "2026-01-02T10:00:00+00:00",
                },
            },
        ],
    }
    assert markdown("registry", listing).splitlines()[0] == "### Model registry: 2 versions"
    assert "| 2 | logistic_regression | 0.9600 | 2026-01-02T10:00:00 | production |" in (
        markdown("registry", listing)
    )


def test_monitor_report_puts_drifted_features_first():
    report = {
        "drift_share": 0.5,
        "dataset_drift": True,
        "retrain": True,
        "accuracy": 0.8,
        "reference_accuracy": 0.9,
        "accuracy_drop": 0.1,
        "reasons": ["1 of 2 features drifted"],
        "features": [
            {
                "feature": "a",
                "method": "ks",
                "statistic": 0.1,
                "p_value": 0.5,
                "psi": 0.05,
                "psi_band": "stable",
                "drift": False,
            },
            {
                "feature": "b",
                "method": "ks",
                "statistic": 0.4,
                "p_value": 0.001,
                "psi": 0.3,
                "psi_band": "significant",
                "drift": True,
            },
        ],
    }
    lines = markdown("monitor", report).splitlines()
    assert lines[0] == "### Monitor: ⚠️ retrain"
    assert "1 of 2 features drifted (share 0.50); dataset drift: yes." in lines
    assert "Accuracy 0.9000 on the reference, 0.8000 now (drop 0.1000)." in lines
    rows = [line for line in lines if line.startswith("| a ") or line.startswith("| b ")]
    assert rows == [
        "| b | ks | 0.4000 | 0.0010 | 0.3000 | significant | ⚠️ drift |",
        "| a | ks | 0.1000 | 0.5000 | 0.0500 | stable |  |",
    ]


def test_drift_report_on_new_training_data_is_a_warning_not_a_retrain():
    report = {
        "drift_share": 0.5,
        "dataset_drift": True,
        "retrain": True,
        "features": [
            {
                "feature": "b",
                "method": "ks",
                "statistic": 0.4,
                "p_value": 0.001,
                "psi": 0.3,
                "psi_band": "significant",
                "drift": True,
            },
        ],
    }
    lines = markdown("drift", report).splitlines()
    assert lines[0] == "### Data Drift: ⚠️ the new data drifted (a warning)"
    assert "1 of 1 features drifted (share 0.50); dataset drift: yes." in lines
    calm = {**report, "dataset_drift": False, "retrain": False}
    assert markdown("drift", calm, "Drift").splitlines()[0] == "### Drift: ✅ no dataset drift"
    with pytest.raises(InputError, match="drift report: the JSON has no features"):
        markdown("drift", {"drift_share": 0})


def test_a_failed_command_is_reported_as_an_error_of_its_step():
    payload = {"error": "data x.csv: no such file", "exit_code": 2}
    assert markdown("train", payload) == (
        "### Train Model: ❌ error (exit code 2)\n\ndata x.csv: no such file\n"
    )


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("nope", {}, "kind 'nope': unknown (allowed: validation, train, gate, deploy"),
        ("gate", [1], "gate report: expected a JSON object, got list"),
        ("gate", {"valid": True}, "gate report: the JSON has no blessed, checks, metrics"),
        ("monitor", {"features": [{}], "drift_share": 0, "dataset_drift": False, "retrain": False},
         "monitor report: malformed JSON (KeyError"),
    ],
)  # fmt: skip
def test_markdown_refuses_what_is_not_the_kinds_output(kind, payload, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        markdown(kind, payload)


def test_command_line_reads_a_file_or_stdin(tmp_path, capsys, monkeypatch):
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps({"deployed": True, "version": 1, "aliases": {"production": 1}}))
    assert main(["deploy", str(path)]) == 0
    assert capsys.readouterr().out.startswith("### Deploy Model: ✅ version 1 is in production\n")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO('{"deployed": false}'))
    assert main(["deploy", "-", "--title", "Deploy (staging)"]) == 0
    assert capsys.readouterr().out.startswith("### Deploy (staging): ❌ refused")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "deploy JSON {path}: no such file"),
        ("{not json", "deploy JSON {path}: malformed JSON at line 1 column 2"),
        ('{"version": 1}', "deploy report: the JSON has no deployed (not deploy output?)"),
    ],
)
def test_command_line_errors_are_one_line_with_exit_code_2(tmp_path, capsys, content, message):
    path = tmp_path / "deploy.json"
    if content is not None:
        path.write_text(content)
    assert main(["deploy", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err and err.startswith("mlcicd.report: error: ")
    assert message.format(path=path) in err
