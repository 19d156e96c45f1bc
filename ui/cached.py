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
