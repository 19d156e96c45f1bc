"""Cached loaders keyed by strings (workspace folder, artifact id), never by big objects.

Artifacts never change once written (their id is a content hash), so these caches never go
stale; they are shared by every browser session and must be treated as read-only.

Every page imports this module through the sidebar, so it imports nothing heavy at the top:
gensim (~2 s) and torch (~3 s) load where a page needs them, not on every first render."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING

import streamlit as st

from core.corpus import store
from core.device import gpu_driver
from ui.state import workspace

if TYPE_CHECKING:
    from core.device import DeviceInfo


@st.cache_resource(max_entries=4, show_spinner="Loading the corpus…")
def _documents(root: str, cid: str):
    return store.load_documents(workspace(), cid)


@st.cache_resource(max_entries=16, show_spinner=False)
def _stats(root: str, cid: str) -> dict:
    return store.load_stats(workspace(), cid)


def documents(cid: str):
    return _documents(str(workspace().root), cid)


@st.cache_resource(max_entries=4, show_spinner="Loading the corpus index…")
def _index(root: str, aid: str):
    from core.analysis import load_index

    return load_index(workspace(), aid)


def corpus_index(aid: str):
    """The analysis index ``aid`` (a ``CorpusIndex``; shared, read-only)."""
    return _index(str(workspace().root), aid)


def stats(cid: str) -> dict:
    return _stats(str(workspace().root), cid)


@st.cache_data(ttl=10, show_spinner=False)
def device() -> DeviceInfo:
    from core.device import device_info

    return device_info()


def _describe_device() -> str:
    from core.device import device_info

    return device_info().describe()


def device_text() -> str:
    """The compute device in words, for the sidebar. Without a GPU driver there is nothing for
    torch to find, so a first render does not import it (~3 s) just to say "CPU"; with one, torch
    loads in the background and the full line shows from the next rerun on."""
    driver = gpu_driver()
    if driver is None:
        return device().describe() if "torch" in sys.modules else f"CPU · {os.cpu_count()} cores"
    future = background("device", _describe_device)  # torch's import, off the page
    return device().describe() if future.done() else f"{driver} · checking the device…"


_BACKGROUND: dict[str, Future] = {}
_BACKGROUND_LOCK = threading.Lock()


def background(name: str, load: Callable[[], object]) -> Future:
    """``load()`` run once per process in a daemon thread, started by the first caller; every later
    caller (any session) gets the same future. For slow, one-off loads a page can show without."""
    with _BACKGROUND_LOCK:
        future = _BACKGROUND.get(name)
        if future is None:
            future = _BACKGROUND[name] = Future()
            threading.Thread(target=_fill, args=(future, load), name=f"background-{name}", daemon=True).start()
    return future


def _fill(future: Future, load: Callable[[], object]) -> None:
    try:
        future.set_result(load())
    except BaseException as exc:  # the page that waits for it shows the error, as if it had loaded it itself
        future.set_exception(exc)


def when_warmed(name: str, message: str, poll: float = 0.5) -> bool:
    """True once the warm-up ``name`` of ``WARM_UPS`` is done. Until then a running status with
    ``message`` that reruns the page when it is, so the rest of the page never waits for it.

    A warm-up not yet started starts on this session's next run (the fragment's first tick), not in
    this one: its imports hold the GIL, and started mid-script they made the page they wait for render
    1-3 s later (Fine-tune: 6.1 s to its first render on a fresh server)."""
    future = _BACKGROUND.get(name)
    if future is not None and future.done():
        return True
    asked = f"warm_up_asked:{name}"

    @st.fragment(run_every=poll)
    def wait() -> None:
        if st.session_state.get(asked) and warmed(name).done():
            st.rerun()
        st.status(message, state="running")

    wait()
    st.session_state[asked] = True
    return False


# What later pages would load in front of the user, warmed while the server is idle, in steps of about
# a second (on 2 cores): a click that comes during a warm-up shares the CPU with one step, not with all.
def _imports(*modules: str) -> list[Callable[[], object]]:
    return [lambda m=m: importlib.import_module(m) for m in modules]


def _normalisers() -> None:
    from core.preprocess import compare_normalisers

    compare_normalisers(["cats"])  # WordNet (~1.5 s), for the Preprocess page


def _umap_import() -> None:
    from core.umap_jit import load_umap

    load_umap()  # umap-learn, pynndescent, numba and sklearn (~1.5-3 s)


def _umap() -> None:
    from core.projection import warm_up

    warm_up()  # numba's UMAP layout from its disk cache (~0.3 s), then ~10-15 s of NN-descent compile


# In the order a new user meets them: Embeddings and Map show nothing until gensim (with scipy, ~2 s) is in.
WARM_UPS: dict[str, list[Callable[[], object]]] = {
    "gensim": _imports("scipy.sparse", "scipy.linalg", "scipy.special", "scipy.stats", "gensim.utils",
                       "gensim.matutils", "gensim.models"),
    "normalisers": [*_imports("nltk"), _normalisers],
    "umap": [_umap_import, _umap],
    # The Classify page's split and scorecard: scikit-learn's model selection and metrics (~1.6 s cold).
    "classify": _imports("sklearn.model_selection", "sklearn.metrics", "sklearn.linear_model",
                         "sklearn.feature_extraction.text"),
    # The transformer pages: torch (~2 s) and transformers with the Llama and BERT code (~7 s) made the
    # Fine-tune page's first estimate take ~10 s; imported here, it takes about one.
    "transformers": _imports("torch", "transformers", "transformers.models.llama.modeling_llama",
                             "transformers.models.bert.modeling_bert", "peft"),
}


def warmed(name: str) -> Future:
    """The warm-up ``name`` of ``WARM_UPS``, started now if the idle server has not done it yet."""
    return background(name, lambda: [step() for step in WARM_UPS[name]])


class Activity:
    """Whether a page is being drawn (by any session), and for how long none has been."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._since = time.monotonic()

    @contextmanager
    def script_run(self):
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._since = time.monotonic()

    def idle_for(self) -> float:
        with self._lock:
            return 0.0 if self._running else time.monotonic() - self._since


