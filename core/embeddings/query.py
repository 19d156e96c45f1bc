"""Questions a person asks of word vectors, and comparisons between two models.

Every function takes user-typed words and is forgiving about them: spaces are stripped, and a
word missing in its exact form is looked up lowercased, then case-insensitively (the most
frequent variant wins). :func:`describe_word` tells which form was used, whether the word was
seen in training, and whether it only has a FastText character n-gram vector. Unknown words
end in a :class:`UserError` naming them.

Scores are cosine similarities in [-1, 1], except ``analogy(method="mul")`` whose 3CosMul score
is a ratio of cosines shifted to [0, 1] (gensim's ``most_similar_cosmul``).

Example (scores from a large model, for illustration)::

    >>> neighbours(kv, "king", k=3)
    [('queen', 0.71), ('prince', 0.66), ('monarch', 0.63)]
    >>> analogy(kv, "man", "king", "woman", k=1)     # man : king :: woman : ?  ->  king - man + woman
    [('queen', 0.74)]
    >>> odd_one_out(kv, "breakfast cereal dinner lunch")
    'cereal'
"""

from __future__ import annotations

import warnings

import numpy as np

from core.embeddings.words import find_word, split_words
from core.errors import UserError

# ---------------------------------------------------------------------------------------------
# Word lookup
# ---------------------------------------------------------------------------------------------


def _clean(word, what: str = "a word") -> str:
    word = "" if word is None else str(word).strip()
    if not word:
        raise UserError(f"Type {what} first.")
    return word


def _is_fasttext(kv) -> bool:
    return getattr(kv, "bucket", 0) > 0 and getattr(kv, "vectors_ngrams", None) is not None


def _looks_lowercase(kv) -> bool:
    return all(k == k.lower() for k in kv.index_to_key[:1000] if isinstance(k, str))


def _count(kv, form: str) -> int | None:
    if "count" not in kv.expandos:
        return None
    return int(kv.get_vecattr(form, "count"))


def describe_word(kv, word: str) -> dict:
    """How the model sees a typed word; never raises for an unknown word (only for empty input).

    Returns::

        {"input": the typed word, stripped,
         "word": the form used (vocabulary form, or the n-gram form for FastText) or None when unknown,
         "in_vocab": seen in training, "ngram_vector": no vocabulary entry, vector built from character n-grams,
         "case_changed": the form used differs from the input,
         "count": training frequency or None, "rank": 1 = most frequent, None when not in vocabulary}
    """
    typed = _clean(word)
    form = find_word(kv, typed)
    info = {
        "input": typed,
        "word": form,
        "in_vocab": form is not None,
        "ngram_vector": False,
        "case_changed": form is not None and form != typed,
        "count": None,
        "rank": None,
    }
    if form is not None:
        info["count"] = _count(kv, form)
        info["rank"] = kv.key_to_index[form] + 1
    elif _is_fasttext(kv):
        # A lowercased corpus never saw the n-grams of "Paris", only those of "paris".
        guess = typed.lower() if _looks_lowercase(kv) else typed
        if np.any(kv.get_vector(guess)):  # gensim gives a zero vector when no n-gram can be formed
            info.update(word=guess, ngram_vector=True, case_changed=guess != typed)
    return info


def _unknown_message(kv, words: list[str]) -> str:
    quoted = ", ".join(f"'{w}'" for w in words)
    verb = "is" if len(words) == 1 else "are"
    return (
        f"{quoted} {verb} not in the vocabulary of this model ({len(kv):,} words). "
        "Check the spelling, or train with a lower minimum count."
    )


def _require(kv, word, what: str = "a word") -> str:
    """The form to query for ``word`` (vocabulary or FastText n-gram form), or a UserError."""
    info = describe_word(kv, _clean(word, what))
    if info["word"] is None:
        raise UserError(_unknown_message(kv, [info["input"]]))
    return info["word"]


def split_known(kv, words) -> tuple[list[str], list[str]]:
    """Split typed words into (forms the model has a vector for, in order, without repeats; unknown inputs)."""
    known, unknown = [], []
    for w in split_words(words):
        form = describe_word(kv, w)["word"]
        if form is None:
            unknown.append(w)
        elif form not in known:
            known.append(form)
    return known, unknown


def _check_k(k) -> int:
    if not isinstance(k, int | np.integer) or k < 1:
        raise UserError(f"The number of results must be a whole number of at least 1, not {k!r}.")
    return int(k)


# ---------------------------------------------------------------------------------------------
# One model
# ---------------------------------------------------------------------------------------------


def neighbours(kv, word: str, k: int = 10, *, restrict: int | None = None) -> list[tuple[str, float]]:
    """The ``k`` nearest words by cosine, the word itself excluded; ``restrict`` searches only the N most frequent.

    For FastText an unseen word is answered from its character n-gram vector; use
    :func:`describe_word` to tell the user so.
    """
    k = _check_k(k)
    if restrict is not None:
        restrict = _check_k(restrict)
    form = _require(kv, word)
    return [(w, float(s)) for w, s in kv.most_similar(form, topn=k, restrict_vocab=restrict)]


