"""The Topics page's parts: the LDA form, and everything shown of a topic model — named topics with
their words, the intertopic map, typical documents, shares per label and over the corpus, and
where a new text belongs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import topics
from core.errors import UserError
from core.jobs import DONE
from ui import report
from ui.access import confirmed_delete, is_presenter, presenter_only
from ui.jobs import finished_job, start_job
from ui.safe import md

KEYS = ("tp_k", "tp_passes", "tp_alpha", "tp_seed", "tp_lambda", "tp_topic", "tp_text", "tp_min_size", "tp_neighbours",
        "tp_cseed")
PREVIEW = 300


def lda_form() -> topics.LdaConfig:
    a, b, c, d = st.columns(4)
    k = a.number_input("Topics", 2, 100, 8, key="tp_k", help="How many topics LDA looks for. Compare the coherence "
                       "of a few choices: higher c_v usually reads better.")
    passes = b.number_input("Passes", 1, 200, 10, key="tp_passes", help="Times LDA goes over the corpus.")
    alpha = c.selectbox("alpha", ["symmetric", "asymmetric", "auto"], key="tp_alpha",
                        help="The prior on each document's topic mix: symmetric treats topics alike; asymmetric "
                             "lets a few be common; auto learns it (can run away on small corpora).")
    seed = d.number_input("Seed", 0, 2**31 - 1, 42, key="tp_seed")
    return topics.LdaConfig(topics=int(k), passes=int(passes), alpha=alpha, seed=int(seed))


def cluster_form() -> topics.ClusterConfig:
    a, b, c = st.columns(3)
    size = a.number_input("Minimum cluster size (0 = automatic)", 0, 10_000, 0, key="tp_min_size",
                          help="HDBSCAN's smallest topic, in documents; automatic: half the square root of the "
                               "number of documents, at least 5 (300 → 9, 10,000 → 50).")
    neighbours = b.number_input("UMAP neighbours", 2, 200, 15, key="tp_neighbours")
    seed = c.number_input("Seed", 0, 2**31 - 1, 42, key="tp_cseed")
    st.caption("Each document becomes MiniLM's sentence embedding (its first 256 tokens); documents that fit no "
               "cluster are outliers, counted below. The number of topics is found, not chosen.")
    return topics.ClusterConfig(min_cluster_size=int(size), neighbours=int(neighbours), seed=int(seed))


SWEEP = (4, 6, 8, 10, 12, 15, 20)


def sweep(ws, cid: str, config: topics.LdaConfig, language: str) -> None:
    """Coherence against the number of topics, as a job: a suggestion, not a rule."""
    job = finished_job("tp_sweep_job")
    if job is not None and job.status == DONE:
        st.session_state["tp_sweep"] = {"corpus": cid, "rows": job.result}
    elif job is not None:
        st.error(md(job.error or "Cancelled."))
    result = st.session_state.get("tp_sweep")
    if result and result["corpus"] == cid:
        rows = result["rows"]
        best = max(rows, key=lambda r: r["c_v"])
        fig = go.Figure([go.Scatter(x=[r["topics"] for r in rows], y=[r["c_v"] for r in rows], name="c_v",
                                    mode="lines+markers"),
                         go.Scatter(x=[r["topics"] for r in rows], y=[r["u_mass"] for r in rows], name="u_mass",
                                    mode="lines+markers", yaxis="y2")])
        fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="topics",
                          yaxis=dict(title="c_v (higher is better)"),
                          yaxis2=dict(title="u_mass (closer to 0)", overlaying="y", side="right"),
                          title=f"Highest c_v at {best['topics']} topics", legend=dict(orientation="h", y=-0.3))
        st.plotly_chart(fig, key="tp_sweep_chart")
    elif "tp_sweep_job" not in st.session_state and presenter_only("train") and st.button(
            "Suggest a number of topics", key="tp_sweep_go",
            help=f"Fits LDA with {', '.join(map(str, SWEEP))} topics and plots their coherence."):
        start_job("tp_sweep_job", "Comparing numbers of topics",
                  lambda ctx: topics.coherence_sweep(ws, cid, list(SWEEP), config, ctx, language=language),
                  kind="topics", key=f"sweep-{cid}-{config.passes}-{config.seed}-{config.alpha}")


def names_of(ws, mid: str, model: topics.TopicModel) -> list[str]:
    """Each topic's name: the one the presenter gave it, else its three most probable words."""
    given = ws.get_state(f"topic_names:{mid}") or {}
    return [given.get(str(t)) or f"{t}: " + ", ".join(w for w, _ in model.top_words(t, 3)) for t in range(model.topics)]


def show(ws, mid: str, model: topics.TopicModel, texts: list[str], language: str) -> None:
    names = names_of(ws, mid, model)
    a, b, c = st.columns(3)
    a.metric("Topics", model.topics)
    b.metric("Coherence c_v", f"{model.coherence['c_v']:.3f}",
             help="How often a topic's top words occur near each other in the corpus (0 to 1; above ~0.5 reads as "
                  "a theme, below ~0.4 as a list of words).")
    c.metric("Coherence u_mass", f"{model.coherence['u_mass']:.2f}", help="Closer to 0 is more coherent.")
    relevance = st.slider("Relevance λ", 0.0, 1.0, 0.6, 0.05, key="tp_lambda",
                          help="1: the topic's most probable words; lower: words special to the topic rather than "
                               "frequent everywhere (LDAvis' relevance; 0.6 reads best in its user study).")
    _word_bars(model, names, relevance)
    left, right = st.columns(2)
    with left:
        _topic_map(model, names)
    with right:
        _per_label(model, names)
    _typical(model, names, texts)
    _assign(model, names, language)
    if is_presenter():
        with st.expander("Rename topics"):
            given = ws.get_state(f"topic_names:{mid}") or {}
            cols = st.columns(2)
            fresh = {str(t): cols[t % 2].text_input(f"Topic {t}", given.get(str(t), ""), key=f"tp_name_{mid}_{t}",
                                                    placeholder=names[t]).strip()
                     for t in range(model.topics)}
            if st.button("Save the names", key="tp_save_names"):
                ws.set_state(f"topic_names:{mid}", {t: n for t, n in fresh.items() if n})
                st.rerun()
        with st.expander("Delete this topic model"):
            if confirmed_delete("Yes, delete it and the names given to its topics", "Delete", key="tp_delete",
                                confirm_key="tp_confirm_delete"):
                ws.delete(topics.KIND, mid)
                ws.set_state(f"topic_names:{mid}", None)
                st.session_state.pop("tp_model", None)
                st.rerun()
    else:
        presenter_only("workspace")


