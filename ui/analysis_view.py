"""The Analyze page's tabs: words and n-grams, collocations, keyness — each over a ``CorpusIndex``,
with the concordance lines behind every number and links to the word vectors and the map."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import analysis
from core.errors import UserError
from core.stats import stopwords
from ui import cached, report
from ui.safe import md
from ui.state import active_vectors_id

KEYS = ("an_n", "an_min", "an_stop", "an_regex", "an_node", "an_left", "an_right", "an_cmin", "an_measure",
        "an_pair_min", "an_key_way", "an_key_target", "an_key_reference", "an_key_docs", "an_key_min", "an_key_n",
        "an_disp_words", "an_key_sample")


def _clicked(event, frame, column: str) -> str | None:
    """The ``column`` value of the table row the user clicked, if any."""
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    return str(frame[column].iloc[rows[0]]) if rows and rows[0] < len(frame) else None


def lines(index, texts, word: str, collocate: str | None = None, left: int = 5, right: int = 5, key: str = "") -> None:
    """The concordance behind a number: every line of ``word`` (with ``collocate`` in its span)."""
    try:
        table = analysis.concordance(index, word, collocate=collocate, left=left, right=right, texts=texts)
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


def ngram_panel(index, texts) -> None:
    """Frequencies of words or n-grams, filtered, as bars and a table."""
    a, b, c, d = st.columns([1, 1, 1, 2])
    n = a.selectbox("n", [1, 2, 3, 4, 5], key="an_n", format_func=lambda k: "words" if k == 1 else f"{k}-grams")
    min_freq = b.number_input("Min frequency", 1, 1_000_000, 2, key="an_min")
    stop = c.toggle("Leave out stopwords", value=True, key="an_stop",
                    help="Words that are stopwords; n-grams that start or end with one.")
    regex = d.text_input("Matching (regular expression)", key="an_regex", placeholder="e.g. ^new  or  (police|army)")
    try:
        stop_list = stopwords(index.language) if stop else frozenset()
        table = analysis.ngrams(index, n, min_freq=int(min_freq), stopwords=stop_list,
                                regex=regex)
    except UserError as exc:
        st.error(md(exc))
        return
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
        with left:
            report.chart(fig, "an_bars", "Most frequent words and n-grams", {"page": "analyze"})
        clicked = _clicked(right.dataframe(table, hide_index=True, width="stretch", height=520, key="an_table",
                                           on_select="rerun", selection_mode="single-row"), table, "ngram")
        right.download_button("Download (CSV)", table.to_csv(index=False).encode(), f"{n}-grams.csv", "text/csv",
                              key="an_csv")
        pick = clicked or st.selectbox("Concordance of (or click a row)", list(table["ngram"].head(200)), key="an_pick")
        if pick:
            first, *rest = pick.split()
            # an n-gram's lines: its first word with the second right after it
            lines(index, texts, first, rest[0] if rest else None, 0, 1, key="an_pick")
            elsewhere(first, key="an_pick")


def collocation_panel(index, texts) -> None:
    """Collocates of a node word (with a network) or the corpus' strongest pairs."""
    mode = st.radio("Collocations", ["node", "pairs"], horizontal=True, key="an_mode",
                    format_func={"node": "Of a node word", "pairs": "Strongest pairs in the corpus"}.get)
    measure = st.selectbox("Sort by", analysis.MEASURES[1:], index=analysis.MEASURES.index("logDice") - 1,
                           key="an_measure", help="\n\n".join(f"**{k}**: {v}" for k, v in analysis.HELP.items()))
    if mode == "node":
        stop = stopwords(index.language)
        frequent = [index.vocab[i] for i in np.argsort(-index.counts)[:400] if index.vocab[i] not in stop]
        a, b, c, d = st.columns([2, 1, 1, 1])
        node = a.text_input("Node word", frequent[0] if frequent else "", key="an_node")
        left = b.number_input("Span left", 0, 20, 4, key="an_left")
        right = c.number_input("Span right", 0, 20, 4, key="an_right")
        cmin = d.number_input("Min frequency", 1, 10_000, 3, key="an_cmin")
        try:
            table = analysis.node_collocates(index, node, left=int(left), right=int(right), min_freq=int(cmin))
        except UserError as exc:
            st.error(md(exc))
            return
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
        with graph:
            report.chart(fig, "an_network", f"Collocates of '{node}'", {"page": "analyze"})
        clicked = _clicked(grid.dataframe(table, hide_index=True, width="stretch", height=460, key="an_colloc",
                                          on_select="rerun", selection_mode="single-row",
                                          column_config={m: st.column_config.NumberColumn(format="%.2f",
                                                                                          help=analysis.HELP[m])
                                                         for m in analysis.MEASURES[1:]}), table, "collocate")
        grid.download_button("Download (CSV)", table.to_csv(index=False).encode(), f"collocates-{node}.csv",
                             "text/csv", key="an_colloc_csv")
        pick = clicked or st.selectbox("Lines with (or click a row)", list(table["collocate"].head(200)),
                                       key="an_colloc_pick")
        if pick:
            lines(index, texts, node, pick, int(left), int(right), key="an_colloc")
        elsewhere(node.strip().lower(), key="an_node")
    else:
        pmin = st.number_input("Min frequency of a pair", 1, 100_000, 5, key="an_pair_min")
        try:
            pairs = analysis.corpus_pairs(index, min_freq=int(pmin))
        except UserError as exc:
            st.error(md(exc))
            return
        pairs = pairs.sort_values(measure, ascending=False, kind="stable", ignore_index=True)
        st.dataframe(pairs.head(2000), hide_index=True, width="stretch", height=460, key="an_pairs",
                     column_config={m: st.column_config.NumberColumn(format="%.2f", help=analysis.HELP[m])
                                    for m in analysis.MEASURES[1:]})
        st.caption("Adjacent pairs inside documents. MI favours rare exclusive pairs, t-score frequent ones; "
                   "log-likelihood and logDice sit in between.")