def analogy(kv, a: str, b: str, c: str, k: int = 10, method: str = "add") -> list[tuple[str, float]]:
    """Solve "a is to b as c is to ?" — the words nearest to ``b - a + c``; a, b and c are never returned.

    ``analogy(kv, "man", "king", "woman")`` asks man : king :: woman : ? (expected "queen").
    ``method="add"`` is 3CosAdd (``kv.most_similar``, scores are cosines); ``"mul"`` is 3CosMul
    (``kv.most_similar_cosmul``, Levy & Goldberg 2014, less dominated by one large similarity).
    """
    k = _check_k(k)
    if method not in ("add", "mul"):
        raise UserError(f"Unknown analogy method {method!r}: use 'add' (3CosAdd) or 'mul' (3CosMul).")
    words = [_clean(w, "all three words") for w in (a, b, c)]
    forms = [describe_word(kv, w)["word"] for w in words]
    missing = [w for w, f in zip(words, forms, strict=True) if f is None]
    if missing:
        raise UserError(_unknown_message(kv, missing))
    fa, fb, fc = forms
    if method == "add":
        found = kv.most_similar(positive=[fb, fc], negative=[fa], topn=k)
    else:
        with warnings.catch_warnings():  # gensim's cosmul calls its own deprecated init_sims()
            warnings.simplefilter("ignore", DeprecationWarning)
            found = kv.most_similar_cosmul(positive=[fb, fc], negative=[fa], topn=k)
    return [(w, float(s)) for w, s in found]


def similarity(kv, a: str, b: str) -> float:
    """Cosine similarity of two words, in [-1, 1]."""
    return float(kv.similarity(_require(kv, a), _require(kv, b)))


def odd_one_out(kv, words) -> str:
    """The word farthest from the mean of the others (``kv.doesnt_match``), as the model spells it.

    ``words`` is a list or one string separated by commas/spaces. Unknown words are ignored (find
    them with :func:`split_known`); at least 3 distinct known words are needed.
    """
    known, unknown = split_known(kv, words)
    if len(known) < 3:
        msg = f"Odd one out needs at least 3 different known words; got {len(known)}."
        if unknown:
            msg += " " + _unknown_message(kv, unknown)
        raise UserError(msg)
    return kv.doesnt_match(known)


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


def similarity_matrix(kv, words) -> tuple[list[str], np.ndarray, list[str]]:
    """Pairwise cosines of the known words: ``(kept_words, matrix of shape (n, n), unknown_words)``.

    Unknown words are dropped and returned third; repeats are kept once. The diagonal is 1.
    """
    kept, unknown = split_known(kv, words)
    if not kept:
        if not unknown:
            raise UserError("Type some words first.")
        raise UserError(_unknown_message(kv, unknown))
    vecs = _unit_rows(np.vstack([kv.get_vector(w) for w in kept]).astype(np.float64))
    sims = np.clip(vecs @ vecs.T, -1.0, 1.0)
    np.fill_diagonal(sims, 1.0)
    return kept, sims, unknown


# ---------------------------------------------------------------------------------------------
# Two models
# ---------------------------------------------------------------------------------------------


def _shared_words(kv_a, kv_b) -> list[str]:
    """Words in both vocabularies, most frequent first (summed counts when both have them, else A's order)."""
    shared = [w for w in kv_a.index_to_key if w in kv_b.key_to_index]
    ca, cb = kv_a.expandos.get("count"), kv_b.expandos.get("count")
    if shared and ca is not None and cb is not None:
        ia = np.fromiter((kv_a.key_to_index[w] for w in shared), dtype=np.int64, count=len(shared))
        ib = np.fromiter((kv_b.key_to_index[w] for w in shared), dtype=np.int64, count=len(shared))
        total = np.asarray(ca, dtype=np.float64)[ia] + np.asarray(cb, dtype=np.float64)[ib]
        shared = [shared[i] for i in np.argsort(-total, kind="stable")]
    return shared


def _overlap(kv_a, kv_b, wa: str, wb: str, k: int) -> tuple[list[str], list[str], list[str], float | None]:
    na = [w for w, _ in kv_a.most_similar(wa, topn=k)]
    nb = [w for w, _ in kv_b.most_similar(wb, topn=k)]
    inb = set(nb)
    shared = [w for w in na if w in inb]
    # A vocabulary with fewer than k other words caps how many neighbours can match.
    denom = min(k, len(na), len(nb))
    return na, nb, shared, (len(shared) / denom if denom else None)


