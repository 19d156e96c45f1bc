"""Permalinks: a page's main state in its URL, so a link opens the same view.

The active corpus, tokens and vectors are in every page's URL already (``ui.state.sync_url``); a page
adds its own widgets with ``bind``: a new session opened from a link starts with the link's values,
and every run writes the current values back (a page switch clears the query string, so each page
writes its own). ``copy_link`` shows the link with a copy button.

    bind(map_search=str, map_colour=str)     # at the top of the page, before its widgets
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

import streamlit as st

from ui.safe import md

_RESTORED = "_permalink_restored"
MAX_CHARS = 2_000  # a URL is no place for a whole document; longer text is left out of the link


def _parse(raw: str, kind: type):
    if kind is bool:
        return raw.lower() in {"1", "true", "yes", "on"}
    value = kind(raw)
    if kind is float and not math.isfinite(value):
        raise ValueError(raw)
    return value


def bind(**keys: type) -> None:
    """Restore ``keys`` from the URL once per session (first run of the page that has them), then write
    their current values into it on every run. A value the widget cannot take is dropped with a note."""
    restored = st.session_state.setdefault(_RESTORED, set())
    for key, kind in keys.items():
        raw = st.query_params.get(key)
        if key not in restored:
            restored.add(key)
            if raw is not None and key not in st.session_state:
                try:
                    st.session_state[key] = _parse(raw, kind)
                except ValueError:
                    st.toast(md(f"The link's {key} ('{raw[:40]}') is not a valid value; the page's default is used."),
                             icon=":material/link_off:")
        value = st.session_state.get(key)
        if value is None or (isinstance(value, str) and len(value) > MAX_CHARS):
            if key in st.query_params:
                del st.query_params[key]
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def clamp(key: str, lo: int | float, hi: int | float) -> None:
    """Keep a linked number inside the range its widget has now (a link made for a bigger model)."""
    value = st.session_state.get(key)
    if isinstance(value, int | float) and not lo <= value <= hi:
        st.session_state[key] = min(max(value, lo), hi)


def link() -> str:
    base = (st.context.url or "").split("?")[0]
    query = urlencode(st.query_params.to_dict())
    return f"{base}?{query}" if query else base


def valid_choice(key: str, options, what: str) -> None:
    """Drop a linked choice the page cannot offer here (a model or colour this workspace lacks), and say so."""
    value = st.session_state.get(key)
    if value is not None and value not in options:
        del st.session_state[key]
        st.toast(md(f"The link names a {what} that is not available here ('{str(value)[:60]}'); the page's default "
                    "is shown instead."), icon=":material/link_off:")


def copy_link() -> None:
    """The page's current link, with Streamlit's copy button; ``&embed=true`` drops the app's toolbar."""
    with st.popover("Copy link", icon=":material/link:"):
        st.caption("Opens this view on this workspace: the corpus, the models and the page's settings.")
        st.code(link(), language=None, wrap_lines=True)
        st.caption("For a presentation, add `&embed=true`: the page without the app's toolbar, naming its corpus "
                   "and models at the top.")
