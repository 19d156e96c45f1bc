"""LDA topics (gensim) over the analysis index of a corpus, kept as an artifact without pickle.

The documents are the index's documents as bags of words, without stopwords, very short words,
words in fewer than ``min_df`` documents or in more than ``max_df_share`` of them. gensim's
``LdaModel`` learns the topics; the artifact keeps what showing and assigning need, as NumPy and
JSON: the topic-word probabilities, each document's topic shares, the vocabulary, the settings and
the coherence (u_mass and c_v on the same documents). A new text is assigned by LDA's own
variational inference against the stored topics (``assign``), so no pickled model is ever loaded.

Example::

    m = build_lda(ws, corpus_id, LdaConfig(topics=8))
    model = load_lda(ws, m.id)
    model.top_words(0, 10), model.doc_topics[:3], assign(model, "the bushfire burned near Sydney")
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.jobs import NoJob
from core.stats import stopwords
from core.workspace import Manifest, Workspace, atomic_write_text, package_versions, read_artifact_files

KIND = "topics"


@dataclass(frozen=True)
class LdaConfig:
    topics: int = 8
    passes: int = 10
    # gensim's names. Not "auto" by default: learned in small chunks, alpha ran away to 15 for one
    # topic on a planted corpus and every document leaned on it.
    alpha: str = "symmetric"  # "symmetric", "asymmetric" or "auto"
    eta: str = "symmetric"  # "symmetric" or "auto"
    seed: int = 42
    min_df: int = 2  # a word must occur in at least this many documents
    max_df_share: float = 0.5  # … and in at most this share of them
    max_words: int = 10_000

    def validate(self, documents: int) -> LdaConfig:
        if not 2 <= self.topics <= 100:
            raise UserError("Choose between 2 and 100 topics.")
        if not 1 <= self.passes <= 200:
            raise UserError("Choose between 1 and 200 passes.")
        if self.alpha not in ("auto", "symmetric", "asymmetric") or self.eta not in ("auto", "symmetric"):
            raise UserError("alpha: auto, symmetric or asymmetric; eta: auto or symmetric.")
        if documents < 2 * self.topics:
            raise UserError(f"{self.topics} topics need at least {2 * self.topics} documents; this corpus has "
                            f"{documents}. Choose fewer topics, or split long texts into paragraphs when you bring "
                            "the corpus in.")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LdaConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, eq=False)
class TopicModel:
    topic_words: np.ndarray  # float32 (topics, words): p(word | topic), rows sum to 1
    doc_topics: np.ndarray  # float32 (documents, topics): p(topic | document), rows sum to 1
    vocab: list[str]
    labels: list[str | None]  # the documents' labels
    coherence: dict  # {"u_mass": float, "c_v": float}
    alpha: np.ndarray  # float32 (topics,), for assigning new texts
    method: str = "lda"  # or "embedding" (core.topics.embedded)
    centroids: np.ndarray | None = None  # embedding topics: each cluster's unit centroid, to place a new text

    @property
    def topics(self) -> int:
        return int(self.topic_words.shape[0])

    def top_words(self, topic: int, n: int = 10, relevance: float = 1.0) -> list[tuple[str, float]]:
        """The topic's ``n`` most relevant words: λ·log p(w|t) + (1−λ)·log(p(w|t)/p(w)) (Sievert &
        Shirley 2014); λ = 1 is plain probability, lower λ favours words special to the topic."""
        p = self.topic_words[topic].astype(np.float64)
        marginal = np.maximum(self.word_share, 1e-12)
        score = relevance * np.log(p + 1e-12) + (1 - relevance) * np.log((p + 1e-12) / marginal)
        top = np.argsort(-score)[:n]
        return [(self.vocab[i], float(p[i])) for i in top]

    @property
    def word_share(self) -> np.ndarray:
        """p(word) over the corpus, from the topics weighted by their share of the documents."""
        weights = self.doc_topics.mean(axis=0)
        return (weights[:, None] * self.topic_words).sum(axis=0)


def _bags(index, config: LdaConfig):
    """(bags of words as gensim wants them, kept vocabulary) from the index's documents."""
    size = len(index.vocab)
    stop = stopwords(index.language)
    keep = np.array([len(w) > 2 and w not in stop and any(c.isalpha() for c in w) for w in index.vocab], bool)
    pairs = np.unique(index.doc_of.astype(np.int64) * size + index.ids)  # (document, word) once each
    df = np.bincount(pairs % size, minlength=size)
    keep &= (df >= config.min_df) & (df <= config.max_df_share * index.documents)
    if keep.sum() > config.max_words:
        cut = np.sort(index.counts[keep])[-config.max_words]
        keep &= index.counts >= cut
    kept = np.flatnonzero(keep)
    if kept.size < config.topics * 3:
        raise UserError(f"Only {kept.size} words are left after leaving out stopwords, rare and ubiquitous words: "
                        f"too few for {config.topics} topics. Choose fewer topics or bring a larger corpus.")
    new_id = np.full(size, -1, np.int64)
    new_id[kept] = np.arange(kept.size)
    bags = []
    for d in range(index.documents):
        ids = new_id[index.ids[index.doc_starts[d]:index.doc_starts[d + 1]]]
        ids = ids[ids >= 0]
        words, counts = np.unique(ids, return_counts=True)
        bags.append(list(zip(words.tolist(), counts.tolist(), strict=True)))
    if sum(1 for b in bags if b) < 2 * config.topics:
        raise UserError("Too few documents have words left to find topics in; choose fewer topics.")
    return bags, [index.vocab[i] for i in kept]


