"""Word vectors on disk: the artifact format (import and export formats live in ``vector_files.py``).

One rule: **no pickle ever crosses this boundary** (gensim ``.save()``, ``.pkl``,
``.pt`` can run code when loaded), so everything here is ``.npy`` (``allow_pickle=False``),
JSON and plain text/binary vector formats.

The artifact (``save_kv`` / ``load_kv``)::

       vectors.npy          float32 (V, d): kv.vectors (for FastText the composed word vectors)
       vocab.json           {"version": 1, "words": [V str], "counts": [V int], "has_counts": bool}
       fasttext.json        only for FastTextKeyedVectors: {"min_n", "max_n", "bucket"}
       vectors_vocab.npy    FastText only: float32 (V, d) full-word vectors
       vectors_ngrams.npy   FastText only: float32 (bucket, d) char n-gram vectors

   ``load_kv`` rebuilds a ``FastTextKeyedVectors`` when ``fasttext.json`` is there, so
   ``kv["unseenword"]`` still works through the n-grams and gives the same vector as before saving.

Example::

    save_kv(kv, folder)
    same = load_kv(folder, mmap=True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import UserError

if TYPE_CHECKING:  # gensim itself where vectors are built: the pages that only list them never pay for it (~1.3 s)
    from gensim.models.keyedvectors import KeyedVectors

ARTIFACT_VERSION = 1


def word_counts(kv: KeyedVectors) -> np.ndarray:
    """The ``"count"`` vecattr as an int64 array of shape (V,); zeros when the vectors have none."""
    counts = kv.expandos.get("count") if hasattr(kv, "expandos") else None
    if counts is None or len(counts) != len(kv.index_to_key):
        return np.zeros(len(kv.index_to_key), dtype=np.int64)
    return np.asarray(counts, dtype=np.int64)


def has_counts(kv: KeyedVectors) -> bool:
    """True when the words carry real frequencies (trained here), False for imported files (all 0)."""
    return bool(word_counts(kv).any())


def save_kv(kv: KeyedVectors, folder: Path) -> None:
    """Write ``kv`` into ``folder`` as .npy + JSON (layout in the module docstring); never pickle.

    ``folder`` is normally the temporary folder of ``Workspace.create``, which makes the whole
    artifact appear atomically.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    words = list(kv.index_to_key)
    if not all(isinstance(w, str) for w in words):
        raise TypeError("save_kv stores word vectors: every key must be a str")
    vectors = np.ascontiguousarray(kv.vectors, dtype=np.float32)
    if vectors.shape != (len(words), kv.vector_size):
        raise ValueError(f"kv.vectors has shape {vectors.shape}, expected ({len(words)}, {kv.vector_size})")
    counts = word_counts(kv)
    _save_npy(folder / "vectors.npy", vectors)
    vocab = {"version": ARTIFACT_VERSION, "words": words, "counts": counts.tolist(), "has_counts": bool(counts.any())}
    # ensure_ascii keeps the file valid UTF-8 even for words holding lone surrogates.
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    from gensim.models.fasttext import FastTextKeyedVectors

    if isinstance(kv, FastTextKeyedVectors):
        ft = {"min_n": int(kv.min_n), "max_n": int(kv.max_n), "bucket": int(kv.bucket)}
        (folder / "fasttext.json").write_text(json.dumps(ft), encoding="utf-8")
        _save_npy(folder / "vectors_vocab.npy", np.ascontiguousarray(kv.vectors_vocab, dtype=np.float32))
        ngrams = kv.vectors_ngrams if kv.vectors_ngrams is not None else np.zeros((0, kv.vector_size), np.float32)
        _save_npy(folder / "vectors_ngrams.npy", np.ascontiguousarray(ngrams, dtype=np.float32))


