"""Versions in parallel: run_versions with n_jobs=2 vs n_jobs=1 on a 2-core machine.

Each version trains a random forest on a synthetic frame, heavy enough (seconds per version)
that starting the worker processes and sending them the data is amortised. The loky worker
pool is started by a warm-up run first (joblib reuses it), so the figure is the steady-state
speed-up; the cold start is reported in the detail. Both runs must give the same results.

On a shared machine the speed-up is capped by what the other processes leave: the detail also
reports the machine's capacity measured just before and after, the speed-up two independent
pure-Python processes get over one (2.0 on two idle cores).
"""

from __future__ import annotations

import os
import subprocess
import sys

from benchmarks.common import best_of, figure, mb, peak_memory, timed
from mlcicd.data import synthetic_dataset
from mlcicd.pipeline import run_versions
from mlcicd.training import ModelSpec

_SPIN = (
    "import time\nstart = time.perf_counter()\nsum(i * i for i in range({n}))\n"
    "print(time.perf_counter() - start)"
)


def machine_capacity(n: int = 10**7) -> float:
    """The speed-up two processes get on this machine right now: the same pure-Python loop
    alone, then twice at once (2 x alone / slower of the pair). 2.0 on two idle cores."""
    code = _SPIN.format(n=n)

    def spin(k: int) -> list[float]:
        procs = [
            subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            for _ in range(k)
        ]
        return [float(p.communicate()[0]) for p in procs]

    alone = spin(1)[0]
    return 2 * alone / max(spin(2))


def run(quick: bool) -> list:
    n_versions, rows, trees = (4, 3_000, 40) if quick else (8, 8_000, 100)
    repeats = 2
    df = synthetic_dataset(rows, 30, seed=0)
    specs = [ModelSpec("random_forest", {"n_estimators": trees})] * n_versions

    cold, _, _ = timed(lambda: run_versions(specs[:2], data=df, n_jobs=2))  # starts the pool
    subjects = {
        "n_jobs=1": lambda: run_versions(specs, data=df, n_jobs=1),
        "n_jobs=2": lambda: run_versions(specs, data=df, n_jobs=2),
    }
    one_wall, _, one = timed(subjects["n_jobs=1"])
    two = subjects["n_jobs=2"]()
    assert one.metrics == two.metrics and one.deployed == two.deployed, "results must be equal"
    capacity = [machine_capacity()]
    seconds = best_of(subjects, repeats).wall
    capacity.append(machine_capacity())
    peaks = {name: peak_memory(call) for name, call in subjects.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    # Amdahl: only train, evaluate and monitor run in the workers; the rest stays sequential
    totals = one.stage_totals()
    parallel = sum(totals.get(stage, 0.0) for stage in ("train", "evaluate", "monitor"))
    share = min(parallel / one_wall, 1.0)  # of one and the same sequential run
    bound = 1 / (1 - share + share / min(2, cores))
    return [
        figure(
            f"n_jobs=2 vs n_jobs=1 speed-up, {n_versions} random forests ({cores} cores)",
            seconds["n_jobs=1"] / seconds["n_jobs=2"],
            ">= 1.7",
            detail=(
                f"{n_versions} versions x random forest of {trees} trees on {rows:,} x 30, "
                f"best of {repeats}: n_jobs=1 {seconds['n_jobs=1']:.2f} s, "
                f"n_jobs=2 {seconds['n_jobs=2']:.2f} s; the parallel stages (train, evaluate, "
                f"monitor) took {parallel:.2f} s of a {one_wall:.2f} s sequential run "
                f"({100 * share:.1f}%), so on idle cores the speed-up could reach {bound:.2f}x; "
                f"cold pool start + 2 versions {cold:.2f} s; two independent processes got "
                f"{capacity[0]:.2f}x (before) and {capacity[1]:.2f}x (after) on this machine"
            ),
            memory=(
                f"peak memory of the driver process (tracemalloc; workers not counted): "
                f"n_jobs=1 {mb(peaks['n_jobs=1'])}, n_jobs=2 {mb(peaks['n_jobs=2'])}"
            ),
            numbers={"wall": seconds, "peak_bytes": peaks, "cold": cold, "capacity": capacity},
        )
    ]
