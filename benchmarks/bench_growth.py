"""The measured growth exponent of the pipeline's time in the number of model versions n.

:func:`mlcicd.measure.scaling.sweep_versions` runs the seed's loop for each n; the exponent is the slope
of log seconds (best of the repeats) against log n (least squares, 95% interval). O(n) means a slope near 1.0; the
operation counts (training + validation cycles) give exactly 1.
"""

from __future__ import annotations

from benchmarks.common import figure, mb, peak_memory
from mlcicd.measure.scaling import cost_table, growth, sweep_versions


def run(quick: bool) -> list:
    ns = (5, 10, 20, 40) if quick else (10, 30, 100, 300)
    repeats = 3 if quick else 2
    df = sweep_versions(ns, repeats=repeats, progress=False)  # repeats interleave the sizes
    table = cost_table(df)
    best = df[df["stage"] == "total"].groupby("value")["seconds"].min()
    fit = growth(df, "versions", agg="min")
    cpu_fit = growth(df, "versions", y="cpu_seconds", agg="min")
    counted = growth(df, "versions", y="operations")
    peak = peak_memory(lambda: sweep_versions(ns[:1], progress=False, warmup=False))
    per_version = ", ".join(
        f"n={n}: {s:.2f} s ({s / n * 1000:.0f} ms/version)" for n, s in best.items()
    )
    return [
        figure(
            f"growth exponent of seconds in n versions, n = {', '.join(map(str, ns))}",
            fit.slope,
            "0.9 .. 1.1",
            unit="",
            cpu_value=cpu_fit.slope,
            detail=f"wall-clock {fit} (r2 {fit.r2:.4f}), CPU time {cpu_fit} (r2 "
            f"{cpu_fit.r2:.4f}), best of {repeats} per n; counted cycles: slope "
            f"{counted.slope:.3f}; " + per_version,
            memory=f"peak memory of the n={ns[0]} run (tracemalloc): {mb(peak)}",
            numbers={
                "fit": fit.to_dict(),
                "cpu_fit": cpu_fit.to_dict(),
                "table": table.to_dict("list"),
            },
        )
    ]
