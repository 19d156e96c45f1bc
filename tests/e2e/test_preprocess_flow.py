"""The Preprocess page in a real browser: a preset changes the live preview."""

from __future__ import annotations

from playwright.sync_api import expect

from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_applying_a_preset_changes_the_preview(tabs, server):
    lee = ingest_sample(Workspace(server.home), "lee").id  # the shared server; the link picks the corpus
    page = tabs.open(1500, 1000)
    page.goto(f"{server.url}/preprocess?corpus={lee}")
    preview = page.get_by_test_id("stMain").get_by_test_id("stHtml").first
    expect(preview).to_contain_text("hundreds")
    expect(preview.locator("span[title$='(normalised)']")).to_have_count(0)
    # NLTK loads in the background and the page reruns itself when it is in: a click at that moment
    # can be lost (seen once in a full run), so wait for the stemmer comparison it draws first.
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=60_000)
    settle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Preset").click()
    page.get_by_role("option", name="Classic: lowercase, no stopwords, Porter stems").click()
    settle(page)
    page.get_by_role("button", name="Apply preset").click()
    expect(preview.locator("span[title='people → peopl (normalised)']").first).to_be_visible()
    expect(preview.locator("span[title='dropped: stopword']").first).to_be_attached()
    expect_no_exception(page)
