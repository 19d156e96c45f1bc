"""Topic models: our LDA job against a plain gensim ``LdaModel`` with the same settings.

Usage: ``.venv/bin/python bench/topics.py [--quick]``. On the Lee sample and the Wikipedia sample
(``--quick``: Lee only), the same bags of words (the analysis index without stopwords, rare and
ubiquitous words), the same number of topics, passes, priors, chunk size and seed:

- *ours*: ``core.topics.lda._train`` — a pass at a time (progress and Cancel between passes);
- *peer*: ``gensim.models.LdaModel(corpus=…, passes=…)`` in one call;

both followed by the same coherence measures (timed apart). Alternating, median of 3. Prints the
seconds per stage and ends with ``RESULT topics_throughput_ratio=<peer s / ours s> goal>=0.9``
(the worst corpus). Embedding topics (MiniLM + UMAP + HDBSCAN) are not built yet.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.analysis import build_index, load_index  # noqa: E402
from core.corpus.store import ingest_sample  # noqa: E402
from core.jobs import NoJob  # noqa: E402
from core.topics.lda import LdaConfig, _bags, _train  # noqa: E402
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
    """(training seconds, coherence seconds): ``_train`` does both; the coherence is timed alone after."""
    t0 = time.perf_counter()
    model, _ = _train(bags, vocab, config, NoJob())
    total = time.perf_counter() - t0
    from gensim.models import CoherenceModel

    t1 = time.perf_counter()
    texts = [[vocab[w] for w, c in bag for _ in range(c)] for bag in bags]
    for measure in ("u_mass", "c_v"):
        CoherenceModel(model=model, corpus=bags, texts=texts, dictionary=model.id2word, coherence=measure, topn=10,
                       processes=1).get_coherence()
    coherence = time.perf_counter() - t1
    return total - coherence, coherence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the Lee sample only")
    args = parser.parse_args()
    samples = ["lee"] if args.quick else ["lee", "wikipedia"]
    config = LdaConfig(topics=10, passes=10)
    tmp = Path(tempfile.mkdtemp(prefix="corpus-lab-bench-topics-"))
    ratios = []
    print(f"\nLDA, {config.topics} topics, {config.passes} passes, symmetric priors, seed {config.seed}; "
          f"{os.cpu_count()} CPUs; median of 3, alternating.\n")
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
            for _ in range(3):
                train, coherence = ours(bags, vocab, config)
                ours_s.append(train)
                coherence_s.append(coherence)
                peer_s.append(peer(bags, vocab, config))
            o, p = statistics.median(ours_s), statistics.median(peer_s)
            ratios.append(p / o)
            print(f"| {key} | {index.documents:,} | {len(vocab):,} | {index_s:.2f} | {o:.2f} | {p:.2f} | {p / o:.2f} | "
                  f"{statistics.median(coherence_s):.2f} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nRESULT topics_throughput_ratio={min(ratios):.2f} goal>={GOAL:g}")


if __name__ == "__main__":
    main()
