"""Which labelled documents a classifier learns from, tunes on and is scored on.

``labelled`` keeps the documents that have both a label and some text and refuses corpora that
cannot make a classifier (no labels, one class, an id column posing as a label, too few documents).
``make_split`` divides them into train / validation / test, stratified by class with a fixed seed,
so every part has the classes in the same proportions and the same settings give the same split.
A class too small to be in every part is flagged in ``Split.problems`` and kept for training only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from core.errors import UserError

MIN_DOCUMENTS = 10  # fewer labelled documents than this cannot be split into train and test
MAX_CLASSES = 50  # more distinct labels than this is almost never a label column
MIN_PER_CLASS = 3  # a class needs one document in train, one in test, and one to spare
PARTS = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitConfig:
    test: float = 0.2  # share of the labelled documents held out for the final score
    validation: float = 0.1  # share held out for choosing settings (0: none)
    seed: int = 42

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        if not 0 < self.test < 1:
            raise UserError(f"The test share must be between 0 and 1 (0.2 is usual), not {self.test}.")
        if not 0 <= self.validation < 1:
            raise UserError(f"The validation share must be between 0 and 1 (0.1 is usual; 0 for none), not {self.validation}.")
        if self.test + self.validation > 0.9:
            raise UserError(
                f"Test ({self.test:.0%}) and validation ({self.validation:.0%}) together leave too little to train on: "
                "keep them at 90% or less together (30% is usual)."
            )


def labelled(documents) -> tuple[list[str], list[str], dict]:
    """(texts, labels, report) of the documents with a label and some text; report counts the others.

    Raises ``UserError`` when the labelled documents cannot make a classifier.
    """
    texts, labels = [], []
    report = {"unlabelled": 0, "empty": 0}
    for doc in documents:
        label = doc.label.strip() if isinstance(doc.label, str) else doc.label
        if label is None or label == "":
            report["unlabelled"] += 1
        elif not doc.text or not doc.text.strip():
            report["empty"] += 1
        else:
            texts.append(doc.text)
            labels.append(str(label))
    if not labels and not report["empty"]:
        raise UserError(
            "This corpus has no labels. Bring a CSV/JSONL with a label column, or try the Movie-review polarity sample."
        )
    counts = Counter(labels)
    singletons = sum(1 for n in counts.values() if n == 1)
    if len(counts) > MAX_CLASSES or (len(labels) >= MIN_DOCUMENTS and singletons > len(labels) / 2):
        raise UserError(
            f"The label column has {len(counts):,} different values over {len(labels):,} documents "
            f"({singletons:,} of them used only once): this is probably an id column, not a label. "
            f"A classifier needs a column with a few classes (at most {MAX_CLASSES}), each shared by many documents."
        )
    if len(counts) == 1:
        only = next(iter(counts))
        raise UserError(
            f"Every labelled document has the same label ('{only}'): a classifier needs at least two classes. "
            "Bring documents of another class too."
        )
    if len(labels) < MIN_DOCUMENTS:
        dropped = f" ({report['unlabelled']} without a label, {report['empty']} empty)" if sum(report.values()) else ""
        raise UserError(
            f"Only {len(labels)} documents have both a label and text{dropped}; training and testing a classifier "
            f"needs at least {MIN_DOCUMENTS}, and a few dozen per class to mean much."
        )
    return texts, labels, report


@dataclass
class Split:
    classes: list[str]  # sorted; class i is classes[i]
    train: np.ndarray  # int positions into the labelled texts
    validation: np.ndarray
    test: np.ndarray
    y: np.ndarray  # class index of every labelled text
    problems: list[str] = field(default_factory=list)

    def part(self, name: str) -> np.ndarray:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]

    def balance(self) -> dict[str, dict[str, int]]:
        """part -> class -> number of documents (every class listed, 0 where absent)."""
        out = {}
        for name in PARTS:
            counts = np.bincount(self.y[self.part(name)], minlength=len(self.classes))
            out[name] = {c: int(n) for c, n in zip(self.classes, counts, strict=True)}
        return out

    def to_dict(self) -> dict:
        return {
            "classes": list(self.classes),
            **{name: [int(i) for i in self.part(name)] for name in PARTS},
            "y": [int(i) for i in self.y],
            "problems": list(self.problems),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Split:
        ints = lambda key: np.asarray(data.get(key, []), dtype=np.int64)
        return cls(
            classes=list(data["classes"]),
            train=ints("train"),
            validation=ints("validation"),
            test=ints("test"),
            y=ints("y"),
            problems=list(data.get("problems", [])),
        )


def _take(pool: np.ndarray, y: np.ndarray, want: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (rest, taken) from ``pool``, taking about ``want`` and at least one per class where possible.

    Classes with a single document in ``pool`` cannot be stratified: they stay in ``rest``.
    """
    if want <= 0 or len(pool) == 0:
        return pool, np.empty(0, dtype=np.int64)
    counts = np.bincount(y[pool], minlength=int(y.max()) + 1)
    eligible = counts[y[pool]] >= 2
    able, others = pool[eligible], pool[~eligible]
    k = int(np.count_nonzero(counts >= 2))
    if k == 0:
        return pool, np.empty(0, dtype=np.int64)
    size = min(max(want, k), len(able) - k)  # >= k on both sides, as sklearn's split needs; len(able) >= 2k
    rest, taken = _stratified_shuffle(able, y[able], size, seed)
    return np.sort(np.concatenate([rest, others])).astype(np.int64), np.sort(taken).astype(np.int64)


