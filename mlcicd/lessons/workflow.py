"""What lesson 8 (putting it together) computes and draws.

The ``mlcicd`` command line run as a CI workflow, one process per command (:func:`run_workflow`):
new data is validated and checked for drift against the production model's data before training,
the gate judges the candidate on a holdout drawn from the new data; production monitoring is its
own job (:func:`check_production`), whose verdict is keep, retrain (run the workflow again on new
data) or roll back (the last deploy made things worse). Then what runs on every commit and what
nightly, timed (:func:`ci_schedule`); a checklist inspired by the ML Test Score
(:func:`checklist_score`); the self-checks (:data:`QUESTIONS`) and the results
(:func:`record_results`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlcicd.course.widgets import question_bank
from mlcicd.data import TARGET, load_dataset, production_batches, split
from mlcicd.errors import InputError
from mlcicd.files import atomic_write
from mlcicd.lessons._common import fresh_workdir
from mlcicd.monitoring import detect_drift
from mlcicd.outcomes import FAILED, OK, SKIPPED, WARNING
from mlcicd.pipeline import release
from mlcicd.training import ModelSpec, train_model

BATCH_KINDS = ("clean", "broken", "drifted", "mislabelled")
DRIFT_SHIFT = 1.0  # reference standard deviations the drifted half of the features moves
LIVE_ROWS = 100  # rows in a week of labelled production data
REFERENCE = "{reference}"  # replaced by the production model's training data (or reference.csv)
SETUP_STEP = (
    "Infer Schema",
    ("infer-schema", "reference.csv", "--target", TARGET, "-o", "schema.json"),
)


@dataclass(frozen=True)
class Step:
    """A workflow step: its commands (run in order, as a ``run:`` block under ``bash -e``).

    A step that is not ``blocking`` reports a failed check (exit code 1) as a warning and the
    workflow goes on (GitHub Actions: ``continue-on-error``); bad input (exit code 2) still fails.
    """

    name: str
    commands: tuple[tuple[str, ...], ...]
    blocking: bool = True


WORKFLOW = (
    Step("Data Validation", (("validate-data", "train.csv", "--schema", "schema.json"),
                             ("validate-data", "holdout.csv", "--schema", "schema.json"))),
    Step("Data Drift", (("monitor", REFERENCE, "train.csv", "--target", TARGET),), blocking=False),
    Step("Train Model", (("train", "train.csv", "--target", TARGET, "-o", "model.skops"),)),
    Step("Test Model", (("test-model", "model.skops", "holdout.csv", "--target", TARGET,
                         "--registry", "registry"),)),
    Step("Deploy Model", (("deploy", "model.skops", "--registry", "registry",
                           "--schema", "schema.json"),)),
)  # fmt: skip
STEP_NAMES = tuple(s.name for s in WORKFLOW)


@dataclass(frozen=True)
class StepRun:
    """One workflow step: its command(s), exit code (None when skipped), time and output."""

    name: str
    command: str
    exit_code: int | None
    seconds: float
    stdout: str = ""
    stderr: str = ""
    blocking: bool = True

    @property
    def status(self) -> str:
        if self.exit_code is None:
            return SKIPPED
        if self.exit_code == 0:
            return OK
        return WARNING if self.exit_code == 1 and not self.blocking else FAILED

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}

    def show(self) -> str:
        """The step as a CI log shows it: the command, its output and the exit code."""
        if self.exit_code is None:
            return f"--- {self.name}: skipped (an earlier step failed)"
        text = (self.stdout + self.stderr).rstrip()
        note = " (a warning: the workflow goes on)" if self.status == WARNING else ""
        return f"--- {self.name}: $ {self.command}\n{text}\n(exit code {self.exit_code}){note}"


@dataclass(frozen=True)
class WorkflowRun:
    """The steps of one workflow run on one batch; ``ok`` when no step failed.

    ``deployed`` is the registry version the run deployed (None when it deployed nothing).
    """

    batch: str
    steps: tuple[StepRun, ...]
    deployed: int | None = None

    @property
    def ok(self) -> bool:
        return all(s.status in (OK, WARNING) for s in self.steps)

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps if s.status == FAILED), None)

    @property
    def exit_codes(self) -> dict[str, int | None]:
        return {s.name: s.exit_code for s in self.steps}

    @property
    def statuses(self) -> dict[str, str]:
        return {s.name: s.status for s in self.steps}

    def to_frame(self) -> pd.DataFrame:
        rows = [(s.name, s.command, s.status, s.exit_code, s.seconds) for s in self.steps]
        frame = pd.DataFrame(rows, columns=["step", "command", "status", "exit_code", "seconds"])
        return frame.astype({"exit_code": "Int64"})

    def log(self) -> str:
        return "\n".join(s.show() for s in self.steps)


def run_command(
    name: str,
    args: Iterable[str],
    cwd: str | os.PathLike,
    timeout: float = 600,
    *,
    blocking: bool = True,
) -> StepRun:
    """Run ``python -m mlcicd ARGS`` in ``cwd`` as a separate process; return a :class:`StepRun`."""
    args = [str(a) for a in args]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mlcicd", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - start
    return StepRun(
        name,
        " ".join(["mlcicd", *args]),
        done.returncode,
        seconds,
        done.stdout,
        done.stderr,
        blocking,
    )


def run_step(step: Step, cwd: str | os.PathLike, reference: str) -> StepRun:
    """Run the step's commands in order, stopping at the first that exits non-zero."""
    runs = []
    for command in step.commands:
        args = [reference if a == REFERENCE else a for a in command]
        runs.append(run_command(step.name, args, cwd, blocking=step.blocking))
        if runs[-1].exit_code != 0:
            break
    return StepRun(
        step.name,
        " && ".join(r.command for r in runs),
        runs[-1].exit_code,
        sum(r.seconds for r in runs),
        "".join(r.stdout for r in runs),
        "".join(r.stderr for r in runs),
        step.blocking,
    )


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def workflow_pools(data: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(reference, live)``: a fixed stratified 75/25 split of the data. New training batches
    are drawn from the reference rows, production weeks from the live rows, so no model ever
    trains on a row that monitoring later scores it on."""
    return split(load_dataset() if data is None else data, TARGET, seed=0)


def _shift(frame: pd.DataFrame, reference: pd.DataFrame, shift: float) -> pd.DataFrame:
    """Move the first half of the features by ``shift`` reference standard deviations."""
    features = [c for c in reference.columns if c != TARGET]
    moved = features[: len(features) // 2]
    out = frame.copy()
    out[moved] = out[moved] + shift * reference[moved].std()
    return out


def setup_workflow(workdir: str | os.PathLike, data: pd.DataFrame | None = None) -> StepRun:
    """Empty ``workdir`` (see :func:`fresh_workdir`), write ``reference.csv`` (the reference
    rows: what the first drift check compares with) and run the one-off step
    ``mlcicd infer-schema`` on it."""
    root = fresh_workdir(workdir)
    _write_csv(workflow_pools(data)[0], root / "reference.csv")
    return run_command(SETUP_STEP[0], SETUP_STEP[1], root)


def workflow_batch(
    kind: str, data: pd.DataFrame | None = None, *, seed: int = 0, shift: float = DRIFT_SHIFT
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A new batch of labelled data as ``(train, holdout)``: a stratified 75/25 split (by
    ``seed``) of the reference rows, so the holdout is new data the candidate never trains on.

    ``"clean"`` as drawn; ``"drifted"``: the first half of the features moved by ``shift``
    reference standard deviations; ``"broken"``: a misspelt column, missing values, negative
    values; ``"mislabelled"``: the features are clean but the label column came from the wrong
    source (a rule on ``mean_texture`` instead of the diagnosis: 1 below the median, else 0)."""
    if kind not in BATCH_KINDS:
        raise InputError(f"kind={kind!r}: unknown batch (allowed: {', '.join(BATCH_KINDS)})")
    reference = workflow_pools(data)[0]
    parts = split(reference, TARGET, seed=seed)
    features = [c for c in reference.columns if c != TARGET]
    out = []
    for i, part in enumerate(parts):
        if kind == "drifted":
            part = _shift(part, reference, shift)
        elif kind == "mislabelled":
            rule = part[features[1]] <= reference[features[1]].median()
            part = part.assign(**{TARGET: rule.astype(part[TARGET].dtype)})
        elif kind == "broken":
            rng = np.random.default_rng([seed, i])
            picked = rng.choice(len(part), size=max(1, len(part) // 20), replace=False)
            part.loc[picked, features[0]] = np.nan
            part.loc[picked[: max(1, len(picked) // 2)], features[3]] *= -1
            part = part.rename(columns={features[1]: f"{features[1]}_v2"})
        out.append(part)
    return out[0], out[1]


def live_week(
    data: pd.DataFrame | None = None, *, seed: int = 0, shift: float = 0.0, rows: int = LIVE_ROWS
) -> pd.DataFrame:
    """A week of labelled production data: ``rows`` live rows drawn without replacement, the
    first half of the features moved by ``shift`` reference standard deviations."""
    reference, live = workflow_pools(data)
    if not 1 <= rows <= len(live):
        raise InputError(f"rows={rows!r}: expected 1 .. {len(live)} (the live rows)")
    week = live.sample(n=rows, random_state=seed).reset_index(drop=True)
    return _shift(week, reference, shift) if shift else week


def _data_dir(version: int) -> str:
    return f"data/v{version:04d}"


def _production(root: Path) -> int | None:
    from mlcicd.registry import Registry

    return (
        Registry(root / "registry").aliases().get("production")
        if (root / "registry").is_dir()
        else None
    )


def run_workflow(
    batch: tuple[pd.DataFrame, pd.DataFrame],
    workdir: str | os.PathLike,
    *,
    label: str = "batch",
    stop_on_failure: bool = True,
    progress: bool = False,
) -> WorkflowRun:
    """Run the :data:`WORKFLOW` steps on ``batch`` (``train, holdout``) in ``workdir`` (made by
    :func:`setup_workflow`), each command its own ``python -m mlcicd`` process; after a failing
    step the rest are skipped, as a CI server stops at the first red step.

    The drift check compares the new training data with the production model's training data
    (``reference.csv`` before the first deploy). A deploy keeps the batch next to the registry
    (``data/vNNNN/``): the data version of the model, which later checks compare with."""
    root = Path(workdir)
    missing = [f for f in ("reference.csv", "schema.json") if not (root / f).is_file()]
    if missing:
        raise InputError(f"workdir {root}: no {', '.join(missing)} (run setup_workflow first)")
    train, holdout = batch
    _write_csv(train, root / "train.csv")
    _write_csv(holdout, root / "holdout.csv")
    before = _production(root)
    reference = "reference.csv" if before is None else f"{_data_dir(before)}/train.csv"
    steps: list[StepRun] = []
    for step in tqdm(WORKFLOW, desc=label, disable=not progress):
        if stop_on_failure and any(s.status == FAILED for s in steps):
            command = " && ".join(" ".join(["mlcicd", *c]) for c in step.commands)
            steps.append(
                StepRun(
                    step.name,
                    command.replace(REFERENCE, reference),
                    None,
                    0.0,
                    blocking=step.blocking,
                )
            )
        else:
            steps.append(run_step(step, root, reference))
    deployed = None
    if steps[-1].status == OK:
        deployed = _production(root)
        assert deployed is not None  # the deploy step passed, so production is set
        keep = root / _data_dir(deployed)
        keep.mkdir(parents=True, exist_ok=True)
        for name in ("train.csv", "holdout.csv"):
            shutil.copyfile(root / name, keep / name)
    return WorkflowRun(label, tuple(steps), deployed)


# ------------------------------------------------------------ lesson 8: production monitoring


@dataclass(frozen=True)
class LiveCheck:
    """Production monitoring on one labelled week: the serving version's monitor report, the
    previous version's on the same rows (only when production called for retraining), and the
    verdict (:func:`live_verdict`)."""

    week: str
    production: int
    report: dict[str, Any]
    step: StepRun
    previous: int | None = None
    previous_report: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        return live_verdict(self.report, self.previous_report)

    def summary(self) -> str:
        lines = [f"{self.week}: {_line(self.production, self.report)}"]
        if self.previous_report is not None:
            lines.append(
                f"{' ' * len(self.week)}  {_line(self.previous, self.previous_report)}"
                " (previous version, same rows)"
            )
        lines.append(f"verdict: {self.verdict.upper()}")
        return "\n".join(lines)


def _line(version: int | None, report: Mapping[str, Any]) -> str:
    acc, ref = report.get("accuracy"), report.get("reference_accuracy")
    accuracy = "" if acc is None else f"accuracy {acc:.3f} (on its holdout {ref:.3f}), "
    decision = "retrain" if report["retrain"] else "keep"
    return f"version {version}: {accuracy}drift share {report['drift_share']:.2f} -> {decision}"


def live_verdict(production: Mapping[str, Any], previous: Mapping[str, Any] | None) -> str:
    """``"keep"`` when production's monitor does not call for retraining; ``"rollback"`` when it
    does but the previous version, on the same live rows, does not (the last deploy is what went
    wrong); otherwise ``"retrain"`` (the world moved: run the workflow on new data). The policy is
    :func:`mlcicd.pipeline.release.live_verdict`."""
    return release.live_verdict(
        production["retrain"], None if previous is None else previous["retrain"]
    )


def _monitor(root: Path, name: str, version: int, model_args: list[str]) -> StepRun:
    args = [
        "monitor",
        f"{_data_dir(version)}/holdout.csv",
        "live.csv",
        "--target",
        TARGET,
        *model_args,
        "--json",
    ]
    return run_command(name, args, root)


def _report(step: StepRun) -> dict[str, Any]:
    if step.exit_code not in (0, 1):
        raise InputError(f"{step.command}: exit code {step.exit_code}: {step.stderr.strip()}")
    return json.loads(step.stdout)


def check_production(
    week: pd.DataFrame, workdir: str | os.PathLike, *, label: str = "week"
) -> LiveCheck:
    """The production monitoring job: ``mlcicd monitor`` compares a labelled live ``week`` with
    the production model's holdout (its own distribution, where its accuracy was measured
    honestly) and measures the production model's accuracy on the week. When that calls for
    retraining and a previous version exists, the previous version is scored on the same rows."""
    from mlcicd.registry import Registry

    root = Path(workdir)
    production = _production(root)
    if production is None:
        raise InputError(f"workdir {root}: no production model to monitor (deploy one first)")
    _write_csv(week, root / "live.csv")
    step = _monitor(root, "Production Monitoring", production, ["--registry", "registry"])
    report = _report(step)
    previous = previous_report = None
    if report["retrain"]:
        previous = Registry(root / "registry").aliases().get("previous")
        if previous is not None:
            model = f"registry/versions/{previous:04d}/model.skops"
            previous_report = _report(
                _monitor(root, "Previous Version", previous, ["--model", model])
            )
    return LiveCheck(label, production, report, step, previous, previous_report)


def rollback(workdir: str | os.PathLike) -> StepRun:
    """``mlcicd rollback``: the previous version serves again (its data version comes with it)."""
    return run_command("Rollback", ["rollback", "--registry", "registry"], workdir)


def gate_decision(workdir: str | os.PathLike) -> dict[str, Any]:
    """The last ``mlcicd test-model`` decision written in ``workdir`` (``model.skops.gate.json``)."""
    return json.loads((Path(workdir) / "model.skops.gate.json").read_text(encoding="utf-8"))


def workflow_yaml() -> str:
    """The workflow as a CI configuration file (GitHub Actions style) of real commands."""
    lines = ["on: [push]", "jobs:", "  ml-ci:", "    runs-on: ubuntu-latest", "    steps:"]
    lines += ["      - uses: actions/checkout@v4", "      - run: pip install -e ."]
    for step in WORKFLOW:
        lines.append(f"      - name: {step.name}")
        commands = [f"mlcicd {' '.join(c)}" for c in step.commands]
        if not step.blocking:  # exit 1 (a failed check) warns and the run goes on; 2 still fails
            commands = [f"{c} || [ $? -eq 1 ]" for c in commands]
        if len(commands) == 1:
            lines.append(f"        run: {commands[0]}")
        else:
            lines += ["        run: |", *[f"          {c}" for c in commands]]
    return "\n".join(lines).replace(REFERENCE, "data/PRODUCTION/train.csv")


def explore_workflow(
    batch_kind: str, *, workdir: str | os.PathLike, data: pd.DataFrame | None = None, seed: int = 0
) -> WorkflowRun:
    """A fresh work folder, then the workflow on a batch of the chosen kind (for an Explorer)."""
    if batch_kind not in BATCH_KINDS:
        raise InputError(f"batch_kind={batch_kind!r}: unknown (allowed: {', '.join(BATCH_KINDS)})")
    setup = setup_workflow(workdir, data)
    if setup.exit_code != 0:
        raise InputError(f"setup failed: {setup.stderr.strip() or setup.stdout.strip()}")
    return run_workflow(workflow_batch(batch_kind, data, seed=seed), workdir, label=batch_kind)


def describe_workflow(run: WorkflowRun) -> str:
    total = sum(s.seconds for s in run.steps)
    warned = [s.name for s in run.steps if s.status == WARNING]
    warning = f", warning at {', '.join(warned)}" if warned else ""
    if run.ok:
        deployed = f", deployed version {run.deployed}" if run.deployed else ""
        return f"batch {run.batch!r}: no step failed{warning}{deployed} ({total:.1f} s)"
    skipped = sum(s.status == SKIPPED for s in run.steps)
    assert run.failed_step is not None  # a run that is not ok stopped at a step
    code = run.exit_codes[run.failed_step]
    return (
        f"batch {run.batch!r}: red at {run.failed_step} (exit code {code}){warning}, "
        f"{skipped} step(s) skipped ({total:.1f} s)"
    )


def draw_workflow(run: WorkflowRun, ax) -> None:
    """Seconds per step: green passed, orange warned, red failed, grey skipped."""
    colours = {OK: "tab:green", WARNING: "tab:orange", FAILED: "tab:red", SKIPPED: "0.75"}
    names = [s.name for s in run.steps]
    bars = ax.bar(
        names, [s.seconds for s in run.steps], color=[colours[s.status] for s in run.steps]
    )
    labels = ["skipped" if s.exit_code is None else f"exit {s.exit_code}" for s in run.steps]
    ax.bar_label(bars, labels, fontsize=8)
    ax.set(
        xlabel="workflow step",
        ylabel="wall time (s)",
        title=f"ML CI workflow on the {run.batch} batch",
    )
    ax.tick_params(axis="x", labelrotation=20)
    ax.margins(y=0.15)
    ax.grid(alpha=0.3, axis="y")


# ------------------------------------------------------- lesson 8: every commit and nightly


def _timed(trigger: str, job: str, work) -> dict[str, Any]:
    start = time.perf_counter()
    ok, detail = work()
    return {
        "trigger": trigger,
        "job": job,
        "seconds": time.perf_counter() - start,
        "ok": bool(ok),
        "detail": detail,
    }


def ci_schedule(
    workdir: str | os.PathLike,
    data: pd.DataFrame | None = None,
    *,
    sample_rows: int = 100,
    sweep_versions: int = 10,
    monitor_weeks: int = 4,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Run and time the jobs of a commit build (code tests, data validation on a sample, a small
    training smoke test, the gate) and of a nightly build (full retraining of a bigger model,
    the version sweep, drift monitoring over production weeks). One row per job."""
    from mlcicd.measure.software_ci import run_software_ci
    from mlcicd.pipeline import run_versions
    from mlcicd.validation import infer_schema, validate_data

    data = load_dataset() if data is None else data
    train, holdout = split(data, TARGET, seed=seed)
    if not 20 <= sample_rows <= len(train):
        raise InputError(f"sample_rows={sample_rows!r}: expected 20 .. {len(train)}")
    schema = infer_schema(train, target=TARGET)
    sample = train.sample(n=sample_rows, random_state=seed)
    root = fresh_workdir(workdir)
    smoke: dict[str, Any] = {}

    def code_tests():
        result = run_software_ci(root / "software")
        return result.ok, f"{len(result.steps)} software CI steps"

    def sample_validation():
        report = validate_data(sample, schema)
        return report.valid, f"{sample_rows} rows, {len(report.anomalies)} anomalies"

    def smoke_training():
        smoke["model"] = train_model(sample, TARGET, seed=seed).model
        return True, f"logistic regression on {sample_rows} rows"

    def gate():
        decision = release.decide(smoke["model"], holdout, TARGET)
        return decision.blessed, f"accuracy {decision.metrics['accuracy']:.3f} on the holdout"

    def full_training():
        spec = ModelSpec("random_forest", {"n_estimators": 300})
        smoke["full"] = train_model(train, TARGET, spec, seed=seed).model
        return True, f"random forest (300 trees) on {len(train)} rows"

    def sweep():
        result = run_versions(sweep_versions, data=data, seed=seed, progress=progress)
        return True, f"{sweep_versions} versions, {len(result.deployed)} deployed"

    def monitoring():
        weeks = production_batches(data, TARGET, monitor_weeks, 200, covariate_shift=1.0, seed=seed)
        reports = [detect_drift(train, w, target=TARGET, model=smoke["full"]) for w in weeks]
        flagged = sum(r.retrain for r in reports)
        return True, f"{monitor_weeks} weeks checked, {flagged} call(s) for retraining"

    jobs = [
        ("every commit", "code tests", code_tests),
        ("every commit", "data validation (sample)", sample_validation),
        ("every commit", "training smoke test", smoke_training),
        ("every commit", "quality gate", gate),
        ("nightly", "full retraining", full_training),
        ("nightly", "version sweep", sweep),
        ("nightly", "drift monitoring", monitoring),
    ]
    rows = [_timed(t, j, w) for t, j, w in tqdm(jobs, desc="jobs", disable=not progress)]
    return pd.DataFrame(rows)


def plot_schedule(frame: pd.DataFrame):
    """Seconds per job, commit jobs and nightly jobs in two colours, with each trigger's total."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    colours = {"every commit": "tab:blue", "nightly": "tab:purple"}
    fig, ax = plt.subplots(figsize=(8, 4))
    bars = ax.barh(frame["job"], frame["seconds"], color=[colours[t] for t in frame["trigger"]])
    ax.bar_label(bars, [f"{s:.2f} s" for s in frame["seconds"]], fontsize=8, padding=2)
    totals = frame.groupby("trigger", sort=False)["seconds"].sum()
    handles = [
        Patch(color=c, label=f"{t}: {totals.get(t, 0):.1f} s in total") for t, c in colours.items()
    ]
    ax.invert_yaxis()
    ax.set(xlabel="wall time (s)", title="What runs on every commit and what runs nightly")
    ax.margins(x=0.2)
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


# ------------------------------------- lesson 8: a checklist inspired by the ML Test Score

CHECKLIST: dict[str, tuple[str, ...]] = {
    "data": (
        "A schema of every feature is written down and checked on each new batch",
        "Every training run records the fingerprint (version) of its data",
        "A broken batch stops the pipeline before any training",
        "New training data is checked for drift against the production model's data",
    ),
    "model": (
        "Every candidate must beat a trivial baseline",
        "A minimum accuracy is required on a holdout the model never saw",
        "A new model may not be worse than production (within a tolerance)",
        "The model spec and hyper-parameters are stored with each version",
    ),
    "infrastructure": (
        "Training is reproducible: same data and seed give the same model",
        "Every deployed model is a numbered version in a registry",
        "Rolling back to the previous version is one tested command",
        "The whole pipeline runs end to end in CI on every change",
    ),
    "monitoring": (
        "Live data is compared with the production model's data for drift",
        "Accuracy on labelled live data is tracked week by week",
        "A drop after a deploy is checked against the previous version (rollback or retrain)",
        "Someone is alerted when a monitored number crosses its limit",
    ),
}
# The course's own bands, for its 4 items per area (not the paper's bands: those are for its
# 28 tests, half a point for a manual test and a full point for an automated one).
BANDS = (
    (0, "an area with no check at all: not ready for production"),
    (1, "a start: every area has at least one check"),
    (2, "half of this list's checks in every area"),
    (3, "all but one of this list's checks in every area"),
    (4, "every check on this short list (the paper's rubric asks for far more)"),
)
# Breck et al. (2017), "The ML Test Score: A Rubric for ML Production Readiness and Technical
# Debt Reduction", IEEE Big Data: the final score is the minimum of the four section scores.
# Upper ends of its bands (score 0 alone; then (0, 1], (1, 2], (2, 3], (3, 5], above 5), with the
# paper's words for each.
PAPER_BANDS = (
    (0, "more of a research project"),
    (1, "not totally untested"),
    (2, "first pass at basic productionization"),
    (3, "reasonably tested"),
    (5, "strong levels of automated testing and monitoring"),
    (None, "exceptional"),
)


def paper_band(score: float) -> str:
    """The paper's reading of a final ML Test Score: 0; (0, 1]; (1, 2]; (2, 3]; (3, 5]; above 5."""
    if not score >= 0:
        raise InputError(f"score={score!r}: an ML Test Score is a number >= 0")
    return next(text for high, text in PAPER_BANDS if high is None or score <= high)


def checklist_score(ticked: Mapping[str, Iterable[int]]) -> dict[str, Any]:
    """Score ticked items (area -> item indexes): a point per item, and, as the ML Test Score
    does, the overall score is the lowest area score (a system is as ready as its weakest area)."""
    unknown = [str(a) for a in ticked if a not in CHECKLIST]
    if unknown:
        raise InputError(f"area(s) {', '.join(unknown)}: unknown (allowed: {', '.join(CHECKLIST)})")
    by_area = {}
    for area, items in CHECKLIST.items():
        chosen = set(ticked.get(area, ()))
        if not chosen <= set(range(len(items))):
            raise InputError(f"area {area!r}: item indexes must be in 0..{len(items) - 1}")
        by_area[area] = len(chosen)
    score = min(by_area.values())
    band = [text for low, text in BANDS if score >= low][-1]
    weakest = [a for a, s in by_area.items() if s == score]
    return {"by_area": by_area, "score": score, "band": band, "weakest": weakest}


def describe_score(result: Mapping[str, Any]) -> str:
    areas = ", ".join(f"{a} {s}/{len(CHECKLIST[a])}" for a, s in result["by_area"].items())
    return (
        f"checklist score {result['score']} of 4 ({result['band']}); {areas}; "
        f"weakest: {', '.join(result['weakest'])}"
    )


def checklist_widget():
    """Checkboxes per area; every tick recomputes :func:`checklist_score` into ``box.score``."""
    import html

    import ipywidgets as w

    boxes = {
        area: [
            w.Checkbox(description=item, indent=False, layout=w.Layout(width="auto"))
            for item in items
        ]
        for area, items in CHECKLIST.items()
    }
    label = w.HTML()

    def update(_=None):
        ticked = {a: [i for i, b in enumerate(bs) if b.value] for a, bs in boxes.items()}
        box.score = checklist_score(ticked)
        label.value = f"<b>{html.escape(describe_score(box.score))}</b>"

    sections = []
    for area, checks in boxes.items():
        for check in checks:
            check.observe(update, names="value")
        sections.append(w.VBox([w.HTML(f"<b>{area.capitalize()}</b>"), *checks]))
    box = w.VBox([*sections, label])
    box.checkboxes = boxes
    update()
    return box


# ------------------------------------------------------------- lesson 8: self-checks, results

QUESTIONS: dict[str, dict[str, Any]] = {
    "renamed_column": {
        "question": (
            "A nightly export renames a column of the new training batch (say `mean_area` becomes "
            "`area_mean`). Which step of the workflow should turn red, and why there?"
        ),
        "options": [
            "Data Validation: the batch breaks the schema, and stopping there means nothing is "
            "trained on it or deployed from it",
            "Test Model: a model trained without that column will score too low at the gate",
            "Deploy Model: the registry stores the schema and refuses a model that does not fit",
            "Production Monitoring: the live data will show the model's accuracy falling",
        ],
        "answer": 0,
        "explanation": (
            "The schema check is cheap and names the problem (missing_column, unexpected_column); "
            "every later step would spend time on data that is already known to be wrong."
        ),
        "feedback": {
            1: (
                "Not reliably: training takes the renamed column as just another column and the "
                "model may well pass the gate; the gate judges a model, not the data, and only "
                "after paying for the training."
            ),
            2: (
                "The deploy step checks the gate's decision for this exact model file; the schema "
                "is stored with the version for later audits, not used to refuse the deploy."
            ),
            3: (
                "By then the model is serving patients. Monitoring is the net behind the pipeline, "
                "not the place to catch a broken input file."
            ),
        },
    },
    "gate_holdout": {
        "question": (
            "The drift check warns: half of the features in the new training batch moved away from "
            "the data the production model learned from. The schema passes. On which data should "
            "the gate compare the candidate with the production model?"
        ),
        "options": [
            "On the holdout kept from the production model's own training data",
            "On a holdout drawn from the new batch, which the candidate never trains on",
            "On the new training batch itself, since it is the most recent data",
            "On nothing: drift is the reason to retrain, so the candidate can skip the gate",
        ],
        "answer": 1,
        "explanation": (
            "The model will serve data like the new batch, so the gate must measure both models on "
            "rows from it that neither trained on; on such rows the old model's accuracy shows "
            "how much the drift costs it."
        ),
        "feedback": {
            0: (
                "That holdout shows how the models do on the old distribution, which is no longer "
                "what they will serve; the old model would look better than it now is."
            ),
            2: (
                "The candidate learned those rows: its accuracy on them is optimistic, and the "
                "comparison with production would be unfair."
            ),
            3: (
                "Retraining is the cure for drift, but a candidate can still be worse (a bug, "
                "too few rows, bad labels). The gate stays, on the right data."
            ),
        },
    },
    "after_deploy": {
        "question": (
            "Three days after version 7 was deployed, the labelled live rows show its accuracy "
            "well below what it scored at the gate. Version 6, scored on the same rows, is as "
            "good as at its own gate, and the features show no drift. What do you do first?"
        ),
        "options": [
            "Retrain on the newest batch and deploy the result",
            "Roll back to version 6, then find out what went wrong with version 7",
            "Lower the gate's threshold so the accuracy alarm stops",
            "Nothing yet: a few days of data are too few to act on",
        ],
        "answer": 1,
        "explanation": (
            "The world did not move (version 6 still does well on it); the last deploy made things "
            "worse. A rollback is one alias move to a model that passed its gate, while someone "
            "looks for the cause (here in the lesson: labels from the wrong source)."
        ),
        "feedback": {
            0: (
                "Retraining cures drift, and there is none: the newest batch may carry the very "
                "fault that spoiled version 7, and training it takes time the patients wait."
            ),
            2: (
                "That hides the alarm without fixing the model; the gate and the monitor exist to "
                "say no in exactly this case."
            ),
            3: (
                "The gap is measured against a version that still does well on the same rows; "
                "waiting keeps the worse model serving."
            ),
        },
    },
    "nightly": {
        "question": (
            "A team's commit build takes 40 minutes because it retrains a large forest on all the "
            "data and sweeps every model version. What should they move, and where?"
        ),
        "options": [
            "Nothing: every commit must retrain on all the data or the gate means nothing",
            "Move the code tests to the nightly build, since they rarely fail",
            "Move the full retraining and the sweep to a nightly (or weekly) build; keep the fast "
            "checks (code tests, data sample, smoke training, gate) on every commit",
            "Drop the full retraining: the smoke test on a sample is enough",
        ],
        "answer": 2,
        "explanation": (
            "Slow jobs that depend on the data rather than on the change run on a schedule; the "
            "commit build keeps the checks that catch mistakes in the change, fast."
        ),
        "feedback": {
            0: (
                "The gate on a smoke-trained model still catches a broken change; the full "
                "retraining answers a different question (is the big model still good?), daily."
            ),
            1: (
                "Code tests are the cheapest and most direct check of a change: they belong on "
                "every commit."
            ),
            3: (
                "A smoke test only shows that training runs; the model that serves still has to "
                "be trained on all the data and pass the gate, on a schedule."
            ),
        },
    },
    "maturity": {
        "question": (
            "A team's pipeline validates new data, retrains, gates and deploys on its own when the "
            "monitor calls for it. Changes to the pipeline's code are tested by hand and copied "
            "to the server by an engineer. Which MLOps level is that?"
        ),
        "options": ["Level 0", "Level 1", "Level 2"],
        "answer": 1,
        "explanation": (
            "Continuous training of the model is automated (level 1); the pipeline's own code is "
            "not built, tested and released by CI/CD, which is what level 2 adds."
        ),
        "feedback": {
            0: (
                "At level 0 a person trains and hands over each model; here the pipeline retrains "
                "and deploys models by itself."
            ),
            2: (
                "Level 2 also automates the pipeline's own delivery: a change to its code is built, "
                "tested and deployed by CI/CD, not tested by hand and copied."
            ),
        },
    },
}
check_yourself = question_bank(QUESTIONS)


def record_results(output_dir: str | os.PathLike, **computed: Any) -> Path:
    """Record what the lesson computed into ``results.json`` (what ``tests/lessons/test_08_workflow.py``
    reads): workflow runs, production checks and gate decisions by name, plus plain values."""
    from mlcicd.course import save_results

    results: dict[str, Any] = {}
    for name, value in computed.items():
        if isinstance(value, WorkflowRun):
            results[name] = {
                "exit_codes": value.exit_codes,
                "statuses": value.statuses,
                "ok": value.ok,
                "failed_step": value.failed_step,
                "deployed": value.deployed,
            }
        elif isinstance(value, LiveCheck):
            results[name] = {
                "production": value.production,
                "verdict": value.verdict,
                "exit_code": value.step.exit_code,
                "previous": value.previous,
                **{
                    f"{k}": value.report.get(k)
                    for k in ("accuracy", "reference_accuracy", "drift_share", "retrain")
                },
                "previous_accuracy": (value.previous_report or {}).get("accuracy"),
                "previous_retrain": (value.previous_report or {}).get("retrain"),
            }
        elif isinstance(value, StepRun):
            results[name] = value.exit_code
        elif isinstance(value, pd.DataFrame):  # the schedule
            results[name] = value[["trigger", "job", "ok"]].to_dict("records")
            results[f"{name}_seconds"] = {
                t: float(s) for t, s in value.groupby("trigger")["seconds"].sum().items()
            }
        else:
            results[name] = value
    return save_results(output_dir, results)
