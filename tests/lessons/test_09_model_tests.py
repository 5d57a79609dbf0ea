"""Lesson 9 (the tests a model's CI needs) runs in CI and computes what it states."""

from __future__ import annotations

import pytest

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_09")]

STEM = "09_testing_ml_models"


def test_behavioural_tests_reject_the_buggy_candidate_with_the_tests_named(run):
    b = run.results["behaviour"]
    for sound in ("production", "gradient boosting"):
        assert b[sound]["blessed"] and all(b[sound]["tests"].values())
    buggy = b["buggy candidate"]
    assert buggy["accuracy_gate"] is True and buggy["accuracy"] >= 0.90  # passes accuracy alone
    assert buggy["blessed"] is False
    assert buggy["tests"] == {
        "tiny measurement noise": True,
        "larger tumour is not more benign": False,
        "most concave tumours are malignant": False,
    }
    assert [r.split(":")[0] for r in buggy["reasons"]] == [
        "larger tumour is not more benign", "most concave tumours are malignant"
    ]  # fmt: skip
    # "about one row in twenty" (the top 5 % of worst_concave_points)
    # and the feedback of the "behaviour" question: 0.909 < 0.95 < 0.951
    assert round(buggy["accuracy"], 3) == 0.909 and round(b["production"]["accuracy"], 3) == 0.951


def test_slice_gate_rejects_a_gain_overall_with_a_loss_on_large_tumours(run):
    s = run.results["slices"]
    rows = {r["slice"]: r for r in s["slices"]}
    assert s["passed"] is False and len(s["reasons"]) == 1 and "large tumours" in s["reasons"][0]
    assert round((rows["overall"]["candidate"] - rows["overall"]["production"]) * 143) == 1
    large = rows["large tumours"]
    assert large["n_rows"] == 39
    assert round((large["production"] - large["candidate"]) * 39) == 1


def test_skew_detection(run):
    by_factor = {s["factor"]: s for s in run.results["skew"]}
    big, small, same = by_factor[100.0], by_factor[0.01], by_factor[1.0]
    assert [a.split(":")[0] for a in big["anomalies"]] == ["mean_area"]
    assert big["drifted"] == ["mean_area"] and big["accuracy"] < 0.4
    assert round(big["clean_accuracy"], 2) == 0.95  # "from 0.95 to below 0.4"
    assert small["anomalies"] == [] and small["drifted"] == ["mean_area"]
    assert small["accuracy"] == small["clean_accuracy"]  # "its accuracy does not move"
    assert not same["skewed"]
    assert run.results["explorer_runs"] >= 1


def test_label_delay(run):
    rows = {r["batch"]: r for r in run.results["label_delay"]}
    calm, cov, concept = rows["calm"], rows["covariate drift"], rows["concept drift"]
    assert cov["input drift share"] > calm["input drift share"]
    assert abs(cov["predicted benign change"]) > abs(calm["predicted benign change"]) + 0.1
    # concept drift: the same inputs and predictions as the calm batch, only accuracy differs
    assert concept["input drift share"] == calm["input drift share"]
    assert concept["predicted benign change"] == calm["predicted benign change"]
    assert concept["accuracy (needs labels)"] < calm["accuracy (needs labels)"] - 0.2
    assert calm["input drift share"] > 0  # "even the calm batch flags some features"


def test_ml_test_score(run):
    import pandas as pd

    from mlcicd.lessons.model_tests import SECTIONS, evidence_exists

    score = run.results["ml_test_score"]
    table = pd.DataFrame(score["tests"])
    assert len(table) == 28
    assert table.groupby("section").size().to_dict() == dict.fromkeys(SECTIONS, 7)
    assert set(table["points"]) <= {0.0, 0.5, 1.0}
    assert score["sections"] == {
        "data": 2.0, "model": 3.0, "infrastructure": 5.5, "monitoring": 2.5
    }  # fmt: skip
    assert score["final"] == 2.0 and score["band"].startswith("there's been first pass")
    assert evidence_exists(table) == []  # every file named as evidence is in the repository
    assert (table[table["points"] > 0]["evidence"].map(len) > 0).all()


def test_rendered(run, assert_rendered):
    assert_rendered(run)
