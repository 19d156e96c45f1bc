"""Show it to others, in a real browser: three items added from three pages, the report exported as one HTML file
that draws its charts with every network request refused, and a permalink that reopens the same view."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core import models
from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def add(page, key: str, title: str) -> None:
    button = page.locator(f".st-key-{key}_report button").first
    button.scroll_into_view_if_needed()
    button.click()
    # this item's toast: the one of an earlier add may still be on screen
    expect(page.get_by_text(re.compile(f"Added '{re.escape(title)}.*' to the report")).last).to_be_visible()
    settle(page)


def test_report_from_three_pages_opens_offline(browser, tabs, server, tmp_path):
    ws = Workspace(server.home)
    lee = ingest_sample(ws, "lee").id
    polarity = ingest_sample(ws, "polarity").id
    page = tabs.open(1400, 1100)
    page.goto(f"{server.url}/corpus?corpus={lee}")
    settle(page)
    add(page, "corpus_stats", "Corpus statistics")
    page.get_by_role("tab", name="Zipf").click()
    settle(page)
    add(page, "zipf_chart", "Zipf's law")
    page.goto(f"{server.url}/classify?corpus={polarity}")
    train, scored = page.get_by_role("button", name="Train", exact=True), page.get_by_text("Test accuracy", exact=True)
    expect(train.or_(scored).first).to_be_visible()  # the page is drawn (a goto's first instant reads "not running")
    settle(page)
    if train.is_visible():  # the Classify flow may have trained it on this server already
        train.click()
    expect(page.get_by_text("Test accuracy", exact=True)).to_be_visible(timeout=60_000)
    settle(page)
    add(page, "cl_confusion", "Confusion matrix")
    page.goto(f"{server.url}/report")
    expect(page.get_by_text("3. Confusion matrix: TF-IDF")).to_be_visible()
    settle(page)  # a click while the page still runs can be lost (seen: no download in 30 s)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export as HTML").click()
    path = tmp_path / "report.html"
    download.value.save_as(path)
    expect_no_exception(page)

    offline = browser.new_context()
    requests = []
    offline.route("**/*", lambda route: (requests.append(route.request.url),
                                         route.continue_() if route.request.url.startswith("file:") else route.abort()))
    try:
        page = offline.new_page()
        page.goto(path.as_uri())
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
                               timeout=TIMEOUT_MS)
        assert [u for u in requests if not u.startswith("file:")] == []
        assert page.get_by_text("Corpus statistics").count() >= 1
        page.pdf(path=str(tmp_path / "report.pdf"))
        assert (tmp_path / "report.pdf").stat().st_size > 10_000
    finally:
        offline.close()


def test_a_permalink_reopens_the_attention_view(page, server):
    text = "The bank by the river is not the bank in town."
    page.goto(f"{server.url}/attention?att_model={models.MINILM_ID}&att_text={text.replace(' ', '%20')}")
    # the text box, not the "Text" radio above it (which asks where the text comes from)
    expect(page.get_by_role("textbox", name="Text", exact=True)).to_have_value(text)
    expect(page.get_by_role("combobox", name="Model")).to_have_value("all-MiniLM-L6-v2 · encoder · bundled")  # linked
    # its Load button, or its heatmap when another test on this shared server has loaded it already
    load = page.get_by_role("button", name=re.compile("^Load all-MiniLM-L6-v2"))
    expect(load.or_(page.get_by_test_id("stPlotlyChart").first)).to_be_visible()
    assert f"att_model={models.MINILM_ID}" in page.url  # the URL keeps following the page
    expect_no_exception(page)


def test_embed_mode_says_what_the_page_is_about_without_the_sidebar(page, server):
    cid = ingest_sample(Workspace(server.home), "polarity").id
    page.goto(f"{server.url}/classify?corpus={cid}&embed=true")
    expect(page.get_by_role("heading", name="Classify")).to_be_visible()
    expect(page.get_by_text("Corpus: Movie-review polarity")).to_be_visible()  # in the page, not only the sidebar
    expect(page.get_by_test_id("stToolbar")).to_have_count(0)
    expect_no_exception(page)
