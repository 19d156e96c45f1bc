"""Topics: what a corpus is about. LDA over the analysis index (``lda.py``) or embedding topics
(MiniLM → UMAP → HDBSCAN → c-TF-IDF, ``embedded.py``), kept as artifacts of NumPy and JSON files,
with relevance-ranked top words and a way to place a new text."""

from core.topics.embedded import ClusterConfig, build_embedded, c_tf_idf, embedded_id
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

__all__ = ["KIND", "ClusterConfig", "LdaConfig", "TopicModel", "assign", "build_embedded", "build_lda", "c_tf_idf",
           "coherence_sweep", "embedded_id", "lda_id", "load_lda", "topic_map"]
