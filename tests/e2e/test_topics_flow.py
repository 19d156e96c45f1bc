"""The Topics page in a real browser: LDA on the Lee sample, then a topic renamed."""

from __future__ import annotations

from playwright.sync_api import expect

from core import topics
from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_lda_on_lee_and_rename_a_topic(tabs, server, tmp_path):
    ws = Workspace(server.home)
    lee = ingest_sample(ws, "lee").id
    page = tabs.open(1500, 1300)
    page.goto(f"{server.url}/topics?corpus={lee}")
    go = page.get_by_role("button", name="Find topics")
    expect(go).to_be_visible()
    settle(page)
    go.click()
    expect(page.get_by_text("Coherence c_v")).to_be_visible(timeout=120_000)
    mid = ws.list(topics.KIND)[0].id
    page.get_by_text("Rename topics").click()
    name = page.get_by_label("Topic 0", exact=True)
    name.fill("Bushfires")
    name.press("Enter")
    settle(page)
    page.get_by_role("button", name="Save the names").click()
    settle(page)
    expect(page.get_by_text("Bushfires").first).to_be_visible()
    assert ws.get_state(f"topic_names:{mid}") == {"0": "Bushfires"}
    expect_no_exception(page)
    page.screenshot(path=str(tmp_path / "topics.png"), full_page=True)
