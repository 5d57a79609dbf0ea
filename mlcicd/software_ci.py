"""A real software CI pipeline, to set beside the ML one: its cost does not grow with the data.

:func:`run_software_ci` takes the code-only package :mod:`mlcicd.sample_app` through the steps of
a software pipeline -- ``checkout``, ``byte_compile``, ``lint``, ``unit_tests``, ``build`` --
each timed with :func:`time.perf_counter` around real work (no sleeps, no simulated costs).

The work folder also receives a data file of ``data_rows`` rows, as a repository that carries
data would. No software step opens it: compiling, linting, testing and packaging code never read
the data, which is exactly why this pipeline's time stays flat while training and validating a
model grow with the rows. :func:`software_ci_sweep` measures that over several data sizes.

>>> import tempfile
>>> result = run_software_ci(tempfile.mkdtemp(), data_rows=100)
>>> result.ok, [step.name for step in result.steps] == list(STEPS)
(True, True)
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import importlib
import importlib.util
import os
import py_compile
import shutil
import sys
import tarfile
import tempfile
import time
import unittest
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlcicd.codecheck import find_lint_problems, python_files
from mlcicd.errors import InputError
from mlcicd.files import atomic_write, atomic_write_text

STEPS = ("checkout", "byte_compile", "lint", "unit_tests", "build")
APP_NAME = "sample_app"
APP_SOURCE = Path(__file__).resolve().parent / APP_NAME
TEST_PATTERN = "checks_*.py"
MARKER = ".mlcicd-software-ci"
_EPOCH_1980 = 315532800  # a fixed member time: the same sources give the same archive bytes


@dataclass(frozen=True)
class StepResult:
    """One CI step: how long it took, whether it passed, what it did.

    ``operations`` counts the units of work (files copied/compiled/linted/archived, tests run);
    ``metrics`` holds the step's own figures (e.g. ``tests_run``, ``failures``, ``sha256``).
    """

    name: str
    seconds: float
    ok: bool
    detail: str
    operations: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SoftwareCIResult:
    """The steps of one software CI run; ``total_seconds`` is the sum of the step times."""

    steps: tuple[StepResult, ...]
    total_seconds: float
    data_rows: int
    ok: bool
    data_bytes: int = 0
    workdir: str = ""

    @property
    def operations(self) -> int:
        return sum(step.operations for step in self.steps)

    def step(self, name: str) -> StepResult:
        for step in self.steps:
            if step.name == name:
                return step
        raise InputError(f"step {name!r}: unknown; allowed: {', '.join(STEPS)}")

    def to_frame(self) -> pd.DataFrame:
        rows = [(s.name, s.seconds, s.ok, s.detail, s.operations) for s in self.steps]
        return pd.DataFrame(rows, columns=["step", "seconds", "ok", "detail", "operations"])

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["operations"] = self.operations
        return out


# ---------------------------------------------------------------------------------------------
# The pipeline


def run_software_ci(
    workdir: str | os.PathLike, *, data_rows: int = 0, seed: int = 0
) -> SoftwareCIResult:
    """Check out, compile, lint, test and package the sample app inside ``workdir``.

    ``workdir`` is created if missing; it must be empty or a folder this function used before
    (it holds a ``.mlcicd-software-ci`` marker) -- nothing is written outside it. Layout:
    ``src/sample_app`` (the checkout), ``data/rows.csv`` (``data_rows`` rows, never read by the
    steps), ``dist/sample_app-<version>.tar.gz`` (the build). Every step runs even after a
    failure, so a report always lists all five.
    """
    rows = _check_count(data_rows, "data_rows")
    seed = _check_count(seed, "seed")
    root = _prepare_workdir(workdir)
    data_bytes = write_data_file(root / "data" / "rows.csv", rows, seed=seed)
    app = root / "src" / APP_NAME
    steps = (
        checkout_sources(root / "src"),
        byte_compile(app),
        lint_sources(app),
        run_unit_tests(app),
        build_archive(app, root / "dist"),
    )
    return SoftwareCIResult(
        steps=steps,
        total_seconds=sum(step.seconds for step in steps),
        data_rows=rows,
        ok=all(step.ok for step in steps),
        data_bytes=data_bytes,
        workdir=str(root),
    )


def software_ci_sweep(
    data_rows: tuple[int, ...] | list[int] = (1_000, 10_000, 100_000),
    *,
    workdir: str | os.PathLike,
    repeats: int = 1,
    seed: int = 0,
    progress: bool = True,
    warmup: bool = True,
) -> pd.DataFrame:
    """Run the software pipeline once per data size (``repeats`` times each); tidy rows.

    Columns: ``pipeline`` ("software"), ``factor`` ("data_rows"), ``value``, ``repeat``,
    ``stage`` (a step name), ``seconds``, ``operations``, ``ok``. There is no total row: sum the
    stages. ``warmup`` first runs once untimed so the first size does not pay for cold caches.
    """
    if isinstance(data_rows, (str, bytes)) or not hasattr(data_rows, "__iter__"):
        raise InputError("data_rows: expected a list of row counts, e.g. (1000, 10000)")
    values = [_check_count(v, "data_rows") for v in data_rows]
    if not values:
        raise InputError("data_rows: empty; give at least one row count")
    repeats = _check_count(repeats, "repeats")
    if repeats < 1:
        raise InputError(f"repeats: must be at least 1, got {repeats}")
    if warmup:
        run_software_ci(workdir, data_rows=0, seed=seed)
    records = []
    runs = [(value, rep) for value in values for rep in range(repeats)]
    for value, rep in tqdm(runs, desc="software CI", disable=not progress):
        result = run_software_ci(workdir, data_rows=value, seed=seed)
        for step in result.steps:
            records.append(
                {
                    "pipeline": "software",
                    "factor": "data_rows",
                    "value": value,
                    "repeat": rep,
                    "stage": step.name,
                    "seconds": step.seconds,
                    "operations": step.operations,
                    "ok": step.ok,
                }
            )
    return pd.DataFrame.from_records(records)


# ---------------------------------------------------------------------------------------------
# The steps: each takes the folders it works on and returns a StepResult


def checkout_sources(dest: str | os.PathLike) -> StepResult:
    """Copy the sample app's sources (no caches) to ``dest/sample_app``, replacing a previous one."""
    dest = Path(dest)
    start = time.perf_counter()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".checkout-", dir=dest))
    try:
        shutil.copytree(
            APP_SOURCE, staging / APP_NAME, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]")
        )
        target = dest / APP_NAME
        if target.exists():
            shutil.rmtree(target)
        (staging / APP_NAME).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    seconds = time.perf_counter() - start
    detail = f"copied {len(files)} files ({size} bytes)"
    return StepResult("checkout", seconds, bool(files), detail, len(files), {"files": len(files)})


