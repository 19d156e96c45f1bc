"""The Analyze page on the Lee sample: building the index, n-grams, collocations of a node word with
their concordance lines, the corpus' strongest pairs, and a node word the corpus lacks."""

from streamlit.testing.v1 import AppTest

from core import analysis
from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.app.conftest import APP, wait_until


def open_page(build: bool = True) -> tuple[AppTest, Workspace]:
    ws = Workspace.from_env()
    corpus = ingest_sample(ws, "lee")
    ws.set_state("active_corpus", corpus.id)
    if build:
        analysis.build_index(ws, corpus.id)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/analyze.py").run()
    assert not at.exception, at.exception
    return at, ws


def frame(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_index_is_built_once_as_a_job():
    at, ws = open_page(build=False)
    at.button(key="an_build").click().run()
    at = wait_until(at, lambda a: any("tokens ·" in c.value for c in a.caption))
    assert len(ws.list(analysis.KIND)) == 1 and not at.exception


def test_words_and_ngrams_with_filters():
    at, _ = open_page()
    words = frame(at, "ngram")
    assert "the" not in set(words["ngram"])  # stopwords left out by default
    at.selectbox(key="an_n").set_value(2).run()
    bigrams = frame(at, "ngram")
    assert bigrams.iloc[0]["ngram"] == "united states" and at.get("plotly_chart")
    at.text_input(key="an_regex").set_value("^prime").run()
    assert list(frame(at, "ngram")["ngram"])[:1] == ["prime minister"]
    lines = frame(at, "node")  # its concordance, below
    assert len(lines) == 31 and all(r.right.lower().startswith("minister") for r in lines.itertuples())
    at.text_input(key="an_regex").set_value("(").run()
    assert at.error and "does not compile" in at.error[0].value and not at.exception


def test_collocations_of_a_node_word_open_their_concordance_lines():
    at, _ = open_page()
    at.session_state["an_tabs"] = "Collocations"
    at.run()
    at.text_input(key="an_node").set_value("police").run()
    table = frame(at, "collocate")
    assert {"MI", "MI3", "t-score", "log-likelihood", "logDice", "ΔP c|n", "ΔP n|c"} <= set(table.columns)
    assert list(table["logDice"]) == sorted(table["logDice"], reverse=True)
    at.selectbox(key="an_measure").set_value("t-score").run()
    table = frame(at, "collocate")
    assert list(table["t-score"]) == sorted(table["t-score"], reverse=True)
    at.selectbox(key="an_colloc_pick").set_value("said").run()
    lines = frame(at, "node")
    assert len(lines) > 0 and {n.lower() for n in lines["node"]} == {"police"}
    assert all("said" in f"{r.left} {r.right}".lower() for r in lines.itertuples())
    assert any("," in f"{r.left}{r.right}" for r in lines.itertuples())  # the original text, punctuation and all
    at.text_input(key="an_node").set_value("zzzz").run()
    assert "zzzz" in at.error[0].value and "does not occur" in at.error[0].value and not at.exception
    at.radio(key="an_mode").set_value("pairs").run()
    pairs = frame(at, "second")
    assert ("al", "qaeda") in set(zip(pairs["first"], pairs["second"], strict=True))


def test_keyness_of_one_label_against_another_and_of_picked_documents():
    ws = Workspace.from_env()
    corpus = ingest_sample(ws, "polarity")
    ws.set_state("active_corpus", corpus.id)
    analysis.build_index(ws, corpus.id)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/analyze.py").run()
    at.session_state["an_tabs"] = "Keyness"
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="an_key_target").set_value("pos").run()
    positive, negative = frame(at, "target_pm"), at.dataframe[1].value
    assert "great" in set(positive["word"]) and "bad" in set(negative["word"])
    assert (positive["log-likelihood"] > 0).all() and (negative["log-likelihood"] < 0).all()
    assert at.get("plotly_chart")  # every word a dot
    at.selectbox(key="an_key_pick").set_value("great").run()
    lines = next(d.value for d in at.dataframe if "side" in d.value.columns)
    assert {n.lower() for n in lines["node"]} == {"great"} and set(lines["side"]) <= {"pos", "neg"}
    assert any("The documents" in c.value and "comes from most" in c.value for c in at.caption)
    at.radio(key="an_key_way").set_value("documents").run()
    assert "target is empty" in at.error[0].value and not at.exception  # nothing picked yet: said, not a traceback
    at.multiselect(key="an_key_docs").set_value([0, 1, 2]).run()
    assert not at.error and frame(at, "target_pm") is not None
    assert any("One side has 3 documents" in w.value for w in at.warning)  # a few documents: said


def test_dispersion_of_typed_words():
    at, _ = open_page()
    at.session_state["an_tabs"] = "Dispersion"
    at.run()
    assert not at.exception, at.exception
    at.text_input(key="an_disp_words").set_value("police, bushfire fire").run()
    table = frame(at, "DPnorm")
    assert list(table["word"]) == ["police", "bushfire", "fire"] and len(at.get("plotly_chart")) == 2  # barcode, trend
    assert table.set_index("word").loc["bushfire", "DP"] > table.set_index("word").loc["police", "DP"]
    at.text_input(key="an_disp_words").set_value("zebra").run()
    assert "does not occur" in at.error[0].value and not at.exception


def test_keyness_of_the_corpus_against_a_bundled_sample():
    at, _ = open_page()
    at.session_state["an_tabs"] = "Keyness"
    at.run()
    at.radio(key="an_key_way").set_value("sample").run()
    at.selectbox(key="an_key_sample").set_value("wikipedia").run()
    assert not at.exception and not at.error
    key = frame(at, "target_pm")
    assert {"says", "said", "mr"} <= set(key["word"].head(10))  # a news corpus against an encyclopaedia
