"""Can these vectors be trusted? A verdict — good, weak or collapsed — with its reason and its fix.

Benchmark scores alone do not say it: on a 60k-token corpus a collapsed CBOW model (every word at
cosine ~0.99 of every other) still gets WordSim-353 ρ ≈ 0.17 on the few pairs it covers. So the
verdict looks at the geometry of the space itself, on a fixed random sample (cost: a few ms):

- ``mean_cosine``: the mean cosine of random pairs of frequent words (anisotropy). A healthy
  space spreads words out (≈ 0.0–0.5); an under-trained one has every vector pointing the same
  way (≥ 0.9).
- ``neighbour_gap``: how much closer a word's 10 nearest neighbours are than a random word
  (mean top-10 cosine − mean random cosine). Distinct neighbourhoods give ≥ 0.25; a collapsed
  model's neighbours sit at 0.9995 next to randoms at 0.99, a gap of 0.01.
- ``well_trained``: the share of the vocabulary seen often enough to learn from
  (count × epochs ≥ ``SEEN_ENOUGH`` updates); only for models trained here (imports have no counts).

The thresholds come from a sweep over the bundled samples (``bench/quality.py``): with gensim's
defaults on Lee (5 epochs) CBOW lands at mean cosine 0.99 and gap ≈ 0.01; at 30 epochs 0.4–0.5
and gap ≈ 0.3, with neighbours a reader recognises.

Example::

    q = assess(kv, epochs=5)
    q["verdict"], q["reason"]   # ('collapsed', 'Every word is almost the same direction ...')
"""

from __future__ import annotations

import numpy as np

from core.embeddings.vectors import word_counts

VERDICTS = ("good", "weak", "collapsed")
SAMPLE_WORDS = 2000  # frequent words the statistics are drawn from
PAIRS = 4000
PROBES = 300  # words whose neighbourhoods are measured
NEIGHBOURS = 10
SEEN_ENOUGH = 100  # occurrences × epochs below which a word's vector is mostly its random start
COLLAPSED_COSINE, COLLAPSED_GAP = 0.9, 0.05
WEAK_COSINE, WEAK_GAP, WEAK_TRAINED = 0.6, 0.15, 0.25


def _unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


def geometry(vectors: np.ndarray, seed: int = 0) -> dict:
    """``mean_cosine`` and ``neighbour_gap`` of the first ``SAMPLE_WORDS`` rows (the most frequent words)."""
    x = _unit(np.asarray(vectors[:SAMPLE_WORDS], dtype=np.float32))
    n = len(x)
    if n < NEIGHBOURS + 2:
        return {"mean_cosine": None, "neighbour_gap": None}
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, PAIRS), rng.integers(0, n, PAIRS)
    keep = a != b
    mean_cos = float(np.mean(np.sum(x[a[keep]] * x[b[keep]], axis=1)))
    probes = rng.choice(n, size=min(PROBES, n), replace=False)
    sims = x[probes] @ x.T  # (probes, n)
    sims[np.arange(len(probes)), probes] = -np.inf  # a word is not its own neighbour
    top = np.partition(sims, -NEIGHBOURS, axis=1)[:, -NEIGHBOURS:]
    return {"mean_cosine": round(mean_cos, 4), "neighbour_gap": round(float(np.mean(top)) - mean_cos, 4)}


def assess(kv, *, epochs: int | None = None, min_count: int | None = None, scores: dict | None = None) -> dict:
    """Measure ``kv`` and give one verdict with the reason and, where there is one, the fix.

    ``epochs`` and ``min_count`` are the training settings (None for imported vectors); ``scores``
    the benchmark results of ``evaluate.evaluate_all`` (for the coverage note).
    """
    q = geometry(kv.vectors)
    counts = word_counts(kv)
    if epochs and counts.any():
        q["well_trained"] = round(float(np.mean(counts * epochs >= SEEN_ENOUGH)), 3)
    else:
        q["well_trained"] = None
    q.update(_verdict(q, epochs))
    q["note"] = _coverage_note(scores or {})
    return q


