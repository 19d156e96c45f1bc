"""Frequencies of words and n-grams (1–5) over a ``CorpusIndex``: frequency, document frequency and
per-million, with filters — a sort of the token ids, never a Python loop over tokens.

Example::

    ngrams(index, 2, min_freq=3, stopwords=stopwords(), regex=r"^new ")
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.analysis.index import CorpusIndex
from core.errors import UserError

MAX_N = 5
KEY_LIMIT = 2 ** 62  # (n-gram, document) keys below this fit one int64


def ngrams(index: CorpusIndex, n: int = 1, *, min_freq: int = 1, stopwords: frozenset[str] = frozenset(),
           regex: str = "", limit: int = 5000) -> pd.DataFrame:
    """The n-grams that stay inside a document, most frequent first (at most ``limit`` rows).

    ``stopwords``: leave out n-grams that start or end with one (for single words: the stopwords);
    ``regex``: keep only n-grams whose text (words joined by spaces) matches it.
    Columns: ngram, frequency, documents, per_million.
    """
    if not 1 <= n <= MAX_N:
        raise UserError(f"n-grams from 1 to {MAX_N} words.")
    pattern = None
    if regex.strip():
        try:
            pattern = re.compile(regex, re.IGNORECASE)
        except re.error as exc:
            raise UserError(f"That regular expression does not compile: {exc}.") from None
    ids, doc_of = index.ids, index.doc_of
    windows = index.tokens - n + 1
    if windows <= 0:
        raise UserError(f"The corpus is shorter than {n} words.")
    inside = doc_of[:windows] == doc_of[n - 1:n - 1 + windows]
    grams = np.stack([ids[k:k + windows] for k in range(n)], axis=1)[inside]
    if grams.size == 0:
        raise UserError(f"No document is {n} words long.")
    docs = doc_of[:windows][inside].astype(np.int64)
    size, n_docs = len(index.vocab), index.documents
    if size ** n * n_docs < KEY_LIMIT:
        # (n-gram, document) as one int64 key: a single sort gives each n-gram's frequency (the sum over
        # its documents) and its document frequency (how many documents)
        codes = np.zeros(grams.shape[0], np.int64)
        for k in range(n):
            codes = codes * size + grams[:, k]
        pairs, pair_counts = np.unique(codes * n_docs + docs, return_counts=True)
        gram_codes = pairs // n_docs
        starts = np.flatnonzero(np.r_[True, gram_codes[1:] != gram_codes[:-1]])
        counts = np.add.reduceat(pair_counts, starts)
        doc_freq = np.diff(np.r_[starts, gram_codes.size])
        gram_ids = np.zeros((starts.size, n), np.int64)
        rest = gram_codes[starts]
        for k in range(n - 1, -1, -1):  # the words back from the code, last word first
            rest, gram_ids[:, k] = np.divmod(rest, size)
    else:  # too many word types for one int64 key: sort the rows themselves
        rows = np.ascontiguousarray(grams).view(np.dtype((np.void, 4 * n))).ravel()
        codes = np.unique(rows, return_inverse=True)[1].astype(np.int64)
        order = np.argsort(codes * n_docs + docs)
        sorted_codes, sorted_docs = codes[order], docs[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        counts = np.diff(np.r_[starts, sorted_codes.size])
        new_doc = np.r_[True, (sorted_codes[1:] != sorted_codes[:-1]) | (sorted_docs[1:] != sorted_docs[:-1])]
        doc_freq = np.add.reduceat(new_doc.astype(np.int64), starts)
        gram_ids = grams[order[starts]]
    keep = counts >= max(1, min_freq)
    if stopwords:
        stop = np.zeros(size, bool)
        stop[[index.lookup[w] for w in stopwords if w in index.lookup]] = True
        keep &= ~(stop[gram_ids[:, 0]] | stop[gram_ids[:, -1]])
    order = np.flatnonzero(keep)
    order = order[np.argsort(-counts[order], kind="stable")]
    out, vocab = [], index.vocab
    for i in order:
        text = " ".join(vocab[t] for t in gram_ids[i])
        if pattern is None or pattern.search(text):
            out.append((text, int(counts[i]), int(doc_freq[i])))
            if len(out) >= limit:
                break
    table = pd.DataFrame(out, columns=["ngram", "frequency", "documents"])
    table["per_million"] = (table["frequency"] * 1e6 / index.tokens).round(1)
    return table
