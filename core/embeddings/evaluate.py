"""Intrinsic benchmarks for word vectors: analogies (3CosAdd) and word-similarity correlation.

Word similarity is scored by gensim (``KeyedVectors.evaluate_word_pairs``). Analogies are scored
here, batched in numpy, with exactly the answers of gensim's ``evaluate_word_analogies`` (which
runs one ``most_similar`` per question in Python, 5-6x slower); see :func:`_score_analogies`.
Around the scoring this module adds what a dashboard needs:

- honest coverage: gensim silently skips questions with unknown words, so on a small corpus
  "accuracy 60 %" may rest on 40 of 19 544 questions. We report ``total`` (every question in
  the file), ``answerable`` and ``coverage`` next to the accuracy;
- strict reading of user files with a line-numbered :class:`UserError` (gensim only logs and
  skips bad lines), then a normalised copy (which gensim reads the same way, line for line);
- no mutation of the caller's vectors: gensim swaps ``key_to_index`` on the object while it
  evaluates, which would break a model shared by other browser sessions, so it runs on a copy.

Uploaded files travel as paths: ``check_analogy_file(data, name)`` / ``check_pairs_file``
validate the bytes and write a normalised copy named by its content hash, and the returned
path goes to ``analogies(kv, path)`` / ``word_similarity(kv, path, name=...)``. A path is a
string, so it is also a cheap cache key.

Example (Word2Vec, 50-d, on gensim's 300-document Lee corpus)::

    >>> res = analogies(kv)                      # Google questions-words
    >>> res["total"], res["answerable"], round(res["coverage"], 3)
    (19544, 555, 0.028)                          # 97 % of the questions use a word the corpus lacks
    >>> r = word_similarity(kv, name="wordsim353")
    >>> r["pairs"], r["answerable"], round(r["oov_rate"], 2)
    (353, 106, 0.7)

Cost: one nearest-neighbour search over ``restrict_vocab`` words per answerable question, done as
chunked matrix products (at most ``_SCORE_BUDGET`` scores in memory at a time), so time grows with
answerable questions x searched words x dimensions. On 2 cores a 100-d, 18 000-word model that
answers 7 100 Google questions takes ~0.4 s (gensim's loop: ~2.3 s); the 300 000-word default on a
large pretrained model that answers most of the 19 544 questions takes proportionally longer.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np

from core.corpus.samples import gensim_test_data
from core.errors import UserError


def datapath(name: str) -> str:
    """A file of gensim's bundled test data (the benchmarks), found without importing gensim (~1.3 s)."""
    return str(gensim_test_data() / name)


BENCHMARKS: dict[str, dict[str, str]] = {
    "analogies": {"google": datapath("questions-words.txt")},
    "similarity": {"wordsim353": datapath("wordsim353.tsv"), "simlex999": datapath("simlex999.txt")},
}

# The original word2vec compute-accuracy tool only looks at the 30 000 most frequent words;
# evaluate_all uses the same so a manifest summary stays quick even on a large vocabulary.
SUMMARY_RESTRICT_VOCAB = 30_000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_DEFAULT_SECTION = "(no section)"
# Fewer answerable pairs than this give no meaningful rank correlation (2 points are always ±1).
_MIN_PAIRS = 3
# Analogy scoring: questions per matrix product, and the most scores (chunk x restrict_vocab) held at once.
_CHUNK = 512
_SCORE_BUDGET = 16 * 2**20
# gensim reads only the 5 nearest words (most_similar(topn=5)) when it looks for a prediction.
_GENSIM_TOPN = 5


# ---------------------------------------------------------------------------------------------
# Reading benchmark files (strict, line-numbered errors)
# ---------------------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(f"{name} is {len(data) / 1e6:.0f} MB; benchmark files are limited to {MAX_UPLOAD_BYTES // 2**20} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(
            f"{name} is not UTF-8 text (undecodable byte at position {e.start}). Save it as UTF-8 and upload it again."
        ) from None
    if not text.strip():
        raise UserError(f"{name} is empty.")
    return text


def _lines(text: str):
    """Yield (line number from 1, stripped line) for content lines: no blanks, no '#' comments.

    Split on '\\n' only, so line numbers match what an editor shows.
    """
    for no, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield no, line


