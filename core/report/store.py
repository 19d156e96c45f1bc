"""Reports on disk: ``<workspace>/reports/<report id>.json``, one file per report, written atomically.

A report is edited from several sessions at once (two tabs pressing "Add to report"), so every
read-modify-write (``add_item``, ``update``) runs under one lock per workspace folder: each
change starts from the file as the previous change left it, and no item is lost.

Example::

    report = new_report(ws, "Lee corpus")
    add_item(ws, report.id, Item(kind="text", title="A sample", text="…"))
    update(ws, report.id, lambda r: r.move(item_id, -1))
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from core.errors import UserError
from core.report.model import DEFAULT_TITLE, Item, Report, _cut, new_id, valid_id
from core.workspace import Workspace, atomic_write_text

FOLDER = "reports"

_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(ws: Workspace) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(ws.root, threading.Lock())


def _path(ws: Workspace, report_id: str) -> Path:
    if not valid_id(report_id):
        raise UserError(f"{str(report_id)[:80]!r} is not a valid report id (letters and digits only).")
    return ws.root / FOLDER / f"{report_id}.json"


def _read(path: Path, report_id: str) -> Report:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"There is no report {report_id} in the workspace; it may have been deleted.") from None
    except OSError as exc:
        raise UserError(f"Report {report_id} could not be read ({exc}).") from None
    try:
        report = Report.from_dict(json.loads(text))
    except (ValueError, TypeError) as exc:  # UserError is a ValueError
        raise UserError(f"Report {report_id} is damaged ({exc}); delete it and start a new one.") from None
    if report.id != report_id:
        raise UserError(f"Report {report_id} is damaged (its file names another report); delete it and start a new one.")
    return report


def list_reports(ws: Workspace) -> list[Report]:
    """Every readable report, most recently changed first; a damaged file is skipped."""
    folder = ws.root / FOLDER
    found = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        if not valid_id(path.stem):
            continue
        try:
            found.append(_read(path, path.stem))
        except UserError:
            continue
    return sorted(found, key=lambda r: r.updated, reverse=True)


def load_report(ws: Workspace, report_id: str) -> Report:
    return _read(_path(ws, report_id), report_id)


def save_report(ws: Workspace, report: Report) -> None:
    """Write the report whole (atomically). A title or note set directly on the objects is cut here too."""
    report.title = _cut(report.title) if isinstance(report.title, str) else DEFAULT_TITLE
    for item in report.items:
        item.note = _cut(item.note) if isinstance(item.note, str) else ""
    text = json.dumps(report.to_dict(), ensure_ascii=False, separators=(",", ":"))
    atomic_write_text(_path(ws, report.id), text)


def new_report(ws: Workspace, title: str = DEFAULT_TITLE) -> Report:
    report = Report(id=new_id())
    report.set_title(title)
    with _lock(ws):
        save_report(ws, report)
    return report


def update(ws: Workspace, report_id: str, change: Callable[[Report], None]) -> Report:
    """Load the report, apply ``change`` to it and save it, all under the workspace's report lock."""
    with _lock(ws):
        report = load_report(ws, report_id)
        change(report)
        report.touch()
        save_report(ws, report)
        return report


def add_item(ws: Workspace, report_id: str, item: Item) -> Report:
    return update(ws, report_id, lambda report: report.add(item))


def delete_report(ws: Workspace, report_id: str) -> None:
    """Remove a report; one already gone is no error."""
    path = _path(ws, report_id)
    with _lock(ws):
        path.unlink(missing_ok=True)
