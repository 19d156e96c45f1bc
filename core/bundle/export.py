"""Writing a bundle: the chosen artifacts with their ancestors, and reports, streamed into one zip."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from pathlib import Path
from typing import BinaryIO

from core.bundle.checks import (
    BUNDLE_FORMAT,
    BUNDLE_LIMITS,
    CHUNK,
    INDEX,
    REPORTS,
    _check_kind,
    _kind_of,
    _mib,
    _refused_suffix,
    _report_problem,
    _show,
    _valid_report_id,
)
from core.corpus.archive import ZipLimits
from core.errors import UserError
from core.workspace import VERSION, Workspace


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
