"""Readers: uploaded bytes → documents, one reader per format, problems reported per source.

A bad source never sinks the batch: its problems are reported and the other sources are
still read. Only when nothing at all could be read does ``read_sources`` raise.

Example::

    corpus = read_sources([Source("a.txt", b"one\\n\\ntwo")], ReadOptions(split="paragraph"))
    [d.text for d in corpus.documents]  # ['one', 'two']
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from core.corpus.archive import ZipLimits, read_zip
from core.corpus.decode import clean_text, decode_bytes
from core.corpus.model import Corpus, Document, SourceReport
from core.corpus.pdf import extract_pdf_pages
from core.errors import UserError

csv.field_size_limit(1 << 30)  # the default 128 KiB per field rejects long quoted documents

SPLITS = {"file": "one document per file", "paragraph": "split on blank lines", "line": "one document per line"}
TEXT_FIELD_GUESSES = ("text", "content", "body", "review", "sentence", "document", "abstract",
                      "message", "comment", "tweet", "description", "title")
LABEL_FIELD_GUESSES = ("label", "labels", "sentiment", "class", "category", "target", "polarity", "tag")
REFUSED = {".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".model", ".bin", ".npy", ".npz", ".joblib", ".h5"}
KINDS = {
    **dict.fromkeys(["", ".txt", ".md", ".markdown", ".text", ".rst", ".cor"], "text"),
    ".csv": "table", ".tsv": "table", ".tab": "table",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".zip": "zip", ".pdf": "pdf", ".docx": "docx",
}
SAMPLE_BYTES = 1 << 20  # what inspect_source decodes to show the encoding and the fields
UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in KINDS if ext)


@dataclass(frozen=True)
class Source:
    name: str
    data: bytes


@dataclass(frozen=True)
class ReadOptions:
    split: str = "file"  # one of SPLITS: how plain text becomes documents
    text_field: str | None = None  # CSV column / JSON field; None = guess
    label_field: str | None = None  # optional, kept as Document.label
    encoding: str | None = None  # None = detect


@dataclass(frozen=True)
class Limits:
    max_source_bytes: int = 500 << 20  # = server.maxUploadSize (MiB); 512 would read "1GB" in the upload box
    max_documents: int = 5_000_000
    zip: ZipLimits = field(default_factory=ZipLimits)
    pdf_timeout: float = 60.0


@dataclass
class SourceInfo:
    """What the page needs before reading: the kind, the encoding, the fields to pick from."""

    name: str
    kind: str
    encoding: str | None = None
    fields: list[str] = field(default_factory=list)
    problem: str | None = None


def kind_of(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in REFUSED:
        return "refused"
    return KINDS.get(suffix, "text")


def read_sources(
    sources: list[Source],
    options: ReadOptions = ReadOptions(),
    *,
    name: str = "corpus",
    limits: Limits = Limits(),
    progress: Callable[[float, str], None] | None = None,
) -> Corpus:
    if options.split not in SPLITS:
        raise UserError(f"Unknown split '{options.split}'; choose one of {', '.join(SPLITS)}.")
    documents: list[Document] = []
    reports: list[SourceReport] = []
    for i, source in enumerate(sources):
        if progress:
            progress(i / max(len(sources), 1), f"Reading {source.name}")
        for report, docs in _read_any(source, options, limits):
            reports.append(report)
            documents.extend(docs)
        if len(documents) > limits.max_documents:
            raise UserError(
                f"The input has more than {limits.max_documents:,} documents. Use a coarser split "
                "(e.g. one document per file) or a smaller input."
            )
    if not documents:
        problems = [f"{r.name}: {p}" for r in reports for p in r.problems] or ["no input was given"]
        raise UserError("No text could be read. " + " ".join(problems))
    return Corpus(name=name, documents=documents, reports=reports)


def inspect_source(source: Source, encoding: str | None = None) -> list[SourceInfo]:
    """Look at a source without reading it all; a zip yields one entry per member."""
    kind = kind_of(source.name)
    try:
        if kind == "zip":
            members, problems = read_zip(source.data, name=source.name)
            infos = [i for m in members for i in inspect_source(Source(f"{source.name}/{m.name}", m.data), encoding)]
            return infos + [SourceInfo(source.name, "zip", problem=p) for p in problems]
        if kind in ("table", "json"):
            decoded = decode_bytes(source.data[:SAMPLE_BYTES], encoding, name=source.name, partial=True)
            fields = _table_fields(decoded.text, source.name) if kind == "table" else _json_fields(decoded.text)
            return [SourceInfo(source.name, kind, decoded.encoding, fields)]
        if kind == "text":
            sample = decode_bytes(source.data[:SAMPLE_BYTES], encoding, name=source.name, partial=True)
            return [SourceInfo(source.name, kind, sample.encoding)]
        if kind == "refused":
            return [SourceInfo(source.name, kind, problem=_refused_message(source.name))]
        return [SourceInfo(source.name, kind)]
    except UserError as exc:
        return [SourceInfo(source.name, kind, problem=str(exc))]


def guess_field(fields: list[str], guesses: tuple[str, ...]) -> str | None:
    lowered = {f.lower(): f for f in fields}
    return next((lowered[g] for g in guesses if g in lowered), None)


# dispatch -------------------------------------------------------------------------------
def _read_any(source: Source, options: ReadOptions, limits: Limits):
    """Yield (report, documents) for a source; a zip yields one pair per member."""
    kind = kind_of(source.name)
    report = SourceReport(source.name, kind)
    if len(source.data) > limits.max_source_bytes:
        report.problems.append(
            f"it is {len(source.data) / 2**20:,.0f} MiB; the limit is {limits.max_source_bytes / 2**20:,.0f} MiB."
        )
        yield report, []
        return
    if not source.data or source.data.isspace():  # no .strip(): it would copy the upload
        report.problems.append("it is empty." if not source.data else "it holds only whitespace.")
        yield report, []
        return
    try:
        if kind == "zip":
            members, problems = read_zip(source.data, name=source.name, limits=limits.zip)
            report.problems.extend(problems)
            report.documents = 0
            yield report, []
            for member in members:
                yield from _read_any(Source(f"{source.name}/{member.name}", member.data), options, limits)
            return
        if kind == "refused":
            raise UserError(_refused_message(source.name))
        reader = {"text": _read_text, "table": _read_table, "json": _read_json, "pdf": _read_pdf, "docx": _read_docx}[kind]
        docs = reader(source, options, limits, report)
    except UserError as exc:
        report.problems.append(_without_name(str(exc), source.name))
        docs = []
    report.documents = len(docs)
    if not docs and not report.problems:
        report.problems.append("no text found in it.")
    yield report, docs


def _without_name(message: str, name: str) -> str:
    """Problems are listed under their source's name, so drop the name from the sentence."""
    if message.startswith(f"{name}: "):
        return message[len(name) + 2 :]
    if message.startswith(f"{name} "):
        return "it " + message[len(name) + 1 :]
    return message


