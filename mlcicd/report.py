"""Markdown reports of the ``mlcicd --json`` outputs, for a CI job summary or a pull-request comment.

Each CI step saves its command's JSON and appends the report to the job summary::

    mlcicd test-model model.skops holdout.csv --target target --json > gate.json || status=$?
    python -m mlcicd.report gate gate.json >> "$GITHUB_STEP_SUMMARY"

Kinds: ``validation`` (validate-data), ``train``, ``gate`` (test-model), ``deploy``, ``registry``,
``monitor``, ``drift`` (``monitor`` on new training data before training: drift is a warning).
A command that failed with ``--json`` printed ``{"error": ..., "exit_code": ...}``;
that is reported as an error of its step. The report's exit code is 0 once it is written, 2 when
the JSON cannot be read or is not the kind's output.

>>> print(markdown("deploy", {"deployed": True, "version": 3, "aliases": {"production": 3}}))
### Deploy Model: ✅ version 3 is in production
<BLANKLINE>
| alias | version |
| --- | ---: |
| production | 3 |
<BLANKLINE>
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlcicd.errors import EXIT_BAD_INPUT, EXIT_OK, InputError, MlcicdError

PASS, FAIL, WARN = "✅", "❌", "⚠️"
METRIC_ORDER = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "n_rows")


def cell(value: Any, digits: int = 4) -> str:
    """One table cell: floats rounded, None as a dash, pipes and newlines escaped."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    """A markdown table; columns listed in ``numeric`` are right-aligned."""
    align = ["---:" if i in numeric else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _need(payload: Mapping[str, Any], kind: str, *keys: str) -> None:
    missing = [k for k in keys if k not in payload]
    if missing:
        raise InputError(
            f"{kind} report: the JSON has no {', '.join(missing)} (not {kind} output?)"
        )


def _metric_names(*tables: Mapping[str, Any] | None) -> list[str]:
    seen = [name for t in tables if t for name in t]
    known = [m for m in METRIC_ORDER if m in seen]
    return known + sorted({m for m in seen if m not in METRIC_ORDER})


def validation_report(p: Mapping[str, Any], title: str = "Data Validation") -> str:
    _need(p, "validation", "valid", "anomalies", "n_rows")
    rows = f"{p['n_rows']} rows" + (f", {p['n_columns']} columns" if "n_columns" in p else "")
    if p["valid"]:
        return f"### {title}: {PASS} valid ({rows})\n"
    anomalies = p["anomalies"]
    body = table(
        ["column", "anomaly", "rows", "detail"],
        [[a.get("column") or "*", a["kind"], a.get("count"), a.get("detail")] for a in anomalies],
        numeric=[2],
    )
    return f"### {title}: {FAIL} {len(anomalies)} anomalies ({rows})\n\n{body}\n"


def train_report(p: Mapping[str, Any], title: str = "Train Model") -> str:
    _need(p, "train", "model_name", "n_rows")
    params = ", ".join(f"{k}={v}" for k, v in sorted((p.get("params") or {}).items())) or "defaults"
    rows = [
        ["model", p["model_name"]],
        ["hyper-parameters", params],
        ["training rows", p["n_rows"]],
        ["training time (s)", p.get("training_seconds")],
        ["data fingerprint", str(p.get("data_fingerprint", ""))[:16]],
        ["artifact", p.get("model")],
    ]
    return f"### {title}: {PASS} {p['model_name']}\n\n{table(['', ''], rows)}\n"


def gate_report(p: Mapping[str, Any], title: str = "Test Model") -> str:
    _need(p, "gate", "blessed", "checks", "metrics")
    verdict = f"{PASS} blessed" if p["blessed"] else f"{FAIL} rejected"
    production, baseline = p.get("production_metrics"), p.get("baseline_metrics")
    names = _metric_names(p["metrics"], production, baseline)
    metrics = table(
        ["metric", "candidate", "production", "baseline"],
        [
            [m, p["metrics"].get(m), (production or {}).get(m), (baseline or {}).get(m)]
            for m in names
        ],
        numeric=[1, 2, 3],
    )
    checks = table(
        ["check", "result", "detail"],
        [
            [c["name"], f"{PASS} pass" if c["passed"] else f"{FAIL} fail", c["detail"]]
            for c in p["checks"]
        ],
    )
    out = f"### {title}: quality gate {verdict}\n\n{metrics}\n\n{checks}\n"
    if p.get("reasons"):
        out += "\n" + "\n".join(f"- {r}" for r in p["reasons"]) + "\n"
    return out


def deploy_report(p: Mapping[str, Any], title: str = "Deploy Model") -> str:
    _need(p, "deploy", "deployed")
    if not p["deployed"]:
        return f"### {title}: {FAIL} refused\n\n{p.get('reason', '')}\n"
    aliases = sorted((p.get("aliases") or {}).items())
    body = table(["alias", "version"], aliases, numeric=[1])
    return f"### {title}: {PASS} version {p.get('version')} is in production\n\n{body}\n"


def registry_report(p: Mapping[str, Any], title: str = "Model registry") -> str:
    _need(p, "registry", "versions", "aliases")
    by_version: dict[int, list[str]] = {}
    for alias, number in p["aliases"].items():
        by_version.setdefault(number, []).append(alias)
    rows = []
    for v in p["versions"]:
        meta = v.get("metadata", {})
        rows.append(
            [
                v["version"],
                meta.get("model_name"),
                (meta.get("metrics") or {}).get("accuracy"),
                str(meta.get("created_at", ""))[:19],
                ", ".join(sorted(by_version.get(v["version"], []))),
            ]
        )
    body = table(["version", "model", "accuracy", "created (UTC)", "aliases"], rows, [0, 2])
    count = f"{len(rows)} version" + ("" if len(rows) == 1 else "s")
    return f"### {title}: {count}\n\n{body}\n"


def monitor_report(p: Mapping[str, Any], title: str = "Monitor") -> str:
    verdict = f"{WARN} retrain" if p.get("retrain") else f"{PASS} keep the production model"
    return _drift_body(p, "monitor", title, verdict)


def drift_report(p: Mapping[str, Any], title: str = "Data Drift") -> str:
    """``mlcicd monitor REFERENCE NEW-TRAINING-DATA`` before training: drift is a warning."""
    drifted = p.get("dataset_drift")
    verdict = f"{WARN} the new data drifted (a warning)" if drifted else f"{PASS} no dataset drift"
    return _drift_body(p, "drift", title, verdict)


def _drift_body(p: Mapping[str, Any], kind: str, title: str, verdict: str) -> str:
    _need(p, kind, "features", "drift_share", "dataset_drift", "retrain")
    features = p["features"]
    drifted = sum(bool(f.get("drift")) for f in features)
    lines = [f"### {title}: {verdict}", ""]
    lines.append(
        f"{drifted} of {len(features)} features drifted (share {p['drift_share']:.2f}); "
        f"dataset drift: {'yes' if p['dataset_drift'] else 'no'}."
    )
    if p.get("accuracy") is not None and p.get("reference_accuracy") is not None:
        lines.append(
            f"Accuracy {p['reference_accuracy']:.4f} on the reference, {p['accuracy']:.4f} now "
            f"(drop {p['accuracy_drop']:.4f})."
        )
    lines += [""] + [f"- {r}" for r in p.get("reasons", [])]
    ranked = sorted(features, key=lambda f: (not f.get("drift"), -(f.get("psi") or 0.0)))
    rows = [
        [
            f["feature"],
            f.get("method"),
            f.get("statistic"),
            f.get("p_value"),
            f.get("psi"),
            f.get("psi_band"),
            f"{WARN} drift" if f.get("drift") else "",
        ]
        for f in ranked
    ]
    body = table(
        ["feature", "test", "statistic", "p-value", "PSI", "PSI band", ""], rows, [2, 3, 4]
    )
    lines += ["", f"<details><summary>Drift per feature ({len(features)})</summary>", ""]
    lines += [body, "", "</details>", ""]
    return "\n".join(lines)


REPORTS: dict[str, Callable[..., str]] = {
    "validation": validation_report,
    "train": train_report,
    "gate": gate_report,
    "deploy": deploy_report,
    "registry": registry_report,
    "monitor": monitor_report,
    "drift": drift_report,
}


def markdown(kind: str, payload: Any, title: str | None = None) -> str:
    """The markdown report of one command's JSON ``payload`` (``kind``: a key of ``REPORTS``)."""
    if kind not in REPORTS:
        raise InputError(f"kind '{kind}': unknown (allowed: {', '.join(REPORTS)})")
    if not isinstance(payload, Mapping):
        raise InputError(f"{kind} report: expected a JSON object, got {type(payload).__name__}")
    report = REPORTS[kind]
    heading = title or (report.__defaults__ or (kind,))[0]
    if "error" in payload:
        code = payload.get("exit_code", "?")
        return f"### {heading}: {FAIL} error (exit code {code})\n\n{cell(payload['error'])}\n"
    try:
        return report(payload, heading)
    except InputError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"{kind} report: malformed JSON ({type(exc).__name__}: {exc})") from None


def _read(path: str, kind: str) -> Any:
    if path == "-":
        try:
            return json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            raise InputError(f"{kind} JSON on stdin: malformed JSON ({exc.msg})") from None
    from mlcicd.files import read_json

    return read_json(path, f"{kind} JSON")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlcicd.report", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("kind", help=f"one of: {', '.join(REPORTS)}")
    parser.add_argument(
        "json_file", metavar="FILE.json", help="the command's --json output (- for stdin)"
    )
    parser.add_argument("--title", help="the heading (default: the step's name)")
    args = parser.parse_args(argv)
    try:
        if args.kind not in REPORTS:
            raise InputError(f"kind '{args.kind}': unknown (allowed: {', '.join(REPORTS)})")
        text = markdown(args.kind, _read(args.json_file, args.kind), args.title)
    except MlcicdError as exc:
        print(f"mlcicd.report: error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(text + "\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
