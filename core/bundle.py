"""Session bundles: chosen artifacts (with their ancestors) and reports, carried between workspaces as one zip.

Layout of a bundle::

    bundle.json                                  # format, created, corpus_lab version, what is inside + sha256 per file
    artifacts/<kind>/<id>/<relative file path>   # an artifact folder as it is on disk, manifest.json included
    reports/<id>.json                            # report documents (``<workspace>/reports/<id>.json``)

Example::

    data = export_bundle(ws, [("vectors", vid)], reports=["a1b2c3"])   # the vectors, their tokens and corpus
    info = inspect_bundle(data)                                         # what would arrive, what is refused
    result = import_bundle(other_ws, data)                              # result.added, .existing, .problems

Import trusts nothing in the zip. The whole bundle is refused (``UserError``, nothing written) when the
bundle itself is bad: not a zip, no or unreadable ``bundle.json``, an unknown format, a member name that
points outside the bundle (``../``, absolute, backslashes, drive letters), a zip bomb (the ``ZipLimits``
caps on members, total size and ratio, enforced while inflating, in chunks), too many members. A single
artifact or report is refused (one sentence in ``problems``, the rest still imported) when only it is
bad: an unknown kind, an id that is not a safe name, a missing, unreadable or mismatching manifest, a
file whose size or sha256 disagrees with ``bundle.json``, anything that could be a pickle (by name, by
its first bytes, a .npy that does not load with ``allow_pickle=False``). Members that ``bundle.json``
does not list are never read; they are reported and ignored. Every artifact is built in
``<root>/.tmp/`` and ``os.replace``d into ``<root>/<kind>/<id>`` once the whole bundle has been read, and
an artifact already in the workspace is kept as it is.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import math
import os
import re
import shutil
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, NamedTuple

from core.corpus.archive import ZipLimits, _unsafe_path
from core.errors import UserError
from core.workspace import MANIFEST, VERSION, Manifest, Workspace, atomic_write_bytes

BUNDLE_FORMAT = 1
INDEX = "bundle.json"
REPORTS = "reports"
# Every artifact kind the app writes (kept here, not imported, so this module stays light).
KINDS = ("corpus", "tokens", "vectors", "map", "docmap", "index", "topics", "classifier", "finetune")
# A bundle may be big (vectors, a fine-tuned model): 2 GiB uncompressed; the ratio cap is read_zip's.
BUNDLE_LIMITS = ZipLimits(max_members=50_000, max_total_bytes=2 << 30)
# Formats that are (or usually are) pickles: never carried, whatever is inside.
REFUSED_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".model")
MAX_JSON_BYTES = 64 << 20  # bundle.json, a manifest, a report: read into memory, so capped
CHUNK = 1 << 20
HEAD = (1 << 16) + 16  # first bytes kept for the content checks (a .npy header fits in 64 KiB)


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


class _Refused(Exception):
    """One entry is bad; the message says why (the rest of the bundle goes on)."""


# ---------------------------------------------------------------------------------------------------
# export


def closure(ws: Workspace, refs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``refs`` plus every ancestor (manifest parents, recursively), each once, parents before children.

    A parent id's kind is found by looking it up among ``KINDS``; a parent that is not in the workspace is
    skipped (``missing_parents`` names it). A ref that is not in the workspace is a ``UserError``.
    """
    ordered: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def visit(kind: str, artifact_id: str) -> None:
        if (kind, artifact_id) in seen:
            return
        seen.add((kind, artifact_id))
        for parent in ws.manifest(kind, artifact_id).parents:
            parent_kind = _kind_of(ws, parent)
            if parent_kind is not None:
                visit(parent_kind, parent)
        ordered.append((kind, artifact_id))

    for kind, artifact_id in refs:
        _check_kind(kind)
        visit(kind, artifact_id)
    return ordered


def missing_parents(ws: Workspace, refs: list[tuple[str, str]]) -> list[str]:
    """One sentence per parent of ``refs`` (or of their ancestors) that is not in the workspace."""
    found = []
    for kind, artifact_id in closure(ws, refs):
        for parent in ws.manifest(kind, artifact_id).parents:
            if _kind_of(ws, parent) is None:
                found.append(f"{kind} {artifact_id}: its parent {_show(parent)} is not in this workspace, "
                             "so the bundle goes without it.")
    return found


def export_bundle(ws: Workspace, refs: list[tuple[str, str]], reports: list[str] = (), *, with_parents: bool = True,
                  limits: ZipLimits = BUNDLE_LIMITS) -> bytes:
    """The chosen artifacts (with their ancestors unless ``with_parents=False``) and reports as a zip."""
    buffer = io.BytesIO()
    write_bundle(ws, refs, buffer, reports, with_parents=with_parents, limits=limits)
    return buffer.getvalue()


