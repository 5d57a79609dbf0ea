"""What lesson 5 (monitoring, drift, retraining) computes and draws.

A model runs through simulated production weeks under a retraining policy
(:func:`simulate_weeks`); :func:`compare_policies` puts policies side by side on the same weeks,
:func:`drift_by_feature` shows which features drift when. With no drift at all,
:func:`null_batches` and :func:`alarm_rates` measure how often the monitor's tests still fire
(many features, correlated features, one resampled pool), :func:`rates_by_batch_size` shows that
small batches cost power rather than false alarms, and :func:`psi_without_drift` compares PSI with
its no-drift value :func:`expected_psi`. ``QUESTIONS`` feeds the lesson's self-checks and
:func:`record_results` writes what the lesson computed.

>>> frame = simulate_weeks("never", covariate_shift=2.0, n_weeks=6, batch_size=100)
>>> frame["dataset_drift"].tolist()
[False, False, False, True, True, True]
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from mlcicd.course.widgets import question_bank
from mlcicd.data import TARGET, drift_strength, load_dataset, production_batches, split
from mlcicd.errors import InputError
from mlcicd.evaluation import DEFAULT_THRESHOLDS, DEFAULT_TOLERANCE
from mlcicd.lessons._common import fresh_workdir
from mlcicd.monitoring import (
    DEFAULT_DRIFT_SHARE,
    P_VALUE,
    P_VALUE_CORRECTIONS,
    PSI_BINS,
    PSI_MODERATE,
    PSI_SIGNIFICANT,
    adjust_p_values,
    detect_drift,
    numeric_psi,
)
from mlcicd.pipeline import release
from mlcicd.training import ModelSpec, train_model

POLICIES = release.RETRAIN_POLICIES
# the course's thresholds are the library's defaults (one set for every lesson and assignment)
DRIFT_SHARE = DEFAULT_DRIFT_SHARE  # dataset drift: this share of features
MIN_ACCURACY = DEFAULT_THRESHOLDS["accuracy"]  # the quality gate's accuracy floor
TOLERANCE = DEFAULT_TOLERANCE  # "no worse than production" up to this
COLOURS = {"never": "tab:red", "on_drift": "tab:green", "every_week": "tab:blue"}


def _world(data: pd.DataFrame | None, seed: int):
    """(train, holdout, pool): the first model's data and the rows production will see."""
    data = load_dataset() if data is None else data
    known, pool = split(data, TARGET, holdout=0.5, seed=seed)
    train, holdout = split(known, TARGET, holdout=0.25, seed=seed)
    return train, holdout, pool


def _weeks(pool, n_weeks, batch_size, covariate_shift, concept_drift, drift_start, seed):
    return production_batches(
        pool,
        TARGET,
        n_weeks,
        batch_size,
        covariate_shift=covariate_shift,
        concept_drift=concept_drift,
        drift_start=drift_start,
        seed=seed,
    )


def _check_number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InputError(f"{name}={value!r}: expected a number in [{low}, {high}]")
    if not low <= value <= high:
        raise InputError(f"{name}={value!r}: expected a number in [{low}, {high}]")
    return float(value)


