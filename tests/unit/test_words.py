"""One splitter and one lookup for typed words (maps, queries and comparisons share them)."""

from core.embeddings import query
from core.embeddings.words import find_word, split_words
from core.projection import select_words
from tests.unit.vectors_kit import make_kv


def kv():
    return make_kv(["paris", "London", "LONDON", "berlin", "Berlin"], [[1, 0], [0, 1], [1, 1], [1, 2], [2, 1]])


def test_split_words_takes_commas_spaces_and_lines_and_lists():
    assert split_words("King, queen\n man,,  ") == ["King", "queen", "man"]
    assert split_words([" a ", None, "", "b"]) == ["a", "b"]
    assert split_words(None) == [] and split_words("") == []


def test_find_word_exact_then_lowercase_then_most_frequent_case():
    v = kv()
    assert find_word(v, "Berlin") == "Berlin"  # exact wins over lowercase
    assert find_word(v, "PARIS") == "paris"  # lowercase
    assert find_word(v, "london") == "London"  # most frequent of London / LONDON
    assert find_word(v, "rome") is None


def test_pages_agree_on_the_form_of_a_word():
    v = kv()
    assert select_words(v, mode="list", words="PARIS, london, rome") == (["paris", "London"], ["rome"])
    assert query.split_known(v, "PARIS, london, rome") == (["paris", "London"], ["rome"])
    assert query.describe_word(v, "london")["word"] == "London"
