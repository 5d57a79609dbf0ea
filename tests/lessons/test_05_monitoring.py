"""The compute and draw functions behind lesson 5 (monitoring, drift, retraining)."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import ipywidgets as w
import pytest

from mlcicd.course.widgets import Explorer
from mlcicd.data import TARGET, load_dataset
from mlcicd.errors import InputError
from mlcicd.lessons import monitoring as mon
from mlcicd.registry import Registry

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "05_monitoring_drift_retraining.ipynb"
SMALL = dict(n_weeks=6, batch_size=100, seed=0)  # drift in weeks 3, 4, 5
pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def covariate():
    return mon.compare_policies(("never", "on_drift"), covariate_shift=2.0, **SMALL)


def test_never_flags_drift_only_in_the_drifted_weeks_and_decays(covariate):
    never = covariate[covariate["policy"] == "never"]
    assert never["dataset_drift"].tolist() == [False, False, False, True, True, True]
    assert never["drift_strength"].tolist() == [0.0, 0.0, 0.0, 1 / 3, 2 / 3, 1.0]
    assert (never["version"] == 1).all() and not never["retrained"].any()
    acc = never["accuracy"].to_numpy()
    assert acc[:3].min() > 0.9 and acc[-1] < acc[0] - 0.3
    assert acc[3] > acc[4] > acc[5] - 0.05 and acc[5] < 0.6  # falls once the drift starts
    last = never.iloc[-1]
    assert last["alarm"] == "features + accuracy" and last["n_drifted"] == 15
    assert "mean_radius" in last["drifted"].split(", ")


def test_retraining_on_drift_recovers_accuracy_through_the_gate(covariate):
    never = covariate[covariate["policy"] == "never"].reset_index(drop=True)
    on = covariate[covariate["policy"] == "on_drift"].reset_index(drop=True)
    # identical until the first retrain, since both policies see the same weeks
    assert on.loc[:3, "accuracy"].tolist() == never.loc[:3, "accuracy"].tolist()
    assert on["retrained"].tolist() == on["monitor_retrain"].tolist()
    retrained = on.loc[on["retrained"], "week"].tolist()
    assert retrained and min(retrained) >= 3  # no retrain in the calm weeks
    deployed = on[on["deployed_version"] > 0]
    assert deployed["blessed"].all()
    assert deployed["deployed_version"].tolist() == list(range(2, 2 + len(deployed)))
    assert on["accuracy"].iloc[-1] > never["accuracy"].iloc[-1] + 0.2
    record = mon.weeks_record(covariate)
    assert record["on_drift"]["retrain_weeks"] == retrained
    assert record["on_drift"]["mean_accuracy"] > record["never"]["mean_accuracy"]
    json.dumps(record)  # JSON-ready for save_results


def test_every_week_retrains_each_week():
    frame = mon.simulate_weeks("every_week", covariate_shift=0.0, n_weeks=4, batch_size=60)
    assert frame["retrained"].all()
    assert (frame["deployed_version"] > 0).sum() == (frame["blessed"]).sum()


def test_concept_drift_is_invisible_to_feature_tests_but_not_to_accuracy():
    frame = mon.simulate_weeks("never", covariate_shift=0.0, concept_drift=0.9, **SMALL)
    assert not frame["dataset_drift"].any()
    assert frame["drift_share"].max() < 0.25
    assert frame["accuracy"].iloc[-1] < frame["accuracy"].iloc[0] - 0.2
    assert frame["alarm"].iloc[-1] == "accuracy" and frame["monitor_retrain"].iloc[-1]


def test_deploys_go_into_a_real_registry(tmp_path):
    frame = mon.compare_policies(("on_drift",), covariate_shift=2.0, registry=tmp_path, **SMALL)
    registry = Registry(tmp_path / "on_drift")
    deployed = frame.loc[frame["deployed_version"] > 0, "deployed_version"].tolist()
    assert [v.version for v in registry.versions()] == [1, *deployed]
    assert registry.aliases()["production"] == deployed[-1]
    with pytest.raises(InputError, match="already holds versions"):
        mon.simulate_weeks("on_drift", registry=registry, **SMALL)
    # a folder (as a re-run notebook passes it) is replaced by a fresh registry, not refused
    mon.simulate_weeks("on_drift", covariate_shift=2.0, registry=tmp_path / "on_drift", **SMALL)
    assert [v.version for v in Registry(tmp_path / "on_drift").versions()] == [1, *deployed]
    again = mon.compare_policies(("on_drift",), covariate_shift=2.0, registry=tmp_path, **SMALL)
    assert again.equals(frame)  # the marked folder is emptied, the run repeats exactly


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"policy": "sometimes"},
            "policy='sometimes': unknown (allowed: never, on_drift, every_week)",
        ),
        ({"concept_drift": 1.5}, "concept_drift=1.5"),
        ({"covariate_shift": "big"}, "covariate_shift='big'"),
        ({"batch_size": 5}, "batch_size=5: expected an integer >= 20"),
    ],
)
def test_simulate_weeks_refuses_bad_parameters(kwargs, message):
    with pytest.raises(InputError, match=re.escape(message)):
        mon.simulate_weeks(**{"policy": "never", **kwargs})


def test_drift_by_feature_has_one_row_per_week_and_feature():
    long = mon.drift_by_feature(2.0, n_weeks=4, batch_size=100)
    assert len(long) == 4 * 30 and set(long["week"]) == {0, 1, 2, 3}
    features = [c for c in load_dataset().columns if c != TARGET]
    last = long[(long["week"] == 3) & long["drift"]]
    assert set(features[:15]) <= set(last["feature"])  # the shifted half ...
    assert set(last["feature"]) - set(features[:15]) == {"symmetry_error", "concave_points_error"}
    # ... and two false alarms among the 15 unshifted features (KS at p < 0.05)
    fig = mon.plot_feature_drift(long)
    assert "stability" in fig.axes[0].get_title() and fig.axes[0].get_xlabel() == "week"


def test_plot_weeks_draws_accuracy_markers_and_drift_share(covariate):
    fig = mon.plot_weeks(covariate, threshold=0.25, title="t")
    top, bottom = fig.axes
    assert "accuracy" in top.get_ylabel() and "fraction" in bottom.get_ylabel()
    labels = top.get_legend_handles_labels()[1]
    assert "policy: never" in labels and "on_drift: retrained + deployed" in labels
    assert "never: retrained + deployed" not in labels  # no empty legend entries
    assert len(bottom.patches) == 2 * 6


def test_policy_explorer_reruns_the_simulation():
    explorer = Explorer(
        {
            "covariate_shift": w.FloatSlider(value=2.0, min=0, max=3),
            "concept_drift": w.FloatSlider(value=0.0, min=0, max=1),
            "policy": w.Dropdown(options=mon.POLICIES, value="on_drift"),
        },
        partial(mon.explore_policy, n_weeks=4, batch_size=60),
        mon.draw_accuracy,
        mon.describe_weeks,
    )
    first = explorer.update()
    assert list(first["policy"].unique()) == ["never", "on_drift"]
    assert explorer.summary.startswith("never: mean accuracy")
    calm = explorer.update(covariate_shift=0.0, policy="never")
    assert list(calm["policy"].unique()) == ["never"] and not calm["dataset_drift"].any()
    assert explorer.runs == 2 and explorer.figure.axes[0].get_xlabel() == "week"


# ------------------------------------------------------------ thresholds, false alarms and PSI


def test_the_lesson_uses_the_course_thresholds():
    assert (mon.DRIFT_SHARE, mon.MIN_ACCURACY, mon.TOLERANCE) == (0.5, 0.90, 0.01)
    defaults = mon.simulate_weeks.__kwdefaults__
    assert defaults["drift_share"] == 0.5 and defaults["min_accuracy"] == 0.90
    notebook = NOTEBOOK.read_text()
    assert "0.35" not in notebook and "drift_share=" not in notebook and "0.8 " not in notebook


@pytest.fixture(scope="module")
def null_rates():
    batches = mon.null_batches(60, 100, seed=0)  # as the lesson in CI
    assert len(batches) == 3 * 60 and list(batches["scenario"].unique()) == list(mon.SCENARIOS)
    return mon.alarm_rates(batches).set_index("scenario")


def test_calm_batches_alarm_as_many_tests_predict_and_corrections_quiet_them(null_rates):
    fresh, correlated, pool = (null_rates.loc[s] for s in mon.SCENARIOS)
    assert mon.expected_alarm_rate(30) == pytest.approx(1 - 0.95**30)
    assert abs(fresh["per_feature"] - 0.05) < 0.015  # each test: its level
    assert abs(fresh["any_alarm"] - mon.expected_alarm_rate(30)) < 0.15  # per batch: ~79 %
    assert fresh["sd_alarms"] == pytest.approx(fresh["sd_if_independent"], rel=0.25)
    # correlated features: about the same per test, alarms in bursts, fewer batches with any
    assert abs(correlated["per_feature"] - 0.05) < 0.015
    assert correlated["sd_alarms"] > 1.5 * correlated["sd_if_independent"]
    assert correlated["any_alarm"] < fresh["any_alarm"]
    assert pool["per_feature"] > 0.05  # one fixed pool against one fixed training set
    assert (null_rates["dataset_drift"] == 0).all()
    assert (null_rates[["any_bonferroni", "any_benjamini_hochberg"]] <= 0.1).all().all()


def test_small_batches_cost_power_not_false_alarms():
    rates = mon.rates_by_batch_size((50, 200, 800), n_batches=15, seed=1)
    assert rates["batch_size"].tolist() == [50, 200, 800]
    assert rates["false_alarm"].between(0.02, 0.07).all()
    power = rates["power"].tolist()
    assert power[0] < 0.3 < power[1] < 0.9 < power[2]


def test_psi_without_drift_follows_its_expected_value():
    assert mon.expected_psi(100, 100) == pytest.approx(0.18)
    assert mon.expected_psi(213, 200, bins=5) == pytest.approx(4 * (1 / 213 + 1 / 200))
    psi = mon.psi_without_drift(((100, 100), (5000, 5000)), n_repeats=4, seed=0)
    assert (abs(psi["mean_psi"] / psi["expected_psi"] - 1) < 0.15).all()
    small, large = psi.iloc[0], psi.iloc[1]
    assert small["moderate_or_more"] > 0.5 and large["moderate_or_more"] == 0.0


def test_corrections_silence_calm_weeks_and_keep_the_drift():
    long = mon.drift_by_feature(2.0, n_weeks=4, batch_size=100)  # weeks 2 and 3 drift
    raw = long.groupby("week")["drift"].mean()
    assert raw.iloc[:2].max() > 0  # false alarms in the calm weeks
    for method in ("bonferroni", "benjamini_hochberg"):
        share = mon.corrected_drift_share(long, method)
        assert share.iloc[:2].tolist() == [0.0, 0.0]
        assert share.iloc[3] >= 0.4
    calm = mon.calm_week_psi(long, batch_size=100)
    assert calm["expected"] == pytest.approx(mon.expected_psi(calm["n_reference"], 100))
    assert calm["expected"] < calm["measured"] < 1.5 * calm["expected"]


def test_null_batches_refuses_bad_sizes():
    with pytest.raises(InputError, match=re.escape("batch_size=5: expected an integer >= 20")):
        mon.null_batches(3, 5)
    with pytest.raises(InputError, match=re.escape("n_batches=0: expected an integer >= 1")):
        mon.null_batches(0)


# ---------------------------------------------------------------------- self-checks in the lesson


def test_every_self_check_hides_its_answer_and_explains_each_wrong_option():
    ids = re.findall(r'mon\.check_yourself\(\\"(\w+)\\"\)', NOTEBOOK.read_text())
    assert sorted(ids) == sorted(mon.QUESTIONS)  # each question asked once, no unknown id
    assert "SelfCheck" not in NOTEBOOK.read_text()
    for key, entry in mon.QUESTIONS.items():
        wrong = set(range(len(entry["options"]))) - {entry["answer"]}
        assert set(entry["feedback"]) == wrong, key
        assert entry["explanation"] not in NOTEBOOK.read_text()
        assert mon.check_yourself(key).check(entry["answer"])[0]


def test_the_seeds_practice_questions_are_set_in_new_scenarios():
    text = json.dumps(mon.QUESTIONS) + NOTEBOOK.read_text()
    for seed_words in ("skipped retraining the model on updated data",
                       "retraining on updated data was skipped",
                       "Data validation, model retraining and performance monitoring"):  # fmt: skip
        assert seed_words.lower() not in text.lower()
    assert "fraud" in mon.QUESTIONS["stale_model"]["question"]
    assert "churn" in mon.QUESTIONS["keep_quality"]["question"]