def simulate_weeks(
    policy: str = "on_drift",
    covariate_shift: float = 2.0,
    concept_drift: float = 0.0,
    *,
    data: pd.DataFrame | None = None,
    n_weeks: int = 12,
    batch_size: int = 200,
    drift_start: int | None = None,
    drift_share: float = DRIFT_SHARE,
    max_accuracy_drop: float = 0.05,
    min_accuracy: float = MIN_ACCURACY,
    spec: ModelSpec | None = None,
    registry: Any = None,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per week: how the serving model did on that week's labelled batch, what the
    monitor saw, and whether the ``policy`` retrained (train -> gate -> deploy) afterwards.

    The first model is trained on half of ``data`` (default: breast cancer); the weeks resample
    the other half (see :func:`mlcicd.data.production_batches`). ``policy``: ``"never"``,
    ``"on_drift"`` (when :func:`~mlcicd.monitoring.detect_drift` says retrain) or
    ``"every_week"``. A retrained candidate learns from 75 % of the week's batch and must pass
    the gate (accuracy >= ``min_accuracy``, no worse than production up to ``TOLERANCE``) on the
    other 25 %; a
    deployed model serves from the next week on and its training rows become the reference.
    ``registry`` (a :class:`~mlcicd.registry.Registry` or folder): deploy there for real.
    """
    release.retrain_policy(policy, False)  # an unknown policy is refused before any work
    covariate_shift = _check_number("covariate_shift", covariate_shift, -10, 10)
    concept_drift = _check_number("concept_drift", concept_drift, 0, 1)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 20:
        raise InputError(f"batch_size={batch_size!r}: expected an integer >= 20")
    train, holdout, pool = _world(data, seed)
    weeks = _weeks(pool, n_weeks, batch_size, covariate_shift, concept_drift, drift_start, seed)
    strength = drift_strength(n_weeks, drift_start)
    thresholds = {"accuracy": min_accuracy}
    model = train_model(train, TARGET, spec, seed=seed)
    decision = release.decide(model.model, holdout, TARGET, thresholds=thresholds)
    registry = _fresh_registry(registry)
    # the model serving when the weeks start: deployed for real only with a registry
    version = (
        1 if registry is None else release.release(registry, model, decision, strict=True).version
    )
    reference, reference_accuracy = train, decision.metrics["accuracy"]
    rows = []
    for week, batch in enumerate(tqdm(weeks, desc=policy, disable=not progress)):
        report = detect_drift(
            reference,
            batch,
            target=TARGET,
            model=model.model,
            reference_accuracy=reference_accuracy,
            drift_share=drift_share,
            max_accuracy_drop=max_accuracy_drop,
        )
        psi = [f.psi for f in report.features if f.psi is not None]
        row = {
            "policy": policy,
            "week": week,
            "drift_strength": float(strength[week]),
            "version": version,
            "accuracy": report.accuracy,
            "accuracy_drop": report.accuracy_drop,
            "drift_share": report.drift_share,
            "n_drifted": len(report.drifted),
            "drifted": ", ".join(report.drifted),
            "mean_psi": float(np.mean(psi)) if psi else np.nan,
            "dataset_drift": report.dataset_drift,
            "monitor_retrain": report.retrain,
            "alarm": _alarm(report, max_accuracy_drop),
            "retrained": False,
            "blessed": False,
            "gate_reasons": "",
            "deployed_version": 0,
        }
        if release.retrain_policy(policy, report.retrain):
            fit, gate = split(batch, TARGET, holdout=0.25, seed=seed + week)
            candidate = train_model(fit, TARGET, spec, seed=seed)
            verdict = release.decide(
                candidate.model, gate, TARGET, production_model=model.model, thresholds=thresholds
            )
            row.update(
                retrained=True, blessed=verdict.blessed, gate_reasons="; ".join(verdict.reasons)
            )
            deployed = release.release(registry, candidate, verdict, version=version + 1)
            if deployed is not None:
                version = _version(deployed)
                model, reference = candidate, fit
                reference_accuracy = verdict.metrics["accuracy"]
                row["deployed_version"] = version
        rows.append(row)
    return pd.DataFrame(rows)


def _version(deployed: Any) -> int:
    """The version number :func:`~mlcicd.pipeline.release.release` deployed (a registry's
    ``ModelVersion``, or the count kept here without a registry)."""
    return deployed if isinstance(deployed, int) else deployed.version


def _alarm(report, max_accuracy_drop: float) -> str:
    """Why the monitor calls for retraining: "features", "accuracy", both or "" (no alarm)."""
    fell = report.accuracy_drop is not None and report.accuracy_drop > max_accuracy_drop
    return " + ".join(n for n, on in (("features", report.dataset_drift), ("accuracy", fell)) if on)


def _fresh_registry(registry: Any):
    from mlcicd.registry import Registry

    if registry is None:
        return None
    if not isinstance(registry, Registry):
        # a folder: a registry an earlier run left there is replaced, so the lesson re-runs
        from mlcicd.lessons.deployment import fresh_registry

        return fresh_registry(registry)
    if registry.versions():
        raise InputError(f"registry {registry.root}: already holds versions; give an empty folder")
    return registry


def compare_policies(
    policies: Iterable[str] = ("never", "on_drift"), *, registry: Any = None, **options
) -> pd.DataFrame:
    """:func:`simulate_weeks` for each policy on the same weeks, stacked into one frame.

    ``registry``: a folder (emptied, see :func:`fresh_workdir`) holding one registry per policy.
    """
    root = None if registry is None else fresh_workdir(registry)
    frames = [
        simulate_weeks(p, registry=None if root is None else root / p, **options)
        for p in dict.fromkeys(policies)
    ]
    return pd.concat(frames, ignore_index=True)


def explore_policy(policy: str, covariate_shift: float, concept_drift: float, **options):
    """The chosen policy next to ``"never"`` (for the lesson's Explorer)."""
    return compare_policies(
        ("never", policy), covariate_shift=covariate_shift, concept_drift=concept_drift, **options
    )


def drift_by_feature(
    covariate_shift: float = 2.0,
    concept_drift: float = 0.0,
    *,
    data: pd.DataFrame | None = None,
    n_weeks: int = 12,
    batch_size: int = 200,
    drift_start: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Each week's batch against the first model's training data, one row per (week, feature)."""
    train, _, pool = _world(data, seed)
    weeks = _weeks(pool, n_weeks, batch_size, covariate_shift, concept_drift, drift_start, seed)
    frames = [
        detect_drift(train, batch, target=TARGET).to_frame().assign(week=week)
        for week, batch in enumerate(weeks)
    ]
    return pd.concat(frames, ignore_index=True)


def weeks_record(frame: pd.DataFrame) -> dict[str, Any]:
    """JSON-ready summary per policy: accuracy and drift flag per week, retrain weeks."""
    out = {}
    for policy, rows in frame.groupby("policy", sort=False):
        out[policy] = {
            "accuracy": [round(float(a), 4) for a in rows["accuracy"]],
            "drift_share": [round(float(s), 4) for s in rows["drift_share"]],
            "drift_flag": [bool(f) for f in rows["dataset_drift"]],
            "monitor_retrain": [bool(f) for f in rows["monitor_retrain"]],
            "retrain_weeks": [int(w) for w in rows.loc[rows["retrained"], "week"]],
            "deploy_weeks": [int(w) for w in rows.loc[rows["deployed_version"] > 0, "week"]],
            "final_accuracy": round(float(rows["accuracy"].iloc[-1]), 4),
            "mean_accuracy": round(float(rows["accuracy"].mean()), 4),
        }
    return out


def describe_weeks(frame: pd.DataFrame) -> str:
    """One line per policy: mean and last-week accuracy, how many retrains were deployed."""
    parts = []
    for policy, r in weeks_record(frame).items():
        parts.append(
            f"{policy}: mean accuracy {r['mean_accuracy']:.3f}, "
            f"last week {r['final_accuracy']:.3f}, "
            f"{len(r['deploy_weeks'])} retrained model(s) deployed"
        )
    return "; ".join(parts)


def draw_accuracy(frame: pd.DataFrame, ax) -> None:
    """Accuracy per week for each policy; stars where a retrained model was deployed,
    crosses where the gate rejected it; the drifting weeks shaded."""
    drifting = frame.loc[frame["drift_strength"] > 0, "week"]
    if len(drifting):
        ax.axvspan(
            drifting.min() - 0.5,
            frame["week"].max() + 0.5,
            color="0.92",
            zorder=0,
            label="drift ramps up",
        )
    for policy, rows in frame.groupby("policy", sort=False):
        colour = COLOURS[policy]
        ax.plot(rows["week"], rows["accuracy"], "o-", color=colour, label=f"policy: {policy}")
        done = rows[rows["deployed_version"] > 0]
        refused = rows[rows["retrained"] & ~rows["blessed"]]
        for marks, style, size, what in (
            (done, "*", 15, "retrained + deployed"),
            (refused, "X", 10, "gate rejected"),
        ):
            if len(marks):
                ax.plot(
                    marks["week"],
                    marks["accuracy"],
                    style,
                    ms=size,
                    color=colour,
                    mec="black",
                    label=f"{policy}: {what}",
                )
    ax.set_xticks(sorted(frame["week"].unique()))
    ax.set(
        xlabel="week",
        ylabel="accuracy on the week's labelled batch (fraction)",
        ylim=(0, 1.02),
        title="Accuracy of the serving model, week by week",
    )
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)


def draw_drift_share(frame: pd.DataFrame, ax, threshold: float | None = None) -> None:
    """Drift share per week (grouped bars per policy) and the dataset-drift threshold."""
    groups = list(frame.groupby("policy", sort=False))
    width = 0.8 / len(groups)
    for i, (policy, rows) in enumerate(groups):
        offset = (i - (len(groups) - 1) / 2) * width
        ax.bar(
            rows["week"] + offset,
            rows["drift_share"],
            width,
            color=COLOURS[policy],
            alpha=0.7,
            label=f"policy: {policy}",
        )
    if threshold is not None:
        ax.axhline(threshold, color="black", ls="--", label=f"dataset drift at >= {threshold:.2f}")
    ax.set(
        xlabel="week",
        ylabel="share of features drifted (fraction)",
        ylim=(0, 1.02),
        title="Feature drift against the serving model's training data",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, axis="y")


def plot_weeks(frame: pd.DataFrame, *, threshold: float | None = DRIFT_SHARE, title: str = ""):
    """Accuracy (top) and drift share (bottom) over the weeks."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    draw_accuracy(frame, top)
    draw_drift_share(frame, bottom, threshold)
    top.set_xlabel("")
    top.tick_params(labelbottom=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_feature_drift(long: pd.DataFrame):
    """Heat map of PSI per feature and week (from :func:`drift_by_feature`); dots mark drift."""
    import matplotlib.pyplot as plt

    psi = long.pivot(index="feature", columns="week", values="psi")
    drift = long.pivot(index="feature", columns="week", values="drift").reindex_like(psi)
    order = list(dict.fromkeys(long["feature"]))
    psi, drift = psi.loc[order], drift.loc[order].astype(bool)
    fig, ax = plt.subplots(figsize=(9, 8))
    image = ax.imshow(psi.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    y, x = np.nonzero(drift.to_numpy())
    ax.plot(x, y, "o", ms=4, color="white", mec="black", label="drift test fires")
    ax.set_yticks(range(len(order)), order, fontsize=7)
    ax.set_xticks(range(psi.shape[1]), psi.columns)
    ax.set(xlabel="week", title="Population stability index per feature (0.2+ = significant)")
    fig.colorbar(image, ax=ax, label="PSI (unitless; capped at 1 in colour)")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------- false alarms and PSI without drift

SCENARIOS = ("independent, fresh", "correlated, fresh", "resampled from one pool")


def expected_alarm_rate(n_features: int, alpha: float = P_VALUE) -> float:
    """Chance of at least one false alarm among ``n_features`` independent tests at ``alpha``."""
    return 1 - (1 - alpha) ** n_features


def expected_psi(n_reference: int, n_current: int, bins: int = PSI_BINS) -> float:
    """PSI expected without any drift: about ``(bins - 1) * (1/n + 1/m)``.

    PSI is close to a chi-square statistic, sum of (q - p)^2 / p over the bins; with no drift each
    bin's share differs between two samples by sampling noise of variance p (1 - p) (1/n + 1/m).
    """
    return (bins - 1) * (1 / n_reference + 1 / n_current)


def _ks_p_values(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The monitor's two-sample KS test (scipy's defaults, as in detect_drift) for every column."""
    return np.atleast_1d(stats.ks_2samp(reference, current, axis=0).pvalue)


def _correlated_sampler(data: pd.DataFrame, rng: np.random.Generator):
    """Draw rows of standard normal features with the correlation matrix of ``data``."""
    corr = np.corrcoef(data.to_numpy(dtype=np.float64), rowvar=False)
    values, vectors = np.linalg.eigh(corr)
    root = vectors * np.sqrt(np.clip(values, 0, None))  # corr = root @ root.T
    return lambda n: rng.standard_normal((n, corr.shape[0])) @ root.T


def null_batches(
    n_batches: int = 200, batch_size: int = 200, *, data: pd.DataFrame | None = None, seed: int = 0
) -> pd.DataFrame:
    """Batches with no drift at all, tested like the monitor does; one row per (scenario, batch).

    Scenarios (see ``SCENARIOS``), each with the 30 features and as many reference rows as the
    lesson's first model learns from: fresh independent normal features (reference and batch drawn
    anew each time); fresh normal features correlated like the real data's; and the lesson's own
    weeks, batches resampled from one fixed pool and compared with one fixed training set.
    Columns: alarms at ``P_VALUE`` before and after a Bonferroni / Benjamini-Hochberg correction,
    the drift share, and the largest PSI.
    """
    for name, value, low in (("n_batches", n_batches, 1), ("batch_size", batch_size, 20)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{name}={value!r}: expected an integer >= {low}")
    train, _, pool = _world(data, seed)
    features = [c for c in train.columns if c != TARGET]
    n_ref, k = len(train), len(features)
    rng = np.random.default_rng(seed)
    correlated = _correlated_sampler(train[features], rng)
    weeks = _weeks(pool, n_batches, batch_size, 0.0, 0.0, None, seed)
    fixed_ref = train[features].to_numpy(dtype=np.float64)
    draws = {
        SCENARIOS[0]: lambda b: (
            rng.standard_normal((n_ref, k)),
            rng.standard_normal((batch_size, k)),
        ),
        SCENARIOS[1]: lambda b: (correlated(n_ref), correlated(batch_size)),
        SCENARIOS[2]: lambda b: (fixed_ref, weeks[b][features].to_numpy(dtype=np.float64)),
    }
    rows = []
    for scenario, draw in draws.items():
        for b in range(n_batches):
            ref, cur = draw(b)
            p = _ks_p_values(ref, cur)
            psi = [numeric_psi(ref[:, j], cur[:, j]) for j in range(k)]
            rows.append(
                {
                    "scenario": scenario,
                    "batch": b,
                    "n_features": k,
                    "alarms": int(np.sum(p < P_VALUE)),
                    "bonferroni": int(np.sum(adjust_p_values(p, "bonferroni") < P_VALUE)),
                    "benjamini_hochberg": int(
                        np.sum(adjust_p_values(p, "benjamini_hochberg") < P_VALUE)
                    ),
                    "max_psi": max(psi),
                }
            )
    return pd.DataFrame(rows)


def alarm_rates(batches: pd.DataFrame, drift_share: float = DRIFT_SHARE) -> pd.DataFrame:
    """Per scenario: how often a feature, and how often a batch, raises a false alarm by each rule.

    ``per_feature``: share of feature tests with p < ``P_VALUE``; the ``any_*`` columns: share of
    batches with at least one alarm (raw, Bonferroni, Benjamini-Hochberg, PSI >=
    ``PSI_SIGNIFICANT``); ``dataset_drift``: share of batches whose drift share reaches
    ``drift_share``; ``sd_alarms``: the spread of the alarm count per batch next to
    ``sd_if_independent``, what independent tests would give.
    """
    out = []
    for scenario, rows in batches.groupby("scenario", sort=False):
        k = int(rows["n_features"].iloc[0])
        out.append(
            {
                "scenario": scenario,
                "per_feature": float(rows["alarms"].sum() / (k * len(rows))),
                "any_alarm": float((rows["alarms"] > 0).mean()),
                "mean_alarms": float(rows["alarms"].mean()),
                "sd_alarms": float(rows["alarms"].std(ddof=0)),
                "sd_if_independent": float(np.sqrt(k * P_VALUE * (1 - P_VALUE))),
                "dataset_drift": float((rows["alarms"] / k >= drift_share).mean()),
                "any_bonferroni": float((rows["bonferroni"] > 0).mean()),
                "any_benjamini_hochberg": float((rows["benjamini_hochberg"] > 0).mean()),
                "any_psi_significant": float((rows["max_psi"] >= PSI_SIGNIFICANT).mean()),
            }
        )
    return pd.DataFrame(out)


def rates_by_batch_size(
    sizes: Iterable[int] = (50, 200, 800),
    shift: float = 0.25,
    *,
    n_features: int = 30,
    n_batches: int = 50,
    seed: int = 0,
) -> pd.DataFrame:
    """False alarms and power of the KS test against the batch size (reference of the same size).

    Fresh independent normal features: ``n_features`` calm ones and as many moved by ``shift``
    standard deviations. ``false_alarm``: share of calm features flagged; ``power``: share of moved
    features flagged.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        calm, moved = [], []
        for _ in range(n_batches):
            ref = rng.standard_normal((n, 2 * n_features))
            cur = rng.standard_normal((n, 2 * n_features))
            cur[:, n_features:] += shift
            flagged = _ks_p_values(ref, cur) < P_VALUE
            calm.append(flagged[:n_features].mean())
            moved.append(flagged[n_features:].mean())
        rows.append(
            {
                "batch_size": int(n),
                "false_alarm": float(np.mean(calm)),
                "power": float(np.mean(moved)),
            }
        )
    return pd.DataFrame(rows)


def psi_without_drift(
    sizes: Iterable[tuple[int, int]] = ((200, 200), (100, 100), (1000, 1000), (5000, 5000)),
    *,
    n_features: int = 30,
    n_repeats: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """PSI of calm features (fresh independent normal samples) for each (reference, current) size.

    ``mean_psi`` next to :func:`expected_psi`, and the share of calm features the rule of thumb
    would call "moderate" (>= 0.1) or "significant" (>= 0.2).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n, m in sizes:
        psi = np.array(
            [
                numeric_psi(rng.standard_normal(n), rng.standard_normal(m))
                for _ in range(n_repeats * n_features)
            ]
        )
        rows.append(
            {
                "n_reference": int(n),
                "n_current": int(m),
                "mean_psi": float(psi.mean()),
                "expected_psi": expected_psi(n, m),
                "moderate_or_more": float((psi >= PSI_MODERATE).mean()),
                "significant": float((psi >= PSI_SIGNIFICANT).mean()),
            }
        )
    return pd.DataFrame(rows)


def corrected_drift_share(per_feature: pd.DataFrame, method: str) -> pd.Series:
    """Drift share per week (from :func:`drift_by_feature`) after correcting the p-values."""
    return per_feature.groupby("week")["p_value"].apply(
        lambda p: float(np.mean(adjust_p_values(p.to_numpy(), method) < P_VALUE))
    )


def calm_week_psi(
    per_feature: pd.DataFrame,
    *,
    batch_size: int,
    drift_start: int | None = None,
    data: pd.DataFrame | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Mean PSI over all features in the lesson's weeks before the drift starts, next to
    :func:`expected_psi` for the training set's and the batch's sizes."""
    n_weeks = int(per_feature["week"].max()) + 1
    calm = np.flatnonzero(drift_strength(n_weeks, drift_start) == 0)
    n_reference = len(_world(data, seed)[0])
    return {
        "measured": float(per_feature.loc[per_feature["week"].isin(calm), "psi"].mean()),
        "expected": expected_psi(n_reference, batch_size),
        "n_reference": n_reference,
        "n_current": batch_size,
    }


# ------------------------------------------------------------------ self-checks and the record

QUESTIONS = {
    "stale_model": {
        "question": (
            "A bank's fraud model was trained and deployed by its pipeline in spring. Every nightly "
            "CI run since has been green and the service answers in milliseconds. In autumn, "
            "after shopping moved online, it misses many frauds. What went wrong in the process?"
        ),
        "options": [
            "A bug in the feature code that the unit tests missed",
            "Nobody retrained the model on recent transactions once the data had changed",
            "The serving infrastructure is too slow for the autumn load",
            "The model overfitted its training data",
        ],
        "answer": 1,
        "explanation": (
            "The code and the service did their job; the transactions moved on and the model was "
            "never retrained on them. Monitoring would have noticed, retraining would have followed."
        ),
        "feedback": {
            0: "The code has not changed since spring and its tests pass; a bug would have hurt "
            "from the first day, not only after the customers' habits changed.",
            2: "Latency is fine (milliseconds), and speed does not change which transactions the "
            "model calls fraud.",
            3: "Overfitting shows at the gate, on the holdout, before the deploy; this model did "
            "well for months and declined when the data changed.",
        },
    },
    "keep_quality": {
        "question": (
            "A team retrains its churn model whenever someone remembers to. Which automated steps "
            "would keep the model's quality up as new customer data keeps arriving?"
        ),
        "options": [
            "Linting, unit tests and code review on every commit",
            "Check each new batch of data, monitor drift and live accuracy, and retrain through "
            "the gate when they call for it",
            "Pin every library version and build the model into a container image",
            "Retrain every night on the original training set",
        ],
        "answer": 1,
        "explanation": (
            "Validation keeps bad data out, monitoring notices when the world moves, and "
            "retraining on new data (through the gate) follows it."
        ),
        "feedback": {
            0: "These protect the code. The model's quality changes with the data even when no "
            "line of code changes.",
            2: "That makes the model reproducible, which is worth having, but a perfectly "
            "reproducible model still goes stale as customers change.",
            3: "Same data, same model: retraining only helps when it learns from new, checked data.",
        },
    },
    "many_features": {
        "question": (
            "A monitor runs a KS test at p < 0.05 on each of 30 independent features of a batch in "
            "which nothing changed. What is the chance that at least one feature is flagged?"
        ),
        "options": ["About 5 %", "About 79 %", "100 %: 30 x 5 % = 150 %", "Below 5 %"],
        "answer": 1,
        "explanation": (
            "Each test stays quiet with probability 0.95, all 30 with 0.95^30 = 0.21; so 79 % of "
            "calm batches raise at least one alarm. The lesson's simulation measured it."
        ),
        "feedback": {
            0: "5 % is the chance for one test; each of the 30 tests is another chance to fire.",
            2: "Probabilities do not add like that: 1 - 0.95^30 is the chance of at least one alarm.",
            3: "A single test already fires 5 % of the time; more tests can only add alarms.",
        },
    },
    "smaller_batches": {
        "question": (
            "The weekly batch shrinks from 800 to 50 rows; nothing else changes. What happens to a "
            "KS test's false-alarm rate on a calm feature, and to its chance of catching a feature "
            "that moved by a quarter of a standard deviation?"
        ),
        "options": [
            "False alarms rise; the chance of catching the move stays the same",
            "False alarms stay at about the test's level; the chance of catching the move falls",
            "Both fall",
            "Both rise",
        ],
        "answer": 1,
        "explanation": (
            "A test at level 0.05 is built to fire 5 % of the time when nothing changed, at any "
            "sample size; a smaller sample lowers its power. The lesson measured both."
        ),
        "feedback": {
            0: "The level is fixed by design at any sample size; what small samples cost is power.",
            2: "The false-alarm rate is the test's level and does not fall with the sample size.",
            3: "Neither rises: false alarms stay at the level and power falls with fewer rows.",
        },
    },
    "psi_noise": {
        "question": (
            "Two samples of 100 rows each come from the same distribution. You compute their PSI "
            "over 10 bins. What value do you expect?"
        ),
        "options": [
            "0, since the distribution is the same",
            "About 0.18, already 'moderate' by the 0.1 / 0.2 rule of thumb",
            "About 0.02",
            "More than 1",
        ],
        "answer": 1,
        "explanation": (
            "Sampling noise alone gives about (bins - 1)(1/n + 1/m) = 9 x 0.02 = 0.18; the rule of "
            "thumb only makes sense for samples large enough that this noise is well below 0.1."
        ),
        "feedback": {
            0: "Each bin's share in a sample differs from the true one by chance, and PSI adds up "
            "those differences: it is zero only for identical bin shares.",
            2: "That is the noise level for about 1000 rows on each side; with 100 it is ten "
            "times more.",
            3: "Noise alone stays far below 1 at these sizes; a PSI above 1 means a large shift.",
        },
    },
    "concept_drift": {
        "question": (
            "In one region of feature space the labels change meaning, while every feature keeps "
            "its distribution. What does a monitor that only runs drift tests on the features report?"
        ),
        "options": [
            "Dataset drift in every feature",
            "Drift in the region's feature only",
            "No drift: only accuracy on labelled data reveals it",
            "A schema violation",
        ],
        "answer": 2,
        "explanation": (
            "The features did not move, so feature tests stay quiet; the accuracy measured on "
            "labels drops."
        ),
        "feedback": {
            0: "The features keep their distributions, so there is nothing for the tests to find.",
            1: "The region's feature keeps its distribution too: only P(label | features) changed.",
            3: "Columns, types and ranges are all as before; a schema check passes.",
        },
    },
    "psi_band": {
        "question": (
            "With 5000 training rows and a batch of 5000, a feature's PSI is 0.35. What should you "
            "conclude?"
        ),
        "options": [
            "Stable: PSI is noisy anyway",
            "A moderate change, nothing to act on",
            "A significant change: investigate the feature",
            "Impossible: PSI cannot exceed 0.2",
        ],
        "answer": 2,
        "explanation": (
            "Without drift PSI would be about 9 x (1/5000 + 1/5000) = 0.004 here, so 0.35 is a real "
            "shift, above the 0.2 rule of thumb for a significant change."
        ),
        "feedback": {
            0: "PSI is noisy for small samples; with 5000 rows on each side the noise is about "
            "0.004, far below 0.35.",
            1: "The rule of thumb calls 0.1 to 0.2 moderate; 0.35 is above that band.",
            3: "PSI has no upper bound of 0.2; 0.2 is where the rule of thumb starts 'significant'.",
        },
    },
}
check_yourself = question_bank(QUESTIONS)


def record_results(
    output_dir,
    *,
    weeks: pd.DataFrame,
    per_feature: pd.DataFrame,
    concept: pd.DataFrame,
    null_rates: pd.DataFrame,
    by_size: pd.DataFrame,
    psi: pd.DataFrame,
    calm_psi: dict[str, float],
    registry,
    explorer,
) -> None:
    """Write what the lesson computed to ``output_dir/results.json`` (the lesson tests read it)."""
    from mlcicd.course import save_results

    record = weeks_record(weeks)
    on_drift = weeks[(weeks["policy"] == "on_drift") & weeks["retrained"]]
    n_weeks = int(weeks["week"].max()) + 1

    def table(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return json.loads(frame.round(4).to_json(orient="records"))

    save_results(
        output_dir,
        {
            "n_weeks": n_weeks,
            "thresholds": {
                "drift_share": DRIFT_SHARE,
                "min_accuracy": MIN_ACCURACY,
                "tolerance": TOLERANCE,
            },
            "drift_flag": record["never"]["drift_flag"],
            "policies": record,
            "retrain_weeks": record["on_drift"]["retrain_weeks"],
            "deploy_weeks": record["on_drift"]["deploy_weeks"],
            "gate_rejected": {
                str(r.week): r.gate_reasons for r in on_drift[~on_drift["blessed"]].itertuples()
            },
            "registry_versions": [v.version for v in registry.versions()],
            "concept_only": weeks_record(concept)["never"],
            "concept_max_drift_share": float(concept["drift_share"].max()),
            "feature_drift_weeks": sorted(
                int(w) for w in per_feature.loc[per_feature["drift"], "week"].unique()
            ),
            "corrected_drift_share": {
                m: [round(float(s), 4) for s in corrected_drift_share(per_feature, m)]
                for m in P_VALUE_CORRECTIONS
            },
            "null_alarm_rates": table(null_rates),
            "expected_alarm_rate": expected_alarm_rate(int(per_feature["feature"].nunique())),
            "rates_by_batch_size": table(by_size),
            "psi_without_drift": table(psi),
            "calm_week_psi": calm_psi,
            "explorer_runs": explorer.runs,
            "explorer_summary": explorer.summary,
        },
    )