def _refused_message(name: str) -> str:
    return (f"{name} is a model or pickle file. Corpus Lab never loads pickles from outside (they can "
            "run code); upload text, CSV, JSON, PDF or DOCX.")


def _decode(source: Source, options: ReadOptions, report: SourceReport) -> str:
    decoded = decode_bytes(source.data, options.encoding, name=source.name)
    report.encoding = decoded.encoding
    return decoded.text


# plain text ------------------------------------------------------------------------------
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def split_text(text: str, split: str) -> list[str]:
    if split == "file":
        parts = [text]
    elif split == "paragraph":
        parts = _BLANK_LINES.split(text)
    else:
        parts = text.split("\n")
    return [p for p in map(str.strip, parts) if p]


def _text_docs(text: str, source: str, split: str) -> list[Document]:
    return [Document(t, source) for t in split_text(text, split)]


def _read_text(source, options, limits, report) -> list[Document]:
    return _text_docs(_decode(source, options, report), source.name, options.split)


# tables ----------------------------------------------------------------------------------
def _sniff_delimiter(name: str, sample: str) -> str:
    if PurePosixPath(name).suffix.lower() in (".tsv", ".tab"):
        return "\t"
    try:
        return csv.Sniffer().sniff(sample[:64_000], delimiters=",\t;|").delimiter
    except csv.Error:
        # The sniffer gives up on quoted newlines and one-column files; count instead.
        first = sample.split("\n", 1)[0]
        return max(",\t;|", key=first.count) if any(c in first for c in ",\t;|") else ","


def _header(row: list[str]) -> list[str]:
    names = []
    for i, cell in enumerate(row):
        cell = cell.strip() or f"column {i + 1}"
        names.append(cell if cell not in names else f"{cell} ({i + 1})")
    return names


def _table_fields(text: str, name: str) -> list[str]:
    reader = csv.reader(io.StringIO(text[:64_000]), delimiter=_sniff_delimiter(name, text))
    return _header(next(reader, []))


