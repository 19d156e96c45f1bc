"""A report: charts, tables, texts and coloured tokens a user collects from the pages, with notes.

A report is a mutable document (the user adds, reorders, annotates and removes items), so it is not
an artifact; ``core.report.store`` keeps it as one JSON file. Everything here is plain data that
survives ``json.dumps``: a figure is plotly's own JSON (``json.loads(fig.to_json())``).

Example::

    item = Item(kind="figure", title="Word map", figure=json.loads(fig.to_json()),
                source={"page": "map", "artifacts": [["map", map_id]], "settings": {"colour": "cluster"}})
    report = Report(id=new_id())
    report.add(item)
    report.set_note(item.id, "The clusters follow the topics.")
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field

from core.errors import UserError

ITEM_KINDS = ("figure", "table", "text", "tokens")
MAX_CHARS = 5_000  # a title or a note longer than this is cut
MAX_ITEMS = 200
DEFAULT_TITLE = "Corpus Lab report"
_PAYLOAD = {"figure": "figure", "table": "table", "text": "text", "tokens": "tokens"}


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def valid_id(value: object) -> bool:
    """Letters and digits only (1–64): an id can never name a path outside its folder."""
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isalnum()


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS]


def _cell(value):
    """A table cell as JSON data: str, int, float, bool or None; NumPy scalars become Python ones."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            value = item()
        except (TypeError, ValueError):
            return str(value)
        if value is None or isinstance(value, str | bool | int | float):
            return value
    return str(value)


def _as_figure(figure):
    """Plotly's JSON for a figure; a ``go.Figure`` is accepted too and turned into its JSON."""
    if figure is None or isinstance(figure, dict):
        return figure
    to_json = getattr(figure, "to_json", None)
    if callable(to_json):
        import json

        return json.loads(to_json())
    return figure


@dataclass
class Item:
    kind: str  # one of ITEM_KINDS
    title: str
    figure: dict | None = None  # plotly JSON: json.loads(fig.to_json())
    table: list[dict] | None = None  # rows; values str/int/float/None
    text: str | None = None  # plain text, always shown escaped
    tokens: list[dict] | None = None  # [{"text": str, "weight": float, "tip": str}]
    note: str = ""  # the user's plain-text note
    source: dict = field(default_factory=dict)  # {"page": ..., "artifacts": [[kind, id], ...], "settings": {...}}
    id: str = field(default_factory=new_id)
    created: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.figure = _as_figure(self.figure)
        if self.table is not None and isinstance(self.table, list):
            self.table = [{str(k): _cell(v) for k, v in row.items()} if isinstance(row, dict) else row for row in self.table]
        if self.tokens is not None and isinstance(self.tokens, list):
            self.tokens = [_token(t) if isinstance(t, dict) else t for t in self.tokens]
        self._check()
        if self.source.get("artifacts"):
            self.source = {**self.source, "artifacts": [list(a) for a in self.source["artifacts"]]}
        self.title = _cut(self.title)
        self.note = _cut(self.note)

    def _check(self) -> None:
        if self.kind not in ITEM_KINDS:
            raise UserError(f"A report item must be one of {', '.join(ITEM_KINDS)}, not {self.kind!r}.")
        if not isinstance(self.title, str) or not isinstance(self.note, str):
            raise UserError("A report item's title and note must be text.")
        if not valid_id(self.id):
            raise UserError(f"{self.id!r} is not a valid report item id (letters and digits only).")
        if not isinstance(self.created, int | float) or isinstance(self.created, bool) or not math.isfinite(self.created):
            raise UserError("A report item's creation time must be a number.")
        payload = getattr(self, _PAYLOAD[self.kind])
        if payload is None:
            raise UserError(f"A {self.kind} item needs its {self.kind}; this one is empty.")
        if self.figure is not None and not (isinstance(self.figure, dict) and isinstance(self.figure.get("data", []), list)
                                            and isinstance(self.figure.get("layout", {}), dict)):
            raise UserError("A figure item must hold a plotly figure as JSON (a dict with 'data' and 'layout').")
        if self.table is not None:
            if not isinstance(self.table, list) or not all(isinstance(row, dict) for row in self.table):
                raise UserError("A table item must hold a list of rows, each a dict of column → value.")
        if self.text is not None and not isinstance(self.text, str):
            raise UserError("A text item must hold text.")
        if self.tokens is not None:
            if not isinstance(self.tokens, list) or not all(isinstance(t, dict) for t in self.tokens):
                raise UserError("A tokens item must hold a list of tokens, each with its text, weight and tip.")
        if not isinstance(self.source, dict):
            raise UserError("A report item's source must be a dict (page, artifacts, settings).")
        artifacts = self.source.get("artifacts", [])
        if not isinstance(artifacts, list) or not all(
                isinstance(a, list | tuple) and len(a) == 2 and all(isinstance(x, str) for x in a) for a in artifacts):
            raise UserError("A report item's source artifacts must be a list of [kind, id] pairs.")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "title": self.title, "figure": self.figure, "table": self.table, "text": self.text,
                "tokens": self.tokens, "note": self.note, "source": self.source, "id": self.id, "created": self.created}

    @classmethod
    def from_dict(cls, d: dict) -> Item:
        if not isinstance(d, dict):
            raise UserError("A report item must be a JSON object.")
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        if "kind" not in known or "title" not in known:
            raise UserError("A report item needs a kind and a title.")
        return cls(**known)


