"""Dispersion: where in the corpus a word occurs, and how evenly, over a ``CorpusIndex``.

The parts are the documents. For a word with frequency ``f_i`` in part ``i`` of size ``s_i``
tokens (N in all, f in all):

- Gries' DP (2008) = ½ Σ |f_i / f − s_i / N|: 0 when the word is spread as the parts' sizes are,
  towards 1 when it sits in one small part; DPnorm divides by 1 − min(s_i / N) (Lijffijt & Gries
  2012), so 1 is the most uneven possible.
- Juilland's D (1970) = 1 − (sd(p) / mean(p)) / √(n − 1) with p_i = f_i / s_i, the word's relative
  frequency in each part: 1 = perfectly even, 0 = all in one part.

Example::

    dispersion(index, ["police", "bushfire"])   # DataFrame: word, frequency, parts, DP, DPnorm, D
    positions(index, "police")                   # token offsets, for a barcode plot
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.analysis.index import CorpusIndex
from core.errors import UserError

MAX_WORDS = 12


def positions(index: CorpusIndex, word: str) -> np.ndarray:
    """Every token offset of ``word`` in the corpus (int64, ascending)."""
    return np.flatnonzero(index.ids == index.id_of(word))


def per_document(index: CorpusIndex, word: str) -> np.ndarray:
    """``word``'s frequency in each document, int64 (documents,)."""
    return np.bincount(index.doc_of[positions(index, word)], minlength=index.documents).astype(np.int64)


def dispersion(index: CorpusIndex, words: list[str]) -> pd.DataFrame:
    words = [w.strip() for w in words if w and w.strip()]
    if not words:
        raise UserError("Type one or more words.")
    if len(words) > MAX_WORDS:
        raise UserError(f"At most {MAX_WORDS} words at a time.")
    if index.documents < 2:
        raise UserError("Dispersion compares parts of the corpus: this corpus has one document.")
    sizes = np.diff(index.doc_starts).astype(np.float64)
    share = sizes / sizes.sum()
    usable = sizes > 0
    rows = []
    for word in words:
        counts = per_document(index, word).astype(np.float64)
        total = counts.sum()
        dp = 0.5 * np.abs(counts / total - share).sum()
        rel = counts[usable] / sizes[usable]
        n = rel.size
        juilland = 1 - (rel.std() / rel.mean()) / np.sqrt(n - 1) if rel.mean() > 0 and n > 1 else 0.0
        rows.append({"word": word, "frequency": int(total), "documents": int((counts > 0).sum()),
                     "DP": dp, "DPnorm": dp / (1 - share.min()), "Juilland's D": max(0.0, float(juilland))})
    return pd.DataFrame(rows)