def keyness_panel(index, texts) -> None:
    """Words key to a target against a reference: two tables and a chart where every word is a dot."""
    labels = sorted({str(label) for label in index.labels if label is not None})
    ways = (["labels"] if len(labels) >= 2 else []) + ["documents", "sample"]
    way = st.radio("Compare", ways, horizontal=True, key="an_key_way",
                   format_func={"labels": "One label against another", "documents": "Documents I pick against the rest",
                                "sample": "The corpus against a bundled sample"}.get)
    a, b = st.columns(2)
    kmin = a.number_input("Min frequency (both sides)", 1, 100_000, 2 if index.tokens < 100_000 else 5, key="an_key_min")
    smooth = b.number_input("Simple maths N", 0.01, 10_000.0, 1.0, key="an_key_n", help=analysis.KEYNESS_HELP["simple maths"])
    if way == "sample":
        from core.corpus.samples import SAMPLES

        key = st.selectbox("Reference", list(SAMPLES), key="an_key_sample", format_func=lambda k: SAMPLES[k].title,
                           help="A bundled sample as the reference word list, tokenized as this corpus is. Pick one "
                                "in the same language; the corpus' own sample makes every word score 0.")
        words, counts = _sample_counts(key)
        st.caption(md(f"Reference: {SAMPLES[key].title}, {int(counts.sum()):,} tokens."))
        target, reference, names = np.ones(index.documents, bool), np.zeros(index.documents, bool), ("this corpus",
                                                                                                   SAMPLES[key].title)
        try:
            table = analysis.against_reference(index, words, counts, min_freq=int(kmin), smoothing=float(smooth))
        except UserError as exc:
            st.error(md(exc))
            return
        _keyness_results(index, texts, table, target, reference, names)
        return
    if way == "labels":
        a, b = st.columns(2)
        first = a.selectbox("Target label", labels, key="an_key_target")
        second = b.selectbox("Reference label", [x for x in labels if x != first], key="an_key_reference")
        target, reference = analysis.labels_are(index, first), analysis.labels_are(index, second)
        names = (first, second)
    else:
        picked = st.multiselect("Target documents", range(index.documents), key="an_key_docs",
                                format_func=lambda d: f"#{d}", placeholder="Pick documents by number")
        target = np.isin(np.arange(index.documents), picked)
        reference, names = ~target, ("picked", "the rest")
    try:
        table = analysis.keyness(index, target, reference, min_freq=int(kmin), smoothing=float(smooth))
    except UserError as exc:
        st.error(md(exc))
        return
    few = min(int(target.sum()), int(reference.sum()))
    if few < 5:
        st.warning(f"One side has {few} document{'s' if few != 1 else ''}: its keywords describe that text more "
                   "than a kind of text. Compare groups of documents for keywords that generalise.")
    _keyness_results(index, texts, table, target, reference, names)


