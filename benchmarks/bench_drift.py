"""detect_drift on 1,000,000 x 30 frames vs bare numpy computing the same statistics.

With more than 1,000 reference rows, detect_drift computes per numeric column: the standard
deviation of the reference, the Wasserstein-1 distance between the two samples (from the sorted
samples) divided by it, and the PSI over the reference deciles. The bare floor does exactly
that and nothing else: per column, sort both samples, W1 as the mean absolute difference of the
order statistics (equal sizes), std, the deciles by linear interpolation on the sorted
reference, counts by binary search, PSI. (``scipy.stats.wasserstein_distance`` is not the floor:
it re-sorts and merges both samples and is many times slower.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.common import best_of, figure, mb, peak_memory
from mlcicd.monitoring import detect_drift

BINS, EPSILON = 10, 1e-4


def frames(n_rows: int, n_cols: int = 30, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current frame; the current one drifts in its first third of columns."""
    rng = np.random.default_rng(seed)
    names = [f"f{i:02d}" for i in range(n_cols)]
    reference = pd.DataFrame(rng.normal(size=(n_rows, n_cols)), columns=names)
    shift = np.where(np.arange(n_cols) < n_cols // 3, 0.5, 0.0)
    current = pd.DataFrame(rng.normal(size=(n_rows, n_cols)) + shift, columns=names)
    return reference, current


def bare_numpy(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, tuple]:
    """(W1 / std, PSI) per column, computed from sorted samples."""
    out = {}
    pos = np.arange(1, BINS) / BINS * (len(reference) - 1)
    lo = np.floor(pos).astype(np.intp)
    frac = pos - lo
    for name in reference.columns:
        ref = np.sort(reference[name].to_numpy())
        cur = np.sort(current[name].to_numpy())
        scale = float(ref.std()) or 1.0
        w1 = float(np.abs(ref - cur).mean()) / scale
        hi = np.minimum(lo + 1, ref.size - 1)
        edges = np.unique(ref[lo] + (ref[hi] - ref[lo]) * frac)
        p = np.diff(np.concatenate([[0], np.searchsorted(ref, edges), [ref.size]])) / ref.size
        q = np.diff(np.concatenate([[0], np.searchsorted(cur, edges), [cur.size]])) / cur.size
        p, q = np.clip(p, EPSILON, None), np.clip(q, EPSILON, None)
        out[name] = (w1, float(np.sum((q - p) * np.log(q / p))))
    return out


def run(quick: bool) -> list:
    n_rows = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 7
    reference, current = frames(n_rows)
    report = detect_drift(reference, current)
    bare = bare_numpy(reference, current)
    for f in report.features:  # the same statistics, or the comparison means nothing
        assert np.isclose(f.statistic, bare[f.feature][0], rtol=1e-9), f.feature
        assert np.isclose(f.psi, bare[f.feature][1], rtol=1e-9), f.feature

    seconds = best_of(
        {
            "mlcicd": lambda: detect_drift(reference, current),
            "numpy": lambda: bare_numpy(reference, current),
        },
        repeats,
    )
    peaks = {
        "mlcicd": peak_memory(lambda: detect_drift(reference, current)),
        "numpy": peak_memory(lambda: bare_numpy(reference, current)),
    }
    inputs = int(reference.memory_usage(deep=True).sum())
    size = f"{n_rows:,} x {reference.shape[1]}"
    detail = (
        f"reference and current {size} each, best of {repeats}: {seconds.show()}; "
        f"{len(report.drifted)} of {len(report.features)} columns drifted"
    )
    wall, cpu = seconds.ratio("mlcicd", "numpy")
    memory = (
        f"peak extra memory (tracemalloc): mlcicd {mb(peaks['mlcicd'])}, "
        f"numpy {mb(peaks['numpy'])}; each input frame {mb(inputs)}"
    )
    return [
        figure(
            f"detect_drift {size} vs bare numpy",
            wall,
            "<= 1.3",
            cpu_value=cpu,
            detail=detail,
            memory=memory,
            numbers={"wall": seconds.wall, "cpu": seconds.cpu, "peak_bytes": peaks},
        ),
        figure(
            f"detect_drift {size}: peak memory / input frame memory",
            peaks["mlcicd"] / inputs,
            "<= 2.0",
            detail=f"peak {mb(peaks['mlcicd'])}; one input frame {mb(inputs)} (two are given)",
        ),
    ]
