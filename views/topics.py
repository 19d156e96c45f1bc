"""Topics: what the active corpus is about — LDA or embedding topics with their words, how far apart they are,
their typical documents, their share per label, and where a new text belongs."""

import streamlit as st

from core import topics
from core.errors import UserError
from core.jobs import DONE
from core.preprocess import corpus_language
from ui import cached, permalink, topics_view
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import corpus_or_stop, keep_values, workspace

st.title("Topics")
permalink.bind(tp_model=str)
keep_values(*topics_view.KEYS)
ws = workspace()
cid = corpus_or_stop()
language = corpus_language(cid, cached.documents(cid))

with st.expander("Find topics", expanded=not any(cid in m.parents for m in ws.list(topics.KIND))):
    method = st.radio("Method", ["lda", "embedding"], horizontal=True, key="tp_method",
                      format_func={"lda": "LDA (word counts, gensim)",
                                   "embedding": "Embedding topics (MiniLM → UMAP → HDBSCAN → c-TF-IDF)"}.get)
    if method == "lda":
        config = topics_view.lda_form()
        topics_view.sweep(ws, cid, config, language)
        tid, title = topics.lda_id(cid, config), f"Finding {config.topics} topics"
        work = lambda ctx: topics.build_lda(ws, cid, config, ctx, language=language)  # noqa: E731
    else:
        config = topics_view.cluster_form()
        tid, title = topics.embedded_id(cid, config), "Finding topics among the documents' embeddings"
        work = lambda ctx: topics.build_embedded(ws, cid, config, ctx, language=language)  # noqa: E731
    job = finished_job("tp_job")
    if job is not None and job.status == DONE:
        st.session_state["tp_model"] = job.result.id
    elif job is not None:
        st.error(md(job.error or "Cancelled; nothing was saved."))
    if ws.exists(topics.KIND, tid):
        st.caption("A model with these settings exists already; it is shown below.")
    elif "tp_job" not in st.session_state and presenter_only("train") and st.button("Find topics", type="primary",
                                                                                    key="tp_go"):
        start_job("tp_job", title, work, kind="topics", key=f"topics-{tid}")

models = {m.id: m for m in sorted(ws.list(topics.KIND), key=lambda m: m.created, reverse=True) if cid in m.parents}
if not models:
    st.info("No topic model for this corpus yet: choose a number of topics above and press Find topics.")
    st.stop()
permalink.valid_choice("tp_model", models, "topic model")
if st.session_state.get("tp_model") not in models:
    st.session_state["tp_model"] = next(iter(models))
mid = st.selectbox("Topic model", list(models), key="tp_model", format_func=lambda i: models[i].name)
try:
    model = topics.load_lda(ws, mid)
except UserError as exc:
    st.error(md(exc))
    st.stop()
topics_view.show(ws, mid, model, [d.text for d in cached.documents(cid)], language)
