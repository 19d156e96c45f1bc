"""Bring pretrained vectors in (safe formats only) and take a model out in common formats."""

from __future__ import annotations

import io
import re
import tempfile
import uuid
import zipfile
from pathlib import Path

import streamlit as st

from core.embeddings.store import KIND, import_file
from core.embeddings.vector_files import export_vectors
from core.jobs import DONE
from ui.access import presenter_only
from ui.jobs import finished_job, start_job
from ui.safe import md
from ui.state import flash, set_active_vectors, workspace

FORMATS = {
    "auto": "Detect",
    "word2vec-text": "word2vec text (header line)",
    "word2vec-binary": "word2vec binary",
    "glove-text": "GloVe text (no header)",
    "fasttext-vec": "fastText .vec",
}
EXPORTS = {
    "word2vec-text": ("word2vec text", "vectors.txt"),
    "word2vec-binary": ("word2vec binary", "vectors.bin"),
    "glove-text": ("GloVe text", "vectors.glove.txt"),
    "projector": ("Embedding Projector TSV pair", "projector.zip"),
}


def import_panel() -> None:
    st.subheader("Import pretrained vectors")
    st.caption("word2vec text or binary, GloVe text, fastText .vec. Pickled models (.model, .pkl, .pt) are refused: "
               "loading them can run code. Save such a model with `model.wv.save_word2vec_format(\"vectors.bin\", "
               "binary=True)` and import that.")
    ws = workspace()
    job = finished_job("vec_import_job")
    if job is not None:
        if job.status == DONE:
            set_active_vectors(job.result.id)
            flash("success", f"Imported {md(job.result.name)}.")
            st.rerun()
        st.error(md(job.error or "The import was cancelled."))
    if not presenter_only("import"):
        return
    upload = st.file_uploader("Vector file", key="vec_upload")
    a, b = st.columns(2)
    fmt = a.selectbox("Format", list(FORMATS), format_func=FORMATS.get, key="vec_format")
    limit = b.number_input("Read only the first N words (0 = all)", 0, 10_000_000, 0, step=10_000, key="vec_limit",
                           help="Big files such as the 3-million-word Google News vectors: 100,000 is plenty to explore.")
    if upload is not None and "vec_import_job" not in st.session_state and st.button("Import", key="vec_import"):
        # The upload goes to the workspace's temp folder: the job outlives this script run.
        path = ws.root / ".tmp" / f"upload-{uuid.uuid4().hex[:8]}"
        path.write_bytes(upload.getvalue())
        name = upload.name

        def work(ctx):
            try:
                return import_file(ws, path, fmt=fmt, limit=int(limit) or None, name=name, ctx=ctx)
            finally:
                path.unlink(missing_ok=True)

        start_job("vec_import_job", f"Importing {name}", work, kind="vectors")


def _export(kv, fmt: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_vectors(kv, fmt, Path(tmp))
        if len(paths) == 1:
            return paths[0].read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
        return buffer.getvalue()


def export_panel(kv, name: str, vid: str) -> None:
    st.subheader("Export")
    st.caption("The Embedding Projector pair (vectors.tsv + metadata.tsv) loads at projector.tensorflow.org. "
               "Spaces or tabs inside a word become ▁ so no row breaks.")
    stem = re.sub(r"[^\w.-]+", "_", name).strip("_") or vid
    cols = st.columns(len(EXPORTS))
    for col, (fmt, (label, filename)) in zip(cols, EXPORTS.items(), strict=True):
        col.download_button(label, data=lambda fmt=fmt: _export(kv, fmt), file_name=f"{stem}-{filename}",
                            key=f"vec_export_{fmt}", width="stretch", on_click="ignore")
    st.caption(md(f"Model {vid} in {workspace().path(KIND, vid)}"))
