"""Incremental CI: an unchanged re-run, and one added version, vs a full run (same StageCache).

Each repeat starts from an empty in-process StageCache: the full run of n versions fills it
(the baseline), the same n versions again find everything cached, and n + 1 versions run only
the new one. The gate and the deploy are never cached: they run again for every version, as
they should (they depend on the production model at that point).
"""

from __future__ import annotations

import math

from benchmarks.common import Timings, figure, mb, peak_memory, timed
from mlcicd.data import load_dataset
from mlcicd.pipeline import run_versions
from mlcicd.pipeline.cache import StageCache


def run(quick: bool) -> list:
    n = 20 if quick else 100
    repeats = 2 if quick else 3
    df = load_dataset()
    run_versions(2, data=df)  # warm up imports and first calls
    names = ("full", "rerun", "added")
    best = Timings(dict.fromkeys(names, math.inf), dict.fromkeys(names, math.inf))
    for _ in range(repeats):
        cache = StageCache()
        runs = {}
        for name, versions in zip(names, (n, n, n + 1), strict=True):
            wall, cpu, runs[name] = timed(
                lambda v=versions, c=cache: run_versions(v, data=df, cache=c)
            )
            best.wall[name] = min(best.wall[name], wall)
            best.cpu[name] = min(best.cpu[name], cpu)
        assert runs["rerun"].counts["train"] == 0 and runs["added"].counts["train"] == 1
        assert runs["rerun"].deployed == runs["full"].deployed
    cache = StageCache()
    peaks = {"full": peak_memory(lambda: run_versions(n, data=df, cache=cache))}
    peaks["rerun"] = peak_memory(lambda: run_versions(n, data=df, cache=cache))
    peaks["added"] = peak_memory(lambda: run_versions(n + 1, data=df, cache=cache))
    memory = "peak memory (tracemalloc): " + ", ".join(f"{k} {mb(v)}" for k, v in peaks.items())
    trained = f"models trained: full {runs['full'].counts['train']}, re-run 0, added 1"
    numbers = {"wall": best.wall, "cpu": best.cpu, "peak_bytes": peaks}
    rerun, added = best.ratio("rerun", "full"), best.ratio("added", "full")
    return [
        figure(
            f"unchanged re-run of {n} versions vs first run",
            rerun[0],
            "<= 0.02",
            cpu_value=rerun[1],
            detail=f"best of {repeats}: {best.show()}; " + trained,
            memory=memory,
            numbers=numbers,
        ),
        figure(
            f"one added version ({n} + 1) vs a full run of {n}",
            added[0],
            "<= 0.05",
            cpu_value=added[1],
            detail=f"best of {repeats}: {best.show()}; " + trained,
            memory=memory,
        ),
    ]
