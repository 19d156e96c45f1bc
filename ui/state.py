"""Session and workspace state: the workspace object and what this session works on.

The active corpus, tokens and vectors are the *session's* choice, kept in the page URL too. The
workspace keeps the last
choice anyone made on purpose (a click, a finished run) only as the starting point of a new
session; drawing a page never writes it. Tokens and vectors count only when they come from the
active corpus (imported vectors, which come from none, always count): switching the corpus never
leaves another corpus's artifacts in play.
"""

from __future__ import annotations

import os

import streamlit as st

from core.corpus.store import KIND as CORPUS
from core.errors import UserError
from core.workspace import ENV_HOME, Workspace
from ui.safe import md


@st.cache_resource(show_spinner=False)
def _workspace(root: str) -> Workspace:
    return Workspace(root)


def workspace() -> Workspace:
    # Keyed by the folder so tests (and users) that point CORPUS_LAB_HOME elsewhere get their own.
    return _workspace(os.environ.get(ENV_HOME) or "workspace")


def active_corpus_id() -> str | None:
    """This session's corpus; a new session (a reload, a new tab) starts from the last one used."""
    ws = workspace()
    if "corpus_id" not in st.session_state:
        st.session_state.corpus_id = _start("corpus", "active_corpus")
    cid = st.session_state.corpus_id
    return cid if cid and ws.exists(CORPUS, cid) else None


def _remember(key: str, value) -> None:
    """The workspace's starting point for new sessions: set by the presenter, never by a viewer."""
    from ui.access import is_presenter

    if is_presenter():
        workspace().set_state(key, value)


def corpus_or_stop() -> str:
    """The active corpus; without one, a pointer to the Corpus page and the page stops there."""
    cid = active_corpus_id()
    if cid is None:
        st.info("Bring a corpus in first.")
        st.page_link("views/corpus.py", label="Go to the Corpus page", icon=":material/arrow_forward:")
        st.stop()
    return cid


def set_active_corpus(cid: str | None) -> None:
    st.session_state.corpus_id = cid
    _remember("active_corpus", cid)


# The session's choices also live in the page URL (?corpus=…&tokens=…&vectors=…): a reload, a bookmark
# or a link copied to another tab opens on the same corpus and models, not on the workspace's last choice.
URL_PARAMS = ("corpus", "tokens", "vectors")


_KINDS = {"corpus": CORPUS, "tokens": "tokens", "vectors": "vectors"}


def _start(param: str, state_key: str) -> str | None:
    """Where a new session starts: the URL's choice if it has one, else the workspace's last one."""
    linked = st.query_params.get(param)
    try:
        known = bool(linked) and workspace().exists(_KINDS[param], linked)
    except UserError:  # not even a valid id (a link cut off by a mail client after a '.' or ')')
        known = False
    if linked and not known:
        st.toast(md(f"The link names {param} '{linked[:40]}', which is not in this workspace (deleted, or made on "
                    "another machine: a session bundle brings it over). Showing the workspace's last choice."),
                 icon=":material/link_off:")
        linked = None
    return linked or workspace().get_state(state_key)


def sync_url() -> None:
    """Write this session's corpus, tokens and vectors into the URL (each run: a page switch clears it)."""
    current = {"corpus": active_corpus_id(), "tokens": active_tokens_id(), "vectors": active_vectors_id()}
    for param, value in current.items():
        if value and st.query_params.get(param) != value:
            st.query_params[param] = value
        elif not value and param in st.query_params:
            del st.query_params[param]


def flash(kind: str, message: str) -> None:
    """Queue a message to show after the next rerun (st.rerun drops what was drawn)."""
    st.session_state.setdefault("flash", []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop("flash", []):
        getattr(st, kind)(message)


def active_tokens_id() -> str | None:
    """The tokens later pages train on: this session's choice if it comes from the active corpus,
    else the newest run of a pipeline on that corpus, else None (the pages offer the Preprocess step)."""
    ws, cid = workspace(), active_corpus_id()
    if cid is None:
        return None
    if "tokens_id" not in st.session_state:
        st.session_state.tokens_id = _start("tokens", "active_tokens")
    of_corpus = [m for m in ws.list("tokens") if cid in m.parents]
    tid = st.session_state.tokens_id
    if any(m.id == tid for m in of_corpus):
        return tid
    return max(of_corpus, key=lambda m: m.created).id if of_corpus else None


def set_active_tokens(tid: str) -> None:
    if st.session_state.get("tokens_id") != tid:
        st.session_state.tokens_id = tid
        _remember("active_tokens", tid)


def active_vectors_id() -> str | None:
    """The word-vector model later pages (the map) show: this session's choice if trained on the
    active corpus or imported, else the newest model trained on that corpus, else None."""
    from core.embeddings.catalog import models_of_corpus  # not store: gensim is ~1.3 s on a first render

    if "vectors_id" not in st.session_state:
        st.session_state.vectors_id = _start("vectors", "active_vectors")
    models = models_of_corpus(workspace(), active_corpus_id())
    vid = st.session_state.vectors_id
    if any(m.id == vid for m in models):
        return vid
    trained = [m for m in models if m.parents]
    return max(trained, key=lambda m: m.created).id if trained else None


def set_active_vectors(vid: str | None) -> None:
    if st.session_state.get("vectors_id") != vid:
        st.session_state.vectors_id = vid
        _remember("active_vectors", vid)


def keep_values(*keys: str) -> None:
    """Keep what the user set in widgets that a run does not draw (a closed tab's body is skipped).

    Streamlit forgets a widget's value when a run does not draw it; assigning the value back at the
    top of the script is its documented way to keep it, so a slider moved on one tab is still where
    the user left it after a visit to another tab."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
