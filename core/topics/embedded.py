"""Embedding topics, the BERTopic recipe: documents embedded with the bundled MiniLM, reduced with
UMAP, clustered with HDBSCAN, each cluster described by class-based TF-IDF.

Written here rather than taken from the ``bertopic`` package: it needs ``sentence-transformers``,
whose install would pull a second torch build next to the pinned CPU one, and it pickles its
models; the four steps are a few dozen lines over pieces Corpus Lab already has
(``core.docmap.sentence_embeddings``, ``core.umap_jit``, scikit-learn's HDBSCAN, the analysis index).

Stored like LDA (``core.topics.lda``): topic-word weights (c-TF-IDF, rows sum to 1), one-hot
document memberships (outliers: a row of zeros, counted), the clusters' centroids in the embedding
space (to place a new text), vocabulary and coherence — NumPy and JSON, no pickle.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.corpus.store import load_documents
from core.errors import UserError
from core.jobs import NoJob, SubProgress
from core.topics.lda import KIND, LdaConfig, _bags, coherence_of
from core.workspace import Manifest, Workspace, atomic_write_text, package_versions


@dataclass(frozen=True)
class ClusterConfig:
    min_cluster_size: int = 0  # 0: automatic, see cluster_size
    neighbours: int = 15
    dims: int = 5
    seed: int = 42

    def to_dict(self) -> dict:
        return {"method": "embedding", **asdict(self)}


def embedded_id(corpus_id: str, config: ClusterConfig) -> str:
    return Workspace.artifact_id(KIND, config.to_dict(), parents=[corpus_id])


def c_tf_idf(tf: np.ndarray) -> np.ndarray:
    """Class-based TF-IDF (Grootendorst 2022): a word's frequency in a cluster, weighted by
    log(1 + average words per cluster / its frequency over all clusters); rows normalised to sum to 1."""
    tf = np.asarray(tf, dtype=np.float64)
    average = tf.sum() / max(tf.shape[0], 1)
    idf = np.log(1 + average / np.maximum(tf.sum(axis=0), 1e-12))
    weights = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1e-12) * idf
    return weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)


def cluster_size(documents: int) -> int:
    """HDBSCAN's smallest cluster when the user leaves it to us: about √n / 2 (Lee's 300 → 9, 2,000 → 22,
    10,000 → 50), which gave 13–30 topics with a quarter of the documents left as outliers on the bench
    corpora. The earlier n / 40 grew too fast: 3 topics from 2,000 sentences, 2 from 10,000."""
    return max(5, round(documents ** 0.5 / 2))


def reduce(vectors: np.ndarray, config: ClusterConfig) -> np.ndarray:
    """UMAP to ``config.dims`` on an exact cosine kNN graph (sklearn, as the word map does below 20,000
    points: pynndescent's 10–16 s compile cannot be cached). At most 200 epochs: umap-learn's own count for
    big data, where its 500 for ≤ 10,000 points cost 10,000 sentences 25 s and clustering nothing."""
    import warnings

    from core.projection import _knn
    from core.umap_jit import load_umap, numba_guard

    neighbours = min(config.neighbours, len(vectors) - 1)
    ind, dist, _ = _knn(vectors, neighbours, seed=config.seed, exact=True)
    dist = dist * dist / 2  # unit vectors: |a - b|² / 2 = 1 - cos(a, b)
    reducer = load_umap().UMAP(n_neighbors=neighbours, n_components=config.dims, min_dist=0.0, metric="cosine",
                               random_state=config.seed, precomputed_knn=(ind, dist),
                               n_epochs=None if len(vectors) <= 2_000 else 200)
    with numba_guard(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state"
        return reducer.fit_transform(vectors)


def cluster(reduced: np.ndarray, size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=size, copy=True).fit_predict(reduced)


def build_embedded(ws: Workspace, corpus_id: str, config: ClusterConfig, ctx=None, *,
                   language: str = "english") -> Manifest:
    ctx = ctx or NoJob()
    artifact_id = embedded_id(corpus_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    began = time.perf_counter()
    from core.analysis import build_index, config_for, load_index  # here: the Map page imports this module

    index = load_index(ws, build_index(ws, corpus_id, config_for(language)).id)
    if index.documents < 20:
        raise UserError(f"Embedding topics cluster documents: this corpus has {index.documents}, and clusters need at "
                        "least 20. Use LDA, or split long texts into paragraphs when you bring the corpus in.")
    texts = [d.text for d in load_documents(ws, corpus_id)]
    from core.docmap import sentence_embeddings

    vectors = sentence_embeddings(texts, SubProgress(ctx, 0.0, 0.5))  # 0.4 of that span is its own scale
    ctx.progress(0.5, "Reducing with UMAP")
    ctx.check_cancelled()
    reduced = reduce(vectors, config)
    ctx.progress(0.75, "Clustering with HDBSCAN")
    ctx.check_cancelled()
    size = config.min_cluster_size or cluster_size(index.documents)
    labels = cluster(reduced, size)
    clusters = sorted(set(labels.tolist()) - {-1})
    if len(clusters) < 2:
        raise UserError(f"HDBSCAN found {len(clusters)} cluster(s) of at least {size} documents: the documents are too "
                        "alike or too few. Lower the minimum cluster size, or use LDA.")
    ctx.progress(0.85, "Describing the clusters (c-TF-IDF)")
    bags, vocab = _bags(index, LdaConfig(topics=2))
    tf = np.zeros((len(clusters), len(vocab)))
    row = {c: i for i, c in enumerate(clusters)}
    doc_topics = np.zeros((index.documents, len(clusters)), np.float32)
    for d, (bag, label) in enumerate(zip(bags, labels, strict=True)):
        if label >= 0:
            doc_topics[d, row[label]] = 1.0
            for w, c in bag:
                tf[row[label], w] += c
    topic_words = c_tf_idf(tf).astype(np.float32)
    centroids = np.stack([vectors[labels == c].mean(axis=0) for c in clusters]).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    tops = [[vocab[i] for i in np.argsort(-topic_words[k])[:10]] for k in range(len(clusters))]
    coherence = coherence_of(tops, bags, vocab)
    outliers = int((labels < 0).sum())

    def write(folder: Path) -> dict:
        np.save(folder / "topic_words.npy", topic_words, allow_pickle=False)
        np.save(folder / "doc_topics.npy", doc_topics, allow_pickle=False)
        np.save(folder / "alpha.npy", np.zeros(len(clusters), np.float32), allow_pickle=False)
        np.save(folder / "centroids.npy", centroids, allow_pickle=False)
        atomic_write_text(folder / "vocab.json", json.dumps(vocab, ensure_ascii=False))
        atomic_write_text(folder / "labels.json", json.dumps(index.labels, ensure_ascii=False))
        return {"method": "embedding", "topics": len(clusters), "documents": index.documents, "words": len(vocab),
                "outliers": outliers, "min_cluster_size": size, "seconds": round(time.perf_counter() - began, 2),
                **{f"coherence_{k}": round(v, 4) for k, v in coherence.items()}}

    corpus = ws.manifest("corpus", corpus_id)
    manifest = ws.create(KIND, artifact_id, name=f"Embedding topics ({len(clusters)}) · {corpus.name}",
                         config=config.to_dict(), parents=[corpus_id], write=write,
                         versions=package_versions("umap-learn", "scikit-learn", "transformers", "numpy"))
    ctx.progress(1.0, f"{len(clusters)} topics, {outliers:,} outlier documents")
    return manifest
