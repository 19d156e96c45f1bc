"""The report export: a 50,000-word map as one standalone HTML file, against plotly's own ``write_html``.

Usage: ``.venv/bin/python bench/report.py [--quick]``. A word map of 50,000 random 2-D points with
random word-like hover text, 12 colour groups and a frequency column in the hover, drawn by the Map
page's own ``core.map_figure.map_figure``, then:

- *ours*: ``core.report.export_bytes`` of a report holding that figure (slimmed by ``slim_figure``:
  float32 coordinates, only the customdata the hover shows, WebGL), written to a file;
- *peer*: ``fig.write_html(path, include_plotlyjs=True)`` of the same figure (also standalone);

each timed for the export, its file size, and the time Debian's Chromium takes to open it
(navigation start → ``Plotly.newPlot``'s promise resolved: the chart fully drawn), with every
request outside the file refused. Alternating which goes first, median of 3 (``--quick``: the same
50,000 points — the goal is about that size — median of 1). Ends with
``RESULT report_map_mb=<size of our file in MB> goal<=20``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import chromium  # noqa: E402
from core.map_figure import Colour, map_figure  # noqa: E402
from core.report import Item, Report, export_bytes  # noqa: E402
from core.workspace import Workspace  # noqa: E402

POINTS = 50_000
GOAL_MB = 20
# Both files call Plotly.newPlot once per chart; this wraps it as plotly.js defines window.Plotly and
# notes when each call's promise resolves (the chart fully drawn), in ms since navigation start.
TIMER = """(() => {
  let plotly;
  window.__drawn = [];
  Object.defineProperty(window, 'Plotly', {configurable: true, get: () => plotly, set: (value) => {
    const newPlot = value.newPlot;
    value.newPlot = function () {
      return newPlot.apply(this, arguments).then((gd) => { window.__drawn.push(performance.now()); return gd; });
    };
    plotly = value;
  }});
})();"""


def word_map(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    letters = np.array(list("etaoinshrdlucmfwypvbgkqjxz"))
    weights = np.linspace(2.0, 0.2, len(letters))
    lengths = rng.integers(3, 11, n)
    chars = rng.choice(letters, size=(n, 10), p=weights / weights.sum())
    words = ["".join(row[:k]) + str(i) for i, (row, k) in enumerate(zip(chars, lengths, strict=True))]
    coords = rng.normal(size=(n, 2)) * rng.uniform(0.5, 2.0, size=(1, 2)) + rng.integers(0, 6, size=(n, 1))
    groups = rng.integers(0, 12, n).astype(str)
    return map_figure(words, coords, color=Colour("cluster", groups, categorical=True),
                      hover={"frequency": rng.zipf(1.6, n) % 100_000}, title="Word map (50,000 words)")


def ours(fig_json: dict, ws: Workspace, path: Path) -> float:
    report = Report(title="Bench report")
    report.add(Item(kind="figure", title="Word map", figure=fig_json, source={"page": "map"}))
    t0 = time.perf_counter()
    path.write_bytes(export_bytes(ws, report))
    return time.perf_counter() - t0


def peer(fig, path: Path) -> float:
    t0 = time.perf_counter()
    fig.write_html(path, include_plotlyjs=True)
    return time.perf_counter() - t0


def open_seconds(browser, path: Path) -> float:
    """Navigation start → every plot drawn, in a fresh context; any request outside the file is refused."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    outside: list[str] = []
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else (outside.append(r.request.url),
                                                                                            r.abort()))
    try:
        context.add_init_script(TIMER)
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="commit")
        page.wait_for_function("() => window.__drawn && window.__drawn.length >= 1", timeout=120_000)
        seconds = page.evaluate("Math.max(...window.__drawn)") / 1000
    finally:
        context.close()
    if outside:
        print(f"  ({path.name} asked for {outside[:3]})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each instead of the median of 3")
    args = parser.parse_args()
    runs = 1 if args.quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="corpus-lab-bench-report-"))
    try:
        ws = Workspace(tmp / "ws")
        t0 = time.perf_counter()
        fig = word_map(POINTS)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fig_json = json.loads(fig.to_json())  # what the app keeps when a chart is added to a report
        add_s = time.perf_counter() - t0
        times: dict[str, dict[str, list[float]]] = {"ours": {"export": [], "open": []}, "peer": {"export": [], "open": []}}
        paths = {"ours": tmp / "ours.html", "peer": tmp / "plotly.html"}
        with chromium() as browser:
            for run in range(runs):
                order = ("ours", "peer") if run % 2 == 0 else ("peer", "ours")
                for who in order:
                    times[who]["export"].append(ours(fig_json, ws, paths[who]) if who == "ours" else peer(fig, paths[who]))
                for who in order:
                    times[who]["open"].append(open_seconds(browser, paths[who]))
        mb = {who: paths[who].stat().st_size / 1e6 for who in paths}
        med = {who: {k: statistics.median(v) for k, v in t.items()} for who, t in times.items()}
        print(f"\nA {POINTS:,}-point word map (map_figure: 12 colour groups, a hover column), {os.cpu_count()} CPUs, "
              f"Chromium headless (WebGL in software), median of {runs}, alternating which goes first. "
              f"Building the figure: {build_s:.2f} s; its JSON for the report (fig.to_json): {add_s:.2f} s.\n")
        print("| | ours: `export_bytes` | plotly `write_html(include_plotlyjs=True)` | ours / plotly |")
        print("|---|---:|---:|---:|")
        print(f"| export (s) | {med['ours']['export']:.2f} | {med['peer']['export']:.2f} | "
              f"{med['ours']['export'] / med['peer']['export']:.2f} |")
        print(f"| file (MB) | {mb['ours']:.2f} | {mb['peer']:.2f} | {mb['ours'] / mb['peer']:.2f} |")
        print(f"| open in Chromium until drawn (s) | {med['ours']['open']:.2f} | {med['peer']['open']:.2f} | "
              f"{med['ours']['open'] / med['peer']['open']:.2f} |")
        print(f"\nRuns — ours open: {', '.join(f'{s:.2f}' for s in times['ours']['open'])}; "
              f"plotly open: {', '.join(f'{s:.2f}' for s in times['peer']['open'])}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nRESULT report_map_mb={mb['ours']:.2f} goal<={GOAL_MB}")


if __name__ == "__main__":
    main()
