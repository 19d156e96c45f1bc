"""Queries on hand-made vectors with exact answers, a real small Word2Vec model and a tiny FastText."""

import numpy as np
import pytest
from gensim.models import FastText, Word2Vec
from gensim.test.utils import common_texts, datapath

from core.embeddings.query import (
    analogy,
    describe_word,
    mean_overlap,
    neighbour_overlap,
    neighbours,
    odd_one_out,
    procrustes,
    similarity,
    similarity_matrix,
    split_known,
)
from core.errors import UserError
from tests.unit.vectors_kit import make_kv


@pytest.fixture(scope="module")
def trained():
    model = Word2Vec(corpus_file=datapath("lee_background.cor"), vector_size=50, min_count=2, epochs=10, seed=1, workers=2)
    return model.wv


@pytest.fixture(scope="module")
def fasttext():
    return FastText(sentences=common_texts, vector_size=16, min_count=1, epochs=5, bucket=2000, seed=1, workers=1).wv




@pytest.fixture(scope="module")
def royal():
    """Unit vectors on axes (royal, common, male, female, fruit): king - man + woman == queen exactly."""
    s = 2**-0.5
    table = {
        "king": [s, 0, s, 0, 0],
        "queen": [s, 0, 0, s, 0],
        "man": [0, s, s, 0, 0],
        "woman": [0, s, 0, s, 0],
        "apple": [0, 0, 0, 0, 1],
        "Paris": [0, 0, 0, 0.6, 0.8],
    }
    return make_kv(list(table), list(table.values()), counts=[50, 40, 30, 20, 10, 5])


def test_analogy_add_and_mul_find_queen_and_exclude_inputs(royal):
    add = analogy(royal, "man", "king", "woman", k=3)
    assert add[0][0] == "queen" and add[0][1] == pytest.approx(1.0)
    assert {"man", "king", "woman"}.isdisjoint(w for w, _ in add)
    mul = analogy(royal, " Man ", "KING", "woman", k=3, method="mul")
    # 3CosMul: (1 + cos)/2 terms -> queen scores 0.75 * 0.75 / 0.5
    assert mul[0][0] == "queen" and mul[0][1] == pytest.approx(1.125, rel=1e-4)
    with pytest.raises(UserError, match="'unicorn', 'dragon' are not in the vocabulary"):
        analogy(royal, "unicorn", "king", "dragon")
    with pytest.raises(UserError, match="3CosMul"):
        analogy(royal, "man", "king", "woman", method="sub")
    with pytest.raises(UserError, match="all three words"):
        analogy(royal, "man", " ", "woman")


def test_similarity_neighbours_and_case_fallback(royal):
    assert similarity(royal, "king", "queen") == pytest.approx(0.5)
    assert similarity(royal, "king", "apple") == pytest.approx(0.0)
    near = neighbours(royal, "King", k=2)
    assert [w for w, _ in near] == ["queen", "man"] and near[0][1] == pytest.approx(0.5)
    assert neighbours(royal, "king", k=2, restrict=3) == [("queen", pytest.approx(0.5)), ("man", pytest.approx(0.5))]
    info = describe_word(royal, "  KING ")
    assert info == {
        "input": "KING",
        "word": "king",
        "in_vocab": True,
        "ngram_vector": False,
        "case_changed": True,
        "count": 50,
        "rank": 1,
    }
    assert describe_word(royal, "paris")["word"] == "Paris"  # case-insensitive scan when lowercase is missing too
    assert describe_word(royal, "xyz")["word"] is None


def test_user_errors_for_unknown_and_empty_words(royal):
    with pytest.raises(UserError, match="'xyz' is not in the vocabulary"):
        neighbours(royal, "xyz")
    with pytest.raises(UserError, match="Type a word"):
        neighbours(royal, "   ")
    with pytest.raises(UserError, match="at least 1"):
        neighbours(royal, "king", k=0)
    with pytest.raises(UserError, match="'xyz' is not"):
        similarity(royal, "king", "xyz")


def test_odd_one_out_and_split_known(royal):
    assert odd_one_out(royal, ["king", "queen", "man", "woman", "apple"]) == "apple"
    assert odd_one_out(royal, "king, queen man  apple zebra") == "apple"  # unknown 'zebra' ignored
    assert split_known(royal, "King queen king zebra") == (["king", "queen"], ["zebra"])
    with pytest.raises(UserError, match="at least 3 .* got 2.*'zebra' is not"):
        odd_one_out(royal, ["king", "queen", "zebra"])


def test_similarity_matrix_keeps_known_words(royal):
    kept, m, unknown = similarity_matrix(royal, ["king", "queen", "ghost", "apple", "King"])
    assert kept == ["king", "queen", "apple"] and unknown == ["ghost"]
    assert m.shape == (3, 3) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1.0)
    assert m[0, 1] == pytest.approx(0.5) and m[0, 2] == pytest.approx(0.0)
    with pytest.raises(UserError, match="'ghost' is not"):
        similarity_matrix(royal, ["ghost"])


