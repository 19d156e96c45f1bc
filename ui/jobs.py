"""The job panel: progress, live metrics and Cancel for a background job, followed by a fragment."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from core.jobs import FINISHED, QUEUED, REGISTRY, Job
from ui.safe import md

# Live panels. A fragment that reran every 0.25-0.5 s to redraw its panel cost the job a third to
# three quarters of its speed on 2 cores (Word2Vec with the panel open 0.69 of its speed alone;
# SmolLM2 streaming 0.26): Chromium re-rendering on every rerun took a core's share next to the job.
# Now one fragment run draws the panel and then stays, sending only what changed into its slots
# (bench/ui.py: Word2Vec with its panel open 0.69 → 0.79 of its speed alone).
# What the browser still spends beside a 40-epoch Word2Vec job (~16 s; bench/RESULTS.md): with the bar
# every 0.2 s and the loss chart and the sidebar every 2 s, 2.7-2.9 s of the page's main thread (1.6-1.9 s
# of script; a Vega redraw ~0.13 s, a Plotly one more); with the intervals below 2.0-2.3 s (1.2-1.3 s),
# the renderer's CPU 12 % less.


@dataclass(frozen=True)
class Pace:
    """How closely a live panel follows its job."""

    every: float  # the most often a changed panel is sent (one small message into a slot, not a redraw)
    tick: float  # how soon a click (Cancel, Stop, another page) is honoured while nothing new arrives
    restart: float  # the fragment's timer: starts the first following run after the page's own, and the next ones
    segment: float  # a fragment run follows the job at most this long, then the next one takes over


# The fragment's timer is the browser's: every `restart` seconds it sends a rerun request carrying every
# widget's state (~1.4 KB on Fine-tune), whether or not a following run is going (a request that comes
# during one waits for it to end, so each next run starts at once). At 0.25 s that was 141 requests and
# 200 KB from the page in a 33-s fine-tune, each handled by the server's event loop; each next run also
# redraws the panel (the loss chart's Vega view included). Measured during that fine-tune in Chromium:
# with the job panel's pace below instead of the streaming one, the page's renderer spent 0.8-1.4 s of
# CPU instead of 2.2-2.5 s, and its main thread's tasks 0.7-1.1 s instead of 1.4-2.5 s (bench/RESULTS.md).
# Streamed text keeps the quick pace: it is what is being watched, and its first words should not wait.
STREAM = Pace(every=0.2, tick=0.05, restart=0.25, segment=10.0)
# The timer at 0.5 s, not slower: it also decides how soon a job that ends in a second or two shows its result,
# and 1 s saved nothing more (the renderer's CPU 0.8-1.4 s at either, over the same fine-tune).
PANEL = Pace(every=0.5, tick=0.25, restart=0.5, segment=30.0)  # a progress bar the eye follows less closely
CHART_SECONDS = 5.0  # the live loss chart is redrawn at most this often (a Vega redraw is the costly part)
CHART_AFTER_SECONDS = 5.0  # a job shorter than this shows no live chart: its curve comes with its result
# The sidebar's list of running jobs refreshes this often; while a panel on the page follows its job, the
# list's timer waits for the following runs to end, like the panel's (seen once in a 33-s fine-tune).
SUMMARY_SECONDS = 5.0
# A bar that moves every PANEL.every seconds jumps to its new length: Streamlit's bar slides there, a transition
# that kept the browser drawing frames nearly all the time (over a 40-epoch job: Chromium's renderer
# 2.1-2.4 -> 1.5-1.7 s of CPU, its compositing 0.5 -> 0.1 s, with the transition off). Style only: the
# element takes no room on the page.
STEPPED_BARS = '<style>[data-testid="stProgress"] * { transition: none !important; }</style>'

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


def follow(job: Job, draw: Callable[[Job], object], *, seconds: float, state: Callable[[Job], object],
           every: float = STREAM.every, tick: float = STREAM.tick, touch: Callable[[], object] | None = None) -> bool:
    """Call ``draw(job)`` whenever ``state(job)`` changed, at most every ``every`` seconds and once more
    when the job ends; ``touch()`` every ``tick``. Gives up after ``seconds``. True when the job ended."""
    touch = touch or _touch
    shown, last = object(), float("-inf")  # the first tick draws: the job may have moved on since the caller drew
    end = time.monotonic() + seconds
    while True:
        finished = job.wait(tick)  # sleeps without the GIL; wakes at once when the job ends
        touch()
        now = time.monotonic()
        current = state(job)
        if current != shown and (finished or now - last >= every):
            draw(job)
            shown, last = current, now
        if finished:
            return True
        if now >= end:
            return False


def _touch() -> None:
    # Reading session state is where Streamlit honours a pending rerun (Cancel, a widget, another
    # page) without sending anything: the loop stops within a tick of a click.
    _ = "job_panel_touch" in st.session_state


def live(job: Job, body: Callable[[Job], Callable[[Job], object]], state: Callable[[Job], object],
         pace: Pace = STREAM, controls: Callable[[Job], object] | None = None) -> None:
    """A running job's panel: ``body(job)`` draws it once and returns ``draw(job)``, which updates only
    what changed (at most every ``pace.every`` seconds); a fragment run then stays, calling ``draw`` as the
    job moves. When the job ends the whole page reruns, so it can use the result.

    ``controls(job)`` (Cancel, Stop) is drawn below, outside the fragment: Streamlit does not stop a
    running fragment for a click on a widget inside it, so such a click waited for the fragment's run to
    end (up to ``pace.segment``), and a job that ended sooner was never cancelled (seen on a map's
    UMAP layout). A click outside reruns the app, which stops the fragment's run at its next tick."""
    # The page's own run draws the panel and ends, so the rest of the page shows (and AppTest's run
    # returns); the fragment's timer then starts a following run, and the next one after it.
    following = {"on": False}

    @st.fragment(run_every=pace.restart)
    def panel() -> None:
        current = REGISTRY.get(job.id)
        if current is None or current.is_finished:
            st.rerun()
        draw = body(current)
        if following["on"] and follow(current, draw, state=state, seconds=pace.segment, every=pace.every,
                                        tick=pace.tick):
            st.rerun()

    panel()
    following["on"] = True
    if controls is not None:
        controls(job)


