"""What every lesson shares: the helpers of ``mlcicd/lessons/_common.py`` (work folders, native
thread pools) and the self-checks (every question of a lesson's bank asked, none showing its answer)."""

from __future__ import annotations

from pathlib import Path

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from mlcicd.errors import InputError
from mlcicd.lessons import _common as common
from mlcicd.pipeline.parallel import one_thread_per_process


def test_fresh_workdir_empties_only_folders_it_made(tmp_path):
    root = common.fresh_workdir(tmp_path / "w")
    (root / "old.txt").write_text("x")
    assert sorted(p.name for p in common.fresh_workdir(root).iterdir()) == [common.MARKER]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(InputError, match="not made by a lesson"):
        common.fresh_workdir(foreign)
    assert (foreign / "keep.txt").read_text() == "precious"
    with pytest.raises(InputError, match="is a file"):
        common.fresh_workdir(foreign / "keep.txt")


def test_one_thread_per_process_limits_every_native_pool():
    with threadpool_limits(limits=None):  # restores the original limits afterwards
        assert one_thread_per_process() >= 1
        assert {lib["num_threads"] for lib in threadpool_info()} == {1}


# --- self-checks: the question stays in the cell, the answer in the lesson's module ------------

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _code_cells(path):
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_self_checks_show_the_question_only_and_every_wrong_option_has_feedback(path):
    import importlib
    import re

    cells = _code_cells(path)
    assert not [c for c in cells if "SelfCheck(" in c], "a visible cell builds a SelfCheck"
    aliases = {}
    for cell in cells:
        for pattern in (
            r"from mlcicd\.lessons import (\w+) as (\w+)",
            r"import mlcicd\.lessons\.(\w+) as (\w+)",
            r"from mlcicd\.lessons\.(\w+) import [^)]*\bcheck_(y)ourself",
        ):
            for module, alias in re.findall(pattern, cell):
                alias = "" if alias == "y" else alias  # check_yourself imported by name
                aliases[alias] = importlib.import_module(f"mlcicd.lessons.{module}")
    call = r"(?:(\w+)\.)?check_yourself\([\"'](\w+)[\"']\)"
    asked = [m for c in cells for m in re.findall(call, c)]
    assert asked, "the lesson asks at least one self-check"
    # a cell that asks is only the call: nothing around it can show the answer
    for cell in cells:
        if re.search(call, cell):
            assert re.fullmatch(call, cell.strip()), f"a self-check cell shows more: {cell!r}"
    # every question of the lesson's bank is asked, once
    by_module = {}
    for alias, key in asked:
        by_module.setdefault(aliases[alias].__name__, []).append(key)
    for name, keys in by_module.items():
        bank = importlib.import_module(name).QUESTIONS
        assert sorted(keys) == sorted(bank), f"{name}: asked {keys}, bank {list(bank)}"
    for alias, key in asked:
        bank = aliases[alias].QUESTIONS
        assert key in bank, f"{alias}.QUESTIONS has no {key!r}"
        entry = bank[key]
        wrong = set(range(len(entry["options"]))) - {entry["answer"]}
        assert set(entry.get("feedback", {})) == wrong, f"{key}: feedback for every wrong option"
        assert entry.get("explanation"), f"{key}: an explanation of the right answer"
