"""Reports: the charts, tables and texts a user collects, exported as one standalone HTML file.

``model`` (Item, Report), ``store`` (one JSON file per report under ``<workspace>/reports``),
``html`` (the offline HTML writer) and ``slim`` (big maps made small without losing a point).
"""

from core.report.html import export_bytes, export_html
from core.report.model import ITEM_KINDS, MAX_CHARS, MAX_ITEMS, Item, Report
from core.report.slim import slim_figure
from core.report.store import add_item, delete_report, list_reports, load_report, new_report, save_report, update

__all__ = ["ITEM_KINDS", "MAX_CHARS", "MAX_ITEMS", "Item", "Report", "add_item", "delete_report", "export_bytes",
           "export_html", "list_reports", "load_report", "new_report", "save_report", "slim_figure", "update"]
