"""The Report page's parts: one item with its note and controls, the HTML export, and session bundles."""

from __future__ import annotations

import html
import time

import plotly.graph_objects as go
import streamlit as st

from core.errors import UserError
from core.report.store import update
from ui.access import is_presenter, presenter_only, require
from ui.safe import md

KINDS = ("corpus", "tokens", "vectors", "map", "docmap", "index", "topics", "classifier", "finetune")
MAX_BUNDLE = 2 << 30


def tokens_html(tokens: list[dict]) -> str:
    """Escaped coloured spans, as the export draws them: weights in [0, 1] are probabilities (red → green),
    negative ones push against (red), positive ones for (green)."""
    signed = any(t.get("weight", 0) < 0 for t in tokens)
    spans = []
    for t in tokens:
        w = float(t.get("weight", 0))
        colour = (f"rgba(47,158,68,{min(abs(w), 1) * 0.7:.2f})" if w >= 0 else f"rgba(224,49,49,{min(abs(w), 1) * 0.7:.2f})"
                  ) if signed else f"hsl({int(120 * min(max(w, 0), 1))},75%,82%)"
        spans.append(f'<span title="{html.escape(str(t.get("tip", "")))}" style="background:{colour};'
                     f'padding:1px 1px;border-radius:3px">{html.escape(str(t.get("text", "")))}</span>')
    return '<div style="white-space:pre-wrap;line-height:1.9">' + "".join(spans) + "</div>"


def item(ws, report, it, position: int) -> None:
    with st.container(border=True):
        st.markdown(f"**{position + 1}. {md(it.title)}**")
        if it.kind == "figure":
            try:  # a figure from another plotly version (a bundle) may carry properties this one lacks
                st.plotly_chart(go.Figure(it.figure, skip_invalid=True), key=f"rp_fig_{it.id}")
            except (ValueError, TypeError) as exc:
                st.warning(md(f"This chart cannot be drawn here ({exc}); the export still holds it."))
        elif it.kind == "table":
            st.dataframe(it.table, hide_index=True, width="stretch", key=f"rp_table_{it.id}")
        elif it.kind == "tokens":
            st.html(tokens_html(it.tokens or []))
        else:
            st.text(it.text or "")
        page = it.source.get("page")
        st.caption(md(f"From the {page} page · added {time.strftime('%Y-%m-%d %H:%M', time.localtime(it.created))}")
                   if page else "")
        if not is_presenter():
            if it.note:
                st.text(it.note)
            return
        # Saved when this session changes it (on_change), so a rerun never writes a stale copy over a note
        # another tab saved meanwhile.
        st.text_area("Note (plain text)", it.note, key=f"rp_note_{it.id}", height=80, max_chars=5000,
                     placeholder="What should the reader see here?", on_change=_save_note, args=(ws, report.id, it.id))
        a, b, c, _ = st.columns([1, 1, 1, 5])
        last = position == len(report.items) - 1
        if a.button("Up", key=f"rp_up_{it.id}", icon=":material/arrow_upward:", disabled=position == 0):
            _change(ws, report.id, lambda r: r.move(it.id, -1))
        if b.button("Down", key=f"rp_down_{it.id}", icon=":material/arrow_downward:", disabled=last):
            _change(ws, report.id, lambda r: r.move(it.id, 1))
        if c.button("Remove", key=f"rp_remove_{it.id}", icon=":material/delete:"):
            _change(ws, report.id, lambda r: r.remove(it.id))


def _save_note(ws, report_id: str, item_id: str) -> None:
    require("report")
    note = st.session_state[f"rp_note_{item_id}"]
    update(ws, report_id, lambda r: r.set_note(item_id, note))


def _change(ws, report_id: str, change) -> None:
    require("report")
    update(ws, report_id, change)
    st.rerun()


def export(ws, report) -> None:
    """One HTML file: charts interactive, plotly.js inside, no request to any server; prints clean to PDF."""
    from core.report.html import export_bytes

    a, b = st.columns([1, 3])
    a.download_button("Export as HTML", lambda: export_bytes(ws, report), file_name=f"{_slug(report.title)}.html",
                      mime="text/html", key="rp_export", type="primary", icon=":material/download:",
                      disabled=not report.items, on_click="ignore")
    b.caption("One file with every chart (still interactive), table and note, and an appendix of where each came "
              "from. It opens offline in any browser; e-mail it as it is, or use the browser's Print → Save as PDF.")


def _slug(title: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    return "-".join(filter(None, keep.split("-")))[:60] or "report"


def bundles(ws, report) -> None:
    """Carry artifacts (and this report) to another workspace as one zip, or bring such a zip in."""
    from core import bundle

    with st.expander("Session bundle: move work to another workspace"):
        st.caption("A zip of chosen artifacts with their manifests (and the ones they were made from), plus reports. "
                   "Imported into another Corpus Lab, everything keeps its id: the same links, views and report work "
                   "there.")
        if not presenter_only("import"):
            return
        found = {(kind, m.id): f"{kind} · {m.name}" for kind in KINDS for m in ws.list(kind)}
        chosen = st.multiselect("Artifacts", list(found), format_func=found.get, key="rp_bundle_pick")
        with_report = report is not None and st.checkbox(f"Include the report '{report.title}'", True,
                                                         key="rp_bundle_report")
        try:
            size = sum(f.stat().st_size for kind, aid in bundle.closure(ws, list(chosen))
                       for f in ws.path(kind, aid).rglob("*") if f.is_file())
        except UserError as exc:
            st.error(md(exc))
            return
        if size > MAX_BUNDLE:
            st.error(f"These artifacts come to {size / 2**30:.1f} GB with the ones they were made from; a bundle holds "
                     "at most 2 GB. Choose fewer.")
        elif chosen or with_report:
            st.caption(f"About {size / 2**20:,.1f} MB before compression.")
            st.download_button("Export the bundle (zip)", lambda: bundle.export_bundle(
                ws, list(chosen), [report.id] if with_report else []), file_name="corpus-lab-bundle.zip",
                mime="application/zip", key="rp_bundle_export", on_click="ignore")
        upload = st.file_uploader("Import a bundle", type=["zip"], key="rp_bundle_upload")
        if upload is None:
            return
        data = upload.getvalue()
        try:
            info = bundle.inspect_bundle(data)
        except UserError as exc:
            st.error(md(exc))
            return
        st.caption(md(f"{len(info.artifacts)} artifacts and {len(info.reports)} reports in this bundle."))
        for problem in info.problems:
            st.warning(md(problem))
        if st.button("Import", key="rp_bundle_import", type="primary"):
            require("import")
            try:
                result = bundle.import_bundle(ws, data)
            except UserError as exc:
                st.error(md(exc))
                return
            st.success(md(f"Imported {len(result.added)} artifacts ({len(result.existing)} were here already) and "
                          f"{len(result.reports)} reports."))
            for problem in result.problems:
                st.warning(md(problem))
