"""Attention: what a transformer looks at, contextual versus static vectors, and the model's next-token guesses."""

import io

import numpy as np
import streamlit as st

from core import attention, plots
from core.errors import UserError
from core.preprocess import Pipeline, PipelineConfig
from ui import cached, contextual, permalink, report
from ui.model_picker import model_picker
from ui.safe import md
from ui.state import active_corpus_id, keep_values

DEFAULT_TEXT = "The bank raised its rates after the river flooded the bank."

st.title("Attention")
keep_values("att_layer", "att_head", "att_grid_first", "att_mean_layer", "ctx_word", "ctx_sentences", "ctx_layer",
            "ctx_limit", "ctx_cloud", "ctx_k")  # the tabs' widgets, drawn only while their tab is open
permalink.bind(att_model=str, att_text=str, att_layer=int, att_head=int)
m = model_picker("att", attentions=True)

# The text and toggles render before the model is known: a switch to a model still loading keeps
# what the user typed (a widget that is not drawn on a run loses its value).
cid = active_corpus_id()
source = st.radio("Text", ["Type", "A sentence from the corpus"] if cid else ["Type"], horizontal=True, key="att_source")
if source == "Type":
    text = st.text_area("Text", DEFAULT_TEXT, key="att_text", max_chars=5000)
else:
    docs = cached.documents(cid)
    i = st.number_input("Document #", 0, len(docs) - 1, 0, key="att_doc")
    text = st.selectbox("Sentence", Pipeline(PipelineConfig()).split_sentences(docs[int(i)].text)[:200],
                        key="att_sentence") or ""
decoder = m is not None and m.spec.kind == "causal"
a, b, c = st.columns(3)
hide = a.toggle("Hide special tokens ([CLS], [SEP], BOS)", value=True, key="att_hide")
merge = b.toggle("Merge sub-word pieces into words", key="att_merge",
                 help="Sum over the pieces attended to, mean over the attending pieces.")
sink = c.toggle("Set the first token's sink aside", value=True, key="att_sink", disabled=m is not None and not decoder,
                help="Decoders park most attention on the first token when nothing else is relevant (an 'attention "
                     "sink'), which makes every view one dark column. Set aside, each row is renormalised over the "
                     "other tokens. Encoders have no such sink.")
if m is None:
    st.info("Load a model to look inside it. The bundled ones work offline; the first SmolLM2 load converts it once (~20 s).")
    st.stop()

try:
    att = cached.attentions(m, text)
    shown = attention.without_sink(att) if decoder and sink and not att.special[0] else att
    shown = attention.merge_words(shown) if merge else shown
    shown = attention.hide_special(shown) if hide and shown.special.any() else shown
except UserError as exc:
    st.error(md(exc))
    st.stop()
if att.truncated:
    st.warning(f"Only the first {attention.MAX_TOKENS} tokens are shown.")
if decoder and sink:
    st.caption(md(f"The first token ('{att.tokens[0]}') is set aside: decoders send it most of their attention as a "
                  "resting place, not because it matters. Turn the toggle off to see it."))
layers, heads = shown.weights.shape[:2]
st.caption(f"{len(shown.tokens)} tokens · {layers} layers × {heads} heads"
           + (" · a decoder: each token sees only the tokens before it (the empty upper triangle)" if shown.causal else ""))

# on_change="rerun" tells which tab is open, so only its body runs: moving the layer slider no longer
# redraws the grid of every head or reruns the next-token forward pass behind closed tabs.
head, grid, mean, roll, origin, static, internals = st.tabs(
    ["One head", "All heads", "Mean over heads", "Rollout", "From one token", "Contextual vs static", "Next-token guesses"],
    key="att_tabs", on_change="rerun")
if head.open:
    with head:
        a, b = st.columns(2)
        permalink.clamp("att_layer", 0, layers - 1)
        permalink.clamp("att_head", 0, heads - 1)
        layer = a.slider("Layer", 0, layers - 1, layers - 1, key="att_layer")
        h = b.slider("Head", 0, heads - 1, 0, key="att_head")
        fig = plots.attention_heatmap(shown.tokens, shown.tokens, shown.weights[layer, h], f"Layer {layer}, head {h}")
        report.chart(fig, "att_heatmap", f"Attention of {m.spec.label}, layer {layer}, head {h}",
                     {"page": "attention", "uses": (), "settings": {"model": m.spec.id, "text": text}})
        st.download_button("This heatmap as standalone HTML", lambda: fig.to_html(include_plotlyjs=True).encode(),
                           f"attention-layer{layer}-head{h}.html", "text/html", key="att_html", on_click="ignore")
if grid.open:
    with grid:
        if len(shown.tokens) > 60:
            st.info("The grid of every head is drawn for texts up to 60 tokens; shorten the text to see it.")
        else:
            per = plots.grid_layers(layers, heads)
            first = 0
            if per < layers:  # too many heads for one grid: show a window of layers
                first = st.slider(f"Layers shown ({per} at a time)", 0, layers - per, 0, key="att_grid_first",
                                  help=f"{layers} layers × {heads} heads is more small heatmaps than a browser draws quickly.")
            st.plotly_chart(plots.attention_grid(shown.weights, first), key="att_grid")
            st.caption("Pick a layer and head on the first tab to see one of these up close.")
if mean.open:
    with mean:
        layer_m = st.slider("Layer", 0, layers - 1, layers - 1, key="att_mean_layer")
        st.plotly_chart(plots.attention_heatmap(shown.tokens, shown.tokens, attention.head_mean(shown)[layer_m],
                                                f"Layer {layer_m}, mean over {heads} heads"), key="att_mean")
if roll.open:
    with roll:
        st.caption("Attention rollout (Abnar & Zuidema): attention multiplied through the layers, with the residual "
                   "connection counted — which input tokens each position draws on by the end.")
        rolled = attention.rollout(shown)
        st.plotly_chart(plots.attention_heatmap(shown.tokens, shown.tokens, rolled[-1], "Rollout to the last layer"),
                        key="att_rollout")
if origin.open:
    with origin:
        labels = [f"{i}: {t}" for i, t in enumerate(shown.tokens)]
        # the last token has read the whole text: the first one only sees itself (trivially 1.0)
        pick = st.selectbox("Token", range(len(labels)), len(labels) - 1, format_func=labels.__getitem__,
                            key="att_from")
        st.plotly_chart(plots.attention_heatmap([f"layer {i}" for i in range(layers)], shown.tokens,
                                                attention.from_token(shown, int(pick)), f"Where '{shown.tokens[pick]}' looks",
                                                yaxis="layer"), key="att_from_plot")
if static.open:
    with static:
        contextual.contextual_panel(m)
if internals.open:
    with internals:
        contextual.internals_panel(m, text)

buffer = io.BytesIO()
np.save(buffer, att.weights, allow_pickle=False)
st.download_button("Download the raw attentions (.npy, layers × heads × tokens × tokens)", buffer.getvalue(),
                   "attentions.npy", key="att_npy")
st.caption("Each figure's camera icon saves it as a PNG.")
