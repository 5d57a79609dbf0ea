"""The tree passes its pre-commit hooks, and notebooks are committed without outputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(
    ROOT.glob("assignments/source/**/*.ipynb")
)
BIN = Path(sys.executable).parent


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_there_are_notebooks_to_check():
    assert any(p.is_relative_to(ROOT / "assignments") for p in COMMITTED_NOTEBOOKS)


@pytest.mark.parametrize("notebook", COMMITTED_NOTEBOOKS, ids=_rel)
def test_notebook_is_committed_without_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    with_outputs = [i for i, c in enumerate(code) if c.get("outputs")]
    counted = [i for i, c in enumerate(code) if c.get("execution_count") is not None]
    assert with_outputs == [], f"{_rel(notebook)}: code cells {with_outputs} have outputs"
    assert counted == [], f"{_rel(notebook)}: code cells {counted} have execution counts"
    assert "widgets" not in nb.metadata, f"{_rel(notebook)}: saved widget state in the metadata"


def test_hooks_are_local_and_cover_notebooks_and_ruff():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert repo["repo"] == "local"  # no clone from the network
    hooks = {h["id"]: h for h in repo["hooks"]}
    assert set(hooks) == {"nbstripout", "ruff-check", "ruff-format"}
    assert all(h["language"] == "system" for h in hooks.values())
    assert hooks["nbstripout"]["entry"].split() == ["nbstripout", "--keep-id"]
    for name in ("ruff-check", "ruff-format"):
        assert "jupyter" in hooks[name]["types_or"]


def _tree_files() -> list[str]:
    """What a commit would hold: tracked and untracked files, minus ignored ones."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="needs git and a git checkout (the hooks run on what a commit would hold)",
)
def test_pre_commit_passes_on_the_tree(tmp_path):
    """``pre-commit run --all-files`` on a copy of the tree leaves every file as it is."""
    tree = tmp_path / "tree"
    for name in _tree_files():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=tree, env=env, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tree, env=env, check=True)
    done = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--show-diff-on-failure", "--color=never"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"pre-commit failed on the tree:\n{done.stdout[:4000]}"
    for hook in ("nbstripout", "ruff check", "ruff format"):
        assert any(line.startswith(hook) and "Passed" in line for line in done.stdout.splitlines())
