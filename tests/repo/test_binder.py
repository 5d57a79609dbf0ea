"""Binder: the README's badge opens JupyterLab at the first lesson, and repo2docker can build it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from mlcicd.course.run import lesson_notebooks

ROOT = Path(__file__).resolve().parents[2]
BADGE = re.compile(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\(([^)]+)\)")


def test_readme_binder_badge_opens_jupyterlab_at_the_first_lesson():
    links = BADGE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(links) == 1, "the README needs exactly one Binder badge"
    url = urlsplit(links[0])
    assert (url.scheme, url.netloc) == ("https", "mybinder.org")
    assert url.path == "/v2/gh/mlcicd/mlcicd/HEAD"
    (urlpath,) = parse_qs(url.query)["urlpath"]
    first = lesson_notebooks()[0]
    assert urlpath == f"lab/tree/notebooks/{first.name}"
    assert first.name.startswith("01_")


def test_environment_yml_builds_on_repo2docker():
    """repo2docker stages the repository before installing an environment with a local pip path.

    (It treats ``-e .`` as a local requirement and copies the whole repository first; without it
    the environment would be built before the package's files exist.) No ``binder/`` folder: it
    would make repo2docker ignore the root's ``environment.yml``.
    """
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip
    assert not (ROOT / "binder").exists()
    assert "jupyterlab" in {re.split(r"[<>=! ]", str(d))[0] for d in env["dependencies"]}
