"""Training settings chosen for the corpus' size, each with the one-line reason the form shows.

gensim's defaults (5 epochs, min count 5) were made for corpora of millions of words. On a small
corpus a model trained with them never leaves its random start in one direction: on the bundled
Lee sample (60k tokens) CBOW at 5 epochs has a mean cosine of 0.99 between random words and
neighbours at 0.9995 — collapsed. The rule below comes from a sweep over the bundled samples
(``bench/quality.py`` reruns it), reading the fewest epochs that give a *good* verdict
(``quality.py``; ``bench/quality.py --sweep`` reruns it); the rule below gives 105, 30 and 10 for CBOW:

=========================  ======  ===========  ============  =================
sample                     tokens  CBOW epochs  skip-gram     min count
=========================  ======  ===========  ============  =================
movie-review polarity       3.7k   100          50            2 (5 leaves 97 words)
Lee news                     60k    30          20            5
English Wikipedia (short)   478k    10           5            5
=========================  ======  ===========  ============  =================

Epochs fall roughly as tokens^-0.45 (CBOW: 30 × (60k / tokens)^0.45, rounded to 5, within 5–200;
at 478k tokens CBOW is *weak* at 5 epochs — mean cosine 0.85 — and *good* at 10);
skip-gram and FastText learn more per pass (each word predicts its whole window), so they get
about two thirds of that. GloVe fits the co-occurrence matrix, not the running text: half the
CBOW number, at least 15. Its x_max (the count above which a pair weighs fully) is 10 up to
10 M tokens (at the paper's 100 a small corpus has almost no pair that weighs fully, and its
WordSim ρ fell to ≈ 0), 30 up to 100 M, and the paper's 100 beyond.

Example::

    auto_settings(PRESETS["CBOW"], 60_005)
    # (EmbeddingConfig(..., epochs=30, min_count=5), 'auto: 30 epochs, min count 5 for 60,005 tokens — ...')
"""

from __future__ import annotations

from dataclasses import replace

from core.embeddings.config import EmbeddingConfig

REFERENCE_TOKENS, REFERENCE_EPOCHS, EXPONENT = 60_000, 30, 0.45
MIN_EPOCHS, MAX_EPOCHS = 5, 200


def _round5(x: float) -> int:
    return int(max(MIN_EPOCHS, min(MAX_EPOCHS, 5 * round(x / 5))))


def cbow_epochs(n_tokens: int) -> int:
    return _round5(REFERENCE_EPOCHS * (REFERENCE_TOKENS / max(n_tokens, 1)) ** EXPONENT)


def auto_settings(config: EmbeddingConfig, n_tokens: int) -> tuple[EmbeddingConfig, str]:
    """``config`` with epochs, min count (and GloVe's x_max) chosen for ``n_tokens``; and why."""
    base = cbow_epochs(n_tokens)
    if config.algorithm == "glove":
        epochs = max(15, _round5(base / 2))
    elif config.sg:
        epochs = _round5(base * 2 / 3)
    else:
        epochs = base
    min_count = 5 if n_tokens >= 50_000 else 3 if n_tokens >= 10_000 else 2
    changes = {"epochs": epochs, "min_count": min_count}
    if config.algorithm == "glove":
        changes["x_max"] = 10.0 if n_tokens < 10_000_000 else 30.0 if n_tokens < 100_000_000 else 100.0
    if n_tokens >= 1_000_000 and epochs == MIN_EPOCHS:
        why = "a corpus this size gives each word enough occurrences in a few passes (gensim's defaults)"
    else:
        why = "smaller corpora need more passes, or every word ends up pointing the same way"
        if min_count < 5:
            why += f"; min count {min_count} keeps enough words to map"
    settings = f"{epochs} epochs, min count {min_count}"
    if "x_max" in changes:
        settings += f", x_max {changes['x_max']:g}"
    return replace(config, **changes), f"auto: {settings} for {n_tokens:,} tokens — {why}."
