"""Private by default, shared on purpose: the sockets a server listens on, and a presenter and a
viewer in Chromium on a shared server. No traffic goes to any address but loopback."""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from playwright.sync_api import expect

from core import access
from core.corpus.store import ingest_sample
from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import load_vectors
from core.embeddings.train import train_vectors
from core.preprocess import PipelineConfig
from core.projection import ProjectionConfig, build_map
from core.tokens import build_tokens
from core.workspace import Workspace
from scripts import streamlit_server
from scripts.streamlit_client import Client, widget
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.test_corpus_flow import settle

VIEWER_CODE, PRESENTER_CODE = "river-1234-maple-5678", "cedar-4321-prism-8765"


def listening(pid: int) -> list[str]:
    """The addresses the server process listens on."""
    sockets = psutil.Process(pid).net_connections(kind="inet")
    return sorted({c.laddr.ip for c in sockets if c.status == psutil.CONN_LISTEN})


def test_make_run_listens_on_loopback_only_and_make_share_on_every_interface(tmp_path):
    private = streamlit_server.start(tmp_path / "a", tmp_path / "a.log", {"HF_HUB_OFFLINE": "1", "CORPUS_LAB_WARMUP": "0"})
    try:
        addresses = listening(private.process.pid)
        assert addresses and all(ipaddress.ip_address(a).is_loopback for a in addresses), addresses
        assert "Network URL" not in private.output()
    finally:
        private.stop()
    shared = streamlit_server.start(tmp_path / "b", tmp_path / "b.log",
                                    {"HF_HUB_OFFLINE": "1", "CORPUS_LAB_WARMUP": "0", access.ENV_SHARE: "1",
                                     access.ENV_VIEWER: VIEWER_CODE}, args=("--server.address", "0.0.0.0"))
    try:
        assert listening(shared.process.pid) == ["0.0.0.0"]
        assert VIEWER_CODE not in shared.output()  # the code is never logged
    finally:
        shared.stop()


# Both tests of the shared server on one worker, so it is started once (a server's start is ~5 s of CPU).
SHARED_SERVER = pytest.mark.xdist_group("shared-server")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("shared")  # one server for this module's two browser tests
    home = tmp_path / "workspace"
    ws = Workspace(home)
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(vector_size=16, epochs=1))
    build_map(ws, vectors.id, load_vectors(ws, vectors.id).index_to_key[:300], ProjectionConfig(method="pca"))
    for key, value in (("active_corpus", corpus.id), ("active_tokens", tokens.id), ("active_vectors", vectors.id)):
        ws.set_state(key, value)
    server = streamlit_server.start(home, tmp_path / "streamlit.log",
                                    {"HF_HUB_OFFLINE": "1", "CORPUS_LAB_WARMUP": "0", access.ENV_SHARE: "1",
                                     access.ENV_VIEWER: VIEWER_CODE, access.ENV_PRESENTER: PRESENTER_CODE},
                                    args=("--server.address", "0.0.0.0"))
    yield server
    server.stop()


