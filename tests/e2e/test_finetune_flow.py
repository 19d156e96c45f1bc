"""The Fine-tune page in a real browser: start a LoRA run of SmolLM2 on a corpus, watch it, cancel it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_start_and_cancel_a_run(page: Page, server, tmp_path):
    ws = Workspace(server.home)
    ws.set_state("active_corpus", ingest_sample(ws, "lee").id)  # a new session starts from the last corpus used
    page.goto(f"{server.url}/finetune")
    # The pre-flight estimate tokenizes the corpus and builds the model's shapes in the page run: on a
    # busy 2-core machine the first run takes longer than settle()'s 30 s, so wait for its result first.
    expect(page.get_by_text("Optimizer steps")).to_be_visible(timeout=120_000)
    settle(page)
    # A small run: a short validation pass before the first step, short steps (the UI is the point here;
    # tests/app/test_finetune_page.py trains SmolLM2 for real).
    page.get_by_text("More settings", exact=True).click()
    for name, value in (("Max steps (0 = by epochs)", "50"), ("Max training tokens (0 = all)", "4096"),
                        ("Batch size", "2"), ("Validation share", "0.02")):
        box = page.get_by_role("spinbutton", name=name)
        box.fill(value)
        box.press("Enter")
        settle(page)
    page.get_by_role("button", name="Start fine-tuning").click()
    expect(page.get_by_test_id("stProgress").first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("step 1/", exact=False).first).to_be_visible(timeout=180_000)  # training, not loading
    page.screenshot(path=tmp_path / "training.png")
    # The bar jumps to each new length (ui/jobs.py): a sliding bar kept the browser drawing beside the job.
    bar = page.get_by_test_id("stProgress").first
    assert bar.evaluate("""e => [e, ...e.querySelectorAll('*')].every(x => getComputedStyle(x).transitionDuration
        .split(',').every(d => parseFloat(d) === 0))"""), "the progress bar still slides"
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Cancelled. The last checkpoint is kept")).to_be_visible(timeout=120_000)
    expect_no_exception(page)
