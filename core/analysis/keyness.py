"""Keyness: which words a target part of the corpus uses more (or less) than a reference part.

Two ``np.bincount`` over the index give every word's frequency on each side; then, per word
(Rayson & Garside 2000; Hardie 2014; Kilgarriff 2009):

- log-likelihood G² over the 2 × 2 table (word vs other words, target vs reference), signed:
  negative when the word is relatively rarer in the target; its p-value from χ² with 1 df;
- Log Ratio = log2(relative frequency in target / in reference), a zero count taken as 0.5;
- %DIFF = (target per million − reference per million) / reference per million × 100;
- simple maths = (target per million + N) / (reference per million + N), N = 1 by default
  (a larger N favours commoner words).

Example::

    keyness(index, labels_are(index, "pos"))   # positive reviews against the negative ones
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.analysis.index import CorpusIndex
from core.errors import UserError

HELP = {
    "log-likelihood": "G² over the 2×2 table of this word vs the rest, target vs reference; negative: rarer in the "
                      "target. 3.84 ≈ p < 0.05, 10.83 ≈ p < 0.001, 15.13 ≈ p < 0.0001.",
    "p": "The chance of a difference at least this large if both sides used the word at the same rate (χ², 1 df).",
    "Log Ratio": "log2 of the ratio of relative frequencies: +1 = twice as frequent in the target (Hardie 2014).",
    "%DIFF": "How much more frequent per million words in the target than in the reference, in percent.",
    "simple maths": "(per million in target + N) / (per million in reference + N) (Kilgarriff 2009).",
}


def labels_are(index: CorpusIndex, *labels: str) -> np.ndarray:
    """A document mask: the documents whose label is one of ``labels``."""
    wanted = set(labels)
    return np.array([label in wanted for label in index.labels], dtype=bool)


def keyness(index: CorpusIndex, target: np.ndarray, reference: np.ndarray | None = None, *, min_freq: int = 5,
            smoothing: float = 1.0) -> pd.DataFrame:
    """Every word seen at least ``min_freq`` times on the two sides, with its keyness scores, most key first.

    ``target`` / ``reference``: boolean masks over documents (reference: every other document).
    """
    target = np.asarray(target, dtype=bool)
    reference = ~target if reference is None else np.asarray(reference, dtype=bool)
    if target.shape != (index.documents,) or reference.shape != (index.documents,):
        raise ValueError("The masks need one entry per document.")
    if not target.any():
        raise UserError("The target is empty: pick at least one document (or a label that some documents have).")
    if not reference.any():
        raise UserError("The reference is empty: it needs at least one document that is not in the target.")
    size = len(index.vocab)
    a = np.bincount(index.ids[target[index.doc_of]], minlength=size)
    b = np.bincount(index.ids[reference[index.doc_of]], minlength=size)
    return scores(index.vocab, a, b, min_freq=min_freq, smoothing=smoothing)


def sample_counts(key: str) -> tuple[list[str], np.ndarray]:
    """A bundled sample as a reference word list: (words, counts), tokenized as the index is."""
    from collections import Counter

    from core.analysis.index import DEFAULT
    from core.corpus.samples import load_sample
    from core.preprocess import Pipeline

    pipe = Pipeline(DEFAULT)
    counts = Counter(w for doc in load_sample(key).documents for sentence in pipe.process(doc.text) for w in sentence)
    words = list(counts)
    return words, np.array([counts[w] for w in words], dtype=np.int64)


def against_reference(index: CorpusIndex, words: list[str], counts: np.ndarray, *, min_freq: int = 5,
                      smoothing: float = 1.0) -> pd.DataFrame:
    """The whole corpus against a reference word list (``words`` with their ``counts``)."""
    vocab = list(dict.fromkeys([*index.vocab, *words]))
    position = {w: i for i, w in enumerate(vocab)}
    a = np.zeros(len(vocab), np.int64)
    a[: len(index.vocab)] = index.counts  # the corpus' own words come first, in its order
    b = np.zeros(len(vocab), np.int64)
    b[[position[w] for w in words]] = counts
    if not np.logical_and(a > 0, b > 0).any():
        raise UserError("The corpus and the reference share no words: pick a reference in the corpus' language.")
    return scores(vocab, a, b, min_freq=min_freq, smoothing=smoothing)


def scores(vocab: list[str], target_counts: np.ndarray, reference_counts: np.ndarray, *, min_freq: int = 5,
           smoothing: float = 1.0) -> pd.DataFrame:
    """The keyness table from each word's count on the two sides (``vocab[i]`` has counts ``[i]``)."""
    a, b = np.asarray(target_counts, np.float64), np.asarray(reference_counts, np.float64)
    t_total, r_total = a.sum(), b.sum()
    if t_total == 0 or r_total == 0:
        raise UserError("One side has no words at all.")
    keep = (a + b) >= max(1, min_freq)
    if not keep.any():
        raise UserError(f"No word occurs {min_freq} times on the two sides together; lower the minimum.")
    a, b, words = a[keep], b[keep], np.flatnonzero(keep)
    total = t_total + r_total
    e1, e2 = t_total * (a + b) / total, r_total * (a + b) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        g2 = 2 * (np.where(a > 0, a * np.log(a / e1), 0.0) + np.where(b > 0, b * np.log(b / e2), 0.0))
        pm_a, pm_b = a * 1e6 / t_total, b * 1e6 / r_total
        log_ratio = np.log2((np.maximum(a, 0.5) / t_total) / (np.maximum(b, 0.5) / r_total))
        diff = np.where(b > 0, (pm_a - pm_b) / pm_b * 100, np.inf)
    from scipy.stats import chi2

    sign = np.where(pm_a >= pm_b, 1.0, -1.0)
    table = pd.DataFrame({"word": [vocab[i] for i in words], "target": a.astype(np.int64),
                          "reference": b.astype(np.int64), "target_pm": pm_a.round(1), "reference_pm": pm_b.round(1),
                          "log-likelihood": sign * g2, "p": chi2.sf(g2, 1), "Log Ratio": log_ratio, "%DIFF": diff,
                          "simple maths": (pm_a + smoothing) / (pm_b + smoothing)})
    return table.sort_values("log-likelihood", ascending=False, kind="stable", ignore_index=True)
