"""The run cache on disk: exact round trips, atomic writes under concurrent and killed writers,
checked reads (a corrupt entry is a reported miss, then rewritten), LRU gc, info and clear."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcicd.data import TARGET, load_dataset, split
from mlcicd.errors import InputError
from mlcicd.monitoring import detect_drift
from mlcicd.pipeline import run_versions
from mlcicd.pipeline.cache import StageCache
from mlcicd.pipeline.disk_cache import (
    DiskCache,
    decode_entry,
    encode_entry,
    parse_size,
)
from mlcicd.registry import Registry
from mlcicd.training import ModelSpec, StoredModel, model_fingerprint, train_model
from mlcicd.validation import infer_schema, validate_data

ROOT = Path(__file__).resolve().parents[2]
KEY = "ab" + "0" * 62


@pytest.fixture(scope="module")
def frames():
    return split(load_dataset(), TARGET, seed=0)


@pytest.fixture(scope="module")
def trained(frames):
    return train_model(frames[0], TARGET, ModelSpec("logistic_regression", {"C": 1.0}), seed=0)


def entry_files(root: Path) -> list[Path]:
    return sorted((root / "entries").glob("*/*.entry"))


# ------------------------------------------------------------------------------- round trips


def test_it_is_a_stage_cache_and_values_survive_a_new_instance(tmp_path):
    cache = DiskCache(tmp_path)
    assert isinstance(cache, StageCache)
    assert cache.get(KEY) == (False, None) and (cache.hits, cache.misses) == (0, 1)
    cache.put(KEY, {"accuracy": 0.95, 3: (1, 2.5, None), "ok": [True, "x"]})
    assert KEY in cache and len(cache) == 1 and cache.written == 1
    again = DiskCache(tmp_path)  # what the next process sees
    assert again.get(KEY) == (True, {"accuracy": 0.95, 3: (1, 2.5, None), "ok": [True, "x"]})
    assert again.stats() == {"hits": 1, "misses": 0, "written": 0, "unstored": 0, "corrupt": 0}


def test_frames_round_trip_exactly_with_index_dtypes_and_categories():
    df = pd.DataFrame(
        {
            "x": np.array([1.5, np.nan, -0.0]),
            "n": np.array([1, 2, 3], dtype="int32"),
            "s": ["a", None, "c"],
            "c": pd.Categorical(["u", "v", "u"], categories=["v", "u"], ordered=True),
            "b": [True, False, True],
            7: np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[ns]"),
        },
        index=pd.Index([10, 5, 7], name="row"),
    )
    back = decode_entry(encode_entry((df, df.iloc[:0], pd.DataFrame({"z": [1]}))))
    assert isinstance(back, tuple) and len(back) == 3
    pd.testing.assert_frame_equal(back[0], df)
    pd.testing.assert_frame_equal(back[1], df.iloc[:0])
    pd.testing.assert_frame_equal(back[2], pd.DataFrame({"z": [1]}))


def test_mlcicd_dataclasses_and_numpy_values_round_trip(frames):
    train, holdout = frames
    schema = infer_schema(train, target=TARGET)
    report = validate_data(holdout, schema)
    drift = detect_drift(train, holdout, target=TARGET)
    values = {"schema": schema, "report": report, "drift": drift, "f": np.float32(0.25)}
    values["a"] = np.arange(6, dtype="int16").reshape(2, 3)
    back = decode_entry(encode_entry(values))
    assert back["schema"] == schema and back["report"] == report
    assert back["drift"].to_dict() == drift.to_dict()
    assert type(back["f"]) is np.float32 and back["f"] == np.float32(0.25)
    assert back["a"].dtype == np.int16 and (back["a"] == values["a"]).all()


def test_a_trained_model_comes_back_as_a_lazy_stored_model(trained, frames, tmp_path):
    cache = DiskCache(tmp_path)
    cache.put(KEY, trained)
    hit, back = DiskCache(tmp_path).get(KEY)
    assert hit and isinstance(back, StoredModel)
    assert back._model is None  # nothing loaded yet: spec and metadata only
    assert back.spec == trained.spec and back.metadata == trained.metadata
    assert back.model_fingerprint == model_fingerprint(trained.model)
    X = frames[1].drop(columns=[TARGET])
    assert (back.model.predict(X) == trained.model.predict(X)).all()
    assert model_fingerprint(back.model) == model_fingerprint(trained.model)


def test_a_registry_takes_a_stored_model_without_serialising_it(trained, tmp_path, monkeypatch):
    import mlcicd.registry
    from mlcicd.evaluation import validate_model

    DiskCache(tmp_path / "c").put(KEY, trained)
    _, stored = DiskCache(tmp_path / "c").get(KEY)
    decision = validate_model(trained.model, load_dataset(), TARGET)
    registry = Registry(tmp_path / "reg")
    first = registry.deploy(trained, decision)
    assert first.already_deployed is False

    def refuse(_):
        raise AssertionError("serialised again")

    monkeypatch.setattr(mlcicd.registry, "serialize_model", refuse)
    again = registry.deploy(stored, decision)
    assert again.version == first.version and again.already_deployed is True
    assert stored._model is None  # recognised by its fingerprint, never loaded
    assert [v.version for v in registry.versions()] == [1]


def test_a_value_without_an_exact_encoding_stays_in_memory_only(tmp_path):
    cache = DiskCache(tmp_path)
    cache.put(KEY, lambda: 1)
    assert cache.unstored == 1 and entry_files(tmp_path) == []
    assert cache.get(KEY)[0] is True  # this process still has it
    assert DiskCache(tmp_path).get(KEY) == (False, None)


# ------------------------------------------------------------------------- checked, atomic


def test_a_corrupt_entry_is_a_reported_miss_and_is_rewritten(tmp_path):
    DiskCache(tmp_path).put(KEY, {"accuracy": 0.95})
    (path,) = entry_files(tmp_path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # one flipped bit in the stored zip
    path.write_bytes(bytes(data))
    cache = DiskCache(tmp_path)
    assert cache.get(KEY) == (False, None)
    assert cache.corrupt == [KEY] and cache.misses == 1 and not path.exists()
    cache.put(KEY, {"accuracy": 0.95})
    assert cache.written == 1 and DiskCache(tmp_path).get(KEY) == (True, {"accuracy": 0.95})


def test_a_torn_entry_and_a_foreign_class_are_misses_too(tmp_path):
    cache = DiskCache(tmp_path)
    cache.put(KEY, {"accuracy": 0.95})
    (path,) = entry_files(tmp_path)
    path.write_bytes(path.read_bytes()[:50])  # what a power loss could leave
    fresh = DiskCache(tmp_path)
    assert fresh.get(KEY) == (False, None) and fresh.corrupt == [KEY]
    # a well-formed entry naming a class outside mlcicd is refused, not imported
    data = encode_entry(ModelSpec("dummy"))
    forged = data.replace(b"mlcicd.training:ModelSpec", b"subprocess:Popen__________")
    from mlcicd.pipeline.disk_cache import MAGIC

    body = forged.partition(b"\n")[2]
    import hashlib

    forged = MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(forged)
    fresh = DiskCache(tmp_path)
    assert fresh.get(KEY) == (False, None) and fresh.corrupt == [KEY]


def test_writes_go_through_a_temporary_file_and_leave_none_behind(tmp_path, monkeypatch):
    import mlcicd.pipeline.disk_cache

    seen = []
    real = os.replace

    def watch(src, dst):
        seen.append((Path(src).parent.name, Path(dst).exists()))
        return real(src, dst)

    monkeypatch.setattr(mlcicd.pipeline.disk_cache.os, "replace", watch)
    DiskCache(tmp_path).put(KEY, {"a": 1})
    assert seen == [("tmp", False)]  # written under tmp/, then renamed into place
    assert list((tmp_path / "tmp").iterdir()) == []


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pandas as pd
    from mlcicd.pipeline.disk_cache import DiskCache

    root, worker = sys.argv[1], int(sys.argv[2])
    cache = DiskCache(root)
    for round in range(3):
        for i in range(12):
            key = f"{i:02d}" + "f" * 62
            frame = pd.DataFrame({"v": np.full(50_000, float(i))})
            hit, value = cache.get(key)
            if hit:
                assert value["v"].eq(float(i)).all() and len(value) == 50_000, key
            cache._values.clear()  # read from disk again in the next round
            cache.put(key, frame)
            cache._values.clear()
    assert not cache.corrupt, cache.corrupt
    print(cache.hits, cache.misses, cache.written)
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_concurrent_processes_sharing_a_cache_never_see_half_an_entry(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(w)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(3)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-800:] for _, err in outs]
    cache = DiskCache(tmp_path)
    assert len(cache) == 12
    for i in range(12):
        hit, value = cache.get(f"{i:02d}" + "f" * 62)
        assert hit and value["v"].eq(float(i)).all()
    assert cache.corrupt == [] and cache.info().temporary_files == 0


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import mlcicd.pipeline.disk_cache as dc

    root, key = sys.argv[1], sys.argv[2]
    real_write = dc.Path.write_bytes

    class Stuck:
        def __init__(self, fh):
            self.fh = fh
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return False
        def write(self, data):  # half the bytes reach the file, then the writer hangs
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            Path(root, "half-written").touch()
            signal.pause()

    real_open = open
    dc.open = lambda path, mode: Stuck(real_open(path, mode))
    dc.DiskCache(root).put(key, {"big": list(range(100_000))})
    """
)


