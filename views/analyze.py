"""Analyze: frequencies and n-grams, collocations with their association measures, keyness,
dispersion, and the concordance lines behind every number — over an index of the active corpus
built once."""

import streamlit as st

from core import analysis
from core.jobs import DONE
from core.preprocess import corpus_language
from ui import analysis_view, cached, permalink
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import corpus_or_stop, keep_values, workspace

st.title("Analyze")
permalink.bind(an_node=str)
keep_values(*analysis_view.KEYS)  # the tabs' widgets, drawn only while their tab is open
ws = workspace()
cid = corpus_or_stop()

config = analysis.config_for(corpus_language(cid, cached.documents(cid)))  # Chinese: jieba words
aid = analysis.index_id(cid, config)
if not ws.exists(analysis.KIND, aid):
    job = finished_job("an_index_job")
    if job is not None and job.status != DONE:
        st.error(md(job.error or "Cancelled; nothing was saved."))
    st.caption("Analysis runs on an index of the corpus' words (lowercase, punctuation left out, every word kept), "
               "built once and kept in the workspace.")
    if "an_index_job" not in st.session_state and presenter_only("train") and st.button(
            "Build the index", type="primary", key="an_build"):
        start_job("an_index_job", "Indexing the corpus", lambda ctx: analysis.build_index(ws, cid, config, ctx=ctx),
                  kind="analysis", key=f"index-{aid}")
    st.stop()

index = cached.corpus_index(aid)
st.caption(f"{index.tokens:,} tokens · {len(index.vocab):,} different words · {index.documents:,} documents")
tabs = st.tabs(["Words and n-grams", "Collocations", "Keyness", "Dispersion"], key="an_tabs", on_change="rerun")
panels = (analysis_view.ngram_panel, analysis_view.collocation_panel, analysis_view.keyness_panel,
          analysis_view.dispersion_panel)
for tab, panel in zip(tabs, panels, strict=True):
    if tab.open:  # only the open tab's body runs
        with tab:
            panel(index, [d.text for d in cached.documents(cid)])  # concordance lines from the original text
