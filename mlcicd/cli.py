"""The ``mlcicd`` command line: each command is one step of an ML CI workflow.

The seed's workflow (Data Validation, Train Model, Test Model, Deploy Model) becomes::

    mlcicd infer-schema train.csv -o schema.json
    mlcicd validate-data train.csv --schema schema.json
    mlcicd train train.csv --target target -o model.skops
    mlcicd test-model model.skops holdout.csv --target target --registry registry/
    mlcicd deploy model.skops --registry registry/
    mlcicd monitor train.csv current.csv --target target --registry registry/

The stage commands (``infer-schema``, ``validate-data``, ``train``, ``test-model``, ``monitor``)
and ``pipeline`` keep their results in a run cache on disk (``--cache DIR``, default
``$MLCICD_CACHE`` or else ``.mlcicd-cache`` in the working directory; ``--no-cache`` to go
without), so an unchanged
re-run in a new process (the next CI job) reuses them; ``mlcicd cache info|gc|clear`` manage it.

Exit codes: 0 success or the check passed; 1 the check failed (anomalies, gate rejected, drift
calls for retraining, deploy refused); 2 bad usage or unreadable input; 3 an internal error (a
bug: please report it). Errors are one line on stderr, never a traceback. ``--json`` prints one
JSON object on stdout instead of the text report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mlcicd.errors import EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_OK, InputError, MlcicdError

if TYPE_CHECKING:  # the commands import the steps when they run, so `--help` stays quick
    from mlcicd.monitoring import FeatureDrift

INTERNAL_ERROR = "internal error (this is a bug, please report it)"
EXIT_CODES = """exit codes:
  0  success: the check passed
  1  the check ran and failed (anomalies, gate rejected, drift calls for retraining, refused)
  2  bad usage or unreadable input (the message names the file, column or option)
  3  an internal error: a bug in mlcicd, please report it (--debug shows the traceback)"""
DEFAULT_CACHE = ".mlcicd-cache"  # mlcicd.pipeline.disk_cache.DEFAULT_DIR, without importing it
CACHE_ENV = "MLCICD_CACHE"  # overrides the default folder (e.g. one per CI workspace)
GATE_SUFFIX = ".gate.json"
DEFAULT_MIN_ACCURACY = 0.90
REGRESSION_DEFAULT_MIN_R2 = 0.20


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{self.prog}: {message}")


class _Result:
    """What a command hands back: an exit code, a JSON payload, and the text for humans."""

    def __init__(self, code: int, payload: dict[str, Any], text: str):
        self.code, self.payload, self.text = code, payload, text


# --- commands ---------------------------------------------------------------------------------


def cmd_infer_schema(args: argparse.Namespace) -> _Result:
    params = {"target": args.target, "slack": args.slack, "max_categories": args.max_categories}
    return _cached_run(
        args,
        "cli:infer-schema",
        ["mlcicd.cli:_infer_schema", "mlcicd.validation:infer_schema"],
        {"data": args.data},
        params,
        lambda: _infer_schema(args),
        writes={"schema": args.output},
    )


def _infer_schema(args: argparse.Namespace) -> tuple[_Result, dict[str, Any]]:
    from mlcicd.files import read_csv
    from mlcicd.validation import infer_schema

    df = read_csv(args.data, "data")
    if args.target is not None and args.target not in df.columns:
        raise InputError(f"--target: column '{args.target}' is not in {args.data}")
    schema = infer_schema(
        df, target=args.target, slack=args.slack, max_categories=args.max_categories
    )
    payload = {"schema": str(args.output), "columns": len(schema.columns), "target": schema.target}
    text = f"wrote {args.output}: {len(schema.columns)} columns"
    return _Result(EXIT_OK, payload, text), {"schema": schema.to_dict()}


def cmd_validate_data(args: argparse.Namespace) -> _Result:
    inputs = {"data": args.data, "schema": args.schema}
    return _cached_run(
        args,
        "cli:validate-data",
        ["mlcicd.cli:_validate_data", "mlcicd.validation:validate_data"],
        inputs,
        {"serving": args.serving},
        lambda: (_validate_data(args), {}),
    )


def _validate_data(args: argparse.Namespace) -> _Result:
    from mlcicd.files import read_csv
    from mlcicd.validation import load_schema, validate_data

    schema = load_schema(args.schema)
    df = read_csv(args.data, "data")
    report = validate_data(df, schema, serving=args.serving)
    if report.valid:
        text = f"{args.data}: valid ({report.n_rows} rows, {len(schema.columns)} columns)"
    else:
        lines = [f"{args.data}: {len(report.anomalies)} anomalies"]
        lines += [f"  {a.column or '*'}: {a.kind} ({a.count}) {a.detail}" for a in report.anomalies]
        text = "\n".join(lines)
    return _Result(EXIT_OK if report.valid else EXIT_CHECK_FAILED, report.to_dict(), text)


def _training_data(args: argparse.Namespace, schema):
    """``--data`` read, with the ``--target`` column and no column the ``--schema`` lacks."""
    from mlcicd.files import read_csv

    df = read_csv(args.data, "data")
    if args.target not in df.columns:
        raise InputError(f"--target: column '{args.target}' is not in {args.data}")
    if schema is not None:
        extra = [str(c) for c in df.columns if c != args.target and c not in schema.names]
        if extra:
            raise InputError(f"--schema {args.schema}: no column {extra[0]!r} of {args.data}")
    return df


def cmd_train(args: argparse.Namespace) -> _Result:
    params = {
        "target": args.target,
        "model": args.model,
        "param": list(args.param),
        "task": args.task,
        "seed": args.seed,
    }
    return _cached_run(
        args,
        "cli:train",
        ["mlcicd.cli:_train", "mlcicd.training:train_model"],
        {"data": args.data, "schema": args.schema},
        params,
        lambda: _train(args),
        writes={"model": args.output},
    )


def _train(args: argparse.Namespace) -> tuple[_Result, dict[str, Any]]:
    """Check the options and the data and train: the result, and the model file's bytes."""
    from mlcicd.training import (
        DEFAULT_MODEL,
        ModelSpec,
        parse_param,
        resolve_task,
        serialize_model,
        train_model,
    )

    params = dict(parse_param(p) for p in args.param)
    if args.model is not None:  # reject an unknown model or parameter before reading data
        tasks = [args.task] if args.task else ["classification", "regression"]
        spec = ModelSpec(name=args.model, params=params)
        _first_that_builds(spec, args.seed, tasks)
    schema = None
    if args.schema is not None:
        from mlcicd.validation import load_schema

        schema = load_schema(args.schema)
    df = _training_data(args, schema)
    try:
        task = resolve_task(df[args.target], args.target, args.model, args.task)
        spec = ModelSpec(name=args.model or DEFAULT_MODEL[task], params=params)
        trained = train_model(df, args.target, spec, seed=args.seed, schema=schema, task=task)
    except InputError as exc:
        raise InputError(f"{args.data}: {exc.message}") from None
    meta = trained.metadata
    payload = {
        "model": str(args.output),
        "task": meta["task"],
        "model_name": meta["model_name"],
        "params": meta["params"],
        "n_rows": meta["n_rows"],
        "data_fingerprint": meta["data_fingerprint"],
        "training_seconds": meta["training_seconds"],
    }
    text = (
        f"trained {meta['model_name']} ({meta['task']}) on {meta['n_rows']} rows in "
        f"{meta['training_seconds']:.3f} s -> {args.output}"
    )
    return _Result(EXIT_OK, payload, text), {"model": serialize_model(trained)}


