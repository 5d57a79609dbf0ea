"""What lesson 8 (putting it together) computes and draws.

The ``mlcicd`` command line run as a CI workflow, one process per step (:func:`run_workflow`);
what runs on every commit and what nightly, timed (:func:`ci_schedule`); and the ML Test Score
checklist (:func:`checklist_score`).
"""

from __future__ import annotations

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

from mlcicd.data import TARGET, load_dataset, production_batches, split
from mlcicd.errors import InputError
from mlcicd.evaluation import validate_model
from mlcicd.files import atomic_write
from mlcicd.lessons._common import fresh_workdir
from mlcicd.monitoring import detect_drift
from mlcicd.training import ModelSpec, train_model

BATCH_KINDS = ("clean", "broken", "drifted")
SETUP_STEP = (
    "Infer Schema",
    ("infer-schema", "reference.csv", "--target", TARGET, "-o", "schema.json"),
)
WORKFLOW = (
    ("Data Validation", ("validate-data", "batch.csv", "--schema", "schema.json")),
    ("Train Model", ("train", "batch.csv", "--target", TARGET, "-o", "model.skops")),
    ("Test Model", ("test-model", "model.skops", "holdout.csv", "--target", TARGET,
                    "--registry", "registry")),
    ("Deploy Model", ("deploy", "model.skops", "--registry", "registry",
                      "--schema", "schema.json")),
    ("Monitor", ("monitor", "reference.csv", "batch.csv", "--target", TARGET)),
)  # fmt: skip
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class StepRun:
    """One workflow step: the command, its exit code (None when skipped), time and output."""

    name: str
    command: str
    exit_code: int | None
    seconds: float
    stdout: str = ""
    stderr: str = ""

    @property
    def status(self) -> str:
        if self.exit_code is None:
            return SKIPPED
        return PASSED if self.exit_code == 0 else FAILED

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}

    def show(self) -> str:
        """The step as a CI log shows it: the command, its output and the exit code."""
        if self.exit_code is None:
            return f"--- {self.name}: skipped (an earlier step failed)"
        text = (self.stdout + self.stderr).rstrip()
        return f"--- {self.name}: $ {self.command}\n{text}\n(exit code {self.exit_code})"


@dataclass(frozen=True)
class WorkflowRun:
    """The steps of one workflow run on one batch; ``ok`` when every step passed."""

    batch: str
    steps: tuple[StepRun, ...]

    @property
    def ok(self) -> bool:
        return all(s.status == PASSED for s in self.steps)

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps if s.status == FAILED), None)

    @property
    def exit_codes(self) -> dict[str, int | None]:
        return {s.name: s.exit_code for s in self.steps}

    def to_frame(self) -> pd.DataFrame:
        rows = [(s.name, s.command, s.status, s.exit_code, s.seconds) for s in self.steps]
        frame = pd.DataFrame(rows, columns=["step", "command", "status", "exit_code", "seconds"])
        return frame.astype({"exit_code": "Int64"})

    def log(self) -> str:
        return "\n".join(s.show() for s in self.steps)


def run_command(name: str, args: Iterable[str], cwd: str | os.PathLike, timeout: float = 600):
    """Run ``python -m mlcicd ARGS`` in ``cwd`` as a separate process; return a :class:`StepRun`."""
    args = [str(a) for a in args]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mlcicd", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
    seconds = time.perf_counter() - start
    return StepRun(name, " ".join(["mlcicd", *args]), done.returncode, seconds, done.stdout,
                   done.stderr)  # fmt: skip


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def setup_workflow(
    workdir: str | os.PathLike, data: pd.DataFrame | None = None, *, seed: int = 0
) -> StepRun:
    """Empty ``workdir`` (see :func:`fresh_workdir`), write ``reference.csv`` (the training split)
    and ``holdout.csv``, and run the one-off step ``mlcicd infer-schema`` on the reference."""
    root = fresh_workdir(workdir)
    reference, holdout = split(load_dataset() if data is None else data, TARGET, seed=seed)
    _write_csv(reference, root / "reference.csv")
    _write_csv(holdout, root / "holdout.csv")
    return run_command(SETUP_STEP[0], SETUP_STEP[1], root)


