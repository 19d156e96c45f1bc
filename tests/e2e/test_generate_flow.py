"""The Generate page in a real browser: SmolLM2 streams text token by token, and Stop keeps what it wrote."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_corpus_flow import expect_no_exception, settle

# On one worker, so one server loads SmolLM2 for both browser tests that generate (~10-15 s of CPU saved).
pytestmark = pytest.mark.xdist_group("smollm2")


def load_smollm(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/generate")
    settle(page)
    load = page.get_by_role("button", name="Load SmolLM2-135M-Instruct")
    go = page.get_by_role("button", name="Generate", exact=True)
    expect(load.or_(go)).to_be_visible()
    if load.is_visible():  # the first test on this server loads (and converts) it; later ones find it in memory
        load.click()
    expect(go).to_be_visible(timeout=120_000)
    settle(page)


def ready_to_generate(page: Page, base_url: str, new_tokens: int, prompt: str) -> None:
    """SmolLM2 loaded on the Generate page, with ``new_tokens`` and ``prompt`` filled in."""
    load_smollm(page, base_url)
    tab = page.get_by_role("tabpanel", name="Generate")
    tab.get_by_text("Sampling settings").click()
    tokens = tab.get_by_role("spinbutton", name="Max new tokens")
    tokens.fill(str(new_tokens))
    tokens.press("Enter")
    settle(page)
    tab.get_by_role("textbox", name="Prompt").fill(prompt)
    settle(page)


def test_generation_streams_and_stop_keeps_the_text(page: Page, base_url: str, tmp_path):
    ready_to_generate(page, base_url, 400, "Write a long story about a river bank and a bank clerk.")
    tab = page.get_by_role("tabpanel", name="Generate")
    tab.get_by_role("button", name="Generate", exact=True).click()
    # Streaming: the text grows under a cursor while the job runs.
    live = tab.get_by_test_id("stCode").filter(has_text="▌").first
    expect(live).to_be_visible(timeout=60_000)
    first = live.inner_text()
    expect(live).not_to_have_text(first, timeout=30_000)  # more text arrived: it streams
    page.screenshot(path=tmp_path / "streaming.png", full_page=True)
    tab.get_by_role("button", name="Stop", exact=True).click()
    expect(tab.get_by_text("stopped by you; the text so far is kept")).to_be_visible(timeout=60_000)
    token = tab.locator("span.cl-tok").first  # the token view: hovering (or tapping) a token shows its alternatives
    expect(token).to_be_visible()
    page.mouse.move(0, 0)  # the token view is drawn where Stop was: the pointer left there would hover a token
    expect(token.locator(".cl-tip")).to_be_hidden()
    token.hover()
    expect(token.locator(".cl-tip")).to_be_visible()
    expect(token.locator(".cl-tip")).to_contain_text("p = ")
    expect(tab.get_by_test_id("stPlotlyChart").first).to_be_visible()
    page.screenshot(path=tmp_path / "generated.png", full_page=True)
    expect_no_exception(page)
