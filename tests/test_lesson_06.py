"""Lesson 6 (performance analysis) runs in CI and measures the seed's loop: O(n)."""

from __future__ import annotations

import pytest

from mlcicd.course import NOTEBOOKS, ci_parameters

# one worker runs this lesson once: its tests share the executed notebook
pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("test_lesson_06")]

STEM = "06_performance_analysis"
CI = ci_parameters(NOTEBOOKS / f"{STEM}.ipynb")


def test_seed_table_counts_one_cycle_per_version(run):
    table = run.results["seed_table"]
    assert table["n"] == CI["versions_ns"]
    assert table["cycles"] == table["n"]
    assert all(s > 0 for s in table["seconds"])


def test_the_loop_grows_linearly_in_the_number_of_versions(run):
    # measured seconds are noisy on a shared machine: CI runs n = 4, 16, 64 twice each and the
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


def test_cells_read_grow_exactly_with_the_data(run):
    data = run.results["data_size"]
    assert data["rows"] == CI["data_rows"]
    assert data["exponent_cells"] == pytest.approx(1.0, abs=1e-9)
    assert run.results["complexity"]["trees"] == CI["complexity_trees"]


def test_data_validation_modes_run_exactly_as_many_checks_as_promised(run):
    ns = [str(n) for n in CI["validation_ns"]]
    assert run.results["validation_counts"] == {
        "off": dict.fromkeys(ns, 0),
        "each": {n: int(n) for n in ns},
        "once": dict.fromkeys(ns, 1),
    }


def test_parallel_workers_give_the_same_results(run):
    p = run.results["parallel"]
    assert (p["versions"], p["n_jobs"], p["same_results"]) == (CI["parallel_versions"], 2, True)
    assert p["trained"] == {"1": CI["parallel_versions"], "2": CI["parallel_versions"]}
    assert p["speedup"] > 0  # measured; its size depends on the machine's load


def test_incremental_caching_trains_only_what_changed(run):
    n = CI["cache_versions"]
    cache = run.results["cache"]
    assert cache["first run"]["trained"] == n
    assert cache["unchanged re-run"]["trained"] == 0
    assert cache["one version added"]["trained"] == 1
    runs = ("first run", "unchanged re-run", "one version added")
    assert [cache[r]["gates run"] for r in runs] == [n, n, n + 1]  # the gate is never cached
    # hits and misses: setup 3 stages, 1 data check (the others reuse it), 3 stages per version
    assert (cache["first run"]["cache misses"], cache["first run"]["cache hits"]) == (
        3 + 1 + 3 * n,
        n - 1,
    )
    assert (cache["unchanged re-run"]["cache misses"], cache["unchanged re-run"]["cache hits"]) == (
        0,
        3 + n + 3 * n,
    )
    assert (
        cache["one version added"]["cache misses"],
        cache["one version added"]["cache hits"],
    ) == (
        3,
        3 + (n + 1) + 3 * n,
    )


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
    # the loop is shown as the real library call
    assert any("run_versions(" in c.source for c in nb.cells if c.cell_type == "code")
