import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"


def test_home_page_renders_with_sidebar():
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Corpus Lab"
    sidebar_text = [c.value for c in at.sidebar.caption]
    assert "Workspace" in sidebar_text and "Compute device" in sidebar_text
    assert any(t.value.startswith("CPU") or t.value.startswith("CUDA") for t in at.sidebar.text)
    assert "No corpus yet" in " ".join(sidebar_text)
    resident = next(t for t in sidebar_text if t.startswith("Server memory:"))
    assert 50 < float(resident.split()[2].replace(",", "")) < 24_000  # MB: this test process, whatever else it holds


def test_the_sidebar_loads_this_streamlits_chart_code_in_the_background():
    import streamlit as st

    at = AppTest.from_file(str(APP), default_timeout=60).run()
    scripts = [e.proto.body for e in at.sidebar.get("html") if "corpusLabPreload" in e.proto.body]
    assert len(scripts) == 1 and "<script>" in scripts[0]
    named = re.findall(r'"(PlotlyChart[.][^"/]+[.]js)"', scripts[0])  # a renamed build chunk must fail here
    assert named and all((Path(st.__file__).parent / "static" / "static" / "js" / name).is_file() for name in named)


def test_sidebar_lists_saved_corpora_and_remembers_the_active_one(tmp_path):
    # AppTest (Streamlit 1.67) drops the main script's sidebar after switch_page, so the
    # sidebar is checked here on the home page; the e2e tests check it on every page.
    from core.corpus.store import ingest_sample
    from core.workspace import Workspace

    ws = Workspace.from_env()
    lee = ingest_sample(ws, "lee")
    polarity = ingest_sample(ws, "polarity")
    ws.set_state("active_corpus", lee.id)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    box = at.sidebar.selectbox(key="sidebar_corpus")
    assert box.value == lee.id
    assert set(box.options) == {"Lee news corpus · 300 docs", "Movie-review polarity · 200 docs"}
    box.set_value(polarity.id).run()
    assert not at.exception
    assert ws.get_state("active_corpus") == polarity.id  # a reload starts from it


def test_sidebar_names_the_active_tokens_artifact():
    from core.corpus.store import ingest_sample
    from core.preprocess import PipelineConfig
    from core.tokens import build_tokens
    from core.workspace import Workspace

    ws = Workspace.from_env()
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    ws.set_state("active_corpus", corpus.id)  # tokens count only under the corpus they come from
    ws.set_state("active_tokens", tokens.id)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert f"Tokens: {tokens.metrics['tokens_after']:,} after preprocessing" in " ".join(
        c.value.replace("\\", "") for c in at.sidebar.caption)


def test_show_me_on_a_sample_ends_on_a_map_with_named_clusters():
    import time

    from core.workspace import Workspace

    ws = Workspace.from_env()
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.button(key="home_demo").click().run()
    for _ in range(240):  # AppTest runs no fragment timers: rerun until the tour has opened the map
        if at.title and at.title[0].value == "Map":
            break
        time.sleep(0.5)
        at.run(timeout=60)
    assert not at.exception, at.exception
    assert at.title[0].value == "Map"
    assert any("Lee news sample" in s.value for s in at.success)
    vectors = ws.list("vectors")[0]
    assert vectors.metrics["quality"]["verdict"] == "good" and vectors.config["epochs"] == 30
    assert any("nearest neighbours in the model" in c.value for c in at.caption)  # the map's verdict
    assert ws.get_state("active_vectors") == vectors.id
