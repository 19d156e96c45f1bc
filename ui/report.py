"""Add to report: one click under a chart or table puts it in the workspace's current report (the Report
page orders, annotates and exports it). Items are built only on the click: a 50,000-word map's JSON is not
made on every run."""

from __future__ import annotations

import json
from collections.abc import Callable

import streamlit as st

from core.errors import UserError
from ui.access import presenter_only, require
from ui.safe import md
from ui.state import workspace

CURRENT = "current_report"


def current_report(ws):
    """The report new items go to: the one last chosen in this workspace, else the newest, else a new one."""
    from core.report.store import list_reports, load_report, new_report

    chosen = ws.get_state(CURRENT)
    if chosen:
        try:
            return load_report(ws, chosen)
        except UserError:
            pass
    reports = list_reports(ws)
    report = reports[0] if reports else new_report(ws)
    ws.set_state(CURRENT, report.id)
    return report


def add_button(key: str, title: str, make: Callable[[], dict], source: dict | None = None) -> None:
    """An "Add to report" button; ``make()`` returns the item's body fields (figure/table/text/tokens)."""
    if not presenter_only("report"):
        return
    if st.button("Add to report", key=f"{key}_report", icon=":material/note_add:", type="tertiary",
                 help="Put this in the report (the Report page exports it as one HTML file that opens offline)."):
        require("report")
        from core.report.model import Item
        from core.report.store import add_item

        ws = workspace()
        body = make()
        report = add_item(ws, current_report(ws).id, Item(title=title, source=_source(source), **body))
        n = len(report.items)
        st.toast(md(f"Added '{title}' to the report '{report.title}' ({n} item{'' if n == 1 else 's'})."),
                 icon=":material/note_add:")


def figure(fig) -> dict:
    return {"kind": "figure", "figure": json.loads(fig.to_json())}


def table(rows) -> dict:
    """Rows from a list of dicts or a DataFrame, values made JSON-safe."""
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    return {"kind": "table", "table": json.loads(json.dumps(list(rows), default=str))}


def chart(fig, key: str, title: str, source: dict | None = None, **kwargs):
    """``st.plotly_chart`` with an Add to report button under it; returns the chart's event."""
    event = st.plotly_chart(fig, key=key, **kwargs)
    add_button(key, title, lambda: figure(fig), source)
    return event


def _source(source: dict | None) -> dict:
    """Where an item came from: the page, the session's active artifacts, and what the caller adds."""
    from ui.state import active_corpus_id, active_tokens_id, active_vectors_id

    source = dict(source or {})
    artifacts = [list(a) for a in source.get("artifacts", [])]
    for kind, aid in (("corpus", active_corpus_id()), ("tokens", active_tokens_id()), ("vectors", active_vectors_id())):
        if aid and [kind, aid] not in artifacts and kind in source.get("uses", ("corpus",)):
            artifacts.append([kind, aid])
    source.pop("uses", None)
    source["artifacts"] = artifacts
    return source
