"""The one-click tour: a bundled sample → tokens → word vectors → a word map, as one chained job.

Every stage is the same call the pages make, with the settings a newcomer would get there
(the default pipeline, the size-aware CBOW settings of ``embeddings.defaults``, the map page's
default UMAP), so the pages find each result already made and show it at once. Each stage is
cached as an artifact, so a second run takes a moment.

Example::

    result = run_demo(ws, "lee")
    result.map_id   # open it on the Map page
"""

from __future__ import annotations

from dataclasses import dataclass

from core import projection
from core.corpus.store import ingest_sample
from core.embeddings.config import PRESETS
from core.embeddings.defaults import auto_settings
from core.embeddings.store import load_vectors
from core.embeddings.train import train_vectors
from core.jobs import NoJob, SubProgress
from core.preprocess import PipelineConfig
from core.tokens import build_tokens
from core.workspace import Workspace

MAP_WORDS = 5000  # the Map page's default "most frequent words"
# Where each stage's bar ends: the map (UMAP's compile and layout) takes the longest.
STAGES = (("corpus", 0.05), ("tokens", 0.25), ("vectors", 0.55), ("map", 1.0))


@dataclass(frozen=True)
class DemoResult:
    corpus_id: str
    tokens_id: str
    vectors_id: str
    map_id: str
    words: int


def run_demo(ws: Workspace, sample: str = "lee", ctx=None) -> DemoResult:
    ctx = ctx or NoJob()
    bounds = dict(zip([s for s, _ in STAGES], [0.0] + [hi for _, hi in STAGES[:-1]], strict=True))
    ends = dict(STAGES)

    def stage(name: str, number: int, what: str) -> SubProgress:
        ctx.progress(bounds[name], f"Step {number} of 4: {what}")
        ctx.check_cancelled()
        return _Prefixed(SubProgress(ctx, bounds[name], ends[name]), f"Step {number} of 4: ")

    stage("corpus", 1, "loading the sample")
    corpus = ingest_sample(ws, sample)
    tokens = build_tokens(ws, corpus.id, PipelineConfig(), ctx=stage("tokens", 2, "tokenizing"))
    config, _ = auto_settings(PRESETS["CBOW"], tokens.metrics.get("tokens_after", 0))
    vectors = train_vectors(ws, tokens.id, config, ctx=stage("vectors", 3, f"training {config.label()}, "
                                                                           f"{config.epochs} epochs"))
    kv = load_vectors(ws, vectors.id)
    words, _ = projection.select_words(kv, mode="top", top_n=min(MAP_WORDS, len(kv)))
    built = projection.build_map(ws, vectors.id, words, projection.ProjectionConfig(),
                                 ctx=stage("map", 4, f"drawing the map of {len(words):,} words"))
    ctx.progress(1.0, "Done")
    return DemoResult(corpus.id, tokens.id, vectors.id, built.id, len(words))


class _Prefixed:
    """Prefix every progress message of a stage with 'Step n of 4: ' so the bar says where the tour is."""

    def __init__(self, inner: SubProgress, prefix: str):
        self._inner, self._prefix = inner, prefix

    def progress(self, fraction: float, message: str | None = None) -> None:
        self._inner.progress(fraction, self._prefix + message if message else None)

    def __getattr__(self, name):
        return getattr(self._inner, name)
