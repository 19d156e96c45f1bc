"""Corpus statistics: counts, vocabulary richness, Zipf's law, and keyword-in-context.

Words here describe a corpus; the Preprocess page builds the real tokens for training. The
language is guessed once per corpus from a bounded sample (``detect_language``) and decides two
things: Chinese text, which puts no spaces between words, is cut into words by jieba; every
other text is split into lowercased runs of letters and digits ("word2vec"), apostrophes inside
words and decimals ("3.5"), Japanese kana/kanji one character each. And the stopword list the
page removes from its top words follows the language (``stopwords``, ``stopwords_name``).

Example::

    stats = compute_stats(["The cat sat.", "The dog."])
    stats.summary["tokens"], stats.summary["types"], stats.summary["language"]  # 5, 4, "english"
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(rf"[{_CJK}]|\d+(?:[.,]\d+)+|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile("[\u3040-\u30ff]")
# What jieba cuts as one block (its re_han_default): a word never crosses the edge of one, so
# segmenting the block around a match gives the same boundaries as segmenting the whole text.
_JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]")
LANGUAGE_SAMPLE = 20_000  # characters: enough to tell languages apart, bounded for a 1 GB corpus
TOP_WORDS = 5000  # kept in the artifact; enough to list top-N with stopwords removed

# scikit-learn's English list (318 words, Glasgow IR group); named in the UI.
STOPWORDS_NAME = "scikit-learn English (318 words)"
# Languages told apart by their stopwords (the Preprocess page's languages); English first wins ties.
LANGUAGES = ("english", "german", "french", "spanish", "italian", "portuguese", "dutch", "swedish", "danish",
             "norwegian", "finnish", "hungarian", "romanian", "russian")
# The stop-words package's Chinese list has 119 single characters, so a Chinese corpus's top
# words would still be 我们, 一个, 可以…: these common function words complete it.
_CHINESE_EXTRA = frozenset(
    "都 就 对 中 等 吗 呢 啊 过 会 能 要 将 地 更 还 而 "
    "我们 你们 他们 她们 它们 咱们 大家 自己 这个 那个 这些 那些 这种 那种 这样 那样 这么 那么 这里 那里 "
    "一个 一些 一种 一样 一直 一定 可以 可能 能够 应该 需要 没有 不是 就是 还是 也是 只是 还有 都是 "
    "因为 所以 但是 而且 并且 如果 虽然 然而 因此 由于 或者 以及 其中 其他 其它 什么 怎么 怎样 为什么 "
    "之后 之前 之间 以后 以前 已经 通过 进行 对于 关于 非常 比较 然后 时候 同时 以上 以下 每个 各种 所有 "
    "许多 很多 不同 这是 那是 不会 不能 就会 也会 还会 并不 只有 而是 之一".split()
)


@cache
def stopwords(language: str = "english") -> frozenset[str]:
    """The list the Corpus page removes for ``language`` (see ``stopwords_name``)."""
    if language in ("english", "unknown"):
        return _sklearn_english()
    from stop_words import get_stop_words

    words = frozenset(w.lower() for w in get_stop_words(language))
    return words | _CHINESE_EXTRA if language == "chinese" else words


def _sklearn_english() -> frozenset[str]:
    # Importing sklearn takes ~2 s (scipy and more), and ingest and the Corpus page's first render
    # would wait for it. Its list is a frozenset literal in a module that imports nothing: load that alone.
    import importlib.util
    import sys

    name = "sklearn.feature_extraction._stop_words"
    module = sys.modules.get(name)
    if module is None:
        origin = importlib.util.find_spec("sklearn").origin  # finds the package without importing it
        spec = importlib.util.spec_from_file_location(name, Path(origin).parent / "feature_extraction" / "_stop_words.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.ENGLISH_STOP_WORDS


def stopwords_name(language: str) -> str:
    """Which list ``stopwords(language)`` is, in words, for the page to say."""
    if language in ("english", "unknown"):
        return STOPWORDS_NAME
    if language == "chinese":
        return f"Chinese (stop-words package + common function words, {len(stopwords(language))} words)"
    return f"{language.capitalize()} (stop-words package, {len(stopwords(language))} words)"


def is_content_word(word: str) -> bool:
    """Worth showing as an example or a label: has a letter and is not an English stopword."""
    return any(ch.isalpha() for ch in word) and word.lower() not in stopwords()


def detect_language(texts: Iterable[str]) -> str:
    """Guess the language from the first ``LANGUAGE_SAMPLE`` characters, in milliseconds.

    Chinese by its script (Han characters, almost no kana), Japanese by its kana; otherwise the
    language whose stopwords cover most of the sample's words (stopwords are the most frequent
    words of any text, so a few thousand words decide it). "unknown" when nothing fits.

    >>> detect_language(["语言模型是自然语言处理的核心。"]), detect_language(["Der Hund und die Katze."])
    ('chinese', 'german')
    """
    parts, size = [], 0
    for text in texts:
        parts.append(text[: LANGUAGE_SAMPLE - size])
        size += len(parts[-1])
        if size >= LANGUAGE_SAMPLE:
            break
    sample = "\n".join(parts)
    letters = sum(ch.isalpha() for ch in sample)
    if not letters:
        return "unknown"
    han, kana = len(_HAN.findall(sample)), len(_KANA.findall(sample))
    if han + kana >= 0.3 * letters:  # a Chinese article with English terms in it is still Chinese
        return "japanese" if kana > 0.05 * (han + kana) else "chinese"
    tokens = WORD.findall(sample.lower())
    shares = {lang: sum(t in stopwords(lang) for t in tokens) / len(tokens) for lang in LANGUAGES}
    best = max(shares, key=shares.get)  # max keeps the first of equals: English
    return best if shares[best] >= 0.1 else "unknown"


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(60)  # its dictionary-loading chatter would land in the server log
    jieba.initialize()
    return jieba


def words(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` as the Corpus page counts them (``language`` detected if not given)."""
    language = language or detect_language([text])
    if language == "chinese":
        return [t.lower() for t in _jieba().lcut(text) if any(ch.isalnum() for ch in t)]
    return WORD.findall(text.lower())


