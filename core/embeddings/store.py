"""Vectors artifacts in the workspace: ids, loading, listing, and imported pretrained files.

A vectors artifact holds the vectors in ``vectors.py``'s safe format, ``training.json`` (the
training curve and the full benchmark scores) and a manifest whose metrics carry the headline
numbers the leaderboard shows.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from core.embeddings import evaluate, quality
from core.embeddings.catalog import KIND
from core.embeddings.config import EmbeddingConfig
from core.embeddings.vector_files import import_vectors
from core.embeddings.vectors import Vocabulary, load_kv, load_vocabulary, save_kv
from core.jobs import NoJob
from core.workspace import Manifest, Workspace

if TYPE_CHECKING:  # gensim where vectors are loaded or written, not where they are listed
    from gensim.models import KeyedVectors

DETAILS = "training.json"


def vectors_id(tokens_id: str, config: EmbeddingConfig) -> str:
    return Workspace.artifact_id(KIND, config.relevant(), parents=[tokens_id])


def write_vectors(folder: Path, kv: KeyedVectors, curve: list[dict], ctx, *, epochs: int | None = None) -> dict:
    """Save vectors + curve + benchmark scores into an artifact folder; return headline metrics
    (with the quality verdict; ``epochs`` is None for imported vectors)."""
    ctx.progress(0.97, "Evaluating on the word-similarity and analogy benchmarks")
    scores = evaluate.evaluate_all(kv)
    save_kv(kv, folder)
    (folder / DETAILS).write_text(json.dumps({"curve": curve, "scores": scores}))
    google = scores.get("google", {})
    return {"words": len(kv), "dim": kv.vector_size,
            "analogy_accuracy": google.get("accuracy"), "analogy_coverage": google.get("coverage"),
            "wordsim353": scores.get("wordsim353", {}).get("spearman"),
            "simlex999": scores.get("simlex999", {}).get("spearman"),
            "quality": quality.assess(kv, epochs=epochs, scores=scores)}


def load_vectors(ws: Workspace, artifact_id: str) -> KeyedVectors:
    return load_kv(ws.path(KIND, artifact_id))


def vocabulary(ws: Workspace, artifact_id: str) -> Vocabulary:
    return load_vocabulary(ws.path(KIND, artifact_id))


def quality_of(ws: Workspace, manifest: Manifest) -> dict:
    """The stored verdict, or one measured now for a model made before verdicts existed."""
    stored = manifest.metrics.get("quality")
    if stored:
        return stored
    return quality.assess(load_vectors(ws, manifest.id), epochs=manifest.config.get("epochs"),
                          scores=load_details(ws, manifest.id)["scores"])


def load_details(ws: Workspace, artifact_id: str) -> dict:
    path = ws.path(KIND, artifact_id) / DETAILS
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"curve": [], "scores": {}}


def import_file(ws: Workspace, path: Path, *, fmt: str = "auto", limit: int | None = None, name: str = "",
                ctx=None) -> Manifest:
    """Validate and import a pretrained vector file (never a pickle) as a vectors artifact."""
    ctx = ctx or NoJob()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    config = {"imported": name or path.name, "sha256": digest.hexdigest(), "format": fmt, "limit": limit}
    artifact_id = Workspace.artifact_id(KIND, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)

    def write(folder: Path) -> dict:
        ctx.progress(0.1, f"Reading {name or path.name}")
        kv, info = import_vectors(path, fmt, limit=limit, name=name or path.name)
        ctx.check_cancelled()
        return {**write_vectors(folder, kv, [], ctx), "import": info}

    return ws.create(KIND, artifact_id, name=f"{name or path.name} · imported", config=config, write=write)
