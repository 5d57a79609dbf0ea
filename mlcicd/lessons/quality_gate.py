"""What lesson 3 (training and the quality gate) computes and draws: candidate models gated
against a threshold, the production model and a baseline, how sure each holdout accuracy is
(Wilson intervals, paired McNemar tests, the holdout size a gap needs), and the code checks a
useless model still passes.

"Baseline" here is the course's: a model that always predicts the most frequent class. TFX's
Evaluator calls the *production* model its baseline (https://www.tensorflow.org/tfx/guide/evaluator).

The notebook calls these functions (and the explorer built from them); the tests call them too,
without a browser. Each ``draw_*`` function plots on a matplotlib axis it is given.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlcicd.course import save_results
from mlcicd.course.widgets import Explorer, question_bank
from mlcicd.data import TARGET, fingerprint
from mlcicd.errors import InputError
from mlcicd.evaluation import (
    DEFAULT_THRESHOLDS,
    DEFAULT_TOLERANCE,
    GateDecision,
    correct_rows,
    validate_model,
)
from mlcicd.lessons._common import BAD, BLUE, GOOD, GREY, _accuracy, _check_share, _whole
from mlcicd.significance import (
    DEFAULT_ALPHA,
    Interval,
    mcnemar_test,
    rows_to_detect,
    wilson_interval,
)
from mlcicd.training import (
    ModelSpec,
    TrainedModel,
    load_model,
    model_fingerprint,
    save_model,
    train_model,
)


def shuffle_labels(
    df: pd.DataFrame, target: str = TARGET, share: float = 1.0, seed: int = 0
) -> pd.DataFrame:
    """A copy of ``df`` whose labels are permuted among a random ``share`` of the rows."""
    share = _check_share("share", share)
    if target not in df.columns:
        raise InputError(f"target column {target!r}: not in the data")
    rng = np.random.default_rng(seed)
    chosen = np.flatnonzero(rng.random(len(df)) < share)
    labels = df[target].to_numpy().copy()
    labels[chosen] = labels[rng.permutation(chosen)]
    return df.assign(**{target: labels})


def train_candidates(
    train: pd.DataFrame,
    specs: Mapping[str, ModelSpec],
    target: str = TARGET,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, TrainedModel]:
    """Train each named spec on ``train``."""
    items = tqdm(list(specs.items()), desc="training", disable=not progress)
    return {name: train_model(train, target, spec, seed) for name, spec in items}


def _passed(decision: GateDecision, prefix: str) -> bool:
    return all(c.passed for c in decision.checks if c.name.startswith(prefix))


def gate_report(
    candidates: Mapping[str, TrainedModel],
    holdout: pd.DataFrame,
    *,
    production: TrainedModel | None = None,
    target: str = TARGET,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    require_significance: bool = False,
) -> tuple[pd.DataFrame, dict[str, GateDecision]]:
    """Gate every candidate against ``production`` and the baseline on ``holdout``."""
    prod = None if production is None else production.model
    decisions = {
        name: validate_model(
            m.model,
            holdout,
            target,
            production_model=prod,
            thresholds=thresholds,
            tolerance=tolerance,
            require_significance=require_significance,
        )
        for name, m in candidates.items()
    }
    rows = [
        {
            "model": name,
            **{k: d.metrics[k] for k in ("accuracy", "balanced_accuracy", "f1", "roc_auc")},
            "threshold": _passed(d, "threshold_"),
            "no_regression": _passed(d, "no_regression"),
            "beats_baseline": _passed(d, "beats_baseline"),
            "blessed": d.blessed,
            "reasons": "; ".join(d.reasons),
        }
        for name, d in decisions.items()
    ]
    return pd.DataFrame(rows), decisions


def _gate_lines(ax, threshold: float, production: float | None, tolerance: float, baseline: float):
    ax.axvline(threshold, color="black", ls="--", label=f"threshold {threshold:.2f}")
    if production is not None:
        ax.axvline(
            production - tolerance,
            color=BLUE,
            ls=":",
            label=f"production {production:.3f} - tolerance {tolerance:.2f}",
        )
    ax.axvline(baseline, color=GREY, ls="-.", label=f"baseline {baseline:.3f}")


def _bar_values(ax, values) -> None:
    """Write each horizontal bar's value at its end; zoom the x axis on the values."""
    values = list(values)
    for i, v in enumerate(values):
        ax.text(v + 0.003, i, f"{v:.3f}", va="center", fontsize=8)
    ax.set_xlim(max(0.0, min(values) - 0.1), 1.04)


