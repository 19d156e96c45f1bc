"""core.classify.store: a classifier as an artifact — trained through one call, scored on its test part,
read back with identical predictions, no pickle anywhere; its encoder on the model list."""

import numpy as np
import pytest
from gensim.models import KeyedVectors

from core import classify, models
from core.corpus.model import Corpus, Document
from core.corpus.store import save_corpus
from core.embeddings.store import save_kv
from core.errors import UserError
from core.jobs import NoJob
from core.workspace import Workspace
from tests.unit.test_classify_core import PLANTED, planted_corpus, word_table


def corpus(ws: Workspace, texts, labels, name="planted") -> str:
    docs = [Document(t, "planted.csv", lab) for t, lab in zip(texts, labels, strict=True)]
    return save_corpus(ws, Corpus(name, docs), Workspace.artifact_id("corpus", {"name": name}), {}, NoJob()).id


def vectors(ws: Workspace) -> str:
    table = word_table()
    kv = KeyedVectors(vector_size=24)
    kv.add_vectors(list(table), np.array(list(table.values()), dtype=np.float32))
    vid = Workspace.artifact_id("vectors", {"imported": "planted"})
    ws.create("vectors", vid, name="planted vectors", write=lambda d: save_kv(kv, d))
    return vid


@pytest.mark.parametrize("method", ["tfidf", "mean_vectors"])
def test_both_baselines_learn_the_planted_signal_and_round_trip(tmp_path, method):
    ws = Workspace(tmp_path)
    cid = corpus(ws, *planted_corpus())
    config = classify.ClassifierConfig(method, vectors_id=vectors(ws) if method == "mean_vectors" else None)
    m = classify.train(ws, cid, config)
    assert m.metrics["accuracy"] > 0.85 > m.metrics["chance"] + 0.4
    assert classify.train(ws, cid, config).created == m.created  # the same settings: the same artifact
    clf = classify.load(ws, m.id)
    texts = [t for t, _ in zip(*planted_corpus(), strict=True)]
    again = clf.predict_proba([texts[i] for i in clf.split.test])
    np.testing.assert_allclose(again, clf.test_proba, atol=1e-6)
    assert clf.scorecard()["accuracy"] == m.metrics["accuracy"]
    words = dict(clf.explain("pasta word1 garlic"))
    assert max(words, key=words.get) in PLANTED["food"]
    files = {p.suffix for p in ws.path(classify.KIND, m.id).rglob("*") if p.is_file()}
    assert files <= {".json", ".npy"}, files  # no pickle, no joblib


def test_shuffled_labels_score_near_chance(tmp_path):
    ws = Workspace(tmp_path)
    texts, labels = planted_corpus(n=450, seed=3)
    shuffled = list(np.random.default_rng(7).permutation(labels))
    m = classify.train(ws, corpus(ws, texts, shuffled, "shuffled"), classify.ClassifierConfig())
    assert m.metrics["accuracy"] < m.metrics["chance"] + 0.15  # nothing leaks from test into training


def test_mean_vectors_without_vectors_and_an_unknown_method_are_refused(tmp_path):
    ws = Workspace(tmp_path)
    cid = corpus(ws, *planted_corpus(n=60))
    with pytest.raises(UserError, match="Embeddings page"):
        classify.train(ws, cid, classify.ClassifierConfig("mean_vectors"))
    with pytest.raises(UserError, match="Unknown classifier"):
        classify.train(ws, cid, classify.ClassifierConfig("svm"))


def test_a_fine_tuned_encoder_is_an_artifact_and_on_the_model_list(tmp_path):
    ws = Workspace(tmp_path)
    cid = corpus(ws, *planted_corpus(n=90))
    config = classify.ClassifierConfig("encoder", encoder=classify.EncoderConfig(base="tiny-bert", epochs=1,
                                                                                 max_length=32))
    m = classify.train(ws, cid, config)
    clf = classify.load(ws, m.id)
    assert clf.test_proba.shape == (len(clf.split.test), 3) and "curve" in m.metrics
    assert not any(p.suffix in {".bin", ".pt", ".pkl"} for p in ws.path(classify.KIND, m.id).rglob("*"))
    spec = next(s for s in models.registry(ws) if s.id == f"classifier:{m.id}")
    assert spec.kind == "encoder" and models.resolve(spec.id, ws).path == spec.path
    loaded = models.load(spec.id, ws=ws, attentions=True)
    from core.attention import attentions

    att = attentions(loaded.model, loaded.tokenizer, "pasta garlic oven")
    assert att.weights.shape[:2] == (2, 4)  # the tiny BERT's layers × heads, as the Attention page draws them
