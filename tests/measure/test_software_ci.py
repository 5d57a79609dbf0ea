"""The software CI comparator: real steps, real failures, operations flat in the data size."""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile

import pandas as pd
import pytest

from mlcicd.errors import InputError
from mlcicd.measure.codecheck import LintFinding, find_lint_problems
from mlcicd.measure.software_ci import (
    APP_SOURCE,
    MARKER,
    STEPS,
    build_archive,
    byte_compile,
    checkout_sources,
    lint_sources,
    run_software_ci,
    run_unit_tests,
    scale_app,
    software_ci_code_sweep,
    software_ci_sweep,
)

N_SAMPLE_TESTS = 13  # the test methods in mlcicd/measure/sample_app/checks_invoice.py
SAMPLE_LINES = sum(
    (APP_SOURCE / name).read_text().count("\n")
    for name in ("__init__.py", "checks_invoice.py", "invoice.py")
)
SOURCES = ["__init__.py", "checks_invoice.py", "invoice.py"]
SUBTOTAL = "return self.unit_price * self.quantity"


def _tree(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.fixture
def app(tmp_path):
    """A fresh checkout of the sample app, for tests that break it."""
    assert checkout_sources(tmp_path / "src").ok
    return tmp_path / "src" / "sample_app"


def test_every_step_runs_and_passes(tmp_path):
    result = run_software_ci(tmp_path / "work", data_rows=50, seed=3)
    assert result.ok
    assert [s.name for s in result.steps] == list(STEPS)
    assert all(s.ok for s in result.steps)
    assert result.step("checkout").metrics == {"files": 3, "lines": SAMPLE_LINES}
    assert (result.source_files, result.source_lines, result.tests_run) == (3, SAMPLE_LINES, 13)
    assert result.step("byte_compile").metrics == {"files": 3, "errors": 0}
    assert result.step("lint").metrics == {"files": 3, "findings": 0}
    assert result.step("unit_tests").metrics == {
        "tests_run": N_SAMPLE_TESTS,
        "failures": 0,
        "errors": 0,
        "skipped": 0,
    }
    assert result.operations == 3 + 3 + 3 + N_SAMPLE_TESTS + 3
    assert result.total_seconds == pytest.approx(sum(s.seconds for s in result.steps))
    # the data file is there, with the rows asked for, but no step read it
    data = pd.read_csv(tmp_path / "work" / "data" / "rows.csv")
    assert len(data) == 50 and list(data.columns)[-1] == "target"
    assert result.data_bytes == (tmp_path / "work" / "data" / "rows.csv").stat().st_size


def test_frame_and_dict_views(tmp_path):
    result = run_software_ci(tmp_path / "work")
    frame = result.to_frame()
    assert list(frame.columns) == ["step", "seconds", "ok", "detail", "operations"]
    assert frame["step"].tolist() == list(STEPS)
    assert frame["ok"].all()
    as_dict = json.loads(json.dumps(result.to_dict()))
    assert as_dict["ok"] is True and as_dict["data_rows"] == 0
    assert [s["name"] for s in as_dict["steps"]] == list(STEPS)
    assert as_dict["operations"] == result.operations
    with pytest.raises(InputError, match="step 'deploy': unknown; allowed: checkout"):
        result.step("deploy")


def test_operations_are_identical_whatever_the_data_size(tmp_path):
    sweep = software_ci_sweep((0, 300, 3000), workdir=tmp_path / "w", progress=False, warmup=False)
    expected = ["pipeline", "factor", "value", "repeat", "stage", "seconds", "operations", "ok"]
    assert list(sweep.columns) == expected
    assert len(sweep) == 3 * len(STEPS)
    assert set(sweep["pipeline"]) == {"software"} and set(sweep["factor"]) == {"data_rows"}
    assert sweep["ok"].all()
    per_stage = sweep.pivot(index="stage", columns="value", values="operations")
    assert (per_stage.nunique(axis=1) == 1).all()
    assert per_stage[0].to_dict() == {
        "build": 3,
        "byte_compile": 3,
        "checkout": 3,
        "lint": 3,
        "unit_tests": N_SAMPLE_TESTS,
    }
    assert (sweep["seconds"] > 0).all()


def test_data_grows_while_operations_stay(tmp_path):
    small = run_software_ci(tmp_path / "w", data_rows=10)
    large = run_software_ci(tmp_path / "w", data_rows=5000)
    assert large.data_bytes > 100 * small.data_bytes
    assert [s.operations for s in small.steps] == [s.operations for s in large.steps]


def test_sweep_repeats_and_warmup(tmp_path):
    sweep = software_ci_sweep((5,), workdir=tmp_path / "w", repeats=2, progress=False)
    assert sweep["repeat"].tolist() == [0] * len(STEPS) + [1] * len(STEPS)
    assert sweep["stage"].tolist() == list(STEPS) * 2


def test_lint_finds_injected_problems(tmp_path):
    (tmp_path / "bad.py").write_text(
        "import os\nimport sys\n\nprint(sys.argv, undefined_thing)  \nx = '" + "a" * 100 + "'\n"
    )
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(
        "from .m import a, b\nfrom .m import c as c\n__all__ = ['a']\n"
    )
    assert [str(f) for f in find_lint_problems(tmp_path)] == [
        "bad.py:1: F401 'os' imported but unused",
        "bad.py:4: F821 undefined name 'undefined_thing'",
        "bad.py:4: W291 trailing whitespace",
        "bad.py:5: E501 line too long (106 > 100)",
        "broken.py:1: E999 syntax error: invalid syntax",
        "pkg/__init__.py:1: F401 'b' imported but unused",
    ]
    step = lint_sources(tmp_path)
    assert not step.ok and step.metrics == {"files": 3, "findings": 6}
    assert "bad.py:1: F401" in step.detail


def test_lint_knows_bindings_and_builtins(tmp_path):
    (tmp_path / "ok.py").write_text(
        "from __future__ import annotations\n"
        "import os.path\n\n\n"
        "def f(a, *args, k=1, **kw):\n"
        "    try:\n        total = [y for y in args if (z := y)]\n"
        "    except ValueError as exc:\n        raise RuntimeError(__name__) from exc\n"
        "    return os.path.join(str(a), str(k), str(kw), str(total), str(z), len(args))\n"
    )
    assert find_lint_problems(tmp_path) == ()
    assert find_lint_problems(tmp_path, max_line_length=78) == (
        LintFinding("ok.py", 10, "E501", "line too long (79 > 78)"),
    )


def test_the_sample_app_is_lint_clean():
    assert find_lint_problems(APP_SOURCE) == ()


def test_unit_test_failures_are_detected(app, tmp_path):
    source = (app / "invoice.py").read_text()
    assert SUBTOTAL in source
    (app / "invoice.py").write_text(
        source.replace(SUBTOTAL, "return self.unit_price * (self.quantity + 1)")
    )
    step = run_unit_tests(app)
    assert not step.ok
    assert step.metrics == {"tests_run": N_SAMPLE_TESTS, "failures": 5, "errors": 0, "skipped": 0}
    assert "test_subtotal_is_exact" in step.detail
    # the edited copy did not leak: a fresh checkout passes again
    assert checkout_sources(tmp_path / "fresh").ok
    assert run_unit_tests(tmp_path / "fresh" / "sample_app").ok


def test_a_syntax_error_fails_compile_lint_and_tests_without_crashing(app):
    source = (app / "invoice.py").read_text()
    (app / "invoice.py").write_text(source.replace("def parse_line(", "def parse_line(:"))
    compiled = byte_compile(app)
    assert not compiled.ok and compiled.metrics == {"files": 3, "errors": 1}
    assert "invoice.py: SyntaxError" in compiled.detail
    assert not lint_sources(app).ok
    tested = run_unit_tests(app)
    assert not tested.ok and tested.metrics["tests_run"] == 0 and tested.metrics["errors"] == 1
    assert "SyntaxError" in tested.detail


def test_no_tests_is_a_failure(app):
    (app / "checks_invoice.py").unlink()
    step = run_unit_tests(app)
    assert not step.ok and step.metrics["tests_run"] == 0
    assert "no checks_*.py file" in step.detail


def test_the_archive_is_real_and_reproducible(tmp_path):
    first = run_software_ci(tmp_path / "a").step("build")
    second = run_software_ci(tmp_path / "b").step("build")
    path = tmp_path / "a" / "dist" / "sample_app-1.0.0.tar.gz"
    assert first.metrics["path"] == str(path)
    assert first.metrics["size_bytes"] == path.stat().st_size
    assert first.metrics["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert first.metrics["sha256"] == second.metrics["sha256"]  # same sources, same bytes
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        assert names == [f"sample_app-1.0.0/sample_app/{name}" for name in SOURCES]
        member = tar.extractfile("sample_app-1.0.0/sample_app/invoice.py")
        assert member.read() == (APP_SOURCE / "invoice.py").read_bytes()


def test_build_refuses_a_folder_that_is_not_a_package(tmp_path):
    with pytest.raises(InputError, match="not a Python package"):
        build_archive(tmp_path, tmp_path / "dist")
    with pytest.raises(InputError, match="not a Python package"):
        run_unit_tests(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        byte_compile(tmp_path / "missing")


def test_only_the_workdir_is_written(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    package_before = _tree(APP_SOURCE)
    path_before = list(sys.path)
    modules_before = set(sys.modules)
    work = tmp_path / "work"
    assert run_software_ci(work, data_rows=20).ok
    assert _tree(cwd) == []
    assert _tree(APP_SOURCE) == package_before
    assert sys.path == path_before
    assert not [m for m in set(sys.modules) - modules_before if "software_ci_" in m]
    assert "sample_app" not in sys.modules
    assert sorted(p.name for p in work.iterdir()) == [MARKER, "data", "dist", "src"]
    assert sorted(p.name for p in (work / "src").iterdir()) == ["sample_app"]  # no staging left
    assert sorted(tmp_path.iterdir()) == [cwd, work]


def test_a_foreign_folder_is_refused_untouched(tmp_path):
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"workdir .*project: not empty and not a software CI"):
        run_software_ci(foreign)
    assert _tree(foreign) == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, expected a folder"):
        run_software_ci(tmp_path / "file")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data_rows": -1}, "data_rows must be an int >= 0, got -1"),
        ({"data_rows": "10"}, "data_rows must be an int >= 0, got '10'"),
        ({"data_rows": 1.5}, "data_rows must be an int >= 0, got 1.5"),
        ({"seed": True}, "seed must be an int >= 0, got True"),
    ],
)
def test_bad_run_parameters(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        run_software_ci(tmp_path / "w", **kwargs)
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((),), {}, "data_rows: empty; give at least one value"),
        ((100,), {}, "data_rows: expected a list of row counts"),
        (((10, -5),), {}, "data_rows must be an int >= 0, got -5"),
        (((10,),), {"repeats": 0}, "repeats: must be at least 1, got 0"),
    ],
)
def test_bad_sweep_parameters(tmp_path, args, kwargs, message):
    with pytest.raises(InputError, match=message):
        software_ci_sweep(*args, workdir=tmp_path / "w", progress=False, **kwargs)
    assert not (tmp_path / "w").exists()


