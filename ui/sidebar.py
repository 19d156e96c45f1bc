"""The sidebar every page shares: active corpus, workspace folder, device, running jobs."""

from __future__ import annotations

import sys

import streamlit as st

from core.corpus.store import KIND as CORPUS
from ui import cached, preload
from ui.access import badge, is_presenter
from ui.jobs import active_jobs_summary
from ui.safe import md
from ui.state import active_corpus_id, active_tokens_id, active_vectors_id, set_active_corpus, sync_url, workspace


def embedded_context() -> None:
    """In a presentation (``?embed=true``) the sidebar is out of sight: say what the page is about above it."""
    ws, parts = workspace(), []
    for what, kind, aid in (("Corpus", CORPUS, active_corpus_id()), ("Tokens", "tokens", active_tokens_id()),
                            ("Vectors", "vectors", active_vectors_id())):
        if aid and ws.exists(kind, aid):
            parts.append(f"{what}: {ws.manifest(kind, aid).name}")
    if parts:
        st.caption(md(" · ".join(parts)))


def render():
    """The shared sidebar; returns an empty slot under it for the page's link (filled after the page ran,
    when the page's own settings are in the URL too)."""
    ws = workspace()
    with st.sidebar:
        badge()
        corpora = {m.id: m for m in ws.list(CORPUS)}
        active = active_corpus_id()
        if corpora:
            ids = list(corpora)
            st.session_state["sidebar_corpus"] = active if active in corpora else None
            st.selectbox(
                "Active corpus",
                ids,
                key="sidebar_corpus",
                placeholder="Choose a corpus",
                format_func=lambda i: f"{corpora[i].name} · {corpora[i].metrics.get('documents', 0):,} docs",
                on_change=lambda: set_active_corpus(st.session_state["sidebar_corpus"]),
            )
        else:
            st.caption("No corpus yet. Bring one in on the Corpus page.")
        tokens = active_tokens_id()
        if tokens:
            m = ws.manifest("tokens", tokens)
            st.caption(md(f"Tokens: {m.metrics.get('tokens_after', 0):,} after preprocessing ({tokens[:8]})"))
        vectors = active_vectors_id()
        if vectors:
            m = ws.manifest("vectors", vectors)
            st.caption(md(f"Vectors: {m.name} · {m.metrics.get('words', 0):,} words"))
        models = [m for m in ws.list("topics") if active in m.parents] if active else []
        if models:  # the one chosen on the Topics page, else the newest
            chosen = next((m for m in models if m.id == st.session_state.get("tp_model")),
                          max(models, key=lambda m: m.created))
            st.caption("Topics: " + md(chosen.name) + (f" (+{len(models) - 1} more)" if len(models) > 1 else ""))
        if is_presenter():  # where the files are on disk is the machine owner's business
            st.caption("Workspace")
            st.text(str(ws.root))
        st.caption("Compute device")
        st.text(cached.device_text())
        loaded_models()
        st.caption("Jobs")
        active_jobs_summary()
        preload.charts_in_the_background()
        slot = st.empty()
    sync_url()
    return slot


def loaded_models() -> None:
    """The server's memory, and the transformers in it (shared by every session), each with an Unload button."""
    from core.device import resident_bytes

    st.caption(f"Server memory: {resident_bytes() / 2**20:,.0f} MB resident")
    if "core.models" not in sys.modules:
        return  # nothing can be loaded before a page imported it; importing it here would import torch (~3 s)
    from core import models

    entries = models.loaded()
    if not entries:
        return
    mem = models.memory()
    st.caption(f"Models in memory: {mem['used_bytes'] / 2**20:,.0f} of {mem['budget_bytes'] / 2**20:,.0f} MB")
    for entry in entries:
        left, right = st.columns([4, 1], vertical_alignment="center")
        # two copies of one model differ by attention: eager returns the weights the Attention page draws
        variant = "eager attention" if entry["attention"] == "eager" else "fast attention"
        left.text(f"{entry['name']} · {entry['dtype']} · {variant} · {entry['mb']:,.0f} MB")
        if is_presenter():  # memory is the whole server's: viewers see it, the presenter manages it
            right.button(":material/eject:", key=f"unload-{entry['key']}", help=f"Unload {entry['name']}",
                         on_click=models.unload, args=(entry["key"],))
