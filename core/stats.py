"""Corpus statistics: counts, vocabulary richness, Zipf's law, and keyword-in-context.

Words here are a quick, language-neutral split for *describing* a corpus: lowercased runs
of letters and digits ("word2vec"), apostrophes inside words, decimals ("3.5"), and each
Chinese/Japanese character on its own since those scripts put no spaces between words.
The Preprocess page builds the real tokens for training.

Example::

    stats = compute_stats(["The cat sat.", "The dog."])
    stats.summary["tokens"], stats.summary["types"]  # 5, 4
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(rf"[{_CJK}]|\d+(?:[.,]\d+)+|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")
TOP_WORDS = 5000  # kept in the artifact; enough to list top-N with stopwords removed

# scikit-learn's English list (318 words, Glasgow IR group); named in the UI.
STOPWORDS_NAME = "scikit-learn English (318 words)"


def stopwords() -> frozenset[str]:
    from sklearn.feature_extraction._stop_words import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def is_content_word(word: str) -> bool:
    """Worth showing as an example or a label: has a letter and is not an English stopword."""
    return any(ch.isalpha() for ch in word) and word.lower() not in stopwords()


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


@dataclass
class CorpusStats:
    summary: dict  # documents, tokens, types, type_token_ratio, hapax, mean/median length, zipf
    top_words: list[tuple[str, int]]  # most frequent first, at most TOP_WORDS
    frequencies: np.ndarray  # every type's count, sorted high → low (int64)
    doc_lengths: np.ndarray  # tokens per document (int64)


def compute_stats(texts: Sequence[str], progress: Callable[[float, str], None] | None = None) -> CorpusStats:
    counts: Counter[str] = Counter()
    lengths = np.zeros(len(texts), dtype=np.int64)
    step = max(1, len(texts) // 100)
    for i, text in enumerate(texts):
        tokens = WORD.findall(text.lower())
        counts.update(tokens)
        lengths[i] = len(tokens)
        if progress and i % step == 0:
            progress(i / max(len(texts), 1), f"Counting words: document {i + 1:,} of {len(texts):,}")
    freqs = np.array(sorted(counts.values(), reverse=True), dtype=np.int64)
    n_tokens = int(lengths.sum())
    exponent, intercept = zipf_fit(freqs)
    summary = {
        "documents": len(texts),
        "tokens": n_tokens,
        "types": len(counts),
        "type_token_ratio": len(counts) / n_tokens if n_tokens else 0.0,
        "hapax": int((freqs == 1).sum()),
        "mean_length": float(lengths.mean()) if len(texts) else 0.0,
        "median_length": float(np.median(lengths)) if len(texts) else 0.0,
        "zipf_exponent": exponent,
        "zipf_intercept": intercept,
    }
    return CorpusStats(summary, counts.most_common(TOP_WORDS), freqs, lengths)


def zipf_fit(freqs: np.ndarray, points: int = 50) -> tuple[float | None, float | None]:
    """Fit log f = c − s·log r. Returns (s, c), or Nones if there are too few words.

    Two choices keep the line honest: only ranks seen more than once are used (the flat tail
    of words seen once would drag the slope towards zero), and the fit runs on ranks spaced
    evenly on the log axis, so each decade counts the same instead of the tail's thousands of
    ranks outvoting the head.
    """
    body = freqs[freqs > 1]
    if len(body) < 3:
        return None, None
    ranks = np.unique(np.geomspace(1, len(body), min(points, len(body))).astype(np.int64))
    slope, intercept = np.polyfit(np.log10(ranks), np.log10(body[ranks - 1].astype(np.float64)), 1)
    return float(-slope), float(intercept)


def top_words(stats_top: list[tuple[str, int]], n: int, exclude: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    return [(w, c) for w, c in stats_top if w not in exclude][:n]


@dataclass(frozen=True)
class Hit:
    document: int
    left: str
    match: str
    right: str


def concordance(
    texts: Sequence[str], query: str, *, width: int = 40, limit: int = 500, whole_word: bool = True,
    case_sensitive: bool = False,
) -> tuple[list[Hit], int]:
    """Keyword in context: every occurrence of ``query`` with ``width`` characters each side.

    Returns (the first ``limit`` hits, total number of hits). The query is literal text,
    not a regular expression, so user input can never make a catastrophic pattern.
    """
    query = query.strip()
    if not query:
        return [], 0
    pattern = re.escape(query)
    if whole_word:
        pattern = rf"(?<!\w){pattern}(?!\w)"
    regex = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    hits, total = [], 0
    for i, text in enumerate(texts):
        for m in regex.finditer(text):
            total += 1
            if len(hits) < limit:
                left = text[max(0, m.start() - width) : m.start()].replace("\n", " ")
                right = text[m.end() : m.end() + width].replace("\n", " ")
                hits.append(Hit(i, left, m.group(0), right))
    return hits, total