def _token(t: dict) -> dict:
    text, weight, tip = t.get("text"), t.get("weight", 0.0), t.get("tip", "")
    weight = _cell(weight)
    if not isinstance(text, str) or not isinstance(tip, str) or isinstance(weight, bool) \
            or not isinstance(weight, int | float) or not math.isfinite(weight):
        raise UserError("Each token needs its text (text), a finite weight (number) and a tip (text).")
    return {"text": text, "weight": float(weight), "tip": tip}


@dataclass
class Report:
    id: str = field(default_factory=new_id)
    title: str = DEFAULT_TITLE
    items: list[Item] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = 0.0

    def __post_init__(self) -> None:
        if not valid_id(self.id):
            raise UserError(f"{self.id!r} is not a valid report id (letters and digits only).")
        if not isinstance(self.title, str):
            raise UserError("A report's title must be text.")
        if not isinstance(self.items, list) or not all(isinstance(i, Item) for i in self.items):
            raise UserError("A report's items must be a list of report items.")
        if len(self.items) > MAX_ITEMS:
            raise UserError(f"A report holds at most {MAX_ITEMS} items; this one has {len(self.items)}.")
        for stamp in (self.created, self.updated):
            if not isinstance(stamp, int | float) or isinstance(stamp, bool) or not math.isfinite(stamp):
                raise UserError("A report's creation and update times must be numbers.")
        self.title = _cut(self.title)
        self.updated = self.updated or self.created

    # edits ------------------------------------------------------------------------------------
    def touch(self) -> None:
        self.updated = max(time.time(), self.updated)

    def add(self, item: Item) -> None:
        if len(self.items) >= MAX_ITEMS:
            raise UserError(f"This report already holds {MAX_ITEMS} items, the most a report can hold: "
                            "remove some, or start a new report.")
        if any(i.id == item.id for i in self.items):
            raise UserError("This item is already in the report.")
        self.items.append(item)
        self.touch()

    def remove(self, item_id: str) -> None:
        """Remove an item; removing one that is already gone (another tab did) is no error."""
        kept = [i for i in self.items if i.id != item_id]
        if len(kept) != len(self.items):
            self.items = kept
            self.touch()

    def move(self, item_id: str, delta: int) -> None:
        """Move an item ``delta`` places (-1 up, +1 down), stopping at either end."""
        at = self._index(item_id)
        to = min(max(at + int(delta), 0), len(self.items) - 1)
        if to != at:
            self.items.insert(to, self.items.pop(at))
            self.touch()

    def set_note(self, item_id: str, note: str) -> None:
        if not isinstance(note, str):
            raise UserError("A note must be text.")
        self.items[self._index(item_id)].note = _cut(note)
        self.touch()

    def set_title(self, title: str) -> None:
        if not isinstance(title, str):
            raise UserError("A report's title must be text.")
        self.title = _cut(title.strip() or DEFAULT_TITLE)
        self.touch()

    def item(self, item_id: str) -> Item:
        return self.items[self._index(item_id)]

    def _index(self, item_id: str) -> int:
        for at, i in enumerate(self.items):
            if i.id == item_id:
                return at
        raise UserError("That item is no longer in the report (another tab may have removed it); reload the report.")

    # JSON -------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "items": [i.to_dict() for i in self.items],
                "created": self.created, "updated": self.updated}

    @classmethod
    def from_dict(cls, d: dict) -> Report:
        if not isinstance(d, dict):
            raise UserError("A report must be a JSON object.")
        items = d.get("items", [])
        if not isinstance(items, list):
            raise UserError("A report's items must be a list.")
        known = {k: d[k] for k in ("id", "title", "created", "updated") if k in d}
        if "id" not in known:
            raise UserError("A report needs an id.")
        return cls(items=[Item.from_dict(i) for i in items], **known)
