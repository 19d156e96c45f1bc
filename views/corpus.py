"""Corpus: bring a corpus in, see what it is, keep it."""

import re

import pandas as pd
import streamlit as st

from core import plots
from core.corpus.store import KIND, jsonl_path
from core.stats import compute_stats, concordance, detect_language, plural, stopwords, stopwords_name, top_words
from ui import cached, demo, ingest, report
from ui.access import confirmed_delete, presenter_only
from ui.safe import md
from ui.state import active_corpus_id, set_active_corpus, show_flash, workspace

PREVIEW_CHARS = 20_000  # a 50 MB one-line document must not be sent to the browser whole
SHOWN_PROBLEMS = 10


@st.cache_resource(max_entries=4, show_spinner="Counting words…")
def _recounted(root: str, cid: str) -> dict:
    """Statistics of a corpus saved before they knew its language: English ones only gain the
    language's name; any other language is counted again (in jieba words for Chinese), in memory."""
    data = cached.stats(cid)
    texts = [d.text for d in cached.documents(cid)]
    language = detect_language(texts)
    if language in ("english", "unknown"):
        return {**data, "summary": {**data["summary"], "language": language, "stopwords": stopwords_name(language)}}
    fresh = compute_stats(texts, language=language)
    return {**data, "summary": fresh.summary, "top_words": fresh.top_words, "frequencies": fresh.frequencies,
            "doc_lengths": fresh.doc_lengths}


@st.cache_data(max_entries=16, show_spinner="Searching…")
def _kwic(root: str, cid: str, query: str, width: int, whole: bool, language: str):
    # Cached: a Chinese whole-word search runs jieba around every hit, and every rerun redraws this tab.
    return concordance([d.text for d in cached.documents(cid)], query, width=width, whole_word=whole,
                       language=language)

st.title("Corpus")
cid = active_corpus_id()
ingest.render(expanded=cid is None)
show_flash()
if cid is None:
    st.info("No corpus yet: upload files, paste text or pick a bundled sample above.")
    st.caption("Or see the whole journey on a sample first, from text to a map of its words:")
    demo.offer(key="corpus_demo", primary=False)
    st.stop()

ws = workspace()
manifest = ws.manifest(KIND, cid)
data = cached.stats(cid)
if "language" not in data["summary"]:
    data = _recounted(str(ws.root), cid)
s = data["summary"]
language = s["language"]
st.subheader(md(manifest.name))
# Kept with the corpus (its reports are saved in the artifact), so they stay as long as it is active.
problems = [f"{r['name']}: {p}" for r in data["reports"] for p in r["problems"]]
if problems:
    more = len(problems) - SHOWN_PROBLEMS
    st.warning(md("Some input was skipped when this corpus was read — " + " ".join(problems[:SHOWN_PROBLEMS])
                  + (f" …and {plural(more, 'more problem')} (see Sources)." if more > 0 else "")),
               icon=":material/warning:")
words_are = "words cut by jieba" if language == "chinese" else "words"
cols = st.columns(7)
cols[0].metric("Documents", f"{s['documents']:,}")
cols[1].metric("Tokens", f"{s['tokens']:,}", help=f"Running {words_are}.")
cols[2].metric("Types", f"{s['types']:,}")
cols[3].metric("Type/token", f"{s['type_token_ratio']:.3f}")
cols[4].metric("Hapax", f"{s['hapax']:,}", help="Words that occur exactly once.")
cols[5].metric("Mean length", f"{s['mean_length']:,.1f}", help="Words per document.")
cols[6].metric("Median length", f"{s['median_length']:,.0f}")
report.add_button("corpus_stats", "Corpus statistics",
                  lambda: report.table([{k: s[k] for k in ("documents", "tokens", "types", "type_token_ratio", "hapax",
                                                          "mean_length", "median_length")}]), {"page": "corpus"})
if language == "unknown":
    st.caption("Language not recognised: counted as words between spaces and punctuation.")
else:
    st.caption(f"Language: {language.capitalize()} (detected) · counted in {words_are}.")

# Only the open tab's body runs and is drawn (on_change="rerun" makes .open known): a corpus's statistics
# show without the browser first laying out three charts and three tables behind closed tabs.
words, zipf, lengths, browse, kwic, sources, manage = st.tabs(
    ["Top words", "Zipf", "Lengths", "Documents", "Concordance", "Sources", "Manage"], key="corpus_tabs",
    on_change="rerun")

