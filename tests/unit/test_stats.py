import numpy as np

from core.stats import (
    compute_stats,
    concordance,
    detect_language,
    plural,
    stopwords,
    stopwords_name,
    top_words,
    words,
    zipf_fit,
)


def test_counts_and_richness():
    stats = compute_stats(["The cat sat on the mat.", "The dog's bone.", ""])
    s = stats.summary
    assert s["documents"] == 3
    assert s["tokens"] == 9  # the cat sat on the mat / the dog's bone
    assert s["types"] == 7
    assert s["hapax"] == 6  # cat sat on mat dog's bone; only "the" repeats
    assert stats.top_words[0] == ("the", 3)
    assert list(stats.doc_lengths) == [6, 3, 0]
    assert s["median_length"] == 3.0


def test_words_keep_apostrophes_and_split_japanese_per_character():
    assert words("Don't stop — it's 3.5 km, Word2Vec!") == ["don't", "stop", "it's", "3.5", "km", "word2vec"]
    assert words("これはペンです") == ["こ", "れ", "は", "ペ", "ン", "で", "す"]
    assert compute_stats(["The cat sat."]).summary["language"] == "english"


def test_zipf_fit_recovers_the_exponent():
    ranks = np.arange(1, 2001)
    freqs = np.round(1e5 * ranks**-1.1).astype(np.int64)
    s, c = zipf_fit(freqs)
    assert abs(s - 1.1) < 0.05
    assert zipf_fit(np.array([5, 1, 1])) == (None, None)


def test_top_words_without_stopwords():
    top = [("the", 10), ("bank", 5), ("of", 4), ("river", 3)]
    assert top_words(top, 2, stopwords()) == [("bank", 5), ("river", 3)]
    assert top_words(top, 2) == [("the", 10), ("bank", 5)]


def test_concordance_literal_whole_word_and_context():
    texts = ["The bank of the river.", "A bankrupt bank (BANK) lent money.", "no match"]
    hits, total = concordance(texts, "bank", width=6)
    assert total == 3
    assert [(h.document, h.match) for h in hits] == [(0, "bank"), (1, "bank"), (1, "BANK")]
    assert hits[0].left == "The " and hits[0].right == " of th"
    assert concordance(texts, "bank", whole_word=False)[1] == 4
    assert concordance(texts, "(.*)+$", whole_word=False)[1] == 0  # literal, not a regex
    assert concordance(texts, "   ") == ([], 0)
    assert len(concordance(texts * 100, "bank", limit=7)[0]) == 7


def test_plural_agrees_with_the_count():
    assert plural(1, "document") == "1 document"
    assert plural(0, "document") == "0 documents"
    assert plural(2400, "document") == "2,400 documents"
    assert plural(3, "entry", "entries") == "3 entries"


def test_language_is_guessed_from_stopwords_and_picks_the_list():
    assert detect_language(["The cat sat on the mat, and the dog was in the garden."]) == "english"
    assert detect_language(["Der Hund und die Katze sind im Garten, aber die Kinder sind nicht da."]) == "german"
    assert detect_language(["Le chat est sur la table et il dort dans la maison."]) == "french"
    assert detect_language(["", "12 34 — 56"]) == "unknown"
    assert detect_language(["これは日本語のテキストです。"]) == "japanese"
    assert "und" in stopwords("german") and "und" not in stopwords("english")
    assert stopwords_name("english") == "scikit-learn English (318 words)"
    assert stopwords_name("german").startswith("German (stop-words package")


def test_language_sample_is_bounded():
    # A long English head decides, however much follows: the sample never reads the whole corpus.
    texts = ["The cat sat on the mat and the dog was in the garden. " * 500] + ["语言模型" * 10_000] * 50
    assert detect_language(texts) == "english"
