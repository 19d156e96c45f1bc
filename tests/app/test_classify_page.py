"""The Classify page on the polarity sample: the split, a TF-IDF baseline as a job, its scorecard, errors and use."""

from streamlit.testing.v1 import AppTest

from core import classify
from core.corpus.model import Corpus, Document
from core.corpus.store import ingest_sample, save_corpus
from core.jobs import NoJob
from core.workspace import Workspace
from tests.app.conftest import APP, wait_until
from ui.classify_view import explained_html


def open_page(cid: str | None = None) -> tuple[AppTest, Workspace]:
    ws = Workspace.from_env()
    ws.set_state("active_corpus", cid or ingest_sample(ws, "polarity").id)
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/classify.py").run()
    assert not at.exception, at.exception
    return at, ws


def test_train_the_tfidf_baseline_and_read_its_scorecard():
    at, ws = open_page()
    assert any(m.value.startswith("**200 labelled documents in 2 classes:** train ") for m in at.markdown)
    assert any("Each class in train, validation and test" in c.proto.spec for c in at.get("plotly_chart"))
    assert any("No classifier" in i.value for i in at.info)
    at.button(key="cl_go").click().run()
    at = wait_until(at, lambda a: any(m.label == "Test accuracy" for m in a.metric))
    assert not at.exception, at.exception
    (m,) = ws.list(classify.KIND)
    assert m.metrics["n_test"] == 40 and m.metrics["chance"] == 0.5
    accuracy = next(x for x in at.metric if x.label == "Test accuracy")
    assert accuracy.value == f"{m.metrics['accuracy']:.1%}"
    assert any("Only 40 test documents" in w.value for w in at.warning)  # the interval is said, not hidden
    # A higher threshold predicts 'pos' less often: the matrix's first column grows.
    before = classify.load(ws, m.id).scorecard(0.5)["confusion"]
    at.slider(key="cl_threshold").set_value(0.9).run()
    after = classify.load(ws, m.id).scorecard(0.9)["confusion"]
    assert sum(r[0] for r in after) > sum(r[0] for r in before) and not at.exception
    at.text_area(key="cl_text").set_value("A <b>dull</b>, boring and lifeless film.").run()
    assert not at.exception
    assert "<b>" not in "".join(h.proto.body for h in at.get("html"))  # user text stays text
    assert "&lt;b&gt;" in explained_html([("<b>", 1.0), ("x", -0.5)])
    assert at.button(key="cl_delete").disabled  # nothing goes before the box is ticked
    at.checkbox(key="cl_confirm_delete").check().run()
    at.button(key="cl_delete").click().run()
    assert not at.exception and ws.list(classify.KIND) == []
    assert any("No classifier" in i.value for i in at.info)


def test_a_corpus_without_labels_says_what_would_work():
    at, _ = open_page(ingest_sample(Workspace.from_env(), "lee").id)
    assert "no labels" in at.error[0].value
    at.button(key="cl_sample").click().run()
    assert not at.error and not at.exception


def test_an_id_column_is_called_one():
    ws = Workspace.from_env()
    docs = [Document(f"text number {i}", "ids.csv", f"id-{i}") for i in range(300)]
    cid = save_corpus(ws, Corpus("ids", docs), "ids", {}, NoJob()).id
    at, _ = open_page(cid)
    assert "id column" in at.error[0].value


def test_fine_tune_a_tiny_encoder_as_a_job_then_read_its_errors_and_label_the_corpus():
    at, ws = open_page()
    at.radio(key="cl_method").set_value("encoder").run()
    assert any("Estimated time on this machine" in c.value for c in at.caption)
    at.selectbox(key="cl_base").set_value("tiny-bert").run()
    at.number_input(key="cl_epochs").set_value(1).run()
    at.button(key="cl_go").click().run()
    at = wait_until(at, lambda a: any(m.label == "Test accuracy" for m in a.metric))
    assert not at.exception, at.exception
    (m,) = ws.list(classify.KIND)
    assert m.config["method"] == "encoder" and m.metrics["curve"]  # validation F1 per epoch
    body = "".join(h.proto.body for h in at.get("html"))
    assert "background:rgba(" in body  # the misclassified documents' words, coloured
    at.button(key="cl_label").click().run()
    at = wait_until(at, lambda a: a.get("download_button"))
    assert not at.exception, at.exception


def test_mean_vector_baseline_uses_the_active_vectors():
    from tests.unit.test_classify_core import planted_corpus
    from tests.unit.test_classify_store import corpus, vectors

    ws = Workspace.from_env()
    cid = corpus(ws, *planted_corpus(n=120))
    ws.set_state("active_vectors", vectors(ws))
    at, _ = open_page(cid)
    at.radio(key="cl_method").set_value("mean_vectors").run()
    assert any("planted vectors" in c.value for c in at.caption)
    at.button(key="cl_go").click().run()
    at = wait_until(at, lambda a: any(m.label == "Test accuracy" for m in a.metric))
    (m,) = ws.list(classify.KIND)
    assert m.config["method"] == "mean_vectors" and m.metrics["accuracy"] > 0.8 and not at.exception
