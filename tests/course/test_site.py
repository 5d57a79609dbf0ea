"""`make site`: the course website built from executed notebooks (small fake ones here, fast)."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "build_site", ROOT / "docs" / "site" / "build_site.py"
)
build_site_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_site_module)
STATE = build_site_module.WIDGET_STATE
VIEW = build_site_module.WIDGET_VIEW


def _png() -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [1, 3, 2])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _executed_lesson(path: Path, title: str, png: str) -> Path:
    """What papermill leaves: outputs, a plot, a widget whose state nbclient saved."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('output_dir = "out"')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('output_dir = "/somewhere/build/course/x"')
    injected.metadata["tags"] = ["injected-parameters"]
    plot = nbformat.v4.new_code_cell("plt.plot(...)")
    plot.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png})]
    widget = nbformat.v4.new_code_cell("explorer")
    widget.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/plain": "VBox(...)", VIEW: {"model_id": "box", "version_major": 2}},
        )
    ]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nSome prose."), params, injected]
    nb.cells += [plot, widget]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["widgets"] = {
        STATE: {
            "version_major": 2,
            "version_minor": 0,
            "state": {
                "box": {
                    "model_name": "VBoxModel",
                    "state": {"children": ["IPY_MODEL_h", "IPY_MODEL_i"]},
                },
                "h": {"model_name": "HTMLModel", "state": {"value": "<b>accuracy 0.91</b>"}},
                "i": {
                    "model_name": "ImageModel",
                    "state": {"format": "png"},
                    "buffers": [{"path": ["value"], "data": png, "encoding": "base64"}],
                },
            },
        }
    }
    nbformat.write(nb, str(path))
    return path


def _assignment(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return 'THE-SECRET-ANSWER'\n    ### END SOLUTION"
    )
    answer.metadata["nbgrader"] = {
        "grade": False,
        "solution": True,
        "locked": False,
        "task": False,
        "grade_id": "f",
        "schema_version": 3,
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# Homework"), answer]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    folder.mkdir(parents=True)
    path = folder / "homework.ipynb"
    nbformat.write(nb, str(path))
    return path


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append((tag, value))


def links_of(page: Path) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.links


def pages(site: Path) -> list[Path]:
    """The site's pages (not the theme's templates it copies into ``_static/``)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def broken_internal_links(site: Path) -> list[str]:
    """Every relative href/src of every page that does not name an existing file."""
    broken = []
    for page in pages(site):
        for _, link in links_of(page):
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("#", "//")) or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
    return broken


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    png = _png()
    course = tmp / "course"
    course.mkdir()
    _executed_lesson(course / "01_first.ipynb", "First lesson", png)
    _executed_lesson(course / "02_second.ipynb", "Second lesson", png)
    readme = tmp / "README.md"
    readme.write_text(
        "# The course\n\n[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/x)\n\n"
        "Start with [lesson 1](notebooks/01_first.ipynb); the code is in [the cli](mlcicd/cli.py).\n"
    )
    assignments = tmp / "source"
    _assignment(assignments / "homework")
    index = build_site_module.build_site(
        course, tmp / "out", readme=readme, assignments=assignments
    )
    return index.parent


def test_home_page_is_the_readme_with_navigation(site):
    index = (site / "index.html").read_text()
    assert "The course" in index
    hrefs = [href for _, href in links_of(site / "index.html")]
    assert "notebooks/01_first.html" in hrefs and "notebooks/02_second.html" in hrefs
    assert "assignments.html" in hrefs
    # a repository file is linked on GitHub, the badge (an image from the internet) is gone
    assert "https://github.com/mlcicd/mlcicd/blob/HEAD/mlcicd/cli.py" in hrefs
    assert "badge_logo.svg" not in index


def test_lesson_pages_have_outputs_links_and_frozen_widgets(site):
    page = site / "notebooks" / "01_first.html"
    text = page.read_text()
    assert "Some prose." in text
    assert "/somewhere/build/course" not in text  # papermill's injected cell is hidden
    images = [src for tag, src in links_of(page) if tag == "img" and "_images/" in src]
    assert len(images) == 2  # the plot and the widget's last picture
    assert all((page.parent / src).is_file() for src in images)
    assert text.count('class="widget-note"') == 1
    assert "Interactive in JupyterLab" in text and "accuracy 0.91" in text
    assert VIEW not in text
    hrefs = [href for _, href in links_of(page)]
    binder = [h for h in hrefs if h.startswith("https://mybinder.org/v2/gh/mlcicd/mlcicd/HEAD")]
    assert binder and "01_first.ipynb" in unquote(binder[0])
    downloads = [h for h in hrefs if "_downloads/" in h and h.endswith("01_first.ipynb")]
    assert downloads and json.loads((page.parent / downloads[0]).read_text())["cells"]


def test_assignment_downloads_are_student_versions(site):
    page = site / "assignments.html"
    downloads = [h for _, h in links_of(page) if h.endswith("homework.ipynb")]
    assert downloads
    student = (page.parent / downloads[0]).read_text()
    assert "THE-SECRET-ANSWER" not in student
    assert "YOUR CODE HERE" in student


def test_every_internal_link_resolves_and_nothing_loads_from_the_internet(site):
    assert broken_internal_links(site) == []
    for page in pages(site):
        loaded = [src for tag, src in links_of(page) if tag in ("script", "img", "link")]
        external = [
            s for s in loaded if urlsplit(s).scheme in ("http", "https") or s.startswith("//")
        ]
        assert external == [], f"{page.name} loads {external}"


def test_no_executed_lessons_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "course").mkdir()
    code = build_site_module.main(
        ["--course", str(tmp_path / "course"), "--out", str(tmp_path / "o")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no executed lessons" in err and "make course" in err
    assert not (tmp_path / "o").exists()
