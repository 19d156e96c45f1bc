"""Embeddings: train word vectors on the active tokens, judge them, query and compare them."""

import pandas as pd
import streamlit as st

from core import plots
from core.embeddings.catalog import models_of_corpus
from core.embeddings.store import KIND, load_details, vectors_id
from core.jobs import DONE
from ui import cached, demo, report, vector_io, vector_query, verdict
from ui.access import confirmed_delete, presenter_only
from ui.embedding_form import embedding_form
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import (
    active_corpus_id,
    active_tokens_id,
    active_vectors_id,
    flash,
    keep_values,
    set_active_vectors,
    show_flash,
    workspace,
)

st.title("Embeddings")
keep_values("q_k", "q_word", "q_a", "q_b", "q_c", "q_method", "q_s1", "q_s2", "q_matrix", "cmp_k",
            "cmp_words")  # the tabs' widgets, drawn only while their tab is open
ws = workspace()
cid, tid = active_corpus_id(), active_tokens_id()
show_flash()
models = {m.id: m for m in models_of_corpus(ws, cid)}
active = active_vectors_id()

if models:
    ids = list(models)
    st.session_state["emb_model"] = active if active in models else ids[0]
    st.selectbox("Model", ids, key="emb_model", on_change=lambda: set_active_vectors(st.session_state["emb_model"]),
                 format_func=lambda i: f"{models[i].name} · {models[i].metrics.get('words', 0):,} words")
    vid = st.session_state["emb_model"]  # shown here; made active only by picking it (on_change)
else:
    vid = None

# A key keeps the open tab when a flash message or the model picker appears above the tabs.
# on_change="rerun" makes each tab's .open known, so only the open tab's body runs (Procrustes, the
# benchmark chart and the queries are not recomputed behind a closed tab on every click).
train, board, query, compare, files = st.tabs(["Train", "Leaderboard", "Query", "Compare", "Import & export"], key="emb_tabs",
                                              on_change="rerun")

if train.open:
    with train:
        if tid is None:
            st.info("Word vectors are trained on a preprocessed corpus: run a pipeline on the Preprocess page first, "
                    "or import pretrained vectors under Import & export.")
            st.page_link("views/preprocess.py", label="Go to the Preprocess page", icon=":material/arrow_forward:")
            st.caption("Or see a finished example first:")
            demo.offer(key="emb_demo", primary=False)
        else:
            form, result = st.columns([3, 2], gap="large")
            with form:
                config = embedding_form(ws.manifest("tokens", tid).metrics.get("tokens_after", 0), tid)
                job = finished_job("emb_job")
                if job is not None and job.status == DONE:
                    set_active_vectors(job.result.id)
                    flash("success", f"Trained {md(job.result.name)}.")
                    st.rerun()
                if job is not None:
                    st.error(md(job.error or "Training was cancelled; models trained before are intact."))
                trained = vectors_id(tid, config)
                if ws.exists(KIND, trained):
                    st.caption("A model with these settings is trained already: same tokens and settings give the same model.")
                    if trained != vid and st.button("Show it", key="emb_show"):
                        set_active_vectors(trained)
                        st.rerun()
                elif "emb_job" not in st.session_state and presenter_only("train") and st.button(
                        "Train", type="primary", key="emb_train"):
                    from core.embeddings.train import train_vectors  # gensim: on the click, not on every render

                    start_job("emb_job", f"Training {config.label()}", lambda ctx: train_vectors(ws, tid, config, ctx=ctx),
                              kind="vectors", key=f"vectors-{trained}")
            with result:
                if vid is not None:
                    m = models[vid]
                    st.subheader(md(m.name))
                    a, b, c = st.columns(3)
                    a.metric("Words", f"{m.metrics.get('words', 0):,}")
                    b.metric("Dimensions", m.metrics.get("dim", 0))
                    c.metric("Seconds", m.metrics.get("seconds", "—"))
                    verdict.show(m, key="emb_train_verdict")
                    curve = load_details(ws, vid)["curve"]
                    if any(p.get("loss") is not None for p in curve):
                        st.plotly_chart(plots.training_curve(curve), key="emb_curve")
                        st.caption("gensim adds the loss up in float32, so the numbers are approximate: "
                                   "read the shape of the curve.")
                    elif curve:
                        st.caption("gensim reports no loss for FastText; the run took "
                                   f"{curve[-1].get('seconds', 0)} s over {len(curve)} epochs.")

if board.open:
    with board:
        if not models:
            st.info("No models yet: train one, or import pretrained vectors.")
        else:
            rows = [{"model": m.name, "verdict": verdict.label(verdict.quality(m)), "words": m.metrics.get("words"),
                     "dim": m.metrics.get("dim"),
                     "seconds": m.metrics.get("seconds"), "WordSim-353 ρ": m.metrics.get("wordsim353"),
                     "SimLex-999 ρ": m.metrics.get("simlex999"), "analogies": m.metrics.get("analogy_accuracy"),
                     "analogy coverage": m.metrics.get("analogy_coverage"), "id": m.id} for m in models.values()]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="emb_board",
                         column_config={"analogies": st.column_config.NumberColumn(format="percent"),
                                        "analogy coverage": st.column_config.NumberColumn(format="percent"),
                                        "WordSim-353 ρ": st.column_config.NumberColumn(format="%.3f"),
                                        "SimLex-999 ρ": st.column_config.NumberColumn(format="%.3f")})
            report.add_button("emb_board", "Word-vector leaderboard", lambda: report.table(rows),
                              {"page": "embeddings", "artifacts": [["vectors", i] for i in models]})
            st.caption("ρ = Spearman correlation with human similarity judgements, on the pairs both words of which the "
                       "model knows. Coverage = share of the 19,544 Google analogy questions this vocabulary can answer.")
            st.caption("Verdict: whether the space itself can be trusted — words spread out and neighbours that stand "
                       "out from random words. A collapsed model scores something on the benchmarks all the same.")
            vector_query.benchmark_details(load_details(ws, vid)["scores"], cached.vectors(vid))
            if presenter_only("delete"):
                if confirmed_delete(md(f"Yes, delete {models[vid].name}"), "Delete this model", key="emb_delete",
                                    confirm_key="emb_confirm_delete"):
                    ws.delete(KIND, vid)
                    set_active_vectors(None)
                    st.rerun()

if query.open:
    with query:
        if vid is None:
            st.info("Train or import a model first.")
        else:
            if verdict.quality(models[vid])["verdict"] != "good":
                verdict.show(models[vid], key="emb_query_verdict")
            vector_query.query_panel(cached.vectors(vid))

if compare.open:
    with compare:
        if len(models) < 2:
            st.info("Train or import a second model to compare, e.g. CBOW against skip-gram or GloVe.")
        else:
            vector_query.compare_panel(models, vid)

if files.open:
    with files:
        vector_io.import_panel()
        if vid is not None:
            vector_io.export_panel(cached.vectors(vid), models[vid].name, vid)
