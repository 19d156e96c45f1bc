"""Association measures over 2 × 2 contingency tables, vectorised over every candidate at once.

For a node (or first word) *n* and a collocate (or second word) *c*::

                 c           not c
    n        O11         O12          R1 = O11 + O12
    not n    O21         O22          R2
             C1          C2           N

with expected ``E_ij = R_i C_j / N``. In a window of ``L`` words left and ``R`` right of each
occurrence of the node, R1 is the number of window slots (``f(n) × (L + R)``), C1 the collocate's
corpus frequency and N the corpus size; for adjacent pairs R1 and C1 are the words' frequencies as
first and second word of a pair and N the number of pairs — the table NLTK's
``BigramAssocMeasures`` uses.

The formulas (Evert 2005, *The Statistics of Word Cooccurrences*; Rychlý 2008 for logDice;
Gries 2013 for ΔP) are in ``HELP``, which the page shows next to each measure.
"""

from __future__ import annotations

import numpy as np

HELP = {
    "frequency": "O11: how often the two occur together (within the span).",
    "MI": "Mutual information: log2(O11 / E11). Rewards exclusive pairs; rare pairs score high, so set a minimum frequency.",
    "MI3": "log2(O11³ / E11): MI with more weight on frequency (Daille 1994), less biased to rare pairs.",
    "t-score": "(O11 − E11) / √O11: how sure the pair is above chance; favours frequent pairs.",
    "log-likelihood": "G² = 2 Σ O_ij ln(O_ij / E_ij) over the four cells (Dunning 1993); above 10.83: p < 0.001.",
    "logDice": "14 + log2(2 O11 / (f(n) + f(c))) (Rychlý 2008): at most 14, comparable across corpora sizes.",
    "ΔP c|n": "O11 / R1 − O21 / R2: how much more likely the collocate is near the node than elsewhere (Gries 2013).",
    "ΔP n|c": "O11 / C1 − O12 / C2: how much more likely the node is near the collocate than elsewhere.",
}
MEASURES = tuple(HELP)


def _xlogx_over(o: np.ndarray, e: np.ndarray) -> np.ndarray:
    """o ln(o / e), with 0 ln 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = o * np.log(np.where(o > 0, o, 1.0) / np.where(e > 0, e, 1.0))
    return np.where(o > 0, out, 0.0)


def association(o11, r1, c1, n, f_node=None, f_coll=None) -> dict[str, np.ndarray]:
    """Every measure of ``MEASURES`` for arrays of O11, R1, C1 (broadcast) and the total N.

    ``f_node`` / ``f_coll``: the words' corpus frequencies for logDice (default R1 and C1).
    """
    o11 = np.asarray(o11, dtype=np.float64)
    r1 = np.broadcast_to(np.asarray(r1, dtype=np.float64), o11.shape)
    c1 = np.broadcast_to(np.asarray(c1, dtype=np.float64), o11.shape)
    n = float(n)
    o12, o21 = r1 - o11, c1 - o11
    o22 = n - r1 - c1 + o11
    r2, c2 = n - r1, n - c1
    e11, e12, e21, e22 = r1 * c1 / n, r1 * c2 / n, r2 * c1 / n, r2 * c2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = np.log2(o11 / e11)
        mi3 = np.log2(o11 ** 3 / e11)
        t = (o11 - e11) / np.sqrt(o11)
        g2 = 2 * (_xlogx_over(o11, e11) + _xlogx_over(o12, e12) + _xlogx_over(o21, e21) + _xlogx_over(o22, e22))
        fn = r1 if f_node is None else np.broadcast_to(np.asarray(f_node, dtype=np.float64), o11.shape)
        fc = c1 if f_coll is None else np.broadcast_to(np.asarray(f_coll, dtype=np.float64), o11.shape)
        log_dice = 14 + np.log2(2 * o11 / (fn + fc))
        dp_cn = o11 / r1 - np.where(r2 > 0, o21 / r2, 0.0)
        dp_nc = o11 / c1 - np.where(c2 > 0, o12 / c2, 0.0)
    # A pair seen less often than chance has G² as large as an attracted one: sign it, as AntConc does
    g2 = np.where(o11 < e11, -g2, g2)
    return {"frequency": o11, "MI": mi, "MI3": mi3, "t-score": t, "log-likelihood": g2, "logDice": log_dice,
            "ΔP c|n": dp_cn, "ΔP n|c": dp_nc}
