"""The Attention page in a real browser: load the bundled MiniLM and render a heatmap."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_load_minilm_and_render_a_heatmap(tabs, server, tmp_path):
    page = tabs.open(1500, 1100)
    page.goto(f"{server.url}/attention")
    settle(page)
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="all-MiniLM-L6-v2 · encoder · bundled").click()
    settle(page)
    load = page.get_by_role("button", name="Load all-MiniLM-L6-v2")
    heatmap = page.get_by_test_id("stPlotlyChart").first
    expect(load.or_(heatmap)).to_be_visible(timeout=60_000)
    if load.is_visible():  # the shared server keeps a model another test loaded: then the heatmap shows at once
        load.click()
    expect(heatmap).to_be_visible(timeout=90_000)
    expect(page.get_by_text("tokens · 6 layers × 12 heads")).to_be_visible()
    # Plotly drew the tokens on the axes: the words of the default sentence are there.
    expect(heatmap.locator("text", has_text="river").first).to_be_attached()
    heatmap.scroll_into_view_if_needed()
    heatmap.screenshot(path=tmp_path / "heatmap.png")
    expect(page.get_by_text("MB", exact=False).first).to_be_visible()  # the sidebar lists the loaded model
    expect_no_exception(page)
