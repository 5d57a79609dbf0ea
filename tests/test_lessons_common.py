"""The helpers the lesson modules share: work folders and native thread pools."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from mlcicd.errors import InputError
from mlcicd.lessons import _common as common
from mlcicd.parallel import one_thread_per_process


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
