"""Analyze: frequencies and n-grams, collocations with their association measures, and the
concordance lines behind every number — over an index of the active corpus built once."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import analysis
from core.errors import UserError
from core.jobs import DONE
from core.stats import stopwords
from ui import cached
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import active_corpus_id, active_vectors_id, keep_values, workspace

st.title("Analyze")
keep_values("an_n", "an_min", "an_stop", "an_regex", "an_node", "an_left", "an_right", "an_cmin", "an_measure",
            "an_pair_min")  # the tabs' widgets, drawn only while their tab is open
ws = workspace()
cid = active_corpus_id()
if cid is None:
    st.info("Bring a corpus in first.")
    st.page_link("views/corpus.py", label="Go to the Corpus page", icon=":material/arrow_forward:")
    st.stop()

aid = analysis.index_id(cid)
if not ws.exists(analysis.KIND, aid):
    job = finished_job("an_index_job")
    if job is not None and job.status != DONE:
        st.error(md(job.error or "Cancelled; nothing was saved."))
    st.caption("Analysis runs on an index of the corpus' words (lowercase, punctuation left out, every word kept), "
               "built once and kept in the workspace.")
    if "an_index_job" not in st.session_state and presenter_only("train") and st.button(
            "Build the index", type="primary", key="an_build"):
        start_job("an_index_job", "Indexing the corpus", lambda ctx: analysis.build_index(ws, cid, ctx=ctx),
                  kind="analysis", key=f"index-{aid}")
    st.stop()

index = cached.corpus_index(aid)
st.caption(f"{index.tokens:,} tokens · {len(index.vocab):,} different words · {index.documents:,} documents")


def lines(word: str, collocate: str | None = None, left: int = 5, right: int = 5, key: str = "") -> None:
    """The concordance behind a number: every line of ``word`` (with ``collocate`` in its span)."""
    try:
        table = analysis.concordance(index, word, collocate=collocate, left=left, right=right)
    except UserError as exc:
        st.error(md(exc))
        return
    st.caption(md(f"{len(table):,} lines of '{word}'" + (f" with '{collocate}' within the span" if collocate else "")
                  + (" (the first 200)" if len(table) == 200 else "")))
    st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_lines",
                 column_config={"left": st.column_config.TextColumn(width="large"),
                                "right": st.column_config.TextColumn(width="large")})


def elsewhere(word: str, key: str) -> None:
    """The same word in the word vectors, and on the map."""
    vid = active_vectors_id()
    if vid is None:
        return
    kv = cached.vectors(vid)
    if word not in kv.key_to_index:
        st.caption(md(f"'{word}' has no vector in the active word-vector model."))
        return
    from core.embeddings.query import neighbours

    near = ", ".join(f"{w} ({c:.2f})" for w, c in neighbours(kv, word, 8))
    st.caption(md(f"Nearest in the word vectors: {near}"))
    if st.button(f"Find '{word}' on the Map", key=f"{key}_map", icon=":material/scatter_plot:"):
        st.session_state["map_search"] = word
        st.switch_page("views/map.py")


freq_tab, colloc_tab = st.tabs(["Words and n-grams", "Collocations"], key="an_tabs", on_change="rerun")

if freq_tab.open:
    with freq_tab:
        a, b, c, d = st.columns([1, 1, 1, 2])
        n = a.selectbox("n", [1, 2, 3, 4, 5], key="an_n", format_func=lambda k: "words" if k == 1 else f"{k}-grams")
        min_freq = b.number_input("Min frequency", 1, 1_000_000, 2, key="an_min")
        stop = c.toggle("Leave out stopwords", value=True, key="an_stop",
                        help="Words that are stopwords; n-grams that start or end with one.")
        regex = d.text_input("Matching (regular expression)", key="an_regex", placeholder="e.g. ^new  or  (police|army)")
        try:
            table = analysis.ngrams(index, n, min_freq=int(min_freq), stopwords=stopwords() if stop else frozenset(),
                                    regex=regex)
        except UserError as exc:
            st.error(md(exc))
            st.stop()
        if table.empty:
            st.info("Nothing matches these filters.")
        else:
            top = table.head(25)
            fig = go.Figure(go.Bar(x=top["frequency"][::-1], y=top["ngram"][::-1], orientation="h",
                                   customdata=top["documents"][::-1],
                                   hovertemplate="%{y}: %{x:,} times in %{customdata:,} documents<extra></extra>"))
            fig.update_layout(height=max(300, 22 * len(top) + 60), margin=dict(l=10, r=10, t=10, b=10),
                              xaxis_title="frequency")
            left, right = st.columns([2, 3])
            left.plotly_chart(fig, key="an_bars")
            right.dataframe(table, hide_index=True, width="stretch", height=520, key="an_table")
            right.download_button("Download (CSV)", table.to_csv(index=False).encode(), f"{n}-grams.csv", "text/csv",
                                  key="an_csv")
            pick = st.selectbox("Concordance of", list(table["ngram"].head(200)), key="an_pick")
            if pick:
                first, *rest = pick.split()
                # an n-gram's lines: its first word with the second right after it
                lines(first, rest[0] if rest else None, 0, 1, key="an_pick")
                elsewhere(first, key="an_pick")

if colloc_tab.open:
    with colloc_tab:
        mode = st.radio("Collocations", ["node", "pairs"], horizontal=True, key="an_mode",
                        format_func={"node": "Of a node word", "pairs": "Strongest pairs in the corpus"}.get)
        measure = st.selectbox("Sort by", analysis.MEASURES[1:], index=analysis.MEASURES.index("logDice") - 1,
                               key="an_measure", help="\n\n".join(f"**{k}**: {v}" for k, v in analysis.HELP.items()))
        if mode == "node":
            frequent = [index.vocab[i] for i in np.argsort(-index.counts)[:400] if index.vocab[i] not in stopwords()]
            a, b, c, d = st.columns([2, 1, 1, 1])
            node = a.text_input("Node word", frequent[0] if frequent else "", key="an_node")
            left = b.number_input("Span left", 0, 20, 4, key="an_left")
            right = c.number_input("Span right", 0, 20, 4, key="an_right")
            cmin = d.number_input("Min frequency", 1, 10_000, 3, key="an_cmin")
            try:
                table = analysis.node_collocates(index, node, left=int(left), right=int(right), min_freq=int(cmin))
            except UserError as exc:
                st.error(md(exc))
                st.stop()
            table = table.sort_values(measure, ascending=False, kind="stable", ignore_index=True)
            graph, grid = st.columns([2, 3])
            top = table.head(15)
            # the node in the middle, its strongest collocates around it: closer = stronger
            strength = top[measure].to_numpy(dtype=float)
            span = np.ptp(strength) or 1.0
            radius = 1.2 - (strength - strength.min()) / span * 0.8
            angle = np.linspace(0, 2 * np.pi, len(top), endpoint=False)
            x, y = radius * np.cos(angle), radius * np.sin(angle)
            fig = go.Figure()
            for xi, yi, f in zip(x, y, top["frequency"], strict=True):
                fig.add_trace(go.Scatter(x=[0, xi], y=[0, yi], mode="lines", hoverinfo="skip", showlegend=False,
                                         line=dict(width=1 + 4 * f / top["frequency"].max(), color="#adb5bd")))
            fig.add_trace(go.Scatter(x=x, y=y, mode="markers+text", text=top["collocate"], textposition="top center",
                                     marker=dict(size=10 + 20 * top["frequency"] / top["frequency"].max(), color="#1c7ed6"),
                                     customdata=np.stack([top["frequency"], top[measure]], axis=1), showlegend=False,
                                     hovertemplate="%{text}: %{customdata[0]:,} times, " + measure
                                                   + " %{customdata[1]:.2f}<extra></extra>"))
            fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers+text", text=[node], textposition="middle center",
                                     marker=dict(size=46, color="#fff3bf", line=dict(color="#f08c00", width=2)),
                                     hoverinfo="skip", showlegend=False))
            fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=10), title=f"Closer = higher {measure}",
                              xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"))
            graph.plotly_chart(fig, key="an_network")
            grid.dataframe(table, hide_index=True, width="stretch", height=460, key="an_colloc",
                           column_config={m: st.column_config.NumberColumn(format="%.2f", help=analysis.HELP[m])
                                          for m in analysis.MEASURES[1:]})
            grid.download_button("Download (CSV)", table.to_csv(index=False).encode(), f"collocates-{node}.csv",
                                 "text/csv", key="an_colloc_csv")
            pick = st.selectbox("Lines with", list(table["collocate"].head(200)), key="an_colloc_pick")
            if pick:
                lines(node, pick, int(left), int(right), key="an_colloc")
            elsewhere(node.strip().lower(), key="an_node")
        else:
            pmin = st.number_input("Min frequency of a pair", 1, 100_000, 5, key="an_pair_min")
            try:
                pairs = analysis.corpus_pairs(index, min_freq=int(pmin))
            except UserError as exc:
                st.error(md(exc))
                st.stop()
            pairs = pairs.sort_values(measure, ascending=False, kind="stable", ignore_index=True)
            st.dataframe(pairs.head(2000), hide_index=True, width="stretch", height=460, key="an_pairs",
                         column_config={m: st.column_config.NumberColumn(format="%.2f", help=analysis.HELP[m])
                                        for m in analysis.MEASURES[1:]})
            st.caption("Adjacent pairs inside documents. MI favours rare exclusive pairs, t-score frequent ones; "
                       "log-likelihood and logDice sit in between.")
