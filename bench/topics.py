"""Topic models: our LDA job against a plain gensim ``LdaModel`` with the same settings.

Usage: ``.venv/bin/python bench/topics.py [--quick]``. On the Lee sample and the Wikipedia sample
(``--quick``: Lee only), the same bags of words (the analysis index without stopwords, rare and
ubiquitous words), the same number of topics, passes, priors, chunk size and seed:

- *ours*: ``core.topics.lda._fit`` — one call that reports each pass (progress and Cancel);
- *peer*: ``gensim.models.LdaModel(corpus=…, passes=…)`` in one call;

both followed by the same coherence measures (timed apart). Alternating which goes first, median of 5. Prints the
seconds per stage and ends with ``RESULT topics_throughput_ratio=<peer s / ours s> goal>=0.9``
(the worst corpus).

*Embedding topics* (also ``--quick``): the stages of ``core.topics.build_embedded`` timed one by one
— MiniLM embedding, UMAP, HDBSCAN, c-TF-IDF — on the Lee sample's 300 documents and on 10,000 short
documents (sentences of the Lee sample and Wikipedia, 2,000 with ``--quick``). Goal: 10,000 short
documents in ≤ 2 minutes on 2 cores. There is no bertopic peer: the package needs
sentence-transformers, whose install pulls a second torch build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.analysis import build_index, load_index  # noqa: E402
from core.corpus.store import ingest_sample  # noqa: E402
from core.jobs import NoJob  # noqa: E402
from core.topics.lda import LdaConfig, _bags, _fit, coherence_of  # noqa: E402
from core.workspace import Workspace  # noqa: E402

GOAL = 0.9


def peer(bags, vocab, config: LdaConfig) -> float:
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    id2word = Dictionary.from_corpus(bags, id2word=dict(enumerate(vocab)))
    t0 = time.perf_counter()
    LdaModel(corpus=bags, id2word=id2word, num_topics=config.topics, passes=config.passes, alpha=config.alpha,
             eta=config.eta, random_state=config.seed, chunksize=min(2000, max(8, len(bags) // 10)), update_every=1,
             eval_every=None)
    return time.perf_counter() - t0


def ours(bags, vocab, config: LdaConfig) -> tuple[float, float]:
    """(training seconds, coherence seconds)."""
    t0 = time.perf_counter()
    model = _fit(bags, vocab, config, NoJob())
    train = time.perf_counter() - t0
    t1 = time.perf_counter()
    coherence_of([[vocab[w] for w, _ in model.get_topic_terms(t, 10)] for t in range(config.topics)], bags, vocab)
    return train, time.perf_counter() - t1


def embedding_stages(texts: list[str]) -> dict[str, float]:
    """Seconds of each stage of the embedding-topics recipe on ``texts``: the functions the job runs."""
    from core.docmap import sentence_embeddings
    from core.topics.embedded import ClusterConfig, c_tf_idf, cluster, cluster_size, reduce

    stages = {}
    t0 = time.perf_counter()
    vectors = sentence_embeddings(texts)
    stages["MiniLM embedding"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reduced = reduce(vectors, ClusterConfig())
    stages["UMAP to 5-D"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels = cluster(reduced, cluster_size(len(texts)))
    stages["HDBSCAN"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    words = sorted({w for t in texts for w in t.lower().split()})
    lookup = {w: i for i, w in enumerate(words)}
    clusters = sorted(set(labels.tolist()) - {-1})
    tf = np.zeros((max(1, len(clusters)), len(words)))
    for text, label in zip(texts, labels, strict=True):
        if label >= 0:
            for w in text.lower().split():
                tf[clusters.index(label), lookup[w]] += 1
    c_tf_idf(tf)
    stages["c-TF-IDF"] = time.perf_counter() - t0
    stages["topics found"] = float(len(clusters))
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the Lee sample only")
    args = parser.parse_args()
    samples = ["lee"] if args.quick else ["lee", "wikipedia"]
    config = LdaConfig(topics=10, passes=10)
    tmp = Path(tempfile.mkdtemp(prefix="corpus-lab-bench-topics-"))
    ratios = []
    print(f"\nLDA, {config.topics} topics, {config.passes} passes, symmetric priors, seed {config.seed}; "
          f"{os.cpu_count()} CPUs; median of 5, alternating which goes first.\n")
    print("| corpus | documents | words kept | index (s) | ours: training (s) | gensim LdaModel (s) | peer / ours | "
          "coherence c_v + u_mass (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    try:
        ws = Workspace(tmp)
        for key in samples:
            corpus = ingest_sample(ws, key)
            t0 = time.perf_counter()
            index = load_index(ws, build_index(ws, corpus.id).id)
            index_s = time.perf_counter() - t0
            bags, vocab = _bags(index, config)
            ours_s, peer_s, coherence_s = [], [], []
            for run in range(5):  # ~1 s each: five, alternating which goes first, for a steadier median
                if run % 2:
                    peer_s.append(peer(bags, vocab, config))
                train, coherence = ours(bags, vocab, config)
                ours_s.append(train)
                coherence_s.append(coherence)
                if not run % 2:
                    peer_s.append(peer(bags, vocab, config))
            o, p = statistics.median(ours_s), statistics.median(peer_s)
            ratios.append(p / o)
            print(f"| {key} | {index.documents:,} | {len(vocab):,} | {index_s:.2f} | {o:.2f} | {p:.2f} | {p / o:.2f} | "
                  f"{statistics.median(coherence_s):.2f} |", flush=True)
        from core.corpus.samples import load_sample
        from core.preprocess import Pipeline, PipelineConfig

        split = Pipeline(PipelineConfig()).split_sentences
        short = [s for key in ("lee", "wikipedia") for d in load_sample(key).documents for s in split(d.text)
                 if len(s.split()) >= 8][: 2_000 if args.quick else 10_000]
        lee = [d.text for d in load_sample("lee").documents]
        print("\nEmbedding topics, seconds per stage:\n")
        print("| documents | MiniLM embedding | UMAP to 5-D | HDBSCAN | c-TF-IDF | total | topics found |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, texts in ((f"Lee, {len(lee)} stories", lee), (f"{len(short):,} short sentences", short)):
            st_ = embedding_stages(texts)
            total = sum(v for k, v in st_.items() if k != "topics found")
            print(f"| {name} | {st_['MiniLM embedding']:.1f} | {st_['UMAP to 5-D']:.1f} | {st_['HDBSCAN']:.2f} | "
                  f"{st_['c-TF-IDF']:.2f} | {total:.1f} | {st_['topics found']:.0f} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nRESULT topics_throughput_ratio={min(ratios):.2f} goal>={GOAL:g}")


if __name__ == "__main__":
    main()
