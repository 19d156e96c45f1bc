"""Map: the whole vocabulary (or the documents) on an interactive 2-D/3-D UMAP, PCA or t-SNE map."""

import streamlit as st

from core import projection, semantic_axes, topics
from core.docmap import build_doc_map, doc_map_id, load_doc_map
from core.embeddings.catalog import models_of_corpus
from core.embeddings.quality import map_verdict
from core.errors import UserError
from core.jobs import DONE
from core.map_figure import Colour, map_figure
from ui import cached, demo, map_view, permalink, report, topics_view, verdict
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.map_controls import projection_form, word_choice
from ui.safe import md
from ui.state import active_corpus_id, active_vectors_id, show_flash, workspace

st.title("Map")
permalink.bind(map_search=str, map_colour=str)
ws = workspace()
show_flash()
vid = active_vectors_id()
if vid is None:
    st.info("The map shows word vectors: train or import a model on the Embeddings page first.")
    st.page_link("views/embeddings.py", label="Go to the Embeddings page", icon=":material/arrow_forward:")
    st.caption("Or see a finished example first:")
    demo.offer(key="map_demo", primary=False)
    st.stop()
vocab = cached.vocabulary(vid)  # the words only: gensim and the vectors load when a map needs them
vectors_manifest = ws.manifest("vectors", vid)
st.caption(md(f"Model: {vectors_manifest.name} · {len(vocab):,} words · {vocab.vector_size} dimensions"))
if verdict.quality(vectors_manifest)["verdict"] != "good":
    verdict.show(vectors_manifest, key="map_verdict", go_to_embeddings=True)


def draw(state_key: str, title: str, work) -> None:
    job = finished_job(state_key)
    if job is not None and job.status != DONE:
        st.error(md(job.error or "Cancelled; nothing was saved."))
    elif state_key not in st.session_state and presenter_only("train") and st.button(title, type="primary",
                                                                                   key=f"{state_key}_go"):
        start_job(state_key, title, work, kind="map")


words_tab, docs_tab, compare_tab = st.tabs(["Words", "Documents", "Compare two models"], key="map_tabs")

with words_tab:
    with st.expander("What to map, and how", expanded=not ws.list(projection.KIND)):
        choice = word_choice(len(vocab))
        config = projection_form()
    try:
        lookup = cached.vectors(vid) if choice.mode == "seeds" else vocab  # seeds need their neighbours
        words, unknown = projection.select_words(lookup, mode=choice.mode, top_n=choice.top_n, words=choice.words,
                                                 seeds=choice.seeds, per_seed=choice.per_seed)
        if unknown:
            st.caption(md(f"Not in the vocabulary: {', '.join(unknown[:30])}"))
        if len(words) >= projection.MIN_WORDS:
            config.validate(len(words))
    except UserError as exc:
        st.error(md(exc))
        words = []
    if 0 < len(words) < projection.MIN_WORDS:
        st.info(f"A map needs at least {projection.MIN_WORDS} words: with so few, a layout says nothing. "
                "Here they are as a table; add words to map them.")
        st.dataframe({"word": words}, hide_index=True, key="map_few_words")
    elif words:
        mid = projection.map_id(vid, words, config)
        if not ws.exists(projection.KIND, mid):
            draw("map_job", f"Draw the map of {len(words):,} words",
                 lambda ctx: projection.build_map(ws, vid, words, config, ctx=ctx))
        else:
            data = projection.load_map(ws, mid)
            settings = map_view.controls("map")
            with st.expander("Semantic axes: x from word A to B, y from C to D"):
                cols = st.columns(5)
                # keyed by model: another vocabulary gets its own example words, not this one's
                axes = tuple(cols[i].text_input(n, v, key=f"map_axis_{n}_{vid}")
                             for i, (n, v) in enumerate(zip("ABCD", semantic_axes.example_axes(vocab), strict=True)))
                use_axes = cols[4].toggle("Use these axes", key="map_use_axes")
            level, sentence = map_verdict(data.trust, data.config.trust_k)
            (st.warning if level == "low" else st.caption)(sentence)
            try:
                fig, coords = map_view.word_map(data, vid, mid, settings, key="map", axes=axes if use_axes else None)
                map_view.exports(fig, data.words, coords, data.counts, data.trust, "map")
            except UserError as exc:
                st.error(md(exc))