def _word_bars(model, names, relevance: float) -> None:
    per_row = 4
    for start in range(0, model.topics, per_row):
        cols = st.columns(per_row)
        for t in range(start, min(start + per_row, model.topics)):
            words = model.top_words(t, 10, relevance)
            fig = go.Figure(go.Bar(x=[p for _, p in words][::-1], y=[w for w, _ in words][::-1], orientation="h",
                                   marker_color="#1c7ed6", hovertemplate="%{y}: p = %{x:.3f}<extra></extra>"))
            fig.update_layout(title=dict(text=names[t], font=dict(size=13)), height=300,
                              margin=dict(l=10, r=10, t=35, b=10), xaxis=dict(showticklabels=False))
            cols[t - start].plotly_chart(fig, key=f"tp_bars_{t}")
    report.add_button("tp_words", f"Topics and their top words (relevance λ = {relevance:.2f})", lambda: report.table(
        [{"topic": names[t], "top words": ", ".join(w for w, _ in model.top_words(t, 10, relevance))}
         for t in range(model.topics)]), {"page": "topics"})


def _topic_map(model, names) -> None:
    xy = topics.topic_map(model)
    share = model.doc_topics.mean(axis=0)
    fig = go.Figure(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=[n.split(":")[0] for n in names],
                               customdata=np.stack([names, np.round(share * 100, 1)], axis=1),
                               marker=dict(size=20 + 200 * share, color="#74c0fc", opacity=0.7,
                                           line=dict(color="#1c7ed6", width=1)),
                               hovertemplate="%{customdata[0]}<br>%{customdata[1]}% of the corpus<extra></extra>"))
    fig.update_layout(title="Intertopic distances (size: share of the corpus)", height=380,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis=dict(visible=False),
                      yaxis=dict(visible=False, scaleanchor="x"))
    report.chart(fig, "tp_map", "Intertopic distance map", {"page": "topics"})


def _per_label(model, names) -> None:
    labels = [str(lab) for lab in model.labels if lab is not None]
    if len(set(labels)) >= 2:
        groups = sorted(set(labels))
        fig = go.Figure([go.Bar(name=names[t], x=groups,
                                y=[model.doc_topics[[i for i, lab in enumerate(model.labels) if str(lab) == g], t].mean()
                                   for g in groups]) for t in range(model.topics)])
        fig.update_layout(barmode="stack", title="Topic share per label", height=380, yaxis_tickformat=".0%",
                          margin=dict(l=10, r=10, t=40, b=10), legend=dict(font=dict(size=10)))
        report.chart(fig, "tp_labels", "Topic share per label", {"page": "topics"})
        return
    window = max(1, model.doc_topics.shape[0] // 25)
    kernel = np.ones(window) / window
    fig = go.Figure([go.Scatter(x=np.arange(model.doc_topics.shape[0]), y=np.convolve(model.doc_topics[:, t], kernel,
                                                                                     mode="same"),
                                name=names[t], stackgroup="one") for t in range(model.topics)])
    fig.update_layout(title=f"Topic share over the documents, in order (mean of {window})", height=380,
                      yaxis_tickformat=".0%", margin=dict(l=10, r=10, t=40, b=10), legend=dict(font=dict(size=10)))
    report.chart(fig, "tp_order", "Topic share over the documents", {"page": "topics"})


def _typical(model, names, texts) -> None:
    topic = st.selectbox("Typical documents of", range(model.topics), format_func=names.__getitem__, key="tp_topic")
    order = np.argsort(-model.doc_topics[:, topic])[:5]
    rows = [{"document": int(d), "share": float(model.doc_topics[d, topic]), "text": " ".join(texts[d][:PREVIEW].split())}
            for d in order]
    st.dataframe(rows, hide_index=True, width="stretch", key="tp_typical",
                 column_config={"share": st.column_config.ProgressColumn("share", min_value=0.0, max_value=1.0,
                                                                         format="%.2f"),
                                "text": st.column_config.TextColumn(width="large")})
    mixed = int((model.doc_topics.max(axis=1) < 0.5).sum())
    st.caption(f"{mixed:,} of {model.doc_topics.shape[0]:,} documents have no topic above half their mix: counted "
               "here, not hidden.")


def _assign(model, names, language: str) -> None:
    text = st.text_area("Where does a new text belong?", key="tp_text", height=90,
                        placeholder="Paste a paragraph on the corpus' subject")
    if not text.strip():
        return
    try:
        shares = topics.assign(model, text, language=language)
    except UserError as exc:
        st.error(md(exc))
        return
    order = np.argsort(-shares)
    fig = go.Figure(go.Bar(x=[names[t] for t in order], y=shares[order], marker_color="#1c7ed6",
                           hovertemplate="%{x}: %{y:.0%}<extra></extra>"))
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=10, b=10), yaxis_tickformat=".0%")
    st.plotly_chart(fig, key="tp_assign")
