"""A real software CI pipeline, to set beside the ML one: its cost does not grow with the data.

:func:`run_software_ci` takes the code-only package :mod:`mlcicd.measure.sample_app` through the steps of
a software pipeline -- ``checkout``, ``byte_compile``, ``lint``, ``unit_tests``, ``build`` --
each timed with :func:`time.perf_counter` around real work (no sleeps, no simulated costs).

What *does* this pipeline's cost grow with? With the code and its tests. ``code_modules=M``
first scales the package up: :func:`scale_app` adds ``M`` generated modules, each with
``tests_per_module`` functions and a unit test per function (real code, real assertions,
deterministic from ``seed``). Every step then handles more files and runs more tests, which
``operations`` counts. :func:`software_ci_code_sweep` measures that over several code sizes.

The work folder also receives a data file of ``data_rows`` rows, as a repository that carries
data would. No software step opens it, so the software pipeline's cost is flat in the data *by
construction*; :func:`software_ci_sweep` shows it. That is still the point: a software build
depends on its code, never on data, whereas training and validating a model read every row.

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

from mlcicd.checks import check_int
from mlcicd.errors import InputError
from mlcicd.files import atomic_write, atomic_write_text
from mlcicd.measure.codecheck import find_lint_problems, python_files

STEPS = ("checkout", "byte_compile", "lint", "unit_tests", "build")
APP_NAME = "sample_app"
APP_SOURCE = Path(__file__).resolve().parent / APP_NAME
TEST_PATTERN = "checks_*.py"
GENERATED_PREFIX = "gen_"  # generated modules: gen_0001.py, tested by checks_gen_0001.py
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
    code_modules: int = 0
    tests_per_module: int = 0

    @property
    def source_files(self) -> int:
        """The ``.py`` files of the checked-out package (the units compiled and linted)."""
        return self.step("byte_compile").metrics["files"]

    @property
    def source_lines(self) -> int:
        """Lines of Python in the checked-out package: the size of the code."""
        return self.step("checkout").metrics["lines"]

    @property
    def tests_run(self) -> int:
        return self.step("unit_tests").metrics["tests_run"]

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
    workdir: str | os.PathLike,
    *,
    data_rows: int = 0,
    seed: int = 0,
    code_modules: int = 0,
    tests_per_module: int = 5,
) -> SoftwareCIResult:
    """Check out, compile, lint, test and package the sample app inside ``workdir``.

    ``workdir`` is created if missing; it must be empty or a folder this function used before
    (it holds a ``.mlcicd-software-ci`` marker) -- nothing is written outside it. Layout:
    ``src/sample_app`` (the checkout), ``data/rows.csv`` (``data_rows`` rows, never read by the
    steps), ``dist/sample_app-<version>.tar.gz`` (the build). With ``code_modules > 0`` the
    repository checked out is ``origin/sample_app``, the app scaled up by :func:`scale_app`
    (generated before the steps, not timed). Every step runs even after a failure, so a report
    always lists all five.
    """
    rows = _check_count(data_rows, "data_rows")
    seed = _check_count(seed, "seed")
    modules = _check_count(code_modules, "code_modules")
    per_module = _check_count(tests_per_module, "tests_per_module")
    if modules and not per_module:
        raise InputError("tests_per_module: must be at least 1 when code_modules > 0")
    root = _prepare_workdir(workdir)
    data_bytes = write_data_file(root / "data" / "rows.csv", rows, seed=seed)
    source = APP_SOURCE
    if modules:
        source = scale_app(root / "origin", modules, tests_per_module=per_module, seed=seed)
    app = root / "src" / APP_NAME
    steps = (
        checkout_sources(root / "src", source=source),
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
        code_modules=modules,
        tests_per_module=per_module if modules else 0,
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
    values = _check_sizes(data_rows, "data_rows", "row counts, e.g. (1000, 10000)")
    return _sweep(
        "data_rows",
        values,
        lambda value: {"data_rows": value},
        workdir=workdir,
        repeats=repeats,
        seed=seed,
        progress=progress,
        warmup=warmup,
    )


def software_ci_code_sweep(
    code_modules: tuple[int, ...] | list[int] = (0, 10, 100),
    *,
    workdir: str | os.PathLike,
    tests_per_module: int = 5,
    data_rows: int = 0,
    repeats: int = 1,
    seed: int = 0,
    progress: bool = True,
    warmup: bool = True,
) -> pd.DataFrame:
    """Run the software pipeline on the app scaled up by each number of ``code_modules``.

    The columns of :func:`software_ci_sweep` (``factor`` is "code_modules") plus ``files`` and
    ``lines`` (the package's ``.py`` files and lines of Python) and ``tests`` (tests run). The
    data file keeps ``data_rows`` rows throughout: only the code and its tests grow.
    """
    values = _check_sizes(code_modules, "code_modules", "module counts, e.g. (0, 10, 100)")
    per_module = _check_count(tests_per_module, "tests_per_module")
    rows = _check_count(data_rows, "data_rows")
    return _sweep(
        "code_modules",
        values,
        lambda value: {"code_modules": value, "tests_per_module": per_module, "data_rows": rows},
        workdir=workdir,
        repeats=repeats,
        seed=seed,
        progress=progress,
        warmup=warmup,
        sizes=True,
    )


def _sweep(factor, values, options, *, workdir, repeats, seed, progress, warmup, sizes=False):
    repeats = _check_count(repeats, "repeats")
    if repeats < 1:
        raise InputError(f"repeats: must be at least 1, got {repeats}")
    if warmup:
        run_software_ci(workdir, seed=seed, **options(values[0]))
    records = []
    runs = [(value, rep) for value in values for rep in range(repeats)]
    for value, rep in tqdm(runs, desc=f"software CI ({factor})", disable=not progress):
        result = run_software_ci(workdir, seed=seed, **options(value))
        extra = {}
        if sizes:
            extra = {
                "files": result.source_files,
                "lines": result.source_lines,
                "tests": result.tests_run,
            }
        for step in result.steps:
            records.append(
                {
                    "pipeline": "software",
                    "factor": factor,
                    "value": value,
                    "repeat": rep,
                    "stage": step.name,
                    "seconds": step.seconds,
                    "operations": step.operations,
                    "ok": step.ok,
                    **extra,
                }
            )
    return pd.DataFrame.from_records(records)


# ---------------------------------------------------------------------------------------------
# A bigger code base: generated modules and their unit tests


def scale_app(
    dest: str | os.PathLike, code_modules: int, *, tests_per_module: int = 5, seed: int = 0
) -> Path:
    """Write the sample app plus ``code_modules`` generated modules to ``dest/sample_app``.

    Module ``gen_0001.py`` holds ``tests_per_module`` small integer functions (quadratics with
    seeded coefficients, evaluated by Horner's rule); ``checks_gen_0001.py`` tests each of them
    on three inputs against values the generator computed another way (the expanded formula).
    The same arguments give the same files, byte for byte. A previous ``dest/sample_app`` is
    replaced. Returns the package folder.
    """
    modules = _check_count(code_modules, "code_modules")
    per_module = _check_count(tests_per_module, "tests_per_module")
    seed = _check_count(seed, "seed")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".scale-", dir=dest))
    try:
        package = staging / APP_NAME
        shutil.copytree(
            APP_SOURCE, package, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]")
        )
        rng = np.random.default_rng(seed)
        for index in range(1, modules + 1):
            coefficients = rng.integers(1, 1_000, size=(per_module, 4)).tolist()
            name = f"{GENERATED_PREFIX}{index:04d}"
            (package / f"{name}.py").write_text(_module_source(name, coefficients), "utf-8")
            checks = _checks_source(name, coefficients)
            (package / f"checks_{name}.py").write_text(checks, "utf-8")
        target = dest / APP_NAME
        if target.exists():
            shutil.rmtree(target)
        package.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _module_source(name: str, coefficients: list[list[int]]) -> str:
    lines = [f'"""Generated module {name}: small integer functions (quadratics modulo m)."""']
    for j, (a, b, c, m) in enumerate(coefficients):
        lines += [
            "",
            "",
            f"def {name}_f{j}(x: int) -> int:",
            f'    """({a} x^2 + {b} x + {c}) mod {m + 1000}, by Horner\'s rule."""',
            f"    return (({a} * x + {b}) * x + {c}) % {m + 1000}",
        ]
    return "\n".join(lines) + "\n"


def _checks_source(name: str, coefficients: list[list[int]]) -> str:
    lines = [
        f'"""Unit tests of the generated module {name}."""',
        "",
        "import unittest",
        "",
        f"from .{name} import (",
        *[f"    {name}_f{j}," for j in range(len(coefficients))],
        ")",
        "",
        "",
        f"class {name.title().replace('_', '')}Tests(unittest.TestCase):",
    ]
    for j, (a, b, c, m) in enumerate(coefficients):
        # the expected values come from the expanded formula, not from the code under test
        cases = [(x, (a * x**2 + b * x + c) % (m + 1000)) for x in (0, 7, 123)]
        lines += [*([""] if j else []), f"    def test_f{j}(self):"]
        lines += [f"        self.assertEqual({name}_f{j}({x}), {y})" for x, y in cases]
    return "\n".join(line for line in lines if line is not None) + "\n"


# ---------------------------------------------------------------------------------------------
# The steps: each takes the folders it works on and returns a StepResult


def checkout_sources(
    dest: str | os.PathLike, *, source: str | os.PathLike = APP_SOURCE
) -> StepResult:
    """Copy the package at ``source`` (no caches) to ``dest/sample_app``, replacing a previous one."""
    dest, source = Path(dest), Path(source)
    start = time.perf_counter()
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".checkout-", dir=dest))
    try:
        shutil.copytree(
            source, staging / APP_NAME, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]")
        )
        target = dest / APP_NAME
        if target.exists():
            shutil.rmtree(target)
        (staging / APP_NAME).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    lines = sum(p.read_bytes().count(b"\n") for p in files if p.suffix == ".py")
    seconds = time.perf_counter() - start
    detail = f"copied {len(files)} files ({size} bytes, {lines} lines of Python)"
    metrics = {"files": len(files), "lines": lines}
    return StepResult("checkout", seconds, bool(files), detail, len(files), metrics)


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
        assert spec is not None and spec.loader is not None  # a file location always has both
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
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
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


def _check_sizes(values: Any, name: str, example: str) -> list[int]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InputError(f"{name}: expected a list of {example}")
    sizes = [_check_count(v, name) for v in values]
    if not sizes:
        raise InputError(f"{name}: empty; give at least one value")
    return sizes


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
        atomic_write_text(root / MARKER, "work folder of mlcicd.measure.software_ci\n")
    return root


def _package_dir(app_dir: str | os.PathLike) -> Path:
    app = Path(app_dir)
    if not (app / "__init__.py").is_file():
        raise InputError(f"app folder {app}: not a Python package (no __init__.py)")
    return app


def _read_version(init: Path) -> str:
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return "0"


def _check_count(value: Any, name: str) -> int:
    return check_int(value, name, low=0)