ACTIVITY = Activity()


def _page_waits() -> bool:
    """Whether a load a page asked for (``background``) is still running: a page is waiting on it, and
    a warm-up next to it would slow it (the Fine-tune estimate, 10 s → 15 s with UMAP compiling beside)."""
    with _BACKGROUND_LOCK:
        return any(not future.done() for future in _BACKGROUND.values())


def warm_up_when_idle(idle: float = 5.0, poll: float = 0.25) -> None:
    """Run the steps of ``WARM_UPS`` in a background thread, each once no page has been drawn for
    ``idle`` seconds, no job runs and no page waits for a load of its own. On 2 cores, UMAP's
    compile next to a first render made that render 2-3x slower, and a warm-up that starts just
    before a click slows what the click does (seen with 2 s and whole warm-ups: a sample's
    statistics 1.5 → 3.3 s): the user's pages and jobs come first, the warm-ups fill the pauses of
    someone reading a page."""

    def run() -> None:
        from core.jobs import REGISTRY

        for name, steps in WARM_UPS.items():
            if name in _BACKGROUND:  # a page asked for it already: it is being done
                continue
            for step in steps:
                while ACTIVITY.idle_for() < idle or REGISTRY.active() or _page_waits():
                    time.sleep(poll)
                with contextlib.suppress(Exception):  # a failed warm-up leaves the page to load and report it
                    step()
            warmed(name)  # every step done: marks it ready at once for the pages that ask

    threading.Thread(target=run, name="warm-up", daemon=True).start()


@st.cache_resource(max_entries=6, show_spinner="Loading the word vectors…")
def _vectors(root: str, vid: str):
    from core.embeddings import store as vectors_store

    return vectors_store.load_vectors(workspace(), vid)


def vectors(vid: str):
    """A model's KeyedVectors, shared read-only by every session (never modify it in place)."""
    return _vectors(str(workspace().root), vid)


@st.cache_resource(max_entries=12, show_spinner=False)
def _vocabulary(root: str, vid: str):
    from core.embeddings import store as vectors_store

    return vectors_store.vocabulary(workspace(), vid)


def vocabulary(vid: str):
    """A model's words only (no gensim, no vectors read): for forms that offer words to choose."""
    return _vocabulary(str(workspace().root), vid)


# Transformer outputs, keyed by the loaded model's key and the text: moving a slider or switching
# a tab reruns the page, and must not run a 30-layer forward pass again. ``_m`` is not hashed.
@st.cache_resource(max_entries=8, show_spinner="Running the model…")
def _attentions(model_key: str, text: str, _m):
    from core import attention
    from core.models import model_lock
    from core.scheduler import SCHEDULER

    with SCHEDULER.interactive(), model_lock(_m):  # someone waits on the screen: heavy jobs pause
        return attention.attentions(_m.model, _m.tokenizer, text)


def attentions(m, text: str):
    """The model's attentions for ``text`` (an ``Attention``; shared, read-only)."""
    return _attentions(m.key, text, m)


@st.cache_resource(max_entries=8, show_spinner="Reading the text for the next-token guesses…")
def _next_tokens(model_key: str, text: str, _m) -> dict:
    from core import attention
    from core.models import model_lock
    from core.scheduler import SCHEDULER

    with SCHEDULER.interactive(), model_lock(_m):
        return attention.next_tokens(_m.model, _m.tokenizer, text, k=5)


def next_tokens(m, text: str) -> dict:
    """The model's five likeliest next tokens after each position of ``text``; shared, read-only."""
    return _next_tokens(m.key, text, m)


@st.cache_resource(max_entries=8, show_spinner="Embedding the word in each sentence…")
def _contextual(model_key: str, sentences: tuple[str, ...], word: str, _m):
    from core import attention
    from core.models import model_lock
    from core.scheduler import SCHEDULER

    with SCHEDULER.interactive(), model_lock(_m):
        return attention.contextual_vectors(_m.model, _m.tokenizer, list(sentences), word)


def contextual_vectors(m, sentences: list[str], word: str):
    """(vectors (layers+1, n, hidden), sentences where the word was found); shared, read-only."""
    return _contextual(m.key, tuple(sentences), word, m)
