"""Preprocessing throughput: our per-type cached pipeline against a plain per-token NLTK loop.

Usage: ``.venv/bin/python bench/preprocess.py [--quick]``. Repeats the Wikipedia sample to at
least 5 M raw tokens (about 0.5 M with --quick), runs the English lemmatizing and stemming
pipelines and the naive per-token loops on the same text alternately, times the whole tokens
artifact in a fresh process (with its peak memory at 1x and, without --quick, 4x the text),
prints a Markdown table and ends with ``RESULT preprocess_speedup=<naive lemma s / ours lemma s>``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.corpus.readers import ReadOptions, Source  # noqa: E402
from core.corpus.samples import load_sample  # noqa: E402
from core.corpus.store import ingest_sources  # noqa: E402
from core.preprocess import Pipeline, PipelineConfig, stopword_list, wordnet_lemmatizer  # noqa: E402
from core.tokens import build_tokens  # noqa: E402
from core.workspace import Workspace  # noqa: E402

DATA = ROOT / "bench" / "data"
GOAL, STEM_GOAL = 10.0, 1e6
LEMMA = PipelineConfig(case="smart", stopwords="default", normalise="wordnet", pos="n")
STEM = PipelineConfig(case="lower", stopwords="default", normalise="porter")
# Ours drops punctuation by default; the naive loop must too, or it would emit ~23% more tokens.
# [^\W_] is "a letter or digit", ours' `any(ch.isalnum())` as one C-level regex search.
_HAS_ALNUM = re.compile(r"[^\W_]").search


def sample_texts() -> list[str]:
    return [d.text for d in load_sample("wikipedia").documents]


def repeats_for(texts: list[str], target: int) -> int:
    per_copy = sum(len(Pipeline(LEMMA).tokenize(t)) for t in texts)
    return -(-target // per_copy)


def stream(texts: list[str], reps: int):
    # The same str objects again and again: the text exists once in memory, however many copies.
    return itertools.chain.from_iterable(itertools.repeat(texts, reps))


# the cases: each returns (raw tokens, output tokens) so the same-work check costs nothing extra
def ours(config: PipelineConfig):
    def run(docs):
        pipe = Pipeline(config)  # fresh per run: building the per-type cache is part of the time
        raw = out = 0
        for doc in docs:  # exactly as core.tokens._first_pass does it
            for sentence in pipe.split_sentences(doc):
                tokens = pipe.tokenize(sentence)
                raw += len(tokens)
                out += len(pipe.map_tokens(tokens))
        run.types = len(pipe._outputs)  # how many normalisations it made
        return raw, out

    return run


def naive(kind: str):
    def run(docs):
        from nltk import word_tokenize
        from nltk.stem import PorterStemmer, WordNetLemmatizer
        from sklearn.feature_extraction._stop_words import ENGLISH_STOP_WORDS as stop

        normalise = WordNetLemmatizer().lemmatize if kind == "lemma" else PorterStemmer().stem
        raw = out = 0
        for doc in docs:
            tokens = word_tokenize(doc, preserve_line=True)  # preserve_line: no Punkt download offline
            raw += len(tokens)
            out += len([normalise(t) for t in map(str.lower, tokens) if t not in stop and _HAS_ALNUM(t)])
        return raw, out

    return run


CASES = {"lemma_ours": ours(LEMMA), "lemma_naive": naive("lemma"),
         "stem_ours": ours(STEM), "stem_naive": naive("stem")}


def timed(case: str, texts: list[str], reps: int) -> tuple[float, tuple[int, int]]:
    gc.collect()
    start = time.perf_counter()
    counts = CASES[case](stream(texts, reps))
    return time.perf_counter() - start, counts


# the whole tokens artifact, in a fresh process so its peak memory is its own --------------
def _high_water_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork+exec into ru_maxrss.
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _artifact_child(root: str, corpus_id: str) -> None:
    # Loading sklearn (for its stopword list), NLTK and WordNet costs seconds and ~350 MiB once per
    # process, whatever the corpus size: timed apart, so the artifact's time is its own. Its peak
    # counts them (Python reuses their freed pages, so they cannot be subtracted cleanly), and the
    # 1x and 4x peaks show whether the rest grows with the text.
    gc.collect()
    start, before = time.perf_counter(), _high_water_mb()
    stopword_list("english", "default"), wordnet_lemmatizer("n")("cats")
    loads = time.perf_counter() - start, _high_water_mb() - before
    start = time.perf_counter()
    manifest = build_tokens(Workspace(root), corpus_id, LEMMA)
    print(time.perf_counter() - start, manifest.metrics["tokens_before"], _high_water_mb() - before, *loads)


def artifact(texts: list[str], reps: int) -> tuple[float, int, float, float, float]:
    """build_tokens over the text repeated ``reps`` times: seconds, raw tokens, the process's extra
    peak MiB, and the seconds and MiB of that spent loading sklearn, NLTK and WordNet."""
    path = DATA / f"wiki_{reps}x.txt"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for doc in stream(texts, reps):
                f.write(doc + "\n\n")
    root = Path(tempfile.mkdtemp(prefix="corpus-lab-bench-"))
    try:
        # Ingest here, not in the child: what reading 100 MB leaves allocated would blur the
        # child's starting RSS, and ingestion has its own benchmark.
        corpus = ingest_sources(Workspace(root), [Source(path.name, path.read_bytes())],
                                ReadOptions(split="paragraph"), name=path.stem)
        out = subprocess.run([sys.executable, __file__, "--artifact", str(root), corpus.id],
                             capture_output=True, text=True, check=True)
        seconds, tokens, *rest = out.stdout.split()
        return float(seconds), int(tokens), *map(float, rest)
    finally:
        shutil.rmtree(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="~0.5 M tokens, 3 rounds, no 4x artifact (under a minute)")
    parser.add_argument("--rounds", type=int, help="timed rounds per case (default 5, or 3 with --quick)")
    parser.add_argument("--profile", action="store_true", help="cProfile our lemma pipeline once and stop")
    parser.add_argument("--artifact", nargs=2, metavar=("ROOT", "CORPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.artifact:
        return _artifact_child(*args.artifact)
    rounds = args.rounds or (3 if args.quick else 5)
    texts = sample_texts()
    reps = repeats_for(texts, 500_000 if args.quick else 5_000_000)
    # Load the stopword list (it imports all of sklearn) and WordNet once, outside the timings:
    # both sides share them.
    stopword_list("english", "default"), wordnet_lemmatizer("n")("cats")
    if args.profile:
        return cProfile.runctx("CASES['lemma_ours'](stream(texts, reps))", globals(),
                               {"texts": texts, "reps": reps}, sort="tottime")
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {case: [] for case in CASES}
    counts: dict[str, tuple[int, int]] = {}
    for r in range(rounds):
        # Alternate ours and the peer, reversing the order every other round, so drift
        # (other load, heap state) falls on both sides alike.
        for case in list(CASES) if r % 2 == 0 else reversed(CASES):
            seconds, counts[case] = timed(case, texts, reps)
            times[case].append(seconds)
    median = {case: statistics.median(t) for case, t in times.items()}
    # Same work: the tokenizers differ (ours splits "3.5" and "U.S." into pieces, Treebank does
    # not, and splits "don't"), but after dropping punctuation and stopwords the outputs agree.
    for kind in ("lemma", "stem"):
        out_o, out_n = counts[f"{kind}_ours"][1], counts[f"{kind}_naive"][1]
        assert abs(out_o - out_n) < 0.02 * out_n, f"{kind}: ours kept {out_o:,} tokens, naive {out_n:,}"
    sizes = [1] if args.quick else [1, 4]
    arts = {n: artifact(texts, reps * n) for n in sizes}

    print(f"\n{rounds} rounds, median time; text = the Wikipedia sample ({len(texts)} articles) x {reps}; "
          f"1-min load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs\n")
    print("| case | raw tokens | output tokens | time s | raw tokens/s | naive s / ours s |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in CASES:
        raw, out = counts[case]
        kind, side = case.split("_")
        speedup = f"{median[f'{kind}_naive'] / median[case]:.1f}" if side == "ours" else ""
        print(f"| {kind}, {side} | {raw:,} | {out:,} | {median[case]:.2f} | {raw / median[case]:,.0f} | {speedup} |")
    for n, (seconds, tokens, peak, _, loads) in arts.items():
        print(f"| lemma, whole tokens artifact, sample x {reps * n} | {tokens:,} | | {seconds:.2f} | "
              f"{tokens / seconds:,.0f} | peak +{peak:.0f} MiB, {loads:.0f} of it loading libraries |")
    print()
    for kind in ("lemma", "stem"):
        (raw_o, out_o), (raw_n, out_n) = counts[f"{kind}_ours"], counts[f"{kind}_naive"]
        print(f"{kind}: ours normalised {CASES[f'{kind}_ours'].types:,} distinct types for {raw_o:,} tokens; "
              f"raw tokens ours/naive {raw_o / raw_n - 1:+.1%}, output tokens {out_o / out_n - 1:+.2%}")
    print(f"artifact times exclude loading sklearn's stopwords, NLTK and WordNet, once per process: {arts[1][3]:.1f} s")
    stem_rate = counts["stem_ours"][0] / median["stem_ours"]
    print(f"\nstemming pipeline: {stem_rate:,.0f} tokens/s goal>={STEM_GOAL:,.0f}")
    print(f"RESULT preprocess_speedup={median['lemma_naive'] / median['lemma_ours']:.1f} goal>={GOAL:g}")


if __name__ == "__main__":
    main()
