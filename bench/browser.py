"""What the browser benchmarks share: Chromium's path and flags, a fresh ``streamlit run app.py`` with its own
copy of a workspace, the seed workspaces, and waiting for a page to settle.

Not a benchmark itself: ``bench/ui.py`` (first renders, generation, Attention) and ``bench/jobs.py`` (every job
panel) import it.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts import streamlit_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 180_000
VIEWPORT = {"width": 1500, "height": 1000}


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium, headless, through Playwright; closed on exit."""
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def start_server(tmp: Path, seed: Path | None, warm_up: bool = True) -> streamlit_server.Server:
    """``streamlit run app.py`` on a free port with its own copy of a workspace; healthy on return."""
    home = tmp / "workspace"
    if seed is not None:
        shutil.copytree(seed, home)
    # As `make run`: the idle-time warm-up is part of what a user gets (unless told otherwise), and
    # Python keeps the project's compiled modules (a sandbox that sets PYTHONDONTWRITEBYTECODE would
    # make every fresh server compile them again, 0.3-0.7 s that no user's second start pays).
    env = {"HF_HUB_OFFLINE": "1", "CORPUS_LAB_WARMUP": None if warm_up else "0", "PYTHONDONTWRITEBYTECODE": None}
    return streamlit_server.start(home, tmp / "streamlit.log", env)


def seed_lee(root: Path) -> int:
    """A workspace with the Lee sample, active, its tokens (stopwords dropped) and a small CBOW model, active too;
    returns the model's words."""
    from core.corpus.store import ingest_sample
    from core.embeddings.config import EmbeddingConfig
    from core.embeddings.train import train_vectors
    from core.preprocess import PipelineConfig
    from core.tokens import build_tokens
    from core.workspace import Workspace

    ws = Workspace(root)
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig(stopwords="default"))
    vectors = train_vectors(ws, tokens.id, EmbeddingConfig(vector_size=32, epochs=5))
    ws.set_state("active_corpus", corpus.id)
    ws.set_state("active_tokens", tokens.id)
    ws.set_state("active_vectors", vectors.id)
    return int(vectors.metrics.get("words", 0))


def ended(page) -> None:
    """The script run has ended (checked only after something the run draws is visible)."""
    page.wait_for_function("""() => document.querySelector('[data-testid="stApp"]')
        ?.getAttribute('data-test-script-state') === 'notRunning'""", timeout=TIMEOUT_MS)


def settle(page) -> None:
    """The run has ended and no expander is still opening or closing (a click then lands where it is aimed)."""
    ended(page)
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stExpander"] details')]
        .every(d => d.getAnimations().length === 0 && !d.style.height)""", timeout=TIMEOUT_MS)
