"""The model registry: numbered, immutable model versions and the aliases that say which one serves.

Layout of a registry folder::

    root/versions/0001/model.skops     the model file (see mlcicd.training.save_model)
    root/versions/0001/metadata.json   provenance, gate decision, artifact_sha256
    root/aliases.json                  {"production": 3, "previous": 2, "history": [1, 2, 3]}
    root/index/<sha256>                the version holding that artifact hash or model fingerprint
    root/.lock                         writers hold an exclusive fcntl.flock on it

Crash safety: a version is written completely into ``root/.tmp-<uuid>/`` (files fsynced) and then
renamed to ``root/versions/NNNN`` in one step, so a version folder is either complete or absent;
only then is ``aliases.json`` replaced atomically (temp file + rename). Readers ignore the
leftovers of a crashed writer (``.tmp-*`` folders, ``.aliases.json.*.tmp`` files); the next
writer removes them. Writers (deploy, rollback) hold the lock, so concurrent deploys get
distinct numbers (max existing + 1); readers need no lock.

Aliases: ``history`` lists the production versions in the order they were promoted, the last
being ``production`` and the one before it ``previous``. A deploy appends; a rollback drops the
last entry, so repeated rollbacks walk back through earlier production models.

Releases (lesson 10): a blessed model can be staged as the ``candidate`` (stored, not serving
users unless a canary ``share`` of traffic is routed to it). ``aliases.json`` then also holds
``candidate``, ``share`` and ``releases``, the list of release decisions (staged, share changed,
promoted, rejected), each with the traffic split it was taken at. A promotion moves the
candidate to production and records the decision in the same atomic replace of ``aliases.json``,
so a crash leaves either the old state or the new one, never a promotion without its record.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlcicd.checks import check_fraction
from mlcicd.errors import CheckFailed, InputError
from mlcicd.evaluation import GateDecision
from mlcicd.files import atomic_write_json, atomic_write_text, check_readable_file, read_json
from mlcicd.training import (
    StoredModel,
    TrainedModel,
    load_model_bytes,
    serialize_model,
    stored_model_fingerprint,
    write_model_bytes,
)

ALIASES = ("production", "previous")
RELEASE_ACTIONS = ("candidate", "share", "promote", "reject")
MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
INDEX_DIR = "index"
_VERSION_DIR = re.compile(r"\d{4,}")


@dataclass(frozen=True)
class ModelVersion:
    """One stored version: its number, its folder and the content of its ``metadata.json``."""

    version: int
    path: Path
    metadata: dict[str, Any]
    # set by deploy when the model was in the registry already (nothing new was stored)
    already_deployed: bool = field(default=False, compare=False)

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "path": str(self.path), "metadata": dict(self.metadata)}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _schema_dict(schema: Any) -> dict[str, Any] | None:
    if schema is None:
        return None
    if hasattr(schema, "to_dict"):
        return schema.to_dict()
    if isinstance(schema, Mapping):
        return dict(schema)
    raise InputError(f"deploy: schema must be a Schema or a mapping, got {type(schema).__name__}")


class Registry:
    """A registry folder (created on the first deploy).

    >>> import tempfile
    >>> reg = Registry(tempfile.mkdtemp())
    >>> reg.versions(), reg.aliases(), reg.production()
    ([], {}, None)
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"registry {self.root}: not a directory")
        self._state()  # a malformed aliases.json is reported on opening

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    @property
    def aliases_path(self) -> Path:
        return self.root / "aliases.json"

    # ------------------------------------------------------------------------------ reading

    def _numbers(self) -> list[int]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in self.versions_dir.iterdir()
            if p.is_dir() and _VERSION_DIR.fullmatch(p.name)
        )

    def _version(self, number: int) -> ModelVersion:
        path = self.versions_dir / f"{number:04d}"
        metadata = read_json(path / METADATA_FILE, "registry metadata")
        if not isinstance(metadata, dict) or "artifact_sha256" not in metadata:
            raise InputError(
                f"registry metadata {path / METADATA_FILE}: not a version record "
                "(expected an object with artifact_sha256)"
            )
        return ModelVersion(version=number, path=path, metadata=metadata)

    def _state(self) -> dict[str, Any]:
        """The parsed, checked aliases.json (empty state when there is none)."""
        empty: dict[str, Any] = {"production": None, "previous": None, "history": []}
        empty.update(candidate=None, share=0.0, releases=[])
        if not self.aliases_path.exists():
            return empty
        where = f"registry aliases {self.aliases_path}"
        data = read_json(self.aliases_path, "registry aliases")
        if not isinstance(data, dict):
            raise InputError(f"{where}: expected a JSON object")
        history = data.get("history", [])
        if not isinstance(history, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in history
        ):
            raise InputError(f"{where}: history must be a list of version numbers")
        expected = {
            "production": history[-1] if history else None,
            "previous": history[-2] if len(history) > 1 else None,
        }
        for alias, value in expected.items():
            if data.get(alias) != value:
                raise InputError(
                    f"{where}: {alias} is {data.get(alias)!r} but the history says {value!r}"
                )
        missing = sorted(set(history) - set(self._numbers()))
        if missing:
            raise InputError(f"{where}: refers to version {missing[0]} which does not exist")
        return {**expected, "history": history, **self._release_state(data, where)}

    def _release_state(self, data: dict[str, Any], where: str) -> dict[str, Any]:
        """The checked release part of aliases.json: candidate, share, releases."""
        candidate, share = data.get("candidate"), data.get("share", 0.0)
        releases = data.get("releases", [])
        if candidate is not None and (
            not isinstance(candidate, int) or isinstance(candidate, bool) or candidate <= 0
        ):
            raise InputError(f"{where}: candidate must be a version number or null")
        if candidate is not None and candidate not in self._numbers():
            raise InputError(f"{where}: candidate {candidate} does not exist")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise InputError(f"{where}: share must be a number in [0, 1]")
        if candidate is None and share != 0:
            raise InputError(f"{where}: share is {share} but no candidate is set")
        if not isinstance(releases, list) or not all(isinstance(r, dict) for r in releases):
            raise InputError(f"{where}: releases must be a list of decision records")
        return {"candidate": candidate, "share": float(share), "releases": releases}

    def versions(self) -> list[ModelVersion]:
        """Every complete version, oldest first."""
        return [self._version(n) for n in self._numbers()]

    def aliases(self) -> dict[str, int]:
        """The aliases that are set, e.g. ``{"production": 3, "previous": 2}``."""
        state = self._state()
        return {alias: state[alias] for alias in ALIASES if state[alias] is not None}

    def history(self) -> list[int]:
        """The production versions in the order they were promoted (the last one serves)."""
        return list(self._state()["history"])

    def get(self, ref: int | str = "production") -> ModelVersion:
        """The version ``ref``: a number (``3`` or ``"3"``) or an alias (``"production"``)."""
        if isinstance(ref, str) and ref.strip().isdigit():
            ref = int(ref)
        if isinstance(ref, int) and not isinstance(ref, bool):
            numbers = self._numbers()
            if ref not in numbers:
                known = ", ".join(map(str, numbers)) or "none yet"
                raise InputError(f"registry {self.root}: no version {ref} (versions: {known})")
            return self._version(ref)
        if ref == "candidate":
            number = self._state()["candidate"]
            if number is None:
                raise InputError(f"registry {self.root}: no candidate is staged")
            return self._version(number)
        if ref not in ALIASES:
            raise InputError(
                f"registry {self.root}: unknown reference {ref!r} "
                f"(use a version number or one of: {', '.join(ALIASES)})"
            )
        number = self._state()[ref]
        if number is None:
            raise InputError(f"registry {self.root}: alias {ref!r} is not set")
        return self._version(number)

    def load(self, ref: int | str = "production") -> TrainedModel:
        """Load version ``ref`` after checking its file against the recorded sha256."""
        version = self.get(ref)
        return load_model_bytes(self._checked_bytes(version), version.model_file)

    def load_stored(self, ref: int | str = "production") -> TrainedModel:
        """Version ``ref`` as a :class:`~mlcicd.training.StoredModel`: file checked as in
        :meth:`load`, spec and metadata read, the estimator loaded only when first used."""
        from mlcicd.training import ModelSpec

        version = self.get(ref)
        data = self._checked_bytes(version)
        meta = version.metadata
        training = meta.get("training") or {}
        if "model_name" not in training or "model_fingerprint" not in meta:
            return load_model_bytes(data, version.model_file)  # an older layout: load it now
        spec = ModelSpec(training["model_name"], training["params"])
        return StoredModel(data, meta["model_fingerprint"], spec, training)

    def _checked_bytes(self, version: ModelVersion) -> bytes:
        path = check_readable_file(version.model_file, "registry model")
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        expected = version.metadata["artifact_sha256"]
        if actual != expected:
            raise CheckFailed(
                f"registry model {path}: sha256 {actual[:12]}... does not match the recorded "
                f"{str(expected)[:12]}...; the file was modified, refusing to load it"
            )
        return data

    def production(self) -> TrainedModel | None:
        """The production model, or None before the first deploy."""
        return self.load("production") if self._state()["production"] is not None else None

    def find_by_artifact(self, sha256: str) -> ModelVersion | None:
        """The version whose model file hash or model fingerprint is ``sha256``, if any.

        Model files are not byte-reproducible (skops zips carry timestamps), so an identical
        model saved twice is recognised by its ``model_fingerprint`` (the canonical content).
        The lookup is one file read in ``root/index/`` (written with each version), so a deploy
        costs the same with 10 or 1000 versions in the registry.
        """
        entry = self.root / INDEX_DIR / sha256
        try:
            number = int(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not (self.versions_dir / f"{number:04d}").is_dir():
            return None
        version = self._version(number)
        meta = version.metadata
        return (
            version
            if sha256 in (meta.get("artifact_sha256"), meta.get("model_fingerprint"))
            else None
        )

    # ------------------------------------------------------------------------------ writing

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def deploy(
        self, trained: TrainedModel, decision: GateDecision, *, schema: Any = None
    ) -> ModelVersion:
        """Store ``trained`` as a new version and make it production (previous <- production).

        Refused with :class:`CheckFailed` (registry untouched) unless ``decision.blessed``.
        A model already in the registry (same model fingerprint) is promoted, not copied, and
        the version returned has ``already_deployed`` set. A model read from the run cache
        (:class:`~mlcicd.training.StoredModel`) brings its skops bytes and fingerprint along,
        so it is neither loaded nor serialised again here.
        """
        if not isinstance(trained, TrainedModel):
            raise InputError(f"deploy: expected a TrainedModel, got {type(trained).__name__}")
        if not isinstance(decision, GateDecision):
            raise InputError(f"deploy: expected a GateDecision, got {type(decision).__name__}")
        if not decision.blessed:
            why = "; ".join(decision.reasons) or "no reason recorded"
            raise CheckFailed(f"deploy refused: the quality gate did not bless the model ({why})")
        schema_dict = _schema_dict(schema)
        data = getattr(trained, "skops_bytes", None)
        fingerprint = getattr(trained, "model_fingerprint", None)
        if data is None or fingerprint is None:
            data = serialize_model(trained)  # serialised once: fingerprinted, hashed and written
            fingerprint = stored_model_fingerprint(data)
        with self._locked():
            self._remove_leftovers()
            state = self._state()
            version = self.find_by_artifact(fingerprint)
            if version is None:
                version = self._write_version(trained, data, decision, schema_dict, fingerprint)
            else:
                version = replace(version, already_deployed=True)
            self._promote(state, version.version)
        return version

    def rollback(self) -> ModelVersion:
        """Make the previous production model serve again; returns the new production version."""
        with self._locked():
            self._remove_leftovers()
            state = self._state()
            history = state["history"][:-1]
            if not history:
                raise CheckFailed(
                    f"registry {self.root}: nothing to roll back to (no previous production model)"
                )
            self._write_aliases(history)
            return self._version(history[-1])

    def _remove_leftovers(self) -> None:
        """Delete the temporary folders of writers that died (we hold the lock: none is live)."""
        for tmp in self.root.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        for tmp in self.root.glob(f".{self.aliases_path.name}.*.tmp"):
            tmp.unlink(missing_ok=True)

    def _write_version(
        self,
        trained: TrainedModel,
        data: bytes,
        decision: GateDecision,
        schema: dict[str, Any] | None,
        fingerprint: str,
    ) -> ModelVersion:
        number = max(self._numbers(), default=0) + 1
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            write_model_bytes(data, tmp / MODEL_FILE)
            metadata = {
                "version": number,
                "model_name": trained.spec.name,
                "params": trained.spec.param_dict,
                "data_fingerprint": trained.metadata.get("data_fingerprint"),
                "schema": schema,
                "metrics": dict(decision.metrics),
                "gate": decision.to_dict(),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "artifact_sha256": hashlib.sha256(data).hexdigest(),
                "model_fingerprint": fingerprint,
                "training": dict(trained.metadata),
            }
            with open(tmp / METADATA_FILE, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            _fsync_dir(tmp)
            self.versions_dir.mkdir(exist_ok=True)
            final = self.versions_dir / f"{number:04d}"
            os.rename(tmp, final)
            _fsync_dir(self.versions_dir)
            self._index(number, str(metadata["artifact_sha256"]), fingerprint)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return ModelVersion(version=number, path=final, metadata=metadata)

    def _index(self, number: int, *digests: str) -> None:
        """Record ``digest -> version`` for :meth:`find_by_artifact` (a lost entry only costs a
        duplicate version on a later re-deploy, never a wrong answer: lookups re-check it)."""
        index = self.root / INDEX_DIR
        index.mkdir(exist_ok=True)
        for digest in digests:
            atomic_write_text(index / digest, f"{number}\n")

    def _promote(self, state: dict[str, Any], number: int) -> None:
        if state["production"] != number:
            self._write_aliases([*state["history"], number])

    def _write_aliases(self, history: list[int], release: dict[str, Any] | None = None) -> None:
        """Replace aliases.json; ``release`` (candidate, share, releases) defaults to the current
        one, so deploy and rollback keep a staged candidate and the release record."""
        if release is None:
            state = self._state()
            release = {k: state[k] for k in ("candidate", "share", "releases")}
        extra = {k: v for k, v in release.items() if v not in (None, [], 0.0) or k == "share"}
        if not release.get("releases") and release.get("candidate") is None:
            extra = {}  # a registry that never staged a candidate keeps the plain layout
        atomic_write_json(
            self.aliases_path,
            {
                "production": history[-1] if history else None,
                "previous": history[-2] if len(history) > 1 else None,
                "history": history,
                **extra,
            },
        )
        _fsync_dir(self.root)

    # ------------------------------------------------------------------------------ releases

    def candidate(self) -> ModelVersion | None:
        """The staged candidate, or None."""
        number = self._state()["candidate"]
        return None if number is None else self._version(number)

    def traffic(self) -> dict[str, Any]:
        """Who serves: ``{"production": n, "candidate": m, "share": s}`` (s goes to m)."""
        state = self._state()
        return {k: state[k] for k in ("production", "candidate", "share")}

    def releases(self) -> list[dict[str, Any]]:
        """Every release decision, oldest first."""
        return [dict(r) for r in self._state()["releases"]]

    def _record(
        self, state: dict[str, Any], action: str, version: int, reason: str, evidence: Any
    ) -> dict[str, Any]:
        if not isinstance(reason, str):
            raise InputError(f"reason: expected a text, got {type(reason).__name__}")
        try:
            json.dumps(evidence)
        except (TypeError, ValueError):
            raise InputError("evidence: must be JSON-serialisable") from None
        return {
            "action": action,
            "version": version,
            "production": state["production"],
            "share": state["share"],
            "reason": reason,
            "evidence": evidence,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def stage_candidate(
        self,
        trained: TrainedModel,
        decision: GateDecision,
        *,
        share: float = 0.0,
        schema: Any = None,
        reason: str = "",
    ) -> ModelVersion:
        """Store ``trained`` (blessed by the gate) as the candidate; ``share`` of traffic goes to
        it (0: shadow only). Production does not change. Replaces an earlier candidate."""
        if not isinstance(trained, TrainedModel):
            raise InputError(f"candidate: expected a TrainedModel, got {type(trained).__name__}")
        if not isinstance(decision, GateDecision):
            raise InputError(f"candidate: expected a GateDecision, got {type(decision).__name__}")
        _check_share(share)
        if not decision.blessed:
            why = "; ".join(decision.reasons) or "no reason recorded"
            raise CheckFailed(
                f"candidate refused: the quality gate did not bless the model ({why})"
            )
        schema_dict = _schema_dict(schema)
        data = serialize_model(trained)
        fingerprint = stored_model_fingerprint(data)
        with self._locked():
            self._remove_leftovers()
            state = self._state()
            version = self.find_by_artifact(fingerprint)
            if version is None:
                version = self._write_version(trained, data, decision, schema_dict, fingerprint)
            if version.version == state["production"]:
                raise CheckFailed(
                    f"candidate refused: version {version.version} is already production"
                )
            state = {**state, "candidate": version.version, "share": float(share)}
            record = self._record(state, "candidate", version.version, reason, None)
            self._write_aliases(state["history"], self._release(state, record))
        return version

    def set_share(self, share: float, *, reason: str = "") -> dict[str, Any]:
        """Route ``share`` of the traffic to the candidate (a canary step); returns the split."""
        _check_share(share)
        with self._locked():
            self._remove_leftovers()
            state = self._require_candidate()
            state = {**state, "share": float(share)}
            record = self._record(state, "share", state["candidate"], reason, None)
            self._write_aliases(state["history"], self._release(state, record))
            return {k: state[k] for k in ("production", "candidate", "share")}

    def promote(self, *, reason: str = "", evidence: Any = None) -> ModelVersion:
        """The candidate becomes production (previous <- production); the record says why."""
        return self._end_release("promote", reason, evidence)

    def reject_candidate(self, *, reason: str = "", evidence: Any = None) -> ModelVersion:
        """Drop the candidate (all traffic back to production); the record says why."""
        return self._end_release("reject", reason, evidence)

    def _end_release(self, decision: str, reason: str, evidence: Any) -> ModelVersion:
        """Clear the candidate and record ``decision``; a promotion also moves production."""
        with self._locked():
            self._remove_leftovers()
            state = self._require_candidate()
            number = state["candidate"]
            record = self._record(state, decision, number, reason, evidence)
            cleared = {**state, "candidate": None, "share": 0.0}
            history = [*state["history"], number] if decision == "promote" else state["history"]
            self._write_aliases(history, self._release(cleared, record))
            return self._version(number)

    def _require_candidate(self) -> dict[str, Any]:
        state = self._state()
        if state["candidate"] is None:
            raise CheckFailed(f"registry {self.root}: no candidate is staged")
        return state

    @staticmethod
    def _release(state: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        return {
            "candidate": state["candidate"],
            "share": state["share"],
            "releases": [*state["releases"], record],
        }


def _check_share(share: Any) -> None:
    check_fraction(share, "share")
