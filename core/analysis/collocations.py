"""Collocations over a ``CorpusIndex``: the collocates of a node word within a span, the strongest
adjacent pairs of the whole corpus, and concordance lines — each a few vectorised NumPy passes.

Spans never cross documents. Example::

    table = node_collocates(index, "police", left=4, right=4, min_freq=3)
    table.sort_values("logDice", ascending=False).head()
    pairs = corpus_pairs(index, min_freq=5)          # "prime minister", "west bank", …
    concordance(index, "police", collocate="said", left=4, right=4)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.analysis.index import CorpusIndex
from core.analysis.measures import MEASURES, association
from core.errors import UserError

MAX_SPAN = 20


def _check_span(left: int, right: int) -> None:
    if not (0 <= left <= MAX_SPAN and 0 <= right <= MAX_SPAN) or left + right == 0:
        raise UserError(f"The span needs at least one word on one side, and at most {MAX_SPAN} on each.")


def _window(index: CorpusIndex, positions: np.ndarray, left: int, right: int):
    """(offset, position, neighbour position) of every in-document slot around ``positions``."""
    n, doc_of = index.tokens, index.doc_of
    for k in [*range(-left, 0), *range(1, right + 1)]:
        q = positions + k
        ok = (q >= 0) & (q < n)
        p, q = positions[ok], q[ok]
        same = doc_of[p] == doc_of[q]
        yield k, p[same], q[same]


def node_collocates(index: CorpusIndex, word: str, *, left: int = 5, right: int = 5, min_freq: int = 3,
                    min_collocate_freq: int = 3) -> pd.DataFrame:
    """Every word seen at least ``min_freq`` times within the span of ``word``, with every measure.

    Columns: collocate, frequency (O11), left, right (O11 on each side), collocate_freq (its corpus
    frequency), then the measures of ``core.analysis.measures``.
    """
    _check_span(left, right)
    node = index.id_of(word)
    positions = np.flatnonzero(index.ids == node)
    size = len(index.vocab)
    left_counts = np.zeros(size, np.int64)
    right_counts = np.zeros(size, np.int64)
    slots = 0
    for k, _, q in _window(index, positions, left, right):
        counts = np.bincount(index.ids[q], minlength=size)
        if k < 0:
            left_counts += counts
        else:
            right_counts += counts
        slots += q.size
    o11 = left_counts + right_counts
    keep = np.flatnonzero((o11 >= max(1, min_freq)) & (index.counts >= min_collocate_freq))
    if keep.size == 0:
        raise UserError(f"No word occurs {min_freq} times or more within {left} left and {right} right of "
                        f"'{word}' ({positions.size:,} occurrences). Widen the span or lower the minimum frequency.")
    scores = association(o11[keep], slots, index.counts[keep], index.tokens, f_node=positions.size,
                         f_coll=index.counts[keep])
    table = pd.DataFrame({"collocate": [index.vocab[i] for i in keep], "left": left_counts[keep],
                          "right": right_counts[keep], "collocate_freq": index.counts[keep]})
    table.insert(1, "frequency", o11[keep])
    for name in MEASURES[1:]:
        table[name] = scores[name]
    return table.sort_values("logDice", ascending=False, kind="stable", ignore_index=True)


def corpus_pairs(index: CorpusIndex, *, min_freq: int = 5) -> pd.DataFrame:
    """Adjacent word pairs (w1 w2) seen at least ``min_freq`` times, with every measure, from the
    table NLTK's ``BigramAssocMeasures`` uses (marginals: w1 as a first word, w2 as a second)."""
    ids, doc_of = index.ids, index.doc_of
    same = doc_of[:-1] == doc_of[1:]
    a, b = ids[:-1][same], ids[1:][same]
    if a.size == 0:
        raise UserError("The documents are too short to have word pairs.")
    size = len(index.vocab)
    codes = a.astype(np.int64) * size + b
    pairs, o11 = np.unique(codes, return_counts=True)
    keep = o11 >= max(1, min_freq)
    if not keep.any():
        raise UserError(f"No pair of words occurs {min_freq} times or more; lower the minimum frequency.")
    pairs, o11 = pairs[keep], o11[keep]
    first, second = pairs // size, pairs % size
    as_first, as_second = np.bincount(a, minlength=size), np.bincount(b, minlength=size)
    scores = association(o11, as_first[first], as_second[second], a.size)
    table = pd.DataFrame({"first": [index.vocab[i] for i in first], "second": [index.vocab[i] for i in second],
                          "frequency": o11})
    for name in MEASURES[1:]:
        table[name] = scores[name]
    return table.sort_values("log-likelihood", ascending=False, kind="stable", ignore_index=True)


def concordance(index: CorpusIndex, word: str, *, collocate: str | None = None, left: int = 5, right: int = 5,
                context: int = 8, limit: int = 200, texts: Sequence[str] | None = None,
                chars: int = 70) -> pd.DataFrame:
    """Key-word-in-context lines of ``word`` (only those with ``collocate`` within the span, if given):
    columns document, left, node, right.

    With the documents' ``texts`` the lines are the original text (case, punctuation, ``chars``
    characters each side): the k-th occurrence of the word in a document's tokens is its k-th match
    in the text. Without them, or where the two disagree, the indexed tokens (lowercase, no
    punctuation, ``context`` tokens each side).
    """
    node = index.id_of(word)
    positions = np.flatnonzero(index.ids == node)
    if collocate:
        _check_span(left, right)
        other = index.id_of(collocate)
        found = [p[index.ids[q] == other] for _, p, q in _window(index, positions, left, right)]
        positions = positions[np.isin(positions, np.concatenate(found) if found else [])]
    positions = positions[:limit]
    pattern = _word_pattern(index.vocab[node], index.language) if texts is not None else None
    matches: dict[int, list[re.Match]] = {}
    rows = []
    for p in positions:
        d = int(index.doc_of[p])
        start, end = int(index.doc_starts[d]), int(index.doc_starts[d + 1])
        if pattern is not None:
            if d not in matches:
                found = list(pattern.finditer(texts[d]))
                # only where text and tokens agree on how often the word occurs ("police-led" is one token)
                matches[d] = found if len(found) == np.count_nonzero(index.ids[start:end] == node) else []
            k = int(np.count_nonzero(index.ids[start:p] == node))  # the k-th occurrence in this document
            if k < len(matches[d]):
                m, text = matches[d][k], texts[d]
                rows.append({"document": d, "left": " ".join(text[max(0, m.start() - chars):m.start()].split()),
                             "node": m.group(0), "right": " ".join(text[m.end():m.end() + chars].split())})
                continue
        words = lambda lo, hi: " ".join(index.vocab[i] for i in index.ids[lo:hi])  # noqa: E731
        rows.append({"document": d, "left": words(max(start, p - context), p), "node": index.vocab[index.ids[p]],
                     "right": words(p + 1, min(end, p + 1 + context))})
    return pd.DataFrame(rows, columns=["document", "left", "node", "right"])


def _word_pattern(word: str, language: str) -> re.Pattern:
    """``word`` as the tokenizer saw it, in any case; whole words only where words have boundaries."""
    body = re.escape(word)
    if language == "chinese":
        return re.compile(body, re.IGNORECASE)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)
