"""Reading a bundle: every entry checked before anything is written, then placed atomically."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import shutil
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, NamedTuple

from core.bundle.checks import (
    BUNDLE_FORMAT,
    BUNDLE_LIMITS,
    CHUNK,
    HEAD,
    INDEX,
    KINDS,
    MAX_JSON_BYTES,
    REPORTS,
    _content_problem,
    _kind_of,
    _manifest,
    _mib,
    _npy_load_problem,
    _null,
    _refuse,
    _Refused,
    _refused_suffix,
    _report_problem,
    _safe_id,
    _show,
    _Tee,
    _unsafe_member,
    _valid_report_id,
)
from core.corpus.archive import ZipLimits
from core.errors import UserError
from core.workspace import MANIFEST, Manifest, Workspace, atomic_write_bytes


class BundleArtifact(NamedTuple):
    kind: str
    id: str
    name: str
    size: int  # bytes, uncompressed, all its files


@dataclass
class BundleInfo:
    format: int
    created: float  # unix time the bundle was written (0.0 if unknown)
    version: str  # the Corpus Lab version that wrote it ("" if unknown)
    artifacts: list[BundleArtifact] = field(default_factory=list)  # those that passed every check, parents first
    reports: list[str] = field(default_factory=list)  # report ids that passed
    problems: list[str] = field(default_factory=list)  # one sentence per refused or ignored entry
    warnings: list[str] = field(default_factory=list)  # written by export (a parent that was not in its workspace)


@dataclass
class ImportResult:
    added: list[tuple[str, str]] = field(default_factory=list)  # (kind, id), parents first
    existing: list[tuple[str, str]] = field(default_factory=list)  # already in the workspace: kept, not overwritten
    reports: list[str] = field(default_factory=list)  # report ids added
    existing_reports: list[str] = field(default_factory=list)  # report ids already there: kept
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # export's warnings, and parents that did not arrive



def inspect_bundle(data: bytes | BinaryIO, *, limits: ZipLimits = BUNDLE_LIMITS) -> BundleInfo:
    """What a bundle holds and what an import would refuse; every check of ``import_bundle``, nothing written."""
    with _Bundle(data, limits) as bundle:
        info = BundleInfo(format=bundle.format, created=bundle.created, version=bundle.version,
                          warnings=list(bundle.warnings), problems=list(bundle.problems))
        for entry in bundle.artifacts:
            try:
                manifest = bundle.check_artifact(entry, None)
            except _Refused as exc:
                info.problems.append(str(exc))
                continue
            info.artifacts.append(BundleArtifact(entry["kind"], entry["id"], manifest.name,
                                                 sum(f["size"] for f in entry["files"])))
        for entry in bundle.reports:
            try:
                bundle.check_report(entry)
            except _Refused as exc:
                info.problems.append(str(exc))
                continue
            info.reports.append(entry["id"])
        info.problems += bundle.unlisted()
    return info


def import_bundle(ws: Workspace, data: bytes | BinaryIO, *, limits: ZipLimits = BUNDLE_LIMITS) -> ImportResult:
    """Add a bundle's artifacts and reports to ``ws``; the same ids arrive, existing ones are kept untouched.

    Everything is read and checked into ``<root>/.tmp/`` first; only when the whole bundle has been read
    does anything move into place, so a bundle refused half way leaves the workspace as it was.
    """
    result = ImportResult()
    staging = ws.root / ".tmp" / f"bundle-{uuid.uuid4().hex[:12]}"
    try:
        with _Bundle(data, limits) as bundle:
            result.warnings += bundle.warnings
            result.problems += bundle.problems
            staged, staged_reports = [], []
            for entry in bundle.artifacts:
                kind, artifact_id = entry["kind"], entry["id"]
                if ws.exists(kind, artifact_id):
                    result.existing.append((kind, artifact_id))
                    continue
                folder = staging / f"{kind}-{artifact_id}"
                try:
                    manifest = bundle.check_artifact(entry, folder)
                except _Refused as exc:
                    result.problems.append(str(exc))
                    continue
                staged.append((kind, artifact_id, folder, manifest))
            for entry in bundle.reports:
                if (ws.root / REPORTS / f"{entry['id']}.json").exists():
                    result.existing_reports.append(entry["id"])
                    continue
                try:
                    staged_reports.append((entry["id"], bundle.check_report(entry)))
                except _Refused as exc:
                    result.problems.append(str(exc))
            result.problems += bundle.unlisted()
        for kind, artifact_id, folder, _ in staged:
            placed = _place(ws, kind, artifact_id, folder)
            (result.added if placed else result.existing).append((kind, artifact_id))
        for rid, report in staged_reports:
            path = ws.root / REPORTS / f"{rid}.json"
            if path.exists():
                result.existing_reports.append(rid)
                continue
            atomic_write_bytes(path, report)
            result.reports.append(rid)
        for kind, artifact_id, _, manifest in staged:
            for parent in manifest.parents:
                if _kind_of(ws, parent) is None:
                    result.warnings.append(f"{kind} {artifact_id} arrived without its parent {_show(parent)} (it was "
                                           "neither in the bundle nor in this workspace).")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _place(ws: Workspace, kind: str, artifact_id: str, folder: Path) -> bool:
    """Move a staged artifact into place as ``Workspace.create`` does; False if one was already there."""
    final = ws.path(kind, artifact_id)
    if ws.exists(kind, artifact_id):
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(folder, final)
    except OSError:
        if ws.exists(kind, artifact_id):  # another writer finished it first: keep theirs
            return False
        shutil.rmtree(final, ignore_errors=True)  # a stale folder without a manifest
        os.replace(folder, final)
    return True


class _Bundle:
    """An opened bundle: the zip's names checked, ``bundle.json`` read and sorted into entries."""

    def __init__(self, data: bytes | BinaryIO, limits: ZipLimits):
        self.limits, self.total, self.problems = limits, 0, []
        source = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
        if isinstance(data, bytes | bytearray | memoryview) and not len(data):
            raise UserError("This file is empty; a bundle is a zip file made by Export bundle.")
        try:
            self.zip = zipfile.ZipFile(source)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise UserError(f"This file is not a bundle: it is not a readable zip archive ({exc}).") from None
        try:
            self._check_members(infos)
            self._read_index()
        except BaseException:
            self.zip.close()
            raise

    def __enter__(self) -> _Bundle:
        return self

    def __exit__(self, *exc) -> None:
        self.zip.close()

    # the zip as a whole ----------------------------------------------------------------------------
    def _check_members(self, infos: list[zipfile.ZipInfo]) -> None:
        limits = self.limits
        if len(infos) > limits.max_members:
            raise _refuse(f"it holds {len(infos):,} entries, more than the {limits.max_members:,} a bundle may hold")
        self.members: dict[str, zipfile.ZipInfo] = {}
        declared = 0
        for info in infos:
            name = info.filename
            if _unsafe_member(name):
                raise _refuse(f"its entry {_show(name)!r} points outside the bundle (an absolute path, '..', a backslash "
                              "or a drive letter), which is how zip-slip attacks look")
            if info.is_dir():
                continue
            if name in self.members:
                raise _refuse(f"its entry {_show(name)!r} appears twice")
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise _refuse(f"its entry {_show(name)!r} expands {info.file_size / max(info.compress_size, 1):,.0f}× "
                              f"(the limit is {limits.max_ratio:,.0f}×), which is how zip bombs look")
            declared += info.file_size
            self.members[name] = info
        if declared > limits.max_total_bytes:
            largest = max(self.members.values(), key=lambda i: i.file_size)
            raise _refuse(f"it unpacks to {_mib(declared)}, more than the {_mib(limits.max_total_bytes)} a bundle may hold "
                          f"(the largest entry, {_show(largest.filename)!r}, alone is {_mib(largest.file_size)})")

    def _read_index(self) -> None:
        info = self.members.get(INDEX)
        if info is None:
            raise UserError("This zip is not a Corpus Lab bundle: it has no bundle.json (make one with Export bundle).")
        if info.file_size > MAX_JSON_BYTES:
            raise _refuse(f"its bundle.json is {_mib(info.file_size)}, far more than an index needs")
        try:
            self.read(INDEX, keep := io.BytesIO())
            raw = keep.getvalue()
            index = json.loads(raw.decode("utf-8"))
        except (_Refused, ValueError) as exc:
            raise _refuse(f"its bundle.json cannot be read ({exc})") from None
        if not isinstance(index, dict):
            raise _refuse("its bundle.json is not a bundle index")
        fmt = index.get("format")
        if type(fmt) is not int or fmt != BUNDLE_FORMAT:
            newer = type(fmt) is int and fmt > BUNDLE_FORMAT
            raise UserError(f"This bundle has format {_show(str(fmt))}; this Corpus Lab reads format {BUNDLE_FORMAT}"
                            + (" — it was made by a newer Corpus Lab; update this one." if newer else "."))
        self.format = fmt
        created = index.get("created")
        self.created = float(created) if type(created) in (int, float) and math.isfinite(created) else 0.0
        version = index.get("corpus_lab")
        self.version = version[:40] if isinstance(version, str) else ""
        warnings = index.get("warnings", [])
        self.warnings = [_show(w, 300) for w in warnings if isinstance(w, str)][:200] if isinstance(warnings, list) else []
        artifacts, reports = index.get("artifacts", []), index.get("reports", [])
        if not isinstance(artifacts, list) or not isinstance(reports, list):
            raise _refuse("its bundle.json does not list artifacts and reports")
        self.listed: set[str] = {INDEX}
        self.artifacts, seen = [], set()
        for position, raw_entry in enumerate(artifacts, 1):
            try:
                entry = self._artifact_entry(raw_entry, position)
                if (entry["kind"], entry["id"]) in seen:
                    raise _Refused(f"{entry['kind']} {entry['id']} is listed twice in bundle.json; the second one is ignored.")
                seen.add((entry["kind"], entry["id"]))
                self.artifacts.append(entry)
            except _Refused as exc:
                self.problems.append(str(exc))
        self.reports, seen = [], set()
        for position, raw_entry in enumerate(reports, 1):
            try:
                entry = self._report_entry(raw_entry, position)
                if entry["id"] in seen:
                    raise _Refused(f"Report {entry['id']} is listed twice in bundle.json; the second one is ignored.")
                seen.add(entry["id"])
                self.reports.append(entry)
            except _Refused as exc:
                self.problems.append(str(exc))

    def _artifact_entry(self, raw, position: int) -> dict:
        if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str) or not isinstance(raw.get("id"), str):
            raise _Refused(f"Artifact entry {position} of bundle.json has no kind and id; it was skipped.")
        kind, artifact_id = raw["kind"], raw["id"]
        label = f"{_show(kind)}/{_show(artifact_id)}"
        files = raw.get("files")
        if isinstance(files, list):  # named, so its members count as listed even when it is refused below
            self.listed.update(f"artifacts/{kind}/{artifact_id}/{f['path']}" for f in files
                               if isinstance(f, dict) and isinstance(f.get("path"), str))
        if kind not in KINDS:
            raise _Refused(f"artifacts/{label}: skipped, '{_show(kind)}' is not a kind of artifact this Corpus Lab knows "
                           f"({', '.join(KINDS)}).")
        if not _safe_id(artifact_id):
            raise _Refused(f"artifacts/{label}: skipped, '{_show(artifact_id)}' is not a valid artifact id "
                           "(letters, digits, - and _ only).")
        if not isinstance(files, list) or not files:
            raise _Refused(f"artifacts/{label}: skipped, bundle.json lists no files for it.")
        checked, paths = [], set()
        for f in files:
            if not (isinstance(f, dict) and isinstance(f.get("path"), str) and type(f.get("size")) is int
                    and f["size"] >= 0 and isinstance(f.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", f["sha256"])):
                raise _Refused(f"artifacts/{label}: skipped, bundle.json describes one of its files without a path, "
                               "size and sha256.")
            rel = f["path"]
            if _unsafe_member(rel) or rel.endswith("/"):
                raise _refuse(f"bundle.json names the file {_show(rel)!r} in {label}, a path that points outside its "
                              "folder")
            if rel in paths:
                raise _Refused(f"artifacts/{label}: skipped, bundle.json lists {_show(rel)} twice.")
            paths.add(rel)
            checked.append({"path": rel, "size": f["size"], "sha256": f["sha256"]})
        if MANIFEST not in paths:
            raise _Refused(f"artifacts/{label}/{MANIFEST}: missing, so {label} is not a whole artifact; it was skipped.")
        checked.sort(key=lambda f: f["path"] != MANIFEST)  # the manifest first: cheapest to refuse on
        name = raw.get("name")
        return {"kind": kind, "id": artifact_id, "name": name if isinstance(name, str) else "", "files": checked}

    def _report_entry(self, raw, position: int) -> dict:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise _Refused(f"Report entry {position} of bundle.json has no id; it was skipped.")
        rid = raw["id"]
        self.listed.add(f"{REPORTS}/{rid}.json")
        if not _valid_report_id(rid):
            raise _Refused(f"{REPORTS}/{_show(rid)}.json: skipped, '{_show(rid)}' is not a valid report id "
                           "(letters and digits only).")
        if not (type(raw.get("size")) is int and raw["size"] >= 0 and isinstance(raw.get("sha256"), str)
                and re.fullmatch(r"[0-9a-f]{64}", raw["sha256"])):
            raise _Refused(f"{REPORTS}/{rid}.json: skipped, bundle.json gives no size and sha256 for it.")
        return {"id": rid, "size": raw["size"], "sha256": raw["sha256"]}

    def unlisted(self) -> list[str]:
        return [f"{_show(name)}: ignored, bundle.json does not list it." for name in self.members if name not in self.listed]

    # one entry -----------------------------------------------------------------------------------------
    def read(self, member: str, sink: BinaryIO | None) -> tuple[int, str, bytes]:
        """Inflate a member into ``sink`` in chunks under the caps; (size, sha256, first bytes). Raises
        ``_Refused`` when the member is absent or unreadable, ``UserError`` when it breaks a cap."""
        info = self.members.get(member)
        if info is None:
            raise _Refused(f"{_show(member)}: missing from the zip")
        if info.flag_bits & 0x1:
            raise _Refused(f"{_show(member)}: refused, it is encrypted")
        try:
            with self.zip.open(info) as src:
                size, digest, head = _stream(src, sink, member=member, declared=info.file_size,
                                             compressed=info.compress_size, budget=self.limits.max_total_bytes - self.total,
                                             limits=self.limits)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
            raise _Refused(f"{_show(member)}: could not be read ({exc}); the bundle is damaged there") from None
        self.total += size
        return size, digest, head

    def check_artifact(self, entry: dict, stage: Path | None) -> Manifest:
        """Read every file of one artifact (into ``stage`` when given), check it, return its manifest."""
        kind, artifact_id = entry["kind"], entry["id"]
        label = f"{kind} {artifact_id}"
        manifest = None
        for f in entry["files"]:
            rel = f["path"]
            member = f"artifacts/{kind}/{artifact_id}/{rel}"
            try:
                if _refused_suffix(rel):
                    raise _Refused(f"{member}: refused, {PurePosixPath(rel).suffix} files can hold a pickle (code that "
                                   "runs when it is loaded); bundles never carry one")
                if rel == MANIFEST and f["size"] > MAX_JSON_BYTES:
                    raise _Refused(f"{member}: refused, {_mib(f['size'])} is far more than a manifest needs")
                target = stage / rel if stage is not None else None
                keep = io.BytesIO() if rel == MANIFEST else None
                if target is not None:
                    target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("xb") if target is not None else _null() as sink:
                    size, digest, head = self.read(member, _Tee(sink, keep))
                if size != f["size"] or digest != f["sha256"]:
                    raise _Refused(f"{member}: refused, its content does not match bundle.json "
                                   f"({'size' if size != f['size'] else 'sha256'} differs), so it was damaged or changed")
                problem = _content_problem(rel, head, size)
                if problem is None and target is not None and rel.endswith(".npy"):
                    problem = _npy_load_problem(target)
                if problem:
                    raise _Refused(f"{member}: refused, it {problem}")
                if keep is not None:
                    manifest = _manifest(keep.getvalue(), kind, artifact_id, member)
            except OSError as exc:  # the staging folder: a file and a folder of the same name, a full disk
                raise _Refused(f"{member}: could not be written to {stage} ({exc.strerror or exc}); "
                               f"{label} was not imported.") from None
            except _Refused as exc:
                raise _Refused(f"{exc}; {label} was not imported.") from None
        assert manifest is not None  # the entry lists the manifest (checked when it was read)
        return manifest

    def check_report(self, entry: dict) -> bytes:
        member = f"{REPORTS}/{entry['id']}.json"
        try:
            if entry["size"] > MAX_JSON_BYTES:
                raise _Refused(f"{member}: refused, {_mib(entry['size'])} is far more than a report needs")
            size, digest, head = self.read(member, keep := io.BytesIO())
            if size != entry["size"] or digest != entry["sha256"]:
                raise _Refused(f"{member}: refused, its content does not match bundle.json, so it was damaged or changed")
            problem = _content_problem(member, head, size) or _report_problem(keep.getvalue(), entry["id"])
            if problem:
                raise _Refused(f"{member}: refused, it {problem}")
        except _Refused as exc:
            raise _Refused(f"{exc}; the report was not imported.") from None
        return keep.getvalue()


def _stream(src: BinaryIO, sink: BinaryIO | None, *, member: str, declared: int, compressed: int, budget: int,
            limits: ZipLimits) -> tuple[int, str, bytes]:
    """Copy ``src`` to ``sink`` chunk by chunk, stopping at the caps however much the headers promised.

    ``declared``/``compressed`` are the header's sizes, ``budget`` what is left of the bundle's total."""
    digest, size, head = hashlib.sha256(), 0, bytearray()
    while chunk := src.read(CHUNK):
        size += len(chunk)
        if size > budget:
            raise _refuse(f"it unpacks to more than the {_mib(limits.max_total_bytes)} a bundle may hold "
                          f"(reached while reading {_show(member)!r})")
        if size > limits.ratio_floor and size > limits.max_ratio * max(compressed, 1):
            raise _refuse(f"its entry {_show(member)!r} expands more than {limits.max_ratio:,.0f}× while it is read, "
                          "which is how zip bombs look")
        if size > declared:
            raise _refuse(f"its entry {_show(member)!r} holds more than the {declared:,} bytes its header claims")
        digest.update(chunk)
        if len(head) < HEAD:
            head += chunk[: HEAD - len(head)]
        if sink is not None:
            sink.write(chunk)
    return size, digest.hexdigest(), bytes(head)