def _show(line: str, width: int = 60) -> str:
    return repr(line if len(line) <= width else line[: width - 1] + "…")


def _parse_analogies(text: str, name: str) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """Sections in file order as (section name, questions). Questions before any header go to a default section."""
    sections: list[tuple[str, list]] = []
    for no, line in _lines(text):
        if line.startswith(":"):
            title = line[1:].strip()
            if not title:
                raise UserError(f"{name}, line {no}: a section header needs a name after the colon, e.g. ': capitals'.")
            sections.append((title, []))
            continue
        words = line.split()
        if len(words) != 4:
            raise UserError(
                f"{name}, line {no}: expected 4 words separated by spaces (a b c d, read as 'a is to b as c is to d') "
                f"or a section header ': name', found {len(words)} word{'s' if len(words) != 1 else ''}: {_show(line)}."
            )
        if not sections:
            sections.append((_DEFAULT_SECTION, []))
        sections[-1][1].append(tuple(words))
    if not any(qs for _, qs in sections):
        raise UserError(f"{name} has no analogy questions (lines of 4 words such as 'man king woman queen').")
    return sections


def _analogy_text(sections) -> str:
    """The normalised form gensim reads: every section has a ': name' header, one question per line."""
    out = []
    for title, questions in sections:
        out.append(f": {title}")
        out.extend(" ".join(q) for q in questions)
    return "\n".join(out) + "\n"


def _split_pair_line(line: str) -> list[str]:
    if "\t" in line:
        return [f.strip() for f in line.split("\t")]
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return line.split()


def _parse_pairs(text: str, name: str) -> list[tuple[str, str, float]]:
    """(word 1, word 2, score) rows. The first content line may be a header (its score is not a number)."""
    pairs: list[tuple[str, str, float]] = []
    first = True
    for no, line in _lines(text):
        fields = _split_pair_line(line)
        if len(fields) != 3 or not fields[0] or not fields[1]:
            raise UserError(
                f"{name}, line {no}: expected 3 fields 'word1 word2 score' separated by a tab, comma or spaces, "
                f"found {len(fields)}: {_show(line)}."
            )
        try:
            score = float(fields[2])
        except ValueError:
            if first:  # a column header such as "word1  word2  similarity"
                first = False
                continue
            raise UserError(f"{name}, line {no}: the score {fields[2]!r} is not a number.") from None
        if not math.isfinite(score):
            raise UserError(f"{name}, line {no}: the score {fields[2]!r} is not a finite number.")
        first = False
        pairs.append((fields[0], fields[1], score))
    if not pairs:
        raise UserError(f"{name} has no word pairs (lines such as 'tiger<TAB>cat<TAB>7.35').")
    return pairs


def _pairs_text(pairs) -> str:
    return "".join(f"{a}\t{b}\t{s!r}\n" for a, b, s in pairs)


def _read(path: str | Path, name: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"The benchmark file {name} was not found at {p}.")
    return _decode(p.read_bytes(), name)


@functools.lru_cache(maxsize=16)
def _load_analogies(path: str, mtime_ns: int, size: int, name: str):
    return _parse_analogies(_read(path, name), name)


@functools.lru_cache(maxsize=16)
def _load_pairs(path: str, mtime_ns: int, size: int, name: str):
    pairs = _parse_pairs(_read(path, name), name)
    return pairs, _pairs_text(pairs)


