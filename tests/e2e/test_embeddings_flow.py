"""The Embeddings page in a real browser: train a small model, then ask for a word's neighbours."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.corpus.store import ingest_sample
from core.embeddings.store import KIND
from core.preprocess import PipelineConfig
from core.tokens import build_tokens
from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_train_a_model_and_query_a_neighbour(tabs, server):
    ws = Workspace(server.home)  # the shared server: the link picks the corpus and tokens
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    before = {m.id for m in ws.list(KIND)}
    page = tabs.open(1500, 1000)
    page.goto(f"{server.url}/embeddings?corpus={corpus.id}&tokens={tokens.id}")
    expect(page.get_by_role("button", name="Train")).to_be_visible()
    settle(page)
    page.get_by_text("Skip-gram", exact=True).click()
    settle(page)
    epochs = page.get_by_role("spinbutton", name="Epochs")
    for _ in range(3):  # a rerun that redraws the box mid-fill once left "20" + "3": 203 epochs
        epochs.fill("3")
        epochs.press("Enter")
        settle(page)
        if epochs.input_value() == "3":
            break
    expect(epochs).to_have_value("3")
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text("Trained Skip-gram 100d")).to_be_visible(timeout=90_000)
    assert len({m.id for m in ws.list(KIND)} - before) == 1

    page.get_by_role("tab", name="Query").click()
    word = page.get_by_label("Word", exact=True)
    word.fill("police")
    word.press("Enter")
    settle(page)
    expect(page.get_by_text(re.compile(r"'police': rank [\d,]+, seen [\d,]+ times"))).to_be_visible()
    panel = page.get_by_role("tabpanel", name="Query")
    expect(panel.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(panel.get_by_role("button", name="Download neighbours (CSV)")).to_be_visible()
    expect_no_exception(page)
