"""The runner: run named stages in order, time each one, cache what did not change.

The runner knows a stage only by its function's signature: each parameter is looked up by name
in a context (the run's inputs plus the outputs of the stages before it, stored under the stage
names), and the stage knows nothing of the runner. Every execution leaves a :class:`StageRecord`
(stage, version, seconds by ``time.perf_counter``, input fingerprints, outcome, cached). With a
:class:`~mlcicd.pipeline.cache.StageCache` a stage whose code, inputs and parameters are unchanged is taken
from the cache instead of run.

>>> def double(x):
...     return 2 * x
>>> def plus(double, y=1):
...     return double + y
>>> run = run_stages([Stage("double", double), Stage("plus", plus)], {"x": 20})
>>> run.values["plus"], [(r.stage, r.outcome) for r in run.records]
(41, [('double', 'ok'), ('plus', 'ok')])

:func:`mlcicd.pipeline.run_versions` builds the seed's loop over model versions on it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, ClassVar

import pandas as pd

from mlcicd.errors import InputError
from mlcicd.outcomes import FAILED, OK, SKIPPED
from mlcicd.pipeline.cache import Fingerprints, StageCache, canonical_fingerprint, stage_key

Verdict = Callable[[Any], "tuple[str, str] | None"]


@dataclass(frozen=True, eq=False)
class Stage:
    """A named step of a pipeline.

    ``func`` gets each of its parameters from ``params`` (fixed values, part of the cache key) or
    from the context, by parameter name or by the context name ``inputs`` maps it to; a parameter
    with a default that the context lacks keeps its default. ``verdict(result)`` may return
    ``(outcome, detail)``: any outcome but ``"ok"`` stops the remaining stages of the run (a
    rejected model is not deployed). ``cacheable=False`` for side effects (a deploy).
    """

    name: str
    func: Callable[..., Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    verdict: Verdict | None = None
    cacheable: bool = True
    # (parameter, context name, required) for each argument taken from the context
    bindings: tuple[tuple[str, str, bool], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"stage name: expected a non-empty string, got {self.name!r}")
        if not callable(self.func):
            raise InputError(f"stage {self.name!r}: func is not callable")
        try:
            signature = inspect.signature(self.func)
        except (TypeError, ValueError):
            raise InputError(f"stage {self.name!r}: the function has no signature") from None
        accepted = {
            p.name: p
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        for option in ("params", "inputs"):
            given = dict(getattr(self, option))
            unknown = sorted(set(given) - set(accepted))
            if unknown:
                raise InputError(
                    f"stage {self.name!r}: {option} names {', '.join(unknown)}, not parameters "
                    f"of {getattr(self.func, '__name__', 'the function')} "
                    f"(parameters: {', '.join(accepted) or 'none'})"
                )
            object.__setattr__(self, option, given)
        bindings = tuple(
            (name, self.inputs.get(name, name), p.default is p.empty)
            for name, p in accepted.items()
            if name not in self.params
        )
        object.__setattr__(self, "bindings", bindings)


@dataclass(frozen=True, kw_only=True)
class StageRecord:
    """One stage execution; ``seconds`` is 0 for a cached or skipped stage.

    ``fingerprints`` are ``(parameter, fingerprint)`` pairs of the inputs (for a cacheable
    stage); ``detail`` says why a stage failed, was rejected or skipped.
    """

    stage: str
    version: int
    seconds: float
    cached: bool
    outcome: str
    detail: str = ""
    fingerprints: tuple[tuple[str, str], ...] = ()
    key: str | None = None

    @classmethod
    def skipped(
        cls,
        stage: str,
        version: int,
        detail: str,
        fingerprints: tuple[tuple[str, str], ...] = (),
        key: str | None = None,
    ) -> StageRecord:
        """The record of a stage that never got to run (``detail`` says why)."""
        return cls(
            stage=stage,
            version=version,
            seconds=0.0,
            cached=False,
            outcome=SKIPPED,
            detail=detail,
            fingerprints=fingerprints,
            key=key,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "version": self.version,
            "seconds": self.seconds,
            "cached": self.cached,
            "outcome": self.outcome,
            "detail": self.detail,
            "fingerprints": dict(self.fingerprints),
            "key": self.key,
        }


def stage_rank(stage: str, order: Sequence[str] = ()) -> int:
    """The place of ``stage`` in ``order``; a stage not in it comes after all that are (a stable
    sort by this rank keeps such stages in the order they first ran)."""
    return order.index(stage) if stage in order else len(order)


def count_executions(
    records: Iterable[StageRecord], order: Sequence[str] = ()
) -> dict[str, dict[str, int]]:
    """Per stage: how often it really ran (``executed``), came from the cache (``cached``) or
    was skipped; stages in ``order``, then the others in the order they first appear."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        row = out.setdefault(r.stage, {"executed": 0, "cached": 0, "skipped": 0})
        kind = "skipped" if r.outcome == SKIPPED else "cached" if r.cached else "executed"
        row[kind] += 1
    return dict(sorted(out.items(), key=lambda kv: stage_rank(kv[0], order)))


