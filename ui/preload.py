"""Load the browser's chart code while the user reads, not in the frame that first needs it.

Streamlit loads Plotly's 4.7 MB module the first time a page of the tab shows a Plotly chart, and
the browser evaluates it (~1-1.5 s on 2 cores) in the same frame as everything that update drew.
So a corpus's statistics, which arrive with the Top words chart, showed 2.5-2.9 s after "Load
sample" although the server had sent them after 0.6-1.0 s (0.7-1.0 s when the chart came later).
Every page evaluates it sooner: once its script has finished and the page has been quiet for
QUIET_MS, it imports the same module Streamlit would, which the browser then keeps for the tab (a
module is evaluated once per URL); the first chart finds it done.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

CHUNKS = ("PlotlyChart",)  # the lazy modules worth having early, by the name Streamlit's build gives them
QUIET_MS = 300

_SCRIPT = """<script>
(() => {
  if (window.__corpusLabPreload) return;
  window.__corpusLabPreload = true;
  const index = [...document.querySelectorAll('script[type="module"][src]')]
    .find(s => /\\/static\\/js\\/index\\.[^/]*\\.js$/.test(s.src));
  if (!index) return;
  const urls = %s.map(name => new URL(name, index.src).href);
  const busy = () => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === "running";
  let quiet = 0;
  const tick = () => {
    quiet = busy() ? 0 : quiet + 250;
    if (quiet < %d) return setTimeout(tick, 250);
    const load = () => urls.forEach(url => import(url).catch(() => {}));
    window.requestIdleCallback ? requestIdleCallback(load, {timeout: 2000}) : load();
  };
  setTimeout(tick, 250);
})();
</script>"""


@functools.cache
def _files() -> tuple[str, ...]:
    """The chunks' file names in this Streamlit's build (hashed, so they change with each release)."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    return tuple(sorted(p.name for name in CHUNKS for p in folder.glob(f"{name}.*.js")))


def charts_in_the_background() -> None:
    """Once per browser tab, when the page is quiet: fetch and evaluate the chart modules. The script
    is ours, fixed text with the file names from Streamlit's own folder; nothing from a user is in it."""
    files = _files()
    if files:
        st.html(_SCRIPT % (json.dumps(list(files)), QUIET_MS), unsafe_allow_javascript=True)
