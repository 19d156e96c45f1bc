"""Classify: teach a model the corpus' labels, then an honest scorecard — per-class scores, a confusion matrix
whose cells open their documents, calibration, the errors and why — and a way to use it."""

import streamlit as st

from core import classify
from core.errors import UserError
from core.jobs import DONE
from ui import classify_view, permalink
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import active_vectors_id, corpus_or_stop, keep_values, workspace

st.title("Classify")
permalink.bind(cl_model=str)
keep_values(*classify_view.KEYS)
ws = workspace()
cid = corpus_or_stop()

split_config = classify_view.split_form()
try:
    texts, split, report = classify_view.prepared(ws.root, cid, split_config)
except UserError as exc:
    st.error(md(exc))
    classify_view.offer_labelled_sample()
    st.stop()
classify_view.balance(split, report)

board = classify.of_corpus(ws, cid)
with st.expander("Train a classifier", expanded=not board):
    method = st.radio("Model", list(classify.METHODS), horizontal=True, key="cl_method",
                      format_func=classify.METHODS.get)
    config = classify_view.method_form(ws, method, split_config, active_vectors_id(), len(split.train),
                                       len(split.validation), sum(len(t.split()) for t in texts) / len(texts))
    job = finished_job("cl_job")
    if job is not None and job.status == DONE:
        st.session_state["cl_model"] = job.result.id
        board = classify.of_corpus(ws, cid)
    elif job is not None:
        st.error(md(job.error or "Cancelled; nothing was saved."))
    if config is not None:
        aid = classify.classifier_id(cid, config)
        if ws.exists(classify.KIND, aid):
            st.caption("A classifier with these settings exists already; it is on the leaderboard below.")
        elif "cl_job" not in st.session_state and presenter_only("train") and st.button(
                "Train", type="primary", key="cl_go"):
            start_job("cl_job", f"Training: {classify.METHODS[config.method]}",
                      lambda ctx: classify.train(ws, cid, config, ctx), kind="classify", key=f"classify-{aid}")

if not board:
    st.info("No classifier for this corpus yet. Start with the TF-IDF baseline: it trains in seconds and sets the "
            "bar every other model has to clear.")
    st.stop()
mid = classify_view.leaderboard(board)
try:
    clf = classify_view.loaded(ws.root, mid)
except UserError as exc:  # e.g. the word vectors it averages were deleted: it can still be deleted
    st.error(md(exc))
    classify_view.delete(ws, ws.manifest(classify.KIND, mid))
    st.stop()
tabs = st.tabs(["Scorecard", "Errors", "Use it"])
with tabs[0]:
    classify_view.scorecard(clf, texts)
with tabs[1]:
    classify_view.errors(clf, texts)
with tabs[2]:
    classify_view.use(ws, cid, clf)
classify_view.delete(ws, clf.manifest)
