"""A room of viewers: five browser sessions generate on the same model at once while a sixth opens
every page. All five finish without an error, each told its place while it waited; the sixth's
pages render meanwhile; every session's settings caption still tells the truth."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from core.models import SMOLLM_ID
from tests.e2e.test_corpus_flow import expect_no_exception, settle
from tests.e2e.test_generate_flow import ready_to_generate

# On one worker, so one server loads SmolLM2 for both browser tests that generate (~10-15 s of CPU saved).
pytestmark = pytest.mark.xdist_group("smollm2")

SESSIONS = 5
PROMPT = "Tell me about the river bank."
LINK = urlencode({"gen_model": SMOLLM_ID, "gen_prompt": PROMPT, "gen_max_new_tokens": 12})
# Runs in each generating page: from now on, every 100 ms, note when generated text first shows (the
# live panel's code block) and whether the page said how many requests were ahead of it.
WATCH = """() => {
  window.__start = performance.now(); window.__firstText = null; window.__toldPlace = false;
  const timer = setInterval(() => {
    const text = document.body.innerText;
    if (text.includes('ahead of yours')) window.__toldPlace = true;
    const code = document.querySelector('[data-testid="stCode"]');
    if (code && code.innerText.replace(/[\\s▌]/g, '').length) { window.__firstText = performance.now(); clearInterval(timer); }
  }, 100);
}"""
PAGES = ["", "corpus", "preprocess", "embeddings", "map", "attention", "generate", "finetune"]


def test_five_sessions_generate_at_once_while_a_sixth_browses(tabs, server, tmp_path):
    base_url = server.url
    pages = [tabs.open(1280, 900) for _ in range(SESSIONS + 1)]  # six tabs, each its own Streamlit session
    generators, viewer = pages[:SESSIONS], pages[SESSIONS]
    ready_to_generate(generators[0], base_url, 12, PROMPT)  # loads SmolLM2 for every session
    for page in generators[1:]:  # the others open a link with the same settings (what a shared link does)
        page.goto(f"{base_url}/generate?{LINK}")
        expect(page.get_by_role("tabpanel", name="Generate").get_by_role("button", name="Generate", exact=True)
               ).to_be_visible()
        settle(page)
    for page in generators:  # the page itself notes when its text first shows and whether it was told its place
        page.evaluate(WATCH)
    for page in generators:
        page.get_by_role("tabpanel", name="Generate").get_by_role("button", name="Generate", exact=True).click()
    for path in PAGES:  # the sixth session opens every page while the five wait for the model
        viewer.goto(f"{base_url}/{path}")
        settle(viewer)
        expect_no_exception(viewer)
    for page in generators:
        page.wait_for_function("window.__firstText !== null", timeout=240_000)
    seen = [page.evaluate("[window.__firstText - window.__start, window.__toldPlace]") for page in generators]
    print(f"time to first text per session: {[round(ms / 1000, 1) for ms, _ in seen]} s; "
          f"told their place: {[i for i, (_, told) in enumerate(seen) if told]}")
    assert any(told for _, told in seen), "no waiting session was told its place in line"
    for i, page in enumerate(generators):
        tab = page.get_by_role("tabpanel", name="Generate")
        expect(tab.locator("span.cl-tok").first).to_be_visible(timeout=240_000)  # finished: the token view
        expect_no_exception(page)
        assert not page.get_by_text("Changed from the preset").count(), f"session {i} says its settings changed"
    generators[-1].screenshot(path=tmp_path / "last-session.png", full_page=True)