def lda_id(corpus_id: str, config: LdaConfig) -> str:
    return Workspace.artifact_id(KIND, {"method": "lda", **config.to_dict()}, parents=[corpus_id])


def _documents(ws: Workspace, corpus_id: str, config: LdaConfig, language: str, ctx):
    from core.analysis import build_index, config_for, load_index  # here: the Map page imports this module

    ctx.progress(0.02, "Indexing the corpus")
    index = load_index(ws, build_index(ws, corpus_id, config_for(language)).id)
    config.validate(index.documents)
    return (index, *_bags(index, config))


def _train(bags, vocab, config: LdaConfig, ctx, span: tuple[float, float] = (0.05, 0.85)):
    """(gensim LdaModel, {"u_mass": …, "c_v": …})."""
    model = _fit(bags, vocab, config, ctx, span)
    tops = [[vocab[w] for w, _ in model.get_topic_terms(t, 10)] for t in range(config.topics)]
    return model, coherence_of(tops, bags, vocab)


def _fit(bags, vocab, config: LdaConfig, ctx, span: tuple[float, float] = (0.05, 0.85)):
    """The gensim LdaModel, trained in one call that reports each pass."""
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel
    from gensim.models.callbacks import Metric

    lo, hi = span

    class Progress(Metric):  # gensim asks every "metric" for its value after each pass
        def __init__(self):
            self.logger, self.title, self.done = None, "progress", 0

        def get_value(self, **kwargs):
            self.done += 1
            ctx.check_cancelled()  # raised inside gensim: the training stops after this pass
            ctx.progress(lo + (hi - lo) * self.done / config.passes,
                         f"{config.topics} topics: pass {self.done} of {config.passes}")
            return self.done

    id2word = Dictionary.from_corpus(bags, id2word=dict(enumerate(vocab)))
    # Online updates in chunks of a tenth of the corpus: with gensim's default chunk of 2,000 a corpus
    # of a few hundred documents gets one update per pass, and 20 passes do not separate even planted
    # topics (tests/unit/test_topics.py); ten updates per pass do. Seeded: the same settings give the
    # same topics. One call, as plain gensim trains (a pass at a time by update() cost ~15 %).
    ctx.check_cancelled()
    model = LdaModel(corpus=bags, id2word=id2word, num_topics=config.topics, passes=config.passes,
                     alpha=config.alpha, eta=config.eta, random_state=config.seed,
                     chunksize=min(2000, max(8, len(bags) // 10)), update_every=1, eval_every=None,
                     callbacks=[Progress()])
    return model


def coherence_of(tops: list[list[str]], bags, vocab: list[str]) -> dict[str, float]:
    """u_mass and c_v (gensim) of topics given by their top words, on the documents they came from."""
    from gensim.corpora import Dictionary
    from gensim.models import CoherenceModel

    id2word = Dictionary.from_corpus(bags, id2word=dict(enumerate(vocab)))
    texts = [[vocab[w] for w, c in bag for _ in range(c)] for bag in bags]
    return {measure: float(CoherenceModel(topics=tops, corpus=bags, texts=texts, dictionary=id2word,
                                          coherence=measure, topn=10, processes=1).get_coherence())
            for measure in ("u_mass", "c_v")}


def build_lda(ws: Workspace, corpus_id: str, config: LdaConfig, ctx=None, *, language: str = "english") -> Manifest:
    """Learn LDA topics on the corpus (its analysis index is built first if missing)."""
    ctx = ctx or NoJob()
    artifact_id = lda_id(corpus_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    began = time.perf_counter()
    index, bags, vocab = _documents(ws, corpus_id, config, language, ctx)
    model, coherence = _train(bags, vocab, config, ctx)
    gamma, _ = model.inference(bags)
    doc_topics = (gamma / gamma.sum(axis=1, keepdims=True)).astype(np.float32)
    topic_words = model.get_topics().astype(np.float32)
    alpha = np.asarray(model.alpha, dtype=np.float32)

    def write(folder: Path) -> dict:
        np.save(folder / "topic_words.npy", topic_words, allow_pickle=False)
        np.save(folder / "doc_topics.npy", doc_topics, allow_pickle=False)
        np.save(folder / "alpha.npy", alpha, allow_pickle=False)
        atomic_write_text(folder / "vocab.json", json.dumps(vocab, ensure_ascii=False))
        atomic_write_text(folder / "labels.json", json.dumps(index.labels, ensure_ascii=False))
        return {"method": "lda", "topics": config.topics, "documents": index.documents, "words": len(vocab),
                "seconds": round(time.perf_counter() - began, 2),
                **{f"coherence_{k}": round(v, 4) for k, v in coherence.items()}}

    corpus = ws.manifest("corpus", corpus_id)
    manifest = ws.create(KIND, artifact_id, name=f"LDA {config.topics} topics · {corpus.name}",
                         config={"method": "lda", **config.to_dict()}, parents=[corpus_id], write=write,
                         versions=package_versions("gensim", "numpy"))
    ctx.progress(1.0, f"{config.topics} topics; coherence c_v {coherence['c_v']:.3f}")
    return manifest


def coherence_sweep(ws: Workspace, corpus_id: str, ks: list[int], config: LdaConfig, ctx=None, *,
                    language: str = "english") -> list[dict]:
    """c_v and u_mass of an LDA with each number of topics in ``ks`` (other settings from ``config``):
    ``[{"topics": 4, "c_v": 0.41, "u_mass": -2.3}, …]``, to suggest a number of topics."""
    ctx = ctx or NoJob()
    ks = sorted({int(k) for k in ks})
    if not ks:
        raise UserError("Give at least one number of topics.")
    _, bags, vocab = _documents(ws, corpus_id, replace(config, topics=max(ks)), language, ctx)
    rows = []
    for i, k in enumerate(ks):
        span = (0.05 + 0.9 * i / len(ks), 0.05 + 0.9 * (i + 1) / len(ks))
        _, coherence = _train(bags, vocab, replace(config, topics=k), ctx, span)
        rows.append({"topics": k, **coherence})
        ctx.metric(topics=k, **coherence)
    return rows


def load_lda(ws: Workspace, artifact_id: str) -> TopicModel:
    manifest = ws.manifest(KIND, artifact_id)
    method = manifest.config.get("method", "lda")
    names = ["topic_words.npy", "doc_topics.npy", "alpha.npy", "vocab.json", "labels.json"]
    files = read_artifact_files(ws, KIND, artifact_id, names + (["centroids.npy"] if method == "embedding" else []),
                                "the topic model")
    coherence = {k: manifest.metrics.get(f"coherence_{k}") for k in ("u_mass", "c_v")}
    return TopicModel(topic_words=files["topic_words.npy"], doc_topics=files["doc_topics.npy"], vocab=files["vocab.json"],
                      labels=files["labels.json"], coherence=coherence, alpha=files["alpha.npy"], method=method,
                      centroids=files.get("centroids.npy"))


def assign(model: TopicModel, text: str, *, language: str = "english", iterations: int = 100) -> np.ndarray:
    """p(topic | text) for a new text: LDA's variational inference for one document (Blei et al. 2003),
    against the stored topics (words the model does not know are ignored); for embedding topics, the
    text's MiniLM embedding against the clusters' centroids (a softmax of the cosines)."""
    if model.centroids is not None:
        from core.docmap import sentence_embeddings

        if not text.strip():
            raise UserError("Type a text to place.")
        sims = model.centroids @ sentence_embeddings([text])[0]
        weights = np.exp((sims - sims.max()) / 0.05)
        return (weights / weights.sum()).astype(np.float32)
    from scipy.special import digamma

    from core.analysis import config_for
    from core.preprocess import Pipeline

    lookup = {w: i for i, w in enumerate(model.vocab)}
    words = [lookup[w] for sentence in Pipeline(config_for(language)).process(text) for w in sentence if w in lookup]
    if not words:
        raise UserError("None of this text's words are in the topic model's vocabulary: type a longer text on the "
                        "corpus' subject.")
    ids, counts = np.unique(words, return_counts=True)
    beta = model.topic_words[:, ids].astype(np.float64)  # (topics, words)
    gamma = model.alpha.astype(np.float64) + counts.sum() / model.topics
    for _ in range(iterations):
        weights = np.exp(digamma(gamma))[:, None] * beta
        phi = weights / weights.sum(axis=0, keepdims=True)
        new = model.alpha + (phi * counts).sum(axis=1)
        if np.abs(new - gamma).mean() < 1e-5:
            gamma = new
            break
        gamma = new
    return (gamma / gamma.sum()).astype(np.float32)


def topic_map(model: TopicModel) -> np.ndarray:
    """Intertopic distance map, as LDAvis draws it: Jensen-Shannon distances between the topics'
    word distributions, laid out in 2-D by classical multidimensional scaling. (topics, 2) float."""
    p = model.topic_words.astype(np.float64) + 1e-12
    p /= p.sum(axis=1, keepdims=True)
    k = p.shape[0]
    d = np.zeros((k, k))
    for i in range(k):
        m = 0.5 * (p[i] + p)
        kl_i = (p[i] * np.log(p[i] / m)).sum(axis=1)
        kl_j = (p * np.log(p / m)).sum(axis=1)
        d[i] = np.sqrt(np.maximum(0.5 * (kl_i + kl_j), 0))
    j = np.eye(k) - np.ones((k, k)) / k
    b = -0.5 * j @ (d ** 2) @ j
    values, vectors = np.linalg.eigh(b)
    top = np.argsort(values)[::-1][:2]
    return vectors[:, top] * np.sqrt(np.maximum(values[top], 0))