if words.open:
    with words:
        n = st.slider("How many words", 10, 100, 30, key="top_n")
        drop = st.toggle("Remove stopwords", value=True, key="drop_stopwords")
        st.caption(f"Stopwords: {s['stopwords']}.")
        shown = top_words(data["top_words"], n, stopwords(language) if drop else frozenset())
        title = "Top word" if len(shown) == 1 else f"Top {len(shown)} words"
        report.chart(plots.top_words_bar(shown, title), "top_words_chart", title, {"page": "corpus"})

if zipf.open:
    with zipf:
        exponent = s["zipf_exponent"]
        report.chart(plots.zipf_plot(data["frequencies"], exponent, s["zipf_intercept"]), "zipf_chart", "Zipf's law",
                     {"page": "corpus"})
        if exponent is None:
            st.caption("Too few repeated words to fit Zipf's law.")
        else:
            st.caption(f"Fitted exponent s = {exponent:.2f} (frequency ∝ rank^−s, fitted on words seen more than "
                       "once). Natural language is usually close to 1.")

if lengths.open:
    with lengths:
        report.chart(plots.length_histogram(data["doc_lengths"]), "length_chart", "Document lengths", {"page": "corpus"})

if browse.open:
    docs = cached.documents(cid)
    with browse:
        labels = data["labels"]
        label = st.selectbox("Label", ["(all)"] + labels, key="browse_label") if labels else "(all)"
        indices = [i for i, d in enumerate(docs) if label == "(all)" or d.label == label]
        table = pd.DataFrame({"#": indices, "source": [docs[i].source for i in indices[:10_000]],
                              "label": [docs[i].label or "" for i in indices[:10_000]],
                              "words": data["doc_lengths"][indices[:10_000]],
                              "start": [docs[i].text[:120] for i in indices[:10_000]]} if indices else {})
        st.dataframe(table, hide_index=True, width="stretch", height=260)
        if indices:
            pick = st.number_input("Document #", min_value=0, max_value=len(docs) - 1, value=indices[0], key="doc_pick")
            doc = docs[int(pick)]
            st.caption(md(f"{doc.source}" + (f" · label {doc.label}" if doc.label else "")))
            st.text(doc.text[:PREVIEW_CHARS])
            if len(doc.text) > PREVIEW_CHARS:
                st.caption(f"Showing the first {PREVIEW_CHARS:,} of {len(doc.text):,} characters.")

if kwic.open:
    with kwic:
        left, mid, right = st.columns([3, 1, 1])
        query = left.text_input("Find a word or phrase", key="kwic_query", placeholder="e.g. bank")
        width = mid.number_input("Context (characters)", 10, 200, 50, key="kwic_width")
        whole = right.toggle("Whole words", value=True, key="kwic_whole")
        if query.strip():
            hits, total = _kwic(str(ws.root), cid, query, int(width), whole, language)
            st.caption(plural(total, "occurrence") + (f"; showing the first {len(hits):,}" if total > len(hits) else "")
                       + ("; whole words as jieba cuts them" if whole and language == "chinese" else ""))
            st.dataframe(pd.DataFrame([{"doc": h.document, "left": h.left, "match": h.match, "right": h.right}
                                       for h in hits]), hide_index=True, width="stretch",
                         column_config={"left": st.column_config.TextColumn(width="large"),
                                        "right": st.column_config.TextColumn(width="large")})

if sources.open:
    with sources:
        st.dataframe(pd.DataFrame([{"source": r["name"], "kind": r["kind"], "encoding": r["encoding"] or "",
                                    "documents": r["documents"], "problems": " ".join(r["problems"])}
                                   for r in data["reports"]]), hide_index=True, width="stretch")

if manage.open:
    with manage:
        st.caption(md(f"Artifact {cid} in {ws.path(KIND, cid)}"))
        st.download_button("Download as JSONL", data=lambda: jsonl_path(ws, cid).read_bytes(),
                           file_name=re.sub(r"[^\w.-]+", "_", manifest.name) + ".jsonl", mime="application/jsonl",
                           key="download_jsonl", on_click="ignore")
        if presenter_only("delete"):
            if confirmed_delete("Yes, delete this corpus from the workspace", "Delete corpus", key="delete_corpus",
                                confirm_key="confirm_delete"):
                ws.delete(KIND, cid)
                set_active_corpus(None)
                st.rerun()