def test_trained_model_neighbours(trained):
    near = neighbours(trained, "government", k=5)
    assert len(near) == 5 and "government" not in [w for w, _ in near]
    scores = [s for _, s in near]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    assert "australia" not in trained.key_to_index  # the file is not lowercased
    assert describe_word(trained, "australia")["word"] == "Australia"


def test_fasttext_uses_ngram_vectors_for_unseen_words(fasttext):
    seen = describe_word(fasttext, "computer")
    assert seen["in_vocab"] and not seen["ngram_vector"] and seen["count"] == 2
    unseen = describe_word(fasttext, "Computers")
    assert unseen == {
        "input": "Computers",
        "word": "computers",
        "in_vocab": False,
        "ngram_vector": True,
        "case_changed": True,
        "count": None,
        "rank": None,
    }
    near = neighbours(fasttext, "computers", k=3)
    assert len(near) == 3
    assert -1 <= similarity(fasttext, "computers", "computer") <= 1
    assert analogy(fasttext, "computers", "computer", "trees", k=2)


def test_neighbour_overlap_identical_and_missing(trained):
    rows = neighbour_overlap(trained, trained, ["government", "Police", "qqqq", "government"], k=5)
    assert [r["word"] for r in rows] == ["government", "Police", "qqqq"]
    assert rows[0]["overlap"] == 1.0 and rows[0]["neighbours_a"] == rows[0]["neighbours_b"] == rows[0]["shared"]
    assert rows[1]["overlap"] == 1.0
    assert rows[2]["overlap"] is None and rows[2]["missing_in"] == ["A", "B"]


def test_neighbour_overlap_word_missing_in_one_model(royal):
    words = [w for w in royal.index_to_key if w != "apple"]
    without_apple = make_kv(words, [royal[w] for w in words])
    rows = neighbour_overlap(royal, without_apple, "apple woman", k=3)
    assert rows[0]["missing_in"] == ["B"] and rows[0]["word_a"] == "apple" and rows[0]["overlap"] is None
    # woman: queen 0.5, man 0.5, Paris 0.42 in both; apple (0.0) never made the top 3
    assert rows[1]["missing_in"] == [] and rows[1]["neighbours_a"] == ["queen", "man", "Paris"]
    assert rows[1]["overlap"] == 1.0


def test_mean_overlap_identical_vs_random(trained):
    assert mean_overlap(trained, trained, k=10, n_words=50) == 1.0
    rng = np.random.default_rng(0)
    noise = make_kv(trained.index_to_key, rng.normal(size=trained.vectors.shape))
    assert mean_overlap(trained, noise, k=10, n_words=50) < 0.05
    with pytest.raises(UserError, match="share no words"):
        mean_overlap(trained, make_kv(["zzqa", "zzqb"], [[1.0, 0], [0, 1.0]]))


@pytest.fixture(scope="module")
def rotated_pair():
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(300)]
    a = rng.normal(size=(300, 20))
    q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    return words, a, a @ q


def test_procrustes_recovers_a_rotation_and_finds_moved_words(rotated_pair):
    words, a, b = rotated_pair
    counts = list(range(1000, 700, -1))
    kv_a = make_kv(words, a, counts)
    res = procrustes(kv_a, make_kv(words, b, counts))
    assert res["shared"] == res["anchors"] == 300 and res["dims"] == [20, 20]
    assert res["mean_cosine"] == pytest.approx(1.0, abs=1e-4)
    assert min(m["cosine_after_alignment"] for m in res["moved"]) > 0.999
    moved_b = b.copy()
    rng = np.random.default_rng(2)
    for i in (5, 77, 250):
        moved_b[i] = rng.normal(size=20)
    res = procrustes(kv_a, make_kv(words, moved_b, counts), n_anchor=100)
    assert res["anchors"] == 100
    top = res["moved"][:3]
    assert {m["word"] for m in top} == {"w5", "w77", "w250"}
    assert all(m["cosine_after_alignment"] < 0.6 for m in top) and res["moved"][3]["cosine_after_alignment"] > 0.95
    assert top[0]["count_a"] == top[0]["count_b"] == counts[int(top[0]["word"][1:])]


def test_procrustes_different_sizes_and_too_few_shared(rotated_pair):
    words, a, b = rotated_pair
    wider = np.hstack([b, np.zeros((300, 5))])  # the same geometry inside a 25-d space
    res = procrustes(make_kv(words, a), make_kv(words, wider))
    assert res["dims"] == [20, 25] and res["mean_cosine"] == pytest.approx(1.0, abs=1e-4)
    assert res["moved"][0]["count_a"] is None
    with pytest.raises(UserError, match="share 1 word"):
        procrustes(make_kv(["x", "y"], [[1, 0], [0, 1]]), make_kv(["x", "z"], [[1, 0], [0, 1]]))
