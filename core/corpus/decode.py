"""Bytes → clean text: refuse binaries, detect the encoding, normalise Unicode.

Order of detection: a byte-order mark (UTF-8/16/32), then strict UTF-8, then UTF-16
without a BOM (NUL bytes in every other position), then charset-normalizer. Whatever is
decoded is NFKC-normalised, newlines become ``\\n`` and control characters (NUL included)
are dropped, so later stages never see them.

Example::

    decode_bytes("café".encode("cp1252") * 50)  # -> Decoded(text="café…", encoding="cp1252")
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes

from core.errors import UserError

# Magic numbers of files people upload by mistake; named so the message can say what it is.
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program (ELF binary)"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\x93NUMPY", "a NumPy array"),
]
_PICKLE = re.compile(rb"\A\x80[\x02-\x05]")
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_BREAKS = re.compile(r"[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
SNIFF_BYTES = 64 * 1024
_TEXT_BYTES = bytes(range(0x20, 0x100)) + b"\t\n\r\x0c\x1b"  # deleted to count the control bytes

_PREFERRED = ["cp1252", "iso8859-1", "gb18030", "big5", "shift_jis", "euc_kr", "cp1251", "cp1250"]

# Offered as manual overrides in the UI; anything Python knows is accepted.
COMMON_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "gb18030", "gbk", "big5", "shift_jis",
                    "euc-kr", "cp1252", "latin-1", "cp1251", "koi8-r", "iso-8859-2"]


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def binary_kind(data: bytes) -> str | None:
    """What binary format ``data`` starts with, or None if it may be text."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if _PICKLE.match(data):
        return "a Python pickle (never loaded: it can run code)"
    return None


def decode_bytes(data: bytes, encoding: str | None = None, *, name: str = "the input",
                 partial: bool = False) -> Decoded:
    """Decode and clean ``data``. ``encoding`` forces a codec (bad bytes become U+FFFD);
    ``partial`` says ``data`` is a sample that may end inside a character."""
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            raise UserError(f"'{encoding}' is not an encoding Python knows. Pick one from the list.") from None
        return Decoded(clean_text(data.decode(codec, errors="replace")), codec)
    kind = binary_kind(data)
    if kind:
        raise UserError(f"{name} is {kind}, not text. Upload it with the right extension or pick a text file.")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return Decoded(clean_text(data.decode(codec, errors="replace")), codec)
    try:
        return Decoded(clean_text(data.decode("utf-8")), "utf-8")  # decoded once: no separate check
    except UnicodeDecodeError as exc:
        if partial and exc.reason == "unexpected end of data":
            return Decoded(clean_text(data[: exc.start].decode("utf-8", errors="replace")), "utf-8")
    codec = _detect_legacy(data, name)
    return Decoded(clean_text(data.decode(codec, errors="replace")), codec)


def _detect_legacy(data: bytes, name: str) -> str:
    """Neither a BOM nor UTF-8: UTF-16 without BOM, or ask charset-normalizer."""
    head = data[:SNIFF_BYTES]
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    if len(head.translate(None, _TEXT_BYTES)) > 0.05 * len(head):
        # No 8-bit text encoding uses these bytes; a file full of them is binary data.
        raise UserError(f"{name} looks like binary data, not text (it is full of control bytes).")
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise UserError(
            f"{name} could not be decoded as text in any known encoding. If it is text, "
            "choose its encoding by hand."
        )
    # charset-normalizer often ties cp1250/cp1252/cp1257 on Western text and then picks by
    # name, turning "è" into "č". Among equally good matches, take the most common codec.
    tied = {codecs.lookup(m.encoding).name for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)}
    return next((enc for enc in _PREFERRED if enc in tied), codecs.lookup(best.encoding).name)


def _utf16_without_bom(head: bytes) -> str | None:
    """ASCII-heavy UTF-16 has NUL in every other byte; pick the side they fall on."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def clean_text(text: str) -> str:
    """NFKC, ``\\n`` line breaks, no control characters (tabs and newlines stay).

    Separators (form feed between PDF pages, vertical tab, NEL, U+2028/9…) become newlines
    rather than vanishing, which would glue the words on either side together.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _BREAKS.search(text):
        text = _BREAKS.sub("\n", text)
    if not text.isascii():
        # Per line: is_normalized() gives up on the first combining mark and normalises
        # everything, so one odd line would make a whole 100 MB file pay (2x slower).
        lines = text.split("\n")
        changed = False
        for i, line in enumerate(lines):
            if not line.isascii() and not unicodedata.is_normalized("NFKC", line):
                lines[i] = unicodedata.normalize("NFKC", line)
                changed = True
        if changed:
            text = "\n".join(lines)
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    return text