# --------------------------------------------------------------- what the cost does grow with


def test_scale_app_writes_real_deterministic_code_and_tests(tmp_path):
    pkg = scale_app(tmp_path / "a", 3, tests_per_module=4, seed=7)
    names = sorted(p.name for p in pkg.glob("*.py"))
    generated = [f"gen_000{i}.py" for i in (1, 2, 3)]
    assert names == sorted(SOURCES + generated + [f"checks_{n}" for n in generated])
    assert find_lint_problems(pkg) == ()  # generated code is as clean as the app
    again = scale_app(tmp_path / "b", 3, tests_per_module=4, seed=7)
    other = scale_app(tmp_path / "c", 3, tests_per_module=4, seed=8)
    text = {p.name: p.read_bytes() for p in pkg.glob("*.py")}
    assert text == {p.name: p.read_bytes() for p in again.glob("*.py")}  # same seed, same bytes
    assert text != {p.name: p.read_bytes() for p in other.glob("*.py")}
    step = run_unit_tests(pkg)
    assert step.ok and step.metrics["tests_run"] == N_SAMPLE_TESTS + 3 * 4
    # the generated tests check something: a wrong function fails its test
    module = pkg / "gen_0002.py"
    module.write_text(module.read_text().replace(") % ", ") // ", 1))
    step = run_unit_tests(pkg)
    assert not step.ok and step.metrics["failures"] == 1 and "test_f0" in step.detail
    # and the folder is replaced, not merged, on a smaller re-run
    assert sorted(p.name for p in scale_app(tmp_path / "a", 0).glob("*.py")) == SOURCES