def test_a_writer_killed_mid_write_leaves_no_entry_and_gc_removes_its_leftover(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path), KEY], env=_env())
    marker = tmp_path / "half-written"
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the child to reach the middle of its write
    assert marker.exists(), "the writer never started writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    (leftover,) = list((tmp_path / "tmp").iterdir())
    assert leftover.stat().st_size > 0
    cache = DiskCache(tmp_path)
    assert cache.get(KEY) == (False, None) and cache.corrupt == []  # absent, not half there
    assert cache.info().temporary_files == 1
    done = cache.gc(10**9)  # the writer's process is gone: its temporary file goes too
    assert done.temporary_files_removed == 1 and done.removed == 0
    cache.put(KEY, {"big": [1]})
    assert DiskCache(tmp_path).get(KEY) == (True, {"big": [1]})


# ------------------------------------------------------------------------------ gc, info, clear


def test_gc_drops_the_least_recently_used_entries_first(tmp_path):
    cache = DiskCache(tmp_path)
    keys = [f"{i:02d}" + "e" * 62 for i in range(5)]
    for key in keys:
        cache.put(key, {"payload": "x" * 1000})
    paths = {key: cache.path(key) for key in keys}
    for i, key in enumerate(keys):  # written long ago, in this order
        os.utime(paths[key], (1_000_000 + i, 1_000_000 + i))
    size = paths[keys[0]].stat().st_size
    assert DiskCache(tmp_path).get(keys[0])[0]  # used now: the most recent
    done = DiskCache(tmp_path).gc(2 * size)
    assert (done.removed, done.kept, done.kept_bytes) == (3, 2, 2 * size)
    assert done.freed_bytes == 3 * size
    fresh = DiskCache(tmp_path)
    assert [fresh.get(k)[0] for k in keys] == [True, False, False, False, True]
    assert DiskCache(tmp_path).gc(0).kept == 0 and len(DiskCache(tmp_path)) == 0


