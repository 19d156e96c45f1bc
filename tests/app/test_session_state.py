"""What a session works on is its own: a page visit never changes another session's choice, and
artifacts follow the corpus they came from."""

from streamlit.testing.v1 import AppTest

from core.corpus.store import ingest_sample
from core.embeddings.config import EmbeddingConfig
from core.embeddings.train import train_vectors
from core.preprocess import PipelineConfig
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.app.conftest import APP, wait_until


def session(page: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_opening_preprocess_keeps_everyones_tokens_and_offers_the_run_it_shows():
    ws = Workspace.from_env()
    lee = ingest_sample(ws, "lee")
    default = build_tokens(ws, lee.id, PipelineConfig())  # what the page's default settings would show
    chosen = build_tokens(ws, lee.id, PipelineConfig(stopwords="default"))  # what someone chose on purpose
    ws.set_state("active_corpus", lee.id)
    ws.set_state("active_tokens", chosen.id)
    at = wait_until(session("views/preprocess.py"), lambda a: any(b.key == "pp_use" for b in a.button))
    assert ws.get_state("active_tokens") == chosen.id  # the visit changed nothing, for anyone
    assert at.session_state["tokens_id"] == chosen.id
    at.button(key="pp_use").click().run()  # a choice made on purpose is remembered
    assert at.session_state["tokens_id"] == default.id and ws.get_state("active_tokens") == default.id
    assert not any(b.key == "pp_use" for b in at.button)


def test_embeddings_and_map_show_only_what_comes_from_the_active_corpus():
    ws = Workspace.from_env()
    lee = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, lee.id, PipelineConfig())
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(epochs=1, vector_size=16))
    polarity = ingest_sample(ws, "polarity")
    for key, value in (("active_corpus", polarity.id), ("active_tokens", tokens.id), ("active_vectors", vectors.id)):
        ws.set_state(key, value)  # as a workspace left by someone who worked on Lee, then loaded polarity
    at = session("views/embeddings.py")
    assert any("Preprocess page" in i.value for i in at.info)  # the missing step, not Lee's tokens
    assert not any(b.key == "emb_train" for b in at.button)
    assert not any(s.key == "emb_model" for s in at.selectbox)  # Lee's model is not offered for polarity
    at = session("views/map.py")
    assert not at.get("plotly_chart")
    assert ws.get_state("active_vectors") == vectors.id  # and nothing was rewritten by looking
    ws.set_state("active_corpus", lee.id)
    at = session("views/embeddings.py")
    assert at.selectbox(key="emb_model").value == vectors.id  # back on Lee, its model is there again


def test_the_url_carries_the_sessions_choice_so_a_reload_keeps_it():
    ws = Workspace.from_env()
    lee = ingest_sample(ws, "lee")
    default = build_tokens(ws, lee.id, PipelineConfig())
    chosen = build_tokens(ws, lee.id, PipelineConfig(stopwords="default"))
    ws.set_state("active_corpus", lee.id)
    ws.set_state("active_tokens", default.id)
    at = session("views/home.py")
    assert at.query_params["corpus"] == lee.id and at.query_params["tokens"] == default.id
    ws.set_state("active_tokens", chosen.id)  # meanwhile, another session chose other tokens
    reload = AppTest.from_file(str(APP), default_timeout=120)
    reload.query_params.update({"corpus": lee.id, "tokens": default.id})  # this session's URL
    reload.run()
    assert reload.session_state["tokens_id"] == default.id  # a reload keeps this session's choice
    fresh = session("views/home.py")
    assert fresh.session_state["tokens_id"] == chosen.id  # a new session starts from the workspace's last
    bad = AppTest.from_file(str(APP), default_timeout=120)
    bad.query_params.update({"corpus": "not-a-corpus"})
    bad.run()
    assert not bad.exception and bad.query_params["corpus"] == lee.id  # a stale id: the workspace's last choice
    assert "not in this workspace" in bad.toast[0].value  # … and the link's reader is told why
