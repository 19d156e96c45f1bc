"""Which vectors artifacts exist for a corpus: a listing from manifests alone.

Kept apart from ``store.py`` because every page's sidebar asks for it, and ``store.py`` imports
gensim (~1.3 s cold, scipy.stats most of it) to load and write vectors, which a listing never needs.
"""

from __future__ import annotations

from core.tokens import KIND as TOKENS
from core.workspace import Manifest, Workspace

KIND = "vectors"


def models_of_corpus(ws: Workspace, corpus_id: str | None) -> list[Manifest]:
    """Models trained on any tokens artifact of this corpus, then imported ones; newest first."""
    tokens_of_corpus = {m.id for m in ws.list(TOKENS) if corpus_id in m.parents}
    every = ws.list(KIND)
    trained = [m for m in every if m.parents and m.parents[0] in tokens_of_corpus]
    return trained + [m for m in every if not m.parents]
