"""Typed words → vocabulary words: one splitter for word lists and one lookup, for every page.

People type "Paris, London  berlin"; a model may know "paris", "London" or "BERLIN". The lookup
takes the exact form, else the lowercase one, else the most frequent case-insensitive match,
so the answer does not depend on which page asked.

Example::

    split_words("King, queen\\nman")   # ['King', 'queen', 'man']
    find_word(kv, "PARIS")             # 'paris'
"""

from __future__ import annotations

import re
import threading
import weakref

_SEPARATORS = re.compile(r"[,\s]+")
_FOLDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # kv → {casefolded: most frequent form}
_LOCK = threading.Lock()


def split_words(words) -> list[str]:
    """Words from a list, or from one string separated by commas or whitespace; blanks dropped."""
    if isinstance(words, str):
        words = _SEPARATORS.split(words)
    return [str(w).strip() for w in (words or []) if w is not None and str(w).strip()]


def _folded(kv) -> dict[str, str]:
    with _LOCK:
        index = _FOLDED.get(kv)
        if index is None or len(index) > len(kv.index_to_key):
            index = {}
            for key in kv.index_to_key:  # most frequent first: setdefault keeps the most frequent form
                if isinstance(key, str):
                    index.setdefault(key.casefold(), key)
            _FOLDED[kv] = index
        return index


def find_word(kv, word: str) -> str | None:
    """The vocabulary form of ``word``: exact, else lowercase, else the most frequent case-insensitive
    match; None when the model has no such word. The case-insensitive index is built once per model."""
    index = kv.key_to_index
    if word in index:
        return word
    if word.lower() in index:
        return word.lower()
    return _folded(kv).get(word.casefold())
