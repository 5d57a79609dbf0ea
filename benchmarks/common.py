"""What every benchmark shares: the figure it reports, side-by-side timing, peak memory.

A benchmark module is ``benchmarks/bench_<name>.py`` with ``run(quick: bool) -> list[Figure]``;
``python -m benchmarks`` finds and runs them all. A figure is a ratio (or an exponent) measured
in the same run as its baseline: subject and baseline are interleaved and the best of ``k``
repeats of each is kept, so load on a shared machine hits both alike.

The figure is wall-clock time. Where everything runs in this one process, the same ratio in CPU
time (:func:`time.process_time`) is reported beside it (``cpu_value``): other processes on a
shared machine stretch wall-clock time by whatever share of the cores they take, while the CPU
time a computation needs moves much less, so a large gap between the two says "load".
"""

from __future__ import annotations

import gc
import math
import operator
import os
import platform
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

MB = 1024 * 1024
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


@dataclass(frozen=True)
class Figure:
    """One measured figure: ``value`` against ``goal`` (e.g. ``"<= 1.10"``, ``"0.9 .. 1.1"``)."""

    name: str
    value: float
    unit: str  # "x" for a ratio, "" for an exponent
    goal: str
    met: bool
    cpu_value: float | None = None
    cpu_met: bool | None = None
    detail: str = ""
    memory: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def measured(self) -> str:
        return f"{self.value:.3f}{self.unit}"

    @property
    def cpu_measured(self) -> str:
        return "-" if self.cpu_value is None else f"{self.cpu_value:.3f}{self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"measured": self.measured}

    def show(self) -> str:
        verdict = "met" if self.met else "MISSED"
        lines = [f"{self.name}: {self.measured} (goal {self.goal}{self.unit}: {verdict})"]
        if self.cpu_value is not None:
            cpu = "met" if self.cpu_met else "MISSED"
            lines[0] += f"; in CPU time {self.cpu_measured} ({cpu})"
        lines += [f"    {text}" for text in (self.detail, self.memory) if text]
        return "\n".join(lines)


def meets(value: float, goal: str) -> bool:
    """Whether ``value`` meets ``goal``: ``"<op> number"`` or ``"low .. high"``."""
    if ".." in goal:
        low, high = (float(part) for part in goal.split(".."))
        return low <= value <= high
    op, threshold = goal.split()
    return bool(_OPS[op](value, float(threshold)))


def figure(
    name: str,
    value: float,
    goal: str,
    *,
    unit: str = "x",
    cpu_value: float | None = None,
    **extra: Any,
) -> Figure:
    """A :class:`Figure` with ``met`` (and ``cpu_met``) computed from ``goal``."""
    cpu_met = None if cpu_value is None else meets(cpu_value, goal)
    cpu = None if cpu_value is None else float(cpu_value)
    return Figure(name, float(value), unit, goal, meets(value, goal), cpu, cpu_met, **extra)


@dataclass
class Timings:
    """Best wall-clock and CPU seconds per subject."""

    wall: dict[str, float]
    cpu: dict[str, float]

    def ratio(self, subject: str, baseline: str) -> tuple[float, float]:
        """(wall, CPU) ratio of ``subject`` to ``baseline``."""
        return (
            self.wall[subject] / self.wall[baseline],
            self.cpu[subject] / self.cpu[baseline],
        )

    def show(self) -> str:
        return ", ".join(
            f"{name} {self.wall[name]:.3f} s (CPU {self.cpu[name]:.3f} s)" for name in self.wall
        )


def timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of one ``call()``."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    return time.perf_counter() - start, time.process_time() - cpu, result


def best_of(subjects: dict[str, Callable[[], Any]], repeats: int) -> Timings:
    """Run the subjects in turn (a, b, a, b, ...) ``repeats`` times; the best of each, in
    wall-clock and in CPU time (each minimum taken on its own)."""
    best = Timings(dict.fromkeys(subjects, math.inf), dict.fromkeys(subjects, math.inf))
    for _ in range(repeats):
        for name, call in subjects.items():
            wall, cpu, _ = timed(call)
            best.wall[name] = min(best.wall[name], wall)
            best.cpu[name] = min(best.cpu[name], cpu)
    return best


def peak_memory(call: Callable[[], Any]) -> int:
    """Peak bytes allocated during ``call()`` (Python and numpy allocations, via tracemalloc);
    memory held before the call is not counted. Slows the call: never timed together."""
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mb(n_bytes: float) -> str:
    return f"{n_bytes / MB:.1f} MB"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    """The machine and library versions the figures were measured with."""
    import numpy
    import pandas
    import scipy
    import sklearn
    import skops

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "cpu": cpu_model(),
        "nproc": str(cores),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }
    try:
        import pandera

        info["pandera"] = pandera.__version__
    except ImportError:
        info["pandera"] = "not installed"
    if hasattr(os, "getloadavg"):
        info["load average (1, 5, 15 min)"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return info
