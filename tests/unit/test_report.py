"""Reports: the model's edits and bounds, the store under concurrent adds, and the standalone HTML export."""

from __future__ import annotations

import base64
import json
import re
import threading

import numpy as np
import plotly.graph_objects as go
import pytest

from core.errors import UserError
from core.report import (
    MAX_CHARS,
    MAX_ITEMS,
    Item,
    Report,
    add_item,
    delete_report,
    export_bytes,
    export_html,
    list_reports,
    load_report,
    new_report,
    save_report,
    slim_figure,
    update,
)
from core.report.html import MAX_TABLE_ROWS, plotly_js
from core.report.slim import decode, points_in
from core.workspace import Workspace

XSS_NOTE = "<script>alert(1)</script>"
XSS_TRACE = "</script><b>x"
XSS_CELL = "<img src=x onerror=alert(1)>"


def text_item(title="t", **kw) -> Item:
    return Item(kind="text", title=title, text="hello", **kw)


def bar_figure(name="bars") -> dict:
    return json.loads(go.Figure(go.Bar(x=["a", "b"], y=[1, 2], name=name)).to_json())


def typed(array: np.ndarray) -> dict:
    return {"dtype": "f8", "bdata": base64.b64encode(array.astype("<f8").tobytes()).decode()}


def word_map(n: int, seed: int = 0) -> dict:
    """A map figure as the Map page makes it (typed f8 coordinates, row number + a hover column in
    customdata, a constant per-point size), built as JSON directly so the test stays fast."""
    rng = np.random.default_rng(seed)
    return {"data": [{"type": "scattergl", "mode": "markers", "name": "words", "x": typed(rng.normal(size=n)),
                      "y": typed(rng.normal(size=n)), "text": [f"w{i}" for i in range(n)],
                      "customdata": [[i, int(c)] for i, c in enumerate(rng.integers(1, 99, n))],
                      "hovertemplate": "<b>%{text}</b><br>count: %{customdata[1]}<extra></extra>",
                      "ids": [str(i) for i in range(n)], "marker": {"size": typed(np.full(n, 5.0)), "color": "#4C78A8"}}],
            "layout": {"dragmode": "lasso", "uirevision": "map", "height": 720}}


# --- the model -----------------------------------------------------------------------------------
def test_add_remove_move_and_note():
    report = Report()
    a, b, c = text_item("a"), text_item("b"), text_item("c")
    for item in (a, b, c):
        report.add(item)
    assert [i.title for i in report.items] == ["a", "b", "c"]
    report.move(c.id, -1)
    assert [i.title for i in report.items] == ["a", "c", "b"]
    report.move(a.id, -1)  # already first: clamped
    report.move(b.id, +5)  # already last: clamped
    assert [i.title for i in report.items] == ["a", "c", "b"]
    report.move(a.id, +10)
    assert [i.title for i in report.items] == ["c", "b", "a"]
    report.set_note(b.id, "worth a look")
    assert report.item(b.id).note == "worth a look"
    report.remove(b.id)
    report.remove(b.id)  # gone already (another tab): no error
    assert [i.title for i in report.items] == ["c", "a"]
    with pytest.raises(UserError, match="no longer in the report"):
        report.set_note(b.id, "x")
    with pytest.raises(UserError, match="no longer in the report"):
        report.move(b.id, 1)
    assert report.updated >= report.created


def test_long_titles_and_notes_are_cut_and_items_are_capped():
    item = Item(kind="text", title="t" * 6000, text="x", note="n" * 9000)
    assert len(item.title) == MAX_CHARS and len(item.note) == MAX_CHARS
    report = Report(title="r" * 7000)
    assert len(report.title) == MAX_CHARS
    report.add(item)
    report.set_note(item.id, "y" * 8000)
    assert len(report.items[0].note) == MAX_CHARS
    for _ in range(MAX_ITEMS - 1):
        report.add(text_item())
    with pytest.raises(UserError, match=f"{MAX_ITEMS} items"):
        report.add(text_item())
    assert len(report.items) == MAX_ITEMS


