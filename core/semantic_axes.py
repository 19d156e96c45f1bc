"""Semantic axes: a map whose x and y mean something — x from word A to B, y from C to D.

Each word is placed by the cosine-style projection of its unit vector on the unit direction
between two axis words, so x > 0 means "closer to B than to A".
"""

from __future__ import annotations

import numpy as np

from core.embeddings.words import find_word
from core.errors import UserError

# Pairs whose direction most readers recognise; the first two a model knows become the example axes.
AXIS_PAIRS = (("man", "woman"), ("bad", "good"), ("poor", "rich"), ("small", "large"), ("old", "new"),
              ("war", "peace"), ("low", "high"), ("past", "future"), ("he", "she"), ("lost", "won"),
              ("down", "up"), ("night", "day"), ("negative", "positive"), ("worst", "best"))


def example_axes(kv) -> tuple[str, str, str, str]:
    """Four axis words this model knows (A→B, C→D), so the example never opens on an error."""
    known = [pair for pair in AXIS_PAIRS if all(find_word(kv, w) is not None for w in pair)]
    if len(known) < 2:  # a tiny or foreign vocabulary: its own frequent words still make valid axes
        top = [w for w in kv.index_to_key[:50] if len(w) > 2][:4]
        known += [tuple(top[i:i + 2]) for i in (0, 2) if len(top[i:i + 2]) == 2]
    (a, b), (c, d) = (known + [("", ""), ("", "")])[:2]
    return a, b, c, d


def semantic_axes(kv, words, a: str, b: str, c: str, d: str) -> np.ndarray:
    """Coordinates (n, 2) float32 on two axes: x = cosine-style projection on unit(b − a), y = on unit(d − c).

    Word and axis vectors are unit-normalised first, so x > 0 means "closer to b than to a".
    ``semantic_axes(kv, words, "man", "woman", "poor", "rich")`` puts women right and the rich up.
    """
    ends = [str(w or "").strip() for w in (a, b, c, d)]
    if not all(ends):
        raise UserError("Type all four words that define the two axes.")
    forms = [find_word(kv, w) for w in ends]
    missing = [w for w, f in zip(ends, forms, strict=True) if f is None]
    if missing:
        raise UserError(f"{', '.join(map(repr, missing))} {'is' if len(missing) == 1 else 'are'} not in the vocabulary "
                        f"of this model ({len(kv):,} words). Check the spelling or pick other axis words.")

    def unit(v):
        v = np.asarray(v, dtype=np.float64)
        norm = np.linalg.norm(v)
        return v / norm if norm > 0 else v

    axes = []
    for lo, hi in ((0, 1), (2, 3)):
        direction = unit(kv[forms[hi]]) - unit(kv[forms[lo]])
        if not np.linalg.norm(direction) > 1e-12:
            raise UserError(f"The axis from '{ends[lo]}' to '{ends[hi]}' has no direction: use two different words.")
        axes.append(unit(direction))
    missing = [w for w in words if w not in kv.key_to_index]
    if missing:
        raise UserError(f"{len(missing)} word(s) on the map are not in this model: {', '.join(map(repr, missing[:10]))}.")
    rows = np.asarray(kv.vectors[[kv.key_to_index[w] for w in words]], dtype=np.float64).reshape(len(words), -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = rows / np.where(norms > 0, norms, 1.0)
    return (rows @ np.stack(axes, axis=1)).astype(np.float32)
