"""A report as ONE standalone HTML file: opens offline, prints to clean PDF pages.

- plotly.js is inlined once (the installed plotly package's ``plotly.min.js``), each figure's JSON
  sits in a ``<script type="application/json">`` block with ``<``, ``>`` and ``&`` written as
  ``\\u003c`` etc. (a label holding ``</script>`` stays data), drawn by ``Plotly.newPlot``
  with MathJax off.
- Nothing is fetched: a Content-Security-Policy ``default-src 'none'`` forbids every request
  (scripts and styles are inline; plotly needs ``'unsafe-eval'`` for its WebGL shaders). The
  plotly.js source itself contains URL strings (map tile servers, licence links, the W3C SVG
  namespace); those are fetched only by map/geo traces, never by the charts Corpus Lab draws, and
  the policy would stop them anyway.
- Tables, texts, tokens, notes and settings are escaped (``html.escape``): user and model text
  never becomes markup.
- A provenance appendix lists every artifact the items name (kind, id, name, config, parents,
  versions, created), read from the workspace; a deleted one is listed as gone.
- Print: ``@media print`` keeps each item on one page where it fits, hides plotly's mode bar, and
  a ``beforeprint``/``matchMedia('print')`` handler sizes each chart to the page width.

Example::

    path.write_bytes(export_bytes(ws, load_report(ws, report_id)))
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from functools import lru_cache
from pathlib import Path

from core.errors import UserError
from core.report.model import Item, Report
from core.report.slim import slim_figure
from core.workspace import Workspace

__all__ = ["export_html", "export_bytes", "slim_figure", "plotly_js", "MAX_TABLE_ROWS"]

MAX_TABLE_ROWS = 500
PRINT_WIDTH_PX = 680  # A4 less 15 mm margins each side (Letter is wider)
PRINT_MAX_HEIGHT_PX = 900
DEFAULT_HEIGHT_PX = 450
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; worker-src blob:")
PAGE_NAMES = {"map": "Map", "embeddings": "Embeddings", "corpus": "Corpus", "preprocess": "Preprocess",
              "attention": "Attention", "generate": "Generate", "finetune": "Fine-tune", "analyze": "Analyze",
              "topics": "Topics", "classify": "Classify"}


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The installed plotly package's own plotly.min.js, ready to sit inside a ``<script>``."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"plotly.js is missing from the installed plotly package ({exc}); reinstall plotly.") from None
    # Inside <script>, only "</script" (and "<!--") could end the element early; this bundle holds
    # neither, and "<\/" means the same to JavaScript in the strings and regexes where it could occur.
    return source.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def export_bytes(ws: Workspace, report: Report, *, now=None) -> bytes:
    return export_html(ws, report, now=now).encode("utf-8")


def export_html(ws: Workspace, report: Report, *, now=None) -> str:
    """The report as one self-contained HTML5 page (see the module's doc)."""
    stamp = _date(now if now is not None else dt.datetime.now().timestamp())
    e = html.escape
    figures = [i for i in report.items if i.kind == "figure"]
    n = len(report.items)
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n',  # a constant, no quotes in it
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="Corpus Lab">\n',
        f"<title>{e(report.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        f'<header><h1>{e(report.title)}</h1>\n<p class="meta">Exported from Corpus Lab on {e(stamp)} · '
        f"{n} item{'s' if n != 1 else ''}</p></header>\n",
    ]
    if report.items:
        parts.append('<nav class="toc"><h2>Contents</h2><ol>')
        parts += [f'<li><a href="#item-{e(i.id)}">{e(i.title or _untitled(i))}</a></li>' for i in report.items]
        parts.append('<li class="appendix-link"><a href="#provenance">Where the results come from</a></li></ol></nav>\n')
    else:
        parts.append('<p class="empty">This report is empty.</p>\n')
    for number, item in enumerate(report.items, 1):
        parts.append(_item(item, number))
    parts.append(_provenance(ws, report))
    parts.append("</main>\n")
    if figures:
        parts.append(f"<script>{plotly_js()}</script>\n")
        draw = DRAW.replace("__PRINT_W__", str(PRINT_WIDTH_PX)).replace("__PRINT_H__", str(PRINT_MAX_HEIGHT_PX))
        parts.append(f"<script>{draw}</script>\n")
    parts.append("</body>\n</html>\n")
    return "".join(parts)