def _more_epochs(epochs: int | None) -> int | None:
    return None if not epochs else int(min(500, max(30, epochs * 3)))


def _verdict(q: dict, epochs: int | None) -> dict:
    cos, gap, trained = q["mean_cosine"], q["neighbour_gap"], q["well_trained"]
    fix = _more_epochs(epochs)
    if cos is None:
        return {"verdict": "weak", "reason": "Too few words to judge the space.", "fix_epochs": None}
    if cos >= COLLAPSED_COSINE or gap < COLLAPSED_GAP:
        return {"verdict": "collapsed", "fix_epochs": fix,
                "reason": f"Every word points almost the same way (random pairs have cosine {cos:.2f}, nearest neighbours "
                          f"only {gap:.3f} closer), so neighbours, analogies and the map mean nothing."
                          + (f" The model saw too little text: train again with {fix} epochs." if fix else "")}
    problems = []
    if cos >= WEAK_COSINE:
        problems.append(f"words crowd together (random pairs have cosine {cos:.2f})")
    if gap < WEAK_GAP:
        problems.append(f"neighbours are only {gap:.2f} closer than random words")
    if trained is not None and trained < WEAK_TRAINED:
        problems.append(f"only {trained:.0%} of the words were seen often enough to learn from")
    if problems:
        return {"verdict": "weak", "fix_epochs": fix,
                "reason": "Usable with care: " + "; ".join(problems) + "."
                          + (f" More passes help: try {fix} epochs." if fix else "")}
    return {"verdict": "good", "fix_epochs": None,
            "reason": f"Words are spread out (random pairs have cosine {cos:.2f}) and neighbours stand out "
                      f"({gap:.2f} closer than random words)."}


def _coverage_note(scores: dict) -> str | None:
    google = scores.get("google", {})
    ws = scores.get("wordsim353", {})
    coverage = google.get("coverage")
    pairs, answerable = ws.get("pairs"), ws.get("answerable")
    if coverage is not None and coverage < 0.05:
        covered = f"{answerable} of {pairs} WordSim pairs, " if pairs else ""
        return (f"The benchmarks cover little of this vocabulary ({covered}{coverage:.1%} of the analogies): "
                "their scores say little either way; judge by the neighbours and the map.")
    return None


# Measured on Lee (1,799 words, k=10): a good CBOW model's UMAP map keeps 0.27 (t-SNE 0.39, PCA 0.08);
# the collapsed model's UMAP map 0.05. A 2-D picture of 100-d vectors never keeps most neighbours.
TRUST_GOOD, TRUST_LOW = 0.2, 0.1


def map_verdict(trust, k: int) -> tuple[str, str]:
    """One sentence on how much of the vector space's neighbourhoods a map keeps: (level, sentence).

    ``trust`` holds, per word, the share of its ``k`` nearest neighbours in the vector space that are
    also among its ``k`` nearest on the map (``projection.trust_scores``); a random layout keeps k / n.
    """
    trust = np.asarray(trust, dtype=float)
    mean, poor = float(trust.mean()), float(np.mean(trust < TRUST_LOW))
    chance = min(1.0, k / max(len(trust) - 1, 1))
    kept = (f"On average this map keeps {mean:.0%} of each word's {k} nearest neighbours in the model "
            f"(a random layout would keep {chance:.1%})")
    if mean >= TRUST_GOOD:
        return "good", (f"{kept}: words placed together are related in the model; distances between far-apart "
                        "groups mean little.")
    if mean >= TRUST_LOW:
        return "fair", (f"{kept}: the clusters are real, but {poor:.0%} of the words sit among strangers — "
                        "colour by trust to see which.")
    return "low", (f"{kept} only: most closeness you see here was made by the projection, not the model. Check the "
                   "model's verdict, try UMAP or t-SNE rather than PCA, or map fewer words.")
