"""Artifacts on disk: one folder per artifact, a manifest, content-hash ids, atomic writes.

Layout::

    <root>/<kind>/<id>/manifest.json   # written last: a folder without it is not an artifact
    <root>/<kind>/<id>/...             # data in safe formats (JSONL, .npy, safetensors)
    <root>/.tmp/                       # folders being written; os.replace()d into place
    <root>/state.json                  # small UI state that should survive a restart

Example::

    ws = Workspace(tmp_path)
    aid = ws.artifact_id("corpus", {"sources": ["ab12"]})
    ws.create("corpus", aid, name="news", config={...}, write=lambda d: (d / "x.txt").write_text("hi"))
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import UserError

ENV_HOME = "CORPUS_LAB_HOME"
MANIFEST = "manifest.json"
VERSION = "0.1.0"


@dataclass(frozen=True)
class Manifest:
    kind: str
    id: str
    name: str
    parents: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    created: float = 0.0

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def canonical_json(value) -> str:
    """JSON with sorted keys and no spaces, so equal configs hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def package_versions(*packages: str) -> dict[str, str]:
    """The installed versions of ``packages`` (those not installed left out), for a manifest's ``versions``."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_artifact_files(ws: Workspace, kind: str, artifact_id: str, names: list[str], what: str) -> dict:
    """An artifact's ``.npy`` (never pickles) and ``.json`` files by name; a file missing or unreadable
    is a UserError that calls the artifact by ``what`` ("the index") and says how to recover."""
    import numpy as np

    folder = ws.path(kind, artifact_id)
    try:
        return {name: np.load(folder / name, allow_pickle=False) if name.endswith(".npy")
                else json.loads((folder / name).read_text(encoding="utf-8")) for name in names}
    except (OSError, ValueError) as exc:
        raise UserError(f"{what.capitalize()} {artifact_id} is damaged ({exc}); delete it and build it again.") from None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


class Workspace:
    """The folder where every artifact lives (``CORPUS_LAB_HOME``, default ``./workspace``)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp").mkdir(exist_ok=True)

    @classmethod
    def from_env(cls) -> Workspace:
        return cls(os.environ.get(ENV_HOME) or "workspace")

    # ids and paths -------------------------------------------------------------------
    @staticmethod
    def artifact_id(kind: str, config: dict, parents: list[str] | None = None) -> str:
        """A content hash of (kind, parents, config): the same work gets the same id."""
        payload = canonical_json({"kind": kind, "parents": sorted(parents or []), "config": config})
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def path(self, kind: str, artifact_id: str) -> Path:
        if not _safe_name(kind) or not _safe_name(artifact_id):
            raise UserError(f"'{kind}/{artifact_id}' is not a valid artifact name.")
        return self.root / kind / artifact_id

    def exists(self, kind: str, artifact_id: str) -> bool:
        return (self.path(kind, artifact_id) / MANIFEST).is_file()

    # writing -------------------------------------------------------------------------
    def create(
        self,
        kind: str,
        artifact_id: str,
        *,
        name: str,
        write: Callable[[Path], dict | None],
        config: dict | None = None,
        parents: list[str] | None = None,
        versions: dict | None = None,
    ) -> Manifest:
        """Build an artifact in a temporary folder, then move it into place in one step.

        ``write(folder)`` fills the folder and may return metrics for the manifest. If it
        raises (or the process dies), nothing appears under ``<kind>/``; if the artifact
        already exists (same content, same id) the existing one is returned untouched.
        """
        final = self.path(kind, artifact_id)
        if self.exists(kind, artifact_id):
            return self.manifest(kind, artifact_id)
        tmp = self.root / ".tmp" / f"{kind}-{artifact_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            metrics = write(tmp) or {}
            manifest = Manifest(
                kind=kind,
                id=artifact_id,
                name=name,
                parents=list(parents or []),
                config=config or {},
                metrics=metrics,
                versions={"corpus_lab": VERSION, "python": platform.python_version(), **(versions or {})},
                created=time.time(),
            )
            (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2, ensure_ascii=False))
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(tmp, final)
            except OSError:
                # Another writer finished the same artifact first (or a stale folder without a
                # manifest is in the way): keep a complete one, never a mix of the two.
                if self.exists(kind, artifact_id):
                    return self.manifest(kind, artifact_id)
                _remove(final)
                os.replace(tmp, final)
            return manifest
        finally:
            _remove(tmp)

    def delete(self, kind: str, artifact_id: str) -> None:
        """Remove an artifact; it vanishes at once (renamed away, then deleted)."""
        final = self.path(kind, artifact_id)
        if not final.exists():
            return
        trash = self.root / ".tmp" / f"trash-{artifact_id}-{uuid.uuid4().hex[:8]}"
        os.replace(final, trash)
        _remove(trash)

    # reading -------------------------------------------------------------------------
    def manifest(self, kind: str, artifact_id: str) -> Manifest:
        path = self.path(kind, artifact_id) / MANIFEST
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"There is no {kind} '{artifact_id}' in the workspace {self.root}.") from None

    def list(self, kind: str) -> list[Manifest]:
        """Every complete artifact of a kind, newest first; broken folders are skipped."""
        folder = self.root / kind
        found = []
        for child in folder.iterdir() if folder.is_dir() else []:
            try:
                found.append(Manifest.from_json((child / MANIFEST).read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(found, key=lambda m: m.created, reverse=True)

    # small state ---------------------------------------------------------------------
    def get_state(self, key: str, default=None):
        try:
            return json.loads((self.root / "state.json").read_text(encoding="utf-8")).get(key, default)
        except (OSError, ValueError, AttributeError):
            return default

    def set_state(self, key: str, value) -> None:
        # Read-modify-write under one lock per folder: two sessions setting different keys at once
        # would otherwise each write back the file they read, and one key would be lost.
        with _state_lock(self.root):
            self._set_state(key, value)

    def _set_state(self, key: str, value) -> None:
        path = self.root / "state.json"
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(state, dict):
                state = {}
        except (OSError, ValueError):
            state = {}
        state[key] = value
        atomic_write_text(path, json.dumps(state, indent=2))


_STATE_LOCKS: dict[Path, threading.Lock] = {}
_STATE_LOCKS_GUARD = threading.Lock()


def _state_lock(root: Path) -> threading.Lock:
    with _STATE_LOCKS_GUARD:
        return _STATE_LOCKS.setdefault(root, threading.Lock())


def _safe_name(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "-_" for c in name)


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
