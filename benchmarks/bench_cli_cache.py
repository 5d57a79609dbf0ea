"""The run cache across processes: ``mlcicd pipeline`` from the command line, as a CI job runs it.

Each command is a new process (``python -m mlcicd pipeline --versions n --registry reg --json``)
on the same cache folder and registry, like consecutive CI runs that keep both: a first run on
an empty cache (the baseline), the same command again (unchanged re-run), then ``n + 1``
versions (one added version). Times are whole processes, start and imports included, measured
by the parent (wall-clock; the child's CPU time from ``resource.RUSAGE_CHILDREN``). The floor is
a process that only imports what a cached re-run needs (``mlcicd.cli``, ``mlcicd.pipeline``,
``mlcicd.pipeline.disk_cache``): no re-run can be faster than that.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import figure

IMPORTS = "import mlcicd.cli, mlcicd.pipeline, mlcicd.pipeline.disk_cache"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process(argv: list[str], cwd: Path) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, JSON output) of one process."""
    cpu, start = _child_cpu(), time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
    return wall, _child_cpu() - cpu, json.loads(done.stdout) if done.stdout.strip() else {}


def pipeline(n: int, cwd: Path) -> tuple[float, float, dict]:
    argv = [sys.executable, "-m", "mlcicd", "pipeline", "--versions", str(n)]
    return _process([*argv, "--registry", "reg", "--cache", "cache", "--json"], cwd)


def run(quick: bool) -> list:
    n = 20 if quick else 200
    repeats = 1  # a full first run takes minutes: one sequence, reported as is
    best = dict.fromkeys(("first", "rerun", "added", "floor", "python"), (math.inf, math.inf))
    counts = {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            for name, versions in (("first", n), ("rerun", n), ("added", n + 1)):
                wall, cpu, out = pipeline(versions, cwd)
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
                counts[name] = (out["counts"]["train"], out["cache"]["hits"], out["outcomes"])
    for _ in range(3):
        for name, code in (("floor", IMPORTS), ("python", "pass")):
            wall, cpu, _ = _process([sys.executable, "-c", code], Path.cwd())
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    assert counts["rerun"][0] == 0 and counts["added"][0] == 1, counts
    already = sum(o == "already deployed" for o in counts["rerun"][2].values())
    shown = ", ".join(f"{k} {w:.2f} s (CPU {c:.2f} s)" for k, (w, c) in best.items())
    detail = (
        f"{shown}; models trained: first {counts['first'][0]}, re-run {counts['rerun'][0]} "
        f"({already} of {n} versions already deployed), added {counts['added'][0]}"
    )
    first_wall, first_cpu = best["first"]
    numbers = {
        "wall": {k: v[0] for k, v in best.items()},
        "cpu": {k: v[1] for k, v in best.items()},
    }
    return [
        figure(
            f"CLI: unchanged re-run of pipeline --versions {n} vs first run (new process)",
            best["rerun"][0] / first_wall,
            "<= 0.10",
            cpu_value=best["rerun"][1] / first_cpu,
            detail=detail,
            numbers=numbers,
        ),
        figure(
            f"CLI: one added version ({n} + 1) vs first run (new process)",
            best["added"][0] / first_wall,
            "<= 0.15",
            cpu_value=best["added"][1] / first_cpu,
            detail=detail,
            numbers=numbers,
        ),
        figure(
            "CLI: floor (python start + imports a re-run needs) vs first run",
            best["floor"][0] / first_wall,
            "<= 0.10",
            cpu_value=best["floor"][1] / first_cpu,
            detail=detail,
            numbers=numbers,
        ),
    ]