def write_bundle(ws: Workspace, refs: list[tuple[str, str]], out: BinaryIO, reports: list[str] = (), *,
                 with_parents: bool = True, limits: ZipLimits = BUNDLE_LIMITS) -> list[str]:
    """``export_bundle`` into a file object (files are streamed in chunks); returns the export's warnings."""
    refs, reports = list(refs), list(dict.fromkeys(reports))
    if not refs and not reports:
        raise UserError("Choose at least one artifact or report to put in the bundle.")
    for kind, _ in refs:
        _check_kind(kind)
    chosen = closure(ws, refs) if with_parents else list(dict.fromkeys(refs))
    warnings = missing_parents(ws, chosen) if with_parents else []
    plan = [(kind, artifact_id, _artifact_files(ws, kind, artifact_id)) for kind, artifact_id in chosen]
    report_data = [(rid, _report_bytes(ws, rid)) for rid in reports]
    total = sum(size for *_, files in plan for _, _, size in files) + sum(len(d) for _, d in report_data)
    if total > limits.max_total_bytes:
        raise UserError(f"The chosen artifacts come to {_mib(total)}; a bundle holds at most {_mib(limits.max_total_bytes)}. "
                        "Choose fewer (or leave out their parents).")
    created = time.time()
    stamp = time.localtime(max(created, 315_532_800))[:6]  # zip dates start in 1980
    index = {"format": BUNDLE_FORMAT, "created": created, "corpus_lab": VERSION, "warnings": warnings,
             "artifacts": [], "reports": []}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for kind, artifact_id, files in plan:
            listed = []
            for rel, path, size in files:
                member = f"artifacts/{kind}/{artifact_id}/{rel}"
                info = zipfile.ZipInfo(member, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                digest, written = hashlib.sha256(), 0
                try:
                    with path.open("rb") as src, z.open(info, "w", force_zip64=size > (1 << 30)) as dst:
                        while chunk := src.read(CHUNK):
                            digest.update(chunk)
                            dst.write(chunk)
                            written += len(chunk)
                except OSError as exc:
                    raise UserError(f"{kind} {artifact_id}: {rel} could not be read ({exc.strerror or exc}); was the "
                                    "artifact deleted while the bundle was made?") from None
                listed.append({"path": rel, "size": written, "sha256": digest.hexdigest()})
            manifest = ws.manifest(kind, artifact_id)
            index["artifacts"].append({"kind": kind, "id": artifact_id, "name": manifest.name,
                                       "parents": list(manifest.parents), "files": listed})
        for rid, data in report_data:
            info = zipfile.ZipInfo(f"{REPORTS}/{rid}.json", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            index["reports"].append({"id": rid, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        info = zipfile.ZipInfo(INDEX, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, json.dumps(index, indent=2, ensure_ascii=False))
    return warnings


def _artifact_files(ws: Workspace, kind: str, artifact_id: str) -> list[tuple[str, Path, int]]:
    """(relative posix path, path, size) of every regular file in an artifact folder, sorted; symlinks left out."""
    folder = ws.path(kind, artifact_id)
    if not ws.exists(kind, artifact_id):
        raise UserError(f"There is no {kind} '{artifact_id}' in the workspace {ws.root}.")
    files = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(top) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(folder).as_posix()
            if _refused_suffix(rel):
                raise UserError(f"{kind} {artifact_id} holds {rel}, a format that can hold a pickle, which a bundle never "
                                "carries; leave this artifact out of the bundle.")
            files.append((rel, path, path.stat().st_size))
    return files


def _report_bytes(ws: Workspace, report_id: str) -> bytes:
    if not _valid_report_id(report_id):
        raise UserError(f"{_show(report_id)!r} is not a valid report id (letters and digits only).")
    path = ws.root / REPORTS / f"{report_id}.json"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"There is no report {report_id} in the workspace; it may have been deleted.") from None
    except OSError as exc:
        raise UserError(f"Report {report_id} could not be read ({exc}).") from None
    problem = _report_problem(data, report_id)
    if problem:
        raise UserError(f"Report {report_id} {problem}; it cannot go into a bundle.")
    return data


# ---------------------------------------------------------------------------------------------------
# import


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


# ---------------------------------------------------------------------------------------------------
# content checks


def _content_problem(name: str, head: bytes, size: int) -> str | None:
    """Why a file's first bytes make it unsafe or broken (as the end of "it ..."), or None."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".safetensors":
        # Its first 8 bytes are a header length, which can look like a pickle's b"\x80\x02": check the format instead.
        length = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
        if length < 2 or 8 + length > size or head[8:9] != b"{":
            return "is not a safetensors file (its header is not safetensors' JSON)"
        return None
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return f"starts like a pickle (protocol {head[1]}), which can run code when it is loaded; bundles never carry one"
    if head.startswith(b"PK\x03\x04"):
        return "is a zip archive inside the bundle (the form torch uses for pickled checkpoints); it is not opened"
    if suffix == ".npy":
        return _npy_header_problem(head, size)
    return None


def _npy_header_problem(head: bytes, size: int) -> str | None:
    """Read a .npy header the way ``np.load(allow_pickle=False)`` does, from its first bytes only."""
    import numpy as np

    if not head.startswith(b"\x93NUMPY") or len(head) < 10:
        return "is not a .npy file"
    major = head[6]
    if major == 1:
        length, start = int.from_bytes(head[8:10], "little"), 10
    elif major in (2, 3) and len(head) >= 12:
        length, start = int.from_bytes(head[8:12], "little"), 12
    else:
        return f"is a .npy file of a version numpy does not read ({major})"
    if length > 10_000 or start + length > len(head):  # np.load's own limit (max_header_size)
        return "has a .npy header longer than numpy reads"
    try:
        header = ast.literal_eval(head[start : start + length].decode("utf-8" if major == 3 else "latin1"))
        dtype = np.lib.format.descr_to_dtype(header["descr"])
        shape = tuple(header["shape"])
        if not isinstance(header["fortran_order"], bool) or not all(type(n) is int and n >= 0 for n in shape):
            raise ValueError("bad shape or order")
    except (ValueError, TypeError, KeyError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        return f"has a damaged .npy header ({str(exc)[:80]})"
    if dtype.hasobject:
        return "is an array of Python objects, which loads only by unpickling; bundles never carry one"
    expected = start + length + math.prod(shape) * dtype.itemsize
    if size != expected:
        return f"is {size:,} bytes where its .npy header promises {expected:,}"
    return None


def _npy_load_problem(path: Path) -> str | None:
    """The real check, on the staged file: ``np.load(allow_pickle=False)`` (memory-mapped, so nothing big is read)."""
    import numpy as np

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        del array
    except (ValueError, OSError, EOFError) as exc:
        return f"does not load as a .npy array without pickle ({str(exc)[:120]})"
    return None


def _manifest(data: bytes, kind: str, artifact_id: str, member: str) -> Manifest:
    try:
        raw = json.loads(data.decode("utf-8"))
        manifest = Manifest.from_json(data.decode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise _Refused(f"{member}: refused, it is not a readable manifest ({str(exc)[:80]})") from None
    if manifest.kind != kind or manifest.id != artifact_id:
        raise _Refused(f"{member}: refused, it describes {_show(str(manifest.kind))} {_show(str(manifest.id))} but sits "
                       f"in the folder of {kind} {artifact_id}")
    if not isinstance(raw, dict) or not isinstance(manifest.name, str) or not isinstance(manifest.parents, list) \
            or not all(isinstance(p, str) for p in manifest.parents) or not isinstance(manifest.config, dict):
        raise _Refused(f"{member}: refused, it is not a readable manifest (its name, parents or config has the wrong type)")
    return manifest


def _report_problem(data: bytes, report_id: str) -> str | None:
    try:
        report = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        return f"is not valid JSON ({str(exc)[:80]})"
    if not isinstance(report, dict) or not isinstance(report.get("items"), list):
        return "is not a report (no list of items)"
    if "id" in report and report["id"] != report_id:
        return "names another report inside"
    return None


# ---------------------------------------------------------------------------------------------------
# small helpers


def _kind_of(ws: Workspace, artifact_id: str) -> str | None:
    if not isinstance(artifact_id, str) or not _safe_id(artifact_id):
        return None
    return next((kind for kind in KINDS if ws.exists(kind, artifact_id)), None)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UserError(f"'{_show(str(kind))}' is not a kind of artifact ({', '.join(KINDS)}).")


def _safe_id(value: str) -> bool:
    """As ``Workspace.path`` checks (letters, digits, - and _), ASCII only and at most 128 characters."""
    return 0 < len(value) <= 128 and value.isascii() and all(c.isalnum() or c in "-_" for c in value)


def _valid_report_id(value: object) -> bool:
    """As ``core.report.model.valid_id``: ASCII letters and digits, 1–64."""
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isalnum()


def _unsafe_member(name: str) -> bool:
    """A zip name that could land outside the folder it is unpacked in (or that tools read differently)."""
    if not name or "\\" in name or "\x00" in name or re.match(r"[A-Za-z]:", name) or _unsafe_path(name):
        return True
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    return any(part in ("", ".", "..") for part in parts)


def _refused_suffix(name: str) -> bool:
    return name.lower().endswith(REFUSED_SUFFIXES)


def _refuse(reason: str) -> UserError:
    return UserError(f"This bundle cannot be used: {reason}. Nothing was imported.")


def _show(text: str, limit: int = 80) -> str:
    """A name from the bundle, safe to put in a sentence: printable and cut short."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


class _Tee:
    """Write to a file (or nowhere) and, for small JSON files, to memory too."""

    def __init__(self, *sinks: BinaryIO | None):
        self.sinks = [s for s in sinks if s is not None]

    def write(self, data: bytes) -> None:
        for sink in self.sinks:
            sink.write(data)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None
