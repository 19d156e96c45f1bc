"""End-to-end fixtures: the real app under `streamlit run`, driven by Debian's Chromium.

One Streamlit server per test session, on a free port, with its own empty workspace
(`CORPUS_LAB_HOME`) and the Hub offline. Tests share that server and its workspace, so a
test must not assume the workspace is empty. Each test gets its own Streamlit session(s): tabs
that open the app afresh (see `Tabs` for why they are kept from test to test). We never download
browsers: Playwright drives /usr/bin/chromium.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from scripts import streamlit_server
from scripts.streamlit_server import Server

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
STARTUP_TIMEOUT_S = 60
TIMEOUT_MS = 30_000  # Streamlit reruns asynchronously; expect() waits up to this long


def pytest_collection_modifyitems(config, items):
    # Everything in this folder drives a real browser: mark it so `-m "not e2e"` skips it.
    browser = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    for item in browser:
        item.add_marker(pytest.mark.e2e)
    # They come first, so both pytest-xdist workers start on them (`--dist loadgroup` hands each test to
    # the worker that is free; each worker has its own server and Chromium) and the short unit tests fill
    # in at the end. A browser test mostly waits (a reply, a job, a redraw): two side by side share 2
    # cores better than all of them on one worker (timelines: 4.5 min of them on each of two workers;
    # all on one, 5:46 of them while the other worker idled for 2 min, 7:17 in all).
    chosen = set(browser)
    items[:] = browser + [item for item in items if item not in chosen]


def start_server(tmp: Path) -> Server:
    """Start `streamlit run app.py` with its own workspace under ``tmp``; wait until healthy."""
    # The browser tier sees what a user sees: the bundled models, no tiny test models in the pickers.
    try:
        return streamlit_server.start(tmp / "workspace", tmp / "streamlit.log",
                                      {"HF_HUB_OFFLINE": "1", "CORPUS_LAB_TINY_MODELS": None}, STARTUP_TIMEOUT_S)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the e2e tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server(browser, tmp_path_factory) -> Iterator[Server]:
    # Depends on `browser` so a missing Chromium skips before a server is started.
    srv = start_server(tmp_path_factory.mktemp("e2e-server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return server.url


@pytest.fixture
def fresh_server(browser, tmp_path):
    """Start a server of the test's own (a fresh process, empty workspace); stopped after the test."""
    servers: list[Server] = []

    def start() -> Server:
        servers.append(start_server(tmp_path / f"server-{len(servers)}"))
        return servers[-1]

    yield start
    for srv in servers:
        srv.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


class Tabs:
    """Browser tabs kept from test to test in one context per worker, each opening the app afresh.

    A tab in a new browser context starts a new renderer process, which parses and compiles the app's
    JavaScript again: 3-4 s of CPU and ~2 s per test's first page on 2 cores, against ~0.9 s of CPU and
    0.8 s for a tab that has shown the app before and went to about:blank in between (measured with the
    server and Chromium of these tests). Each `goto` still opens a new websocket, so a new Streamlit
    session with nothing of the last test's; what the browser itself keeps (cookies, the sidebar's
    width and state in localStorage) is cleared between tests. Tests that need a browser of their
    own (another identity, offline, routes on the context) still make a context.
    """

    def __init__(self, browser):
        self.browser, self.context, self.free, self.lent = browser, None, [], []

    def open(self, width: int = 1400, height: int = 1000) -> Page:
        if self.context is None:
            self.context = self.browser.new_context(accept_downloads=True)
            self.context.set_default_timeout(TIMEOUT_MS)
        page = self.free.pop() if self.free else self.context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        self.lent.append(page)
        return page

    def give_back(self) -> None:
        for page in self.lent:
            if page.is_closed():
                continue
            try:
                if page.url.startswith("http"):
                    page.evaluate("localStorage.clear(); sessionStorage.clear()")
                page.goto("about:blank")  # ends the Streamlit session as closing the tab would
                self.free.append(page)
            except Exception:  # a crashed or stuck tab is not lent again
                page.close()
        self.lent = []
        if self.context is not None:
            self.context.clear_cookies()


@pytest.fixture(scope="session")
def _tab_pool(browser) -> Tabs:
    return Tabs(browser)


@pytest.fixture
def tabs(_tab_pool) -> Iterator[Tabs]:
    """Open pages with ``tabs.open(width, height)``; all are handed back after the test."""
    yield _tab_pool
    _tab_pool.give_back()


@pytest.fixture
def page(tabs, request, tmp_path):
    """A tab that opens the app afresh: a new Streamlit session with no state from other tests.

    When the test fails, a screenshot and the DOM are kept in the test's tmp_path."""
    page = tabs.open()
    yield page
    if getattr(request.node, "e2e_failed", False):
        try:
            page.screenshot(path=tmp_path / "failure.png", full_page=True)
            (tmp_path / "failure.html").write_text(page.content(), encoding="utf-8")
            print(f"e2e failure artifacts: {tmp_path}/failure.png, failure.html")
        except Exception as e:  # a crashed page must not hide the test's own error
            print(f"could not save failure artifacts: {e}")
