"""The Classify page in a real browser: the TF-IDF baseline on the polarity sample, then a click on a
confusion-matrix cell lists that cell's test documents."""

from __future__ import annotations

from playwright.sync_api import expect

from core.corpus.store import ingest_sample
from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_tfidf_baseline_and_a_confusion_cell(page, server, tmp_path):
    cid = ingest_sample(Workspace(server.home), "polarity").id
    page.set_viewport_size({"width": 1500, "height": 1300})
    page.goto(f"{server.url}/classify?corpus={cid}")
    expect(page.get_by_text("200 labelled documents in 2 classes")).to_be_visible()
    train, scored = page.get_by_role("button", name="Train", exact=True), page.get_by_text("Test accuracy", exact=True)
    expect(train.or_(scored).first).to_be_visible()  # drawn below the split: wait for it, not for a lucky moment
    settle(page)
    if train.is_visible():  # the report flow may have trained it on this server already
        train.click()
    expect(page.get_by_text("Test accuracy", exact=True)).to_be_visible(timeout=60_000)
    settle(page)
    matrix = page.locator(".js-plotly-plot").filter(has_text="Confusion matrix")
    expect(matrix).to_be_visible()
    cells = matrix.locator(".scatterlayer path.point")
    expect(cells).to_have_count(4)
    cells.nth(1).click(force=True)  # true 'neg', predicted 'pos': the first row's second cell
    expect(page.get_by_text("test documents labelled 'neg', predicted 'pos' (wrong)")).to_be_visible()
    expect_no_exception(page)
    page.screenshot(path=str(tmp_path / "classify.png"), full_page=True)
