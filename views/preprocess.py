"""Preprocess: build a pipeline, watch it work on one document, run it on the corpus."""

import json

import streamlit as st

from core.errors import UserError
from core.jobs import DONE
from core.preprocess import Pipeline, PipelineConfig, compare_normalisers, corpus_language
from core.tokens import KIND, build_tokens, load_report, tokens_id
from ui import cached, demo
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.pipeline_form import pipeline_form
from ui.safe import md
from ui.state import active_corpus_id, active_tokens_id, set_active_tokens, workspace
from ui.token_view import effect_report, tokens_html

PREVIEW_CHARS = 4000
ARTICLE_WORDS = "running, runs, ran, runner, cats, cat, ate, flying, better"


@st.cache_resource(max_entries=8, show_spinner=False)
def pipeline(config_json: str) -> Pipeline:
    # Keyed by the config as a string; the pipeline's per-type cache is then shared by sessions.
    return Pipeline(PipelineConfig.from_dict(json.loads(config_json)))


st.title("Preprocess")
cid = active_corpus_id()
if cid is None:
    st.info("Bring a corpus in first.")
    st.page_link("views/corpus.py", label="Go to the Corpus page", icon=":material/arrow_forward:")
    st.caption("Or see a finished example first:")
    demo.offer(key="pre_demo", primary=False)
    st.stop()
ws = workspace()
docs = cached.documents(cid)

form, preview = st.columns([2, 3], gap="large")
with form:
    config = pipeline_form(corpus_language(cid, docs))
with preview:
    st.subheader("Live preview")
    i = st.number_input("Document #", 0, len(docs) - 1, 0, key="pp_doc")
    text = docs[int(i)].text[:PREVIEW_CHARS]
    try:
        pipe = pipeline(json.dumps(config.to_dict(), sort_keys=True))
        with st.spinner("Running the pipeline on this document…"):  # the first stemmer or WordNet loads once
            traces = pipe.trace(text)
    except UserError as exc:
        st.error(md(exc))
        st.stop()
    show_dropped = st.toggle("Show dropped tokens", value=True, key="pp_show_dropped")
    before, after = st.columns(2)
    with before:
        st.caption("Original")
        st.text(text)
    # Phrases are learned from the whole corpus: a run with these settings knows them, a preview alone cannot.
    previewed = tokens_id(cid, config)
    phrases = frozenset()
    if config.phrases and ws.exists(KIND, previewed):
        phrases = frozenset(p for p, _ in load_report(ws, previewed).get("phrases", []))
    with after:
        st.caption("Tokens")
        st.html(tokens_html(traces, show_dropped, phrases))
        if config.phrases and not ws.exists(KIND, previewed):
            st.caption("Phrases are found in the whole corpus when the pipeline runs; after the run they are "
                       "underlined here and listed in the report.")

st.subheader("Stemmer or lemmatizer?")
words = st.text_input("Words to compare", ARTICLE_WORDS, key="pp_words")
# NLTK's import and WordNet's load take seconds, once per server: in the background, so that the
# preview and the Run button below show at once.
if cached.when_warmed("normalisers", "Loading NLTK's stemmers and WordNet (once per server, a few seconds)…"):
    import pandas as pd  # here, after NLTK: the page's preview and Run button show without it

    table = pd.DataFrame(compare_normalisers(words.split(",")))
    st.dataframe(table, hide_index=True, width="stretch", key="normalisers")
    if not any(c.startswith("WordNet") for c in table.columns):
        st.warning("WordNet is not installed, so only the stemmers are shown. `make run` installs it offline.")

st.subheader("Run on the whole corpus")
job = finished_job("tokens_job")
if job is not None and job.status == DONE:
    set_active_tokens(job.result.id)  # a run finished here: later pages train on it
elif job is not None:
    st.error(md(job.error or "The run was cancelled; nothing was saved."))
tid = tokens_id(cid, config)
if ws.exists(KIND, tid):
    if active_tokens_id() == tid:
        st.caption(md(f"Tokens artifact {tid}: ready for training word embeddings."))
    else:  # run before, by this session or another: using it is the user's choice, not a side effect of a visit
        st.caption(md(f"These settings were run before (tokens artifact {tid}); later pages use another run now."))
        if st.button("Use these tokens", type="primary", key="pp_use"):
            set_active_tokens(tid)
            st.rerun()
    effect_report(load_report(ws, tid))
elif "tokens_job" not in st.session_state:
    st.caption("Same corpus and same settings give the same artifact: a pipeline never runs twice.")
    if presenter_only("train") and st.button("Run pipeline", type="primary", key="pp_run"):
        start_job("tokens_job", "Preprocessing the corpus",
                  lambda ctx: build_tokens(ws, cid, config, ctx=ctx), kind="tokens", key=f"tokens-{tid}")
