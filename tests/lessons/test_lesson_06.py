"""Lesson 6 (performance analysis) runs in CI: the loop written out, then measured: O(n)."""

from __future__ import annotations

import pytest

from mlcicd.course.run import NOTEBOOKS, ci_parameters

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_06")]

STEM = "06_performance_analysis"
CI = ci_parameters(NOTEBOOKS / f"{STEM}.ipynb")


def test_cost_table_counts_one_cycle_per_version(run):
    table = run.results["cost_table"]
    assert table["n"] == CI["versions_ns"]
    assert table["cycles"] == table["n"]
    assert all(s > 0 for s in table["seconds"])


def test_the_loop_grows_linearly_in_the_number_of_versions(run):
    # measured seconds are noisy on a shared machine: CI runs n = 3, 12, 48 twice each and the
    # fits take the fastest run of each n (load only ever slows a run down). Quiet runs give
    # 0.95 to 1.08, a benchmark under heavy load gave 1.2. The margin still tells O(n)
    # from O(1) (slope 0) and from O(n^2) (slope 2); the exact 1.0 is asserted on the counts.
    for key in ("exponent_seconds", "exponent_loop_seconds"):  # whole runs; loop stages only
        fit = run.results[key]
        assert 0.7 <= fit["slope"] <= 1.4, (key, fit)
        assert fit["ci_low"] <= fit["slope"] <= fit["ci_high"]
        assert fit["n_points"] == len(CI["versions_ns"])
    # counted cycles: exactly linear
    assert run.results["exponent_operations"] == pytest.approx(1.0, abs=1e-9)


def test_the_loop_written_out_takes_the_library_loops_decisions(run):
    plain = run.results["plain_loop"]
    n = CI["demo_versions"]
    assert plain["versions"] == n
    assert len(plain["deployed"]) == len(plain["seconds"]) == n
    assert plain["deployed"] == plain["library_deployed"]
    assert plain["same_decisions"] is True
    assert plain["accuracy"] == plain["library_accuracy"]
    assert plain["deployed"][0] is True  # the first version meets an empty registry
    assert all(s > 0 for s in plain["seconds"])


def test_demo_run_counts_every_stage_once_per_version(run):
    d = run.results["demo"]
    n = CI["demo_versions"]
    counts = d["counts"]
    assert d["versions"] == n
    assert {s: counts[s] for s in ("split", "infer_schema", "baseline")} == dict.fromkeys(
        ("split", "infer_schema", "baseline"), 1
    )
    for stage in ("validate_data", "train", "evaluate", "validate_model", "monitor", "cycles"):
        assert counts[stage] == n, stage


def test_explorer_reran_the_loop_with_its_ci_defaults(run):
    e = run.results["explorer"]
    assert e["values"] == {
        "versions": CI["explorer_versions"],
        "rows": CI["explorer_rows"],
        "validation": "each",
    }
    assert (e["runs"], e["cycles"], e["validations"]) == (
        1,
        CI["explorer_versions"],
        CI["explorer_versions"],
    )


def test_executed_notebook_shows_plots_and_widgets(run, assert_rendered):
    nb = assert_rendered(run)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    # the loop is written out first, with the library's functions, then run by the library
    loop = next(i for i, src in enumerate(code) if "for version, spec in" in src)
    assert all(f"{f}(" in code[loop] for f in ("train_model", "validate_model", "detect_drift"))
    assert "registry.deploy(" in code[loop]
    assert loop < next(i for i, src in enumerate(code) if "run_versions(" in src)
    # self-checks come from the lesson's question bank: the cell never shows the answer
    checks = [src for src in code if "check_yourself" in src]
    assert len(checks) == 3 and all("answer" not in src for src in checks)
    assert "SelfCheck" not in "".join(code)
