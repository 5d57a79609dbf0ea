"""Lesson 5 (monitoring, drift and retraining): the functions of ``mlcicd/lessons/monitoring.py`` on small
inputs, then the notebook executed in CI and what it recorded."""

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
SMALL = {"n_weeks": 6, "batch_size": 100, "seed": 0}  # drift in weeks 3, 4, 5
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
    ("kwargs", "message"),
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


def test_expected_alarm_rate_is_the_chance_of_at_least_one_false_alarm():
    # the lesson's calm batches are checked against it in TestNotebook
    assert mon.expected_alarm_rate(30) == pytest.approx(1 - 0.95**30)
    assert mon.expected_alarm_rate(1) == pytest.approx(0.05)


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


def test_no_explanation_shows_in_the_notebook():
    # test_common checks that every question is asked once, each wrong option with its feedback
    for key, entry in mon.QUESTIONS.items():
        assert entry["explanation"] not in NOTEBOOK.read_text(), key


def test_the_seeds_practice_questions_are_set_in_new_scenarios():
    text = json.dumps(mon.QUESTIONS) + NOTEBOOK.read_text()
    for seed_words in (
        "skipped retraining the model on updated data",
        "retraining on updated data was skipped",
        "Data validation, model retraining and performance monitoring",
    ):
        assert seed_words.lower() not in text.lower()
    assert "fraud" in mon.QUESTIONS["stale_model"]["question"]
    assert "churn" in mon.QUESTIONS["keep_quality"]["question"]


STEM = "05_monitoring_drift_retraining"


class TestNotebook:
    """The lesson executed once with its CI parameters (``run``); what it recorded."""

    # one worker runs this lesson once: its tests share the executed notebook
    pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_05")]

    def test_the_lesson_uses_the_course_thresholds(self, run):
        assert run.results["thresholds"] == {
            "drift_share": 0.5,
            "min_accuracy": 0.9,
            "tolerance": 0.01,
        }

    def test_drift_is_flagged_in_the_drifted_weeks_and_not_in_the_first(self, run):
        r = run.results
        assert r["n_weeks"] == 8  # the CI parameter; the drift ramps up from week 4
        assert r["drift_flag"] == [False, False, False, False, True, True, True, True]
        assert r["feature_drift_weeks"][-4:] == [4, 5, 6, 7]

    def test_skipping_retraining_ends_worse_than_retraining_on_drift(self, run):
        never, on_drift = run.results["policies"]["never"], run.results["policies"]["on_drift"]
        assert never["accuracy"][0] > 0.9 and never["final_accuracy"] < 0.5  # below a coin toss
        assert never["retrain_weeks"] == [] and never["deploy_weeks"] == []
        assert (
            on_drift["accuracy"][:4] == never["accuracy"][:4]
        )  # same weeks, same model until drift
        assert on_drift["final_accuracy"] > never["final_accuracy"] + 0.2
        assert on_drift["mean_accuracy"] > never["mean_accuracy"]
        # the monitor's decision is what triggered each retrain, and only in drifted weeks
        assert run.results["retrain_weeks"] == [4, 5, 6, 7]
        # the gate (0.90, as everywhere) refused the others
        assert run.results["deploy_weeks"] == [5]
        assert set(run.results["gate_rejected"]) == {"4", "6", "7"}
        assert all(run.results["gate_rejected"].values())  # each with the rule it failed
        assert run.results["registry_versions"] == [1, 2]

    def test_calm_batches_false_alarms_are_measured_as_the_lesson_says(self, run):
        rates = {r["scenario"]: r for r in run.results["null_alarm_rates"]}
        fresh = rates["independent, fresh"]
        correlated = rates["correlated, fresh"]
        pool = rates["resampled from one pool"]
        assert run.results["expected_alarm_rate"] == pytest.approx(0.7854, abs=1e-4)
        # "each test fires close to 5 %, close to 79 % of the batches raise at least one alarm"
        assert abs(fresh["per_feature"] - 0.05) < 0.015
        assert abs(fresh["any_alarm"] - run.results["expected_alarm_rate"]) < 0.1
        # correlated: "about the same per-test rate, fewer batches with an alarm, a spread well above"
        assert abs(correlated["per_feature"] - 0.05) < 0.015
        assert correlated["any_alarm"] < fresh["any_alarm"]
        assert correlated["sd_alarms"] > 1.5 * correlated["sd_if_independent"]
        assert pool["per_feature"] > 0.05  # "the tests fire more often than 5 %"
        for r in rates.values():
            assert r["dataset_drift"] == 0  # "no scenario ever reached a drift share of 0.5"
            assert r["any_bonferroni"] <= 0.1 and r["any_benjamini_hochberg"] <= 0.1

    def test_small_batches_cost_power_not_false_alarms(self, run):
        sizes = run.results["rates_by_batch_size"]
        assert [r["batch_size"] for r in sizes] == [50, 200, 800]
        assert all(0.03 <= r["false_alarm"] <= 0.06 for r in sizes)  # near 5 %, a little below
        assert all(r["false_alarm"] < 0.05 for r in sizes)
        power = [r["power"] for r in sizes]
        assert power[0] < 0.5 and power[2] > 0.95 and power == sorted(power)

    def test_corrections_silence_the_calm_weeks_and_keep_the_drift(self, run):
        for method, share in run.results["corrected_drift_share"].items():
            assert max(share[:4]) <= 1 / 30, method  # "at most one feature flagged" in calm weeks
            assert min(share[4:]) >= 13 / 30, method  # most of the 15 moved features
        assert min(run.results["corrected_drift_share"]["benjamini_hochberg"][4:]) >= 0.5

    def test_psi_without_drift_matches_its_expected_value(self, run):
        psi = {(r["n_reference"], r["n_current"]): r for r in run.results["psi_without_drift"]}
        for r in psi.values():
            assert abs(r["mean_psi"] / r["expected_psi"] - 1) < 0.1  # "follows the formula"
        assert psi[100, 100]["mean_psi"] == pytest.approx(0.18, abs=0.02)
        assert psi[100, 100]["moderate_or_more"] > 0.5 and psi[100, 100]["significant"] > 0.2
        assert psi[1000, 1000]["moderate_or_more"] == 0 and psi[5000, 5000]["moderate_or_more"] == 0
        calm = run.results["calm_week_psi"]  # the lesson's calm weeks: at or above 0.1, a bit above
        assert (
            calm["measured"] >= 0.1 and calm["expected"] < calm["measured"] < 1.5 * calm["expected"]
        )

    def test_concept_drift_shows_in_accuracy_not_in_the_features(self, run):
        concept = run.results["concept_only"]
        assert concept["drift_flag"] == [False] * 8
        assert run.results["concept_max_drift_share"] <= 0.25  # "at or below a quarter"
        assert concept["accuracy"][-1] < concept["accuracy"][0] - 0.3
        assert concept["monitor_retrain"][-4:] == [True] * 4  # raised by the accuracy check

    def test_explorer_ran_a_real_simulation(self, run):
        assert run.results["explorer_runs"] == 1
        assert run.results["explorer_summary"].startswith("never: mean accuracy 0.786")
        assert "on_drift: mean accuracy" in run.results["explorer_summary"]

    def test_executed_notebook_shows_plots_and_widgets(self, run, assert_rendered):
        assert_rendered(run)
