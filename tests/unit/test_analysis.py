"""Corpus analysis: the index, every association measure by hand and against NLTK, n-grams and
collocations on a tiny corpus whose counts are known, and bad input."""

import math

import numpy as np
import pytest
from nltk.collocations import BigramAssocMeasures, BigramCollocationFinder

from core.analysis import (
    against_reference,
    association,
    build_index,
    concordance,
    config_for,
    corpus_pairs,
    dispersion,
    keyness,
    labels_are,
    load_index,
    ngrams,
    node_collocates,
    positions,
    sample_counts,
)
from core.corpus.readers import ReadOptions, Source
from core.corpus.store import ingest_sample, ingest_sources
from core.errors import UserError
from core.stats import stopwords
from core.workspace import Workspace

DOCS = ["the river bank flooded the town", "the bank raised its rates", "a river bank and a river bank",
        "rates rose at the bank"]


@pytest.fixture
def index(tmp_path):
    ws = Workspace(tmp_path)
    cid = ingest_sources(ws, [Source(f"d{i}.txt", d.encode()) for i, d in enumerate(DOCS)], ReadOptions(),
                         name="banks").id
    return load_index(ws, build_index(ws, cid).id)


def test_the_index_keeps_every_token_and_the_document_boundaries(index):
    assert index.tokens == sum(len(d.split()) for d in DOCS) and index.documents == 4
    first = [index.vocab[i] for i in index.ids[index.doc_starts[0]:index.doc_starts[1]]]
    assert first == DOCS[0].split()
    assert index.counts[index.id_of("bank")] == 5 and index.id_of("Bank") == index.id_of("bank")
    with pytest.raises(UserError, match="'zebra' does not occur"):
        index.id_of("zebra")


def test_every_measure_on_a_table_computed_by_hand():
    # O11 = 10, R1 = 40, C1 = 25, N = 1000  →  E11 = 1.0
    s = {k: float(v[0]) for k, v in association([10], 40, 25, 1000).items()}
    assert s["MI"] == pytest.approx(math.log2(10))
    assert s["MI3"] == pytest.approx(math.log2(1000))
    assert s["t-score"] == pytest.approx(9 / math.sqrt(10))
    o = [10, 30, 15, 945]
    e = [1.0, 39.0, 24.0, 936.0]
    assert s["log-likelihood"] == pytest.approx(2 * sum(x * math.log(x / y) for x, y in zip(o, e, strict=True)))
    assert s["logDice"] == pytest.approx(14 + math.log2(20 / 65))
    assert s["ΔP c|n"] == pytest.approx(10 / 40 - 15 / 960)
    assert s["ΔP n|c"] == pytest.approx(10 / 25 - 30 / 975)
    repelled = association([0.5], 40, 25, 1000)["log-likelihood"]
    assert repelled[0] < 0  # fewer than expected: signed, so it sorts below the attracted pairs


def test_the_measures_agree_with_nltk_on_its_own_tables():
    words = " ".join(DOCS).split()
    finder = BigramCollocationFinder.from_words(words)
    measures = BigramAssocMeasures()
    n = finder.word_fd.N()
    for (w1, w2), o11 in finder.ngram_fd.items():
        ours = {k: float(v[0]) for k, v in association([o11], finder.word_fd[w1], finder.word_fd[w2], n).items()}
        marginals = (o11, (finder.word_fd[w1], finder.word_fd[w2]), n)
        assert ours["MI"] == pytest.approx(measures.pmi(*marginals))
        assert abs(ours["log-likelihood"]) == pytest.approx(measures.likelihood_ratio(*marginals))
        assert ours["t-score"] == pytest.approx(measures.student_t(*marginals), rel=1e-6)
        assert ours["logDice"] == pytest.approx(14 + math.log2(measures.dice(*marginals)))


def test_corpus_pairs_use_first_and_second_position_marginals(index):
    table = corpus_pairs(index, min_freq=1).set_index(["first", "second"])
    assert table.loc[("river", "bank"), "frequency"] == 3
    assert ("town", "the") not in table.index  # never across documents
    pairs = sum(len(d.split()) - 1 for d in DOCS)
    # "river" opens 3 pairs, "bank" closes 5 (Evert's table; NLTK would use the words' frequencies)
    expected = association([3], 3, 5, pairs)
    assert table.loc[("river", "bank"), "MI"] == pytest.approx(expected["MI"][0])
    assert table.index[0] in {("river", "bank"), ("the", "bank")}  # the strongest by log-likelihood


