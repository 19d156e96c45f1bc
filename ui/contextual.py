"""The "bank" problem (one static vector per spelling vs one contextual vector per use) and model internals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import attention, plots
from core.embeddings import query as query_static
from core.errors import UserError
from ui import cached
from ui.safe import md
from ui.state import active_corpus_id, active_vectors_id


def contextual_panel(m) -> None:
    st.caption("Word2Vec and GloVe give 'bank' one vector whatever it means; a transformer gives every use its own. "
               "Similar senses should have similar contextual vectors.")
    word = st.text_input("Word", "bank", key="ctx_word")
    text = st.text_area("Sentences, one per line", "\n".join(attention.BANK_SENTENCES), key="ctx_sentences", height=160)
    try:
        vectors, found = cached.contextual_vectors(m, [s for s in text.splitlines() if s.strip()], word)
    except UserError as exc:
        st.error(md(exc))
        return
    sims = attention.layer_similarity(vectors)
    layer = st.slider("Layer (0 = the input embeddings: no context yet)", 0, len(sims) - 1, len(sims) - 1, key="ctx_layer")
    left, right = st.columns([3, 2])
    short = [f"{i}: {s[:22]}…" if len(s) > 22 else f"{i}: {s}" for i, s in enumerate(found)]
    left.plotly_chart(plots.similarity_heatmap(short, sims[layer]), key="ctx_heatmap")
    with right:
        vid = active_vectors_id()
        if vid is None:
            st.caption("Train a word-vector model to compare with its single static vector.")
        else:
            kv = cached.vectors(vid)
            try:
                rows = query_static.neighbours(kv, word, 10)
                st.caption(md(f"The static model has one vector for '{word}'; its neighbours mix every sense:"))
                st.dataframe(pd.DataFrame(rows, columns=["neighbour", "cosine"]), hide_index=True, key="ctx_static")
            except UserError as exc:
                st.caption(md(exc))
    sense_cloud(m, word)


def sense_cloud(m, word: str) -> None:
    cid = active_corpus_id()
    st.subheader("Sense cloud")
    if cid is None:
        st.caption("Pick a corpus to see this word's uses in it.")
        return
    limit = st.slider("Uses to embed", 10, 300, 60, key="ctx_limit")
    if not st.toggle("Embed this word's uses in the corpus", key="ctx_cloud"):
        return
    snippets = attention.occurrences((d.text for d in cached.documents(cid)), word, limit=limit)
    if len(snippets) < 4:
        st.info(md(f"'{word}' occurs {len(snippets)} times in this corpus; a cloud needs at least 4."))
        return
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    vectors, found = cached.contextual_vectors(m, snippets, word)
    last = vectors[-1]
    xy = PCA(n_components=2, random_state=0).fit_transform(last)
    k = st.slider("Senses (clusters)", 2, 6, 2, key="ctx_k")
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(last)
    fig = go.Figure()
    for c in range(k):
        rows = np.flatnonzero(labels == c)
        fig.add_trace(go.Scatter(x=xy[rows, 0], y=xy[rows, 1], mode="markers", name=f"sense {c}",
                                 text=[found[i] for i in rows], hovertemplate="%{text}<extra></extra>"))
    fig.update_layout(title=f"'{word}' in {len(found)} contexts (last layer, PCA)", height=480,
                      margin=dict(l=10, r=10, t=40, b=10))
    st.plotly_chart(fig, key="ctx_cloud_plot")


def internals_panel(m, text: str) -> None:
    if m.spec.kind != "causal":
        st.info("Next-token guesses need a causal (GPT-like) model such as SmolLM2 or DistilGPT2.")
        return
    try:
        out = cached.next_tokens(m, text)  # cached: a click elsewhere on the page never re-reads the text
    except UserError as exc:
        st.error(md(exc))
        return
    batch, seq, vocab = out["logits_shape"]
    st.code(f"input_ids: {out['ids'][:64]}{' …' if len(out['ids']) > 64 else ''}\n"
            f"logits.shape = (batch={batch}, sequence_length={seq}, vocab_size={vocab})", language=None)
    rows = [{"position": i, "token": tok, **{f"#{j + 1}": f"{t!r} {p:.1%}" for j, (t, p) in enumerate(top)}}
            for i, (tok, top) in enumerate(zip(out["tokens"], out["top"], strict=True))]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ctx_next")
    st.caption("Row i: after reading up to token i, the model's five most likely next tokens.")