def test_items_round_trip_and_nonsense_is_refused():
    item = Item(kind="tokens", title="tokens", tokens=[{"text": "a", "weight": np.float32(0.5), "tip": "p"}],
                source={"page": "generate", "artifacts": [("finetune", "abc")], "settings": {"t": 0.7}})
    again = Item.from_dict(json.loads(json.dumps(item.to_dict())))
    assert again == item and again.source["artifacts"] == [["finetune", "abc"]]
    table = Item(kind="table", title="t", table=[{"n": np.int64(3), "f": np.float64(0.5), "s": "x", "none": None}])
    assert json.dumps(table.to_dict())  # NumPy scalars became plain numbers
    from_figure = Item(kind="figure", title="f", figure=go.Figure(go.Bar(x=[1], y=[2])))  # a go.Figure becomes its JSON
    assert from_figure.figure["data"][0]["type"] == "bar" and json.dumps(from_figure.to_dict())
    report = Report(title="r", items=[item, table])
    assert Report.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    good = item.to_dict()
    for bad in ({**good, "kind": "video"}, {**good, "title": 3}, {**good, "kind": "table", "table": "rows"},
                {**good, "tokens": [{"text": "a", "weight": "heavy", "tip": ""}]}, {**good, "source": []},
                {**good, "source": {"artifacts": [["map"]]}}, {**good, "id": "../x"}, {**good, "kind": "figure"},
                {**good, "created": "yesterday"}, "not a dict"):
        with pytest.raises(UserError):
            Item.from_dict(bad)
    with pytest.raises(UserError, match="one of figure, table, text, tokens"):
        Item.from_dict({**good, "kind": "video"})
    with pytest.raises(UserError):
        Report.from_dict({"id": "abc", "items": [{**good, "kind": "video"}]})


# --- the store -----------------------------------------------------------------------------------
def test_store_round_trip_list_and_delete(tmp_path):
    ws = Workspace(tmp_path)
    first = new_report(ws, "First")
    second = new_report(ws, "Second")
    add_item(ws, first.id, text_item("note"))  # the first is now the most recently changed
    assert [r.title for r in list_reports(ws)] == ["First", "Second"]
    loaded = load_report(ws, first.id)
    assert loaded.title == "First" and [i.title for i in loaded.items] == ["note"]
    update(ws, second.id, lambda r: r.set_title("Renamed"))
    assert load_report(ws, second.id).title == "Renamed"
    update(ws, second.id, lambda r: setattr(r, "title", "x" * 9000))  # set directly: still cut when saved
    assert len(load_report(ws, second.id).title) == MAX_CHARS
    loaded.add(text_item("two"))
    save_report(ws, loaded)
    assert len(load_report(ws, first.id).items) == 2
    (tmp_path / "reports" / "abc123.json").write_text("{not json")
    assert {r.id for r in list_reports(ws)} == {first.id, second.id}  # the damaged one is skipped
    with pytest.raises(UserError, match="damaged"):
        load_report(ws, "abc123")
    delete_report(ws, second.id)
    delete_report(ws, second.id)  # gone already: no error
    with pytest.raises(UserError, match="no report"):
        load_report(ws, second.id)


def test_concurrent_adds_keep_every_item(tmp_path):
    ws = Workspace(tmp_path)
    report = new_report(ws)
    barrier = threading.Barrier(8)
    errors = []

    def worker(k: int) -> None:
        try:
            barrier.wait()
            for j in range(5):
                add_item(ws, report.id, text_item(f"{k}-{j}"))
        except Exception as exc:  # reported below, not swallowed by the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    titles = {i.title for i in load_report(ws, report.id).items}
    assert titles == {f"{k}-{j}" for k in range(8) for j in range(5)}


