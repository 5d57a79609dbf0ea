"""Running planned stages in parallel: joblib in local processes, or a dask cluster.

A :class:`Job` is the stages, their inputs, a plan and a version for
:func:`mlcicd.pipeline.runner.execute_stages`: the
driver has already looked the stages up in the cache, so a worker only computes (it never sees
the cache) and sends back the outputs and records. Jobs come back in the order they were given.

dask is optional (``pip install 'mlcicd[distributed]'``) and imported only when asked for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlcicd.checks import check_choice, is_int
from mlcicd.errors import InputError
from mlcicd.pipeline.runner import Plan, RunRecord, Stage, execute_stages

BACKENDS = ("loky", "threading", "dask")


@dataclass(frozen=True)
class Execution:
    """How the costly stages run: ``n_jobs`` workers of ``backend`` (None: in this process when
    ``n_jobs=1``, else loky), a dask ``scheduler``, and a progress bar or not."""

    n_jobs: int = 1
    backend: str | None = None
    scheduler: Any = None
    progress: bool = False

    def check(self) -> Execution:
        """``self`` if its options are usable, else :class:`InputError` naming the bad one."""
        check_backend(self.n_jobs, self.backend, self.scheduler)
        return self


@dataclass(frozen=True)
class Job:
    """One call of :func:`~mlcicd.pipeline.runner.execute_stages`: the stages, the inputs they
    read, the plan (cache keys and hits) and the version the records are labelled with."""

    stages: Sequence[Stage]
    inputs: Mapping[str, Any]
    plan: Plan
    version: int


def _execute(job: Job) -> RunRecord:
    return execute_stages(job.stages, job.inputs, job.plan, job.version)


def check_backend(n_jobs: Any, backend: Any, scheduler: Any) -> None:
    """``InputError`` for a bad ``n_jobs``/``backend``/``scheduler``, or dask not installed."""
    if not is_int(n_jobs) or n_jobs == 0:
        raise InputError(
            f"n_jobs must be a positive number of workers or -1 (all cores), got {n_jobs!r}"
        )
    check_choice(backend, "backend", (None, *BACKENDS))
    if scheduler is not None and backend != "dask":
        raise InputError("scheduler: only used with backend='dask'")
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise InputError(
                "backend='dask': dask.distributed is not installed "
                "(install it with: pip install 'mlcicd[distributed]')"
            ) from None


@contextlib.contextmanager
def _dask(scheduler: Any) -> Iterator[Any]:
    """A client: to ``scheduler`` (an address or a Client), or to a local cluster made here."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            stack.enter_context(cluster)
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout=10))
            except (OSError, TimeoutError) as exc:
                raise InputError(f"scheduler {scheduler!r}: cannot connect ({exc})") from None
        yield client


def execute_many(jobs: Sequence[Job], execution: Execution = Execution()) -> list[RunRecord]:
    """Every job's run, in order.

    ``n_jobs=1`` without a backend runs in this process; otherwise ``joblib.Parallel`` with the
    backend (default loky). With ``backend="dask"`` and ``n_jobs=1`` every dask worker is used.
    """
    from tqdm.auto import tqdm

    n_jobs, backend, progress = execution.n_jobs, execution.backend, execution.progress
    if not jobs:
        return []
    out: list[RunRecord] = []
    with tqdm(total=len(jobs), desc="versions", unit="version", disable=not progress) as bar:
        if n_jobs == 1 and backend is None:
            for job in jobs:
                out.append(_execute(job))
                bar.update()
            return out
        import joblib

        with contextlib.ExitStack() as stack:
            if backend == "dask":
                client = stack.enter_context(_dask(execution.scheduler))
                stack.enter_context(joblib.parallel_config(backend="dask", client=client))
                n_jobs = -1 if n_jobs == 1 else n_jobs
            else:
                stack.enter_context(joblib.parallel_config(backend=backend or "loky"))
            parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator")
            for run in parallel(joblib.delayed(_execute)(job) for job in jobs):
                out.append(run)
                bar.update()
    return out


def one_thread_per_process() -> int:
    """Limit the native thread pools (BLAS, OpenMP) of this process to one thread each; how many
    pools it limited.

    The course's models are small: on a shared 2-core machine a second BLAS thread mostly waits
    for the first (a logistic regression fit took 5x longer with two threads under load).
    joblib gives each worker process one thread as well, so ``n_jobs=1`` and ``n_jobs=2``
    compare like with like.
    """
    import scipy.optimize  # noqa: F401  (loads scipy's own BLAS, so that it is limited too)
    import sklearn.ensemble  # noqa: F401  (and scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=1)
    return len(threadpool_info())
