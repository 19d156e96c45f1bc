"""The one-click tour in a real browser: Home → "Show me on a sample" → a map with named clusters."""

from __future__ import annotations

import os
import shutil
import time

from playwright.sync_api import expect

from core.workspace import Workspace
from tests.e2e.test_corpus_flow import expect_no_exception, settle


def test_show_me_on_a_sample_opens_a_meaningful_map(tabs, fresh_server, tmp_path):
    server = fresh_server()
    page = tabs.open(1500, 1100)
    page.goto(server.url)
    button = page.get_by_role("button", name="Show me on a sample")
    expect(button).to_be_visible(timeout=60_000)
    settle(page)
    start = time.perf_counter()
    button.click()
    expect(page.get_by_text("Step ").first).to_be_visible(timeout=30_000)  # the stage-by-stage progress
    expect(page.get_by_role("heading", name="Map")).to_be_visible(timeout=180_000)
    plot = page.get_by_test_id("stPlotlyChart").first
    try:
        expect(plot).to_be_visible(timeout=60_000)
    except AssertionError:  # seen once in a full run, never alone: keep what explains it
        page.screenshot(path=tmp_path / "no-map.png", full_page=True)
        print("script state:", page.get_by_test_id("stApp").get_attribute("data-test-script-state"))
        print("main:", page.get_by_test_id("stMain").inner_text()[:2000])
        print("server log:", server.output()[-3000:])
        raise
    print(f"tour: {time.perf_counter() - start:.1f} s from the click to the map")
    expect(page.get_by_text("nearest neighbours in the model").first).to_be_visible()
    # The legend names clusters by their words ("3: police · gunmen · …"), not "cluster 3".
    expect(plot.locator("text.legendtext", has_text="·").first).to_be_attached()
    vectors = Workspace(server.home).list("vectors")
    assert len(vectors) == 1 and vectors[0].metrics["quality"]["verdict"] == "good"
    settle(page)
    page.screenshot(path=tmp_path / "tour.png", full_page=True)
    if os.environ.get("CORPUS_LAB_SHOTS"):
        shutil.copy(tmp_path / "tour.png", os.environ["CORPUS_LAB_SHOTS"])
    expect_no_exception(page)