@pytest.mark.parametrize("crafted", ["../../x", "..", "a/b", "x.json", "", "abc\x00", "%2e%2e"])
def test_crafted_ids_cannot_leave_the_folder(tmp_path, crafted):
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(UserError, match="not a valid report id"):
        load_report(ws, crafted)
    with pytest.raises(UserError, match="not a valid report id"):
        delete_report(ws, crafted)
    with pytest.raises(UserError, match="not a valid report id"):
        add_item(ws, crafted, text_item())
    with pytest.raises(UserError):
        Report(id=crafted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]


# --- the export ----------------------------------------------------------------------------------
def outside_bundle(page: str) -> str:
    bundle = plotly_js()
    assert page.count(bundle) <= 1
    return page.replace(bundle, "")


def test_export_escapes_user_and_model_text(tmp_path):
    ws = Workspace(tmp_path)
    report = Report(title=f"Report {XSS_NOTE}")
    report.add(Item(kind="figure", title=f"chart {XSS_NOTE}", figure=bar_figure(XSS_TRACE), note=XSS_NOTE))
    report.add(Item(kind="table", title="table", table=[{"word": XSS_CELL, XSS_CELL: 2}], note=f"line 1\nline 2 {XSS_CELL}"))
    report.add(Item(kind="text", title="text", text=f"generated {XSS_NOTE}\nsecond line"))
    report.add(Item(kind="tokens", title="tokens", tokens=[{"text": XSS_CELL, "weight": -0.5, "tip": f'"{XSS_NOTE}'}]))
    report.add(Item(kind="text", title="settings", text="x", source={"page": "map", "settings": {"q": XSS_NOTE}}))
    page = export_html(ws, report)
    rest = outside_bundle(page)
    for raw in (XSS_NOTE, XSS_TRACE, XSS_CELL):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rest  # the note, shown as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in rest  # the cell and the token
    assert "\\u003c/script\\u003e\\u003cb\\u003ex" in rest  # the trace name inside the figure's JSON
    assert 'title="&quot;&lt;script&gt;' in rest  # the token's tip, in its attribute
    assert "line 1\nline 2" in rest  # newlines kept (white-space: pre-wrap)
    # Exactly the scripts we wrote: plotly.js, the figure data block and the drawing code.
    assert len(re.findall(r"<script\b", page)) == 3
    assert len(re.findall(r"</script>", page)) == 3


def test_export_is_standalone_and_inlines_plotly_once(tmp_path):
    ws = Workspace(tmp_path)
    report = Report()
    report.add(Item(kind="figure", title="map", figure=word_map(2_000)))
    report.add(Item(kind="figure", title="bars", figure=bar_figure()))
    report.add(Item(kind="table", title="rows", table=[{"n": i} for i in range(MAX_TABLE_ROWS + 123)]))
    page = export_bytes(ws, report, now=0).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count(plotly_js()) == 1
    assert page.count("Plotly.newPlot(") == 1  # one drawing loop for every chart
    assert len(re.findall(r'<div class="chart" id="chart-', page)) == 2
    assert "typesetMath: false" in page and "displaylogo: false" in page
    rest = outside_bundle(page)
    assert not re.search(r"https?://", rest)  # no URL at all outside plotly.js (no CDN, font or MathJax)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", rest)
    # plotly.min.js itself holds link and tile URLs as JavaScript strings (its logo link, which
    # displaylogo: false hides; map attributions and tile servers, used by map traces only): text,
    # not requests; the browser test checks that opening the file makes none.
    assert "<link" not in rest and "@import" not in rest and "url(" not in rest
    assert "default-src 'none'" in rest  # the browser itself refuses any request
    assert "@media print" in rest and "break-inside:avoid" in rest and ".modebar" in rest
    assert f"… 123 more rows not shown (the table has {MAX_TABLE_ROWS + 123:,})" in rest
    assert rest.count("<tr>") == MAX_TABLE_ROWS + 1  # the header and the rows shown
    assert "1970-01-01" in rest or "1969-12-31" in rest  # the date given
    no_figures = Report()
    no_figures.add(text_item())
    assert plotly_js() not in export_html(ws, no_figures)


