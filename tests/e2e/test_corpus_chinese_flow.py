"""A Chinese upload in a real browser: word counts from jieba, the Chinese stopword list named, and
not one request leaving the machine while the app loads and works (its favicon included)."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

from playwright.sync_api import Page, expect

from tests.e2e.test_corpus_flow import metric_value, open_corpus_page, reveal, settle, upload
from tests.unit.test_stats_chinese import ARTICLE

LOCAL = {"localhost", "127.0.0.1", "::1"}


def test_chinese_upload_counts_jieba_words_and_stays_offline(page: Page, base_url: str, tmp_path):
    outside: list[str] = []

    def note(request) -> None:
        if urlparse(request.url).scheme in ("http", "https", "ws", "wss") and urlparse(request.url).hostname not in LOCAL:
            outside.append(request.url)

    page.on("request", note)  # removed at the end: the tab goes on to the next test
    stem = f"语言模型-{uuid.uuid4().hex[:6]}"
    path = tmp_path / f"{stem}.txt"
    path.write_text(ARTICLE, encoding="utf-8")

    open_corpus_page(page, base_url)
    upload(page, path)
    panel = page.get_by_test_id("stTabPanel").filter(has=page.get_by_test_id("stFileUploader"))
    split = panel.get_by_test_id("stRadioOption").filter(has_text="split on blank lines")
    reveal(page, split)
    settle(page)
    split.click()
    load = page.get_by_role("button", name="Load corpus")
    reveal(page, load)
    settle(page)
    load.click()

    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(f"Loaded {stem}: 6 documents.")
    tokens = int(metric_value(page, "Tokens").inner_text().replace(",", ""))
    assert 150 < tokens < 400, tokens  # jieba words; one per character would be 544
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Language: Chinese (detected)")).to_be_visible()
    expect(main.get_by_text("Stopwords: Chinese (stop-words package")).to_be_visible()
    chart = main.get_by_test_id("stPlotlyChart").first.locator(".js-plotly-plot")
    expect(chart).to_contain_text("模型")
    expect(chart).to_contain_text("词语")
    page.screenshot(path=tmp_path / "chinese-corpus.png", full_page=True)

    # The favicon comes from this server (Streamlit fetches a ":material/…" one from fonts.gstatic.com).
    icon = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\").href")
    assert urlparse(icon).hostname in LOCAL, icon
    response = page.request.get(icon)
    assert response.ok and response.headers["content-type"] == "image/png", (icon, response.status)
    page.remove_listener("request", note)
    assert outside == [], outside
