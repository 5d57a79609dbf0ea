"""The course website (``make site``) in Chromium: pages load cleanly, plots render, links resolve.

Builds the site from the executed lessons in ``build/course/`` when every lesson is there, else
from a CI-sized run of the course into ``build/site-course/`` (cached by the course runner, so a
second run executes nothing), serves it on 127.0.0.1 and opens every page in Chromium with every
request to another host refused: the site must work offline. Screenshots of the home page and a
lesson go to ``build/browser/``. Chromium is found by the ``chromium`` fixture of tests/conftest.py, as for
tests/lessons/test_browser.py.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mlcicd.course.run import lesson_notebooks, run_course

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "browser"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Without a full `make course`, the site is built from a CI-sized run of two quick lessons: every
# lesson already runs in its own test, and running them all again here would double their cost.
SITE_SAMPLE = ("02_data_validation", "04_deployment_and_rollback")


def executed_course() -> Path:
    """``build/course/`` when it holds every lesson, else a CI-sized run (cached) of a sample."""
    lessons = lesson_notebooks()
    course = ROOT / "build" / "course"
    if all((course / nb.name).is_file() for nb in lessons):
        return course
    course = ROOT / "build" / "site-course"
    runs = run_course([nb for nb in lessons if nb.stem in SITE_SAMPLE], course, ci=True)
    assert all(r.status != "failed" for r in runs), [r.error for r in runs if r.error]
    return course


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    build_site = _load("build_site", ROOT / "docs" / "site" / "build_site.py")
    out = tmp_path_factory.mktemp("site") / "site"
    return build_site.build_site(executed_course(), out).parent


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def site_pages(site: Path) -> list[str]:
    return sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if "_static" not in p.relative_to(site).parts
    )


def test_site_in_chromium(chromium, site, served):
    from playwright.sync_api import sync_playwright

    pages = site_pages(site)
    lessons = [p for p in pages if p.startswith("notebooks/")]
    assert "index.html" in pages and "assignments.html" in pages
    assert len(lessons) == len(list(executed_course().glob("*.ipynb")))
    problems: list[str] = []
    internal: set[str] = set()
    images_checked = 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(**chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        where = {"page": ""}
        page.on(
            "console",
            lambda m: m.type == "error" and problems.append(f"{where['page']}: console {m.text}"),
        )
        page.on("pageerror", lambda e: problems.append(f"{where['page']}: page error {e}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and problems.append(f"{where['page']}: {r.status} {r.url}"),
        )

        def offline(route):  # anything not from this server is a download the site must not need
            problems.append(f"{where['page']}: requested {route.request.url}")
            route.abort()

        page.route(lambda url: not url.startswith(served), offline)
        for name in pages:
            where["page"] = name
            page.goto(served + name, wait_until="load")
            images = page.eval_on_selector_all(
                "article img", "els => els.map(e => [e.currentSrc, e.complete, e.naturalWidth])"
            )
            for src, complete, width in images:
                images_checked += 1
                if not complete or width == 0:
                    problems.append(f"{name}: image does not render: {src}")
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            internal |= {h.split("#")[0] for h in hrefs if h.startswith(served)}
            if name == "index.html":
                page.screenshot(path=str(SHOTS / "site-home.png"))
            if name == lessons[0]:
                page.locator("article img").first.scroll_into_view_if_needed()
                page.screenshot(path=str(SHOTS / "site-lesson.png"))
        for url in sorted(internal):
            response = page.request.get(url)
            if response.status != 200:
                problems.append(f"link {urlsplit(url).path} -> {response.status}")
        browser.close()
    assert problems == []
    assert images_checked >= len(lessons)  # every lesson has at least a plot
    assert any("_downloads/" in u and u.endswith(".ipynb") for u in internal)
    assert (SHOTS / "site-home.png").stat().st_size > 0
    assert (SHOTS / "site-lesson.png").stat().st_size > 0