with docs_tab:
    cid = active_corpus_id()
    if cid is None:
        st.info("Pick a corpus to map its documents.")
    else:
        encoder = st.radio("Document vectors", ["mean", "minilm"], horizontal=True, key="doc_encoder",
                           format_func={"mean": "Mean of this model's word vectors",
                                        "minilm": "Sentence embedding (bundled MiniLM encoder)"}.get)
        with st.expander("Projection", expanded=False):
            doc_config = projection_form(key="doc")
        docs_id = doc_map_id(vid, cid, doc_config, encoder)
        if not ws.exists("docmap", docs_id):
            st.caption("Each document becomes the mean of its words' vectors (the words this model knows)."
                       if encoder == "mean" else "Each document becomes MiniLM's sentence embedding of its first 256 tokens.")
            draw("docmap_job", "Draw the document map",
                 lambda ctx: build_doc_map(ws, vid, cid, doc_config, ctx=ctx, encoder=encoder))
        else:
            data = load_doc_map(ws, docs_id)
            labelled = any(data.labels)
            topic_models = sorted((m for m in ws.list(topics.KIND) if cid in m.parents), key=lambda m: m.created)
            ways = (["label"] if labelled else []) + (["topic"] if topic_models else []) + ["trust"]
            by = st.radio("Colour by", ways, horizontal=True, key="doc_colour")
            if by == "topic":  # the session's topic model on the Topics page, else the newest
                chosen = st.session_state.get("tp_model")
                mid = chosen if any(m.id == chosen for m in topic_models) else topic_models[-1].id
                model = topics.load_lda(ws, mid)
                names = topics_view.names_of(ws, mid, model)
                colour = Colour("topic", [names[int(t)] for t in model.doc_topics[list(data.rows)].argmax(axis=1)],
                                categorical=True)
                st.caption(md(f"Each document coloured by its largest topic in {ws.manifest(topics.KIND, mid).name}."))
            else:
                colour = Colour("label", data.labels, categorical=True) if by == "label" else Colour("trust", data.trust)
            names = [f"doc {r}" for r in data.rows]
            fig = map_figure(names, data.coords, color=colour, hover={"text": data.previews, "label": data.labels},
                             title="Documents")
            report.chart(fig, "doc_plot", "Document map", {"page": "map", "uses": ("corpus", "vectors"),
                                                           "settings": {"colour": by}})
            if not labelled:
                st.caption("This corpus has no label column; a labelled one (e.g. the polarity sample) colours by label.")

with compare_tab:
    others = {m.id: m for m in models_of_corpus(ws, active_corpus_id()) if m.id != vid}
    if not others:
        st.info("Train a second model (e.g. GloVe next to CBOW) to compare their maps.")
    else:
        other = st.selectbox("Compare with", list(others), format_func=lambda i: others[i].name, key="cmp_map_model")
        vocab_b = cached.vocabulary(other)
        shared = [w for w in vocab.index_to_key if w in vocab_b.key_to_index][: min(5000, len(vocab))]
        config_c = projection.ProjectionConfig(seed=42)
        ids = [projection.map_id(v, shared, config_c) for v in (vid, other)]
        if len(shared) < 4:
            st.warning("The two models share fewer than 4 words.")
        elif not all(ws.exists(projection.KIND, i) for i in ids):
            st.caption(f"Both maps use the {len(shared):,} most frequent words the models share, with UMAP defaults.")
            draw("cmp_map_job", "Draw both maps", lambda ctx: [projection.build_map(ws, v, shared, config_c, ctx=ctx)
                                                                 for v in (vid, other)])
        else:
            settings = map_view.controls("cmp")
            left, right = st.columns(2)
            for col, v, i, key in ((left, vid, ids[0], "cmp_a"), (right, other, ids[1], "cmp_b")):
                with col:
                    st.caption(md(ws.manifest("vectors", v).name))
                    map_view.word_map(projection.load_map(ws, i), v, i, settings, key=key, height=560)