# scikit-learn's stratified split, draw for draw: ``train_test_split(able, test_size=size, stratify=y,
# random_state=seed)`` gives the same two sets (tests/unit/test_classify_split.py compares them). Written
# out because importing sklearn.model_selection takes ~1.3 s on a fresh server, and the Classify page
# shows a labelled corpus's split on its first render; the same draws keep every stored model's split.
def _stratified_shuffle(able: np.ndarray, y: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)  # the legacy generator: sklearn's check_random_state(seed)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    keep = _approximate_mode(counts, len(able) - size, rng)
    take = _approximate_mode(counts - keep, size, rng)
    rest, taken = [], []
    for i, rows in enumerate(members):
        shuffled = rows.take(rng.permutation(counts[i]), mode="clip")
        rest.extend(shuffled[: keep[i]])
        taken.extend(shuffled[keep[i]: keep[i] + take[i]])
    return able[np.asarray(rest, dtype=np.int64)], able[np.asarray(taken, dtype=np.int64)]


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``draws`` each class gets: its floored share, then one more for the largest remainders
    (ties broken at random), as sklearn's ``_approximate_mode``."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), need)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            need -= now
            if need == 0:
                break
    return floored.astype(int)


def make_split(labels: list[str], config: SplitConfig) -> Split:
    """Stratified train / validation / test positions into ``labels`` (classes sorted, fixed seed)."""
    config.check()
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[label] for label in labels], dtype=np.int64)
    counts = np.bincount(y, minlength=len(classes))
    problems = []
    rare = counts < MIN_PER_CLASS
    for c in np.flatnonzero(rare):
        n = int(counts[c])
        problems.append(
            f"'{classes[c]}' has {n} document{'s' if n != 1 else ''}: too few to learn and test; "
            "add examples or drop it. It is used for training only."
        )
    pool = np.flatnonzero(~rare[y]).astype(np.int64)
    if len(pool) == 0:
        raise UserError(
            f"Every class has fewer than {MIN_PER_CLASS} documents, so none can be both learnt and tested. "
            "Add examples, or use a label with fewer, bigger classes."
        )
    n = len(labels)
    rest, test = _take(pool, y, round(config.test * n), config.seed)
    validation = np.empty(0, dtype=np.int64)
    if config.validation > 0:
        rest, validation = _take(rest, y, round(config.validation * n), config.seed)
    train = np.sort(np.concatenate([rest, np.flatnonzero(rare[y])])).astype(np.int64)
    tested = set(y[test].tolist())
    for c in np.flatnonzero(~rare):
        if int(c) not in tested:
            problems.append(
                f"'{classes[c]}' has no documents in the test part ({int(counts[c])} in all), so its scores are missing; "
                "add examples or raise the test share."
            )
    return Split(classes=classes, train=train, validation=validation, test=test, y=y, problems=problems)
