"""The Map page in a real browser: draw a UMAP map, search a word, keep a screenshot."""

from __future__ import annotations

from playwright.sync_api import expect

from core import projection
from core.corpus.store import ingest_sample
from core.embeddings.config import EmbeddingConfig
from core.embeddings.train import train_vectors
from core.preprocess import PipelineConfig
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_draw_a_map_and_search_a_word(tabs, server, tmp_path):
    ws = Workspace(server.home)  # the shared server: the link picks the corpus and a model of this test's own
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(vector_size=32, epochs=5, seed=20261130)).id
    before = len(ws.list(projection.KIND))
    page = tabs.open(1500, 1100)
    page.goto(f"{server.url}/map?corpus={corpus.id}&tokens={tokens.id}&vectors={vectors}")
    draw = page.get_by_role("button", name="Draw the map")
    expect(draw).to_be_visible()
    settle(page)
    draw.click()
    plot = page.get_by_test_id("stPlotlyChart").first
    expect(plot).to_be_visible(timeout=120_000)
    assert len(ws.list(projection.KIND)) == before + 1
    search = page.get_by_label("Search words or /regex/")
    search.fill("police")
    search.press("Enter")
    settle(page)
    # The search ring and its label are drawn as SVG text on top of the WebGL points.
    expect(plot.locator("text", has_text="police").first).to_be_attached()
    settle(page)
    # The chart may be redrawn once more after the search; a page screenshot clipped to it does not
    # depend on the element staying attached.
    box = plot.bounding_box()
    page.screenshot(path=tmp_path / "map.png", clip=box, full_page=True)
    assert (tmp_path / "map.png").stat().st_size > 10_000
    expect_no_exception(page)