def test_provenance_lists_artifacts_and_the_ones_gone(tmp_path):
    ws = Workspace(tmp_path)
    config = {"vector_size": 32, "method": "word2vec", "note": "<b>not markup</b>"}
    m = ws.create("vectors", "a1b2c3", name="lee vectors", config=config, parents=["tok123"],
                  write=lambda folder: {"verdict": "good"})
    source = {"page": "map", "artifacts": [["vectors", m.id], ["map", "deadbeef"]], "settings": {"colour": "cluster"}}
    report = Report()
    report.add(Item(kind="figure", title="map", figure=bar_figure(), source=source))
    report.add(Item(kind="text", title="again", text="x", source={"artifacts": [["vectors", m.id]]}))
    rest = outside_bundle(export_html(ws, report))
    appendix = rest[rest.index('id="provenance"'):]
    assert "lee vectors" in appendix and "a1b2c3" in appendix and "tok123" in appendix
    assert '&quot;vector_size&quot;: 32' in appendix and "&lt;b&gt;not markup&lt;/b&gt;" in appendix
    assert "corpus_lab" in appendix and "python" in appendix  # versions
    assert "items 1, 2" in appendix
    assert "deadbeef" in appendix and "No longer in the workspace" in appendix
    assert "&quot;colour&quot;: &quot;cluster&quot;" in appendix  # the item's own settings
    ws.delete("vectors", m.id)
    assert "lee vectors" not in export_html(ws, report)


def test_slim_figure_keeps_every_point_and_shrinks_the_json():
    fig = word_map(50_000)
    before = json.dumps(fig)
    slim = slim_figure(fig)
    assert json.dumps(fig) == before  # the input is untouched
    assert points_in(slim) == points_in(fig) == 50_000
    trace, original = slim["data"][0], fig["data"][0]
    assert trace["text"] == original["text"]
    np.testing.assert_allclose(decode(trace["x"]), decode(original["x"]), rtol=1e-6)
    np.testing.assert_allclose(decode(trace["y"]), decode(original["y"]), rtol=1e-6)
    assert trace["x"]["dtype"] == "f4" and "ids" not in trace
    # The row number only served the lasso; the count the hover shows stays, renumbered.
    assert trace["customdata"] == [row[1] for row in original["customdata"]]
    assert trace["hovertemplate"] == "<b>%{text}</b><br>count: %{customdata}<extra></extra>"
    assert trace["marker"]["size"] == 5.0
    assert len(json.dumps(slim)) < 0.6 * len(before)
    # An SVG scatter of many points is drawn with WebGL; customdata no template shows is dropped.
    svg = {"data": [{"type": "scatter", "x": list(range(12_000)), "y": [0.5] * 12_000, "customdata": list(range(12_000)),
                     "hovertext": ["h"] * 12_000}]}
    out = slim_figure(svg)["data"][0]
    assert out["type"] == "scattergl" and "customdata" not in out and out["hovertext"] == ["h"] * 12_000
    assert list(decode(out["x"])) == list(range(12_000))
    small = bar_figure()
    assert slim_figure(small) == small  # under 10,000 points: as it was


def test_slim_keeps_customdata_a_template_shows_whole():
    n = 10_000
    fig = {"data": [{"type": "scattergl", "x": list(range(n)), "y": list(range(n)), "customdata": [[i, i * 2] for i in range(n)],
                     "hovertemplate": "%{customdata}"}]}
    assert slim_figure(fig)["data"][0]["customdata"] == fig["data"][0]["customdata"]
    fig["data"][0]["hovertemplate"] = "%{customdata[1]:.1f} and %{customdata[0]}"
    out = slim_figure(fig)["data"][0]
    assert out["customdata"] == fig["data"][0]["customdata"] and out["hovertemplate"] == fig["data"][0]["hovertemplate"]
