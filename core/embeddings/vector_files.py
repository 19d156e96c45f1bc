"""Vector files from and for other tools: import pretrained vectors, export a model.

No pickle crosses this boundary (see ``vectors.py``).

Import (``import_vectors``): word2vec text (header ``"V D"``), word2vec binary, GloVe text (no
   header) and fastText ``.vec`` (= word2vec text), sniffed or named. Uploads are untrusted, so
   the file is checked before anything big is allocated (size caps, a header that claims more
   than the file can hold) and every bad row is reported with its line number. We parse the
   files ourselves rather than through ``KeyedVectors.load_word2vec_format`` because gensim
   allocates ``V x D`` straight from the header, raises ``EOFError``/``ValueError`` without a line
   number, accepts NaN/inf, and only logs duplicates; the formats read are the ones it writes.

   Imported files carry no word frequencies. Their ``"count"`` vecattr is **0 (= unknown)** for
   every word and ``info["has_counts"]`` is False; the file's row order (usually most frequent
   first) is kept as the index order, so ``kv.index_to_key[:n]`` is the natural "top n".

Export (``export_vectors``, ``neighbours_csv``): word2vec text/binary, GloVe text, the
   TensorFlow Embedding Projector's two TSVs, and an Excel-safe CSV of neighbours. Whitespace
   cannot live inside a word in the word2vec/GloVe formats (it separates fields), so such
   characters are replaced by ``SPACE_MARK`` (U+2581 "▁", as SentencePiece does; chosen over "_"
   because "_" already joins phrases such as ``new_york``); the number changed is logged and
   returned as ``files.renamed``.

Example::

    kv, info = import_vectors(Path("glove.6B.50d.txt"), limit=50_000, name="glove.6B.50d.txt")
    info  # {"format": "glove-text", "words": 50000, "dim": 50, "dropped_duplicates": 0, ...}
    export_vectors(kv, "projector", out_dir)  # [out_dir/"vectors.tsv", out_dir/"metadata.tsv"]
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.embeddings.vectors import from_arrays, has_counts, word_counts
from core.errors import UserError

if TYPE_CHECKING:  # gensim where a file is read: the Embeddings page imports this module on every render
    from gensim.models.keyedvectors import KeyedVectors

log = logging.getLogger(__name__)

IMPORT_FORMATS = ("word2vec-text", "word2vec-binary", "glove-text", "fasttext-vec")
EXPORT_FORMATS = ("word2vec-text", "word2vec-binary", "glove-text", "projector")
EXPORT_FILENAMES = {
    "word2vec-text": "vectors.txt",
    "word2vec-binary": "vectors.bin",
    "glove-text": "vectors.glove.txt",
}
SPACE_MARK = "\u2581"  # "▁" stands in for whitespace inside a word in exported vector files

# Extensions whose only real content is a pickle (or a zip of pickles): refused by name alone.
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".joblib", ".model"}
_GENSIM_EXPORT = 'model.wv.save_word2vec_format("vectors.bin", binary=True)'
_FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")  # 0x2F4F16BA, first int of a Facebook fastText .bin
_HEAD_BYTES = 1 << 20  # the first line (a header, or a GloVe row) must fit in 1 MiB
_MAX_WORD_BYTES = 4096  # a word2vec-binary "word" longer than this is garbage, not a word
_CHUNK = 1 << 20


# ---------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportLimits:
    """Caps on an uploaded vector file; checked before anything of that size is allocated.

    ``max_bytes`` is not applied when ``limit=`` is given: then only the first rows are read.
    """

    max_bytes: int = 2 * 1024**3
    max_words: int = 2_000_000
    max_dim: int = 4096


def import_vectors(
    path: Path,
    fmt: str = "auto",
    *,
    limit: int | None = None,
    limits: ImportLimits = ImportLimits(),
    name: str = "",
) -> tuple[KeyedVectors, dict]:
    """Read a pretrained vector file someone uploaded; refuse anything unsafe or broken.

    ``fmt``: "auto" (sniffed), "word2vec-text", "word2vec-binary", "glove-text", "fasttext-vec".
    ``limit``: read only the first N rows (for huge files). ``name``: the file's name as the user
    knows it (uploads are stored under temporary names), used in messages and extension checks.

    Returns ``(kv, info)``; ``kv.vectors`` is float32 (words, dim), every "count" is 0 (unknown), and
    ``info = {"format", "words", "dim", "dropped_duplicates", "truncated_by_limit", "has_counts", "name"}``.
    Raises ``UserError`` with a sentence naming the file (and line) for every bad input.
    """
    path = Path(path)
    label = name or path.name
    if fmt not in ("auto", *IMPORT_FORMATS):
        raise UserError(f"Unknown vector format '{fmt}'. Choose one of: auto, {', '.join(IMPORT_FORMATS)}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(f"The word limit must be a whole number of at least 1, not {limit!r}.")
    _refuse_by_name(label, path)
    try:
        size = path.stat().st_size if path.is_file() else -1
    except OSError:
        size = -1
    if size < 0:
        raise UserError(f"{label} can't be found or isn't a file.")
    if size == 0:
        raise UserError(f"{label} is empty: there are no vectors in it.")
    if size > limits.max_bytes and limit is None:
        raise UserError(
            f"{label} is {_human(size)}, more than the {_human(limits.max_bytes)} Corpus Lab imports at once. "
            "Set a word limit to read only the first words, or use a smaller file."
        )
    # Values too big for float32 become inf (then refused by the finiteness check), without a warning.
    with path.open("rb") as f, np.errstate(over="ignore"):
        head = f.read(_HEAD_BYTES)
        _refuse_by_content(label, path, head)
        bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
        end = head.find(b"\n", bom)
        if end == -1:
            if size > len(head):
                raise UserError(f"{label} doesn't look like a word-vector file: its first line is longer than 1 MB.")
            end = len(head)
        first = head[bom:end]
        header = _parse_header(first)
        kind = _choose_format(label, fmt, first, header, head[end + 1 :])
        if header is None:
            f.seek(bom)
            words, vectors, dropped, truncated = _read_text(f, label, None, None, limit, limits, size)
        else:
            n_words, dim = _check_header(label, header, kind, limit, limits, size - (end + 1))
            f.seek(end + 1)
            reader = _read_binary if kind == "word2vec-binary" else _read_text
            words, vectors, dropped, truncated = reader(f, label, n_words, dim, limit, limits, size)
    from gensim.models.keyedvectors import KeyedVectors

    kv = from_arrays(KeyedVectors(vectors.shape[1]), words, vectors, np.zeros(len(words), np.int64))
    if dropped:
        log.info("%s: dropped %d duplicate words (kept the first of each)", label, dropped)
    info = {
        "format": kind,
        "words": len(words),
        "dim": int(vectors.shape[1]),
        "dropped_duplicates": dropped,
        "truncated_by_limit": truncated,
        "has_counts": False,
        "name": label,
    }
    return kv, info


def _refuse_by_name(label: str, path: Path) -> None:
    suffixes = {Path(label).suffix.lower(), path.suffix.lower()}
    if suffixes & _PICKLE_SUFFIXES:
        raise UserError(_pickle_message(label))


def _pickle_message(label: str, what: str = "a Python pickle (like gensim .model, .pkl and PyTorch .pt files)") -> str:
    return (
        f"{label} is {what}. Loading a pickle can run any code hidden inside it, so Corpus Lab never opens one. "
        "Export the vectors as word2vec text or binary instead; with gensim: "
        f"{_GENSIM_EXPORT}, then upload vectors.bin."
    )


def _refuse_by_content(label: str, path: Path, head: bytes) -> None:
    """Recognise files that are not vector files by their first bytes (magic numbers)."""
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:  # PROTO opcode + protocol 2..5
        raise UserError(_pickle_message(label))
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:  # reads only the zip directory; nothing is unpickled
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            names = []
        if any(n.endswith((".pkl", "/data/")) or "/data/" in n for n in names) or not names:
            raise UserError(_pickle_message(label, "a PyTorch/zip archive of pickles (a torch.save file)"))
        raise UserError(f"{label} is a zip archive. Unzip it and upload the .txt, .vec or .bin vector file inside.")
    if head.startswith(_FASTTEXT_MAGIC):
        raise UserError(
            f"{label} is a Facebook fastText binary model (.bin). It is not a pickle, but Corpus Lab can't read "
            "that format. fastText publishes a .vec text file next to every .bin: upload the .vec instead, or convert "
            "with gensim: load_facebook_vectors('model.bin').save_word2vec_format('model.vec')."
        )
    if head.startswith(b"\x93NUMPY"):
        raise UserError(f"{label} is a NumPy array without words. Upload word2vec or GloVe vectors (one word per row).")
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        raise UserError(f"{label} is compressed. Decompress it and upload the vector file inside.")


def _parse_header(first: bytes) -> tuple[int, int] | None:
    """(V, D) when line 1 is two whole numbers (a word2vec/fastText header), else None."""
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _choose_format(label: str, fmt: str, first: bytes, header, after_header: bytes) -> str:
    if header is None:
        try:
            first.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(
                f"{label} doesn't look like a word-vector file: it isn't text (GloVe, word2vec or .vec) and doesn't "
                "start with the 'words dimensions' header of a word2vec binary file."
            ) from None
        if fmt in ("word2vec-text", "fasttext-vec", "word2vec-binary"):
            shown = first[:60].decode("utf-8")
            raise UserError(
                f"{label} has no word2vec header: line 1 should be two numbers (word count and dimensions) but is "
                f"'{shown}'. If it is a GloVe file, choose glove-text (or auto)."
            )
        return "glove-text"
    if fmt == "glove-text":
        raise UserError(
            f"{label} starts with a word2vec header ('{header[0]} {header[1]}'), which GloVe files don't have. "
            "Choose word2vec text or auto."
        )
    if fmt != "auto":
        return fmt
    return "word2vec-text" if _is_text_row(after_header.split(b"\n", 1)[0], header[1]) else "word2vec-binary"


def _is_text_row(line: bytes, dim: int) -> bool:
    """Does the first row after a header read as text ``word x1 x2 …``? Binary float32 bytes never do.

    The number of values is not required to equal ``dim``: a text file whose header lies about
    the dimension must reach the text reader, which names the line, instead of being misread as binary.
    """
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    fields = line.split()
    return len(fields) >= 2 and _is_number(fields[-1]) and (len(fields) >= dim + 1 or all(map(_is_number, fields[1:])))


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _check_header(label: str, header, kind: str, limit, limits: ImportLimits, body_bytes: int) -> tuple[int, int]:
    """Refuse a header that claims too much or more than the file holds, before allocating anything."""
    claimed, dim = header
    if claimed < 1 or dim < 1:
        raise UserError(f"{label}'s header (line 1) says {claimed} words of {dim} dimensions: there are no vectors to read.")
    if dim > limits.max_dim:
        raise UserError(
            f"{label}'s header (line 1) claims {dim:,} dimensions per vector; Corpus Lab imports at most "
            f"{limits.max_dim:,}. The header is wrong or these are not word vectors."
        )
    wanted = claimed if limit is None else min(claimed, limit)
    if wanted > limits.max_words:
        raise UserError(
            f"{label}'s header (line 1) claims {claimed:,} words of {dim} dimensions (about "
            f"{_human(claimed * dim * 4)} of vectors), more than the {limits.max_words:,} words Corpus Lab imports. "
            "Set a word limit to read only the first words, or use a smaller file."
        )
    # Smallest possible row: a 1-byte word, a separator and per number 4 bytes (binary) or 2 (text: "0 ").
    per_row = 4 * dim + 2 if kind == "word2vec-binary" else 2 * dim + 1
    if wanted * per_row > body_bytes:
        raise UserError(
            f"{label}'s header (line 1) claims {claimed:,} words of {dim} dimensions, but the file is only "
            f"{_human(body_bytes)} after the header, too small to hold "
            f"{'them' if wanted == claimed else f'the first {wanted:,}'}. The header is wrong or the file was cut short."
        )
    return claimed, dim


class _Rows:
    """Grows a float32 (n, dim) matrix block by block, so no header has to be trusted for its size."""

    def __init__(self, dim: int, expected: int | None):
        self.dim = dim
        self.blocks: list[np.ndarray] = []
        self.block = np.empty((expected or 8192, dim), dtype=np.float32)
        self.n_in_block = 0

    def slot(self) -> np.ndarray:
        if self.n_in_block == len(self.block):
            self.blocks.append(self.block)
            self.block = np.empty((max(8192, len(self.block)), self.dim), dtype=np.float32)
            self.n_in_block = 0
        row = self.block[self.n_in_block]
        self.n_in_block += 1
        return row

    def matrix(self) -> np.ndarray:
        last = self.block[: self.n_in_block]
        if not self.blocks:
            return last.copy() if self.n_in_block < len(self.block) else last
        return np.concatenate([*self.blocks, last])


def _read_text(f, label: str, claimed: int | None, dim: int | None, limit, limits: ImportLimits, size: int):
    """Rows ``word x1 … xD`` (GloVe; word2vec text after its header line). Words may contain spaces."""
    first_line = 1 if claimed is None else 2
    wanted = claimed if limit is None else (limit if claimed is None else min(claimed, limit))
    dim_source = "the header (line 1) says" if dim is not None else None
    rows = _Rows(dim, wanted) if dim is not None else None
    index: dict[str, int] = {}
    words: list[str] = []
    n_rows = dropped = 0
    truncated = False
    line_no = first_line - 1
    for line_no, raw in enumerate(f, start=first_line):
        fields = raw.split()
        if not fields:
            continue  # blank lines carry nothing
        if wanted is not None and n_rows >= wanted:
            if limit is not None and (claimed is None or limit < claimed):
                truncated = True
                break
            raise UserError(
                f"{label}'s header (line 1) says {claimed:,} words, but line {line_no} starts another one. "
                "The header is wrong; fix its first number or use glove-text without the header."
            )
        if n_rows >= limits.max_words:
            raise UserError(
                f"{label} has more than {limits.max_words:,} words, the most Corpus Lab imports. "
                "Set a word limit to read only the first words."
            )
        if dim is None:  # GloVe: the first row fixes the dimension
            dim = _glove_dim(fields, label, line_no, limits)
            dim_source = f"line {line_no} has"
            rows = _Rows(dim, min(wanted or 8192, size // (2 * dim + 1) + 1))
        n = len(fields)
        if n == dim + 1:
            word_bytes, numbers = fields[0], fields[1:]
        elif n > dim + 1 and not _is_number(fields[n - dim - 1]):  # a word with spaces (GloVe 840B has some)
            word_bytes, numbers = raw.strip().rsplit(None, dim)[0], fields[n - dim :]
        else:
            what = f"{n - 1} numbers" if n > 1 else "a word and no numbers"
            raise UserError(
                f"{label}, line {line_no}: this row has {what}, but {dim_source} {dim}. "
                "All vectors in a file must have the same length; the file is damaged or mixes two files."
            )
        try:
            word = word_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{label}, line {line_no} isn't UTF-8 text. Save the file as UTF-8 and upload it again.") from None
        row = rows.slot()
        try:
            row[:] = np.array(numbers, dtype=np.float32)
        except ValueError:
            bad = next((x for x in numbers if not _is_number(x)), numbers[0])
            raise UserError(
                f"{label}, line {line_no}: '{bad.decode('utf-8', 'replace')[:40]}' is not a number "
                f"(in the vector of '{word[:40]}')."
            ) from None
        if not np.isfinite(row).all():
            raise UserError(
                f"{label}, line {line_no}: the vector of '{word[:40]}' holds a value that is not a finite number "
                "(NaN or infinity, or too large for 32-bit floats). The file is damaged; re-export it."
            )
        n_rows += 1
        if word in index:
            dropped += 1
            rows.n_in_block -= 1  # give the slot back: keep the first vector of a repeated word
            continue
        index[word] = len(words)
        words.append(word)
    if n_rows == 0:
        raise UserError(f"{label} holds no vectors (only blank lines{' after its header' if claimed else ''}).")
    if claimed is not None and n_rows < wanted:
        raise UserError(
            f"{label}'s header (line 1) says {claimed:,} words, but the file ends after {n_rows:,} (line {line_no}). "
            "The header is wrong or the file was cut short."
        )
    return words, rows.matrix(), dropped, truncated


def _glove_dim(fields: list[bytes], label: str, line_no: int, limits: ImportLimits) -> int:
    if len(fields) < 2 or not _is_number(fields[-1]):
        shown = b" ".join(fields)[:60].decode("utf-8", "replace")
        raise UserError(
            f"{label} doesn't look like a word-vector file: line {line_no} should be a word followed by numbers, "
            f"but starts '{shown}'."
        )
    dim = 0  # the numbers at the end of the row; whatever precedes them is the word
    while dim < len(fields) - 1 and _is_number(fields[len(fields) - 1 - dim]):
        dim += 1
    if dim > limits.max_dim:
        raise UserError(f"{label}, line {line_no}: vectors of {dim:,} numbers; Corpus Lab imports at most {limits.max_dim:,}.")
    return dim


def _read_binary(f, label: str, claimed: int, dim: int, limit, limits: ImportLimits, size: int):
    """word2vec binary: after the header, ``word<space>`` + dim little-endian float32, repeated."""
    wanted = claimed if limit is None else min(claimed, limit)
    vec_bytes = 4 * dim
    vectors = np.empty((wanted, dim), dtype=np.float32)  # size checked against the file in _check_header
    index: dict[str, int] = {}
    words: list[str] = []
    buf, pos, dropped = b"", 0, 0
    for i in range(wanted):
        while True:
            space = buf.find(b" ", pos)
            if space != -1 and len(buf) - (space + 1) >= vec_bytes:
                break
            if space == -1 and len(buf) - pos > _MAX_WORD_BYTES:
                raise _binary_garbage(label, i, dim)
            more = f.read(_CHUNK)
            if not more:
                if i == 0 and space == -1:
                    raise _binary_garbage(label, i, dim)
                raise UserError(
                    f"{label}'s header says {claimed:,} words of {dim} dimensions, but the file ends after {i:,} of them. "
                    "The header is wrong or the file was cut short."
                )
            buf, pos = buf[pos:] + more, 0
        word_bytes = buf[pos:space].lstrip(b"\r\n")  # the C tool ends each vector with "\n"
        try:
            word = word_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise _binary_garbage(label, i, dim) from None
        if not word or any(ord(c) < 32 and c != "\t" for c in word):  # control bytes: misaligned read
            raise _binary_garbage(label, i, dim)
        vec = np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + vec_bytes
        if not np.isfinite(vec).all():
            raise UserError(
                f"{label}: the vector of word {i + 1:,} ('{word[:40]}') holds a value that is not a finite number "
                "(NaN or infinity). The file is damaged, or its header's dimension is wrong."
            )
        if word in index:
            dropped += 1
            continue
        vectors[len(words)] = vec
        index[word] = len(words)
        words.append(word)
    truncated = wanted < claimed
    if not truncated and (buf[pos:] + f.read(_CHUNK)).strip():
        raise UserError(
            f"{label} goes on after the {claimed:,} words of {dim} dimensions its header announces. "
            "The header is wrong or the file is damaged."
        )
    if len(words) < wanted:
        vectors = vectors[: len(words)].copy()
    return words, vectors, dropped, truncated


def _binary_garbage(label: str, i: int, dim: int) -> UserError:
    return UserError(
        f"{label} can't be read as word2vec binary: word {i + 1:,} isn't readable text. The file is damaged, isn't a "
        f"word2vec file, or its header's dimension ({dim}) is wrong."
    )


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n} PB"


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


class ExportedFiles(list):
    """The paths written (a plain list of Path) plus ``renamed``: how many words had to change."""

    renamed: int = 0


_WHITESPACE = re.compile(r"\s")  # str patterns: ASCII and Unicode whitespace (also \x1c-\x1f, \x85, NBSP)
_TSV_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # tab + everything splitlines() splits on


def export_vectors(kv: KeyedVectors, fmt: str, dest: Path, *, precision: int = 6) -> list[Path]:
    """Write ``kv`` into the folder ``dest`` (created if needed) in one of ``EXPORT_FORMATS``.

    Files: word2vec-text → vectors.txt, word2vec-binary → vectors.bin, glove-text →
    vectors.glove.txt, projector → vectors.tsv + metadata.tsv. Rows follow ``kv.index_to_key``.
    Text formats write ``precision`` significant digits (float32 needs 9 for a bit-exact copy).
    Whitespace inside a word becomes ``SPACE_MARK`` (words that would then collide get one more);
    projector metadata only replaces tabs and line breaks. The returned list's ``renamed`` counts
    changed words. Each file appears whole or not at all (temp file + ``os.replace``).
    """
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"Unknown export format '{fmt}'. Choose one of: {', '.join(EXPORT_FORMATS)}.")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    vectors = np.asarray(kv.vectors, dtype=np.float32)
    dim = vectors.shape[1]
    out = ExportedFiles()
    if fmt == "projector":
        words, out.renamed = _safe_words(kv.index_to_key, _TSV_BREAKS)
        row_fmt = "\t".join([f"%.{precision}g"] * dim) + "\n"
        out.append(_write(dest / "vectors.tsv", (row_fmt % tuple(r) for r in vectors.tolist())))
        if has_counts(kv):
            counts = word_counts(kv).tolist()
            lines = (f"{w}\t{c}\n" for w, c in zip(["word", *words], ["count", *counts], strict=True))
        else:  # the Projector reads a single-column metadata file as labels only, without a header row
            lines = (f"{w}\n" for w in words)
        out.append(_write(dest / "metadata.tsv", lines))
    else:
        words, out.renamed = _safe_words(kv.index_to_key, _WHITESPACE)
        path = dest / EXPORT_FILENAMES[fmt]
        if fmt == "word2vec-binary":
            header = [f"{len(words)} {dim}\n".encode()]
            rows = (w.encode("utf-8") + b" " + v.astype("<f4").tobytes() for w, v in zip(words, vectors, strict=True))
            out.append(_write(path, _chain(header, rows), binary=True))
        else:
            row_fmt = " ".join([f"%.{precision}g"] * dim)
            header = [f"{len(words)} {dim}\n"] if fmt == "word2vec-text" else []
            rows = (f"{w} {row_fmt % tuple(v)}\n" for w, v in zip(words, vectors.tolist(), strict=True))
            out.append(_write(path, _chain(header, rows)))
    if out.renamed:
        log.warning("%d words contained whitespace/line breaks; written with %r instead", out.renamed, SPACE_MARK)
    return out


def _safe_words(words, pattern: re.Pattern) -> tuple[list[str], int]:
    taken = set(words)
    result, renamed = [], 0
    for w in words:
        safe = pattern.sub(SPACE_MARK, w) or SPACE_MARK
        if safe != w:
            renamed += 1
            while safe in taken:  # never let two rows carry the same word
                safe += SPACE_MARK
            taken.add(safe)
        result.append(safe)
    return result, renamed


def _chain(*parts):
    for part in parts:
        yield from part


def _write(path: Path, pieces, binary: bool = False) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            batch: list = []
            for piece in pieces:
                batch.append(piece)
                if len(batch) >= 4096:
                    f.write(_join(batch, binary))
                    batch.clear()
            f.write(_join(batch, binary))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _join(batch: list, binary: bool) -> bytes:
    return b"".join(batch) if binary else "".join(batch).encode("utf-8", "surrogatepass")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neighbours_csv(rows: list[dict], *, excel_bom: bool = False) -> bytes:
    """Rows such as ``{"word", "neighbour", "rank", "cosine"}`` → UTF-8 CSV bytes for download.

    Columns are the keys in first-seen order. Text cells that a spreadsheet would run as a formula
    (starting with = + - @ tab CR) get a leading ``'``; numbers are left alone so -0.12 stays a number.
    ``excel_bom=True`` prepends a byte-order mark so Excel shows non-Latin words correctly.
    """
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    if not columns:
        columns = ["word", "neighbour", "rank", "cosine"]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow([_safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([_safe_cell(row.get(c)) for c in columns])
    data = buf.getvalue().encode("utf-8", "surrogatepass")
    return (b"\xef\xbb\xbf" + data) if excel_bom else data


def _safe_cell(value):
    if value is None:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