@st.cache_resource(max_entries=4, show_spinner="Counting the reference sample's words…")
def _sample_counts(key: str):
    return analysis.sample_counts(key)


def _keyness_results(index, texts, table, target, reference, names) -> None:
    """The chart, the two keyword tables and the lines of a word, for any target/reference pair."""
    # every word a dot: how often the reference uses it (x) against the target (y); off the diagonal = key
    fig = go.Figure(go.Scattergl(
        x=np.log10(table["reference_pm"] + 1), y=np.log10(table["target_pm"] + 1), mode="markers",
        text=table["word"], customdata=np.stack([table["log-likelihood"], table["Log Ratio"], table["p"]], axis=1),
        marker=dict(color=table["log-likelihood"], colorscale="RdBu", cmid=0, showscale=True, size=7,
                    colorbar=dict(title="LL")),
        hovertemplate="<b>%{text}</b><br>LL %{customdata[0]:.1f} · Log Ratio %{customdata[1]:.2f} · "
                      "p %{customdata[2]:.3g}<extra></extra>"))
    top = int(max(fig.data[0].x.max(), fig.data[0].y.max())) + 1
    fig.add_shape(type="line", x0=0, y0=0, x1=top, y1=top, line=dict(color="#adb5bd", dash="dot"))
    fig.update_layout(height=520, margin=dict(l=10, r=10, t=30, b=10), dragmode="select",
                      xaxis_title=f"per million in {names[1]} (log10 of 1 +)",
                      yaxis_title=f"per million in {names[0]} (log10 of 1 +)",
                      title=f"Above the line: more frequent in {names[0]}; below: in {names[1]}")
    event = report.chart(fig, "an_key_plot", "Keyness", {"page": "analyze"}, on_select="rerun",
                         selection_mode=("points", "box"))
    chosen = [table["word"].iloc[i] for i in (event.selection.point_indices if event else [])][:5]
    up, down = st.columns(2)
    config = {"log-likelihood": st.column_config.NumberColumn(format="%.2f", help=analysis.KEYNESS_HELP["log-likelihood"]),
              "p": st.column_config.NumberColumn(format="%.2g", help=analysis.KEYNESS_HELP["p"]),
              "Log Ratio": st.column_config.NumberColumn(format="%.2f", help=analysis.KEYNESS_HELP["Log Ratio"]),
              "%DIFF": st.column_config.NumberColumn(format="%.0f", help=analysis.KEYNESS_HELP["%DIFF"]),
              "simple maths": st.column_config.NumberColumn(format="%.2f",
                                                            help=analysis.KEYNESS_HELP["simple maths"])}
    up.markdown(f"**Key in {md(names[0])}**")  # the label escaped, the bold kept
    positive = table[table["log-likelihood"] > 0].head(200)
    clicked = _clicked(up.dataframe(positive, hide_index=True, width="stretch", height=360, key="an_key_pos",
                                    column_config=config, on_select="rerun", selection_mode="single-row"),
                       positive, "word")
    down.markdown(f"**Key in {md(names[1])}** (negative keywords of {md(names[0])})")
    negative = table[table["log-likelihood"] < 0].iloc[::-1].head(200)
    clicked = _clicked(down.dataframe(negative, hide_index=True, width="stretch", height=360, key="an_key_neg",
                                      column_config=config, on_select="rerun", selection_mode="single-row"),
                       negative, "word") or clicked
    st.download_button("Download (CSV)", table.to_csv(index=False).encode(), "keyness.csv", "text/csv", key="an_key_csv")
    word = clicked or (chosen[0] if chosen else st.selectbox("Lines of (or click a row or a dot)",
                                                              list(table["word"].head(200)), key="an_key_pick"))
    if word:
        found = analysis.concordance(index, word, limit=400, texts=texts)
        found.insert(0, "side", [names[0] if target[d] else names[1] if reference[d] else "neither"
                                 for d in found["document"]])
        st.caption(md(f"Lines of '{word}' on both sides" + (" (picked on the chart)" if chosen else "")))
        st.dataframe(found, hide_index=True, width="stretch", key="an_key_lines",
                     column_config={"left": st.column_config.TextColumn(width="large"),
                                    "right": st.column_config.TextColumn(width="large")})
        counts = analysis.per_document(index, word)
        top = np.argsort(-counts, kind="stable")[:10]
        top = top[counts[top] > 0]
        st.caption(md(f"The documents '{word}' comes from most: "
                      + ", ".join(f"#{d} ({counts[d]}×{', ' + str(index.labels[d]) if index.labels[d] else ''})"
                                  for d in top)))
        elsewhere(word, key="an_key")


