"""Pick a transformer from the registry and get it loaded (as a job the first time)."""

from __future__ import annotations

import streamlit as st

from core import models
from core.errors import UserError
from core.jobs import DONE
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.permalink import valid_choice
from ui.safe import md
from ui.state import workspace


def model_picker(key: str, *, kinds: tuple[str, ...] = ("causal", "encoder"), attentions: bool = False):
    """A model select box; returns the LoadedModel once it is in memory, else None (with a Load button)."""
    ws = workspace()
    specs = {s.id: s for s in models.registry(ws) if s.kind in kinds}
    valid_choice(f"{key}_model", specs, "model")
    model_id = st.selectbox("Model", list(specs), key=f"{key}_model",
                            format_func=lambda i: f"{specs[i].label} · {specs[i].kind} · {specs[i].source}")
    spec = specs[model_id]
    st.caption(md(spec.description))
    device = models.default_device()
    dtype = models.default_dtype(device, spec.kind)
    # One load job per model: a load that finished for one model is never handed back for another.
    state = f"{key}_load_job:{spec.id}"
    cached = models.cached(spec.id, device, dtype, attentions)
    if cached is not None:
        st.session_state.pop(state, None)  # its load is done; a stale job must not return an evicted copy later
        return cached
    job = finished_job(state)
    if job is not None and job.status == DONE:
        return job.result
    if job is not None:
        st.error(md(job.error or "Loading was cancelled."))
    if state not in st.session_state:
        try:
            size = models.estimate_bytes(spec, dtype) / 2**20
        except UserError as exc:
            st.error(md(exc))
            return None
        if presenter_only("load") and st.button(f"Load {md(spec.label)} (~{size:,.0f} MB)", type="primary",
                                                key=f"{key}_load"):
            start_job(state, f"Loading {spec.label}",
                      lambda ctx: models.load(spec.id, ws=ws, attentions=attentions, ctx=ctx), kind="model",
                      key=f"load-{spec.id}-{attentions}")
    return None
