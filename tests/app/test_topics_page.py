"""The Topics page on the Lee sample: find LDA topics as a job, read them, rename one, place a text."""

from streamlit.testing.v1 import AppTest

from core import topics
from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.app.conftest import APP, wait_until


def open_page() -> tuple[AppTest, Workspace]:
    ws = Workspace.from_env()
    ws.set_state("active_corpus", ingest_sample(ws, "lee").id)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/topics.py").run()
    assert not at.exception, at.exception
    return at, ws


def test_find_topics_read_them_rename_one_and_place_a_text():
    at, ws = open_page()
    assert any("No topic model" in i.value for i in at.info)
    at.number_input(key="tp_k").set_value(6).run()
    at.button(key="tp_go").click().run()
    at = wait_until(at, lambda a: any(m.label == "Coherence c_v" for m in a.metric))
    assert len(ws.list(topics.KIND)) == 1 and not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) >= 6 + 2  # one bar chart per topic, the map, the order chart
    mid = ws.list(topics.KIND)[0].id
    at.text_input(key=f"tp_name_{mid}_0").set_value("Firefighting").run()
    at.button(key="tp_save_names").click().run()
    assert ws.get_state(f"topic_names:{mid}") == {"0": "Firefighting"}
    assert "Firefighting" in at.selectbox(key="tp_topic").options  # the name is used everywhere on the page
    assert any("Topics: LDA 6 topics" in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
    at.text_area(key="tp_text").set_value("Palestinian militants and Israeli troops clashed in Gaza.").run()
    assert not at.exception and at.get("plotly_chart")
    at.text_area(key="tp_text").set_value("zzzq qqqz").run()
    assert "vocabulary" in at.error[0].value


def test_too_many_topics_for_the_corpus_is_explained():
    ws = Workspace.from_env()
    ws.set_state("active_corpus", ingest_sample(ws, "polarity").id)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/topics.py").run()
    at.number_input(key="tp_k").set_value(100).run()
    at.button(key="tp_go").click().run()
    at = wait_until(at, lambda a: a.error)
    assert "too few for 100 topics" in at.error[0].value and not at.exception  # what would work, said


def test_the_coherence_sweep_suggests_a_number_of_topics():
    at, _ = open_page()
    at.number_input(key="tp_passes").set_value(2).run()
    at.button(key="tp_sweep_go").click().run()
    at = wait_until(at, lambda a: "tp_sweep" in a.session_state)
    rows = at.session_state["tp_sweep"]["rows"]
    assert [r["topics"] for r in rows] == [4, 6, 8, 10, 12, 15, 20] and all(0 < r["c_v"] < 1 for r in rows)
    assert at.get("plotly_chart") and not at.exception


def test_embedding_topics_on_the_page():
    from tests.unit.test_topics import planted_corpus

    ws = Workspace.from_env()
    ws.set_state("active_corpus", planted_corpus(ws))  # 60 short documents on three subjects: quick to embed
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/topics.py").run()
    at.radio(key="tp_method").set_value("embedding").run()
    at.button(key="tp_go").click().run()
    at = wait_until(at, lambda a: any(m.label == "Coherence c_v" for m in a.metric) or a.error)
    assert not at.error and not at.exception, [e.value for e in at.error]
    assert ws.list(topics.KIND)[0].config["method"] == "embedding"
    assert any("no topic above half" in c.value for c in at.caption)  # outliers counted
    at.text_area(key="tp_text").set_value("The chef simmered garlic and onion, then baked the pastry.").run()
    assert not at.exception and not at.error and at.get("plotly_chart")


def test_a_topic_model_can_be_deleted_with_its_names():
    at, ws = open_page()
    corpus = ws.get_state("active_corpus")
    model = topics.build_lda(ws, corpus, topics.LdaConfig(topics=3, passes=2))
    ws.set_state(f"topic_names:{model.id}", {"0": "Fires"})
    at.run()
    at.checkbox(key="tp_confirm_delete").check().run()
    at.button(key="tp_delete").click().run()
    assert not ws.list(topics.KIND) and ws.get_state(f"topic_names:{model.id}") is None
    assert any("No topic model" in i.value for i in at.info) and not at.exception
