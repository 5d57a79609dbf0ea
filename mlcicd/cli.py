"""The ``mlcicd`` command line: each command is one step of an ML CI workflow.

The seed's workflow (Data Validation, Train Model, Test Model, Deploy Model) becomes::

    mlcicd infer-schema train.csv -o schema.json
    mlcicd validate-data train.csv --schema schema.json
    mlcicd train train.csv --target target -o model.skops
    mlcicd test-model model.skops holdout.csv --target target --registry registry/
    mlcicd deploy model.skops --registry registry/
    mlcicd monitor train.csv current.csv --target target --registry registry/

Exit codes: 0 success or the check passed; 1 the check failed (anomalies, gate rejected, drift
calls for retraining, deploy refused); 2 bad usage or unreadable input; 3 an internal error (a
bug: please report it). Errors are one line on stderr, never a traceback. ``--json`` prints one
JSON object on stdout instead of the text report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from mlcicd.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, InputError, MlcicdError

EXIT_INTERNAL = 3
GATE_SUFFIX = ".gate.json"


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
    from mlcicd.files import read_csv
    from mlcicd.validation import infer_schema, save_schema

    df = read_csv(args.data, "data")
    if args.target is not None and args.target not in df.columns:
        raise InputError(f"--target: column '{args.target}' is not in {args.data}")
    schema = infer_schema(
        df, target=args.target, slack=args.slack, max_categories=args.max_categories
    )
    save_schema(schema, args.output)
    payload = {"schema": str(args.output), "columns": len(schema.columns), "target": schema.target}
    return _Result(EXIT_OK, payload, f"wrote {args.output}: {len(schema.columns)} columns")


def cmd_validate_data(args: argparse.Namespace) -> _Result:
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


def cmd_train(args: argparse.Namespace) -> _Result:
    from mlcicd.files import read_csv
    from mlcicd.training import ModelSpec, make_estimator, parse_param, save_model, train_model

    params = dict(parse_param(p) for p in args.param)
    spec = ModelSpec(name=args.model, params=params)
    make_estimator(spec, seed=args.seed)  # reject an unknown model or parameter before reading data
    df = read_csv(args.data, "data")
    trained = train_model(df, args.target, spec, seed=args.seed)
    save_model(trained, args.output)
    meta = trained.metadata
    payload = {
        "model": str(args.output),
        "model_name": meta["model_name"],
        "params": meta["params"],
        "n_rows": meta["n_rows"],
        "data_fingerprint": meta["data_fingerprint"],
        "training_seconds": meta["training_seconds"],
    }
    text = (
        f"trained {meta['model_name']} on {meta['n_rows']} rows in "
        f"{meta['training_seconds']:.3f} s -> {args.output}"
    )
    return _Result(EXIT_OK, payload, text)


def cmd_test_model(args: argparse.Namespace) -> _Result:
    from mlcicd.evaluation import validate_model
    from mlcicd.files import atomic_write_json, read_csv
    from mlcicd.registry import Registry
    from mlcicd.training import load_model

    trained = load_model(args.model)
    holdout = read_csv(args.holdout, "holdout")
    if args.target not in holdout.columns:
        raise InputError(f"--target: column '{args.target}' is not in {args.holdout}")
    production = None
    if args.registry is not None:
        current = Registry(args.registry).production()
        production = current.model if current is not None else None
    thresholds = {"accuracy": args.min_accuracy}
    decision = validate_model(
        trained.model,
        holdout,
        args.target,
        production_model=production,
        thresholds=thresholds,
        tolerance=args.tolerance,
    )
    payload = decision.to_dict()
    payload["model_sha256"] = _file_sha256(args.model)
    atomic_write_json(_gate_path(args.model, args.decision), payload)
    verdict = "BLESSED" if decision.blessed else "REJECTED"
    lines = [f"{args.model}: {verdict}"]
    lines += [f"  {name}: {value}" for name, value in decision.metrics.items()]
    lines += [f"  - {reason}" for reason in decision.reasons]
    return _Result(EXIT_OK if decision.blessed else EXIT_CHECK_FAILED, payload, "\n".join(lines))


def cmd_deploy(args: argparse.Namespace) -> _Result:
    from mlcicd.evaluation import GateDecision
    from mlcicd.files import read_json
    from mlcicd.registry import Registry
    from mlcicd.training import load_model
    from mlcicd.validation import load_schema

    trained = load_model(args.model)
    gate_file = _gate_path(args.model, args.decision)
    if not gate_file.exists():
        return _refused(f"deploy refused: no gate decision {gate_file} (run test-model first)")
    gate = read_json(gate_file, "gate decision")
    if not isinstance(gate, dict) or "blessed" not in gate:
        raise InputError(f"gate decision {gate_file}: not a test-model decision file")
    if gate.get("model_sha256") != _file_sha256(args.model):
        return _refused(
            f"deploy refused: {gate_file} was written for another model than {args.model} "
            "(run test-model again)"
        )
    if not gate["blessed"]:
        reasons = "; ".join(gate.get("reasons", [])) or "the gate rejected it"
        return _refused(f"deploy refused: {args.model} was not blessed ({reasons})")
    decision = GateDecision.from_dict(gate)
    schema = load_schema(args.schema) if args.schema else None
    version = Registry(args.registry).deploy(trained, decision, schema=schema)
    payload = {
        "deployed": True,
        "version": version.version,
        "aliases": Registry(args.registry).aliases(),
    }
    return _Result(
        EXIT_OK, payload, f"deployed {args.model} as version {version.version} (production)"
    )


def cmd_rollback(args: argparse.Namespace) -> _Result:
    from mlcicd.registry import Registry

    registry = Registry(args.registry)
    _require_registry(registry, args.registry)
    version = registry.rollback()
    payload = {"production": version.version, "aliases": registry.aliases()}
    return _Result(EXIT_OK, payload, f"rolled back: production is now version {version.version}")


def cmd_registry(args: argparse.Namespace) -> _Result:
    from mlcicd.registry import Registry

    registry = Registry(args.registry)
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
            f"{v.version:>7}  {str(v.metadata.get('model_name', '?')):<20} "
            f"{'' if acc is None else f'{acc:.4f}':>8}  {str(v.metadata.get('created_at', ''))[:19]:<20} "
            f"{', '.join(sorted(by_version.get(v.version, [])))}"
        )
    return _Result(EXIT_OK, payload, "\n".join(lines))


def cmd_monitor(args: argparse.Namespace) -> _Result:
    from mlcicd.files import read_csv
    from mlcicd.monitoring import detect_drift

    if args.model and args.registry:
        raise InputError("--model and --registry: give one of them, not both")
    reference = read_csv(args.reference, "reference")
    current = read_csv(args.current, "current")
    for path, frame in ((args.reference, reference), (args.current, current)):
        if args.target is not None and args.target not in frame.columns and path == args.reference:
            raise InputError(f"--target: column '{args.target}' is not in {path}")
    model = None
    if args.model:  # the model code (scikit-learn, skops) is imported only when a model is used
        from mlcicd.training import load_model

        model = load_model(args.model).model
    elif args.registry:
        from mlcicd.registry import Registry

        registry = Registry(args.registry)
        _require_registry(registry, args.registry)
        production = registry.production()
        model = production.model if production is not None else None
    report = detect_drift(reference, current, target=args.target, model=model)
    lines = [f"{'feature':<28} {'method':<15} {'statistic':>10} {'p':>8} {'psi':>7}  drift"]
    for f in report.features:
        p = "" if f.p_value is None else f"{f.p_value:.3g}"
        lines.append(
            f"{f.feature:<28} {f.method:<15} {f.statistic:>10.4f} {p:>8} {f.psi:>7.3f}  "
            f"{'DRIFT' if f.drift else ''}"
        )
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
    result = run_versions(
        args.versions,
        data=load_dataset(),
        registry=args.registry,
        cache=None,  # a fresh process has nothing cached; "--validation each" must mean each
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
    }
    return _Result(EXIT_OK, payload, result.summary_table())


# --- helpers ----------------------------------------------------------------------------------


def _file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _gate_path(model: str | Path, decision: str | None) -> Path:
    return Path(decision) if decision else Path(str(model) + GATE_SUFFIX)


def _refused(message: str) -> _Result:
    return _Result(EXIT_CHECK_FAILED, {"deployed": False, "reason": message}, message)


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


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    parser = _Parser(prog="mlcicd", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    p = add("infer-schema", cmd_infer_schema, "infer a data schema from a reference CSV")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("-o", "--output", required=True, metavar="SCHEMA.json")
    p.add_argument("--target", help="the label column")
    p.add_argument("--slack", type=_positive_float("--slack"), default=0.5)
    p.add_argument("--max-categories", type=int, default=20)

    p = add("validate-data", cmd_validate_data, "check a CSV against a schema (Data Validation)")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--schema", required=True, metavar="SCHEMA.json")
    p.add_argument("--serving", action="store_true", help="serving data: the label may be absent")

    p = add("train", cmd_train, "train a model on a CSV (Train Model)")
    p.add_argument("data", metavar="DATA.csv")
    p.add_argument("--target", required=True)
    p.add_argument("-o", "--output", required=True, metavar="MODEL.skops")
    p.add_argument("--model", default="logistic_regression")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seed", type=int, default=0)

    p = add("test-model", cmd_test_model, "the quality gate on a holdout CSV (Test Model)")
    p.add_argument("model", metavar="MODEL.skops")
    p.add_argument("holdout", metavar="HOLDOUT.csv")
    p.add_argument("--target", required=True)
    p.add_argument(
        "--registry", metavar="DIR", help="compare with this registry's production model"
    )
    p.add_argument("--min-accuracy", type=_positive_float("--min-accuracy"), default=0.90)
    p.add_argument("--tolerance", type=_positive_float("--tolerance"), default=0.01)
    p.add_argument(
        "--decision", metavar="GATE.json", help=f"where to write it (MODEL{GATE_SUFFIX})"
    )

    p = add("deploy", cmd_deploy, "register a blessed model as production (Deploy Model)")
    p.add_argument("model", metavar="MODEL.skops")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument(
        "--decision", metavar="GATE.json", help=f"test-model's decision (MODEL{GATE_SUFFIX})"
    )
    p.add_argument("--schema", metavar="SCHEMA.json", help="store the data schema with the version")

    p = add("rollback", cmd_rollback, "move production back to the previous version")
    p.add_argument("--registry", required=True, metavar="DIR")

    p = add("registry", cmd_registry, "list the registry's versions and aliases")
    p.add_argument("--registry", required=True, metavar="DIR")

    p = add("monitor", cmd_monitor, "drift between a reference and a current CSV (Monitor)")
    p.add_argument("reference", metavar="REFERENCE.csv")
    p.add_argument("current", metavar="CURRENT.csv")
    p.add_argument("--target", help="the label column (ignored as a feature)")
    p.add_argument("--model", metavar="MODEL.skops", help="measure this model's accuracy")
    p.add_argument("--registry", metavar="DIR", help="measure the production model's accuracy")

    p = add("pipeline", cmd_pipeline, "run the whole loop over model versions and time each stage")
    p.add_argument("--versions", type=int, default=10)
    p.add_argument("--registry", metavar="DIR", help="deploy into this registry folder")
    p.add_argument("--validation", choices=("each", "once", "off"), default="each")
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    _add_release_commands(add)
    return parser


# --- releases: a candidate beside production, a canary share, promote or reject (lesson 10) ---


def _blessed_gate(model: str, decision: str | None, what: str) -> Any:
    """The blessed GateDecision test-model wrote for ``model``, or a refusal :class:`_Result`."""
    from mlcicd.evaluation import GateDecision
    from mlcicd.files import read_json

    gate_file = _gate_path(model, decision)
    if not gate_file.exists():
        return _refused(f"{what} refused: no gate decision {gate_file} (run test-model first)")
    gate = read_json(gate_file, "gate decision")
    if not isinstance(gate, dict) or "blessed" not in gate:
        raise InputError(f"gate decision {gate_file}: not a test-model decision file")
    if gate.get("model_sha256") != _file_sha256(model):
        return _refused(f"{what} refused: {gate_file} was written for another model than {model}")
    if not gate["blessed"]:
        reasons = "; ".join(gate.get("reasons", [])) or "the gate rejected it"
        return _refused(f"{what} refused: {model} was not blessed ({reasons})")
    return GateDecision.from_dict(gate)


def _share(text: str) -> float:
    value = _positive_float("--share")(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"--share must be a fraction in [0, 1], got '{text}'")
    return value


def cmd_candidate(args: argparse.Namespace) -> _Result:
    from mlcicd.registry import Registry
    from mlcicd.training import load_model

    trained = load_model(args.model)
    decision = _blessed_gate(args.model, args.decision, "candidate")
    if isinstance(decision, _Result):
        return decision
    registry = Registry(args.registry)
    version = registry.stage_candidate(trained, decision, share=args.share, reason=args.reason)
    traffic = registry.traffic()
    text = f"staged {args.model} as candidate version {version.version} (share {args.share:g})"
    return _Result(EXIT_OK, {"candidate": version.version, "traffic": traffic}, text)


def cmd_canary(args: argparse.Namespace) -> _Result:
    from mlcicd.registry import Registry

    registry = Registry(args.registry)
    _require_registry(registry, args.registry)
    traffic = registry.set_share(args.share, reason=args.reason)
    text = f"canary: {args.share:g} of traffic to candidate version {traffic['candidate']}"
    return _Result(EXIT_OK, {"traffic": traffic}, text)


def cmd_promote(args: argparse.Namespace) -> _Result:
    from mlcicd.registry import Registry

    registry = Registry(args.registry)
    _require_registry(registry, args.registry)
    version = registry.promote(reason=args.reason)
    payload = {"production": version.version, "aliases": registry.aliases()}
    return _Result(EXIT_OK, payload, f"promoted: production is now version {version.version}")


def cmd_reject(args: argparse.Namespace) -> _Result:
    from mlcicd.registry import Registry

    registry = Registry(args.registry)
    _require_registry(registry, args.registry)
    version = registry.reject_candidate(reason=args.reason)
    payload = {"rejected": version.version, "traffic": registry.traffic()}
    return _Result(EXIT_OK, payload, f"rejected candidate version {version.version}")


def cmd_releases(args: argparse.Namespace) -> _Result:
    from mlcicd.registry import Registry

    registry = Registry(args.registry)
    _require_registry(registry, args.registry)
    traffic, releases = registry.traffic(), registry.releases()
    lines = [f"production {traffic['production']}, candidate {traffic['candidate']}, "
             f"share {traffic['share']:g}"]  # fmt: skip
    for r in releases:
        lines.append(f"{r['at']}  {r['action']:<9} version {r['version']}  share {r['share']:g}"
                     f"  {r['reason']}")  # fmt: skip
    return _Result(EXIT_OK, {"traffic": traffic, "releases": releases}, "\n".join(lines))


def _add_release_commands(add: Any) -> None:
    p = add("candidate", cmd_candidate, "stage a blessed model as the candidate beside production")
    p.add_argument("model", metavar="MODEL.skops")
    p.add_argument("--registry", required=True, metavar="DIR")
    p.add_argument(
        "--decision", metavar="GATE.json", help=f"test-model's decision (MODEL{GATE_SUFFIX})"
    )
    p.add_argument("--share", type=_share, default=0.0, help="traffic to it (0: shadow only)")
    p.add_argument("--reason", default="")
    for name, func, help_ in (
        ("canary", cmd_canary, "route a share of the traffic to the candidate"),
        ("promote", cmd_promote, "make the candidate production (previous <- production)"),
        ("reject", cmd_reject, "drop the candidate: all traffic back to production"),
        ("releases", cmd_releases, "the traffic split and every release decision"),
    ):
        p = add(name, func, help_)
        p.add_argument("--registry", required=True, metavar="DIR")
        if name == "canary":
            p.add_argument("--share", type=_share, required=True)
        if name != "releases":
            p.add_argument("--reason", default="")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raises, never prints a traceback)."""
    want_json = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        result = args.func(args)
    except MlcicdError as exc:
        return _fail(exc.exit_code, exc.message, want_json)
    except (ValueError, TypeError, KeyError, OSError) as exc:
        # library errors from bad content (e.g. scikit-learn refusing NaN): input problems
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _fail(EXIT_BAD_INPUT, f"{type(exc).__name__}: {text}", want_json)
    except KeyboardInterrupt:
        return _fail(130, "interrupted", want_json)
    except Exception as exc:  # a bug: still one line, with a distinct exit code
        return _fail(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc}", want_json)
    if args.json:
        print(json.dumps(result.payload, sort_keys=True, default=str))
    else:
        print(result.text)
    return result.code


def _fail(code: int, message: str, want_json: bool) -> int:
    message = " ".join(message.split())
    print(f"mlcicd: error: {message}", file=sys.stderr)
    if want_json:
        print(json.dumps({"error": message, "exit_code": code}))
    return code


if __name__ == "__main__":
    sys.exit(main())