def load_kv(folder: Path, mmap: bool = False) -> KeyedVectors:
    """Read what ``save_kv`` wrote. ``mmap=True`` maps the arrays read-only instead of reading them.

    Returns a ``FastTextKeyedVectors`` when the folder holds FastText n-grams, else ``KeyedVectors``.
    A damaged folder raises ``UserError`` saying which file is wrong.
    """
    folder = Path(folder)
    mode = "r" if mmap else None
    try:
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        words, counts = vocab["words"], vocab.get("counts")
        vectors = np.load(folder / "vectors.npy", allow_pickle=False, mmap_mode=mode)
        ft = None
        if (folder / "fasttext.json").is_file():
            ft = json.loads((folder / "fasttext.json").read_text(encoding="utf-8"))
            vectors_vocab = np.load(folder / "vectors_vocab.npy", allow_pickle=False, mmap_mode=mode)
            vectors_ngrams = np.load(folder / "vectors_ngrams.npy", allow_pickle=False, mmap_mode=mode)
    except FileNotFoundError as e:
        raise UserError(f"The saved vectors in {folder} are incomplete ({Path(e.filename).name} is missing).") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"The saved vectors in {folder} can't be read: {e}. Train or import them again.") from None

    def damaged(why: str) -> UserError:
        return UserError(f"The saved vectors in {folder} are damaged: {why}. Train or import them again.")

    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise damaged("vocab.json has no list of words")
    if vectors.ndim != 2 or vectors.shape[0] != len(words) or vectors.dtype != np.float32:
        raise damaged(f"vectors.npy is {vectors.dtype} {vectors.shape} for {len(words)} words")
    if counts is None:
        counts = [0] * len(words)
    if not isinstance(counts, list) or len(counts) != len(words):
        raise damaged("vocab.json has a different number of counts than words")
    from gensim.models.fasttext import FastTextKeyedVectors
    from gensim.models.keyedvectors import KeyedVectors

    dim = int(vectors.shape[1])
    if ft is None:
        kv = KeyedVectors(dim)
    else:
        try:
            kv = FastTextKeyedVectors(dim, int(ft["min_n"]), int(ft["max_n"]), int(ft["bucket"]))
        except (KeyError, TypeError, ValueError):
            raise damaged("fasttext.json lacks min_n/max_n/bucket") from None
        if vectors_vocab.shape != vectors.shape or vectors_ngrams.shape != (kv.bucket, dim):
            raise damaged(f"the FastText arrays have shapes {vectors_vocab.shape} and {vectors_ngrams.shape}")
        kv.vectors_vocab = vectors_vocab
        kv.vectors_ngrams = vectors_ngrams
    from_arrays(kv, words, vectors, counts)
    if len(kv.key_to_index) != len(words):
        raise damaged("vocab.json lists a word twice")
    if ft is not None:
        kv.recalc_char_ngram_buckets()  # gensim's cache of each word's n-gram buckets (used when training on)
    return kv


@dataclass(eq=False)  # compared and hashed by identity, like KeyedVectors (find_word caches per model)
class Vocabulary:
    """A model's words without its vectors: what a page needs to offer words to choose
    (``len``, ``index_to_key``, ``key_to_index``, ``vector_size``), read without importing gensim."""

    index_to_key: list[str]
    vector_size: int
    key_to_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index


def load_vocabulary(folder: Path) -> Vocabulary:
    """The words of what ``save_kv`` wrote, and the vectors' width from the .npy header (nothing else
    read): the Map page's form shows at once, gensim and the vectors load when a map is drawn."""
    folder = Path(folder)
    try:
        words = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))["words"]
        shape = np.load(folder / "vectors.npy", allow_pickle=False, mmap_mode="r").shape
    except FileNotFoundError as e:
        raise UserError(f"The saved vectors in {folder} are incomplete ({Path(e.filename).name} is missing).") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"The saved vectors in {folder} can't be read: {e}. Train or import them again.") from None
    if not isinstance(words, list) or len(shape) != 2 or shape[0] != len(words):
        raise UserError(f"The saved vectors in {folder} are damaged: vocab.json does not match vectors.npy. "
                        "Train or import them again.")
    return Vocabulary(words, int(shape[1]))


def from_arrays(kv: KeyedVectors, words: list[str], vectors: np.ndarray, counts) -> KeyedVectors:
    """Set a fresh KeyedVectors' vocabulary in one go (``add_vectors`` would copy row by row)."""
    kv.index_to_key = list(words)
    kv.key_to_index = {w: i for i, w in enumerate(kv.index_to_key)}
    kv.vectors = vectors
    kv.next_index = len(words)
    kv.norms = None
    kv.allocate_vecattrs(attrs=["count"], types=[np.int64])
    kv.expandos["count"][:] = np.asarray(counts, dtype=np.int64)
    return kv


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