def dispersion_panel(index, texts) -> None:
    """Where words occur across the corpus (a barcode), how evenly (DP, Juilland's D), and per label."""
    stop = stopwords(index.language)
    frequent = [index.vocab[i] for i in np.argsort(-index.counts)[:400] if index.vocab[i] not in stop][:3]
    text = st.text_input("Words (comma or space separated)", " ".join(frequent), key="an_disp_words")
    words = [w for w in text.replace(",", " ").split()]
    try:
        table = analysis.dispersion(index, words)
    except UserError as exc:
        st.error(md(exc))
        return
    fig = go.Figure()
    bounds = index.doc_starts[1:-1]
    if bounds.size <= 2000:  # document boundaries, faint: one trace (one add_vline each took ~0.4 s)
        xs = np.repeat(bounds.astype(float), 3)
        xs[2::3] = np.nan
        ys = np.tile([-0.5, len(table) - 0.5, np.nan], bounds.size)
        fig.add_trace(go.Scattergl(x=xs, y=ys, mode="lines", line=dict(color="#e9ecef", width=1), hoverinfo="skip",
                                   showlegend=False))
    for row, word in enumerate(table["word"]):
        at = analysis.positions(index, word)
        fig.add_trace(go.Scattergl(x=at, y=np.full(at.size, row), mode="markers", name=word, showlegend=False,
                                   marker=dict(symbol="line-ns-open", size=18, line=dict(width=1)),
                                   customdata=index.doc_of[at], hovertemplate=f"{word} · document %{{customdata}}"
                                                                              "<extra></extra>"))
    fig.update_layout(height=90 + 50 * len(table), margin=dict(l=10, r=10, t=30, b=10), title="Where each word occurs",
                      xaxis_title="position in the corpus (tokens)",
                      yaxis=dict(tickvals=list(range(len(table))), ticktext=list(table["word"]), autorange="reversed"))
    report.chart(fig, "an_barcode", "Dispersion", {"page": "analyze"})
    st.dataframe(table, hide_index=True, width="stretch", key="an_disp_table",
                 column_config={"DP": st.column_config.NumberColumn(format="%.3f", help="Gries' DP: 0 = spread as the "
                                "documents' sizes are, towards 1 = in few small documents."),
                                "DPnorm": st.column_config.NumberColumn(format="%.3f", help="DP / (1 − the smallest "
                                "document's share): 1 = as uneven as possible."),
                                "Juilland's D": st.column_config.NumberColumn(format="%.3f", help="1 = even relative "
                                "frequency in every document, 0 = all in one.")})
    sizes = np.diff(index.doc_starts).astype(float)
    window = max(1, index.documents // 25)
    trend = go.Figure()
    for word in table["word"]:  # per million in each document, smoothed over neighbouring documents in order
        rate = analysis.per_document(index, word) * 1e6 / np.maximum(sizes, 1)
        smooth = np.convolve(rate, np.ones(window) / window, mode="same")
        trend.add_trace(go.Scatter(x=np.arange(index.documents), y=smooth, mode="lines", name=word))
    trend.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="document (in corpus order)",
                        yaxis_title="per million", title=f"Over the documents, in order (mean of {window})")
    st.plotly_chart(trend, key="an_disp_trend")
    labels = [label for label in index.labels if label is not None]
    if len(set(labels)) >= 2:
        names = sorted(set(labels))
        per_label = {}
        for word in table["word"]:
            counts = analysis.per_document(index, word)
            per_label[word] = [counts[[i for i, lab in enumerate(index.labels) if lab == name]].sum() * 1e6
                               / max(1, sizes[[i for i, lab in enumerate(index.labels) if lab == name]].sum())
                               for name in names]
        bars = go.Figure([go.Bar(name=w, x=names, y=v) for w, v in per_label.items()])
        bars.update_layout(barmode="group", height=320, margin=dict(l=10, r=10, t=30, b=10),
                           title="Per million words, by label", yaxis_title="per million")
        st.plotly_chart(bars, key="an_disp_labels")
