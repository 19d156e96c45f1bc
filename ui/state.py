"""Session and workspace state: the workspace object and the active corpus."""

from __future__ import annotations

import os

import streamlit as st

from core.corpus.store import KIND as CORPUS
from core.workspace import ENV_HOME, Workspace


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
        st.session_state.corpus_id = ws.get_state("active_corpus")
    cid = st.session_state.corpus_id
    return cid if cid and ws.exists(CORPUS, cid) else None


def set_active_corpus(cid: str | None) -> None:
    st.session_state.corpus_id = cid
    workspace().set_state("active_corpus", cid)


def flash(kind: str, message: str) -> None:
    """Queue a message to show after the next rerun (st.rerun drops what was drawn)."""
    st.session_state.setdefault("flash", []).append((kind, message))


def show_flash() -> None:
    for kind, message in st.session_state.pop("flash", []):
        getattr(st, kind)(message)


def active_tokens_id() -> str | None:
    """The tokens artifact later pages train on: the last pipeline run (or viewed) here."""
    if "tokens_id" not in st.session_state:
        st.session_state.tokens_id = workspace().get_state("active_tokens")
    tid = st.session_state.tokens_id
    return tid if tid and workspace().exists("tokens", tid) else None


def set_active_tokens(tid: str) -> None:
    if st.session_state.get("tokens_id") != tid:
        st.session_state.tokens_id = tid
        workspace().set_state("active_tokens", tid)


def active_vectors_id() -> str | None:
    """The word-vector model later pages (the map) show: the last one trained, imported or picked."""
    if "vectors_id" not in st.session_state:
        st.session_state.vectors_id = workspace().get_state("active_vectors")
    vid = st.session_state.vectors_id
    return vid if vid and workspace().exists("vectors", vid) else None


def set_active_vectors(vid: str | None) -> None:
    if st.session_state.get("vectors_id") != vid:
        st.session_state.vectors_id = vid
        workspace().set_state("active_vectors", vid)
