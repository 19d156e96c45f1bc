"""The job panel: progress, live metrics and Cancel for a background job, polled by a fragment."""

from __future__ import annotations

import streamlit as st

from core.jobs import REGISTRY, Job
from ui.safe import md

POLL_SECONDS = 0.5


def job_panel(job: Job) -> None:
    """Show a running job; when it ends, rerun the whole app so the page can use the result."""

    @st.fragment(run_every=POLL_SECONDS)
    def panel() -> None:
        current = REGISTRY.get(job.id)
        if current is None or current.is_finished:
            st.rerun()
        st.progress(current.progress, text=md(current.message or current.title))
        if current.metrics:
            import pandas as pd  # here, not at the top: the sidebar imports this module on every first render

            data = pd.DataFrame(current.metrics)
            # A step column ("epoch", "step") is the x axis, not one more line next to the loss;
            # other rates (tokens/s) would squash the loss lines, so only losses are drawn when there are some.
            index = next((c for c in ("epoch", "step") if c in data), None)
            data = data.set_index(index) if index else data
            losses = [c for c in data.columns if "loss" in c or c == "cost"]
            st.line_chart(data[losses] if losses else data)
        st.button("Cancel", key=f"cancel-{current.id}", on_click=current.cancel,
                  disabled=current.cancel_requested)

    panel()


def active_jobs_summary() -> None:
    """A compact list for the sidebar; refreshes itself while anything runs."""

    @st.fragment(run_every=2 if REGISTRY.active() else None)
    def summary() -> None:
        active = REGISTRY.active()
        if not active:
            st.caption("No jobs running.")
        for job in active:
            st.progress(job.progress, text=md(job.title))

    summary()


# How long a click waits, under a spinner, for its job before the page shows the job's panel. The wait
# ends the moment the job does: a job this quick (a bundled sample, a small pipeline) shows its result
# in the same click, without a progress bar flashing by; a longer one shows its progress bar and Cancel
# after a second, not after a fixed few seconds of an unchanged page.
QUICK_SECONDS = 1.0


def start_job(state_key: str, title: str, work, *, kind: str, key: str | None = None,
              wait: float = QUICK_SECONDS) -> None:
    """Submit ``work`` as a job owned by this session under ``state_key``, wait at most ``wait``
    seconds under a spinner, then rerun: the page shows the result, or the job's panel."""
    job = REGISTRY.submit(title, work, kind=kind, key=key)
    st.session_state[state_key] = job.id
    if wait > 0:
        with st.spinner(md(f"{title}…")):
            job.wait(wait)
    st.rerun()


def running(state_key: str) -> bool:
    """Whether this session's job under ``state_key`` is still going (to disable its start button)."""
    job = REGISTRY.get(st.session_state.get(state_key))
    return job is not None and not job.is_finished


def finished_job(state_key: str, panel=job_panel) -> Job | None:
    """This session's job under ``state_key``: ``panel(job)`` while it runs, handed back once when done."""
    job_id = st.session_state.get(state_key)
    job = REGISTRY.get(job_id)
    if job is None:
        if job_id is not None:  # the registry keeps the last 50 finished jobs; this one was dropped
            del st.session_state[state_key]
            st.info("The job started here finished a while ago and its record has expired: anything it saved is "
                    "in the workspace and shown on this page; run it again for its messages.",
                    icon=":material/history:")
        return None
    if not job.is_finished:
        panel(job)
        return None
    del st.session_state[state_key]
    return job
