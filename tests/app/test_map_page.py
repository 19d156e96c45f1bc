import json

from streamlit.testing.v1 import AppTest

from core import projection
from core.corpus.store import ingest_sample
from core.docmap import KIND as DOCMAP
from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import load_vectors
from core.embeddings.train import train_vectors
from core.preprocess import PipelineConfig
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.app.conftest import open_page


def model(sample: str = "lee", **config) -> Workspace:
    ws = Workspace.from_env()
    corpus = ingest_sample(ws, sample)
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(vector_size=24, epochs=2, **config))
    ws.set_state("active_corpus", corpus.id)
    ws.set_state("active_tokens", tokens.id)
    ws.set_state("active_vectors", vectors.id)
    return ws



def wait_for(at: AppTest, done, rounds: int = 60) -> None:
    for _ in range(rounds):  # AppTest runs no timers: rerun until the job has finished
        if done():
            break
        at.run(timeout=10)
    at.run()


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def test_without_vectors_the_page_points_to_embeddings():
    at = open_page("views/map.py")
    assert "Embeddings page" in at.info[0].value


def test_draw_search_and_recolour_a_map():
    ws = model()
    at = open_page("views/map.py")
    at.number_input(key="map_top").set_value(300).run()
    at.selectbox(key="map_method").set_value("pca").run()
    at.button(key="map_job_go").click().run()
    wait_for(at, lambda: ws.list(projection.KIND))
    assert not at.exception, at.exception
    assert len(ws.list(projection.KIND)) == 1 and len(charts(at)) >= 1
    at.text_input(key="map_search").set_value("police").run()
    no_match = lambda: [w.value for w in at.warning if "No word on this map matches" in w.value]  # noqa: E731
    assert not at.exception and not no_match()
    at.text_input(key="map_search").set_value("zzzznotaword").run()
    assert no_match()
    for colour in ("frequency", "trust", "cluster", "lists", "none"):
        at.selectbox(key="map_colour").set_value(colour).run()
        assert not at.exception, (colour, at.exception)
    vid = ws.get_state("active_vectors")
    kv = load_vectors(ws, vid)
    example = [at.text_input(key=f"map_axis_{n}_{vid}").value for n in "ABCD"]
    assert all(w in kv.key_to_index for w in example), example  # the example never opens on an error
    at.toggle(key="map_use_axes").set_value(True).run()
    axes_warnings = lambda: [w.value for w in at.warning if "Axes not used" in w.value]  # noqa: E731
    assert not axes_warnings() and not at.error
    layout = json.loads(charts(at)[0].proto.spec)["layout"]
    assert layout["xaxis"]["title"]["text"] == f"{example[0]}  →  {example[1]}"  # the axes say what they are
    at.text_input(key=f"map_axis_A_{vid}").set_value("zzzznotaword").run()
    assert "zzzznotaword" in " ".join(axes_warnings()) and not at.exception
    assert charts(at), "a bad axis word must keep the map on screen"
    for name, word in zip("ABCD", ("government", "police", "australia", "people"), strict=True):
        at.text_input(key=f"map_axis_{name}_{vid}").set_value(word)
    at.run()
    assert not at.error and not axes_warnings() and charts(at)
    at.run()  # a revisit shows the stored map without a job
    assert len(ws.list(projection.KIND)) == 1 and charts(at)


def test_too_few_words_show_a_table_instead():
    model()
    at = open_page("views/map.py")
    at.radio(key="map_mode").set_value("list").run()
    at.text_area(key="map_list").set_value("police government").run()
    assert not at.exception and not at.error
    assert any("at least 4 words" in i.value for i in at.info)
    table = next(d.value for d in at.dataframe if "word" in d.value.columns)
    assert list(table["word"]) == ["police", "government"]
    assert not charts(at)


def test_document_map_coloured_by_label():
    ws = model("polarity", min_count=2)
    at = open_page("views/map.py")
    at.selectbox(key="doc_method").set_value("pca").run()
    at.button(key="docmap_job_go").click().run()
    wait_for(at, lambda: ws.list(DOCMAP))
    assert not at.exception, at.exception
    assert [r.value for r in at.radio if r.key == "doc_colour"][0] == "label"
    assert charts(at)
    from core.topics import LdaConfig, build_lda

    build_lda(ws, ws.get_state("active_corpus"), LdaConfig(topics=3, passes=2))  # a topic model of this corpus
    at.run()
    at.radio(key="doc_colour").set_value("topic").run()
    assert not at.exception, at.exception
    assert any("coloured by its largest topic" in c.value for c in at.caption) and charts(at)
