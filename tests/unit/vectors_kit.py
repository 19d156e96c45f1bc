"""Hand-made KeyedVectors for tests where the right answer is known exactly."""

import numpy as np
from gensim.models import KeyedVectors


def make_kv(words, vectors, counts=None) -> KeyedVectors:
    arr = np.asarray(vectors, dtype=np.float32)
    kv = KeyedVectors(arr.shape[1])
    kv.add_vectors(list(words), arr)
    for w, c in zip(words, counts or [], strict=False):
        kv.set_vecattr(w, "count", c)
    return kv
