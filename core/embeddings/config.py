"""EmbeddingConfig: what to train, as one frozen dataclass for Word2Vec, FastText and GloVe.

Only the fields an algorithm uses go into its artifact id (``relevant()``), so moving the
FastText n-gram slider never makes a new Word2Vec model.

Example::

    EmbeddingConfig(algorithm="word2vec", sg=True, vector_size=100).label()  # 'Skip-gram 100d'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from core.errors import UserError

ALGORITHMS = ("word2vec", "fasttext", "glove")
COMMON = ("algorithm", "vector_size", "window", "min_count", "epochs", "seed")
ONLY = {
    "word2vec": ("sg", "negative", "hs", "sample", "learning_rate", "min_learning_rate"),
    "fasttext": ("sg", "negative", "hs", "sample", "learning_rate", "min_learning_rate", "min_n", "max_n", "bucket"),
    "glove": ("x_max", "weighting_power", "glove_learning_rate"),
}


@dataclass(frozen=True)
class EmbeddingConfig:
    algorithm: str = "word2vec"
    vector_size: int = 100
    window: int = 5
    min_count: int = 5
    epochs: int = 5
    seed: int = 1
    workers: int = 2  # not in the id: it changes speed, not what the model is
    # Word2Vec and FastText
    sg: bool = False  # False = CBOW (predict a word from its context), True = skip-gram (the reverse)
    negative: int = 5  # negative samples; 0 with hs=True = hierarchical softmax
    hs: bool = False
    sample: float = 1e-3  # down-sampling of very frequent words
    learning_rate: float = 0.025
    min_learning_rate: float = 0.0001
    # FastText: character n-grams give vectors to words never seen
    min_n: int = 3
    max_n: int = 6
    bucket: int = 200_000  # gensim's 2M buckets would make a 800 MB artifact at 100 dims
    # GloVe
    x_max: float = 10.0  # the paper uses 100 on billions of tokens; Stanford's demo uses 10, small corpora need it
    weighting_power: float = 0.75
    glove_learning_rate: float = 0.05

    def validate(self) -> EmbeddingConfig:
        checks = [
            (self.algorithm in ALGORITHMS, f"Unknown algorithm '{self.algorithm}'; choose one of {', '.join(ALGORITHMS)}."),
            (2 <= self.vector_size <= 1000, "Vector size must be between 2 and 1,000."),
            (1 <= self.window <= 50, "Window must be between 1 and 50 words."),
            (self.min_count >= 1, "Minimum count must be at least 1."),
            (1 <= self.epochs <= 500, "Epochs must be between 1 and 500."),
            (self.workers >= 1, "Workers must be at least 1."),
            (self.negative >= 0 and (self.negative > 0 or self.hs),
             "Choose negative sampling (negative > 0) or hierarchical softmax, or both."),
            (0 <= self.sample < 1, "Sub-sampling must be between 0 and 1 (e.g. 0.001)."),
            (0 < self.learning_rate <= 1 and 0 <= self.min_learning_rate <= self.learning_rate,
             "Learning rate must be in (0, 1], and the final rate no larger than the first."),
            (1 <= self.min_n <= self.max_n <= 12, "Character n-grams: 1 ≤ min n ≤ max n ≤ 12."),
            (1_000 <= self.bucket <= 10_000_000, "Buckets must be between 1,000 and 10,000,000."),
            (self.x_max > 0 and 0 < self.weighting_power <= 1 and 0 < self.glove_learning_rate <= 1,
             "GloVe: x_max > 0, weighting power in (0, 1], learning rate in (0, 1]."),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)
        return self

    def relevant(self) -> dict:
        """The fields that define the model (its id and what the leaderboard shows)."""
        keep = COMMON + ONLY.get(self.algorithm, ())
        return {k: v for k, v in asdict(self).items() if k in keep}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EmbeddingConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def label(self) -> str:
        if self.algorithm == "glove":
            name = "GloVe"
        else:
            arch = "skip-gram" if self.sg else "CBOW"
            name = f"FastText {arch}" if self.algorithm == "fasttext" else arch[0].upper() + arch[1:]
        return f"{name} {self.vector_size}d"


PRESETS = {
    "CBOW": EmbeddingConfig(algorithm="word2vec", sg=False),
    "Skip-gram": EmbeddingConfig(algorithm="word2vec", sg=True),
    "FastText": EmbeddingConfig(algorithm="fasttext", sg=True),
    "GloVe": EmbeddingConfig(algorithm="glove", window=10, epochs=15),
}
