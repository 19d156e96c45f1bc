"""Cached loaders keyed by strings (workspace folder, artifact id), never by big objects.

Artifacts never change once written (their id is a content hash), so these caches never go
stale; they are shared by every browser session and must be treated as read-only."""

from __future__ import annotations

import streamlit as st

from core.corpus import store
from core.device import DeviceInfo, device_info
from core.embeddings import store as vectors_store
from ui.state import workspace


@st.cache_resource(max_entries=4, show_spinner="Loading the corpus…")
def _documents(root: str, cid: str):
    return store.load_documents(workspace(), cid)


@st.cache_resource(max_entries=16, show_spinner=False)
def _stats(root: str, cid: str) -> dict:
    return store.load_stats(workspace(), cid)


def documents(cid: str):
    return _documents(str(workspace().root), cid)


def stats(cid: str) -> dict:
    return _stats(str(workspace().root), cid)


@st.cache_data(ttl=10, show_spinner=False)
def device() -> DeviceInfo:
    return device_info()


@st.cache_resource(max_entries=6, show_spinner="Loading the word vectors…")
def _vectors(root: str, vid: str):
    return vectors_store.load_vectors(workspace(), vid)


def vectors(vid: str):
    """A model's KeyedVectors, shared read-only by every session (never modify it in place)."""
    return _vectors(str(workspace().root), vid)


# Transformer outputs, keyed by the loaded model's key and the text: moving a slider or switching
# a tab reruns the page, and must not run a 30-layer forward pass again. ``_m`` is not hashed.
@st.cache_resource(max_entries=8, show_spinner="Running the model…")
def _attentions(model_key: str, text: str, _m):
    from core import attention
    from core.models import model_lock

    with model_lock(_m):
        return attention.attentions(_m.model, _m.tokenizer, text)


def attentions(m, text: str):
    """The model's attentions for ``text`` (an ``Attention``; shared, read-only)."""
    return _attentions(m.key, text, m)


@st.cache_resource(max_entries=8, show_spinner="Embedding the word in each sentence…")
def _contextual(model_key: str, sentences: tuple[str, ...], word: str, _m):
    from core import attention
    from core.models import model_lock

    with model_lock(_m):
        return attention.contextual_vectors(_m.model, _m.tokenizer, list(sentences), word)


def contextual_vectors(m, sentences: list[str], word: str):
    """(vectors (layers+1, n, hidden), sentences where the word was found); shared, read-only."""
    return _contextual(m.key, tuple(sentences), word, m)
