"""The Corpus page in a real browser: upload, statistics, Zipf, reload, user text as data, samples.

The server and its workspace are shared by the whole session (see conftest.py), so every test
works whether or not another corpus is already active; uploads carry a unique name.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect

TIMEOUT_MS = 30_000

# The opening of Pride and Prejudice (Jane Austen, 1813; public domain): five paragraphs.
PARAGRAPHS = [
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife.",
    "However little known the feelings or views of such a man may be on his first entering a "
    "neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is "
    "considered as the rightful property of some one or other of their daughters.",
    "\u201cMy dear Mr. Bennet,\u201d said his lady to him one day, \u201chave you heard that Netherfield "
    "Park is let at last?\u201d",
    "Mr. Bennet replied that he had not.",
    "\u201cBut it is,\u201d returned she; \u201cfor Mrs. Long has just been here, and she told me all "
    "about it.\u201d Mr. Bennet made no answer. \u201cDo not you want to know who has taken it?\u201d cried "
    "his wife impatiently. \u201cYou want to tell me, and I have no objection to hearing it.\u201d This was "
    "invitation enough.",
]

# Markup that Streamlit's markdown would render (or a browser would run) if user text reached it.
INJECTION = [
    "<script>window.__pwned=1</script>",
    "$x$",
    ":red[x]",
    "![](http://x)",
    '<img src=x onerror="window.__pwned=2">',
]


def metric_value(page: Page, label: str) -> Locator:
    metric = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    return metric.get_by_test_id("stMetricValue")


def open_corpus_page(page: Page, base_url: str) -> None:
    """Open /corpus with the 'Bring a corpus' expander open (it starts closed while a corpus is active)."""
    page.goto(f"{base_url}/corpus")
    # Wait for the end of the first run: it draws the 'no corpus' hint or the active corpus' metrics.
    no_corpus = page.get_by_test_id("stAlertContentInfo").filter(has_text="No corpus yet")
    expect(no_corpus.or_(metric_value(page, "Documents")).first).to_be_visible()
    open_bring_a_corpus(page)


def bring_a_corpus(page: Page) -> Locator:
    return page.get_by_test_id("stExpander").filter(has_text="Bring a corpus")


def open_bring_a_corpus(page: Page, tries: int = 3) -> None:
    """Open the 'Bring a corpus' expander so that its content really shows.

    Streamlit's expander now and then paints closed although it is open (seen on the first, slow
    run of a fresh server: `<details open>` 40 px high, its content hidden, not `inert`). Closing it
    and opening it again repaints it. `inert` on its details marks the state Streamlit believes in.
    """
    expander = bring_a_corpus(page)
    summary, details = expander.locator("summary"), expander.get_by_test_id("stExpanderDetails")
    first_tab = expander.get_by_role("tab", name="Upload files")
    for _ in range(tries):
        if details.get_attribute("inert") is not None:  # closed: open it
            summary.click()
        try:
            expect(first_tab).to_be_visible(timeout=3_000)
            return
        except AssertionError:
            if details.get_attribute("inert") is None:  # open, yet painted closed: close it; the next round opens it
                summary.click()
            expect(details).to_have_attribute("inert", "")
    expect(first_tab).to_be_visible()


def reveal(page: Page, target: Locator) -> None:
    """Wait for ``target`` inside the 'Bring a corpus' expander; reopen the expander if it hides it."""
    try:
        expect(target).to_be_visible(timeout=5_000)
    except AssertionError:
        open_bring_a_corpus(page)
        expect(target).to_be_visible()


def upload(page: Page, files) -> None:
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(files)


def wait_for_run_end(page: Page) -> None:
    """Wait until no script run is going on or requested.

    A click on a button while a rerun is still going on can be lost, so click only when this returns.
    Call it after something that the pending run draws is visible: right after a file upload the
    frontend is still `notRunning` until the upload has finished and its rerun is requested.
    """
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def settle(page: Page) -> None:
    """Wait for the end of the run and of the expanders' height animations, then it is safe to click.

    Streamlit animates an expander's height whenever its content grows (after a rerun, when a table
    paints), clipping the content meanwhile; a click then can land on whatever moved under the pointer.
    """
    wait_for_run_end(page)
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stExpander"] details')]
        .every(d => d.getAnimations().length === 0 && !d.style.height)""", timeout=TIMEOUT_MS)


def expect_no_exception(page: Page) -> None:
    wait_for_run_end(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_upload_shows_statistics_and_zipf_and_survives_reload(page: Page, base_url: str, tmp_path):
    stem = f"pride-{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{stem}.txt"
    path.write_text("\n\n".join(PARAGRAPHS) + "\n", encoding="utf-8")
    n = str(len(PARAGRAPHS))

    open_corpus_page(page, base_url)
    upload(page, path)
    expect(page.get_by_test_id("stFileChipName")).to_have_text(path.name)
    panel = page.get_by_test_id("stTabPanel").filter(has=page.get_by_test_id("stFileUploader"))
    split = panel.get_by_test_id("stRadioOption").filter(has_text="split on blank lines")
    reveal(page, split)  # drawn by the rerun that follows the upload
    settle(page)
    split.click()
    expect(split.get_by_role("radio")).to_be_checked()
    expect(panel.get_by_role("textbox", name="Corpus name")).to_have_value(stem)
    load = page.get_by_role("button", name="Load corpus")
    reveal(page, load)
    settle(page)
    load.click()

    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(f"Loaded {stem}: {n} documents.")
    expect(page.get_by_role("heading", name=stem, exact=True)).to_be_visible()
    expect(metric_value(page, "Documents")).to_have_text(n)
    expect(metric_value(page, "Tokens")).to_have_text(re.compile(r"^\d[\d,]*$"))

    page.get_by_role("tab", name="Zipf").click()
    zipf = page.get_by_test_id("stTabPanel").filter(has=page.get_by_test_id("stPlotlyChart")).filter(
        has_text="Fitted exponent")
    expect(zipf.locator(".js-plotly-plot")).to_be_visible()
    expect(zipf.locator(".js-plotly-plot")).to_contain_text("Zipf's law")

    page.reload()
    expect(page.get_by_role("heading", name=stem, exact=True)).to_be_visible()
    expect(metric_value(page, "Documents")).to_have_text(n)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="Active corpus")).to_have_value(f"{stem} · {n} docs")
    expect_no_exception(page)


