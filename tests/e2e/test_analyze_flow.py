"""The Analyze page in a real browser: build the index, pick a node word, read its collocates, open
their concordance lines, and look at keyness on the labelled polarity sample."""

from __future__ import annotations

from playwright.sync_api import expect

from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_collocates_of_a_node_word_and_their_lines(tabs, server, tmp_path):
    lee = ingest_sample(Workspace(server.home), "lee").id
    page = tabs.open(1500, 1200)
    page.goto(f"{server.url}/analyze?corpus={lee}")
    build = page.get_by_role("button", name="Build the index")
    expect(build).to_be_visible()
    settle(page)
    build.click()
    expect(page.get_by_text("60,005 tokens")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Collocations").click()
    node = page.get_by_label("Node word", exact=True)
    expect(node).to_be_visible()
    node.fill("police")
    node.press("Enter")
    settle(page)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    expect(page.get_by_text("Closer = higher logDice").first).to_be_attached()  # the collocate network
    pick = page.get_by_test_id("stSelectbox").filter(has_text="Lines with")
    pick.click()
    # The list is long (and drawn only where it scrolls to): type to filter it, as a user would, once it is
    # open; typed sooner, on a busy machine, the letters went nowhere and "said" was never drawn (seen once).
    expect(page.get_by_role("listbox")).to_be_visible()
    page.keyboard.type("said")
    page.get_by_role("option", name="said", exact=True).click()
    settle(page)
    expect(page.get_by_text("with 'said' within the span")).to_be_visible()
    expect_no_exception(page)
    page.screenshot(path=str(tmp_path / "collocations.png"), full_page=True)
