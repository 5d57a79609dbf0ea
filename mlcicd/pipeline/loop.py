"""The seed's loop, for real: for each model version, validate the data, train, validate the
model (the quality gate), deploy, monitor; timed stage by stage, cached, optionally parallel.

>>> result = run_versions(2, validation="once")
>>> result.counts["train"], result.counts["validate_data"], result.deployed
(2, 1, [1, 2])

Setup runs once per data version (recorded as version 0): the train/holdout split, the baseline
(a most-frequent classifier fitted on the holdout labels) and the schema (inferred from the first
data version's training split). Then, per version (see :mod:`mlcicd.pipeline.stages`):

1. ``validate_data`` (driver): the training split against the schema, per ``validation``;
2. ``train``, ``evaluate`` (candidate metrics on the holdout) and ``monitor`` (drift of the
   monitored batch against the training split, with the candidate's accuracy): pure and costly,
   so they run through ``joblib.Parallel``; cache lookups happen before, in the driver, and only
   misses are dispatched. Every trained candidate is monitored ("shadow" monitoring);
3. ``validate_model`` and ``deploy`` (driver, in version order): the gate compares with the
   production model at that point, which depends only on earlier decisions, so the result is
   the same for any ``n_jobs`` or backend.

Without a registry, deploys go to an in-memory list of version numbers, so the gate still has a
production model to compare with. With a registry, the loop starts from its production model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from mlcicd import data as _data
from mlcicd import training as _training
from mlcicd.checks import check_choice, check_int, is_int
from mlcicd.data import TARGET, load_dataset
from mlcicd.errors import InputError
from mlcicd.evaluation import quality_gate
from mlcicd.outcomes import FAILED, OK, SKIPPED
from mlcicd.pipeline import stages as st
from mlcicd.pipeline.cache import Fingerprints, StageCache, register_fingerprinter
from mlcicd.pipeline.parallel import Execution, Job, execute_many
from mlcicd.pipeline.runner import (
    RecordTables,
    RunRecord,
    Stage,
    StageRecord,
    count_executions,
    plan_stages,
    run_stages,
    skipped,
    store_results,
)
from mlcicd.pipeline.runner import stage_rank as rank_in
from mlcicd.registry import Registry
from mlcicd.training import ModelSpec, make_estimator

__all__ = [
    "DataOptions",
    "PipelineResult",
    "Policy",
    "Production",
    "RunRecord",
    "Stage",
    "StageCache",
    "StageRecord",
    "Storage",
    "run_stages",
    "run_versions",
]

VALIDATION_MODES = ("each", "once", "off")
# the order of the loop's stages in tables: setup (version 0), then each version's stages
STAGE_ORDER = (
    "split",
    "infer_schema",
    "baseline",
    "validate_data",
    "train",
    "evaluate",
    "evaluate_production",
    "validate_model",
    "deploy",
    "monitor",
)
DEPLOYED = "deployed"
ALREADY_DEPLOYED = "already deployed"  # the registry held this model: nothing new was stored


def stage_rank(stage: str) -> int:
    """The place of ``stage`` in :data:`STAGE_ORDER` (unknown stages last)."""
    return rank_in(stage, STAGE_ORDER)


# the engine fingerprints what the loop's stages exchange by content, once per run: data by
# mlcicd.data.fingerprint, fitted estimators by their skops content (a TrainedModel gives its
# own); the functions are looked up at each call, so a test may watch them
def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and hasattr(value, "fit") and not isinstance(value, type)


def _frame_fingerprint(value: pd.DataFrame | pd.Series) -> str:
    frame = value.to_frame() if isinstance(value, pd.Series) else value
    return "frame:" + _data.fingerprint(frame)


register_fingerprinter(lambda v: isinstance(v, pd.DataFrame | pd.Series), _frame_fingerprint)
register_fingerprinter(_is_estimator, lambda model: "model:" + _training.model_fingerprint(model))


# ------------------------------------------------------------------------------ the loop's data


@dataclass(frozen=True)
class Production:
    """The model in production: its label (a registry version, or the loop's version number
    without a registry), the model, and its metrics per data version (filled as it is scored)."""

    version: int | None = None
    model: Any = None
    metrics: dict[int, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class DataOptions:
    """What the loop trains and monitors on: the data versions, the label column, the holdout
    share of each split and the monitored batch (None: the holdout)."""

    frames: list[pd.DataFrame]
    target: str = TARGET
    holdout: float = 0.25
    monitor_batch: pd.DataFrame | None = None


@dataclass(frozen=True)
class Policy:
    """When to validate data (one of :data:`VALIDATION_MODES`) and what the gate asks."""

    validation: str = "each"
    thresholds: Mapping[str, float] | None = None
    tolerance: float = 0.01


@dataclass(frozen=True)
class Storage:
    """Where models go (a registry, or None) and where stage outputs are reused from."""

    registry: Registry | None = None
    cache: StageCache | None = None


# ---------------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class PipelineResult(RecordTables):
    """What :func:`run_versions` did.

    ``counts``: per stage, how often it really ran (cached and skipped ones excluded), plus
    ``cycles`` (versions whose training and gate both really ran: the seed's "training +
    validation cycles"), ``cache_hits`` and ``cache_misses``; ``from_cache``: per stage, how
    often its result came from the cache. ``deployed``: registry versions (or loop versions
    without a registry) in deploy order; ``outcomes``: version -> deployed/already
    deployed/rejected/failed ("already deployed": a model the registry held, promoted again
    without storing anything new, as in an unchanged re-run).
    """

    records: list[StageRecord]
    decisions: dict[int, Any]
    deployed: list[int]
    counts: dict[str, int]
    from_cache: dict[str, int]
    outcomes: dict[int, str]
    metrics: dict[int, dict[str, Any]]
    drift: dict[int, Any]
    data_reports: dict[int, Any]
    specs: dict[int, Any]
    production: int | None
    stage_order: ClassVar[tuple[str, ...]] = STAGE_ORDER

    def summary_table(self) -> str:
        n = len(self.outcomes)
        tally = {
            k: sum(v == k for v in self.outcomes.values())
            for k in (DEPLOYED, ALREADY_DEPLOYED, "rejected", "failed")
        }
        already = tally[ALREADY_DEPLOYED]
        foot = (
            f"{n} model versions: {self.counts['cycles']} training + validation cycles run; "
            f"{tally[DEPLOYED]} deployed, {f'{already} already deployed, ' if already else ''}"
            f"{tally['rejected']} rejected, {tally['failed']} failed"
        )
        return super().summary_table() + "\n" + foot

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "from_cache": dict(self.from_cache),
            "deployed": list(self.deployed),
            "production": self.production,
            "outcomes": {str(v): o for v, o in self.outcomes.items()},
            "specs": {str(v): s.to_dict() for v, s in self.specs.items()},
            "decisions": {str(v): d.to_dict() for v, d in self.decisions.items()},
            "stage_seconds": self.stage_totals(),
            "records": [r.to_dict() for r in self.records],
        }


# ------------------------------------------------------------------------------- checking input


def _check_versions(versions: Any, seed: Any) -> list[ModelSpec]:
    check_int(seed, "seed")
    if is_int(versions):
        versions = check_int(versions, "versions", low=1)
        grid = st.default_grid()
        return [grid[i % len(grid)] for i in range(versions)]
    if isinstance(versions, str | bytes) or not isinstance(versions, Sequence) or not versions:
        raise InputError("versions: expected a number of versions or a non-empty list of ModelSpec")
    specs = []
    for i, spec in enumerate(versions):
        spec = ModelSpec(spec) if isinstance(spec, str) else spec
        if not isinstance(spec, ModelSpec):
            raise InputError(f"versions[{i}]: expected a ModelSpec, got {type(spec).__name__}")
        try:
            make_estimator(spec, seed)
        except InputError as exc:
            raise InputError(f"versions[{i}]: {exc.message}") from None
        specs.append(spec)
    return specs


def _check_data(data: Any, target: str, monitor_batch: Any) -> list[pd.DataFrame]:
    frames = data if isinstance(data, Sequence) else [load_dataset() if data is None else data]
    if not frames:
        raise InputError("data: expected a DataFrame or a non-empty list of DataFrames")
    for i, df in enumerate(frames):
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"data[{i}]: expected a DataFrame, got {type(df).__name__}")
        if target not in df.columns:
            raise InputError(f"data[{i}]: no target column {target!r}")
    if monitor_batch is not None:
        if not isinstance(monitor_batch, pd.DataFrame):
            what = type(monitor_batch).__name__
            raise InputError(f"monitor_batch: expected a DataFrame, got {what}")
        lacking = [str(c) for c in frames[0].columns if c != target and c not in monitor_batch]
        if lacking:
            raise InputError(f"monitor_batch: missing feature column(s): {', '.join(lacking)}")
    return list(frames)


def _check_policy(policy: Policy) -> Policy:
    check_choice(policy.validation, "validation", VALIDATION_MODES)
    # the gate checks thresholds and tolerance at its boundary: ask it once, up front
    perfect, trivial = {"accuracy": 1.0}, {"accuracy": 0.0}
    quality_gate(
        perfect,
        baseline_metrics=trivial,
        thresholds=policy.thresholds,
        tolerance=policy.tolerance,
    )
    return policy


def _open_registry(registry: Any) -> Registry | None:
    if registry is None or isinstance(registry, Registry):
        return registry
    if isinstance(registry, str | os.PathLike):
        return Registry(registry)
    raise InputError(
        f"registry: expected a Registry or a folder path, got {type(registry).__name__}"
    )


# -------------------------------------------------------------------------------------- the loop


class _Loop:
    """The state of one :func:`run_versions` call, driven by its methods in order."""

    def __init__(
        self, specs: list[ModelSpec], data: DataOptions, storage: Storage, fps: Fingerprints
    ):
        self.specs = dict(enumerate(specs, start=1))
        self.data, self.fps = data, fps
        self.frames, self.target = data.frames, data.target
        self.registry, self.cache = storage.registry, storage.cache
        self.records: list[StageRecord] = []
        self.splits: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        self.baselines: list[dict] = []
        self.schema = None
        self.reports: dict[int, Any] = {}
        self.runs: dict[int, RunRecord] = {}
        self.outcomes: dict[int, str] = {}
        self.decisions: dict[int, Any] = {}
        self.deployed: list[int] = []
        self.production = Production()

    def data_index(self, version: int) -> int:
        return (version - 1) % len(self.frames)

    def _setup(self, stage: Stage, context: dict) -> Any:
        run = run_stages([stage], context, cache=self.cache, fingerprints=self.fps)
        self.records += run.records
        if run.outcome != OK:
            raise InputError(f"pipeline setup: {stage.name} failed: {run.records[0].detail}")
        return run.values[stage.name]

    def setup(self, seed: int, need_schema: bool) -> None:
        stages = st.setup_stages(self.data.holdout, seed)
        for df in self.frames:
            train, test = self._setup(stages["split"], {"df": df, "target": self.target})
            self.splits.append((train, test))
            context = {"holdout": test, "target": self.target}
            self.baselines.append(self._setup(stages["baseline"], context))
        if need_schema:
            context = {"train_data": self.splits[0][0], "target": self.target}
            self.schema = self._setup(stages["infer_schema"], context)

    def context(self, version: int, seed: int) -> dict:
        train, holdout = self.splits[self.data_index(version)]
        monitor_batch = self.data.monitor_batch
        return {
            "train_data": train,
            # hashed once per run (and shared with the cache keys), not again by every training
            "train_fingerprint": str(self.fps.of(train)).removeprefix("frame:"),
            "holdout": holdout,
            "current": holdout if monitor_batch is None else monitor_batch,
            "target": self.target,
            "spec": self.specs[version],
            "seed": seed + version - 1,
            "schema": self.schema,
        }

    def validate_data(self, contexts: dict[int, dict], validation: str) -> None:
        if validation == "off":
            return
        # "once" without a cache: a private one makes each later check of the same data a reuse
        cache = StageCache() if validation == "once" and self.cache is None else self.cache
        stage = [st.validation_stage()]
        for v, ctx in contexts.items():
            run = run_stages(stage, ctx, version=v, cache=cache, fingerprints=self.fps)
            self.records += run.records
            self.reports[v] = run.values.get("validate_data")
            if run.outcome != OK:
                self.outcomes[v] = FAILED
                after = "after validate_data failed"
                self.records += skipped(st.WORKER_STAGES + st.DRIVER_STAGES, v, after)

    def train(self, contexts: dict[int, dict], execution: Execution) -> None:
        stages = st.worker_stages()
        jobs = []
        for v, ctx in contexts.items():
            if v not in self.outcomes:
                plan = plan_stages(stages, ctx, self.cache, self.fps)
                needed = {name for s in plan.missing(stages) for _, name, _ in s.bindings}
                inputs = {k: ctx[k] for k in needed if k in ctx}
                jobs.append(Job(stages=stages, inputs=inputs, plan=plan, version=v))
        for job, run in zip(jobs, execute_many(jobs, execution), strict=True):
            store_results(run, self.cache)
            self.runs[job.version] = run
            self.records += run.records

    def gate_and_deploy(self, contexts: dict[int, dict], policy: Policy) -> None:
        stages = st.driver_stages(policy.thresholds, policy.tolerance)
        for v in sorted(self.runs):
            values = self.runs[v].values
            if "evaluate" not in values:  # train or evaluate failed (a failed monitor may pass)
                self.outcomes[v] = FAILED
                failed = next(r.stage for r in self.runs[v].records if r.outcome == FAILED)
                self.records += skipped(st.DRIVER_STAGES, v, f"after {failed} failed")
                continue
            context = {
                **contexts[v],
                **values,
                "baseline_metrics": self.baselines[self.data_index(v)],
                "production_metrics": self._production_metrics(v, contexts[v]),
                "registry": self.registry,
                "version": v,
            }
            run = run_stages(stages, context, version=v, fingerprints=self.fps)
            self.records += run.records
            if "validate_model" in run.values:
                self.decisions[v] = run.values["validate_model"]
            outcome = run.outcome
            if "deploy" in run.values:
                deployed = run.values["deploy"]  # a ModelVersion, or the loop's version number
                number = getattr(deployed, "version", deployed)
                self.deployed.append(number)
                scored = {self.data_index(v): values["evaluate"]}
                self.production = Production(number, values["train"], scored)
                outcome = (
                    ALREADY_DEPLOYED if getattr(deployed, "already_deployed", False) else DEPLOYED
                )
            self.outcomes[v] = outcome

    def _production_metrics(self, v: int, ctx: dict) -> dict | None:
        """The production model's metrics on this version's holdout (scored once per holdout)."""
        model, scored = self.production.model, self.production.metrics
        d = self.data_index(v)
        if model is None or d in scored:
            return scored.get(d)
        context = {**ctx, "trained": model}
        run = run_stages(
            [st.production_stage()], context, version=v, cache=self.cache, fingerprints=self.fps
        )
        self.records += run.records
        if run.outcome != OK:  # it cannot score these data: the gate goes without it
            return None
        scored[d] = run.values["evaluate_production"]
        return scored[d]

    def remember_production_scores(self, contexts: dict[int, dict]) -> None:
        """Put the production model's holdout scores (its ``evaluate`` results) into the cache
        under ``evaluate_production``'s key: the next run starts from this model and then
        finds its scores there instead of loading the model to score it again."""
        model, scored = self.production.model, self.production.metrics
        if self.cache is None or self.registry is None or model is None:
            return
        stage = st.production_stage()
        for d, metrics in scored.items():
            v = next(v for v in contexts if self.data_index(v) == d)
            plan = plan_stages([stage], {**contexts[v], "trained": model}, None, self.fps)
            key = plan.keys[stage.name]
            if key is not None and key not in self.cache:
                self.cache.put(key, metrics)

    def result(self, hits: int, misses: int) -> PipelineResult:
        records = sorted(self.records, key=lambda r: (r.version, stage_rank(r.stage)))
        table = count_executions(records, STAGE_ORDER)
        counts = dict.fromkeys(STAGE_ORDER, 0) | {s: c["executed"] for s, c in table.items()}
        ran = {(r.version, r.stage) for r in records if not r.cached and r.outcome != SKIPPED}
        counts["cycles"] = sum({(v, "train"), (v, "validate_model")} <= ran for v in self.specs)
        counts["cache_hits"], counts["cache_misses"] = hits, misses
        runs = self.runs.items()
        return PipelineResult(
            records=records,
            decisions=dict(sorted(self.decisions.items())),
            deployed=list(self.deployed),
            counts=counts,
            from_cache={stage: row["cached"] for stage, row in table.items()},
            outcomes=dict(sorted(self.outcomes.items())),
            metrics={v: r.values["evaluate"] for v, r in runs if "evaluate" in r.values},
            drift={v: r.values["monitor"] for v, r in runs if "monitor" in r.values},
            data_reports={v: r for v, r in self.reports.items() if r is not None},
            specs=dict(self.specs),
            production=self.production.version,
        )


def run_versions(
    versions: int | Sequence[Any],
    *,
    data: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
    target: str = TARGET,
    holdout: float = 0.25,
    registry: Any = None,
    cache: StageCache | None = None,
    validation: str = "each",
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = 0.01,
    monitor_batch: pd.DataFrame | None = None,
    n_jobs: int = 1,
    backend: str | None = None,
    scheduler: Any = None,
    seed: int = 0,
    progress: bool = False,
) -> PipelineResult:
    """Run the loop over model ``versions`` (see the module docstring).

    ``versions``: a count n (versions 1..n cycle through :func:`mlcicd.pipeline.stages.default_grid`) or a list of
    ``ModelSpec`` (or model names); version i trains with seed ``seed + i - 1`` on data version
    ``data[(i - 1) % len(data)]`` (default: the breast cancer data). ``validation``: ``"each"``
    checks the training data before every training, ``"once"`` once per data version (equal
    fingerprints share the report), ``"off"`` never. ``thresholds`` default to accuracy >= 0.9.
    ``registry``: a :class:`~mlcicd.registry.Registry` or a folder. ``backend``: None (loky),
    ``"loky"``, ``"threading"`` or ``"dask"`` (a client to ``scheduler``, an address or a
    ``distributed.Client``, or a local 2-worker cluster made and closed here; ``n_jobs=1``
    then means all of the cluster's workers).
    """
    specs = _check_versions(versions, seed)
    frames = _check_data(data, target, monitor_batch)
    inputs = DataOptions(frames, target, holdout, monitor_batch)
    policy = _check_policy(Policy(validation, thresholds, tolerance))
    execution = Execution(n_jobs, backend, scheduler, progress).check()
    storage = Storage(_open_registry(registry), cache)
    return _run(specs, inputs, policy, execution, storage, seed)


def _run(
    specs: list[ModelSpec],
    data: DataOptions,
    policy: Policy,
    execution: Execution,
    storage: Storage,
    seed: int,
) -> PipelineResult:
    """The loop over checked options: setup, then each phase for every version."""
    registry, cache = storage.registry, storage.cache
    before = (cache.hits, cache.misses) if cache is not None else (0, 0)
    loop = _Loop(specs, data, storage, Fingerprints())
    loop.setup(seed, need_schema=policy.validation != "off" or registry is not None)
    if registry is not None and "production" in registry.aliases():
        # loaded only if a stage needs the estimator (a re-run takes its scores from the cache)
        loop.production = Production(registry.aliases()["production"], registry.load_stored())
    contexts = {v: loop.context(v, seed) for v in loop.specs}
    loop.validate_data(contexts, policy.validation)
    loop.train(contexts, execution)
    loop.gate_and_deploy(contexts, policy)
    loop.remember_production_scores(contexts)
    after = (cache.hits, cache.misses) if cache is not None else (0, 0)
    return loop.result(after[0] - before[0], after[1] - before[1])