def neighbour_overlap(kv_a, kv_b, words, k: int = 10) -> list[dict]:
    """Per typed word, how far its ``k`` nearest neighbours agree between two models.

    Returns one row per distinct word::

        {"word": typed word, "word_a"/"word_b": vocabulary forms (None when missing),
         "neighbours_a", "neighbours_b": lists of words, "shared": neighbours in both,
         "overlap": |A ∩ B| / k (None when the word is missing in a model), "missing_in": [] or ["A"], ["B"], ["A", "B"]}

    Only words seen in training count here (no FastText n-gram vectors): the question is what
    each model learned from its corpus.
    """
    k = _check_k(k)
    typed = list(dict.fromkeys(split_words(words)))
    if not typed:
        raise UserError("Type some words first.")
    rows = []
    for w in typed:
        wa, wb = find_word(kv_a, w), find_word(kv_b, w)
        row = {
            "word": w,
            "word_a": wa,
            "word_b": wb,
            "neighbours_a": [],
            "neighbours_b": [],
            "shared": [],
            "overlap": None,
            "missing_in": [name for name, f in (("A", wa), ("B", wb)) if f is None],
        }
        if wa is not None and wb is not None:
            row["neighbours_a"], row["neighbours_b"], row["shared"], row["overlap"] = _overlap(kv_a, kv_b, wa, wb, k)
        rows.append(row)
    return rows


def mean_overlap(kv_a, kv_b, k: int = 10, n_words: int = 200) -> float:
    """Mean neighbour overlap@k over the ``n_words`` most frequent words the two models share.

    1.0 means identical neighbourhoods; two unrelated models score about k / vocabulary size.
    """
    k, n_words = _check_k(k), _check_k(n_words)
    shared = _shared_words(kv_a, kv_b)[:n_words]
    if not shared:
        raise UserError("The two models share no words, so their neighbourhoods cannot be compared.")
    scores = [_overlap(kv_a, kv_b, w, w, k)[3] for w in shared]
    scores = [s for s in scores if s is not None]
    if not scores:
        raise UserError("The models have too few words to compare neighbourhoods (each needs at least 2).")
    return float(np.mean(scores))


def _prepare(m: np.ndarray) -> np.ndarray:
    """Unit length, mean-centred, unit length again (Artetxe et al. 2018): every word weighs the same in the fit."""
    m = _unit_rows(m.astype(np.float64))
    return _unit_rows(m - m.mean(axis=0))


def procrustes(kv_a, kv_b, n_anchor: int | None = None) -> dict:
    """Rotate model A onto model B (orthogonal Procrustes) and list the words that moved most.

    Over the shared vocabulary, vectors are unit-normalised and mean-centred; the rotation is fit
    on the ``n_anchor`` most frequent shared words (all when None) and applied to every shared word.
    A rotation keeps all distances inside A, so a low cosine after alignment means a word's
    neighbourhood really differs between the models (e.g. semantic change between two corpora).

    Different vector sizes are allowed: the smaller space is padded with zero dimensions, which
    embeds it in the larger one without changing any of its cosines (no information is dropped,
    unlike reducing the larger one with PCA).

    Returns::

        {"shared": number of shared words, "anchors": words used to fit, "dims": [dim_a, dim_b],
         "mean_cosine": mean cosine after alignment over all shared words,
         "moved": [{"word", "cosine_after_alignment", "count_a", "count_b"}, ...] least similar first}
    """
    shared = _shared_words(kv_a, kv_b)
    if len(shared) < 2:
        raise UserError(f"The two models share {len(shared)} word(s); aligning them needs at least 2 (better hundreds).")
    if n_anchor is not None:
        if not isinstance(n_anchor, int | np.integer) or n_anchor < 2:
            raise UserError(f"The number of anchor words must be at least 2, not {n_anchor!r}.")
    n_fit = len(shared) if n_anchor is None else min(int(n_anchor), len(shared))
    ia = [kv_a.key_to_index[w] for w in shared]
    ib = [kv_b.key_to_index[w] for w in shared]
    x, y = _prepare(kv_a.vectors[ia]), _prepare(kv_b.vectors[ib])
    dim = max(x.shape[1], y.shape[1])
    x = np.pad(x, ((0, 0), (0, dim - x.shape[1])))
    y = np.pad(y, ((0, 0), (0, dim - y.shape[1])))
    from scipy.linalg import orthogonal_procrustes  # here: the Embeddings page imports this module on every render

    rotation, _ = orthogonal_procrustes(x[:n_fit], y[:n_fit])
    cos = np.einsum("ij,ij->i", _unit_rows(x @ rotation), _unit_rows(y))
    cos = np.clip(cos, -1.0, 1.0)
    moved = [
        {
            "word": shared[i],
            "cosine_after_alignment": float(cos[i]),
            "count_a": _count(kv_a, shared[i]),
            "count_b": _count(kv_b, shared[i]),
        }
        for i in np.argsort(cos, kind="stable")
    ]
    return {
        "shared": len(shared),
        "anchors": n_fit,
        "dims": [int(kv_a.vector_size), int(kv_b.vector_size)],
        "mean_cosine": float(cos.mean()),
        "moved": moved,
    }
