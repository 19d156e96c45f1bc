"""'Bring a corpus': upload, paste or pick a sample; reading runs as a job."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

import pandas as pd
import streamlit as st

from core.corpus.decode import COMMON_ENCODINGS
from core.corpus.readers import (
    LABEL_FIELD_GUESSES,
    SPLITS,
    TEXT_FIELD_GUESSES,
    UPLOAD_TYPES,
    ReadOptions,
    Source,
    guess_field,
    inspect_source,
)
from core.corpus.samples import SAMPLES
from core.corpus.store import ingest_sample, ingest_sources
from core.jobs import CANCELLED, DONE, JobContext
from core.stats import plural
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import flash, set_active_corpus, workspace

NO_LABEL = "(no label)"


def render(expanded: bool) -> None:
    job = finished_job("ingest_job")
    if job is not None:
        _finish(job)
    if not presenter_only("upload"):
        return
    with st.expander("Bring a corpus", expanded=expanded, icon=":material/upload_file:"):
        upload, paste, sample = st.tabs(["Upload files", "Paste text", "Bundled sample"])
        with upload:
            _upload_tab()
        with paste:
            _paste_tab()
        with sample:
            _sample_tab()


def _upload_tab() -> None:
    files = st.file_uploader(
        "Text, Markdown, CSV/TSV, JSON/JSONL, PDF, DOCX, or a zip of those — several at once",
        type=UPLOAD_TYPES, accept_multiple_files=True, key="uploads",
    )
    if not files:
        return
    sources = [Source(f.name, f.getvalue()) for f in files]
    choice = st.selectbox("Encoding", ["detect"] + COMMON_ENCODINGS, key="encoding",
                          help="Detected per file (shown below). Override it if the text looks garbled.")
    encoding = None if choice == "detect" else choice
    infos = [i for f, s in zip(files, sources, strict=True) for i in _inspect(f.file_id, encoding, s)]
    st.dataframe(pd.DataFrame([{"file": i.name, "kind": i.kind, "encoding": i.encoding or "",
                                "fields": ", ".join(i.fields[:12]), "problem": i.problem or ""} for i in infos]),
                 hide_index=True, width="stretch")
    fields = list(dict.fromkeys(f for i in infos for f in i.fields))
    text_field = label_field = None
    if fields:
        left, right = st.columns(2)
        guess = guess_field(fields, TEXT_FIELD_GUESSES)
        text_field = left.selectbox("Text column / field", fields, index=fields.index(guess) if guess else None,
                                    placeholder="Choose the column that holds the text", key="text_field")
        labels = [NO_LABEL] + [f for f in fields if f != text_field]
        label_guess = guess_field(labels, LABEL_FIELD_GUESSES)
        label_field = right.selectbox("Label column (optional)", labels,
                                      index=labels.index(label_guess) if label_guess else 0, key="label_field")
        label_field = None if label_field == NO_LABEL else label_field
    split = "file"
    if any(i.kind in ("text", "pdf", "docx") for i in infos):
        split = st.radio("Plain-text files become", list(SPLITS), format_func=SPLITS.get, horizontal=True,
                         key="upload_split")
    default_name = PurePosixPath(files[0].name).stem + (f" + {len(files) - 1} more" if len(files) > 1 else "")
    name = st.text_input("Corpus name", value=default_name, key="upload_name")
    unreadable = all(i.problem for i in infos)
    if unreadable:
        what = "None of these files can" if len(infos) > 1 else "This file cannot"
        st.caption(f"{what} be read (see the problem column), so there is nothing to load.")
    if st.button("Load corpus", type="primary", key="load_upload", disabled=unreadable):
        if fields and text_field is None:
            st.error("Choose the column or field that holds the text first.")
            return
        options = ReadOptions(split=split, text_field=text_field, label_field=label_field, encoding=encoding)
        ws = workspace()
        _submit(f"Reading {plural(len(sources), 'file')}",
                lambda ctx: ingest_sources(ws, sources, options, name=name or default_name, ctx=ctx))


@st.cache_data(max_entries=64, show_spinner=False)
def _inspect(file_id: str, encoding: str | None, _source: Source):
    return inspect_source(_source, encoding)


def _paste_tab() -> None:
    text = st.text_area("Paste text", height=200, key="paste_text",
                        placeholder="Paste any text here: articles, reviews, notes…")
    split = st.radio("The text becomes", list(SPLITS), index=1, format_func=SPLITS.get, horizontal=True,
                     key="paste_split")
    name = st.text_input("Corpus name", value="pasted text", key="paste_name")
    if st.button("Load pasted text", type="primary", key="load_paste"):
        if not text.strip():
            st.error("There is no text to load: paste some first.")
            return
        source = Source("pasted text", text.encode("utf-8"))
        options, ws = ReadOptions(split=split), workspace()
        _submit("Reading pasted text",
                lambda ctx: ingest_sources(ws, [source], options, name=name or "pasted text", ctx=ctx))


def _sample_tab() -> None:
    key = st.radio("Sample", list(SAMPLES), format_func=lambda k: SAMPLES[k].title, key="sample_key")
    st.caption(SAMPLES[key].description)
    if st.button("Load sample", type="primary", key="load_sample"):
        ws = workspace()
        _submit(f"Loading {SAMPLES[key].title}", lambda ctx: ingest_sample(ws, key, ctx=ctx), key=f"sample-{key}")


def _submit(title: str, work: Callable[[JobContext], object], key: str | None = None) -> None:
    start_job("ingest_job", title, work, kind="ingest", key=key)


def _finish(job) -> None:
    if job.status == DONE:
        set_active_corpus(job.result.id)
        # What was skipped is shown by the Corpus page with the corpus itself, not flashed once.
        flash("success", f"Loaded {md(job.result.name)}: {plural(job.result.metrics.get('documents', 0), 'document')}.")
    elif job.status == CANCELLED:
        flash("info", "Loading was cancelled; nothing was changed.")
    else:
        flash("error", md(job.error or "Loading failed."))
    st.rerun()
