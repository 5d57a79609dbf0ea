"""The engine: run stages in order, time them, cache them, run the costly ones in parallel.

- :mod:`~mlcicd.pipeline.runner`: stages, their records, planning and running a list of stages;
- :mod:`~mlcicd.pipeline.cache`: fingerprints and the in-memory stage cache;
- :mod:`~mlcicd.pipeline.disk_cache`: the same cache on disk, shared between processes and runs;
- :mod:`~mlcicd.pipeline.parallel`: joblib (loky, threads) or dask for the independent stages;
- :mod:`~mlcicd.pipeline.stages`: the ML steps wrapped as stages;
- :mod:`~mlcicd.pipeline.loop`: the seed's loop over model versions (:func:`run_versions`).

``from mlcicd.pipeline import run_versions`` is the short way to the loop.
"""

from mlcicd.pipeline.loop import VALIDATION_MODES, PipelineResult, run_versions
from mlcicd.pipeline.runner import RunRecord, Stage, StageRecord, run_stages

__all__ = [
    "VALIDATION_MODES",
    "PipelineResult",
    "RunRecord",
    "Stage",
    "StageRecord",
    "run_stages",
    "run_versions",
]
