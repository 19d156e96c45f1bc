"""One index per corpus: every token as an integer, with document offsets and the vocabulary.

Built once as a job and kept in the workspace (``index`` artifacts, NumPy files read with
``allow_pickle=False``); every analysis query is vectorised over it, so nothing walks Python
objects per token at query time.

The tokens are the corpus' words under a light default tokenization (lowercase, punctuation
dropped, stopwords kept: collocations and keyness need the function words too), or any
``PipelineConfig`` the caller passes.

Example::

    m = build_index(ws, corpus_id)
    index = load_index(ws, m.id)
    index.ids[:10], index.vocab[index.ids[0]], index.doc_starts[:3]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from core.corpus.model import read_jsonl
from core.corpus.store import KIND as CORPUS
from core.corpus.store import jsonl_path
from core.errors import UserError
from core.jobs import NoJob
from core.preprocess import LANGUAGES, Pipeline, PipelineConfig
from core.workspace import Manifest, Workspace, atomic_write_text, read_artifact_files

KIND = "index"
DEFAULT = PipelineConfig(urls="drop", emails="drop", numbers="keep", emoji="drop", case="lower")


@dataclass(frozen=True, eq=False)
class CorpusIndex:
    """``ids[doc_starts[d]:doc_starts[d + 1]]`` are document ``d``'s tokens; ``vocab[i]`` is token ``i``."""

    ids: np.ndarray  # int32 (tokens,)
    doc_starts: np.ndarray  # int64 (documents + 1,)
    vocab: list[str]
    labels: list[str | None]  # one per document
    language: str = "english"  # as the index was tokenized (stopword lists follow it)

    @property
    def tokens(self) -> int:
        return int(self.ids.size)

    @property
    def documents(self) -> int:
        return int(self.doc_starts.size - 1)

    @cached_property
    def counts(self) -> np.ndarray:
        """Frequency of every vocabulary entry, int64 (vocab,)."""
        return np.bincount(self.ids, minlength=len(self.vocab)).astype(np.int64)

    @cached_property
    def doc_of(self) -> np.ndarray:
        """The document of every token, int32 (tokens,)."""
        return np.repeat(np.arange(self.documents, dtype=np.int32), np.diff(self.doc_starts))

    @cached_property
    def lookup(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.vocab)}

    def id_of(self, word: str) -> int:
        """The id of ``word`` (any case, as the index lowercases); a UserError that says so when absent."""
        word = (word or "").strip()
        if not word:
            raise UserError("Type a word.")
        for form in (word, word.lower()):
            if form in self.lookup:
                return self.lookup[form]
        raise UserError(f"'{word}' does not occur in this corpus ({self.tokens:,} tokens, "
                        f"{len(self.vocab):,} different words). Check the spelling.")


def config_for(language: str) -> PipelineConfig:
    """The light tokenization for a corpus in ``language`` (Chinese is segmented with jieba)."""
    return replace(DEFAULT, language=language if language in LANGUAGES else "english")


def index_id(corpus_id: str, config: PipelineConfig = DEFAULT) -> str:
    return Workspace.artifact_id(KIND, config.to_dict(), parents=[corpus_id])


def build_index(ws: Workspace, corpus_id: str, config: PipelineConfig = DEFAULT, ctx=None) -> Manifest:
    """Tokenize the corpus once into an index artifact (or return the one already built)."""
    ctx = ctx or NoJob()
    artifact_id = index_id(corpus_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    corpus = ws.manifest(CORPUS, corpus_id)
    n_docs = max(1, int(corpus.metrics.get("documents", 1)))
    pipe = Pipeline(config)

    def write(folder: Path) -> dict:
        lookup: dict[str, int] = {}
        chunks, lengths, labels = [], [], []
        step = max(1, n_docs // 100)
        for d, doc in enumerate(read_jsonl(jsonl_path(ws, corpus_id))):
            if d % step == 0:
                ctx.check_cancelled()
                ctx.progress(0.95 * d / n_docs, f"Indexing document {d + 1:,} of {n_docs:,}")
            words = [w for sentence in pipe.process(doc.text) for w in sentence]
            # setdefault per token: the one Python step per token, at build time only
            chunks.append(np.fromiter((lookup.setdefault(w, len(lookup)) for w in words), dtype=np.int32,
                                      count=len(words)))
            lengths.append(len(words))
            labels.append(doc.label)
        ids = np.concatenate(chunks) if chunks else np.zeros(0, np.int32)
        if ids.size == 0:
            raise UserError("This corpus has no words to analyse: every document is empty after tokenization.")
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        np.save(folder / "ids.npy", ids, allow_pickle=False)
        np.save(folder / "doc_starts.npy", starts, allow_pickle=False)
        atomic_write_text(folder / "vocab.json", json.dumps(list(lookup), ensure_ascii=False))
        atomic_write_text(folder / "labels.json", json.dumps(labels, ensure_ascii=False))
        ctx.progress(1.0, f"Indexed {ids.size:,} tokens")
        return {"tokens": int(ids.size), "types": len(lookup), "documents": len(lengths)}

    return ws.create(KIND, artifact_id, name=f"{corpus.name} · index", config=config.to_dict(), parents=[corpus_id],
                     write=write)


def load_index(ws: Workspace, artifact_id: str) -> CorpusIndex:
    files = read_artifact_files(ws, KIND, artifact_id, ["ids.npy", "doc_starts.npy", "vocab.json", "labels.json"],
                                "the index")
    ids, starts, vocab, labels = (files[n] for n in ("ids.npy", "doc_starts.npy", "vocab.json", "labels.json"))
    if ids.dtype != np.int32 or starts[-1] != ids.size or (ids.size and ids.max() >= len(vocab)):
        raise UserError(f"The index {artifact_id} does not hold together; delete it and build it again.")
    language = ws.manifest(KIND, artifact_id).config.get("language", "english")
    return CorpusIndex(ids=ids, doc_starts=starts, vocab=vocab, labels=labels, language=language)
