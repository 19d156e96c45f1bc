"""Document maps: mean word vectors per document, projected, coloured by the corpus labels."""

import numpy as np
import pytest

from core.corpus.store import ingest_sample
from core.docmap import KIND, build_doc_map, document_vectors, load_doc_map, pipeline_of
from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import load_vectors
from core.embeddings.train import train_vectors
from core.errors import UserError
from core.preprocess import PipelineConfig
from core.projection import ProjectionConfig
from core.tokens import build_tokens
from core.workspace import Workspace


@pytest.fixture(scope="module")
def polarity(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("polarity"))
    corpus = ingest_sample(ws, "polarity")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(vector_size=16, epochs=2, min_count=2))
    return ws, corpus.id, vectors.id


def test_document_vectors_average_known_words_and_skip_empty_documents(polarity):
    ws, _, vid = polarity
    kv = load_vectors(ws, vid)
    texts = ["the film was good", "zzzz qqqq", "", "a story about the film"]
    vectors, kept, used = document_vectors(texts + ["good film"] * 2, kv, pipeline_of(ws, vid))
    assert kept.tolist() == [0, 3, 4, 5] and vectors.shape == (4, 16)
    expected = kv.get_normed_vectors()[[kv.key_to_index[w] for w in ("good", "film")]].mean(axis=0)
    np.testing.assert_allclose(vectors[2], expected, rtol=1e-5)
    assert used[2] == 2
    with pytest.raises(UserError, match="at least 4"):
        document_vectors(["zzzz", "good"], kv, pipeline_of(ws, vid))


def test_doc_map_is_labelled_and_cached(polarity):
    ws, cid, vid = polarity
    config = ProjectionConfig(method="pca")
    first = build_doc_map(ws, vid, cid, config)
    data = load_doc_map(ws, first.id)
    assert data.coords.shape == (first.metrics["documents"], 2) and set(data.labels) == {"pos", "neg"}
    assert ((data.trust >= 0) & (data.trust <= 1)).all() and len(data.previews) == len(data.rows)
    assert build_doc_map(ws, vid, cid, config).created == first.created and len(ws.list(KIND)) == 1


@pytest.mark.real_model
def test_minilm_document_map_needs_no_word_vectors(polarity):
    ws, cid, vid = polarity
    config = ProjectionConfig(method="pca")
    m = build_doc_map(ws, vid, cid, config, encoder="minilm")
    assert m.parents == [cid] and m.config["encoder"] == "minilm"
    data = load_doc_map(ws, m.id)
    assert data.coords.shape == (200, 2) and set(data.labels) == {"pos", "neg"}


@pytest.mark.real_model
def test_sentence_embeddings_come_back_in_the_texts_order_whatever_the_batching():
    from core.docmap import sentence_embeddings

    texts = ["A very long sentence about rivers, banks, floods and the towns that grew along them over centuries.",
             "Short.", "A medium sentence about a bank."]
    together = sentence_embeddings(texts, batch=2)  # sorted by length inside: short, medium | long
    alone = np.concatenate([sentence_embeddings([t]) for t in texts])
    assert np.allclose((together * alone).sum(axis=1), 1.0, atol=1e-4)
