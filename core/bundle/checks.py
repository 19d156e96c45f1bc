"""What a bundle may carry: the limits, the content checks (pickles, .npy headers, safetensors, manifests,
reports) and the small name rules, shared by export and import."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core.corpus.archive import ZipLimits, _unsafe_path
from core.errors import UserError
from core.workspace import Manifest, Workspace

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


class _Refused(Exception):
    """One entry is bad; the message says why (the rest of the bundle goes on)."""


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