def byte_compile(app_dir: str | os.PathLike) -> StepResult:
    """Compile every ``.py`` file (always recompiled; hash-checked ``.pyc`` beside the sources)."""
    files = python_files(app_dir)
    start = time.perf_counter()
    errors = []
    for path in files:
        try:
            py_compile.compile(
                str(path),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
        except py_compile.PyCompileError as exc:
            errors.append(f"{path.name}: {exc.exc_type_name}")
    seconds = time.perf_counter() - start
    detail = f"compiled {len(files) - len(errors)} of {len(files)} files"
    if errors:
        detail += "; failed: " + ", ".join(errors)
    ok = bool(files) and not errors
    metrics = {"files": len(files), "errors": len(errors)}
    return StepResult("byte_compile", seconds, ok, detail, len(files), metrics)


def lint_sources(app_dir: str | os.PathLike) -> StepResult:
    """Run :func:`find_lint_problems`; passes when there is no finding."""
    files = python_files(app_dir)
    start = time.perf_counter()
    findings = find_lint_problems(app_dir)
    seconds = time.perf_counter() - start
    detail = f"checked {len(files)} files, {len(findings)} findings"
    if findings:
        detail += ": " + "; ".join(str(f) for f in findings[:3])
    metrics = {"files": len(files), "findings": len(findings)}
    return StepResult("lint", seconds, not findings, detail, len(files), metrics)


def run_unit_tests(app_dir: str | os.PathLike) -> StepResult:
    """Run the app's ``checks_*.py`` unittest suites in this process.

    The package is imported under a fresh, unique module name straight from ``app_dir`` (no
    ``sys.path`` change), and its modules are dropped from ``sys.modules`` afterwards, so an
    edited copy is always the code that runs. Passes when tests ran and none failed or errored.
    """
    app = _package_dir(app_dir)
    modules = sorted(p.stem for p in app.glob(TEST_PATTERN))
    name = f"_software_ci_{uuid.uuid4().hex}"
    start = time.perf_counter()
    result = unittest.TestResult()
    import_errors = []
    try:
        spec = importlib.util.spec_from_file_location(
            name, app / "__init__.py", submodule_search_locations=[str(app)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        try:
            spec.loader.exec_module(package)
        except Exception as exc:  # the code under test is broken: report it, do not crash
            import_errors.append(f"{APP_NAME}: {type(exc).__name__}: {exc}")
        suite = unittest.TestSuite()
        for module in modules if not import_errors else []:
            try:
                loaded = importlib.import_module(f"{name}.{module}")
            except Exception as exc:
                import_errors.append(f"{module}: {type(exc).__name__}: {exc}")
                continue
            suite.addTests(unittest.defaultTestLoader.loadTestsFromModule(loaded))
        suite.run(result)
    finally:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
    seconds = time.perf_counter() - start
    failures, errors = len(result.failures), len(result.errors) + len(import_errors)
    ok = result.testsRun > 0 and failures == 0 and errors == 0
    detail = f"ran {result.testsRun} tests: {failures} failures, {errors} errors"
    bad = [test.id().rsplit(".", 2)[-1] for test, _ in result.failures + result.errors]
    if bad or import_errors:
        detail += "; " + ", ".join(import_errors + bad[:5])
    if not modules:
        detail += f"; no {TEST_PATTERN} file in {app}"
    metrics = {
        "tests_run": result.testsRun,
        "failures": failures,
        "errors": errors,
        "skipped": len(result.skipped),
    }
    return StepResult("unit_tests", seconds, ok, detail, result.testsRun, metrics)


def build_archive(app_dir: str | os.PathLike, dist_dir: str | os.PathLike) -> StepResult:
    """Package the sources as ``dist_dir/<name>-<version>.tar.gz``, byte-for-byte reproducible."""
    app = _package_dir(app_dir)
    files = python_files(app, pattern="*")
    version = _read_version(app / "__init__.py")
    dist = Path(dist_dir)
    start = time.perf_counter()
    dist.mkdir(parents=True, exist_ok=True)
    archive = dist / f"{app.name}-{version}.tar.gz"

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for path in files:
                    info = tarfile.TarInfo(
                        f"{app.name}-{version}/{path.relative_to(app.parent).as_posix()}"
                    )
                    info.size, info.mtime, info.mode = path.stat().st_size, _EPOCH_1980, 0o644
                    with open(path, "rb") as fh:
                        tar.addfile(info, fh)

    atomic_write(archive, write)
    blob = archive.read_bytes()
    sha256 = hashlib.sha256(blob).hexdigest()
    seconds = time.perf_counter() - start
    detail = f"{archive.name}: {len(files)} files, {len(blob)} bytes, sha256 {sha256[:12]}"
    metrics = {"files": len(files), "size_bytes": len(blob), "sha256": sha256, "path": str(archive)}
    return StepResult("build", seconds, bool(files), detail, len(files), metrics)


# ---------------------------------------------------------------------------------------------
# Helpers


def write_data_file(path: str | os.PathLike, n_rows: int, *, seed: int = 0) -> int:
    """Write ``n_rows`` rows of seeded numeric data (8 features, a 0/1 label) as CSV; bytes."""
    n_rows = _check_count(n_rows, "data_rows")
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n_rows, 8))
    frame = pd.DataFrame(features, columns=[f"f{i:02d}" for i in range(8)])
    frame["target"] = (features[:, 0] + rng.normal(scale=0.5, size=n_rows) > 0).astype(int)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.5f"))
    return target.stat().st_size


def _prepare_workdir(workdir: str | os.PathLike) -> Path:
    root = Path(workdir)
    if root.exists() and not root.is_dir():
        raise InputError(f"workdir {root}: is a file, expected a folder")
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()) and not (root / MARKER).is_file():
        raise InputError(
            f"workdir {root}: not empty and not a software CI work folder; give a new or empty one"
        )
    if not (root / MARKER).is_file():
        atomic_write_text(root / MARKER, "work folder of mlcicd.software_ci\n")
    return root


def _package_dir(app_dir: str | os.PathLike) -> Path:
    app = Path(app_dir)
    if not (app / "__init__.py").is_file():
        raise InputError(f"app folder {app}: not a Python package (no __init__.py)")
    return app


def _read_version(init: Path) -> str:
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    return "0"


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name}: must be a whole number, got {value!r}")
    if value < 0:
        raise InputError(f"{name}: must not be negative, got {value}")
    return int(value)