def _first_that_builds(spec: Any, seed: int, tasks: list[str]) -> None:
    """InputError unless ``spec`` builds for one of ``tasks`` (the last task's error)."""
    from mlcicd.training import make_estimator

    error: InputError | None = None
    for task in tasks:
        try:
            make_estimator(spec, seed=seed, task=task)
            return
        except InputError as exc:
            error = exc
    raise InputError(
        f"--model {spec.name}: {error.message if error else 'no task to build it for'}"
    )


def cmd_test_model(args: argparse.Namespace) -> _Result:
    inputs = {"model": args.model, "holdout": args.holdout, "production": _production(args)}
    params = {
        "target": args.target,
        "min_accuracy": args.min_accuracy,
        "min_r2": args.min_r2,
        "max_rmse": args.max_rmse,
        "tolerance": args.tolerance,
    }
    gate = _gate_path(args.model, args.decision)
    return _cached_run(
        args,
        "cli:test-model",
        [
            "mlcicd.cli:_test_model",
            "mlcicd.cli:_thresholds",
            "mlcicd.pipeline.release:decide",
            "mlcicd.pipeline.release:production_model",
            "mlcicd.evaluation:validate_model",
        ],
        inputs,
        params,
        lambda: _test_model(args),
        writes={"gate": gate},
    )


def _test_model(args: argparse.Namespace) -> tuple[_Result, dict[str, Any]]:
    from mlcicd.files import read_csv
    from mlcicd.pipeline import release
    from mlcicd.training import load_model

    trained = load_model(args.model)
    holdout = read_csv(args.holdout, "holdout")
    if args.target not in holdout.columns:
        raise InputError(f"--target: column '{args.target}' is not in {args.holdout}")
    registry = None if args.registry is None else _registry(args.registry)
    thresholds = _thresholds(args, trained.task)
    decision = release.decide(
        trained.model,
        holdout,
        args.target,
        production_model=release.production_model(registry),
        thresholds=thresholds,
        tolerance=args.tolerance,
    )
    payload = decision.to_dict()
    payload["model_sha256"] = _file_sha256(args.model)
    verdict = "BLESSED" if decision.blessed else "REJECTED"
    lines = [f"{args.model}: {verdict}"]
    lines += [f"  {name}: {value}" for name, value in decision.metrics.items()]
    lines += [f"  - {reason}" for reason in decision.reasons]
    code = EXIT_OK if decision.blessed else EXIT_CHECK_FAILED
    return _Result(code, payload, "\n".join(lines)), {"gate": payload}


