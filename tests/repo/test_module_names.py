"""The library's layers are folders; the names from before still import, and nothing here uses them."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlcicd._moved import MOVED, new_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_name_imports_the_new_module_with_a_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(
        DeprecationWarning, match=f"{re.escape(old)} moved to {re.escape(MOVED[old])}"
    ):
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)  # the next test imports it afresh


def test_a_submodule_of_a_moved_package_follows_it():
    assert new_name("mlcicd.sample_app.invoice") == "mlcicd.measure.sample_app.invoice"
    assert new_name("mlcicd.samples") is None and new_name("mlcicd.data") is None


def test_every_new_name_is_a_module():
    for new in MOVED.values():
        importlib.import_module(new)


def test_no_file_of_the_repository_uses_an_old_name():
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    pattern = re.compile(
        r"\bmlcicd[./](" + "|".join(o.removeprefix("mlcicd.") for o in MOVED) + r")\b(?![\w-])"
    )
    # the table of moves, this test, and the architecture page's paragraph on the old names
    allowed = {"mlcicd/_moved.py", "tests/repo/test_module_names.py", "docs/ARCHITECTURE.md"}
    used = []
    for name in files:
        path = ROOT / name
        if name in allowed or path.suffix not in {".py", ".ipynb", ".md", ".toml", ".yml", ".mk"}:
            continue
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                used.append(f"{name}:{number}: {line.strip()[:80]}")
    assert not used, "old module names in use:\n" + "\n".join(used)
