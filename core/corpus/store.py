"""Corpus artifacts: ingest (read → stats → save) and load back from the workspace.

An artifact folder holds ``documents.jsonl`` (also the download), ``stats.json``,
``frequencies.npy`` and ``doc_lengths.npy`` (no pickle) and the manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.corpus.model import Corpus, Document, read_jsonl, write_jsonl
from core.corpus.readers import Limits, ReadOptions, Source, read_sources
from core.corpus.samples import SAMPLES, load_sample
from core.jobs import NoJob
from core.stats import compute_stats
from core.workspace import Manifest, Workspace, package_versions

KIND = "corpus"


def upload_id(sources: list[Source], options: ReadOptions) -> str:
    digests = [[s.name, hashlib.sha256(s.data).hexdigest()] for s in sources]
    return Workspace.artifact_id(KIND, {"sources": digests, "options": asdict(options)})


def sample_id(key: str) -> str:
    return Workspace.artifact_id(KIND, {"sample": key})


def ingest_sources(ws: Workspace, sources: list[Source], options: ReadOptions, *, name: str,
                   limits: Limits = Limits(), ctx=None) -> Manifest:
    """Read uploaded sources into a corpus artifact (or return the existing identical one)."""
    ctx = ctx or NoJob()
    artifact_id = upload_id(sources, options)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)

    def progress(fraction: float, message: str) -> None:
        ctx.check_cancelled()
        ctx.progress(0.5 * fraction, message)

    corpus = read_sources(sources, options, name=name, limits=limits, progress=progress)
    config = {"options": asdict(options), "sources": [{"name": s.name, "bytes": len(s.data)} for s in sources]}
    return save_corpus(ws, corpus, artifact_id, config, ctx)


def ingest_sample(ws: Workspace, key: str, ctx=None) -> Manifest:
    ctx = ctx or NoJob()
    artifact_id = sample_id(key)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    ctx.progress(0.05, f"Reading the sample {SAMPLES[key].title}" if key in SAMPLES else "Reading")
    corpus = load_sample(key)
    return save_corpus(ws, corpus, artifact_id, {"sample": key}, ctx)


def save_corpus(ws: Workspace, corpus: Corpus, artifact_id: str, config: dict, ctx) -> Manifest:
    def count_progress(fraction: float, message: str) -> None:
        ctx.check_cancelled()
        ctx.progress(0.5 + 0.45 * fraction, message)

    stats = compute_stats(corpus.texts, count_progress)

    def write(folder: Path) -> dict:
        ctx.progress(0.95, "Saving")
        write_jsonl(corpus.documents, folder / "documents.jsonl")
        (folder / "stats.json").write_text(
            json.dumps({"summary": stats.summary, "top_words": stats.top_words,
                        "labels": corpus.labels, "reports": [asdict(r) for r in corpus.reports]}, ensure_ascii=False)
        )
        np.save(folder / "frequencies.npy", stats.frequencies, allow_pickle=False)
        np.save(folder / "doc_lengths.npy", stats.doc_lengths, allow_pickle=False)
        return stats.summary

    return ws.create(KIND, artifact_id, name=corpus.name, config=config, write=write,
                     versions=package_versions("charset-normalizer", "pypdf", "python-docx", "gensim"))


def load_documents(ws: Workspace, artifact_id: str) -> list[Document]:
    return list(read_jsonl(ws.path(KIND, artifact_id) / "documents.jsonl"))


def load_stats(ws: Workspace, artifact_id: str) -> dict:
    """The stored statistics: summary, top_words, labels, reports, frequencies, doc_lengths."""
    folder = ws.path(KIND, artifact_id)
    data = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    data["top_words"] = [tuple(x) for x in data["top_words"]]
    data["frequencies"] = np.load(folder / "frequencies.npy", allow_pickle=False)
    data["doc_lengths"] = np.load(folder / "doc_lengths.npy", allow_pickle=False)
    return data


def jsonl_path(ws: Workspace, artifact_id: str) -> Path:
    return ws.path(KIND, artifact_id) / "documents.jsonl"