@dataclass
class CorpusStats:
    summary: dict  # documents, tokens, types, type_token_ratio, hapax, mean/median length, zipf, language
    top_words: list[tuple[str, int]]  # most frequent first, at most TOP_WORDS
    frequencies: np.ndarray  # every type's count, sorted high → low (int64)
    doc_lengths: np.ndarray  # tokens per document (int64)


def compute_stats(texts: Sequence[str], progress: Callable[[float, str], None] | None = None,
                  *, language: str | None = None) -> CorpusStats:
    language = language or detect_language(texts)
    verb = "Cutting Chinese text into words (jieba)" if language == "chinese" else "Counting words"
    counts: Counter[str] = Counter()
    lengths = np.zeros(len(texts), dtype=np.int64)
    step = max(1, len(texts) // 100)
    for i, text in enumerate(texts):
        tokens = words(text, language)
        counts.update(tokens)
        lengths[i] = len(tokens)
        if progress and i % step == 0:
            progress(i / max(len(texts), 1), f"{verb}: document {i + 1:,} of {len(texts):,}")
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
        "language": language,
        "stopwords": stopwords_name(language),
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


def plural(n: int, noun: str, many: str | None = None) -> str:
    """ "1 document", "2,400 documents"; ``many`` for irregular nouns ("1 entry", "3 entries")."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"


@dataclass(frozen=True)
class Hit:
    document: int
    left: str
    match: str
    right: str


def concordance(
    texts: Sequence[str], query: str, *, width: int = 40, limit: int = 500, whole_word: bool = True,
    case_sensitive: bool = False, language: str | None = None,
) -> tuple[list[Hit], int]:
    """Keyword in context: every occurrence of ``query`` with ``width`` characters each side.

    Returns (the first ``limit`` hits, total number of hits). The query is literal text,
    not a regular expression, so user input can never make a catastrophic pattern. In Chinese
    text a whole word is one that starts and ends where jieba cuts: 模型 matches in 语言模型很大
    (语言|模型|很大) but 型 does not.
    """
    query = query.strip()
    if not query:
        return [], 0
    chinese = language == "chinese"
    pattern = re.escape(query)
    if whole_word and not chinese:
        pattern = rf"(?<!\w){pattern}(?!\w)"
    regex = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    hits, total = [], 0
    for i, text in enumerate(texts):
        cuts = _WordEdges(text) if whole_word and chinese else None
        for m in regex.finditer(text):
            if cuts is not None and not cuts.aligned(m.start(), m.end()):
                continue
            total += 1
            if len(hits) < limit:
                left = text[max(0, m.start() - width) : m.start()].replace("\n", " ")
                right = text[m.end() : m.end() + width].replace("\n", " ")
                hits.append(Hit(i, left, m.group(0), right))
    return hits, total


class _WordEdges:
    """jieba's word boundaries in one text, segmenting only the blocks a match touches."""

    MAX_BLOCK = 2_000  # a megabyte without punctuation is cut in pieces rather than segmented whole

    def __init__(self, text: str):
        self.text = text
        self.edges: set[int] = set()
        self.done: set[int] = set()  # starts of the blocks already segmented

    def aligned(self, start: int, end: int) -> bool:
        self._segment(start)
        self._segment(max(start, end - 1))
        return start in self.edges and end in self.edges

    def _segment(self, at: int) -> None:
        text = self.text
        if not _JIEBA_BLOCK.match(text, at):  # jieba yields a character outside any block on its own
            self.edges.update((at, at + 1))
            return
        a = at
        while a > 0 and at - a < self.MAX_BLOCK and _JIEBA_BLOCK.match(text, a - 1):
            a -= 1
        if a in self.done:
            return
        self.done.add(a)
        b = at + 1
        while b < len(text) and b - a < self.MAX_BLOCK and _JIEBA_BLOCK.match(text, b):
            b += 1
        for _, s, e in _jieba().tokenize(text[a:b]):
            self.edges.update((a + s, a + e))
