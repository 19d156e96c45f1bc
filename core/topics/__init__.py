"""Topics: what a corpus is about. LDA over the analysis index (``lda.py``), kept as an artifact of
NumPy and JSON files, with relevance-ranked top words and inference for new texts."""

from core.topics.lda import (
    KIND,
    LdaConfig,
    TopicModel,
    assign,
    build_lda,
    coherence_sweep,
    lda_id,
    load_lda,
    topic_map,
)

__all__ = ["KIND", "LdaConfig", "TopicModel", "assign", "build_lda", "coherence_sweep", "lda_id", "load_lda", "topic_map"]
