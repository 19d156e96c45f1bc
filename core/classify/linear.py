"""The two scikit-learn baselines of the Classify page, stored as .npy + JSON (no pickle, no joblib).

* ``tfidf``: word unigrams + bigrams weighted by TF-IDF, then a logistic regression.
* ``mean_vectors``: each document is the mean of its words' unit vectors (computed by the caller's
  ``embed``), then a logistic regression. Only the coefficients are stored; the word vectors stay
  in their own artifact, so ``predict_proba`` and ``explain`` take them again.

Classes are integer indices into ``model.classes``. For two classes sklearn keeps one row of
coefficients, pushing toward ``classes[1]``; it is stored as given. ``explain`` gives each token of
a text its share of the linear score of one class (by default the predicted one): positive means
the token pushes toward that class, negative away from it, and the shares add up to the score
without the intercept (for two classes the score toward ``classes[0]`` is minus the one toward
``classes[1]``)::

    model = train_tfidf(texts, y, classes)              # y: class index per text
    proba = model.predict_proba(["a new text"])         # (1, k), rows sum to 1
    model.explain("a new text", top=5)                  # [(token, contribution), ...] in text order
    model.save(folder); again = LinearModel.load(folder)
    vec_model = train_mean_vectors(texts, y, classes, embed); vec_model.predict_proba(new, embed=embed)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import expit, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from core.errors import UserError

Embed = Callable[[list[str]], np.ndarray]  # texts -> (n, d), one row per text (zeros when no word is known)
FORMAT = 1
TFIDF_SETTINGS = {  # everything TfidfVectorizer needs, besides the vocabulary and idf, to give the same features
    "lowercase": True,
    "token_pattern": r"(?u)\b\w\w+\b",
    "ngram_range": [1, 2],
    "sublinear_tf": True,
    "norm": "l2",
    "strip_accents": None,
    "binary": False,
}
MAX_FEATURES = 50_000


def _vectorizer(settings: dict, **extra) -> TfidfVectorizer:
    s = dict(settings)
    s["ngram_range"] = tuple(s["ngram_range"])
    return TfidfVectorizer(**s, **extra)


@dataclass
class LinearModel:
    kind: str  # "tfidf" | "mean_vectors"
    classes: list[str]
    coef: np.ndarray  # float32 (k, d), or (1, d) toward classes[1] when k == 2
    intercept: np.ndarray  # float32 (k,) or (1,)
    vocabulary: list[str] | None = None  # tfidf: the term of each feature column
    idf: np.ndarray | None = None  # tfidf: float64 (d,)
    settings: dict = field(default_factory=dict)  # tfidf: TFIDF_SETTINGS as trained; mean_vectors: {"dim": d}
    _vec: TfidfVectorizer | None = field(default=None, init=False, repr=False, compare=False)

    # ---- features and probabilities -------------------------------------------------------------
    def vectorizer(self) -> TfidfVectorizer:
        """A TfidfVectorizer rebuilt from the vocabulary, idf and settings (no fitting, no pickle)."""
        if self._vec is None:
            vec = _vectorizer(self.settings, vocabulary={t: i for i, t in enumerate(self.vocabulary)})
            vec.idf_ = np.asarray(self.idf, dtype=np.float64)
            self._vec = vec
        return self._vec

    def features(self, texts: list[str], embed: Embed | None = None):
        if self.kind == "tfidf":
            return self.vectorizer().transform(texts)
        if embed is None:
            raise ValueError("A mean_vectors model needs the embed callable that it was trained with.")
        X = np.asarray(embed(list(texts)), dtype=np.float64)
        if X.shape != (len(texts), self.coef.shape[1]):
            raise UserError(
                f"These word vectors give {X.shape[-1]}-dimensional documents; the classifier was trained on "
                f"{self.coef.shape[1]}. Choose the word vectors it was trained with."
            )
        return X

    def scores(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef.T.astype(np.float64)) + self.intercept.astype(np.float64)

    def predict_proba(self, texts: list[str], embed: Embed | None = None) -> np.ndarray:
        """(n, k) probabilities; ``embed`` is needed (and only used) for a mean_vectors model."""
        s = self.scores(self.features(texts, embed))
        if self.coef.shape[0] == 1:
            p1 = expit(s[:, 0])
            return np.column_stack([1 - p1, p1])
        return softmax(s, axis=1)

    def _weights(self, target: int) -> np.ndarray:
        """Coefficients of the score toward class ``target`` (binary: toward classes[1], negated for classes[0])."""
        if self.coef.shape[0] == 1:
            return self.coef[0].astype(np.float64) * (1.0 if target == 1 else -1.0)
        return self.coef[target].astype(np.float64)

    # ---- explanations ---------------------------------------------------------------------------
    def explain(
        self,
        text: str,
        top: int | None = None,
        *,
        target: int | None = None,
        word_vector: Callable[[str], np.ndarray | None] | None = None,
        tokenize: Callable[[str], list[str]] | None = None,
    ) -> list[tuple[str, float]]:
        """The text's tokens in order, each with its contribution to class ``target`` (default: the predicted one).

        Positive = pushes toward that class. ``top`` keeps the ``top`` largest by absolute value, still in
        text order. tfidf: each feature's coef x value is shared among its occurrences, and an n-gram's
        share split evenly among its n words. mean_vectors: ``tokenize`` splits the text, ``word_vector``
        gives a word's vector or None; a known word contributes coef . unit vector / (known words).
        """
        if self.kind == "tfidf":
            tokens, contrib, target = self._explain_tfidf(text, target)
        else:
            if word_vector is None or tokenize is None:
                raise ValueError("Explaining a mean_vectors model needs word_vector and tokenize.")
            tokens, contrib, target = self._explain_vectors(text, target, word_vector, tokenize)
        pairs = [(t, float(c)) for t, c in zip(tokens, contrib, strict=True)]
        if top is not None and len(pairs) > top:
            keep = sorted(np.argsort(-np.abs(contrib), kind="stable")[:top].tolist())
            pairs = [pairs[i] for i in keep]
        return pairs

    def _explain_tfidf(self, text: str, target: int | None):
        vec = self.vectorizer()
        x = vec.transform([text])
        if target is None:
            target = int(np.argmax(self.predict_proba([text])[0]))
        w = self._weights(target)
        value = dict(zip(x.indices.tolist(), x.data.tolist(), strict=True))
        tokens = vec.build_tokenizer()(vec.build_preprocessor()(text))
        contrib = np.zeros(len(tokens))
        index = vec.vocabulary_
        lo, hi = self.settings["ngram_range"]
        for n in range(lo, hi + 1):
            grams = [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
            counts = Counter(grams)
            for i, gram in enumerate(grams):
                j = index.get(gram)
                if j is not None and j in value:
                    contrib[i : i + n] += w[j] * value[j] / counts[gram] / n
        return tokens, contrib, target

    def _explain_vectors(self, text: str, target: int | None, word_vector, tokenize):
        tokens = list(tokenize(text))
        units = []
        for t in tokens:
            v = word_vector(t)
            norm = 0.0 if v is None else float(np.linalg.norm(v))
            units.append(np.asarray(v, dtype=np.float64) / norm if norm > 0 else None)
        known = [u for u in units if u is not None]
        if target is None:
            mean = np.mean(known, axis=0) if known else np.zeros(self.coef.shape[1])
            s = self.scores(mean[None, :])[0]
            target = int(s[0] > 0) if self.coef.shape[0] == 1 else int(np.argmax(s))
        w = self._weights(target)
        contrib = np.array([0.0 if u is None else float(w @ u) / len(known) for u in units])
        return tokens, contrib, target

    # ---- storage --------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """coef.npy, intercept.npy, idf.npy (tfidf only) and linear.json into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "coef.npy", np.asarray(self.coef, dtype=np.float32), allow_pickle=False)
        np.save(folder / "intercept.npy", np.asarray(self.intercept, dtype=np.float32), allow_pickle=False)
        if self.kind == "tfidf":
            np.save(folder / "idf.npy", np.asarray(self.idf, dtype=np.float64), allow_pickle=False)
        meta = {"format": FORMAT, "kind": self.kind, "classes": list(self.classes),
                "vocabulary": self.vocabulary, "settings": self.settings}
        (folder / "linear.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LinearModel:
        folder = Path(folder)
        try:
            meta = json.loads((folder / "linear.json").read_text(encoding="utf-8"))
            coef = np.load(folder / "coef.npy", allow_pickle=False)
            intercept = np.load(folder / "intercept.npy", allow_pickle=False)
            idf = np.load(folder / "idf.npy", allow_pickle=False) if meta["kind"] == "tfidf" else None
        except (OSError, ValueError, KeyError) as e:
            raise UserError(f"This classifier's files are missing or damaged ({e}); train it again.") from e
        model = cls(kind=meta["kind"], classes=list(meta["classes"]), coef=coef, intercept=intercept,
                    vocabulary=meta.get("vocabulary"), idf=idf, settings=meta.get("settings", {}))
        width = len(model.vocabulary) if model.kind == "tfidf" else model.settings.get("dim", coef.shape[1])
        rows = 1 if len(model.classes) == 2 else len(model.classes)
        if coef.shape != (rows, width) or intercept.shape != (rows,) or (idf is not None and idf.shape != (width,)):
            raise UserError(f"This classifier's files do not fit together (coefficients {coef.shape}); train it again.")
        return model


# ---- training -----------------------------------------------------------------------------------
def _fit(X, y, classes: list[str], seed: int, C: float) -> LogisticRegression:
    y = np.asarray(y, dtype=np.int64)
    missing = sorted(set(range(len(classes))) - set(y.tolist()))
    if missing:
        names = ", ".join(f"'{classes[i]}'" for i in missing)
        raise UserError(f"No training documents for {names}: add examples of it, or drop it from the corpus.")
    lr = LogisticRegression(C=C, max_iter=1000, class_weight=None, random_state=seed)
    return lr.fit(X, y)


def train_tfidf(texts: list[str], y, classes: list[str], seed: int = 42, C: float = 1.0) -> LinearModel:
    """TF-IDF (unigrams + bigrams, sublinear tf, at most 50k terms) + logistic regression.

    Terms seen in a single document are kept for small corpora (under 1,000 documents), where they are
    most of the vocabulary, and dropped for larger ones, where they are mostly noise and memory.
    """
    settings = dict(TFIDF_SETTINGS)
    vec = _vectorizer(settings, min_df=1 if len(texts) < 1000 else 2, max_features=MAX_FEATURES)
    try:
        X = vec.fit_transform(texts)
    except ValueError as e:  # "empty vocabulary"
        raise UserError("These documents have no words of two letters or more to learn from.") from e
    lr = _fit(X, y, classes, seed, C)
    vocabulary = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    return LinearModel(kind="tfidf", classes=list(classes), coef=lr.coef_.astype(np.float32),
                       intercept=lr.intercept_.astype(np.float32), vocabulary=vocabulary,
                       idf=vec.idf_.astype(np.float64), settings=settings)


def train_mean_vectors(texts: list[str], y, classes: list[str], embed: Embed, seed: int = 42, C: float = 1.0) -> LinearModel:
    """Logistic regression on ``embed(texts)``: (n, d), e.g. the mean of each document's unit word vectors."""
    X = np.asarray(embed(list(texts)), dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != len(texts):
        raise ValueError(f"embed must give one row per text: got {X.shape} for {len(texts)} texts.")
    lr = _fit(X, y, classes, seed, C)
    return LinearModel(kind="mean_vectors", classes=list(classes), coef=lr.coef_.astype(np.float32),
                       intercept=lr.intercept_.astype(np.float32), settings={"dim": int(X.shape[1])})
