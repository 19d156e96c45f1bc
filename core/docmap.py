"""The document map: one point per document, from the mean of its word vectors or from MiniLM.

``encoder="mean"``: a document's vector is the mean of its known words' unit vectors (unit, so a
few long, frequent words do not outweigh the rest), with words found by the same preprocessing
pipeline that made the model's tokens. ``encoder="minilm"``: the bundled all-MiniLM-L6-v2
sentence embedding (mean-pooled last layer over the first 256 tokens, as sentence-transformers
does). Projected like the word map and cached as a ``docmap`` artifact.

Example::

    m = build_doc_map(ws, vectors_id, corpus_id, ProjectionConfig(method="umap"))
    data = load_doc_map(ws, m.id)   # data.coords (n, 2), data.labels, data.previews
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.corpus.model import read_jsonl
from core.corpus.store import KIND as CORPUS
from core.corpus.store import jsonl_path
from core.embeddings.store import KIND as VECTORS
from core.embeddings.store import load_vectors
from core.errors import UserError
from core.jobs import NoJob, SubProgress
from core.preprocess import Pipeline, PipelineConfig
from core.projection import ProjectionConfig, project, trust_scores
from core.tokens import KIND as TOKENS
from core.workspace import Manifest, Workspace

KIND = "docmap"
PREVIEW = 200


@dataclass(frozen=True)
class DocMap:
    coords: np.ndarray  # float32 (n, dims)
    trust: np.ndarray  # float32 (n,)
    rows: np.ndarray  # int64 (n,): the documents' positions in the corpus
    labels: list[str]  # "" when the corpus has no labels
    previews: list[str]  # the start of each document, for hover
    words_used: np.ndarray  # int64 (n,): known words averaged per document


def pipeline_of(ws: Workspace, vectors_id: str) -> PipelineConfig:
    """The pipeline that made the model's tokens; lower-case defaults for imported vectors."""
    parents = ws.manifest(VECTORS, vectors_id).parents
    if parents and ws.exists(TOKENS, parents[0]):
        return PipelineConfig.from_dict(ws.manifest(TOKENS, parents[0]).config)
    return PipelineConfig()


def document_vectors(texts, kv, config: PipelineConfig, ctx=None, total: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vectors (n_kept, d) float32, kept document positions, known words per kept document)."""
    ctx = ctx or NoJob()
    pipe = Pipeline(config)
    index = kv.key_to_index
    unit = kv.get_normed_vectors()
    vectors, kept, used = [], [], []
    for i, text in enumerate(texts):
        if i % 200 == 0:
            ctx.check_cancelled()
            ctx.progress(0.4 * i / max(total, 1), f"Averaging word vectors: document {i + 1:,} of {total:,}")
        rows = [index[t] for sentence in pipe.process(text) for t in sentence if t in index]
        if rows:
            vectors.append(unit[rows].mean(axis=0))
            kept.append(i)
            used.append(len(rows))
    if len(vectors) < 4:
        raise UserError(f"Only {len(vectors)} documents contain words this model knows; a map needs at least 4.")
    return np.asarray(vectors, dtype=np.float32), np.asarray(kept, dtype=np.int64), np.asarray(used, dtype=np.int64)


def sentence_embeddings(texts: list[str], ctx=None, batch: int = 32) -> np.ndarray:
    """(n, 384) unit vectors from the bundled MiniLM encoder, mean-pooled over real tokens."""
    import torch

    from core import models

    ctx = ctx or NoJob()
    m = models.load(models.MINILM_ID, ctx=ctx)
    # Batches of similar length: a batch is padded to its longest text, so mixing a long text with
    # short ones makes every short one cost as much as the long one.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    ordered = [texts[i] for i in order]
    out = []
    for start in range(0, len(texts), batch):
        ctx.check_cancelled()
        ctx.progress(0.4 * start / max(len(texts), 1), f"Embedding documents {start + 1:,}–{min(start + batch, len(texts)):,}")
        enc = m.tokenizer(ordered[start:start + batch], padding=True, truncation=True, max_length=256, return_tensors="pt")
        with models.model_lock(m), torch.inference_mode():
            hidden = m.model(**enc.to(m.device)).last_hidden_state.float()
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
    vectors = np.empty((len(texts), out[0].shape[1]) if out else (0, 384), dtype=np.float32)
    if out:
        vectors[order] = np.concatenate(out)  # back to the texts' own order
    return vectors


def doc_map_id(vectors_id: str, corpus_id: str, config: ProjectionConfig, encoder: str = "mean") -> str:
    parents = [vectors_id, corpus_id] if encoder == "mean" else [corpus_id]  # MiniLM needs no word vectors
    return Workspace.artifact_id(KIND, {**config.to_dict(), "encoder": encoder}, parents=parents)


def build_doc_map(ws: Workspace, vectors_id: str, corpus_id: str, config: ProjectionConfig, ctx=None,
                  encoder: str = "mean") -> Manifest:
    ctx = ctx or NoJob()
    artifact_id = doc_map_id(vectors_id, corpus_id, config, encoder)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    corpus = ws.manifest(CORPUS, corpus_id)
    total = corpus.metrics.get("documents", 0)

    def write(folder: Path) -> dict:
        docs = list(read_jsonl(jsonl_path(ws, corpus_id)))
        if encoder == "minilm":
            keep = [i for i, d in enumerate(docs) if d.text.strip()]
            vectors = sentence_embeddings([docs[i].text for i in keep], ctx)
            rows, used = np.asarray(keep, dtype=np.int64), np.zeros(len(keep), dtype=np.int64)
        else:
            kv = load_vectors(ws, vectors_id)
            vectors, rows, used = document_vectors((d.text for d in docs), kv, pipeline_of(ws, vectors_id), ctx, total)
        config.validate(len(vectors))
        coords = project(vectors, config, ctx=SubProgress(ctx, 0.4, 0.9))
        ctx.progress(0.9, "Checking which neighbourhoods the map keeps")
        trust = trust_scores(vectors, coords, config.trust_k, metric=config.metric)
        for name, array in (("coords", coords), ("trust", trust), ("rows", rows), ("used", used)):
            np.save(folder / f"{name}.npy", np.asarray(array), allow_pickle=False)
        meta = [{"label": docs[r].label or "", "preview": docs[r].text[:PREVIEW]} for r in rows]
        (folder / "documents.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return {"documents": int(len(rows)), "skipped": int(total - len(rows)), "mean_trust": float(np.mean(trust))}

    return ws.create(KIND, artifact_id, name=f"Documents · {corpus.name}", config={**config.to_dict(), "encoder": encoder},
                     parents=[vectors_id, corpus_id] if encoder == "mean" else [corpus_id], write=write)


def load_doc_map(ws: Workspace, artifact_id: str) -> DocMap:
    folder = ws.path(KIND, artifact_id)
    meta = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
    load = lambda name: np.load(folder / f"{name}.npy", allow_pickle=False)
    return DocMap(coords=load("coords"), trust=load("trust"), rows=load("rows"), words_used=load("used"),
                  labels=[m["label"] for m in meta], previews=[m["preview"] for m in meta])

