""""Show me on a sample": the one-click tour from a bundled corpus to its word map (core.demo)."""

from __future__ import annotations

import streamlit as st

from core.jobs import DONE
from ui.access import is_presenter
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import flash, set_active_corpus, set_active_tokens, set_active_vectors, workspace

JOB_KEY = "demo_job"  # one key for every page, so the tour started on one page shows on the next


def _finish(result) -> None:
    set_active_corpus(result.corpus_id)
    set_active_tokens(result.tokens_id)
    set_active_vectors(result.vectors_id)
    flash("success", f"The Lee news sample, tokenized, turned into word vectors and mapped: {result.words:,} words. "
                     "Colours are clusters of related words, named by their most frequent ones; hover for a word, "
                     "search to zoom in.")
    st.switch_page("views/map.py")


def offer(*, key: str, primary: bool = True) -> None:
    """The button (or the tour's progress while it runs); opens the map when it is done."""
    job = finished_job(JOB_KEY)
    if job is not None:
        if job.status == DONE:
            _finish(job.result)
        st.error(md(job.error or "The tour was cancelled; what it had made so far is kept."))
    if JOB_KEY in st.session_state:
        return
    ws = workspace()
    if not is_presenter():
        return  # the tour writes to the workspace
    if st.button("Show me on a sample", key=key, type="primary" if primary else "secondary", icon=":material/play_arrow:",
                 help="Loads the Lee news sample (300 stories), tokenizes it, trains word vectors with settings "
                      "chosen for its size and draws their map: about half a minute, each step shown."):
        start_job(JOB_KEY, "Tour: sample → tokens → vectors → map", lambda ctx: _run(ws, ctx), kind="demo", key="demo-lee")


def _run(ws, ctx):
    # Imported in the job, not at the top: core.demo pulls in gensim, ~2 s on the first render of every
    # page that offers the tour.
    from core.demo import run_demo

    return run_demo(ws, "lee", ctx=ctx)