def _stat_key(path: str | Path, name: str) -> tuple[str, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        raise UserError(f"The benchmark file {name} was not found at {path}.") from None
    return str(path), st.st_mtime_ns, st.st_size


def _save_upload(text: str, name: str, suffix: str, dest_dir: str | Path | None) -> Path:
    folder = Path(dest_dir) if dest_dir is not None else Path(tempfile.gettempdir()) / "corpus-lab-benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem)[:40].strip("_") or "upload"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    target = folder / f"{stem}-{digest}{suffix}"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    return target


def check_analogy_file(data: bytes, name: str, *, dest_dir: str | Path | None = None) -> Path:
    """Validate an uploaded analogy file and return the path of a normalised copy for :func:`analogies`.

    Format (the Google ``questions-words.txt`` format): ``: section name`` headers and questions of
    4 whitespace-separated words ``a b c d`` ("a is to b as c is to d"); blank lines and lines
    starting with ``#`` are ignored; questions before the first header form a section of their own.
    The copy is written to ``dest_dir`` (default: a folder in the system temp dir) under a name
    derived from its content, so the same upload always gives the same path.

    Raises UserError for an empty or non-UTF-8 file, or naming the first line that is not in this format.
    """
    sections = _parse_analogies(_decode(data, name), name)
    return _save_upload(_analogy_text(sections), name, ".txt", dest_dir)


def check_pairs_file(data: bytes, name: str, *, dest_dir: str | Path | None = None) -> Path:
    """Validate an uploaded word-similarity file and return the path of a normalised copy for :func:`word_similarity`.

    Format: ``word1 word2 score`` per line, fields separated by a tab (as in ``wordsim353.tsv``),
    a comma, or spaces; the score is a number; blank lines and ``#`` comments are ignored; the first
    line may be a column header. The copy is tab-separated, named by its content.

    Raises UserError for an empty or non-UTF-8 file, or naming the first line that is not in this format.
    """
    pairs = _parse_pairs(_decode(data, name), name)
    return _save_upload(_pairs_text(pairs), name, ".tsv", dest_dir)


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def _private_copy(kv):
    """A shallow copy that shares the vectors but not ``key_to_index``, which gensim swaps while evaluating."""
    if len(kv) == 0:
        raise UserError("The model has no words to evaluate.")
    kv.fill_norms()  # once on the original, so copies share the norms instead of recomputing them
    return copy.copy(kv)


def _tie_tolerance(dtype, dim: int) -> float:
    """A bound on how far a batched cosine can be from gensim's own (float rounding, both sides).

    Both compute dot products of ``dim`` terms between unit-length vectors, each off by at most
    ~``dim`` units of roundoff, plus a few for the differently rounded target vector. When the best
    two candidates are closer than twice that, gensim might order them the other way, so such a
    question is answered by gensim itself. (Measured differences are some 50x smaller than this.)
    """
    return 4 * (dim + 2) * float(np.finfo(dtype).eps)


def _gensim_prediction(work, ok_vocab: dict, limit: int, case_insensitive: bool, a: str, b: str, c: str):
    """What gensim's ``evaluate_word_analogies`` predicts for one question (its own code path, on ``work``).

    Used for the rare questions the batched search cannot settle exactly: near ties, no candidate
    left, or at least 5 case variants of the input words that may fill gensim's top-5 list.
    """
    original = work.key_to_index
    work.key_to_index = ok_vocab  # as gensim does; ``work`` is a private copy
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            sims = work.most_similar(positive=[b, c], negative=[a], topn=_GENSIM_TOPN, restrict_vocab=limit)
    finally:
        work.key_to_index = original
    predicted = None
    for key, _ in sims:
        predicted = key.upper() if case_insensitive else key
        if predicted in ok_vocab and predicted not in (a, b, c):
            break
    return predicted


def _score_analogies(work, sections, limit: int, case_insensitive: bool) -> list[dict]:
    """3CosAdd over the first ``limit`` words, with exactly the answers of gensim's ``evaluate_word_analogies``.

    Returns gensim's per-section structure (without its "Total accuracy" row):
    ``[{"section": name, "correct": [(a, b, c, d), ...], "incorrect": [...]}, ...]`` with the words
    upper-cased when ``case_insensitive``. gensim's rules, reproduced here:

    - the vocabulary is the first ``limit`` keys; with ``case_insensitive`` a word stands for the
      most frequent (lowest-index) key with the same upper-case form;
    - a question counts only when all 4 words are in that vocabulary;
    - the prediction is the key nearest by cosine to unit(b) - unit(a) + unit(c), leaving out a, b, c
      themselves and any key whose (upper-cased) form equals one of them; correct if it is d.

    Instead of one ``most_similar`` per question, questions go in chunks through one matrix
    product ``targets @ vectors.T / norms`` (gensim's own formula) with the inputs masked. gensim
    only looks at its 5 nearest words, and its float32 rounding may differ from a matrix product's,
    so questions where that could matter are handed to gensim (:func:`_gensim_prediction`).
    """
    fold = str.upper if case_insensitive else None
    keys = work.index_to_key[:limit]
    folded = [k.upper() for k in keys] if fold else list(keys)
    ok_vocab = {f: work.get_index(k) for f, k in zip(reversed(folded), reversed(keys), strict=True)}
    variants: dict[str, list[int]] = {}  # only forms shared by several keys (case_insensitive)
    if fold:
        first_seen: dict[str, int] = {}
        for i, f in enumerate(folded):
            if f in first_seen:
                variants.setdefault(f, [first_seen[f]]).append(i)
            else:
                first_seen[f] = i

    out = [{"section": title, "correct": [], "incorrect": []} for title, _ in sections]
    questions, where, masks, slow = [], [], [], []
    for s, (_, qs) in enumerate(sections):
        for q in qs:
            q = tuple(w.upper() for w in q) if fold else tuple(q)
            if not all(w in ok_vocab for w in q):
                continue
            idx = [ok_vocab[w] for w in q[:3]]
            cols = idx
            if variants and any(w in variants for w in q[:3]):
                cols = sorted({i for w in set(q[:3]) for i in variants.get(w, [ok_vocab[w]])})
            questions.append(q)
            where.append(s)
            masks.append(cols)
            # gensim drops only a, b, c's own indices, then keeps the first of its top 5 that is no
            # variant of them: with 5 or more other variants its answer can be a masked word.
            slow.append(len(set(cols) - set(idx)) >= _GENSIM_TOPN)
    if not questions:
        return out

    vectors = work.vectors[:limit]
    norms = work.norms[:limit]
    dtype = vectors.dtype
    bad_keys = np.flatnonzero(~(np.isfinite(norms) & (norms > 0)))  # gensim: NaN similarity, ranked last
    abc = np.asarray([[ok_vocab[w] for w in q[:3]] for q in questions], dtype=np.int64)
    with np.errstate(all="ignore"):
        unit = vectors[abc] / norms[abc][..., None]  # (n, 3, dim), as gensim's get_vector(norm=True)
        targets = unit[:, 1] + unit[:, 2] - unit[:, 0]
        targets /= np.linalg.norm(targets, axis=1, keepdims=True)
    targets = targets.astype(dtype, copy=False)
    unsafe = ~np.isfinite(targets).all(axis=1)  # an input without a direction, or b - a + c == 0
    predicted: list[int | None] = [None] * len(questions)
    tolerance = _tie_tolerance(dtype, vectors.shape[1])
    chunk = max(1, min(_CHUNK, _SCORE_BUDGET // len(keys)))
    for lo in range(0, len(questions), chunk):
        hi = min(lo + chunk, len(questions))
        with np.errstate(all="ignore"):
            scores = targets[lo:hi] @ vectors.T
            scores /= norms
        rows = np.repeat(np.arange(hi - lo), [len(m) for m in masks[lo:hi]])
        scores[rows, np.concatenate(masks[lo:hi])] = -np.inf
        if bad_keys.size:
            scores[:, bad_keys] = -np.inf
        best = scores.argmax(axis=1)
        r = np.arange(hi - lo)
        top = scores[r, best].copy()
        scores[r, best] = -np.inf
        runner_up = scores.max(axis=1)
        with np.errstate(invalid="ignore"):  # -inf - -inf when no candidate is left: unsettled anyway
            settled = np.isfinite(top) & ~unsafe[lo:hi] & ~(top - runner_up < tolerance)
        for j in range(hi - lo):
            if settled[j] and not slow[lo + j]:
                predicted[lo + j] = int(best[j])

    for q, s, p in zip(questions, where, predicted, strict=True):
        if p is None:
            guess = _gensim_prediction(work, ok_vocab, limit, case_insensitive, *q[:3])
        else:
            guess = folded[p]
        out[s]["correct" if guess == q[3] else "incorrect"].append(q)
    return out


def analogies(kv, path: str | Path | None = None, *, restrict_vocab: int = 300_000, case_insensitive: bool = True) -> dict:
    """Score analogy questions "a : b :: c : d" with 3CosAdd (is d the nearest word to b − a + c?).

    ``path`` None means the Google ``questions-words.txt`` set. Only the ``restrict_vocab`` most
    frequent words are searched and a question is *answerable* when all its 4 words are among them.
    The answers are those of gensim's ``evaluate_word_analogies`` (see :func:`_score_analogies`).

    Returns::

        {"accuracy": correct / answerable (None when nothing is answerable),
         "correct": int, "answerable": int, "total": every question in the file,
         "coverage": answerable / total, "restrict_vocab": the limit actually used,
         "sections": [{"section": name, "correct", "answerable", "total", "accuracy"}, ...]}
    """
    name = Path(path).name if path is not None else "questions-words.txt"
    src = BENCHMARKS["analogies"]["google"] if path is None else path
    if restrict_vocab < 1:
        raise UserError("restrict_vocab must be at least 1 word.")
    sections = _load_analogies(*_stat_key(src, name), name)
    work = _private_copy(kv)
    limit = min(len(kv), int(restrict_vocab))
    scored = _score_analogies(work, sections, limit, case_insensitive)
    rows = []
    for (title, questions), s in zip(sections, scored, strict=True):
        correct, answerable = len(s["correct"]), len(s["correct"]) + len(s["incorrect"])
        rows.append(
            {
                "section": title,
                "correct": correct,
                "answerable": answerable,
                "total": len(questions),
                "accuracy": correct / answerable if answerable else None,
            }
        )
    correct = sum(r["correct"] for r in rows)
    answerable = sum(r["answerable"] for r in rows)
    total = sum(r["total"] for r in rows)
    return {
        "accuracy": correct / answerable if answerable else None,
        "correct": correct,
        "answerable": answerable,
        "total": total,
        "coverage": answerable / total,
        "restrict_vocab": limit,
        "sections": rows,
    }


def word_similarity(kv, path: str | Path | None = None, name: str = "wordsim353", *, case_insensitive: bool = True) -> dict:
    """Correlate the model's cosine similarities with human scores for word pairs.

    ``path`` None means the bundled set called ``name`` ("wordsim353" or "simlex999"); with a path,
    ``name`` only labels error messages. Pairs with a word the model lacks are left out (and counted).

    Returns::

        {"spearman": float or None, "pearson": float or None,
         "pairs": every pair in the file, "answerable": pairs with both words known,
         "oov_pairs": pairs - answerable, "oov_rate": oov_pairs / pairs}

    The correlations are None when fewer than 3 pairs are answerable or the model's similarities
    are constant.
    """
    if path is None:
        sets = BENCHMARKS["similarity"]
        if name not in sets:
            raise UserError(f"Unknown word-similarity benchmark {name!r}; choose one of {', '.join(sets)} or upload a file.")
        path = sets[name]
    label = Path(path).name
    pairs, text = _load_pairs(*_stat_key(path, label), label)
    work = _private_copy(kv)
    # The same rule gensim applies, so our OOV count matches its filtering.
    fold = str.upper if case_insensitive else (lambda w: w)
    known = {fold(k) for k in kv.index_to_key}
    answerable = sum(1 for a, b, _ in pairs if fold(a) in known and fold(b) in known)
    spearman = pearson = None
    if answerable >= _MIN_PAIRS:
        with tempfile.TemporaryDirectory(prefix="corpus-lab-eval-") as tmp:
            file = Path(tmp) / "pairs.tsv"
            file.write_text(text, encoding="utf-8")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scipy warns on constant input and returns NaN
                p, s, _ = work.evaluate_word_pairs(
                    str(file), delimiter="\t", restrict_vocab=len(kv), case_insensitive=case_insensitive
                )
        spearman, pearson = _finite(s[0]), _finite(p[0])
    oov = len(pairs) - answerable
    return {
        "spearman": spearman,
        "pearson": pearson,
        "pairs": len(pairs),
        "answerable": answerable,
        "oov_pairs": oov,
        "oov_rate": oov / len(pairs),
    }


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def evaluate_all(kv, *, restrict_vocab: int = SUMMARY_RESTRICT_VOCAB) -> dict:
    """All bundled benchmarks, as a JSON-ready summary for an artifact manifest.

    Returns ``{"google": analogies(...), "wordsim353": word_similarity(...), "simlex999": ...}``.
    Analogies search the ``restrict_vocab`` most frequent words (30 000 as in word2vec's own
    compute-accuracy), which keeps this to seconds even for a large vocabulary.
    """
    out = {"google": analogies(kv, restrict_vocab=restrict_vocab)}
    for name in BENCHMARKS["similarity"]:
        out[name] = word_similarity(kv, name=name)
    return out
