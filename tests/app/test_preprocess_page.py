from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.corpus.readers import ReadOptions, Source
from core.corpus.store import ingest_sample, ingest_sources
from core.tokens import KIND
from core.workspace import Workspace
from tests.app.conftest import wait_until

APP = Path(__file__).resolve().parents[2] / "app.py"
TEXT = ("The cats were running to the river bank. The US told us about it!\n\n"
        "Runners ran and ate better food in New York. Visit https://example.org now.")


def open_page(with_corpus: bool = True) -> AppTest:
    ws = Workspace.from_env()
    if with_corpus:
        m = ingest_sources(ws, [Source("t.txt", TEXT.encode())], ReadOptions(split="paragraph"), name="t")
        ws.set_state("active_corpus", m.id)
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("views/preprocess.py").run()
    assert not at.exception
    return wait_until(at, comparison_shown) if with_corpus else at


def comparison_shown(at: AppTest) -> bool:
    """NLTK and WordNet load in the background: the comparison table shows once they have."""
    return any("Porter" in d.value.columns for d in at.dataframe)


def preview(at: AppTest) -> str:
    return at.get("html")[0].proto.body


def test_without_a_corpus_the_page_points_to_the_corpus_page():
    at = open_page(with_corpus=False)
    assert "Bring a corpus in first" in at.info[0].value


def test_preview_table_and_a_preset_change_the_tokens():
    at = open_page()
    html = preview(at)
    assert "cats" in html and "title='The → the (case)'" in html
    table = at.dataframe[0].value  # AppTest keeps no keys for dataframes
    assert table.set_index("word").loc["running", "Porter"] == "run"
    assert table.set_index("word").loc["better", "WordNet (adjective)"] == "good"
    at.selectbox(key="pp_preset").set_value("porter").run()
    at.button(key="pp_apply").click().run()
    assert not at.exception
    assert at.selectbox(key="pp_normalise").value == "porter"
    html = preview(at)
    assert "title='cats → cat (normalised)'" in html
    assert "title='dropped: stopword'" in html


def test_user_text_is_escaped_in_the_preview():
    ws = Workspace.from_env()
    m = ingest_sources(ws, [Source("x.txt", b"<img src=x onerror=alert(1)> <b>bold</b> &amp; done")],
                       ReadOptions(), name="x")
    ws.set_state("active_corpus", m.id)
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("views/preprocess.py").run()
    at.toggle(key="pp_show_dropped").set_value(True).run()
    html = preview(at)
    assert "<img" not in html and "<b>" not in html
    assert "&lt;" in html


def test_run_on_the_corpus_makes_a_tokens_artifact_and_shows_its_effect():
    at = open_page()
    at.selectbox(key="pp_preset").set_value("wordnet").run()
    at.button(key="pp_apply").click().run()
    at.button(key="pp_run").click().run()
    assert not at.exception
    ws = Workspace.from_env()
    assert len(ws.list(KIND)) == 1
    labels = [m.label for m in at.metric]
    assert "Vocabulary reduction" in labels
    merged = at.dataframe[1].value
    assert "run" in set(merged["form"])
    assert ws.get_state("active_tokens") == ws.list(KIND)[0].id
    at.run()  # a rerun shows the stored artifact again, without running the pipeline twice
    assert "Vocabulary reduction" in [m.label for m in at.metric] and len(ws.list(KIND)) == 1


def test_a_pipeline_that_removes_everything_says_so():
    at = open_page()
    at.selectbox(key="pp_urls").set_value("drop")
    at.text_input(key="pp_extra_stopwords").input(
        "the, cats, were, running, to, river, bank, us, told, about, it, runners, ran, and, ate, better, food, in, "
        "new, york, visit, now").run()
    at.button(key="pp_run").click().run()
    assert not at.exception
    assert "Every token was filtered out" in at.error[0].value


def test_the_run_button_does_not_wait_for_nltk(monkeypatch):
    """While NLTK and WordNet still load, the page shows everything else and says what it waits for."""
    from concurrent.futures import Future

    from ui import cached

    pending = Future()
    monkeypatch.setitem(cached._BACKGROUND, "normalisers", pending)
    ws = Workspace.from_env()
    ws.set_state("active_corpus", ingest_sources(ws, [Source("t.txt", TEXT.encode())], ReadOptions(), name="t").id)
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("views/preprocess.py").run()
    assert not at.exception
    assert "Loading NLTK" in at.status[0].label and at.status[0].state == "running"
    assert at.button(key="pp_run") and not comparison_shown(at)
    pending.set_result([])
    at.run()
    assert comparison_shown(at) and not at.status


def test_phrases_are_marked_in_the_preview_and_names_kept_by_the_lemmatize_preset():
    ws = Workspace.from_env()
    ws.set_state("active_corpus", ingest_sample(ws, "lee").id)  # its first story: bushfires in New South Wales
    at = wait_until(AppTest.from_file(str(APP), default_timeout=90).run().switch_page("views/preprocess.py").run(),
                    comparison_shown)
    at.selectbox(key="pp_preset").set_value("wordnet").run()
    at.button(key="pp_apply").click().run()
    at.selectbox(key="pp_phrases").set_value(2).run()
    assert "name, not stemmed" in preview(at) and "wales → wales (name)" in preview(at).lower()
    assert any("Phrases are found in the whole corpus" in c.value for c in at.caption)
    at.button(key="pp_run").click().run()
    at = wait_until(at, lambda a: ws.list(KIND) or a.error, rounds=100)
    assert ws.list(KIND), [e.value for e in at.error]
    at = wait_until(at, lambda a: "in the phrase" in preview(a), rounds=20)
    assert "in the phrase new_south_wales" in preview(at)
    phrases = next(d.value for d in at.dataframe if "phrase" in d.value.columns)
    assert "new_south_wales" in set(phrases["phrase"])
