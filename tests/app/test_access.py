"""A shared session in AppTest: the sign-in, what a viewer sees, and the server-side refusals a
crafted click would meet. (AppTest sessions have no loopback address, so they are remote here.)"""

import pytest
from streamlit.testing.v1 import AppTest

from core import access, projection
from core.corpus.store import ingest_sample
from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import load_vectors
from core.embeddings.train import train_vectors
from core.jobs import REGISTRY
from core.preprocess import PipelineConfig
from core.projection import ProjectionConfig, build_map
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.app.conftest import APP

VIEWER_CODE, PRESENTER_CODE = "river-1234-maple-5678", "cedar-4321-prism-8765"


@pytest.fixture
def shared(monkeypatch):
    monkeypatch.setenv(access.ENV_SHARE, "1")
    monkeypatch.setenv(access.ENV_VIEWER, VIEWER_CODE)
    monkeypatch.setenv(access.ENV_PRESENTER, PRESENTER_CODE)
    monkeypatch.setattr(access, "THROTTLE", access.Throttle())


def workspace_with_a_map() -> Workspace:
    ws = Workspace.from_env()
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(vector_size=16, epochs=1))
    words = load_vectors(ws, vectors.id).index_to_key[:300]
    build_map(ws, vectors.id, words, ProjectionConfig(method="pca"))
    for key, value in (("active_corpus", corpus.id), ("active_tokens", tokens.id), ("active_vectors", vectors.id)):
        ws.set_state(key, value)
    return ws


def sign_in(code: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.text_input(key="access_code").set_value(code)
    at.button[0].click().run()  # the form's Enter
    return at


def test_nothing_shows_before_the_code_and_a_wrong_code_is_refused(shared):
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert at.text_input(key="access_code").proto.type == at.text_input(key="access_code").proto.PASSWORD
    assert not any("Workspace" in c.value for c in at.caption) and not at.get("plotly_chart")  # no page drawn
    at.text_input(key="access_code").set_value("guess").run()
    at.button[0].click().run()
    assert any("not right" in e.value for e in at.error)
    assert "guess" not in str(at.main)  # the code typed is not echoed anywhere
    for _ in range(3):
        at.text_input(key="access_code").set_value("guess").run()
        at.button[0].click().run()
    at.text_input(key="access_code").set_value(VIEWER_CODE).run()
    at.button[0].click().run()  # even the right code waits once the tries are used up
    assert any("Too many wrong codes" in e.value for e in at.error)


def test_a_viewer_sees_the_map_but_no_control_that_changes_the_workspace(shared):
    ws = workspace_with_a_map()
    at = sign_in(VIEWER_CODE)
    assert not at.exception and any("Viewer" in c.value for c in at.sidebar.caption)
    at.switch_page("views/map.py").run()
    at.number_input(key="map_top").set_value(300).run()
    at.selectbox(key="map_method").set_value("pca").run()
    assert at.get("plotly_chart"), "the presenter's map is the viewer's to see"
    at.number_input(key="map_top").set_value(200).run()  # a map nobody drew yet
    assert not any(b.key == "map_job_go" for b in at.button)
    assert any("only the presenter can run pipelines, train models or draw new maps" in c.value for c in at.caption)
    at.switch_page("views/embeddings.py").run()
    keys = {b.key for b in at.button}
    assert not keys & {"emb_train", "emb_delete", "emb_demo"}
    at.switch_page("views/corpus.py").run()
    at.session_state["corpus_tabs"] = "Manage"  # where a presenter finds Delete
    at.run()
    assert any(c.value.startswith("Artifact ") for c in at.caption)  # the Manage tab is the one drawn
    assert not {b.key for b in at.button} & {"delete_corpus"} and not at.get("file_uploader")
    assert len(ws.list(projection.KIND)) == 1  # looking drew nothing


def test_the_presenters_code_gives_every_control(shared):
    workspace_with_a_map()
    at = sign_in(PRESENTER_CODE)
    assert any("Presenter" in c.value for c in at.sidebar.caption)
    at.switch_page("views/corpus.py").run()
    at.session_state["corpus_tabs"] = "Manage"
    at.run()
    assert any(b.key == "delete_corpus" for b in at.button)


def crafted_start(kind: str):
    """What a click that reached the server without its control would run: a job start in a viewer's session."""
    import streamlit as st

    from ui.jobs import start_job

    st.session_state["access_role"] = "viewer"
    start_job("crafted", "Crafted", lambda ctx: "done", kind=kind, wait=0)
    st.write("started")


@pytest.mark.parametrize("kind", ["vectors", "tokens", "map", "finetune", "ingest", "model", "demo"])
def test_a_crafted_job_start_from_a_viewer_is_refused_on_the_server(shared, kind):
    before = len(REGISTRY.all())
    at = AppTest.from_function(crafted_start, args=(kind,), default_timeout=30).run()
    assert any("Only the presenter can" in e.value for e in at.error), kind
    assert not any(m.value == "started" for m in at.markdown) and len(REGISTRY.all()) == before
