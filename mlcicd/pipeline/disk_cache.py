"""The run cache on disk: stage results that survive the process, as a CI job needs.

:class:`DiskCache` is a :class:`~mlcicd.pipeline.cache.StageCache` (same ``get``/``put``/counters) whose
entries also live in a folder, so a new process on the same folder (the next CI run, with the
folder kept by the platform's cache action) finds what an earlier one computed. Keys are the
runner's content-addressed stage keys (stage code, input fingerprints, parameters), as in DVC's
run cache. Layout::

    root/entries/ab/<key>.entry    one entry: a header line, then a zip of the value
    root/tmp/                      files being written (renamed into entries/ when complete)

An entry file is ``mlcicd-cache/1 <sha256 of the zip>\\n`` followed by the zip, which holds
``value.json`` (the value as tagged JSON) and one file per large part: a column of a DataFrame
as a ``.npy`` array (no pickle), a trained model as the skops bytes of
:func:`mlcicd.training.serialize_model` (loaded with the same untrusted-type refusal as a model
file, and only when its estimator is first used). Small results (metrics, reports, schemas:
dataclasses of the ``mlcicd`` package) are JSON.

Safety: a writer writes ``tmp/<name>`` completely, then renames it over the entry in one step,
so a reader (another process too) sees the old entry, the new one or none, never half of one;
a writer killed mid-write leaves only a file in ``tmp/`` (removed by :meth:`DiskCache.gc`). On
read the sha256 is checked: an entry that fails it (or does not decode) is a miss, listed in
``corrupt``, deleted, and written again by the next ``put``. Nothing is fsynced: after a power
loss a torn entry fails its check and is recomputed. A hit touches the entry's mtime, which is
what :meth:`DiskCache.gc` uses to drop the least recently used entries first.

>>> import tempfile
>>> cache = DiskCache(tempfile.mkdtemp())
>>> cache.put("k", {"accuracy": 0.95})
>>> DiskCache(cache.root).get("k")  # another process would see the same
(True, {'accuracy': 0.95})
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import io
import json
import os
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlcicd.checks import check_int
from mlcicd.errors import InputError
from mlcicd.pipeline.cache import StageCache

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlcicd.training import TrainedModel

# numpy, pandas and scikit-learn (through mlcicd.training) are imported only for an entry that
# holds their values: a value of theirs cannot exist unless they are loaded already, and a hit of
# plain data (what the command line stores) then costs no import (issue 13)

DEFAULT_DIR = ".mlcicd-cache"
MAGIC = b"mlcicd-cache/1 "
SUFFIX = ".entry"
STALE_TMP_SECONDS = 3600.0


class Unstorable(TypeError):
    """A value the disk format has no exact encoding for (it stays in memory only)."""


class BadEntry(ValueError):
    """An entry file that fails its checksum or does not decode."""


# ------------------------------------------------------------------------------- the values


class _Encoder:
    """Turns a value into tagged JSON plus named binary parts."""

    def __init__(self) -> None:
        self.parts: dict[str, bytes] = {}

    def part(self, data: bytes, ext: str) -> str:
        name = f"p{len(self.parts)}.{ext}"
        self.parts[name] = data
        return name

    def array(self, values: np.ndarray) -> str:
        import numpy as np

        if values.dtype.hasobject:
            raise Unstorable("object array")
        buffer = io.BytesIO()
        np.save(buffer, values, allow_pickle=False)
        return self.part(buffer.getvalue(), "npy")

    # one branch per kind of value of the entry format, as the decoder's dispatch
    def encode(self, value: Any) -> Any:  # noqa: C901
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | float) and type(value) in (int, float):
            return value
        np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
        training = sys.modules.get("mlcicd.training")
        if np is not None and isinstance(value, np.generic):
            if value.dtype.hasobject:
                raise Unstorable("object scalar")
            return {"$t": "np", "dtype": value.dtype.str, "v": value.item()}
        if type(value) is bytes:
            return {"$t": "bytes", "file": self.part(value, "bin")}
        if type(value) is list:
            return [self.encode(v) for v in value]
        if type(value) is tuple:
            return {"$t": "tuple", "v": [self.encode(v) for v in value]}
        if type(value) is dict:
            return {"$t": "dict", "v": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if np is not None and isinstance(value, np.ndarray):
            return {"$t": "array", "file": self.array(value)}
        if pd is not None and type(value) is pd.DataFrame:
            return self.frame(value)
        if training is not None and isinstance(value, training.TrainedModel):
            return self.trained(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.dataclass(value)
        raise Unstorable(type(value).__name__)

    def frame(self, df: pd.DataFrame) -> dict[str, Any]:
        import numpy as np
        import pandas as pd

        if df.columns.duplicated().any() or df.attrs:
            raise Unstorable("DataFrame with duplicate columns or attrs")
        columns = []
        for name in df.columns:
            s = df[name]
            if isinstance(s.dtype, pd.CategoricalDtype):
                cats = s.cat.categories
                col = {
                    "kind": "category",
                    "codes": self.array(s.cat.codes.to_numpy()),
                    "categories": self.encode(cats.tolist()),
                    "cat_dtype": str(cats.dtype),
                    "ordered": bool(s.cat.ordered),
                }
            elif s.dtype == object:
                col = {"kind": "object", "values": self.encode(s.tolist())}
            elif isinstance(s.dtype, np.dtype):
                col = {"kind": "numpy", "file": self.array(s.to_numpy())}
            elif isinstance(s.dtype, pd.StringDtype):  # pandas' own string columns
                col = {"kind": "string", "dtype": str(s.dtype), "values": self.encode(s.tolist())}
            else:
                raise Unstorable(f"column dtype {s.dtype}")
            columns.append({"name": self.encode(name), **col})
        index = df.index
        idx: dict[str, Any]
        if type(index) is pd.RangeIndex:
            idx = {"range": [index.start, index.stop, index.step]}
        elif isinstance(index.dtype, np.dtype) and not index.dtype.hasobject and index.nlevels == 1:
            idx = {"file": self.array(index.to_numpy())}
        else:
            raise Unstorable("DataFrame index")
        idx["name"] = self.encode(index.name)
        return {"$t": "frame", "columns": columns, "index": idx}

    def trained(self, trained: TrainedModel) -> dict[str, Any]:
        from mlcicd.training import StoredModel, serialize_model, stored_model_fingerprint

        if isinstance(trained, StoredModel):
            data, fp = trained.skops_bytes, trained.model_fingerprint
        else:
            data = serialize_model(trained)
            fp = stored_model_fingerprint(data)
        return {
            "$t": "trained",
            "file": self.part(data, "skops"),
            "fingerprint": fp,
            "spec": self.encode(trained.spec),
            "metadata": self.encode(dict(trained.metadata)),
        }

    def dataclass(self, value: Any) -> dict[str, Any]:
        cls = type(value)
        if not cls.__module__.startswith("mlcicd."):
            raise Unstorable(f"dataclass {cls.__qualname__} outside mlcicd")
        fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if any(not f.init for f in dataclasses.fields(value)):
            raise Unstorable(f"dataclass {cls.__qualname__} with init=False fields")
        return {"$t": "dc", "cls": f"{cls.__module__}:{cls.__qualname__}", "v": fields}


class _Decoder:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf

    def array(self, name: str) -> np.ndarray:
        import numpy as np

        return np.load(io.BytesIO(self.zf.read(name)), allow_pickle=False)

    # one branch per tag of the entry format: a dispatch reads best as one function
    def decode(self, node: Any) -> Any:  # noqa: C901
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        tag = node["$t"]
        if tag == "tuple":
            return tuple(self.decode(v) for v in node["v"])
        if tag == "bytes":
            return self.zf.read(node["file"])
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["v"]}
        if tag == "np":
            import numpy as np

            return np.dtype(node["dtype"]).type(node["v"])
        if tag == "array":
            return self.array(node["file"])
        if tag == "frame":
            return self.frame(node)
        if tag == "trained":
            from mlcicd.training import StoredModel

            data = self.zf.read(node["file"])
            spec, metadata = self.decode(node["spec"]), self.decode(node["metadata"])
            return StoredModel(data, node["fingerprint"], spec, metadata)
        if tag == "dc":
            module, _, qualname = node["cls"].partition(":")
            if not module.startswith("mlcicd."):
                raise BadEntry(f"refusing class {node['cls']}")
            cls: Any = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
            if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
                raise BadEntry(f"{node['cls']} is not a dataclass")
            return cls(**{k: self.decode(v) for k, v in node["v"].items()})
        raise BadEntry(f"unknown tag {tag!r}")

    def frame(self, node: dict[str, Any]) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        idx = node["index"]
        name = self.decode(idx["name"])
        if "range" in idx:
            index = pd.RangeIndex(*idx["range"], name=name)
        else:
            index = pd.Index(self.array(idx["file"]), name=name)
        data = {}
        for col in node["columns"]:
            if col["kind"] == "numpy":
                values = self.array(col["file"])
            elif col["kind"] == "string":
                values = pd.array(self.decode(col["values"]), dtype=col["dtype"])
            elif col["kind"] == "object":
                values = np.empty(len(index), dtype=object)
                values[:] = self.decode(col["values"])
            else:
                cats = pd.Index(self.decode(col["categories"]), dtype=col["cat_dtype"])
                dtype = pd.CategoricalDtype(cats, ordered=col["ordered"])
                values = pd.Categorical.from_codes(self.array(col["codes"]), dtype=dtype)
            data[self.decode(col["name"])] = values
        if not data:
            return pd.DataFrame(index=index)
        return pd.DataFrame(data, index=index, copy=False)


def encode_entry(value: Any) -> bytes:
    """The bytes of an entry file for ``value`` (:class:`Unstorable` if it has no encoding)."""
    encoder = _Encoder()
    tree = encoder.encode(value)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("value.json", json.dumps(tree, separators=(",", ":")))
        for name, data in encoder.parts.items():
            zf.writestr(name, data)
    body = buffer.getvalue()
    return MAGIC + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body


def decode_entry(data: bytes) -> Any:
    """The value of an entry file; :class:`BadEntry` if it fails its checksum or its format."""
    head, newline, body = data.partition(b"\n")
    if not newline or not head.startswith(MAGIC):
        raise BadEntry("not a cache entry")
    if hashlib.sha256(body).hexdigest().encode("ascii") != head[len(MAGIC) :]:
        raise BadEntry("sha256 mismatch")
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            return _Decoder(zf).decode(json.loads(zf.read("value.json")))
    except BadEntry:
        raise
    except Exception as exc:  # a corrupt zip or tree fails in many ways, all meaning the same
        raise BadEntry(f"{type(exc).__name__}: {exc}") from None


# -------------------------------------------------------------------------------- the cache


@dataclass(frozen=True)
class CacheInfo:
    """What ``mlcicd cache info`` shows."""

    root: str
    entries: int
    bytes: int
    temporary_files: int
    oldest_use: float | None
    newest_use: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class GcResult:
    removed: int
    freed_bytes: int
    kept: int
    kept_bytes: int
    temporary_files_removed: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class DiskCache(StageCache):
    """A :class:`~mlcicd.pipeline.cache.StageCache` backed by a folder (see the module docstring).

    Values read or written in this process are also kept in memory. A value the disk format
    cannot hold exactly stays in memory only (counted in ``unstored``). ``corrupt`` lists the
    keys whose entry failed its check (each counted as a miss, then deleted).
    """

    def __init__(self, root: str | os.PathLike = DEFAULT_DIR) -> None:
        super().__init__()
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"cache {self.root}: is a file, expected a cache folder")
        self.written = 0
        self.unstored = 0
        self.corrupt: list[str] = []

    def __repr__(self) -> str:
        return (
            f"DiskCache({str(self.root)!r}, hits={self.hits}, misses={self.misses}, "
            f"written={self.written}, corrupt={len(self.corrupt)})"
        )

    def path(self, key: str) -> Path:
        if not key.isascii() or not key.replace("-", "").replace("_", "").isalnum():
            raise InputError(f"cache key {key!r}: expected letters, digits, '-' or '_'")
        return self.root / "entries" / key[:2] / (key + SUFFIX)

    def get(self, key: str) -> tuple[bool, Any]:
        if key in self._values:
            self.hits += 1
            return True, self._values[key]
        path = self.path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            self.misses += 1
            return False, None
        try:
            value = decode_entry(data)
        except BadEntry:
            self.corrupt.append(key)
            path.unlink(missing_ok=True)
            self.misses += 1
            return False, None
        with contextlib.suppress(OSError):  # a read-only cache still serves its entries
            os.utime(path)  # least recently used = oldest mtime
        self._values[key] = value
        self.hits += 1
        return True, value

    def put(self, key: str, value: Any) -> None:
        self._values[key] = value
        path = self.path(key)
        if path.exists() and key not in self.corrupt:
            return  # another run stored it: entries are immutable
        try:
            data = encode_entry(value)
        except Unstorable:
            self.unstored += 1
            return
        self._write(path, data)
        self.written += 1

    def _write(self, path: Path, data: bytes) -> None:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{path.stem}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self._values or self.path(key).exists())

    def __len__(self) -> int:
        return len(self._entries())

    def _entries(self) -> list[Path]:
        return sorted((self.root / "entries").glob(f"*/*{SUFFIX}"))

    def _temporary(self) -> list[Path]:
        return sorted((self.root / "tmp").glob("*.tmp"))

    def stats(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "written": self.written,
            "unstored": self.unstored,
            "corrupt": len(self.corrupt),
        }

    def clear(self) -> None:
        """Delete every entry (and temporary file) and reset the counters."""
        for path in [*self._entries(), *self._temporary()]:
            path.unlink(missing_ok=True)
        super().clear()
        self.written = self.unstored = 0
        self.corrupt = []

    def info(self) -> CacheInfo:
        stats = [(p.stat().st_size, p.stat().st_mtime) for p in self._entries()]
        times = [t for _, t in stats]
        return CacheInfo(
            root=str(self.root),
            entries=len(stats),
            bytes=sum(size for size, _ in stats),
            temporary_files=len(self._temporary()),
            oldest_use=min(times) if times else None,
            newest_use=max(times) if times else None,
        )

    def gc(self, max_bytes: int) -> GcResult:
        """Delete least recently used entries until the rest take at most ``max_bytes``; also the
        temporary files of writers that are gone (dead process, or older than an hour)."""
        check_int(max_bytes, "max_bytes", low=0)
        removed_tmp = sum(_remove_if_stale(p) for p in self._temporary())
        entries = []
        for p in self._entries():
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            entries.append((st.st_mtime, p.name, p, st.st_size))
        entries.sort()
        total = sum(e[3] for e in entries)
        removed = freed = 0
        for _, _, path, size in entries:
            if total <= max_bytes:
                break
            path.unlink(missing_ok=True)
            self._values.pop(path.name.removesuffix(SUFFIX), None)
            total -= size
            removed += 1
            freed += size
        return GcResult(removed, freed, len(entries) - removed, total, removed_tmp)


def _remove_if_stale(path: Path) -> bool:
    parts = path.name.split(".")
    try:
        pid = int(parts[-3])
    except (IndexError, ValueError):
        pid = None
    alive = pid is not None and _alive(pid)
    try:
        old = time.time() - path.stat().st_mtime > STALE_TMP_SECONDS
    except FileNotFoundError:
        return False
    if alive and not old:
        return False
    path.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_size(text: str, option: str = "--max-size") -> int:
    """``"500M"``, ``"2G"``, ``"100k"`` or a number of bytes, as bytes."""
    units = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
    cleaned = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = cleaned, ""
    if cleaned and cleaned[-1] in units:
        number, unit = cleaned[:-1], cleaned[-1]
    try:
        value = float(number)
    except ValueError:
        raise InputError(f"{option}: expected a size like 500M or 2G, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise InputError(f"{option}: expected a size >= 0, got {text!r}")
    return int(value * units[unit])