# items --------------------------------------------------------------------------------------------
def _item(item: Item, number: int) -> str:
    e = html.escape
    body = {"figure": _figure, "table": _table, "text": _text, "tokens": _tokens}[item.kind](item)
    page = item.source.get("page") if isinstance(item.source, dict) else None
    origin = f"From the {e(PAGE_NAMES.get(page, str(page)))} page · " if page else ""
    note = f'<div class="note">{e(item.note)}</div>\n' if item.note.strip() else ""
    return (f'<section class="item item-{e(item.kind)}" id="item-{e(item.id)}">\n'
            f"<h2><span class=\"num\">{number}.</span> {e(item.title or _untitled(item))}</h2>\n"
            f'{body}{note}<p class="origin">{origin}added {e(_date(item.created))} · '
            f'<a href="#settings-{e(item.id)}">settings and sources</a></p>\n</section>\n')


def _untitled(item: Item) -> str:
    return {"figure": "Chart", "table": "Table", "text": "Text", "tokens": "Tokens"}[item.kind]


def _figure(item: Item) -> str:
    fig = _for_report(slim_figure(item.figure or {}))
    return (f'<div class="chart" id="chart-{item.id}" data-fig="fig-{item.id}"></div>\n'
            f'<script type="application/json" id="fig-{item.id}">{script_json(fig)}</script>\n')


def _for_report(fig: dict) -> dict:
    """What only the app needs goes (a lasso or box drag mode: nothing to select here; uirevision);
    a height is set where the figure sets none."""
    layout = dict(fig.get("layout") or {})
    if layout.get("dragmode") in ("lasso", "select"):
        layout["dragmode"] = "zoom"
    layout.pop("uirevision", None)
    # A chart that sets no height would take its box's (responsive: true reads the container): give it
    # plotly's and Streamlit's own default.
    layout.setdefault("height", DEFAULT_HEIGHT_PX)
    images = layout.get("images")
    if isinstance(images, list):  # a picture from a URL would be a request: keep embedded ones only
        layout["images"] = [i for i in images if isinstance(i, dict) and str(i.get("source", "")).startswith("data:")]
    return {"data": fig.get("data") or [], "layout": layout}


