"""The GitHub Actions workflows parse, keep the seed's steps, and the ML pipeline's steps run.

``ml-pipeline.yml``'s ``run:`` steps are executed here, in order, with bash (as GitHub does with
``shell: bash``) in a temporary folder, with ``GITHUB_STEP_SUMMARY`` pointing at a file: a workflow
that no longer matches the command line fails this test instead of failing on GitHub.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
SEED_STEPS = ["Data Validation", "Train Model", "Test Model", "Deploy Model"]
# lesson 8's order: the new data is checked for drift before training; monitoring comes last
ML_STEPS = [
    "Data Validation",
    "Data Drift",
    "Train Model",
    "Test Model",
    "Deploy Model",
    "Production Monitoring",
]
# installs the package from the network on GitHub; here it is installed already (.venv)
INSTALL_STEP = ("Install mlcicd", "python -m pip install -e .")


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean True
    workflow["on"] = workflow.pop(True)
    return workflow


def triggers(workflow: dict) -> set[str]:
    on = workflow["on"]
    return {on} if isinstance(on, str) else set(on)


def steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def uses(step: dict) -> str:
    return step.get("uses", "").split("@")[0]


def test_course_ci_runs_the_readme_test_command_on_push_and_pull_request():
    wf = load("course-ci.yml")
    assert {"push", "pull_request"} <= triggers(wf)
    all_steps = steps(wf)
    names = [uses(s) or s["name"] for s in all_steps]
    assert names[:2] == ["actions/checkout", "actions/setup-python"]
    assert str(all_steps[1]["with"]["python-version"]) == "3.11"
    runs = [s["run"].strip() for s in all_steps if "run" in s]
    assert "make test" in runs
    tests = next(s for s in all_steps if s.get("run", "").strip() == "make test")
    assert tests["env"]["MLCICD_REQUIRE_BROWSER"] == "1"  # a missing browser fails, not skips
    upload = next(s for s in all_steps if uses(s) == "actions/upload-artifact")
    assert upload["if"] == "always()"
    paths = upload["with"]["path"].split()
    assert "build/test-course/" in paths and "build/browser/" in paths
    # the notebooks the tests execute land where the artifact looks
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert '"build" / "test-course"' in conftest


def test_ml_pipeline_has_the_seed_steps_in_order_each_an_mlcicd_command():
    wf = load("ml-pipeline.yml")
    assert {"push", "pull_request"} <= triggers(wf)
    (job,) = wf["jobs"].values()
    assert job["defaults"]["run"]["shell"] == "bash"
    all_steps = steps(wf)
    names = [s.get("name") for s in all_steps]
    positions = [names.index(n) for n in ML_STEPS]
    assert positions == sorted(positions), f"steps out of order: {names}"
    for name in ML_STEPS:
        run = all_steps[names.index(name)]["run"]
        assert re.search(r"^mlcicd \S+", run, re.M), f"{name}: no mlcicd command"
        assert '>> "$GITHUB_STEP_SUMMARY"' in run, f"{name}: writes nothing to the job summary"
    # the registry survives between runs (cache) and is kept as an artifact
    restore = next(s for s in all_steps if uses(s) == "actions/cache/restore")
    save = next(s for s in all_steps if uses(s) == "actions/cache/save")
    upload = next(s for s in all_steps if uses(s) == "actions/upload-artifact")
    assert restore["with"]["path"] == save["with"]["path"] == "ml-run/registry"
    assert names.index(restore["name"]) < names.index("Test Model")
    assert (
        names.index(save["name"]) > names.index("Production Monitoring")
        and save["if"] == "always()"
    )
    assert upload["with"]["path"].rstrip("/") == "ml-run" and upload["if"] == "always()"
    assert (names.index(INSTALL_STEP[0]), all_steps[names.index(INSTALL_STEP[0])]["run"]) == (
        2,
        INSTALL_STEP[1],
    )


def run_steps(workflow: dict, folder: Path, summary: Path) -> list[str]:
    """Run every ``run:`` step but the install one in ``folder``; return the names run."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(folder),
        "CI": "true",
        "MPLBACKEND": "Agg",
    }
    (job,) = workflow["jobs"].values()
    env.update({k: str(v) for k, v in job.get("env", {}).items()})
    ran = []
    for step in job["steps"]:
        if "run" not in step or step.get("name") == INSTALL_STEP[0]:
            continue
        assert "${{" not in step["run"], f"{step['name']}: uses a GitHub expression in run:"
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", step["run"]],
            cwd=folder,
            env={**env, **{k: str(v) for k, v in step.get("env", {}).items()}},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (
            f"step {step['name']!r} exited {done.returncode}:\n{done.stderr[-2000:]}"
        )
        ran.append(step["name"])
    return ran


def test_ml_pipeline_steps_pass_and_write_metrics_and_gate_decision_to_the_summary(tmp_path):
    """All steps in one test: under pytest-xdist a shared fixture could run the pipeline twice."""
    summary_file = tmp_path / "summary.md"
    ran = run_steps(load("ml-pipeline.yml"), tmp_path, summary_file)
    assert ran == ["Export the dataset", *ML_STEPS]
    out = tmp_path / "ml-run"
    names = ("reference", "train", "holdout", "current")
    sizes = [len(pd.read_csv(out / f"{n}.csv")) for n in names]
    assert sizes == [426, 319, 107, 143]
    drift = json.loads((out / "drift.json").read_text())
    assert drift["n_reference"] == 426 and drift["n_current"] == 319
    assert drift["dataset_drift"] is False
    gate = json.loads((out / "gate.json").read_text())
    assert gate["blessed"] is True and gate["metrics"]["accuracy"] >= 0.90
    assert gate["production_metrics"] is None  # a fresh registry: nothing to compare with yet
    registry = json.loads((out / "registry.json").read_text())
    assert [v["version"] for v in registry["versions"]] == [1]
    assert registry["aliases"] == {"production": 1}
    assert (out / "registry" / "versions" / "0001" / "model.skops").is_file()
    monitor = json.loads((out / "monitor.json").read_text())
    assert monitor["retrain"] is False and monitor["n_current"] == 143

    summary = summary_file.read_text(encoding="utf-8")
    headings = [line for line in summary.splitlines() if line.startswith("### ")]
    assert headings == [
        "### Data Validation (train.csv): ✅ valid (319 rows, 31 columns)",
        "### Data Validation (holdout.csv): ✅ valid (107 rows, 31 columns)",
        "### Data Drift (train.csv against reference.csv): ✅ no dataset drift",
        "### Train Model: ✅ logistic_regression",
        "### Test Model: quality gate ✅ blessed",
        "### Deploy Model: ✅ version 1 is in production",
        "### Model registry: 1 version",
        "### Production Monitoring: ✅ keep the production model",
    ]
    metrics, base = gate["metrics"], gate["baseline_metrics"]
    assert f"| accuracy | {metrics['accuracy']:.4f} | – | {base['accuracy']:.4f} |" in summary
    assert f"| f1 | {metrics['f1']:.4f} | – | {base['f1']:.4f} |" in summary
    assert "| threshold_accuracy | ✅ pass | accuracy " in summary
    assert "| beats_baseline | ✅ pass |" in summary
    assert "| production | 1 |" in summary