def go(page, name: str) -> None:
    """Through the sidebar, as a user does: a reload would be a new session (and a viewer signs in again)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name).first).to_be_visible(timeout=TIMEOUT_MS)


def open_map(page) -> None:
    go(page, "Map")
    page.get_by_text("What to map, and how").click()
    page.get_by_role("spinbutton", name="How many").fill("300")
    page.get_by_role("spinbutton", name="How many").press("Enter")
    settle(page)  # a click during the rerun opens a list the rerun then closes
    page.get_by_test_id("stSelectbox").filter(has_text="Projection").first.click()
    page.get_by_role("option", name="PCA").click()
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=TIMEOUT_MS)


@SHARED_SERVER
def test_a_presenter_and_a_viewer_on_a_shared_server(browser, shared_server):
    url = shared_server.url.replace("localhost", "127.0.0.1")
    presenter = browser.new_context(viewport={"width": 1400, "height": 1000})
    # A viewer reaches the server through a proxy, as on a client's network: not this machine's browser.
    viewer = browser.new_context(viewport={"width": 1400, "height": 1000},
                                 extra_http_headers={"X-Forwarded-For": "192.168.1.77"})
    try:
        p = presenter.new_page()
        p.goto(url)
        expect(p.get_by_text("Presenter · shared on the network")).to_be_visible(timeout=TIMEOUT_MS)  # no code asked
        open_map(p)

        v = viewer.new_page()
        v.goto(url)
        code = v.get_by_label("Access code")
        expect(code).to_be_visible(timeout=TIMEOUT_MS)
        expect(v.get_by_test_id("stSidebar")).to_have_count(0)  # nothing of the app before the code
        code.fill("wrong-guess")
        v.get_by_role("button", name="Enter").click()
        expect(v.get_by_text("That code is not right.")).to_be_visible(timeout=TIMEOUT_MS)
        code.fill(VIEWER_CODE)
        v.get_by_role("button", name="Enter").click()
        expect(v.get_by_text("Viewer · you can look, query and generate")).to_be_visible(timeout=TIMEOUT_MS)
        open_map(v)  # the presenter's map, shown to the viewer
        v.screenshot(path=str(shared_server.home.parent / "viewer-map.png"))
        go(v, "Embeddings")
        expect(v.get_by_role("tab", name="Leaderboard")).to_be_visible(timeout=TIMEOUT_MS)
        expect(v.get_by_role("button", name="Train", exact=True)).to_have_count(0)
        v.get_by_role("tab", name="Leaderboard").click()
        expect(v.get_by_text("only the presenter can delete corpora or models")).to_be_visible(timeout=TIMEOUT_MS)
        expect(v.get_by_role("button", name="Delete this model")).to_have_count(0)
        go(v, "Corpus")
        expect(v.get_by_text("only the presenter can bring corpora in")).to_be_visible(timeout=TIMEOUT_MS)
        expect(v.get_by_test_id("stFileUploaderDropzone")).to_have_count(0)
        assert VIEWER_CODE not in shared_server.output() and PRESENTER_CODE not in shared_server.output()
    finally:
        presenter.close()
        viewer.close()


async def crafted_train_click(url: str, ws: Workspace) -> tuple[bool, int, int]:
    """The presenter's Train button id, clicked from a signed-in viewer's session."""
    async with Client(url, {}) as presenter:
        await presenter.run()
        train = widget(await presenter.run("embeddings"), "button", "emb_train")
    assert train is not None, "the presenter sees Train"
    async with Client(url, {"X-Forwarded-For": "192.168.1.77"}) as viewer:
        gate = await viewer.run()
        code, enter = widget(gate, "text_input", label="Access code"), widget(gate, "button", label="Enter")
        await viewer.run(widgets=({"id": code.id, "string_value": VIEWER_CODE}, {"id": enter.id, "trigger_value": True}))
        page = await viewer.run("embeddings")
        shown = widget(page, "button", "emb_train") is not None
        before = len(ws.list("vectors"))
        after_click = await viewer.run("embeddings", widgets=({"id": train.id, "trigger_value": True},))
        await asyncio.sleep(3)
        started = any(e.WhichOneof("type") == "progress" for e in after_click) or any(
            (ws.root / ".tmp").glob("vectors-*"))
        viewer_made = len(ws.list("vectors")) - before + started
    async with Client(url, {}) as presenter:  # the control: the same message from the presenter does train
        await presenter.run()
        await presenter.run("embeddings")
        await presenter.run("embeddings", widgets=({"id": train.id, "trigger_value": True},))
        for _ in range(120):
            if len(ws.list("vectors")) > before:
                break
            await asyncio.sleep(0.5)
    return shown, viewer_made, len(ws.list("vectors")) - before


@SHARED_SERVER
def test_a_crafted_click_on_a_control_a_viewer_never_saw_changes_nothing(shared_server):
    url = shared_server.url.replace("localhost", "127.0.0.1")
    crafted = crafted_train_click(url, Workspace(shared_server.home))
    with ThreadPoolExecutor(1) as pool:  # its own event loop: Playwright's sync API holds this thread's
        shown, by_viewer, by_presenter = pool.submit(asyncio.run, crafted).result()
    assert not shown and by_viewer == 0
    assert by_presenter == 1  # the same message from the presenter's session trains: the test can fail
    assert "Traceback" not in shared_server.output()