def test_user_text_and_file_name_are_shown_literally(page: Page, base_url: str):
    # The file name carries markup too. No '/' (a name is one path segment) and no '"' (the browser
    # sends it as %22 in the multipart upload, by the HTML spec).
    name = f":red[x] $x$ ![](x) <img src=x onerror=window.__pwned=3> {uuid.uuid4().hex[:8]}.txt"
    stem = name.removesuffix(".txt")
    content = ("A corpus that tries to be markup. " + " ".join(INJECTION) + "\n"
               "The rest is plain words about the cat that sat on the mat.\n")

    open_corpus_page(page, base_url)
    upload(page, {"name": name, "mimeType": "text/plain", "buffer": content.encode("utf-8")})
    expect(page.get_by_test_id("stFileChipName")).to_have_attribute("title", name)  # the chip shortens it
    load = page.get_by_role("button", name="Load corpus")
    reveal(page, load)  # drawn by the rerun that follows the upload
    settle(page)
    load.click()
    expect(page.get_by_role("heading", name=stem, exact=True)).to_be_visible()
    expect(metric_value(page, "Documents")).to_have_text("1")

    page.get_by_role("tab", name="Documents").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("The rest is plain words").filter(visible=True).first).to_be_visible()
    expect_no_exception(page)  # the run is over: everything the page draws is drawn

    # Nothing the user wrote ran or turned into markup: no script, no image, no KaTeX.
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    expect(page.locator('img[src="x"], img[src="http://x"], img[src="http:x"]')).to_have_count(0)
    expect(page.locator(".katex, .katex-display, math")).to_have_count(0)
    expect(page.locator("script").filter(has_text="__pwned")).to_have_count(0)

    # It is shown as text instead: the document in the preview, the file name in its caption.
    for snippet in (":red[x]", "$x$"):
        expect(main.get_by_text(snippet).filter(visible=True).first).to_be_visible()
    preview = main.get_by_test_id("stText")
    for snippet in INJECTION:
        expect(preview).to_contain_text(snippet)
    expect(main.get_by_test_id("stCaptionContainer").filter(has_text=name)).to_be_visible()
    assert page.evaluate("() => typeof window.__pwned") == "undefined"


@pytest.mark.parametrize("path", ["/", "/corpus"])
def test_page_loads_without_exception(page: Page, base_url: str, path: str):
    page.goto(f"{base_url}{path}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Corpus Lab" if path == "/" else "Corpus")
    expect(page.get_by_test_id("stSidebar").get_by_text("Workspace", exact=True)).to_be_visible()
    expect_no_exception(page)


def test_load_bundled_sample(page: Page, base_url: str):
    open_corpus_page(page, base_url)
    sample_tab = page.get_by_role("tab", name="Bundled sample")
    reveal(page, sample_tab)
    settle(page)
    sample_tab.click()
    settle(page)
    page.get_by_test_id("stRadio").filter(has_text="Sample").get_by_test_id("stRadioOption").filter(
        has_text="Lee news corpus").click()
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="300 Australian news stories")).to_be_visible()
    settle(page)
    page.get_by_role("button", name="Load sample").click()
    expect(page.get_by_role("heading", name="Lee news corpus", exact=True)).to_be_visible()
    expect(metric_value(page, "Documents")).to_have_text("300")
    expect_no_exception(page)


def test_deep_link_on_a_fresh_server_runs_the_app_shell(page, fresh_server):
    # Regression: with the page scripts in a `pages/` folder, Streamlit served the first visit to
    # /corpus on a fresh process as a legacy v1 page (pages/corpus.py alone: no app.py, no sidebar).
    server = fresh_server()
    page.goto(f"{server.url}/corpus")
    expect(page.get_by_role("heading", level=1)).to_have_text("Corpus")
    expect(page.get_by_test_id("stSidebarNavLink").filter(has_text="Home")).to_be_visible(timeout=5_000)
    expect(page.get_by_test_id("stSidebar").get_by_text("Workspace", exact=True)).to_be_visible(timeout=5_000)
    # An empty workspace has no chart, yet the chart code loads once the page is quiet (ui/preload.py):
    # the first chart of the tab does not wait for it.
    page.wait_for_function("performance.getEntriesByType('resource').some(e => /PlotlyChart[.][^/]*[.]js$/.test(e.name))",
                           timeout=15_000)
    assert page.get_by_test_id("stPlotlyChart").count() == 0

