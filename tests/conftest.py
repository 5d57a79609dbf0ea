"""Shared fixtures: isolated Jupyter folders, and lesson notebooks executed once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_ignore_collect(collection_path, config):
    """``--doctest-modules`` (for the examples in mlcicd/) would import each conftest.py as a
    module named ``conftest``, and two of them clash; they hold fixtures, not examples."""
    return True if collection_path.name == "conftest.py" else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (``make test``) the tests of one ``xdist_group`` share a worker,
    so a lesson's notebook is executed once, not once per worker. pytest-xdist marks a grouped
    test by a suffix on its node id; a pytest that drops the suffix (9.2 with xdist 3.8,
    pytest-dev/pytest-xdist#1386) would spread the groups silently and double the run's time."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            # raising here would crash the worker without a word; each such test fails instead
            item.add_marker(pytest.mark.lost_xdist_group)


def pytest_runtest_setup(item):
    if item.get_closest_marker("lost_xdist_group"):
        pytest.fail(
            "--dist loadgroup lost this test's xdist_group: this pytest and pytest-xdist do not "
            "work together (pytest-dev/pytest-xdist#1386); install the versions pyproject.toml "
            "allows",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def jupyter_env(tmp_path_factory):
    """Point every Jupyter and IPython folder at a temporary one, so nothing lands in $HOME."""
    base = tmp_path_factory.mktemp("jupyter-home")
    saved = {}
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "matplotlib"),
    ):
        (base / sub).mkdir()
        saved[var] = os.environ.get(var)
        os.environ[var] = str(base / sub)
    yield base
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


_runs: dict[str, object] = {}


@pytest.fixture(scope="session")
def run_lesson(jupyter_env, tmp_path_factory):
    """``run_lesson("06_performance_analysis")`` executes that lesson once with its CI parameters.

    Returns a :class:`mlcicd.course.NotebookRun`; its ``results`` are what the notebook recorded.
    The executed copy is also kept under ``build/test-course/<worker>/`` for inspection.
    """
    from mlcicd.course.run import NOTEBOOKS, run_notebook

    # each pytest-xdist worker executes into its own folder, so two workers never share one
    build = ROOT / "build" / "test-course" / os.environ.get("PYTEST_XDIST_WORKER", "main")

    def run(stem: str):
        if stem not in _runs:
            notebook = NOTEBOOKS / f"{stem}.ipynb"
            assert notebook.is_file(), f"no lesson {notebook}"
            # A lesson in CI mode takes well under a minute, so a stuck cell fails instead of
            # stalling. nbclient can (rarely) miss a reply and wait forever (jupyter/nbclient#312):
            # such a timeout gets one fresh kernel; a real error is never retried.
            result = run_notebook(notebook, build, ci=True, timeout=180)
            if result.status != "ok" and "timed out" in result.error.lower():
                result = run_notebook(notebook, build, ci=True, timeout=180)
            _runs[stem] = result
        return _runs[stem]

    return run


@pytest.fixture(scope="module")
def run(request, run_lesson):
    """In a lesson's test module (one that sets ``STEM``): that lesson, executed once; it ran ok."""
    result = run_lesson(request.module.STEM)
    assert result.status == "ok", result.error
    return result


@pytest.fixture(scope="session")
def assert_rendered():
    """Check an executed lesson: it shows a plot and a widget, and no cell raised.

    Returns the executed notebook for further checks.
    """
    import nbformat

    def check(run):
        nb = nbformat.read(run.output, as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        types = {t for o in outputs for t in o.get("data", {})}
        assert "image/png" in types
        assert "application/vnd.jupyter.widget-view+json" in types
        assert not [o for o in outputs if o.get("output_type") == "error"]
        return nb

    return check


# ------------------------------------------------- data and figures shared by the lesson tests


@pytest.fixture(scope="module")
def df():
    """The breast cancer data (tests of lessons 2-4)."""
    from mlcicd.data import load_dataset

    return load_dataset()


@pytest.fixture(scope="module")
def data(df):
    """``(train, holdout)``: the breast cancer data split with seed 0 (tests of lessons 2-4)."""
    from mlcicd.data import split

    return split(df, seed=0)


@pytest.fixture(scope="module")
def small():
    """200 synthetic rows of 4 features (tests of lessons 1 and 6)."""
    from mlcicd.data import synthetic_dataset

    return synthetic_dataset(200, 4, seed=0)


@pytest.fixture
def close_figures():
    """Close every matplotlib figure after the test (``pytest.mark.usefixtures``)."""
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


# --- Chromium, for the browser tests (tests/lessons/test_browser.py, tests/course/test_browser_site.py)

DEBIAN_CHROMIUM = Path("/usr/lib/chromium/chromium")  # /usr/bin/chromium is a wrapper script
# No background traffic: on a closed network Chromium's own connections only add noise and delay.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """``MLCICD_CHROMIUM``, else Debian's Chromium, else a browser Playwright downloaded."""
    wanted = os.environ.get("MLCICD_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    if os.access(DEBIAN_CHROMIUM, os.X_OK):
        return str(DEBIAN_CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            bundled = p.chromium.executable_path
    except Exception:
        return None
    return bundled if os.access(bundled, os.X_OK) else None


@pytest.fixture(scope="session")
def chromium() -> dict:
    """How to launch Chromium: ``playwright.chromium.launch(**chromium)``.

    Skips without a browser, unless ``MLCICD_REQUIRE_BROWSER=1`` (what ``.ci/run`` sets): then fails.
    """
    path = find_chromium()
    if path is None:
        reason = (
            f"no Chromium: install it (apt-get install chromium, giving {DEBIAN_CHROMIUM}) or "
            "set MLCICD_CHROMIUM to a Chromium/Chrome binary"
        )
        if os.environ.get("MLCICD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MLCICD_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return {"executable_path": path, "args": CHROMIUM_ARGS}
