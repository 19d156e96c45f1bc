"""The quality verdict of a vectors artifact, in one coloured line, with its fix as a button."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.embeddings.config import EmbeddingConfig
from core.embeddings.store import KIND, quality_of
from core.jobs import REGISTRY
from core.workspace import Manifest
from ui.access import is_presenter, presenter_only
from ui.embedding_form import apply_config
from ui.jobs import session_id
from ui.state import workspace

JOB_KEY = "emb_job"  # the Embeddings page's training job: its panel shows the retraining
SHOW = {"good": st.success, "weak": st.warning, "collapsed": st.error}
ICON = {"good": ":material/check_circle:", "weak": ":material/warning:", "collapsed": ":material/error:"}


def quality(manifest: Manifest) -> dict:
    return _quality(str(workspace().root), manifest.id, manifest.created)


@st.cache_data(show_spinner=False, max_entries=64)
def _quality(root: str, vid: str, created: float) -> dict:
    ws = workspace()
    return quality_of(ws, ws.manifest(KIND, vid))


def label(q: dict) -> str:
    return q["verdict"]  # a plain word: emoji glyphs are missing from many fonts (a box in headless Chromium)


def _retrain(manifest: Manifest, epochs: int) -> None:
    """Start the same training with more epochs, and put the form on those settings."""
    config = replace(EmbeddingConfig.from_dict(manifest.config), epochs=epochs)
    apply_config(config)
    ws, tokens_id = workspace(), manifest.parents[0]
    if not is_presenter():
        return  # a callback: refused quietly, the button is not drawn for viewers anyway
    from core.embeddings.train import train_vectors  # gensim (~1.3 s cold): when a training starts, not on a render

    job = REGISTRY.submit(f"Training {config.label()}", lambda ctx: train_vectors(ws, tokens_id, config, ctx=ctx),
                          kind="vectors", owner=session_id())
    st.session_state[JOB_KEY] = job.id
    st.session_state["emb_tabs"] = "Train"  # where the job's progress is drawn


def show(manifest: Manifest, *, key: str, go_to_embeddings: bool = False) -> dict:
    """The verdict of ``manifest``'s vectors and, when more training would help, the button that does it."""
    q = quality(manifest)
    SHOW[q["verdict"]](f"**{q['verdict'].capitalize()} vectors.** {q['reason']}", icon=ICON[q["verdict"]])
    if q.get("note"):
        st.caption(q["note"])
    fix = q.get("fix_epochs")
    trained = bool(manifest.parents)
    if fix and trained and JOB_KEY not in st.session_state and presenter_only("train"):
        clicked = st.button(f"Train again with {fix} epochs", key=f"{key}_fix", type="primary",
                            on_click=_retrain, args=(manifest, fix))
        if clicked and go_to_embeddings:
            st.switch_page("views/embeddings.py")
    elif fix and not trained:
        st.caption("These vectors were imported, so they cannot be retrained here: train a model on your corpus instead.")
    return q