def _read_table(source, options, limits, report) -> list[Document]:
    text = _decode(source, options, report)
    delimiter = _sniff_delimiter(source.name, text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = _header(next(reader, []))
    text_col = options.text_field or guess_field(header, TEXT_FIELD_GUESSES) or (header[0] if len(header) == 1 else None)
    if text_col is None:
        raise UserError(f"choose the text column (columns: {', '.join(header[:20])}).")
    if text_col not in header:
        raise UserError(f"has no column '{text_col}' (its columns: {', '.join(header[:20])}).")
    label_col = options.label_field if options.label_field in header else None
    if options.label_field and label_col is None:
        report.problems.append(f"has no label column '{options.label_field}'; documents have no label.")
    ti = header.index(text_col)
    li = header.index(label_col) if label_col else None
    docs, ragged, line = [], _LineList(), 1
    try:
        for row in reader:
            line = reader.line_num
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                ragged.add(line)
            text = row[ti].strip() if len(row) > ti else ""
            if not text:
                continue
            label = row[li].strip() or None if li is not None and li < len(row) else None
            docs.append(Document(text, source.name, label))
    except csv.Error as exc:
        report.problems.append(f"stopped at line {line + 1}: {exc}; the rows before it were kept.")
    if ragged:
        report.problems.append(f"{ragged.describe()} had a different number of fields than the header.")
    if len(header) == 1 and delimiter == ",":
        report.problems.append("only one column was found; if that is wrong, check the delimiter.")
    return docs


# JSON ------------------------------------------------------------------------------------
def _json_records(text: str):
    """Yield (line number, record or exception) from a JSON array/object or JSON Lines."""
    stripped = text.lstrip()
    if stripped[:1] in "[{":
        try:
            whole = json.loads(text)
        except (ValueError, RecursionError):
            whole = None  # maybe JSON Lines under a .json name: fall through
        else:
            if isinstance(whole, dict):
                lists = [v for v in whole.values() if isinstance(v, list)]
                whole = lists[0] if len(lists) == 1 else [whole]
            if isinstance(whole, list):
                yield from ((i + 1, r) for i, r in enumerate(whole))
                return
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except (ValueError, RecursionError) as exc:
                yield number, exc


def _json_fields(text: str) -> list[str]:
    fields: dict[str, None] = {}
    for i, (_, record) in enumerate(_json_records(text)):
        if isinstance(record, dict):
            fields.update(dict.fromkeys(record))
        if i > 1000:
            break
    return list(fields)


def _as_text(value) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return str(value)
    return None


def _read_json(source, options, limits, report) -> list[Document]:
    text = _decode(source, options, report)
    docs, bad, not_object, no_text = [], _LineList(), _LineList(), _LineList()
    field_name = options.text_field
    for number, record in _json_records(text):
        if isinstance(record, Exception):
            bad.add(number)
            continue
        if isinstance(record, str):
            if record.strip():
                docs.append(Document(record.strip(), source.name))
            continue
        if not isinstance(record, dict):
            not_object.add(number)
            continue
        if field_name is None:
            field_name = guess_field(list(record), TEXT_FIELD_GUESSES)
            if field_name is None:
                raise UserError(f"choose the text field (fields: {', '.join(list(record)[:20])}).")
        value = _as_text(record.get(field_name))
        if value is None:
            no_text.add(number)
            continue
        label = _as_text(record.get(options.label_field)) if options.label_field else None
        docs.append(Document(value, source.name, label))
    if bad:
        verb = "is not valid JSON and was" if len(bad) == 1 else "are not valid JSON and were"
        report.problems.append(f"{bad.describe()} {verb} skipped.")
    if not_object:
        verb = "is not an object and was" if len(not_object) == 1 else "are not objects and were"
        report.problems.append(f"{not_object.describe()} {verb} skipped.")
    if no_text:
        verb = "was" if len(no_text) == 1 else "were"
        report.problems.append(f"{no_text.describe()} had no text in field '{field_name}' and {verb} skipped.")
    return docs


class _LineList:
    """Line numbers for a message: the first few, then a count."""

    def __init__(self, show: int = 8):
        self.lines: list[int] = []
        self.count, self._show = 0, show

    def add(self, line: int) -> None:
        self.count += 1
        if len(self.lines) < self._show:
            self.lines.append(line)

    def __len__(self) -> int:
        return self.count

    def describe(self) -> str:
        shown = ", ".join(map(str, self.lines))
        more = f" and {self.count - len(self.lines):,} more" if self.count > len(self.lines) else ""
        return f"line{'s' if self.count > 1 else ''} {shown}{more}"


# PDF and DOCX ----------------------------------------------------------------------------
def _read_pdf(source, options, limits, report) -> list[Document]:
    pages = extract_pdf_pages(source.data, name=source.name, timeout=limits.pdf_timeout)
    report.encoding = "pdf text"
    text = "\n\n".join(p.strip() for p in pages)
    if not text.strip():
        raise UserError("no text layer was found (a scanned PDF needs OCR first).")
    return _text_docs(clean_text(text), source.name, options.split)


def _read_docx(source, options, limits, report) -> list[Document]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    # A .docx is a zip: apply the same bomb checks before python-docx inflates it.
    try:
        _, problems = read_zip(source.data, name=source.name, limits=limits.zip)
    except UserError:
        raise UserError("this is not a valid Word .docx file (a .docx is a zip package, and this is not one).") from None
    if problems:
        raise UserError("this .docx was refused: " + " ".join(problems))
    try:
        document = docx.Document(io.BytesIO(source.data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UserError(f"this is not a valid Word .docx file ({exc}).") from None
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        blocks.extend(cell.text for row in table.rows for cell in row.cells)
    report.encoding = "docx"
    return _text_docs(clean_text("\n\n".join(b.strip() for b in blocks if b.strip())), source.name, options.split)