def test_node_collocates_count_within_the_span_and_never_across_documents(index):
    table = node_collocates(index, "bank", left=1, right=1, min_freq=1, min_collocate_freq=1).set_index("collocate")
    assert table.loc["river", "left"] == 3 and table.loc["river", "right"] == 0
    assert table.loc["the", "frequency"] == 2  # "the bank" twice; "bank the" never
    assert table.loc["flooded", "right"] == 1 and "raised" in table.index
    assert "rates" not in table.index  # "bank" ends document 4; "rates" opens no window of it
    with pytest.raises(UserError, match="No word occurs 9 times"):
        node_collocates(index, "bank", left=1, right=1, min_freq=9)
    with pytest.raises(UserError, match="at least one word"):
        node_collocates(index, "bank", left=0, right=0)


def test_ngrams_frequency_documents_filters(index):
    bigrams = ngrams(index, 2).set_index("ngram")
    assert bigrams.loc["river bank", "frequency"] == 3 and bigrams.loc["river bank", "documents"] == 2
    assert "town the" not in bigrams.index  # never across documents
    assert bigrams.loc["river bank", "per_million"] == pytest.approx(3e6 / index.tokens, abs=0.1)
    no_stop = ngrams(index, 2, stopwords=frozenset({"the", "a", "and"}))
    assert not any(g.split()[0] in {"the", "a", "and"} or g.split()[-1] in {"the", "a", "and"} for g in no_stop["ngram"])
    assert list(ngrams(index, 1, regex="^ri")["ngram"]) == ["river"]
    with pytest.raises(UserError, match="does not compile"):
        ngrams(index, 1, regex="(")
    with pytest.raises(UserError, match="from 1 to 5"):
        ngrams(index, 6)


def test_concordance_lines_and_those_with_a_collocate(index):
    lines = concordance(index, "bank", context=2)
    assert len(lines) == 5 and set(lines["node"]) == {"bank"}
    assert lines.iloc[0]["left"] == "the river" and lines.iloc[0]["right"] == "flooded the"
    with_river = concordance(index, "bank", collocate="river", left=1, right=1)
    assert len(with_river) == 3 and all(left.endswith("river") for left in with_river["left"])


def test_concordance_lines_come_from_the_original_text_where_it_agrees_with_the_tokens(index):
    texts = [d.capitalize() + "." for d in DOCS]
    texts[2] = "A river-bank and a river bank, and a river bank."  # three "bank"s in the text, two in the tokens
    lines = concordance(index, "bank", texts=texts)
    first = lines.iloc[0]
    assert (first["left"], first["node"], first["right"]) == ("The river", "bank", "flooded the town.")
    disagree = lines[lines["document"] == 2]
    assert list(disagree["left"]) == ["a river", "a river bank and a river"]  # tokens where they disagree
    assert len(lines) == len(concordance(index, "bank"))


def test_an_empty_corpus_cannot_be_indexed(tmp_path):
    ws = Workspace(tmp_path)
    cid = ingest_sources(ws, [Source("p.txt", b"... !!! ???")], ReadOptions(), name="punctuation").id
    with pytest.raises(UserError, match="no words to analyse"):
        build_index(ws, cid)
    assert not ws.list("index")


def test_keyness_scores_by_hand_and_its_sides(index):
    target = np.array([True, True, False, False])  # the first two documents against the last two
    table = keyness(index, target, min_freq=1).set_index("word")
    a, b = table.loc["flooded", ["target", "reference"]]
    assert (a, b) == (1, 0)
    t_total, r_total = 11, 12  # words in documents 1–2 and in 3–4
    e1 = t_total * 1 / (t_total + r_total)
    assert table.loc["flooded", "log-likelihood"] == pytest.approx(2 * math.log(1 / e1))
    assert table.loc["flooded", "Log Ratio"] == pytest.approx(math.log2((1 / t_total) / (0.5 / r_total)))
    assert table.loc["a", "log-likelihood"] < 0  # only in the reference: a negative keyword
    assert table.loc["bank", "%DIFF"] == pytest.approx(((2 / t_total) - (3 / r_total)) / (3 / r_total) * 100)
    assert 0 < table.loc["flooded", "p"] < 1
    with pytest.raises(UserError, match="target is empty"):
        keyness(index, np.zeros(4, bool))
    with pytest.raises(UserError, match="reference is empty"):
        keyness(index, np.ones(4, bool))


