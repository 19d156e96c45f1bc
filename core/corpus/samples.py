"""Bundled sample corpora, all shipped inside gensim's test data (no download needed)."""

from __future__ import annotations

import bz2
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from core.corpus.decode import clean_text, decode_bytes
from core.corpus.model import Corpus, Document, SourceReport
from core.errors import UserError


@dataclass(frozen=True)
class Sample:
    key: str
    title: str
    file: str
    description: str


SAMPLES = {
    s.key: s
    for s in [
        Sample("lee", "Lee news corpus", "lee_background.cor",
               "300 Australian news stories (Lee et al., 2005), one per line. Small and quick: good for a first try."),
        Sample("polarity", "Movie-review polarity", "pang_lee_polarity.cor",
               "200 movie-review sentences labelled positive or negative (Pang & Lee); the label is kept."),
        Sample("wikipedia", "English Wikipedia (shortened)",
               "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
               "Some 200 English Wikipedia articles from a shortened dump, markup removed; about 3 MB of text."),
    ]
}


def gensim_test_data() -> Path:
    # find_spec locates the package without importing it (importing gensim takes seconds).
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("gensim is not installed, so the bundled samples are missing. Run `make run` to set up.")
    return Path(spec.submodule_search_locations[0]) / "test" / "test_data"


def load_sample(key: str) -> Corpus:
    if key not in SAMPLES:
        raise UserError(f"There is no sample '{key}'; choose one of {', '.join(SAMPLES)}.")
    sample = SAMPLES[key]
    path = gensim_test_data() / sample.file
    if not path.is_file():
        raise UserError(f"The sample file {sample.file} is missing from gensim's test data; reinstall gensim.")
    if key == "wikipedia":
        documents, encoding = _wikipedia(path, sample.file), "utf-8"
    else:
        # These files are not all UTF-8 (polarity has cp1252 dashes): decode them like any upload.
        decoded = decode_bytes(path.read_bytes(), name=path.name)
        lines = [line.strip() for line in decoded.text.split("\n") if line.strip()]
        documents, encoding = (_polarity if key == "polarity" else _lines)(lines, sample.file), decoded.encoding
    return Corpus(sample.title, documents, [SourceReport(sample.file, "sample", encoding, len(documents))])


def _lines(lines: list[str], source: str) -> list[Document]:
    return [Document(line, source) for line in lines]


def _polarity(lines: list[str], source: str) -> list[Document]:
    docs = []
    for line in lines:
        label, _, text = line.partition(" ")
        if text.strip() and label.startswith("__label__"):
            docs.append(Document(text.strip(), source, label.removeprefix("__label__")))
    return docs


_QUOTES = re.compile(r"'{2,}")
_BLANKS = re.compile(r"\n{3,}")


def _wikipedia(path: Path, source: str) -> list[Document]:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    docs = []
    with bz2.open(path) as f:
        for title, markup, _ in extract_pages(f):
            if markup.lstrip().upper().startswith("#REDIRECT"):
                continue
            text = _BLANKS.sub("\n\n", _QUOTES.sub("", filter_wiki(markup))).strip()
            if text:
                docs.append(Document(clean_text(text), f"{source}#{title}"))
    return docs
