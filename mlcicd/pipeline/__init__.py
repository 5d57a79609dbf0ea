"""The engine: run stages in order, time them, cache them, run the costly ones in parallel.

- :mod:`~mlcicd.pipeline.runner`: stages, their records, planning and running a list of stages;
- :mod:`~mlcicd.pipeline.cache`: fingerprints and the in-memory stage cache;
- :mod:`~mlcicd.pipeline.disk_cache`: the same cache on disk, shared between processes and runs;
- :mod:`~mlcicd.pipeline.parallel`: joblib (loky, threads) or dask for the independent stages;
- :mod:`~mlcicd.pipeline.stages`: the ML steps wrapped as stages;
- :mod:`~mlcicd.pipeline.loop`: the seed's loop over model versions (:func:`run_versions`).

``from mlcicd.pipeline import run_versions`` is the short way to the loop. The names below are
imported on first use, so ``import mlcicd.pipeline.disk_cache`` (a command-line cache hit) does
not pay for the loop's imports (pandas, scikit-learn).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcicd.pipeline.loop import VALIDATION_MODES, PipelineResult, run_versions
    from mlcicd.pipeline.runner import RunRecord, Stage, StageRecord, run_stages

_HOMES = {
    "VALIDATION_MODES": "mlcicd.pipeline.loop",
    "PipelineResult": "mlcicd.pipeline.loop",
    "run_versions": "mlcicd.pipeline.loop",
    "RunRecord": "mlcicd.pipeline.runner",
    "Stage": "mlcicd.pipeline.runner",
    "StageRecord": "mlcicd.pipeline.runner",
    "run_stages": "mlcicd.pipeline.runner",
}

__all__ = [
    "VALIDATION_MODES",
    "PipelineResult",
    "RunRecord",
    "Stage",
    "StageRecord",
    "run_stages",
    "run_versions",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlcicd.pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