def _thresholds(args: argparse.Namespace, task: str) -> dict[str, float]:
    """The gate's limits from the options of the model's task; an option of the other task is
    refused (it would be silently ignored otherwise)."""
    if task == "regression":
        if args.min_accuracy is not None:
            raise InputError(
                f"--min-accuracy: {args.model} is a regression model (use --min-r2 or --max-rmse)"
            )
        out = {"r2": REGRESSION_DEFAULT_MIN_R2 if args.min_r2 is None else args.min_r2}
        if args.max_rmse is not None:
            out["rmse"] = args.max_rmse
        return out
    for option, value in (("--min-r2", args.min_r2), ("--max-rmse", args.max_rmse)):
        if value is not None:
            raise InputError(
                f"{option}: {args.model} is a classification model (use --min-accuracy)"
            )
    return {"accuracy": DEFAULT_MIN_ACCURACY if args.min_accuracy is None else args.min_accuracy}


def cmd_deploy(args: argparse.Namespace) -> _Result:
    from mlcicd.pipeline import release
    from mlcicd.training import load_model
    from mlcicd.validation import load_schema

    trained = load_model(args.model)
    decision = _blessed_gate(args.model, args.decision, "deploy")
    if isinstance(decision, _Result):
        return decision
    schema = load_schema(args.schema) if args.schema else None
    registry = _registry(args.registry)
    version = release.release(registry, trained, decision, schema=schema, strict=True)
    payload = {"deployed": True, "version": version.version, "aliases": registry.aliases()}
    return _Result(
        EXIT_OK, payload, f"deployed {args.model} as version {version.version} (production)"
    )


def cmd_rollback(args: argparse.Namespace) -> _Result:

    registry = _registry(args.registry)
    _require_registry(registry, args.registry)
    version = registry.rollback()
    payload = {"production": version.version, "aliases": registry.aliases()}
    return _Result(EXIT_OK, payload, f"rolled back: production is now version {version.version}")


