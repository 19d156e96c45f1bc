"""Size-aware training defaults and the quality verdicts of vectors and maps."""

import numpy as np
import pytest

from core.corpus.store import ingest_sample
from core.embeddings.config import PRESETS, EmbeddingConfig
from core.embeddings.defaults import auto_settings, cbow_epochs
from core.embeddings.quality import assess, geometry, map_verdict
from core.embeddings.store import quality_of
from core.embeddings.train import train_vectors
from core.preprocess import PipelineConfig
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.unit.vectors_kit import make_kv

WORDS = [f"w{i}" for i in range(400)]


def clustered(seed=0, dim=50, clusters=20):
    """Words in 20 well-separated groups: what a trained space looks like."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    return centres[np.arange(len(WORDS)) % clusters] + 0.3 * rng.normal(size=(len(WORDS), dim))


def collapsed(seed=0, dim=50):
    """Every vector the same direction plus a little noise: an under-trained Word2Vec."""
    rng = np.random.default_rng(seed)
    return np.ones((len(WORDS), dim)) + 0.02 * rng.normal(size=(len(WORDS), dim))


def test_geometry_tells_a_collapsed_space_from_a_clustered_one():
    bad, good = geometry(collapsed()), geometry(clustered())
    assert bad["mean_cosine"] > 0.99 and bad["neighbour_gap"] < 0.01
    assert abs(good["mean_cosine"]) < 0.2 and good["neighbour_gap"] > 0.5


def test_verdicts_reason_and_fix():
    counts = [1000] * len(WORDS)
    bad = assess(make_kv(WORDS, collapsed(), counts), epochs=5)
    assert bad["verdict"] == "collapsed" and bad["fix_epochs"] == 30 and "30 epochs" in bad["reason"]
    good = assess(make_kv(WORDS, clustered(), counts), epochs=5)
    assert good["verdict"] == "good" and good["fix_epochs"] is None and good["well_trained"] == 1.0


def test_rarely_seen_words_make_a_weak_model():
    q = assess(make_kv(WORDS, clustered(), [3] * len(WORDS)), epochs=5)  # 3 × 5 = 15 updates per word
    assert q["verdict"] == "weak" and q["well_trained"] == 0.0 and "seen often enough" in q["reason"]


def test_imported_vectors_are_judged_without_counts_or_a_fix():
    q = assess(make_kv(WORDS, collapsed()), epochs=None)
    assert q["verdict"] == "collapsed" and q["well_trained"] is None and q["fix_epochs"] is None


def test_low_benchmark_coverage_is_said():
    scores = {"google": {"coverage": 0.01}, "wordsim353": {"pairs": 353, "answerable": 20}}
    note = assess(make_kv(WORDS, clustered(), [1000] * len(WORDS)), epochs=30, scores=scores)["note"]
    assert "20 of 353" in note and "say little" in note


def test_auto_epochs_fall_with_corpus_size_and_match_the_sweep():
    sizes = [3_754, 60_005, 477_768, 5_000_000]
    epochs = [cbow_epochs(n) for n in sizes]
    assert epochs == sorted(epochs, reverse=True) and epochs[0] >= 100 and epochs[-1] == 5
    cbow, why = auto_settings(PRESETS["CBOW"], 60_005)
    assert (cbow.epochs, cbow.min_count) == (30, 5) and "60,005 tokens" in why
    assert auto_settings(PRESETS["Skip-gram"], 60_005)[0].epochs == 20
    assert auto_settings(PRESETS["CBOW"], 3_754)[0].min_count == 2
    assert auto_settings(PRESETS["GloVe"], 60_005)[0].x_max == 10
    assert auto_settings(PRESETS["GloVe"], 500_000_000)[0].x_max == 100
    assert auto_settings(PRESETS["CBOW"], 5_000_000)[0].epochs == 5
    for n in (10, 1_000, 10**9):
        auto_settings(PRESETS["FastText"], n)[0].validate()


def test_map_verdict_levels():
    level, sentence = map_verdict(np.full(1001, 0.3), 10)
    assert level == "good" and "30%" in sentence and "1.0%" in sentence  # chance: 10 of 1,000 others
    level, sentence = map_verdict(np.r_[np.full(50, 0.26), np.full(50, 0.04)], 10)
    assert level == "fair" and "15%" in sentence and "50% of the words" in sentence
    level, sentence = map_verdict(np.full(100, 0.05), 10)
    assert level == "low" and "5%" in sentence


@pytest.fixture(scope="module")
def lee(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("lee"))
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    return ws, tokens


def test_on_lee_gensims_defaults_collapse_and_the_auto_settings_do_not(lee):
    """The finding this feature exists for, on the real sample: 5 epochs collapse, auto is good."""
    ws, tokens = lee
    plain = train_vectors(ws, tokens.id, EmbeddingConfig(algorithm="word2vec", epochs=5))
    assert plain.metrics["quality"]["verdict"] == "collapsed"
    assert plain.metrics["quality"]["fix_epochs"] == 30
    config, _ = auto_settings(PRESETS["CBOW"], tokens.metrics["tokens_after"])
    auto = train_vectors(ws, tokens.id, config)
    q = auto.metrics["quality"]
    assert q["verdict"] == "good" and q["mean_cosine"] < 0.6 and q["neighbour_gap"] > 0.25


def test_a_model_made_before_verdicts_gets_one_measured(lee):
    ws, tokens = lee
    m = train_vectors(ws, tokens.id, EmbeddingConfig(algorithm="word2vec", epochs=5))
    old = type(m)(**{**m.__dict__, "metrics": {k: v for k, v in m.metrics.items() if k != "quality"}})
    assert quality_of(ws, old)["verdict"] == "collapsed"
