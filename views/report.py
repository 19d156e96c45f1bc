"""Report: what was added from the pages, in order, with a note under each; exported as one HTML file that opens
offline. Session bundles carry artifacts and reports to another workspace."""

import streamlit as st

from core.errors import UserError
from core.report.store import delete_report, list_reports, new_report, update
from ui import report, report_view
from ui.access import is_presenter, presenter_only, require
from ui.safe import md
from ui.state import workspace

st.title("Report")
ws = workspace()
reports = {r.id: r for r in list_reports(ws)}
if not reports:
    st.info("The report is empty. Every chart and key table has an **Add to report** button under it: add a few, "
            "then come back here to order them, write a note under each and export one HTML file.")
    report_view.bundles(ws, None)
    st.stop()
current = report.current_report(ws)
reports.setdefault(current.id, current)
if st.session_state.get("rp_pick") not in reports:  # deleted meanwhile (here or in another tab)
    st.session_state.pop("rp_pick", None)
a, b = st.columns([4, 1])
rid = a.selectbox("Report", list(reports), index=list(reports).index(current.id), key="rp_pick",
                  format_func=lambda i: f"{reports[i].title} · {len(reports[i].items)} items")
if rid != current.id and is_presenter():
    ws.set_state(report.CURRENT, rid)
chosen = reports[rid]


def start_new_report() -> None:  # a callback: it runs before the select box is drawn, so it may set its value
    require("report")
    fresh = new_report(ws)
    ws.set_state(report.CURRENT, fresh.id)
    st.session_state["rp_pick"] = fresh.id


if presenter_only("report"):
    b.button("New report", key="rp_new", icon=":material/add:", on_click=start_new_report)

if is_presenter():
    def save_title() -> None:
        require("report")
        title = st.session_state[f"rp_title_{rid}"].strip()
        if title:
            update(ws, rid, lambda r: r.set_title(title))

    st.text_input("Title", chosen.title, key=f"rp_title_{rid}", max_chars=200, on_change=save_title)
report_view.export(ws, chosen)
if not chosen.items:
    st.info("This report has no items yet: use **Add to report** under a chart or table on any page.")
for position, item in enumerate(chosen.items):
    try:
        report_view.item(ws, chosen, item, position)
    except (UserError, ValueError) as exc:
        st.error(md(exc))
if is_presenter():
    with st.expander("Delete this report"):
        sure = st.checkbox("Yes, delete it", key=f"rp_confirm_{rid}")
        if st.button("Delete", disabled=not sure, key=f"rp_delete_{rid}"):
            require("delete")
            delete_report(ws, rid)
            ws.set_state(report.CURRENT, None)
            st.rerun()
report_view.bundles(ws, chosen)