def test_info_and_clear(tmp_path):
    cache = DiskCache(tmp_path)
    info = cache.info()
    assert (info.entries, info.bytes, info.oldest_use) == (0, 0, None)
    cache.put(KEY, {"a": 1})
    cache.put("cd" + KEY[2:], [1, 2])
    info = DiskCache(tmp_path).info()
    sizes = sum(p.stat().st_size for p in entry_files(tmp_path))
    assert (info.entries, info.bytes) == (2, sizes) and info.oldest_use <= info.newest_use
    cache.clear()
    assert len(cache) == 0 and entry_files(tmp_path) == [] and cache.stats()["written"] == 0
    assert DiskCache(tmp_path).get(KEY) == (False, None)


def test_bad_folder_keys_and_sizes_are_refused_in_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        DiskCache(tmp_path / "file")
    with pytest.raises(InputError, match="cache key"):
        DiskCache(tmp_path).get("../../etc/passwd")
    with pytest.raises(InputError, match="max_bytes"):
        DiskCache(tmp_path).gc(-1)
    assert parse_size("500M") == 500 * 1024**2 and parse_size("2G") == 2 * 1024**3
    assert parse_size("100") == 100 and parse_size("1.5k") == 1536
    for bad in ("lots", "-1M", ""):
        with pytest.raises(InputError, match="--max-size"):
            parse_size(bad)


# ------------------------------------------------------------------------ the loop across runs


def test_an_unchanged_rerun_on_the_same_folder_trains_nothing_and_stores_nothing(tmp_path):
    data = load_dataset()
    first = run_versions(3, data=data, cache=DiskCache(tmp_path / "c"), registry=tmp_path / "r")
    assert first.counts["train"] == 3 and set(first.outcomes.values()) == {"deployed"}
    cache = DiskCache(tmp_path / "c")  # as a new process would open it
    again = run_versions(3, data=data, cache=cache, registry=tmp_path / "r")
    assert again.counts["train"] == again.counts["evaluate"] == again.counts["monitor"] == 0
    assert again.counts["cache_misses"] == 0 and cache.written == 0
    # the production model's scores were left in the cache: it is not even loaded to score it
    assert again.counts["evaluate_production"] == 0 and again.from_cache["evaluate_production"] == 1
    assert again.outcomes == {1: "already deployed", 2: "already deployed", 3: "already deployed"}
    assert again.metrics == first.metrics and again.deployed == first.deployed
    assert [v.version for v in Registry(tmp_path / "r").versions()] == [1, 2, 3]
    assert "0 deployed, 3 already deployed" in again.summary_table()
    added = run_versions(4, data=data, cache=DiskCache(tmp_path / "c"), registry=tmp_path / "r")
    assert added.counts["train"] == 1 and added.outcomes[4] == "deployed"
