"""Read a zip archive in memory, defensively: no extraction to disk, bounded sizes.

Refused members (reported, the rest still read): ``../`` or absolute names, nested
archives, encrypted members, and anything past the caps on member count, total
uncompressed size and compression ratio. Sizes are enforced while reading, not only from
the headers, because a zip bomb can lie in its headers.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.errors import UserError

ARCHIVE_EXTENSIONS = {".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar", ".jar"}


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 10_000
    max_total_bytes: int = 1 << 30  # uncompressed, all members together
    max_ratio: float = 200.0  # uncompressed / compressed, checked for members over ratio_floor
    ratio_floor: int = 1 << 20


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes


def read_zip(data: bytes, *, name: str, limits: ZipLimits = ZipLimits()) -> tuple[list[Member], list[str]]:
    """Return the readable members and a list of problems (one sentence each)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UserError(f"{name} is not a readable zip archive ({exc}).") from None
    files = [i for i in infos if not i.is_dir() and not _is_junk(i.filename)]
    if len(files) > limits.max_members:
        raise UserError(
            f"{name} holds {len(files):,} files; the limit is {limits.max_members:,}. "
            "Split it into smaller archives."
        )
    members, problems, total = [], [], 0
    for info in files:
        member_name = info.filename
        if _unsafe_path(member_name):
            problems.append(f"{member_name}: refused, its path points outside the archive.")
            continue
        if PurePosixPath(member_name).suffix.lower() in ARCHIVE_EXTENSIONS:
            problems.append(f"{member_name}: refused, archives inside archives are not opened.")
            continue
        if info.flag_bits & 0x1:
            problems.append(f"{member_name}: refused, it is encrypted.")
            continue
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            problems.append(
                f"{member_name}: refused, it expands {info.file_size / max(info.compress_size, 1):,.0f}× "
                f"(limit {limits.max_ratio:,.0f}×), which is how zip bombs look."
            )
            continue
        budget = limits.max_total_bytes - total
        if info.file_size > budget:
            raise UserError(
                f"{name} unpacks to more than {limits.max_total_bytes / 2**20:,.0f} MiB; "
                "that is over the limit. Upload fewer or smaller files."
            )
        try:
            with archive.open(info) as f:
                content = f.read(budget + 1)  # headers can lie: cap what we actually inflate
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
            problems.append(f"{member_name}: could not be read ({exc}).")
            continue
        if len(content) > budget:
            raise UserError(
                f"{name} unpacks to more than {limits.max_total_bytes / 2**20:,.0f} MiB "
                "(more than its headers claim); it was refused."
            )
        if content.startswith(b"PK\x03\x04"):
            problems.append(f"{member_name}: refused, archives inside archives are not opened.")
            continue
        total += len(content)
        members.append(Member(member_name, content))
    return members, problems


def _unsafe_path(member: str) -> bool:
    if member.startswith(("/", "\\")) or (len(member) > 1 and member[1] == ":"):
        return True
    return ".." in member.replace("\\", "/").split("/")


def _is_junk(member: str) -> bool:
    """macOS resource forks and hidden files that zip tools add on their own."""
    parts = member.replace("\\", "/").split("/")
    return parts[0] == "__MACOSX" or parts[-1].startswith(".")