class _Panel:
    """Progress bar and live loss chart; ``draw`` sends only what changed."""

    def __init__(self, job: Job):
        st.html(STEPPED_BARS)
        self.bar, self.chart = st.empty(), st.empty()
        self.shown_bar, self.shown_rows, self.chart_at = None, 0, float("-inf")
        self.draw(job)

    def draw(self, job: Job) -> None:
        queued = job.status == QUEUED and job.heavy
        bar = (0.0, queue_text(job)) if queued else (round(job.progress, 3), job.message or job.title)
        if job.cancel_requested and not job.is_finished:  # said at once: the job stops at its next checkpoint
            bar = (bar[0], f"Cancelling… {bar[1]}")
        if bar != self.shown_bar:
            self.bar.progress(bar[0], text=md(bar[1]))
            self.shown_bar = bar
        rows = list(job.metrics)  # a copy: the worker appends while it is read
        now = time.monotonic()
        ran = time.time() - job.started if job.started else 0.0
        if (len(rows) != self.shown_rows and len(rows) > 1 and ran >= CHART_AFTER_SECONDS
                and (now - self.chart_at >= CHART_SECONDS or job.is_finished)):
            self.chart.altair_chart(loss_chart(rows), width="stretch")
            self.shown_rows, self.chart_at = len(rows), now


def _panel_state(job: Job):
    return job.status, round(job.progress, 3), job.message, len(job.metrics), REGISTRY.place(job), job.cancel_requested


def loss_chart(rows: list[dict]):
    """The job's metrics as lines over its step column, on an axis fitted to the values (a loss
    falling from 7.1 to 6.4 on an axis from 0 would look flat)."""
    import altair as alt  # here, not at the top: the sidebar imports this module on every first render
    import pandas as pd

    data = pd.DataFrame(rows)
    # A step column ("epoch", "step") is the x axis, not one more line next to the loss; other rates
    # (tokens/s) would squash the loss lines, so only losses are drawn when there are some.
    index = next((c for c in ("epoch", "step") if c in data), None)
    if index is None:
        data = data.reset_index(names="report")
        index = "report"
    losses = [c for c in data.columns if ("loss" in c or c == "cost") and c != index]
    shown = losses or [c for c in data.columns if c != index]
    long = data.melt(id_vars=[index], value_vars=shown, var_name="series", value_name="value").dropna()
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X(f"{index}:Q", title=index), y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None),
        color=alt.Color("series:N", title=None)).properties(height=220)


def job_panel(job: Job) -> None:
    """Show a running job; when it ends, rerun the whole app so the page can use the result."""
    live(job, lambda current: _Panel(current).draw, _panel_state, pace=PANEL, controls=_cancel_button)


def _cancel_button(job: Job) -> None:
    st.button("Cancelling…" if job.cancel_requested else "Cancel", key=f"cancel-{job.id}", on_click=job.cancel,
              disabled=job.cancel_requested)


def active_jobs_summary() -> None:
    """Every session's jobs, queued and running, then the last few finished; refreshes itself while
    anything runs. Another session's job shows only its kind."""

    @st.fragment(run_every=SUMMARY_SECONDS if REGISTRY.active() else None)
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
    from ui.access import require_job  # here: ui.access imports nothing of the job machinery

    require_job(kind)  # refused here too, whatever sent the click
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