def cmd_registry(args: argparse.Namespace) -> _Result:

    registry = _registry(args.registry)
    _require_registry(registry, args.registry)
    versions, aliases = registry.versions(), registry.aliases()
    payload = {"versions": [v.to_dict() for v in versions], "aliases": aliases}
    by_version: dict[int, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(number, []).append(alias)
    lines = [f"{'version':>7}  {'model':<20} {'accuracy':>8}  {'created (UTC)':<20} aliases"]
    for v in versions:
        acc = (v.metadata.get("metrics") or {}).get("accuracy")
        lines.append(
            f"{v.version:>7}  {v.metadata.get('model_name', '?')!s:<20} "
            f"{'' if acc is None else f'{acc:.4f}':>8}  {str(v.metadata.get('created_at', ''))[:19]:<20} "
            f"{', '.join(sorted(by_version.get(v.version, [])))}"
        )
    return _Result(EXIT_OK, payload, "\n".join(lines))


def _drift_line(label: str, f: FeatureDrift) -> str:
    """One row of ``monitor``'s table (a column with no value has no statistic and no PSI)."""
    p = "" if f.p_value is None else f"{f.p_value:.3g}"
    statistic = "" if f.statistic is None else f"{f.statistic:.4f}"
    psi = "" if f.psi is None else f"{f.psi:.3f}"
    return (
        f"{label:<28} {f.method:<15} {statistic:>10} {p:>8} {psi:>7}  {'DRIFT' if f.drift else ''}"
    )


def cmd_monitor(args: argparse.Namespace) -> _Result:
    if args.model and args.registry:
        raise InputError("--model and --registry: give one of them, not both")
    inputs = {"reference": args.reference, "current": args.current, "model": args.model}
    if args.registry:
        inputs["production"] = _production(args)
    return _cached_run(
        args,
        "cli:monitor",
        ["mlcicd.cli:_monitor", "mlcicd.monitoring:detect_drift"],
        inputs,
        {"target": args.target},
        lambda: (_monitor(args), {}),
    )


def _monitor(args: argparse.Namespace) -> _Result:
    from mlcicd.files import read_csv
    from mlcicd.monitoring import detect_drift

    if args.model and args.registry:
        raise InputError("--model and --registry: give one of them, not both")
    reference = read_csv(args.reference, "reference")
    current = read_csv(args.current, "current")
    for path, frame in ((args.reference, reference), (args.current, current)):
        if args.target is not None and args.target not in frame.columns:
            raise InputError(f"--target: column '{args.target}' is not in {path}")
    model = None
    if args.model:  # the model code (scikit-learn, skops) is imported only when a model is used
        from mlcicd.training import load_model

        model = load_model(args.model).model
    elif args.registry:
        registry = _registry(args.registry)
        _require_registry(registry, args.registry)
        production = registry.production()
        model = production.model if production is not None else None
    report = detect_drift(reference, current, target=args.target, model=model)
    lines = [f"{'feature':<28} {'method':<15} {'statistic':>10} {'p':>8} {'psi':>7}  drift"]
    lines += [_drift_line(f.feature, f) for f in report.features]
    lines += [
        _drift_line("(model) " + f.feature, f)
        for f in (report.prediction_drift, report.residual_drift)
        if f is not None
    ]
    lines.append(f"drift share {report.drift_share:.2f}; dataset drift: {report.dataset_drift}")
    lines += [f"- {reason}" for reason in report.reasons]
    lines.append("RETRAIN" if report.retrain else "keep the production model")
    code = EXIT_CHECK_FAILED if report.retrain else EXIT_OK
    return _Result(code, report.to_dict(), "\n".join(lines))


def cmd_pipeline(args: argparse.Namespace) -> _Result:
    from mlcicd.data import load_dataset
    from mlcicd.pipeline import run_versions

    if args.versions < 1:
        raise InputError(f"--versions: must be at least 1, got {args.versions}")
    if args.n_jobs == 0 or args.n_jobs < -1:
        raise InputError(f"--n-jobs: must be a positive number of workers or -1, got {args.n_jobs}")
    cache = _open_cache(args)
    result = run_versions(
        args.versions,
        data=load_dataset(),
        registry=args.registry,
        cache=cache,  # with a run cache, a check of data already checked is a hit (recorded)
        validation=args.validation,
        n_jobs=args.n_jobs,
        seed=args.seed,
        progress=not args.json and sys.stderr.isatty(),
    )
    totals = result.stage_totals()
    payload = {
        "versions": args.versions,
        "stage_seconds": {k: float(v) for k, v in totals.items()},
        "total_seconds": float(sum(totals.values())),
        "counts": dict(result.counts),
        "deployed": list(result.deployed),
        "blessed": sorted(v for v, d in result.decisions.items() if d.blessed),
        "outcomes": {str(v): o for v, o in result.outcomes.items()},
        "cache": _cache_payload(cache),
    }
    text = result.summary_table()
    if cache is not None:
        text += f"\nrun cache {cache.root}: {cache.hits} hits, {cache.misses} misses"
    return _Result(EXIT_OK, payload, text)


def cmd_cache(args: argparse.Namespace) -> _Result:
    from mlcicd.pipeline.disk_cache import DiskCache, parse_size

    root = Path(args.cache)
    if root.exists() and not root.is_dir():
        raise InputError(f"--cache {root}: is a file, expected a cache folder")
    cache = DiskCache(root)
    if args.action == "info":
        info = cache.info()
        text = f"run cache {root}: {info.entries} entries, {info.bytes / 1e6:.2f} MB" + (
            f", {info.temporary_files} temporary files" if info.temporary_files else ""
        )
        return _Result(EXIT_OK, info.to_dict(), text)
    if args.action == "clear":
        entries = len(cache)
        cache.clear()
        return _Result(
            EXIT_OK, {"removed": entries}, f"run cache {root}: removed {entries} entries"
        )
    if args.max_size is None:
        raise InputError("cache gc: --max-size is required (e.g. --max-size 500M)")
    done = cache.gc(parse_size(args.max_size))
    text = (
        f"run cache {root}: removed {done.removed} least recently used entries "
        f"({done.freed_bytes / 1e6:.2f} MB); kept {done.kept} ({done.kept_bytes / 1e6:.2f} MB)"
    )
    return _Result(EXIT_OK, done.to_dict(), text)


# --- helpers ----------------------------------------------------------------------------------


def _open_cache(args: argparse.Namespace) -> Any:
    """The run cache the options ask for (``None`` with ``--no-cache``)."""
    if args.no_cache:
        return None
    from mlcicd.pipeline.disk_cache import DiskCache

    return DiskCache(args.cache)


def _cache_payload(cache: Any) -> dict[str, Any] | None:
    """Hits and misses for ``--json``; an entry that failed its check is also reported on stderr."""
    if cache is None:
        return None
    for key in cache.corrupt:
        print(
            f"mlcicd: warning: run cache {cache.root}: entry {key[:12]} failed its sha256 check; "
            "recomputed and written again",
            file=sys.stderr,
        )
    return {"dir": str(cache.root), **cache.stats(), "corrupt_keys": list(cache.corrupt)}


def _cached_run(
    args: argparse.Namespace,
    stage: str,
    code: list[str],
    inputs: dict[str, Any],
    params: dict[str, Any],
    compute: Any,
    writes: dict[str, Any] | None = None,
) -> _Result:
    """Run ``compute`` (giving the result and the files it writes: JSON values, or bytes) through
    the run cache, then write those files to the paths in ``writes``.

    The key holds the stage's code (the sources of the functions named in ``code`` and of this
    one, read without importing them, so a hit loads neither pandas nor scikit-learn), the sha256
    of each input file (a ``("fp", text)`` input is a fingerprint already) and ``params``; not
    the files' names. A hit gives back the same exit code, payload, text and written files as the
    run that stored it, with that run's file names replaced by this run's. An input that cannot be
    fingerprinted (missing file) runs uncached, so ``compute`` reports the error.
    """
    from mlcicd.files import atomic_write, atomic_write_json

    writes = writes or {}
    names = {
        k: str(v) for k, v in {**inputs, **writes}.items() if isinstance(v, (str, os.PathLike))
    }
    cache = _open_cache(args)
    key, hit = None, False
    if cache is not None:
        fps = _input_fingerprints(inputs)
        if fps is not None:
            from mlcicd.pipeline.cache import Fingerprints, canonical_fingerprint, stage_key

            f = Fingerprints()
            version = "|".join(f.code_version(ref) for ref in ["mlcicd.cli:_cached_run", *code])
            key = stage_key(stage, version, fps, canonical_fingerprint(params))
            hit, stored = cache.get(key)
    if hit:
        result_code, payload, text, files, stored_names = stored
        renamed = {old: names[k] for k, old in stored_names.items() if names.get(k, old) != old}
        result = _Result(result_code, _renamed(payload, renamed), _renamed(text, renamed))
    else:
        result, files = compute()
        if key is not None:
            cache.put(key, (result.code, result.payload, result.text, files, names))
    for name, path in writes.items():
        value = files[name]
        if isinstance(value, bytes):
            atomic_write(path, partial(Path.write_bytes, data=value))
        else:
            atomic_write_json(path, value)
    payload = dict(result.payload)
    payload["cache"] = _cache_payload(cache)
    text = result.text
    if cache is not None and cache.hits:
        text = f"from the run cache ({cache.root}): " + text
    return _Result(result.code, payload, text)


def _renamed(value: Any, renamed: dict[str, str]) -> Any:
    """``value`` (text, or a payload) naming this run's files where the stored run named its own:
    a payload's strings that are a stored name, and each stored name inside a text."""
    if not renamed:
        return value
    if isinstance(value, dict):
        return {k: _renamed(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renamed) for v in value]
    if isinstance(value, str):
        if value in renamed:
            return renamed[value]
        for old in sorted(renamed, key=len, reverse=True):
            value = value.replace(old, renamed[old])
    return value


def _input_fingerprints(inputs: dict[str, Any]) -> dict[str, str] | None:
    """sha256 of each input file (``None`` stays ``None``); ``None`` if a file can't be read."""
    out = {}
    for name, value in inputs.items():
        if isinstance(value, tuple) and value[1] is None:
            return None
        if value is None or isinstance(value, tuple):
            out[name] = "none" if value is None else value[1]
            continue
        try:
            out[name] = "file:" + _file_sha256(value)
        except OSError:
            return None
    return out


def _production(args: argparse.Namespace) -> tuple[str, str | None] | None:
    """The registry's production model as a fingerprint (the sha256 of its file)."""
    if args.registry is None:
        return None

    try:
        registry = _registry(args.registry)
        if registry.aliases().get("production") is None:
            return ("fp", "no production model")
        return ("fp", "file:" + _file_sha256(registry.get("production").model_file))
    except (OSError, MlcicdError):
        return ("fp", None)  # not cached: the command reports the error


def _file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _gate_path(model: str | Path, decision: str | None) -> Path:
    return Path(decision) if decision else Path(str(model) + GATE_SUFFIX)


def _refused(message: str) -> _Result:
    return _Result(EXIT_CHECK_FAILED, {"deployed": False, "reason": message}, message)


def _registry(path: str) -> Any:
    """The registry at ``--registry path``; a path that cannot be a folder (a file on the way, a
    name too long) is the user's input error, reported before the registry writes there."""
    from mlcicd.registry import Registry

    root = Path(path)
    try:
        above = next((p for p in (root, *root.parents) if p.exists()), None)
        if above is not None and above != root and not above.is_dir():
            raise InputError(f"--registry {path}: {above} is a file, not a folder")
        return Registry(root)
    except OSError as exc:
        raise InputError(f"--registry {path}: cannot be used ({exc.strerror or exc})") from None


def _require_registry(registry: Any, path: str) -> None:
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise InputError(f"--registry {path}: is a file, expected a registry folder")
    if not (root / "versions").is_dir():
        raise InputError(f"--registry {path}: no registry there (deploy a model first)")


def _positive_float(option: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a number, got '{text}'") from None
        if value != value or value < 0:
            raise argparse.ArgumentTypeError(f"{option} must be a number >= 0, got '{text}'")
        return value

    return parse


def _float(option: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a number, got '{text}'") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{option} must be a finite number, got '{text}'")
        return value

    return parse


# the names in mlcicd.training (MODELS, REGRESSION_MODELS), kept here so that building the
# parser does not import scikit-learn; tests/faces/test_cli.py checks that both agree
MODEL_NAMES = {
    "classification": (
        "logistic_regression",
        "random_forest",
        "gradient_boosting",
        "decision_tree",
        "dummy",
    ),
    "regression": (
        "ridge",
        "linear_regression",
        "random_forest",
        "gradient_boosting",
        "decision_tree",
        "dummy",
    ),
}


def _model_names() -> str:
    return "; ".join(f"{task}: {', '.join(names)}" for task, names in MODEL_NAMES.items()) + "."


def build_parser() -> argparse.ArgumentParser:
    cache_dir = os.environ.get(CACHE_ENV) or DEFAULT_CACHE
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    cached = _Parser(add_help=False)
    cached.add_argument(
        "--cache",
        default=cache_dir,
        metavar="DIR",
        help=f"the run cache folder, kept between runs (default: ${CACHE_ENV} or {DEFAULT_CACHE})",
    )
    cached.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the run cache"
    )

    parser = _Parser(
        prog="mlcicd",
        description=__doc__.split("\n\n")[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="on an internal error, print the traceback (stderr)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(
        name: str,
        func,
        help_: str,
        example: str = "",
        details: str = "",
        parents: tuple[_Parser, ...] = (),
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            parents=[common, *parents],
            help=help_,
            description=f"{help_}. {details}" if details else help_,
            epilog=f"example: {example}" if example else None,
        )
        p.set_defaults(func=func)
        return p

    p = add(
        "infer-schema",
        cmd_infer_schema,
        "infer a data schema from a reference CSV",
        "mlcicd infer-schema train.csv --target species -o schema.json",
        "Numbers get a range (the values seen, widened by --slack; a column that never changed "
        "sign keeps it), text columns with few distinct values become categories (the "
        "categories the model's one-hot encoder will know), a column with missing values is "
        "nullable. Review the schema and commit it beside the code.",
        parents=(cached,),
    )
    p.add_argument("data", metavar="DATA.csv", help="the reference data (e.g. the training set)")
    p.add_argument("-o", "--output", required=True, metavar="SCHEMA.json", help="where to write")
    p.add_argument("--target", help="the label column (recorded in the schema)")
    p.add_argument(
        "--slack",
        type=_positive_float("--slack"),
        default=0.5,
        help="widen each numeric range by this share of it on both sides (default 0.5)",
    )
    p.add_argument(
        "--max-categories",
        type=int,
        default=20,
        help="a text column with at most this many distinct values is a category, more is free "
        "text (default 20)",
    )

    p = add(
        "validate-data",
        cmd_validate_data,
        "check a CSV against a schema (Data Validation)",
        "mlcicd validate-data new.csv --schema schema.json --serving",
        "Exit 1 with one line per anomaly (missing or unexpected column, wrong type, missing "
        "values where the schema allows none, an entirely missing column, +-inf, out of range, "
        "a category the schema does not know), 0 when the data is valid.",
        parents=(cached,),
    )
    p.add_argument("data", metavar="DATA.csv", help="the data to check")
    p.add_argument("--schema", required=True, metavar="SCHEMA.json", help="from infer-schema")
    p.add_argument("--serving", action="store_true", help="serving data: the label may be absent")

    p = add(
        "train",
        cmd_train,
        "train a model on a CSV (Train Model)",
        "mlcicd train train.csv --target species -o model.skops --model random_forest "
        "--param n_estimators=200",
        "The task is read from the label: a float label with more than 20 distinct values (or "
        "a fractional one) is regression, anything else classification; --task overrides. "
        "Category columns are one-hot encoded on the schema's categories (unknown ones at "
        "serving time encode as zeros) and missing values are imputed (median or most "
        "frequent, with a missing-indicator), inside the saved model. Models: " + _model_names(),
        parents=(cached,),
    )
    p.add_argument("data", metavar="DATA.csv", help="the training data")
    p.add_argument("--target", required=True, help="the label column")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.skops", help="where to write")
    p.add_argument(
        "--model",
        help="the model name (default: logistic_regression for classification, ridge for "
        "regression)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyper-parameter of the model, repeatable (e.g. max_depth=3)",
    )
    p.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="override the task read from the label",
    )
    p.add_argument(
        "--schema",
        metavar="SCHEMA.json",
        help="build the preprocessing from this schema (default: inferred from DATA.csv)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the model (default 0)")

    p = add(
        "test-model",
        cmd_test_model,
        "the quality gate on a holdout CSV (Test Model)",
        "mlcicd test-model model.skops holdout.csv --target species --registry registry/",
        "Blessed (exit 0) when the model meets its task's threshold, is no worse than the "
        "registry's production model by more than --tolerance, and beats a trivial baseline "
        "(the most frequent class; for regression, the mean: lower RMSE is better). With "
        "more than two classes precision, recall and f1 are macro averages and ROC AUC is "
        "one-vs-rest. Writes the decision to MODEL.skops" + GATE_SUFFIX + " for deploy.",
        parents=(cached,),
    )
    p.add_argument("model", metavar="MODEL.skops", help="the candidate, from train")
    p.add_argument("holdout", metavar="HOLDOUT.csv", help="data the model has not seen")
    p.add_argument("--target", required=True, help="the label column")
    p.add_argument(
        "--registry", metavar="DIR", help="compare with this registry's production model"
    )
    p.add_argument(
        "--min-accuracy",
        type=_positive_float("--min-accuracy"),
        help=f"classification: the minimum accuracy (default {DEFAULT_MIN_ACCURACY})",
    )
    p.add_argument(
        "--min-r2",
        type=_float("--min-r2"),
        help=f"regression: the minimum R^2 (default {REGRESSION_DEFAULT_MIN_R2})",
    )
    p.add_argument(
        "--max-rmse",
        type=_positive_float("--max-rmse"),
        help="regression: also require RMSE at most this (in the label's units)",
    )
    p.add_argument(
        "--tolerance",
        type=_positive_float("--tolerance"),
        default=0.01,
        help="how much worse than production a threshold metric may be (default 0.01)",
    )
    p.add_argument(
        "--decision", metavar="GATE.json", help=f"where to write it (MODEL{GATE_SUFFIX})"
    )

    p = add(
        "deploy",
        cmd_deploy,
        "register a blessed model as production (Deploy Model)",
        "mlcicd deploy model.skops --registry registry/ --schema schema.json",
        "Refused (exit 1) unless test-model blessed this very file (its sha256 is checked).",
    )
    p.add_argument("model", metavar="MODEL.skops", help="the model test-model blessed")
    p.add_argument("--registry", required=True, metavar="DIR", help="the registry folder")
    p.add_argument(
        "--decision", metavar="GATE.json", help=f"test-model's decision (MODEL{GATE_SUFFIX})"
    )
    p.add_argument("--schema", metavar="SCHEMA.json", help="store the data schema with the version")

    p = add(
        "rollback",
        cmd_rollback,
        "move production back to the previous version",
        "mlcicd rollback --registry registry/",
    )
    p.add_argument("--registry", required=True, metavar="DIR", help="the registry folder")

    p = add(
        "registry",
        cmd_registry,
        "list the registry's versions and aliases",
        "mlcicd registry --registry registry/",
    )
    p.add_argument("--registry", required=True, metavar="DIR", help="the registry folder")

    p = add(
        "monitor",
        cmd_monitor,
        "drift between a reference and a current CSV (Monitor)",
        "mlcicd monitor train.csv week12.csv --target species --registry registry/",
        "Exit 1 (retrain) when at least half of the features drift, when a classifier's "
        "accuracy on labelled current data falls by more than 0.05, or when a regression "
        "model's residuals (label - prediction) drift; the drift of a regression model's "
        "predictions is reported too.",
        parents=(cached,),
    )
    p.add_argument("reference", metavar="REFERENCE.csv", help="the data the model learnt from")
    p.add_argument("current", metavar="CURRENT.csv", help="recent production data")
    p.add_argument("--target", help="the label column, in both files (ignored as a feature)")
    p.add_argument(
        "--model",
        metavar="MODEL.skops",
        help="measure this model's accuracy (classification) or residuals (regression)",
    )
    p.add_argument(
        "--registry", metavar="DIR", help="the same, with the registry's production model"
    )

    p = add(
        "pipeline",
        cmd_pipeline,
        "run the whole loop over model versions and time each stage",
        "mlcicd pipeline --versions 10 --registry registry/",
        "On the embedded breast-cancer data: validate, train, test and deploy one model per "
        "version, and print the seconds each stage took.",
        parents=(cached,),
    )
    p.add_argument("--versions", type=int, default=10, help="how many versions (default 10)")
    p.add_argument("--registry", metavar="DIR", help="deploy into this registry folder")
    p.add_argument(
        "--validation",
        choices=("each", "once", "off"),
        default="each",
        help="validate the data for each version, once, or not at all (default each)",
    )
    p.add_argument(
        "--n-jobs", type=int, default=1, help="parallel workers, -1 for one per core (default 1)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    p = add(
        "cache",
        cmd_cache,
        "show, shrink (least recently used first) or empty the run cache",
        "mlcicd cache gc --max-size 500M",
    )
    p.add_argument(
        "action",
        choices=("info", "gc", "clear"),
        help="info: entries and size; gc: drop the least recently used down to --max-size; "
        "clear: drop everything",
    )
    p.add_argument(
        "--cache",
        default=cache_dir,
        metavar="DIR",
        help=f"default: ${CACHE_ENV} or {DEFAULT_CACHE}",
    )
    p.add_argument("--max-size", metavar="SIZE", help="gc: keep at most this much (500M, 2G)")
    _add_release_commands(add)
    return parser


# --- releases: a candidate beside production, a canary share, promote or reject (lesson 10) ---


def _blessed_gate(model: str, decision: str | None, what: str) -> Any:
    """The blessed GateDecision test-model wrote for ``model``, or a refusal :class:`_Result`.

    The file protocol is the command line's (the gate file sits next to the model and holds the
    sha256 of the model file it judged); whether a decision may be released is
    :func:`mlcicd.pipeline.release.refusal`'s."""
    from mlcicd.evaluation import GateDecision
    from mlcicd.files import read_json
    from mlcicd.pipeline import release

    gate_file = _gate_path(model, decision)
    if not gate_file.exists():
        return _refused(f"{what} refused: no gate decision {gate_file} (run test-model first)")
    gate = read_json(gate_file, "gate decision")
    if not isinstance(gate, dict) or "blessed" not in gate:
        raise InputError(f"gate decision {gate_file}: not a test-model decision file")
    if gate.get("model_sha256") != _file_sha256(model):
        return _refused(
            f"{what} refused: {gate_file} was written for another model than {model} "
            "(run test-model again)"
        )
    try:
        found = GateDecision.from_dict(gate)
    except InputError as exc:  # name the file the user gave
        message = exc.message.replace("gate decision:", f"gate decision {gate_file}:", 1)
        raise InputError(message) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a field of the wrong type
        raise InputError(
            f"gate decision {gate_file}: not a valid test-model decision ({type(exc).__name__}: "
            f"{exc})"
        ) from None
    why = release.refusal(found)
    if why is not None:
        return _refused(f"{what} refused: {model} was not blessed ({why})")
    return found


def _share(text: str) -> float:
    value = _positive_float("--share")(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"--share must be a fraction in [0, 1], got '{text}'")
    return value


def cmd_candidate(args: argparse.Namespace) -> _Result:
    from mlcicd.training import load_model

    trained = load_model(args.model)
    decision = _blessed_gate(args.model, args.decision, "candidate")
    if isinstance(decision, _Result):
        return decision
    registry = _registry(args.registry)
    version = registry.stage_candidate(trained, decision, share=args.share, reason=args.reason)
    traffic = registry.traffic()
    text = f"staged {args.model} as candidate version {version.version} (share {args.share:g})"
    return _Result(EXIT_OK, {"candidate": version.version, "traffic": traffic}, text)


def cmd_canary(args: argparse.Namespace) -> _Result:

    registry = _registry(args.registry)
    _require_registry(registry, args.registry)
    traffic = registry.set_share(args.share, reason=args.reason)
    text = f"canary: {args.share:g} of traffic to candidate version {traffic['candidate']}"
    return _Result(EXIT_OK, {"traffic": traffic}, text)


def cmd_promote(args: argparse.Namespace) -> _Result:

    registry = _registry(args.registry)
    _require_registry(registry, args.registry)
    version = registry.promote(reason=args.reason)
    payload = {"production": version.version, "aliases": registry.aliases()}
    return _Result(EXIT_OK, payload, f"promoted: production is now version {version.version}")


def cmd_reject(args: argparse.Namespace) -> _Result:

    registry = _registry(args.registry)
    _require_registry(registry, args.registry)
    version = registry.reject_candidate(reason=args.reason)
    payload = {"rejected": version.version, "traffic": registry.traffic()}
    return _Result(EXIT_OK, payload, f"rejected candidate version {version.version}")


def cmd_releases(args: argparse.Namespace) -> _Result:

    registry = _registry(args.registry)
    _require_registry(registry, args.registry)
    traffic, releases = registry.traffic(), registry.releases()
    lines = [
        f"production {traffic['production']}, candidate {traffic['candidate']}, "
        f"share {traffic['share']:g}"
    ]
    for r in releases:
        lines.append(
            f"{r['at']}  {r['action']:<9} version {r['version']}  share {r['share']:g}"
            f"  {r['reason']}"
        )
    return _Result(EXIT_OK, {"traffic": traffic, "releases": releases}, "\n".join(lines))


def _add_release_commands(add: Any) -> None:
    p = add(
        "candidate",
        cmd_candidate,
        "stage a blessed model as the candidate beside production",
        "mlcicd candidate model.skops --registry registry/ --share 0",
        "Share 0 is a shadow deployment: the candidate scores traffic, users see production.",
    )
    p.add_argument("model", metavar="MODEL.skops", help="a model that test-model blessed")
    p.add_argument("--registry", required=True, metavar="DIR", help="the registry folder")
    p.add_argument(
        "--decision", metavar="GATE.json", help=f"test-model's decision (MODEL{GATE_SUFFIX})"
    )
    p.add_argument("--share", type=_share, default=0.0, help="traffic to it (0: shadow only)")
    p.add_argument("--reason", default="", help="why, recorded with the decision")
    for name, func, help_, example in (
        (
            "canary",
            cmd_canary,
            "route a share of the traffic to the candidate",
            "mlcicd canary --registry registry/ --share 0.05",
        ),
        (
            "promote",
            cmd_promote,
            "make the candidate production (previous <- production)",
            "mlcicd promote --registry registry/ --reason 'canary passed'",
        ),
        (
            "reject",
            cmd_reject,
            "drop the candidate: all traffic back to production",
            "mlcicd reject --registry registry/ --reason 'worse on live traffic'",
        ),
        (
            "releases",
            cmd_releases,
            "the traffic split and every release decision",
            "mlcicd releases --registry registry/",
        ),
    ):
        p = add(name, func, help_, example)
        p.add_argument("--registry", required=True, metavar="DIR", help="the registry folder")
        if name == "canary":
            p.add_argument("--share", type=_share, required=True, help="share of traffic, 0 to 1")
        if name != "releases":
            p.add_argument("--reason", default="", help="why, recorded with the decision")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raises; a traceback only with ``--debug``).

    The library's own errors carry their exit code (:class:`~mlcicd.errors.InputError` 2,
    :class:`~mlcicd.errors.CheckFailed` 1); anything else is a bug: exit 3 and one line saying so.
    """
    words = [str(w) for w in (sys.argv[1:] if argv is None else argv)]
    want_json, debug = "--json" in words, "--debug" in words
    try:
        args = build_parser().parse_args(argv)
        result = args.func(args)
    except MlcicdError as exc:
        return _fail(exc.exit_code, exc.message, want_json)
    except KeyboardInterrupt:
        return _fail(130, "interrupted", want_json)
    except Exception as exc:  # not the user's mistake: a bug, one line and a distinct exit code
        if debug:
            traceback.print_exc(file=sys.stderr)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return _fail(EXIT_INTERNAL, f"{INTERNAL_ERROR}: {what}", want_json, prefix="mlcicd")
    if args.json:
        print(json.dumps(result.payload, sort_keys=True, default=str))
    else:
        print(result.text)
    return result.code


def _fail(code: int, message: str, want_json: bool, prefix: str = "mlcicd: error") -> int:
    message = " ".join(message.split())
    print(f"{prefix}: {message}", file=sys.stderr)
    if want_json:
        print(json.dumps({"error": message, "exit_code": code}))
    return code


if __name__ == "__main__":
    sys.exit(main())
