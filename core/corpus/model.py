"""The corpus data model: documents with their source and an optional label."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(slots=True)  # not frozen: a frozen __init__ is 2.5x slower for millions of lines
class Document:
    text: str
    source: str  # file name, "archive.zip/member.txt", "pasted text" or a sample's name
    label: str | None = None  # e.g. a CSV label column, kept for colouring and fine-tuning

    def to_json(self) -> str:
        record = {"text": self.text, "source": self.source}
        if self.label is not None:
            record["label"] = self.label
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Document:
        record = json.loads(line)
        return cls(text=record["text"], source=record.get("source", ""), label=record.get("label"))


@dataclass
class SourceReport:
    """What happened to one input: how it was read and what was skipped, for the user."""

    name: str
    kind: str
    encoding: str | None = None
    documents: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    name: str
    documents: list[Document]
    reports: list[SourceReport] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [d.text for d in self.documents]

    @property
    def labels(self) -> list[str]:
        return sorted({d.label for d in self.documents if d.label is not None})

    def __len__(self) -> int:
        return len(self.documents)


def write_jsonl(documents: Iterable[Document], path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for doc in documents:
            f.write(doc.to_json())
            f.write("\n")


def read_jsonl(path) -> Iterator[Document]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield Document.from_json(line)