def script_json(value) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` left to end it early."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or infinity: JSON has no such numbers, JSON.parse would refuse the block
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES)


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _table(item: Item) -> str:
    e = html.escape
    rows = item.table or []
    columns: dict[str, None] = {}
    for row in rows[:MAX_TABLE_ROWS]:
        columns.update(dict.fromkeys(row))
    if not rows:
        return '<p class="empty">(an empty table)</p>\n'
    head = "".join(f"<th>{e(str(c))}</th>" for c in columns)
    body = []
    for row in rows[:MAX_TABLE_ROWS]:
        cells = []
        for c in columns:
            value = row.get(c)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(f'<td class="n">{e(_cell(value))}</td>' if numeric else f"<td>{e(_cell(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = len(rows) - MAX_TABLE_ROWS
    tail = (f'<p class="more">… {more:,} more row{"s" if more != 1 else ""} not shown '
            f"(the table has {len(rows):,}).</p>\n") if more > 0 else ""
    return (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>\n<tbody>{"".join(body)}</tbody></table></div>\n'
            f"{tail}")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".6g") if math.isfinite(value) else str(value)
    return str(value)


def _text(item: Item) -> str:
    return f'<div class="text">{html.escape(item.text or "")}</div>\n'


def _tokens(item: Item) -> str:
    tokens = item.tokens or []
    signed = any(t["weight"] < 0 for t in tokens)
    spans = []
    for t in tokens:
        w = t["weight"]
        if signed:  # -1 red … 0 none … +1 green, as the Classify page draws a model's reasons
            alpha = min(1.0, abs(w)) * 0.75
            colour = f"rgba(47,158,68,{alpha:.2f})" if w > 0 else f"rgba(224,49,49,{alpha:.2f})"
        else:  # a probability: 0 red … 1 green, as the Generate page draws tokens
            colour = f"hsl({int(120 * min(max(w, 0.0), 1.0))},75%,82%)"
        tip = f' title="{html.escape(t["tip"], quote=True)}"' if t["tip"] else ""
        spans.append(f'<span class="tok" style="background:{colour}"{tip}>{html.escape(t["text"])}</span>')
    scale = ("red: against · green: for (the weight is in the tooltip)" if signed
             else "red: unlikely · green: likely (the probability is in the tooltip)")
    return f'<div class="tokens">{"".join(spans)}</div>\n<p class="scale">{scale}</p>\n'


# provenance ---------------------------------------------------------------------------------------
def _provenance(ws: Workspace, report: Report) -> str:
    e = html.escape
    named: dict[tuple[str, str], list[int]] = {}
    for number, item in enumerate(report.items, 1):
        for kind, artifact_id in item.source.get("artifacts", []):
            named.setdefault((kind, artifact_id), [])
            if number not in named[(kind, artifact_id)]:
                named[(kind, artifact_id)].append(number)
    parts = ['<section class="appendix" id="provenance">\n<h2>Where the results come from</h2>\n']
    if named:
        parts.append("<p>Every artifact the items above were drawn from, as the workspace recorded it when this "
                     "report was exported.</p>\n")
    else:
        parts.append("<p>The items name no workspace artifacts.</p>\n")
    for (kind, artifact_id), used in named.items():
        by = "used by item" + ("s " if len(used) > 1 else " ") + ", ".join(str(u) for u in used)
        try:
            m = ws.manifest(kind, artifact_id)
        except UserError:
            parts.append(f'<div class="artifact gone"><h3>{e(kind)} <code>{e(artifact_id)}</code></h3>'
                         f"<p>No longer in the workspace (deleted since the item was added) · {e(by)}.</p></div>\n")
            continue
        parents = ", ".join(m.parents) or "none"
        versions = ", ".join(f"{k} {v}" for k, v in sorted(m.versions.items())) or "not recorded"
        metrics = {k: v for k, v in m.metrics.items() if len(json.dumps(v, default=str)) <= 300}
        parts.append(
            f'<div class="artifact"><h3>{e(kind)} <code>{e(m.id)}</code> · {e(m.name)}</h3>\n<dl>'
            f"<dt>Created</dt><dd>{e(_date(m.created))}</dd>"
            f"<dt>Parents</dt><dd><code>{e(parents)}</code></dd>"
            f"<dt>Versions</dt><dd>{e(versions)}</dd>"
            f"<dt>Used by</dt><dd>{e(by.removeprefix('used by '))}</dd></dl>\n"
            f"<h4>Settings (config)</h4><pre>{e(_pretty(m.config))}</pre>\n"
            + (f"<h4>Measures (short ones)</h4><pre>{e(_pretty(metrics))}</pre>\n" if metrics else "")
            + "</div>\n")
    parts.append('<h2 class="settings-head">Each item\'s settings</h2>\n')
    for number, item in enumerate(report.items, 1):
        page = item.source.get("page")
        settings = item.source.get("settings")
        artifacts = ", ".join(f"{k} {i}" for k, i in item.source.get("artifacts", [])) or "none"
        parts.append(
            f'<div class="settings" id="settings-{e(item.id)}"><h3>{number}. {e(item.title or _untitled(item))}</h3>'
            f"<p>Page: {e(PAGE_NAMES.get(page, str(page)) if page else 'not recorded')} · artifacts: <code>{e(artifacts)}</code>"
            f" · added {e(_date(item.created))}</p>"
            + (f"<pre>{e(_pretty(settings))}</pre>" if settings else "<p>No settings recorded.</p>")
            + "</div>\n")
    parts.append("</section>\n")
    return "".join(parts)


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _date(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    try:
        return dt.datetime.fromtimestamp(float(value)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return "unknown date"


STYLE = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:1.9em;margin:0 0 4px}
h2{font-size:1.3em;margin:0 0 10px;break-after:avoid;page-break-after:avoid}
h3{font-size:1.05em;margin:14px 0 6px}
h4{font-size:.95em;margin:10px 0 4px;color:var(--muted)}
.meta,.origin,.scale,.more,.empty{color:var(--muted);font-size:.88em}
.toc{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:12px 18px;margin:18px 0 28px}
.toc ol{margin:0;padding-left:1.4em}
.toc .appendix-link{list-style:none;margin-top:6px;margin-left:-1.4em}
.item{border-top:1px solid var(--line);padding:18px 0 8px;break-inside:avoid;page-break-inside:avoid}
.num{color:var(--muted)}
.chart{width:100%;min-height:120px}
.note{white-space:pre-wrap;background:#fff8c5;border-left:4px solid #d4a72c;padding:8px 12px;margin:10px 0;border-radius:4px}
.text{white-space:pre-wrap;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em;background:var(--soft);
 padding:10px 12px;border-radius:6px;overflow-wrap:anywhere}
.tokens{white-space:pre-wrap;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em;line-height:1.9;
 overflow-wrap:anywhere}
.tok{padding:1px 1px;border-radius:3px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.88em;width:auto;max-width:100%}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top;white-space:pre-wrap}
th{background:var(--soft)}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:8px 10px;border-radius:6px;font-size:.82em}
.appendix{border-top:2px solid var(--ink);margin-top:32px;padding-top:16px}
.artifact,.settings{break-inside:avoid;page-break-inside:avoid;border-bottom:1px solid var(--line);padding-bottom:8px}
.artifact dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:4px 0;font-size:.9em}
.artifact dt{color:var(--muted)}
.artifact dd{margin:0}
.gone h3{color:var(--muted)}
.settings-head{margin-top:28px}
@page{margin:15mm}
@media print{
 body{font-size:10.5pt}
 main{max-width:none;padding:0}
 .toc{break-after:page;page-break-after:always}
 .item{break-inside:avoid;page-break-inside:avoid}
 .modebar-container,.modebar{display:none!important}
 .chart{width:100%!important;overflow:hidden}
 .table-wrap{overflow:visible}
 tr{break-inside:avoid;page-break-inside:avoid}
 a{color:inherit;text-decoration:none}
 .appendix{break-before:page;page-break-before:always}
}
"""

# Draws each chart in turn (a failed one says so in its box), then marks <body data-charts-drawn>.
# Printing: Chromium lays the page out again for paper without resizing the window, so the charts
# are set to the printable width before (beforeprint, or a print media query turning on) and back after.
DRAW = """
(function(){
  var charts = Array.prototype.slice.call(document.querySelectorAll('.chart[data-fig]'));
  var config = {responsive: true, displaylogo: false, typesetMath: false, modeBarButtonsToRemove: ['sendDataToCloud']};
  var chain = Promise.resolve();
  charts.forEach(function(div){
    chain = chain.then(function(){
      var spec = JSON.parse(document.getElementById(div.getAttribute('data-fig')).textContent);
      var layout = spec.layout || {};
      div._clScreen = {width: layout.width == null ? null : layout.width, height: layout.height == null ? null : layout.height};
      return Plotly.newPlot(div, spec.data || [], layout, config).then(function(){ div.setAttribute('data-drawn', '1'); });
    }).catch(function(err){
      div.setAttribute('data-drawn', 'failed');
      div.textContent = 'This chart could not be drawn here: ' + err;
    });
  });
  chain.then(function(){ document.body.setAttribute('data-charts-drawn', String(charts.length)); });
  var printing = false;
  function toPrint(){
    if (printing) return; printing = true;
    charts.forEach(function(div){
      if (div.getAttribute('data-drawn') !== '1') return;
      var h = (div._fullLayout && div._fullLayout.height) || 450;
      Plotly.relayout(div, {width: __PRINT_W__, height: Math.min(h, __PRINT_H__)});
    });
  }
  function toScreen(){
    if (!printing) return; printing = false;
    charts.forEach(function(div){
      if (div.getAttribute('data-drawn') !== '1') return;
      Plotly.relayout(div, {width: div._clScreen.width, height: div._clScreen.height});
    });
  }
  window.addEventListener('beforeprint', toPrint);
  window.addEventListener('afterprint', toScreen);
  if (window.matchMedia) {
    var media = window.matchMedia('print');
    var onChange = function(ev){ if (ev.matches) toPrint(); else toScreen(); };
    if (media.addEventListener) media.addEventListener('change', onChange);
    else if (media.addListener) media.addListener(onChange);
  }
})();
"""
