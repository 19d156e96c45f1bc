"""Training word vectors into artifacts: Word2Vec, FastText and GloVe on the real Lee corpus."""

import numpy as np
import pytest
from gensim.models import Word2Vec

from core.corpus.readers import ReadOptions, Source
from core.corpus.store import ingest_sample, ingest_sources
from core.embeddings.catalog import models_of_corpus
from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import KIND, load_details, load_vectors, vectors_id
from core.embeddings.train import _gensim_params, train_vectors
from core.errors import UserError
from core.jobs import Cancelled
from core.preprocess import PipelineConfig
from core.tokens import build_tokens, sentences_path
from core.workspace import Workspace


@pytest.fixture(scope="module")
def lee(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("lee"))
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    return ws, corpus.id, tokens.id


def neighbours(kv, word, k=10):
    return {w for w, _ in kv.most_similar(word, topn=k)}


def test_word2vec_with_one_worker_is_exactly_raw_gensim(lee):
    # One worker makes gensim deterministic: any change our wrapper made to training would show.
    ws, _, tid = lee
    config = EmbeddingConfig(algorithm="word2vec", sg=False, vector_size=32, epochs=3, workers=1)
    kv = load_vectors(ws, train_vectors(ws, tid, config).id)
    raw = Word2Vec(corpus_file=str(sentences_path(ws, tid)), compute_loss=True, **_gensim_params(config)).wv
    assert kv.index_to_key == raw.index_to_key
    np.testing.assert_allclose(kv.vectors, raw.vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sg", [False, True])
def test_word2vec_learns_like_gensim_and_keeps_its_curve(lee, sg):
    ws, cid, tid = lee
    config = EmbeddingConfig(algorithm="word2vec", sg=sg, epochs=20, min_count=3, seed=7)
    manifest = train_vectors(ws, tid, config)
    kv = load_vectors(ws, manifest.id)
    reference = Word2Vec(corpus_file=str(sentences_path(ws, tid)), **{**_gensim_params(config), "seed": 8}).wv
    # Two seeds of the same model share many neighbours for a frequent word; a broken trainer shares none.
    overlaps = [len(neighbours(kv, w) & neighbours(reference, w)) for w in ("government", "police", "australia")]
    assert sum(overlaps) >= 6, overlaps
    curve = load_details(ws, manifest.id)["curve"]
    assert [p["epoch"] for p in curve] == list(range(1, 21))
    losses = [p["loss"] for p in curve]
    assert losses[-1] < losses[0] and all(loss > 0 for loss in losses)
    assert manifest.metrics["words"] == len(kv) and manifest.metrics["dim"] == 100
    assert 0 < manifest.metrics["analogy_coverage"] < 1
    assert manifest.id in {m.id for m in models_of_corpus(ws, cid)}


def test_loss_is_the_sum_over_workers(lee):
    # gensim's own tally keeps only the last worker's share: ours must not depend on the worker count.
    ws, _, tid = lee
    first = {}
    for workers in (1, 2):
        config = EmbeddingConfig(algorithm="word2vec", vector_size=32, epochs=1, workers=workers)
        first[workers] = load_details(ws, train_vectors(ws, tid, config).id)["curve"][0]["loss_per_word"]
    assert first[2] == pytest.approx(first[1], rel=0.15)


def test_fasttext_gives_vectors_to_unseen_words(lee):
    ws, _, tid = lee
    config = EmbeddingConfig(algorithm="fasttext", vector_size=32, epochs=3, bucket=20_000)
    manifest = train_vectors(ws, tid, config)
    kv = load_vectors(ws, manifest.id)
    assert "governmentalish" not in kv.key_to_index
    vector = kv["governmentalish"]
    assert vector.shape == (32,) and np.isfinite(vector).all() and np.linalg.norm(vector) > 0
    assert "government" in {w for w, _ in kv.most_similar("governmentalish", topn=20)} or kv.similarity(
        "governmentalish", "government") > 0.3
    assert manifest.metrics["final_loss"] is None  # gensim has no loss for FastText; we don't invent one


def test_glove_artifact(lee):
    ws, _, tid = lee
    config = EmbeddingConfig(algorithm="glove", vector_size=32, window=8, epochs=10, min_count=3)
    manifest = train_vectors(ws, tid, config)
    kv = load_vectors(ws, manifest.id)
    costs = [p["loss"] for p in load_details(ws, manifest.id)["curve"]]
    assert len(costs) == 10 and costs[-1] < costs[0]
    assert kv.index_to_key[0] == "the" and kv.get_vecattr("the", "count") > 1000


def test_same_config_same_artifact_and_irrelevant_fields_ignored(lee):
    _, _, tid = lee
    cbow = EmbeddingConfig(algorithm="word2vec", min_n=2)
    assert vectors_id(tid, cbow) == vectors_id(tid, EmbeddingConfig(algorithm="word2vec", min_n=4, workers=7))
    assert vectors_id(tid, cbow) != vectors_id(tid, EmbeddingConfig(algorithm="word2vec", sg=True))


def test_too_few_tokens_says_the_minimum(tmp_path):
    ws = Workspace(tmp_path)
    corpus = ingest_sources(ws, [Source("tiny.txt", b"a few words only")], ReadOptions(), name="tiny")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    with pytest.raises(UserError, match="at least 200"):
        train_vectors(ws, tokens.id, EmbeddingConfig())
    assert ws.list(KIND) == []


def test_min_count_that_removes_every_word(lee):
    ws, _, tid = lee
    with pytest.raises(UserError, match="Lower the minimum count"):
        train_vectors(ws, tid, EmbeddingConfig(min_count=10_000_000))


@pytest.mark.parametrize("algorithm", ["word2vec", "glove"])
def test_cancel_half_way_leaves_earlier_models_intact(lee, algorithm):
    ws, _, tid = lee
    before = {m.id for m in ws.list(KIND)}

    class CancelAfterFirstEpoch:
        def progress(self, *a): ...
        def log(self, *a): ...
        def metric(self, **values):
            self.epochs = getattr(self, "epochs", 0) + 1

        def check_cancelled(self):
            if getattr(self, "epochs", 0) >= 1:
                raise Cancelled()

    config = EmbeddingConfig(algorithm=algorithm, epochs=50, vector_size=16, seed=99)
    with pytest.raises(Cancelled):
        train_vectors(ws, tid, config, ctx=CancelAfterFirstEpoch())
    assert not ws.exists(KIND, vectors_id(tid, config))
    assert {m.id for m in ws.list(KIND)} == before
    assert not list((ws.root / ".tmp").glob("vectors-*"))


def test_bad_config_is_explained():
    with pytest.raises(UserError, match="negative sampling"):
        EmbeddingConfig(negative=0, hs=False).validate()
    with pytest.raises(UserError, match="Unknown algorithm"):
        EmbeddingConfig(algorithm="bert").validate()