def test_keyness_on_the_polarity_sample_puts_the_words_on_the_right_side(tmp_path):
    ws = Workspace(tmp_path)
    cid = ingest_sample(ws, "polarity").id
    index = load_index(ws, build_index(ws, cid).id)
    table = keyness(index, labels_are(index, "pos"), min_freq=2).set_index("word")
    assert all(table.loc[w, "log-likelihood"] < 0 for w in ("bad", "dull"))
    assert all(table.loc[w, "log-likelihood"] > 0 for w in ("best", "great", "good", "compelling"))


def test_dispersion_by_hand(index):
    table = dispersion(index, ["bank", "river"]).set_index("word")
    sizes = np.array([6, 5, 7, 5]) / 23
    bank = np.array([1, 1, 2, 1]) / 5
    assert table.loc["bank", "DP"] == pytest.approx(0.5 * np.abs(bank - sizes).sum())
    assert table.loc["bank", "DPnorm"] == pytest.approx(table.loc["bank", "DP"] / (1 - sizes.min()))
    rel = np.array([1 / 6, 1 / 5, 2 / 7, 1 / 5])
    assert table.loc["bank", "Juilland's D"] == pytest.approx(1 - rel.std() / rel.mean() / math.sqrt(3))
    assert table.loc["river", "documents"] == 2 and table.loc["bank", "documents"] == 4
    assert table.loc["river", "DP"] > table.loc["bank", "DP"]  # "river" sits in fewer documents
    assert list(positions(index, "river")) == [1, 12, 16]
    with pytest.raises(UserError, match="does not occur"):
        dispersion(index, ["zebra"])


def test_a_bundled_sample_as_the_reference_word_list(tmp_path):
    ws = Workspace(tmp_path)
    index = load_index(ws, build_index(ws, ingest_sample(ws, "lee").id).id)
    words, counts = sample_counts("wikipedia")
    table = against_reference(index, words, counts, min_freq=20).set_index("word")
    assert table.loc["said", "log-likelihood"] > 100 and table.loc["police", "log-likelihood"] > 0  # news
    assert table.loc["century", "log-likelihood"] < 0 and table.loc["of", "log-likelihood"] < 0  # encyclopaedia prose
    assert set(table.index) >= {w for w in ("said", "police")}
    with pytest.raises(UserError, match="share no words"):
        against_reference(index, ["zzzq", "qqqz"], np.array([5, 5]))


def test_ngrams_agree_whichever_way_they_are_sorted(index, monkeypatch):
    import importlib

    module = importlib.import_module("core.analysis.ngrams")  # the module, not the function of that name

    fast = [ngrams(index, n) for n in (1, 2, 3)]
    monkeypatch.setattr(module, "KEY_LIMIT", 0)  # as if the vocabulary were too large for one int64 key
    slow = [ngrams(index, n) for n in (1, 2, 3)]
    for a, b in zip(fast, slow, strict=True):
        assert a.sort_values(["frequency", "ngram"]).reset_index(drop=True).equals(
            b.sort_values(["frequency", "ngram"]).reset_index(drop=True))


def test_a_chinese_corpus_is_indexed_in_words_not_characters(tmp_path):
    ws = Workspace(tmp_path)
    text = "我们在北京大学学习自然语言处理。北京大学的图书馆很大。我们喜欢自然语言处理。"
    cid = ingest_sources(ws, [Source("zh.txt", text.encode())], ReadOptions(), name="zh").id
    index = load_index(ws, build_index(ws, cid, config_for("chinese")).id)
    assert index.language == "chinese"
    assert "北京大学" in index.vocab or "北京" in index.vocab  # jieba words
    assert all(len(w) <= 6 for w in index.vocab) and not all(len(w) == 1 for w in index.vocab)
    top = ngrams(index, 1, stopwords=stopwords("chinese"))
    assert "的" not in set(top["ngram"])  # the Chinese stopword list applies