def draw_gate_overview(table: pd.DataFrame, decisions: Mapping[str, GateDecision], ax) -> None:
    """Holdout accuracy per candidate (green blessed, red rejected) with its 95% Wilson
    interval, against the gate's lines."""
    first = next(iter(decisions.values()))
    prod = first.production_metrics["accuracy"] if first.production_metrics else None
    colours = [GOOD if b else BAD for b in table["blessed"]]
    n = first.metrics["n_rows"]
    spans = [wilson_interval(round(a * n), n) for a in table["accuracy"]]
    errors = [[i.estimate - i.low for i in spans], [i.high - i.estimate for i in spans]]
    ax.barh(table["model"], table["accuracy"], color=colours, xerr=errors, capsize=3)
    _gate_lines(
        ax,
        first.thresholds.get("accuracy", 0.0),
        prod,
        first.tolerance,
        first.baseline_metrics["accuracy"],
    )
    _bar_values(ax, table["accuracy"])
    ax.invert_yaxis()
    ax.set_xlabel(f"holdout accuracy (fraction of {first.metrics['n_rows']} rows)")
    ax.set_title("The quality gate: green blessed, red rejected (bars: 95% Wilson interval)")
    ax.legend(loc="lower right", fontsize=8)


def accuracy_intervals(
    models: Mapping[str, TrainedModel],
    holdout: pd.DataFrame,
    target: str = TARGET,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Each model's holdout accuracy with its Wilson interval: rows right, low, high, width."""
    rows = []
    for name, trained in models.items():
        right = correct_rows(trained.model, holdout, target)
        interval = wilson_interval(int(right.sum()), len(right), confidence)
        rows.append(
            {
                "model": name,
                "rows_right": int(right.sum()),
                "rows": len(right),
                "accuracy": round(interval.estimate, 6),
                "low": round(interval.low, 6),
                "high": round(interval.high, 6),
                "width": round(interval.width, 6),
            }
        )
    return pd.DataFrame(rows)


def paired_comparisons(
    candidates: Mapping[str, TrainedModel],
    production: TrainedModel,
    holdout: pd.DataFrame,
    target: str = TARGET,
    alpha: float = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """Each candidate against production on the same rows (exact McNemar).

    ``b``: rows only the candidate gets right; ``c``: rows only production gets right;
    ``rows_needed``: the holdout size at which a gap of this size, with this share of
    disagreeing rows, would be significant (None when there is no gap).
    """
    reference = correct_rows(production.model, holdout, target)
    rows = []
    for name, trained in candidates.items():
        test = mcnemar_test(correct_rows(trained.model, holdout, target), reference, alpha)
        gap = abs(test.b - test.c)
        needed = (
            None if gap == 0 else rows_to_detect(gap / test.n, (test.b + test.c) / test.n, alpha)
        )
        rows.append(
            {
                "model": name,
                "b": test.b,
                "c": test.c,
                "rows_behind": test.c - test.b,
                "p_value": test.p_value,
                "significant": test.significant,
                "rows_needed": needed,
            }
        )
    frame = pd.DataFrame(rows)
    frame["rows_needed"] = frame["rows_needed"].astype("Int64")  # whole rows, <NA> if no gap
    return frame


def interval_by_size(
    accuracy: float, sizes: Sequence[int], confidence: float = 0.95
) -> pd.DataFrame:
    """How far below and above ``accuracy`` its Wilson interval reaches on holdouts of ``sizes``
    rows (successes rounded to whole rows)."""
    rows = []
    for n in sizes:
        n = _whole(n, "sizes")
        interval = wilson_interval(round(accuracy * n), n, confidence)
        rows.append(
            {
                "rows": n,
                "below": round(interval.estimate - interval.low, 6),
                "above": round(interval.high - interval.estimate, 6),
            }
        )
    return pd.DataFrame(rows)


def draw_interval_by_size(
    frame: pd.DataFrame, ax, *, tolerance: float, holdout_rows: int, rows_needed: int | None
) -> None:
    """The interval's reach below the accuracy against the holdout size, with the tolerance."""
    ax.plot(
        frame["rows"], frame["below"], "o-", color=BLUE, label="reach of the 95% interval below"
    )
    ax.plot(frame["rows"], frame["above"], "o--", color=GREY, label="reach above")
    ax.axhline(tolerance, color="black", ls="--", label=f"tolerance {tolerance:.2f}")
    ax.axvline(holdout_rows, color=BAD, ls=":", label=f"our holdout: {holdout_rows} rows")
    if rows_needed is not None:
        ax.axvline(rows_needed, color=GOOD, ls=":", label=f"{rows_needed} rows: reach <= tolerance")
    ax.set_xscale("log")
    ax.set_xlabel("holdout size (rows, log scale)")
    ax.set_ylabel("uncertainty of the accuracy (fraction)")
    ax.set_title("How many holdout rows a 0.01 tolerance needs")
    ax.legend(fontsize=8)


def _verdicts(decisions: Mapping[str, GateDecision]) -> dict[str, bool]:
    return {name: d.blessed for name, d in decisions.items()}


def code_checks(
    trained: TrainedModel,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str = TARGET,
    workdir: str | Path | None = None,
) -> pd.DataFrame:
    """The tests a software pipeline would run on the model code: shapes, types, determinism,
    provenance, and (with ``workdir``) a save/load round trip. They say nothing about accuracy."""
    model, X = trained.model, holdout.drop(columns=[target])
    predicted = model.predict(X)
    proba = model.predict_proba(X)
    again = train_model(train, target, trained.spec, trained.metadata["seed"])
    checks = [
        ("one prediction per row", len(predicted) == len(X), f"{len(predicted)} for {len(X)}"),
        (
            "predictions are known labels",
            set(np.unique(predicted)) <= set(train[target].unique()),
            f"labels {sorted(np.unique(predicted).tolist())}",
        ),
        (
            "probabilities in [0, 1], rows sum to 1",
            bool(((proba >= 0) & (proba <= 1)).all() and np.allclose(proba.sum(axis=1), 1)),
            f"{proba.shape[1]} classes",
        ),
        (
            "retraining with the same seed gives the same model",
            model_fingerprint(again.model) == model_fingerprint(model),
            f"seed {trained.metadata['seed']}",
        ),
        (
            "metadata names the training data version",
            trained.metadata["data_fingerprint"] == fingerprint(train),
            trained.metadata["data_fingerprint"][:12],
        ),
    ]
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        path = save_model(trained, Path(workdir) / "code-check.skops")
        same = np.array_equal(load_model(path).model.predict(X), predicted)
        checks.append(("save and load keep the predictions", same, path.name))
    return pd.DataFrame(checks, columns=["check", "passed", "detail"])


def gate_explorer_compute(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    production: TrainedModel,
    *,
    model: str,
    max_depth: int,
    threshold: float,
    label_noise: float,
    target: str = TARGET,
    tolerance: float = DEFAULT_TOLERANCE,
    n_estimators: int = 50,
    seed: int = 0,
) -> dict:
    """Train one tree model of the chosen depth (on labels shuffled for ``label_noise`` of the
    rows), then gate it against ``production`` with an accuracy threshold of ``threshold``."""
    params: dict[str, Any] = {"max_depth": int(max_depth)}
    if model in ("random_forest", "gradient_boosting"):
        params["n_estimators"] = int(n_estimators)
    data = shuffle_labels(train, target, label_noise, seed) if label_noise else train
    trained = train_model(data, target, ModelSpec(model, params), seed)
    decision = validate_model(
        trained.model,
        holdout,
        target,
        production_model=production.model,
        thresholds={"accuracy": threshold},
        tolerance=tolerance,
    )
    return {
        "model": model,
        "params": params,
        "label_noise": float(label_noise),
        "train_accuracy": _accuracy(trained, data, target),
        "decision": decision,
    }


def draw_gate(result: Mapping, ax) -> None:
    d = result["decision"]
    names = [
        "candidate (training data)",
        "candidate (holdout)",
        "production (holdout)",
        "baseline (holdout)",
    ]
    values = [
        result["train_accuracy"],
        d.metrics["accuracy"],
        d.production_metrics["accuracy"],
        d.baseline_metrics["accuracy"],
    ]
    ax.barh(names, values, color=[GREY, GOOD if d.blessed else BAD, BLUE, GREY])
    _gate_lines(
        ax,
        d.thresholds["accuracy"],
        d.production_metrics["accuracy"],
        d.tolerance,
        d.baseline_metrics["accuracy"],
    )
    _bar_values(ax, values)
    ax.invert_yaxis()
    ax.set_xlabel("accuracy (fraction of rows)")
    params = ", ".join(f"{k}={v}" for k, v in result["params"].items())
    verdict = "BLESSED" if d.blessed else "REJECTED"
    ax.set_title(f"{result['model']} ({params}): {verdict}")
    ax.legend(loc="lower right", fontsize=8)


def describe_gate(result: Mapping) -> str:
    d = result["decision"]
    why = "all three checks pass" if d.blessed else "; ".join(d.reasons)
    return (
        f"{result['model']}, {result['label_noise']:.0%} labels shuffled: holdout accuracy "
        f"{d.metrics['accuracy']:.3f} -> {'BLESSED' if d.blessed else 'REJECTED'} ({why})"
    )


def gate_explorer(train, holdout, production, *, target=TARGET, n_estimators=50, seed=0):
    """Model family, tree depth, accuracy threshold and label noise -> retrain and gate."""
    import ipywidgets as w

    style = {"description_width": "initial"}
    controls = {
        "model": w.Dropdown(
            options=["decision_tree", "random_forest", "gradient_boosting"],
            value="decision_tree",
            description="model",
        ),
        "max_depth": w.IntSlider(value=3, min=1, max=12, description="max depth", style=style),
        "threshold": w.FloatSlider(
            value=DEFAULT_THRESHOLDS["accuracy"],
            min=0.8,
            max=0.99,
            step=0.01,
            description="threshold",
            style=style,
        ),
        "label_noise": w.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=0.1, description="labels shuffled", style=style
        ),
    }
    compute = functools.partial(
        gate_explorer_compute,
        train,
        holdout,
        production,
        target=target,
        n_estimators=n_estimators,
        seed=seed,
    )
    return Explorer(controls, compute, draw_gate, describe_gate, figsize=(9, 4))


# ---------------------------------------------------------------------------------- recording


def record_results(
    output_dir: str | Path,
    *,
    decisions: Mapping[str, GateDecision],
    required: Mapping[str, GateDecision],
    plain_blessed: Mapping[str, bool],
    checks: pd.DataFrame,
    intervals: pd.DataFrame,
    bootstrap: Interval,
    paired: pd.DataFrame,
    by_size: pd.DataFrame,
    rows_for_tolerance: int | None,
    dataset_rows: int,
    explorer: Explorer,
) -> Path:
    """Write what the lesson computed to ``<output_dir>/results.json`` (the tests read it).

    ``decisions`` are the default gate's (the shuffled-labels model included), ``required`` the
    same candidates gated with ``require_significance=True``.
    """
    last = explorer.last_result
    production = next(iter(decisions.values()))
    assert production.production_metrics is not None  # every decision here had a production model
    n = production.metrics["n_rows"]
    p = production.production_metrics["accuracy"]
    results = {
        "metrics": {
            name: {k: d.metrics[k] for k in ("accuracy", "balanced_accuracy", "f1", "roc_auc")}
            for name, d in decisions.items()
        },
        "production_accuracy": p,
        "baseline_accuracy": production.baseline_metrics["accuracy"],
        "blessed": _verdicts(decisions),
        "reasons": {name: list(d.reasons) for name, d in decisions.items() if not d.blessed},
        "plain_blessed": dict(plain_blessed),
        "holdout_rows": n,
        "tolerance_rows": round(production.tolerance * n, 3),
        "standard_error": round(float(np.sqrt(p * (1 - p) / n)), 4),
        "intervals": intervals.set_index("model").to_dict(orient="index"),
        "production_bootstrap": bootstrap.to_dict(),
        "paired": paired.set_index("model").to_dict(orient="index"),
        "blessed_if_significance_required": _verdicts(required),
        "reasons_if_significance_required": {
            name: list(d.reasons) for name, d in required.items() if not d.blessed
        },
        "interval_by_size": by_size.to_dict(orient="records"),
        "rows_for_tolerance": rows_for_tolerance,
        "dataset_rows": int(dataset_rows),
        "code_checks_passed": {model: int(checks[model].sum()) for model in checks.columns},
        "code_checks_total": len(checks),
        "explorer": {
            "model": last["model"],
            "params": last["params"],
            "blessed": last["decision"].blessed,
            "summary": explorer.summary,
        },
    }
    return save_results(output_dir, _plain(results))


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars and NaN turned into JSON's numbers and null."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


# ---------------------------------------------------------------------------------- self-checks

QUESTIONS = {
    "missing_step": {
        "question": (
            "A team's pipeline lints the code, runs the unit tests of the feature code, checks "
            "that the saved model loads and gives one prediction per row, then deploys. Last "
            "night's retrain on a new data export passed all of it, yet the new model is worse "
            "than the one it replaced. Which step was missing?"
        ),
        "options": [
            "More unit tests for the training code, with higher coverage",
            "Scoring the new model on held-out rows, and deploying only if it meets the bar and "
            "is not worse than the model in production",
            "A smoke test that the deployed service answers requests",
            "Pinning the versions of every library in the environment",
        ],
        "answer": 1,
        "explanation": (
            "The other steps exist in software CI too. Only measuring the trained model on data "
            "it has not seen, and gating the deploy on that measurement, catches a model that got "
            "worse while its code stayed correct: the quality gate of this lesson."
        ),
        "feedback": {
            0: "Unit tests check what the code does, and the code was fine. The worse model came "
            "with the new data, and no test of the code measures what the model learned.",
            2: "A worse model answers requests just as quickly and in the same format: a smoke "
            "test checks the service, not the quality of its answers.",
            3: "Pinning makes a build reproducible and is good practice, but the model got worse "
            "with the same code and libraries: what changed was the data.",
        },
    },
    "blessed": {
        "question": (
            "A candidate scores 0.944 on the holdout. The threshold is 0.90, production scores "
            "0.958 on the same rows, the tolerance is 0.01 and the baseline (always the most "
            "frequent class) scores 0.629. Under the gate's default rules, is it blessed?"
        ),
        "options": [
            "Yes: it clears the threshold",
            "Yes: it beats the baseline by far",
            "No: it is more than the tolerance below production",
            "No: 0.944 is below the threshold",
        ],
        "answer": 2,
        "explanation": (
            "0.958 - 0.944 = 0.014 > 0.01: the no-regression check fails, so the gate keeps the "
            "model already serving (this is the random forest above). The gap is 2 of 143 rows, "
            "which the paired test below cannot tell from noise."
        ),
        "feedback": {
            0: "The threshold is one of three checks; the candidate must also be at most 0.01 "
            "below production, and 0.958 - 0.944 = 0.014.",
            1: "Beating the most-frequent-class baseline only shows that it learned something "
            "from the features; it still has to hold up against the production model.",
            3: "0.944 is above 0.90, so the threshold check passes. Another check fails.",
        },
    },
    "code_checks": {
        "question": (
            "The model trained on shuffled labels passed every code check. What does that say "
            "about its accuracy?"
        ),
        "options": [
            "It is at least as accurate as production",
            "Nothing: code checks test the code's behaviour, not what the model learned",
            "It must be above the gate's threshold",
            "It is guaranteed to beat the baseline",
        ],
        "answer": 1,
        "explanation": (
            "Same code, different data, a useless model. Model quality is a property of code "
            "plus data, so it has to be measured on held-out data."
        ),
        "feedback": {
            0: "None of those checks compares it with production; on the holdout it did no "
            "better than always answering the most frequent class.",
            2: "The code checks never look at accuracy, so they cannot place it against the "
            "threshold.",
            3: "Trained on shuffled labels, it learned nothing about the features, so it can "
            "fall to the baseline or below; the code checks cannot see that.",
        },
    },
    "noise": {
        "question": (
            "On the same 143 holdout rows, a candidate is right on 2 rows where production is "
            "wrong, and wrong on 4 rows where production is right; on every other row both are "
            "right or both wrong. The exact McNemar test gives p = 0.69. What do you conclude?"
        ),
        "options": [
            "The candidate is worse: it loses 2 rows net, more than the 1.4 rows the tolerance "
            "allows",
            "The two models are equally accurate: the test has shown it",
            "This holdout cannot tell them apart; a real gap of this size would need a holdout "
            "of roughly 1,000 rows to show",
            "Production is overfitted, since the candidate beats it on 2 rows",
        ],
        "answer": 2,
        "explanation": (
            "Only the 6 rows where exactly one model is right carry information. If the models "
            "were equally accurate, each of those rows would fall either way like a fair coin, "
            "and 2 against 4 is an ordinary outcome (p = 0.69). With the same pattern, 984 rows "
            "are the first size at which the gap would be significant."
        ),
        "feedback": {
            0: "2 rows is what this holdout measured, but a 2-against-4 split happens often "
            "when two models are equally accurate: p = 0.69 says exactly that.",
            1: "A test that finds no difference has not shown equality: it says this holdout "
            "cannot tell. A real gap of a point or so would often look just like this.",
            3: "Both models were scored on rows neither was trained on, so this says nothing "
            "about overfitting; and here production wins on more rows, not fewer.",
        },
    },
    "tfx_baseline": {
        "question": (
            "A colleague sets up TFX's Evaluator and says: 'the new model must not be worse than "
            "the baseline'. Which check of this course's gate does that correspond to?"
        ),
        "options": [
            "beats the baseline: accuracy above always predicting the most frequent class",
            "no regression: not worse than the production model by more than a tolerance",
            "threshold: accuracy at least a fixed minimum",
            "none: TFX does not compare a candidate with another model",
        ],
        "answer": 1,
        "explanation": (
            "TFX's Evaluator compares a new model with a baseline 'such as the currently serving "
            "model', a previously blessed one (TFX guide: The Evaluator TFX Pipeline Component). "
            "That is what this course calls production; our 'baseline' is the trivial "
            "most-frequent-class model."
        ),
        "feedback": {
            0: "Same word, different model: in TFX's Evaluator the baseline is the model "
            "currently serving, not a trivial one.",
            2: "A fixed minimum is an absolute bar (TFX has those too, as value thresholds); "
            "'not worse than' compares with another model.",
            3: "It does: with validation on, the Evaluator scores a previously blessed model on "
            "the same data and compares the two.",
        },
    },
    "bigger_holdout": {
        "question": (
            "Requiring significance, the gate on our 143 rows blesses the depth-3 tree, 6 rows "
            "(0.042) behind production, because McNemar gives p = 0.11. What fixes that best?"
        ),
        "options": [
            "Raise alpha from 0.05 to 0.2, so that more differences count as significant",
            "Go back to the plain tolerance rule and ignore significance",
            "A bigger holdout: with the same pattern of disagreement the tree's gap is "
            "significant from about 200 rows, and an interval as tight as the 0.01 tolerance needs "
            "about 1,900",
            "Retrain the tree with other seeds until one passes the plain rule",
        ],
        "answer": 2,
        "explanation": (
            "On a small holdout, requiring significance lets real drops through, and the plain "
            "rule rejects over differences the holdout cannot tell from noise. Only more rows "
            "shrink the noise: an interval narrows roughly like 1 / sqrt(rows)."
        ),
        "feedback": {
            0: "That would catch this tree, but it also makes the gate call more noise-sized "
            "differences real: it trades one error for the other instead of measuring better.",
            1: "Then the gate again rejects over gaps of a row or two that this holdout cannot "
            "tell from noise: the measurement is still too coarse.",
            3: "Retrying until the gate says yes tunes on the holdout: a pass then says more "
            "about luck on these 143 rows than about the model.",
        },
    },
}
check_yourself = question_bank(QUESTIONS)
