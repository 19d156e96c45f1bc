"""The job panel: progress, live metrics and Cancel for a background job, polled by a fragment."""

from __future__ import annotations

import streamlit as st

from core.jobs import FINISHED, QUEUED, REGISTRY, Job
from ui.safe import md

POLL_SECONDS = 0.5

# What another session's job is called in this session's sidebar: that it exists, not what it reads.
KIND_NAMES = {"vectors": "Training vectors", "map": "Drawing a map", "tokens": "Preprocessing", "finetune": "Fine-tuning",
              "demo": "The tour", "generate": "Generating text", "perplexity": "Perplexity", "ingest": "Loading a corpus",
              "model": "Loading a model"}


def session_id() -> str | None:
    """This browser session's id (a job's owner), None outside a Streamlit run."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def job_name(job: Job, me: str | None) -> str:
    if job.owner is None or job.owner == me:
        return job.title
    return f"{KIND_NAMES.get(job.kind, 'A job')} (another session)"


def _about(seconds: float) -> str:
    if seconds < 5:
        return "a few seconds"
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


def queue_text(job: Job) -> str:
    """Where a waiting heavy job stands: its place, what runs now, and a guess at the wait."""
    place = REGISTRY.place(job)
    if place is None:
        return "Starting…"
    me = session_id()
    running = REGISTRY.ahead(job)
    now = ", ".join(job_name(j, me) for j in running) or "another job"
    left = [j.seconds_left() for j in running]
    guess = f" ({_about(max(left))} left)" if left and None not in left else ""
    behind = "next in line" if place == 1 else f"{place} in line"
    return (f"Waiting for its turn, {behind}: heavy jobs run one at a time on this machine so each finishes "
            f"sooner. Running now: {now}{guess}.")


def job_panel(job: Job) -> None:
    """Show a running job; when it ends, rerun the whole app so the page can use the result."""

    @st.fragment(run_every=POLL_SECONDS)
    def panel() -> None:
        current = REGISTRY.get(job.id)
        if current is None or current.is_finished:
            st.rerun()
        if current.status == QUEUED and current.heavy:
            st.progress(0.0, text=md(queue_text(current)))
        else:
            st.progress(current.progress, text=md(current.message or current.title))
        if current.metrics:
            import pandas as pd  # here, not at the top: the sidebar imports this module on every first render

            # A copy first: the worker appends while pandas reads the list twice (once for the columns).
            data = pd.DataFrame(list(current.metrics))
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
    """Every session's jobs, queued and running, then the last few finished; refreshes itself while
    anything runs. Another session's job shows only its kind."""

    @st.fragment(run_every=2 if REGISTRY.active() else None)
    def summary() -> None:
        me = session_id()
        jobs = REGISTRY.all()
        active = sorted((j for j in jobs if j.status not in FINISHED), key=lambda j: j.created)
        if not active:
            st.caption("No jobs running.")
        for job in active:
            place = REGISTRY.place(job)
            state = f"waiting, {place} in line" if place else ("running" if job.status != QUEUED else "starting")
            st.progress(job.progress, text=md(f"{job_name(job, me)} · {state}"))
        done = [j for j in jobs if j.status in FINISHED][:3]
        if done:
            st.caption(md(" · ".join(f"{job_name(j, me)}: {j.status}" for j in done)))

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
    job = REGISTRY.submit(title, work, kind=kind, key=key, owner=session_id())
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