def workflow_batch(
    kind: str, data: pd.DataFrame | None = None, *, rows: int = 400, seed: int = 0
) -> pd.DataFrame:
    """A new batch of training data: ``"clean"`` (rows resampled from the reference split),
    ``"drifted"`` (the same with half the features shifted by 0.3 standard deviations) or
    ``"broken"`` (clean, with a misspelt column, missing values and negative areas)."""
    if kind not in BATCH_KINDS:
        raise InputError(f"kind={kind!r}: unknown batch (allowed: {', '.join(BATCH_KINDS)})")
    reference, _ = split(load_dataset() if data is None else data, TARGET, seed=0)
    shift = 0.3 if kind == "drifted" else 0.0
    batch = production_batches(reference, TARGET, 1, rows, covariate_shift=shift, drift_start=0,
                               seed=seed)[0]  # fmt: skip
    if kind == "broken":
        features = [c for c in batch.columns if c != TARGET]
        rng = np.random.default_rng(seed)
        picked = rng.choice(rows, size=max(1, rows // 20), replace=False)
        batch.loc[picked, features[0]] = np.nan
        batch.loc[picked[: max(1, len(picked) // 2)], features[3]] *= -1
        batch = batch.rename(columns={features[1]: f"{features[1]}_v2"})
    return batch


def run_workflow(
    batch: pd.DataFrame | str | os.PathLike,
    workdir: str | os.PathLike,
    *,
    label: str = "batch",
    stop_on_failure: bool = True,
    progress: bool = False,
) -> WorkflowRun:
    """Run the :data:`WORKFLOW` steps on ``batch`` in ``workdir`` (made by :func:`setup_workflow`),
    each as its own ``python -m mlcicd`` process; after a failing step the rest are skipped, as
    a CI server stops at the first red step."""
    root = Path(workdir)
    missing = [
        f for f in ("reference.csv", "holdout.csv", "schema.json") if not (root / f).is_file()
    ]
    if missing:
        raise InputError(f"workdir {root}: no {', '.join(missing)} (run setup_workflow first)")
    if isinstance(batch, pd.DataFrame):
        _write_csv(batch, root / "batch.csv")
    else:
        shutil.copyfile(batch, root / "batch.csv")
    steps: list[StepRun] = []
    for name, args in tqdm(WORKFLOW, desc=label, disable=not progress):
        if stop_on_failure and any(s.status == FAILED for s in steps):
            steps.append(StepRun(name, " ".join(["mlcicd", *args]), None, 0.0))
        else:
            steps.append(run_command(name, args, root))
    return WorkflowRun(label, tuple(steps))


def workflow_yaml() -> str:
    """The workflow as a CI configuration file (GitHub Actions style) of real commands."""
    lines = ["on: [push]", "jobs:", "  ml-ci:", "    runs-on: ubuntu-latest", "    steps:"]
    lines += ["      - uses: actions/checkout@v4", "      - run: pip install -e ."]
    for name, args in WORKFLOW:
        lines += [f"      - name: {name}", f"        run: mlcicd {' '.join(args)}"]
    return "\n".join(lines)


def explore_workflow(
    batch_kind: str, *, workdir: str | os.PathLike, data: pd.DataFrame | None = None, seed: int = 0
) -> WorkflowRun:
    """A fresh work folder, then the workflow on a batch of the chosen kind (for an Explorer)."""
    if batch_kind not in BATCH_KINDS:
        raise InputError(f"batch_kind={batch_kind!r}: unknown (allowed: {', '.join(BATCH_KINDS)})")
    setup = setup_workflow(workdir, data, seed=seed)
    if setup.exit_code != 0:
        raise InputError(f"setup failed: {setup.stderr.strip() or setup.stdout.strip()}")
    return run_workflow(workflow_batch(batch_kind, data, seed=seed), workdir, label=batch_kind)


def describe_workflow(run: WorkflowRun) -> str:
    total = sum(s.seconds for s in run.steps)
    if run.ok:
        return f"batch {run.batch!r}: every step passed ({total:.1f} s)"
    skipped = sum(s.status == SKIPPED for s in run.steps)
    code = run.exit_codes[run.failed_step]
    return (f"batch {run.batch!r}: red at {run.failed_step} (exit code {code}), "
            f"{skipped} step(s) skipped ({total:.1f} s)")  # fmt: skip


def draw_workflow(run: WorkflowRun, ax) -> None:
    """Seconds per step, green when it passed, red when it failed, grey when skipped."""
    colours = {PASSED: "tab:green", FAILED: "tab:red", SKIPPED: "0.75"}
    names = [s.name for s in run.steps]
    bars = ax.bar(names, [s.seconds for s in run.steps],
                  color=[colours[s.status] for s in run.steps])  # fmt: skip
    labels = ["skipped" if s.exit_code is None else f"exit {s.exit_code}" for s in run.steps]
    ax.bar_label(bars, labels, fontsize=8)
    ax.set(xlabel="workflow step", ylabel="wall time (s)",
           title=f"ML CI workflow on the {run.batch} batch")  # fmt: skip
    ax.tick_params(axis="x", labelrotation=20)
    ax.margins(y=0.15)
    ax.grid(alpha=0.3, axis="y")


# ------------------------------------------------------- lesson 8: every commit and nightly


def _timed(trigger: str, job: str, work) -> dict[str, Any]:
    start = time.perf_counter()
    ok, detail = work()
    return {"trigger": trigger, "job": job, "seconds": time.perf_counter() - start,
            "ok": bool(ok), "detail": detail}  # fmt: skip


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
    from mlcicd.pipeline import run_versions
    from mlcicd.software_ci import run_software_ci
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
        decision = validate_model(smoke["model"], holdout, TARGET)
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

    jobs = [("every commit", "code tests", code_tests),
            ("every commit", "data validation (sample)", sample_validation),
            ("every commit", "training smoke test", smoke_training),
            ("every commit", "quality gate", gate),
            ("nightly", "full retraining", full_training),
            ("nightly", "version sweep", sweep),
            ("nightly", "drift monitoring", monitoring)]  # fmt: skip
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
    handles = [Patch(color=c, label=f"{t}: {totals.get(t, 0):.1f} s in total")
               for t, c in colours.items()]  # fmt: skip
    ax.invert_yaxis()
    ax.set(xlabel="wall time (s)", title="What runs on every commit and what runs nightly")
    ax.margins(x=0.2)
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------- lesson 8: the ML Test Score checklist

CHECKLIST: dict[str, tuple[str, ...]] = {
    "data": (
        "A schema of every feature is written down and checked on each new batch",
        "Every training run records the fingerprint (version) of its data",
        "A broken batch stops the pipeline before any training",
        "Training and serving data are checked against the same schema",
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
        "Production batches are compared with the training data for drift",
        "Accuracy on labelled production data is tracked week by week",
        "A drift or accuracy alarm triggers retraining through the gate",
        "Someone is alerted when a monitored number crosses its limit",
    ),
}
BANDS = ((0, "a research project, not yet a production system"),
         (1, "a first step towards production"),
         (2, "reasonably tested"),
         (3, "strongly tested and monitored"))  # fmt: skip


def checklist_score(ticked: Mapping[str, Iterable[int]]) -> dict[str, Any]:
    """Score ticked items (area -> item indexes) the ML Test Score way: a point per item, and
    the overall score is the lowest area score (a system is as ready as its weakest area)."""
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
    return (f"ML Test Score {result['score']} ({result['band']}); {areas}; "
            f"weakest: {', '.join(result['weakest'])}")  # fmt: skip


def checklist_widget():
    """Checkboxes per area; every tick recomputes :func:`checklist_score` into ``box.score``."""
    import html

    import ipywidgets as w

    boxes = {area: [w.Checkbox(description=item, indent=False, layout=w.Layout(width="auto"))
                    for item in items] for area, items in CHECKLIST.items()}  # fmt: skip
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
