"""The two ways to install the course (pip and conda/Binder) must agree on what they install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# conda-forge names that differ from the PyPI requirement they stand for
CONDA_TO_PIP = {"dask": "dask[distributed]", "distributed": "dask[distributed]"}
NOT_PACKAGES = {"python", "pip"}


def _name(requirement: str) -> str:
    """The package name of a requirement string, lower-case, extras kept, versions dropped."""
    m = re.match(r"\s*([A-Za-z0-9_.\-]+(\[[A-Za-z0-9_,\-]+\])?)", requirement)
    assert m, f"cannot parse requirement {requirement!r}"
    return m.group(1).lower().replace("_", "-")


def pyproject_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return {_name(r) for r in reqs}


def environment_packages() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            continue
        name = _name(re.split(r"[<>=!]", dep, maxsplit=1)[0])
        if name not in NOT_PACKAGES:
            names.add(CONDA_TO_PIP.get(name, name))
    return names


def test_environment_yml_and_pyproject_agree_on_packages():
    in_pip, in_conda = pyproject_packages(), environment_packages()
    assert in_pip - in_conda == set(), "in pyproject.toml but not in environment.yml"
    assert in_conda - in_pip == set(), "in environment.yml but not in pyproject.toml"


def test_environment_yml_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_sections and "-e ." in pip_sections[0]


def test_python_floor_matches():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    # conda and Binder get the floor exactly: repo2docker only honours a ``python=3.X`` pin
    assert "python=3.11" in env["dependencies"]


def test_jupyterlab_pinned_to_the_minor_nbgrader_supports():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {_name(r): r for r in project["dependencies"]}
    assert deps["jupyterlab"].replace(" ", "") == "jupyterlab>=4.6,<4.7"
    assert deps["nbgrader"].replace(" ", "") == "nbgrader==0.9.6"


def test_site_extra_is_part_of_dev():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert extras["site"], "make site installs the site extra"
    assert set(extras["site"]) <= set(extras["dev"]), "make test builds the site too"


def test_make_course_installs_only_the_runtime_and_test_installs_dev():
    makefile = (ROOT / "Makefile").read_text()
    course = re.search(r"^\$\(COURSE_STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "-e ." in course and "[dev]" not in course
    assert re.search(r"^course: \$\(COURSE_STAMP\)$", makefile, re.M)
    assert re.search(r"^test: \$\(STAMP\)$", makefile, re.M)
    assert re.search(r"^bench: \$\(STAMP\)$", makefile, re.M)
    dev = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    # a course-only venv is upgraded to dev by make test: the dev stamp is its own file
    assert '-e ".[dev]"' in dev and "$(COURSE_STAMP)" in dev
    # uv installs (from PATH, else put into .venv by pip); pip when that fails or INSTALLER=pip
    # uv, unlike pip, leaves the bytecode to the first import, which PYTHONDONTWRITEBYTECODE stops
    assert '"$(UV)" pip install --quiet --compile-bytecode --python $(PY)' in makefile
    assert "$(PY) -m pip install --quiet uv" in makefile
    assert "$(PY) -m pip install --quiet $(1)" in makefile