def test_operations_grow_with_the_code_and_its_tests(tmp_path):
    per_module = 5
    for modules in (0, 4, 12):
        result = run_software_ci(tmp_path / "w", code_modules=modules, tests_per_module=per_module)
        files, tests = 3 + 2 * modules, N_SAMPLE_TESTS + per_module * modules
        assert result.ok and (result.code_modules, result.source_files) == (modules, files)
        assert result.tests_run == tests
        # checkout, compile, lint and build handle every file; unit_tests runs every test
        assert [s.operations for s in result.steps] == [files, files, files, tests, files]
        assert result.operations == 4 * files + tests
    assert result.tests_per_module == per_module
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == sorted(
        [MARKER, "data", "dist", "origin", "src"]
    )
    with tarfile.open(tmp_path / "w" / "dist" / "sample_app-1.0.0.tar.gz", "r:gz") as tar:
        assert len(tar.getnames()) == 3 + 2 * 12


def test_code_sweep_counts_files_lines_and_tests_and_keeps_the_data_fixed(tmp_path):
    sweep = software_ci_code_sweep(
        (0, 2, 6),
        tests_per_module=3,
        data_rows=40,
        workdir=tmp_path / "w",
        repeats=2,
        progress=False,
        warmup=False,
    )
    assert set(sweep["factor"]) == {"code_modules"} and sweep["ok"].all()
    assert len(sweep) == 3 * 2 * len(STEPS)
    sizes = sweep.groupby("value")[["files", "tests", "lines"]].max()
    assert sizes["files"].tolist() == [3, 7, 15]
    assert sizes["tests"].tolist() == [13, 19, 31]
    lines = sizes["lines"].tolist()
    assert lines[0] == SAMPLE_LINES and lines[0] < lines[1] < lines[2]
    assert (lines[2] - lines[0]) == 3 * (lines[1] - lines[0])  # every module adds the same lines
    work = sweep.groupby(["value", "repeat"])["operations"].sum().unstack()
    assert work[0].tolist() == work[1].tolist() == [4 * 3 + 13, 4 * 7 + 19, 4 * 15 + 31]
    assert len(pd.read_csv(tmp_path / "w" / "data" / "rows.csv")) == 40


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code_modules": -2}, "code_modules must be an int >= 0, got -2"),
        ({"code_modules": 2, "tests_per_module": 0}, "tests_per_module: must be at least 1"),
        ({"tests_per_module": 1.5}, "tests_per_module must be an int >= 0, got 1.5"),
    ],
)
def test_bad_code_size_parameters(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        run_software_ci(tmp_path / "w", **kwargs)
    assert not (tmp_path / "w").exists()
    with pytest.raises(InputError, match="code_modules: expected a list of module counts"):
        software_ci_code_sweep(5, workdir=tmp_path / "w", progress=False)
