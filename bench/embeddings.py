"""Word2Vec and FastText training throughput: Corpus Lab's instrumented path against raw gensim.

Usage: ``.venv/bin/python bench/embeddings.py [--quick]``. Builds the Wikipedia sample's tokens
artifact with our default pipeline, repeats its sentences to about 3 M tokens (0.4 M with
--quick), and trains the same model on the same file alternately: ours (``_train_gensim``: our
subclass with per-worker loss, mid-epoch progress and cancel checks, plus the callback) and
raw ``gensim.models.Word2Vec(corpus_file=..., compute_loss=True)`` with identical parameters.
Also times the whole artifact once (training + benchmarks + saving) for reference. GloVe has
its own benchmark, ``bench/glove.py``. Prints a Markdown table; the last line is
``RESULT w2v_throughput_ratio=<ours words/s / raw words/s, CBOW and skip-gram pooled>``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gensim.models import FastText, Word2Vec  # noqa: E402

from core.corpus.store import ingest_sample  # noqa: E402
from core.embeddings.config import EmbeddingConfig  # noqa: E402
from core.embeddings.train import _gensim_params, _train_gensim, train_vectors  # noqa: E402
from core.jobs import NoJob  # noqa: E402
from core.preprocess import PipelineConfig  # noqa: E402
from core.tokens import build_tokens, sentences_path  # noqa: E402
from core.workspace import Workspace  # noqa: E402

DATA = ROOT / "bench" / "data"
GOAL = 0.95
CASES = {
    "CBOW": EmbeddingConfig(algorithm="word2vec", sg=False, workers=2),
    "skip-gram": EmbeddingConfig(algorithm="word2vec", sg=True, workers=2),
    "FastText": EmbeddingConfig(algorithm="fasttext", sg=True, workers=2),
}


def tokens_file(ws: Workspace, target: int) -> tuple[Path, int, str]:
    """The Wikipedia sample through our default pipeline, its sentences repeated to ``target`` tokens."""
    corpus = ingest_sample(ws, "wikipedia")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    per_copy = tokens.metrics["tokens_after"]
    reps = -(-target // per_copy)
    path = DATA / f"wiki_tokens_{reps}x.txt"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        text = sentences_path(ws, tokens.id).read_text(encoding="utf-8")
        path.write_text(text * reps, encoding="utf-8")
    return path, per_copy * reps, tokens.id


def ours(path: Path, n_tokens: int, config: EmbeddingConfig) -> float:
    start = time.perf_counter()
    _train_gensim(path, n_tokens, config, NoJob())
    return time.perf_counter() - start


def raw(path: Path, n_tokens: int, config: EmbeddingConfig) -> float:
    cls = FastText if config.algorithm == "fasttext" else Word2Vec
    start = time.perf_counter()
    loss = {"compute_loss": True} if config.algorithm == "word2vec" else {}  # FastText has no loss
    cls(corpus_file=str(path), **loss, **_gensim_params(config))
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.4 M tokens, 1 round (under a minute)")
    args = parser.parse_args(argv)
    target, rounds = (400_000, 1) if args.quick else (3_000_000, 3)
    ws = Workspace(tempfile.mkdtemp(prefix="corpus-lab-bench-"))
    path, n_tokens, tid = tokens_file(ws, target)
    print(f"{n_tokens:,} tokens in {path.name}; 5 epochs, 100 dims, window 5, min count 5, 2 workers; "
          f"{rounds} rounds alternating, median\n")
    print("| model | ours s | raw gensim s | ours M words/s | raw M words/s | ratio ours/raw |")
    print("|---|---:|---:|---:|---:|---:|")
    pooled_ours = pooled_raw = 0.0
    for name, config in CASES.items():
        times = {"ours": [], "raw": []}
        for _ in range(rounds):
            for side, fn in (("ours", ours), ("raw", raw)):
                times[side].append(fn(path, n_tokens, config))
        t_ours, t_raw = statistics.median(times["ours"]), statistics.median(times["raw"])
        if config.algorithm == "word2vec":
            pooled_ours, pooled_raw = pooled_ours + t_ours, pooled_raw + t_raw
        words = n_tokens * config.epochs / 1e6
        print(f"| {name} | {t_ours:.2f} | {t_raw:.2f} | {words / t_ours:.2f} | {words / t_raw:.2f} | {t_raw / t_ours:.3f} |")
    start = time.perf_counter()
    manifest = train_vectors(ws, tid, CASES["CBOW"])
    print(f"\nWhole CBOW artifact on the 1x sample ({manifest.metrics['tokens']:,} tokens): "
          f"{time.perf_counter() - start:.2f} s incl. benchmarks and saving (training {manifest.metrics['seconds']} s)")
    print(f"\nRESULT w2v_throughput_ratio={pooled_raw / pooled_ours:.3f} goal>={GOAL}")


if __name__ == "__main__":
    main()
