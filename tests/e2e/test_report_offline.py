"""A report file in a real browser, with every request outside the file refused and recorded:
both charts draw (one a 50,000-point WebGL map), nothing is fetched, and it prints to PDF."""

from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go

from core.report import Item, Report, export_bytes
from core.workspace import Workspace

POINTS = 50_000


def figures() -> tuple[dict, dict]:
    rng = np.random.default_rng(7)
    words = [f"word{i}" for i in range(POINTS)]
    big = go.Figure(go.Scattergl(x=rng.normal(size=POINTS), y=rng.normal(size=POINTS), mode="markers", text=words,
                                 customdata=np.column_stack([np.arange(POINTS), rng.integers(1, 99, POINTS)]),
                                 hovertemplate="%{text}: %{customdata[1]}<extra></extra>", name="</script><b>x"))
    big.update_layout(height=600, dragmode="lasso")
    bars = go.Figure(go.Bar(x=["a", "b", "c"], y=[3, 1, 2]))
    return json.loads(big.to_json()), json.loads(bars.to_json())


def test_report_opens_offline_draws_both_charts_and_prints(browser, tmp_path):
    ws = Workspace(tmp_path / "ws")
    big, bars = figures()
    report = Report(title="Offline report")
    report.add(Item(kind="figure", title="Word map", figure=big, note="<script>alert(1)</script>"))
    report.add(Item(kind="figure", title="Bars", figure=bars))
    report.add(Item(kind="table", title="Table", table=[{"word": "<img src=x onerror=alert(1)>", "n": 3}]))
    path = tmp_path / "report.html"
    path.write_bytes(export_bytes(ws, report))

    context = browser.new_context(viewport={"width": 1300, "height": 900})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    try:
        page = context.new_page()
        errors: list[str] = []
        dialogs: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_function("document.body.getAttribute('data-charts-drawn') === '2'", timeout=60_000)
        charts = page.locator(".chart")
        assert charts.count() == 2
        for i in range(2):
            assert charts.nth(i).get_attribute("data-drawn") == "1"
            assert charts.nth(i).locator(".main-svg").count() > 0
            assert page.locator(".js-plotly-plot").nth(i).locator(".main-svg").count() > 0
        assert charts.nth(0).locator("canvas").count() > 0  # the map is WebGL
        assert page.evaluate("Array.from(document.querySelectorAll('.chart')).map(d => d._fullLayout.height)") == [600, 450]
        assert page.evaluate("document.querySelector('.chart')._fullData[0].x.length") == POINTS
        assert page.evaluate("document.querySelector('.chart')._fullData[0].type") == "scattergl"

        page.emulate_media(media="print")  # what Save as PDF lays out: the charts fit the paper
        page.wait_for_function("Array.from(document.querySelectorAll('.chart')).every(d => d._fullLayout.width === 680)")
        assert page.locator(".modebar-container").first.is_hidden()
        pdf = page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
        page.emulate_media(media="screen")
        page.wait_for_function("document.querySelector('.chart')._fullLayout.width > 680")
        (tmp_path / "report.pdf").write_bytes(pdf)
    finally:
        context.close()
    assert requests and all(url.startswith("file:") for url in requests), requests
    assert not dialogs, dialogs  # no escaped script ran
    assert not [e for e in errors if "GL Driver" not in e], errors