class RecordTables:
    """Tables over ``self.records`` shared by :class:`RunRecord` and the loop's result.

    ``stage_order``: the order of stages in the tables; the engine knows no stages, so it is
    empty here (the order the stages first ran) and a domain's result sets its own.
    """

    records: Sequence[StageRecord]
    stage_order: ClassVar[tuple[str, ...]] = ()

    def to_frame(self, fingerprints: bool = False) -> pd.DataFrame:
        """One row per stage record: version, stage, seconds, cached, outcome, detail.

        ``fingerprints=True`` adds the cache ``key`` and the input ``fingerprints`` (a dict).
        """
        columns = ["version", "stage", "seconds", "cached", "outcome", "detail"]
        rows = [[getattr(r, c) for c in columns] for r in self.records]
        if fingerprints:
            columns += ["key", "fingerprints"]
            rows = [
                [*row, r.key, dict(r.fingerprints)]
                for row, r in zip(rows, self.records, strict=True)
            ]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({"version": "int64", "seconds": "float64", "cached": "bool"})

    def stage_totals(self) -> dict[str, float]:
        """Seconds per stage, summed over the records, in pipeline order."""
        totals: dict[str, float] = {}
        for r in sorted(self.records, key=lambda r: stage_rank(r.stage, self.stage_order)):
            totals[r.stage] = totals.get(r.stage, 0.0) + r.seconds
        return totals

    def summary_table(self) -> str:
        """A plain-text table: per stage, runs, cached, skipped, seconds and share of the total."""
        counts = count_executions(self.records, self.stage_order)
        totals = self.stage_totals()
        whole = sum(totals.values())
        width = max([len("total"), *(len(s) for s in totals)])
        head = f"{'stage':<{width}}  {'runs':>5}  {'cached':>6}  {'skipped':>7}  {'seconds':>9}  {'share':>6}"
        lines = [head, "-" * len(head)]
        for stage, seconds in totals.items():
            c = counts[stage]
            share = f"{100 * seconds / whole:5.1f}%" if whole > 0 else "    -"
            lines.append(
                f"{stage:<{width}}  {c['executed']:>5}  {c['cached']:>6}  {c['skipped']:>7}  "
                f"{seconds:>9.3f}  {share:>6}"
            )
        lines.append("-" * len(head))
        runs = sum(c["executed"] for c in counts.values())
        hits = sum(c["cached"] for c in counts.values())
        skipped = sum(c["skipped"] for c in counts.values())
        lines.append(
            f"{'total':<{width}}  {runs:>5}  {hits:>6}  {skipped:>7}  {whole:>9.3f}  "
            f"{'100.0%' if whole > 0 else '-':>6}"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class RunRecord(RecordTables):
    """What :func:`run_stages` did: the records, and the stage outputs by stage name."""

    records: tuple[StageRecord, ...]
    values: dict[str, Any]

    @property
    def outcome(self) -> str:
        """``"ok"``, or the outcome of the stage that stopped the run."""
        stops = [r.outcome for r in self.records if r.outcome not in (OK, SKIPPED)]
        return stops[0] if stops else OK

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class Plan:
    """The driver's part of a run: each stage's cache key and input fingerprints, and the hits."""

    keys: dict[str, str | None]
    fingerprints: dict[str, tuple[tuple[str, str], ...]]
    hits: dict[str, Any]

    def missing(self, stages: Sequence[Stage]) -> list[Stage]:
        return [s for s in stages if s.name not in self.hits]


def check_stages(stages: Sequence[Stage], context: Mapping[str, Any]) -> None:
    """``InputError`` for a duplicate stage name or a required input no one provides."""
    available = set(context)
    seen: set[str] = set()
    for stage in stages:
        if not isinstance(stage, Stage):
            raise InputError(f"stages: expected Stage objects, got {type(stage).__name__}")
        if stage.name in seen:
            raise InputError(f"stage {stage.name!r}: the name is used twice")
        seen.add(stage.name)
        for param, name, required in stage.bindings:
            if required and name not in available:
                shown = ", ".join(sorted(map(str, available))) or "nothing"
                raise InputError(
                    f"stage {stage.name!r}: no input {name!r} for parameter {param!r} "
                    f"(available: {shown})"
                )
        available.add(stage.name)


def plan_stages(
    stages: Sequence[Stage],
    context: Mapping[str, Any],
    cache: StageCache | None,
    fingerprints: Fingerprints,
) -> Plan:
    """Key every cacheable stage and look it up in ``cache`` (when given).

    Context values are fingerprinted by content; a stage output by the key of the stage that
    made it, so a whole chain is keyed before anything runs. A stage with an input that has no
    fingerprint (or downstream of a stage that is not cacheable) gets no key and always runs.
    """
    keys: dict[str, str | None] = {}
    prints: dict[str, tuple[tuple[str, str], ...]] = {}
    hits: dict[str, Any] = {}
    for stage in stages:
        keys[stage.name] = None
        if not stage.cacheable:
            continue
        inputs: dict[str, str] = {}
        for param, name, _ in stage.bindings:
            if name in keys:  # an earlier stage's output: its provenance
                fp = None if keys[name] is None else f"stage:{keys[name]}"
            elif name in context:
                fp = fingerprints.of(context[name])
            else:
                continue  # an optional parameter keeps its default
            if fp is None:
                break
            inputs[param] = fp
        else:
            try:
                params_fp = canonical_fingerprint(stage.params)
            except TypeError:
                continue
            code = fingerprints.code_version(stage.func)
            key = keys[stage.name] = stage_key(stage.name, code, inputs, params_fp)
            prints[stage.name] = tuple(sorted(inputs.items()))
            if cache is not None:
                hit, value = cache.get(key)
                if hit:
                    hits[stage.name] = value
    return Plan(keys, prints, hits)


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute_stages(
    stages: Sequence[Stage], context: Mapping[str, Any], plan: Plan, version: int = 0
) -> RunRecord:
    """Run ``stages`` in order (cache hits of ``plan`` are not run); no cache access here.

    A stage that raises is recorded as failed with the error message; a verdict other than
    ``"ok"`` stops the run; the stages after a stop are recorded as skipped.
    """
    values = dict(context)
    produced: dict[str, Any] = {}
    records: list[StageRecord] = []
    stop = ""
    for stage in stages:
        key, prints = plan.keys.get(stage.name), plan.fingerprints.get(stage.name, ())
        if stop:
            records.append(StageRecord.skipped(stage.name, version, stop, prints, key))
            continue
        cached = stage.name in plan.hits
        error = None
        if cached:
            value, seconds = plan.hits[stage.name], 0.0
        else:
            args = {p: values[n] for p, n, _ in stage.bindings if n in values}
            start = perf_counter()
            try:
                value = stage.func(**args, **stage.params)
            except Exception as exc:  # recorded, and the rest of this run is skipped
                error = _message(exc)
            seconds = perf_counter() - start
        if error is None:
            values[stage.name] = produced[stage.name] = value
            outcome, detail = (stage.verdict(value) if stage.verdict else None) or (OK, "")
        else:
            outcome, detail = FAILED, error
        records.append(
            StageRecord(
                stage=stage.name,
                version=version,
                seconds=seconds,
                cached=cached,
                outcome=outcome,
                detail=detail,
                fingerprints=prints,
                key=key,
            )
        )
        if outcome != OK:
            stop = f"after {stage.name} {outcome}"
    return RunRecord(tuple(records), produced)


def store_results(run: RunRecord, cache: StageCache | None) -> None:
    """Put the outputs of the stages that really ran (and had a key) into ``cache``."""
    if cache is None:
        return
    for r in run.records:
        if r.key is not None and not r.cached and r.stage in run.values:
            cache.put(r.key, run.values[r.stage])


def run_stages(
    stages: Sequence[Stage],
    context: Mapping[str, Any],
    *,
    version: int = 0,
    cache: StageCache | None = None,
    fingerprints: Fingerprints | None = None,
) -> RunRecord:
    """Run ``stages`` in order over ``context``; each output is stored under its stage's name.

    ``fingerprints`` may be shared between calls of one run so each DataFrame is hashed once.
    """
    stages = list(stages)
    check_stages(stages, context)
    plan = plan_stages(stages, context, cache, fingerprints or Fingerprints())
    run = execute_stages(stages, context, plan, version)
    store_results(run, cache)
    return run


def skipped(names: Iterable[str], version: int, detail: str) -> list[StageRecord]:
    """Records for stages that never got to run."""
    return [StageRecord.skipped(name, version, detail) for name in names]
