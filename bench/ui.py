"""Waits a user sees: each page's first render on a fresh server, and the clicks that start work.

Usage: ``.venv/bin/python bench/ui.py [--quick] [--runs N]``. Drives Debian's Chromium
(``/usr/bin/chromium``) with Playwright against ``streamlit run app.py`` started here on a free
port with a temporary ``CORPUS_LAB_HOME``, as ``make run`` would (UMAP warm-up on, Hub offline).

- *first render*: a fresh server per page and run (nothing imported yet, as after ``make run``),
  from the start of the navigation until the first frame in which the page's own last element (and, for
  a corpus, its statistics) and the sidebar are visible and the script has ended, noted by the page
  itself at each animation frame (Playwright's own waiting polls at up to 0.5 s and cannot poll while the
  page is busy, so it read up to 1.7 s late). The
  workspace holds the Lee sample, tokens without stopwords and a small CBOW model (so Corpus,
  Embeddings and Map show their real content, not their empty states; Preprocess, with its default
  settings, shows its Run button as on a first visit), and the labelled polarity sample, which
  Classify opens by link;
- *Load sample*: on a fresh server with an empty workspace, after READ_S seconds on the page (as a person
  reads it before choosing; the bench alone would click within 0.3 s of the first render), the click on
  "Load sample" (Lee) until its statistics show: the metrics and the Top words chart;
- *Draw the map*: on a fresh server, the click on "Draw the map" (the model's whole vocabulary,
  UMAP) until the chart shows.

For the clicks, *feedback* is when a spinner, a progress bar or the result first showed: a wait
over a second with no spinner is a blank wait. Each figure is the median of ``--runs`` runs (3).
``--quick`` (Home, Corpus with an empty workspace + Load sample, Preprocess, Map + Draw) takes about
two minutes on 2 cores; the full run (every page) about five.

*Generation through the browser* (also alone: ``--stream-only``, about two minutes): on a fresh
server (no idle-time warm-up, so no UMAP compile lands in a measurement), Chromium loads SmolLM2 on
the Generate page and presses Generate with the page's default prompt and settings (the *balanced*
preset, seed 0, 80 new tokens, chat mode); its tokens/s is the one the job reports on the page
(tokens / seconds of the ``generate`` call in the server, the streaming page open next to it). The
peer the goal divides by is the same job in the same server with no page: a session over the websocket
with no browser (``scripts/streamlit_client.py``) presses Generate and reads the result afterwards, so
nothing follows the job while it runs. A second peer is the same ``core.generation.generate`` call (same
model files, dtype, prompt, settings and torch threads) in this process. The three alternate, ``--runs``
rounds each; page and plain process must write the same text (checked). The browser side also counts
how often the streamed text changed on screen and when the first text showed.

*Training with its panel open*: the Word2Vec job of ``bench/jobs.py`` (which measures every job panel), its page
open against the same job with no browser attached.

*Attention interactions* (also alone: ``--attention-only``, about a minute): SmolLM2 on the Attention
page, its default text; after the first pass, a layer and a head slider step and five tab switches,
each timed from the key press or click until its figure or table shows. Goal: every one ≤ 1 s.

The last line is ``RESULT slowest_first_render_s=<the slowest page's median> goal<=3``; the line
before it is ``RESULT browser_generate_ratio=<page tokens/s / no-page tokens/s> goal>=0.9`` (medians),
which is also the last line of ``--stream-only``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import jobs  # noqa: E402
from bench.browser import TIMEOUT_MS, VIEWPORT, chromium, ended, seed_lee, settle, start_server  # noqa: E402
from core.device import share_cpu_politely  # noqa: E402

share_cpu_politely()  # as app.py does for the server: the peer's generate runs under the same OpenMP policy

GOAL_RENDER_S, GOAL_SAMPLE_S, BLANK_S, GOAL_STREAM, GOAL_INTERACTION_S = 3.0, 1.5, 1.0, 0.9, 1.0
READ_S = 1.5  # a person's first look at the page before the first click (see Load sample above)

FEEDBACK = '[data-testid="stSpinner"], [data-testid="stProgress"]'
CHART = '[data-testid="stPlotlyChart"] .main-svg'  # drawn, not only its frame


@dataclass(frozen=True)
class Page:
    """A page, the URL path that opens it, and what it draws last (its first render is done then)."""

    name: str
    path: str
    role: str  # a Playwright role, or "text"
    label: str
    seeded: bool = True  # whether the workspace holds a corpus, tokens and vectors
    quick: bool = False
    also: str = ""  # a CSS selector that must be visible too
    chart: bool = False  # draws a Plotly chart at once: when it shows is printed too (not part of the goal)


PAGES = (
    Page("Home", "", "heading", "Corpus Lab", quick=True),
    Page("Corpus (empty workspace)", "corpus", "text", "No corpus yet: upload files", seeded=False, quick=True),
    Page("Corpus (Lee)", "corpus", "tab", "Concordance", also='[data-testid="stMetric"]', chart=True),
    Page("Preprocess (Lee)", "preprocess", "button", "Run pipeline", quick=True),
    Page("Embeddings", "embeddings", "tab", "Import & export"),
    Page("Map", "map", "button", "Draw the map", quick=True),
    Page("Attention", "attention", "text", "Load a model to look inside it"),
    Page("Generate", "generate", "text", "Load a language model to write with it"),
    Page("Fine-tune", "finetune", "button", "Start fine-tuning"),
    Page("Analyze", "analyze", "button", "Build the index"),
    Page("Topics", "topics", "button", "Find topics"),
    Page("Classify (Lee: no labels)", "classify", "text", "This corpus has no labels"),
    # a labelled corpus opened by link: its split (scikit-learn's draws, written out) in words, then its chart
    Page("Classify (polarity: labelled)", "classify?corpus={polarity}", "text", "labelled documents in 2 classes",
         chart=True),
    Page("Report (empty)", "report", "text", "The report is empty"),
)


@dataclass
class Figures:
    render: dict[str, list[float]] = field(default_factory=dict)
    click: dict[str, list[float]] = field(default_factory=dict)
    feedback: dict[str, list[float]] = field(default_factory=dict)
    chart: dict[str, list[float]] = field(default_factory=dict)

    def add(self, table: dict, name: str, value: float) -> None:
        table.setdefault(name, []).append(value)


# the server --------------------------------------------------------------------------------------
LINKS: dict[str, str] = {}  # artifact ids that a page's path names, e.g. {polarity}; set by seed_workspace


def seed_workspace(root: Path) -> int:
    """The Lee sample, active, with tokens and a small CBOW model (``seed_lee``), and the labelled polarity
    sample for Classify; returns the model's words.

    The tokens drop stopwords, so the Preprocess page (default settings: keep them) shows its Run
    button, as on a first visit, rather than the report of a pipeline already run."""
    from core.corpus.store import ingest_sample
    from core.workspace import Workspace

    words = seed_lee(root)
    LINKS["polarity"] = ingest_sample(Workspace(root), "polarity").id  # labelled, for Classify; not the active corpus
    return words


# the browser -------------------------------------------------------------------------------------
# Runs in the page from the navigation on: at each animation frame (just before the browser paints), is
# the page drawn? Its time is the page's own clock, from the start of the navigation.
SEEN = """(selector, text) => [...document.querySelectorAll(selector)]
    .some(e => e.checkVisibility() && e.textContent.includes(text))"""
FIRST_RENDER = """(spec) => {
  const seen = SEEN;
  const role = {heading: 'h1, h2, h3', tab: '[role="tab"]', button: 'button'}[spec.role];
  const drawn = () => document.body
    && (role ? seen(role, spec.label) : document.body.innerText.includes(spec.label))
    && (!spec.also || seen(spec.also, ''))
    && seen('[data-testid="stSidebar"]', 'Compute device')
    && document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning';
  const chart = () => !spec.chart || seen(CHART, '');
  const frame = () => {
    window.__firstRender ??= drawn() ? performance.now() : undefined;
    window.__firstChart ??= window.__firstRender && chart() ? performance.now() : undefined;
    if (!window.__firstChart) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}""".replace("SEEN", SEEN).replace("CHART", json.dumps(CHART))


def watch_first_render(context, spec: Page) -> None:
    args = json.dumps({"role": spec.role, "label": spec.label, "also": spec.also, "chart": spec.chart})
    context.add_init_script(script=f"({FIRST_RENDER})({args})")


def first_render(page, url: str, spec: Page) -> tuple[float, float | None]:
    """Seconds from the navigation until the page noted itself drawn (``watch_first_render`` on its
    context), and until its chart showed (None for a page without ``chart``)."""
    page.goto(f"{url}/{spec.path.format(**LINKS)}", wait_until="commit")
    page.wait_for_function("() => window.__firstChart", polling=250, timeout=TIMEOUT_MS)
    drawn, chart = page.evaluate("[window.__firstRender, window.__firstChart]")
    return drawn / 1000, chart / 1000 if spec.chart else None


# Noted by the page at each animation frame from just before the click, as for the first render.
WATCH_CLICK = """([done, feedback]) => {
  const seen = SEEN, t0 = performance.now(), w = window.__click = {done: null, feedback: null};
  const frame = () => {
    const now = (performance.now() - t0) / 1000;
    if (w.feedback === null && seen(feedback, '')) w.feedback = now;
    if (done.every(([selector, text]) => seen(selector, text))) { w.done = now; w.feedback ??= now; }
    else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}""".replace("SEEN", SEEN)


def timed_click(page, button, *done: tuple[str, str]) -> tuple[float, float]:
    """(seconds from the click until every ``(css selector, text)`` of ``done`` is visible, seconds until a
    spinner, a bar or the result showed)."""
    page.evaluate(WATCH_CLICK, [list(done), FEEDBACK])
    button.click()
    page.wait_for_function("() => window.__click.done !== null", polling=250, timeout=TIMEOUT_MS)
    took = page.evaluate("window.__click")
    return took["done"], took["feedback"]


def _open_bring_a_corpus(page, tries: int = 3) -> None:
    """Streamlit's expander now and then paints closed although it is open (on a fresh server's slow first
    run): close and reopen it until its tabs show (as tests/e2e/test_corpus_flow.py does)."""
    expander = page.get_by_test_id("stExpander").filter(has_text="Bring a corpus")
    summary, tab = expander.locator("summary"), expander.get_by_role("tab", name="Bundled sample")
    for _ in range(tries):
        try:
            tab.wait_for(state="visible", timeout=3_000)
            return
        except Exception:
            summary.click()
            settle(page)
    tab.wait_for(state="visible", timeout=TIMEOUT_MS)


def load_sample(page) -> tuple[float, float]:
    time.sleep(READ_S)
    _open_bring_a_corpus(page)
    page.get_by_role("tab", name="Bundled sample").click()
    page.get_by_text("Lee news corpus").first.click()
    settle(page)
    metric = ('[data-testid="stMetric"]', "Documents300")
    return timed_click(page, page.get_by_role("button", name="Load sample"), metric, (CHART, ""))


def draw_map(page) -> tuple[float, float]:
    settle(page)
    return timed_click(page, page.get_by_role("button", name="Draw the map"), (CHART, ""))


def one_run(browser, tmp: Path, seed: Path, pages: tuple[Page, ...], figures: Figures, run: int,
            warm_up: bool) -> None:
    for spec in pages:
        slug = re.sub(r"\W+", "-", spec.path) or "home"
        folder = tmp / f"run{run}-{slug}-{'seeded' if spec.seeded else 'empty'}"
        server = start_server(folder, seed if spec.seeded else None, warm_up)
        context = browser.new_context(viewport=VIEWPORT)
        watch_first_render(context, spec)
        try:
            page = context.new_page()
            drawn, chart = first_render(page, server.url, spec)
            figures.add(figures.render, spec.name, drawn)
            if chart is not None:
                figures.add(figures.chart, spec.name, chart)
            extra = {"Corpus (empty workspace)": ("Load sample (Lee) → statistics", load_sample),
                     "Map": ("Draw the map → chart", draw_map)}.get(spec.name)
            if extra:
                took, feedback = extra[1](page)
                figures.add(figures.click, extra[0], took)
                figures.add(figures.feedback, extra[0], feedback)
        finally:
            context.close()
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
        print(f"  run {run}: {spec.name} done", file=sys.stderr)


def report(figures: Figures, runs: int, words: int, load: tuple[float, float]) -> float:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"\nMedian of {runs} run(s); a fresh server per page and run; load average {load[0]:.1f} at start, "
          f"{load[1]:.1f} at the end; {os.cpu_count()} CPUs.\n")
    print("| step | median s | runs s | goal s |")
    print("|---|---:|---|---:|")
    for name, values in figures.render.items():
        print(f"| first render: {name} | {med(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} | {GOAL_RENDER_S:g} |")
        if name in figures.chart:  # Plotly's code is evaluated once per browser tab, ~1 s on 2 cores
            charts = figures.chart[name]
            print(f"| … its chart | {med(charts):.2f} | {', '.join(f'{v:.2f}' for v in charts)} | – |")
    for name, values in figures.click.items():
        goal = f"{GOAL_SAMPLE_S:g}" if name.startswith("Load sample") else "–"
        label = name.replace("the map", f"the map ({words:,} words)")
        print(f"| {label} | {med(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} | {goal} |")
        fb = figures.feedback[name]
        print(f"| … first spinner, bar or result | {med(fb):.2f} | {', '.join(f'{v:.2f}' for v in fb)} | {BLANK_S:g} |")
    slowest = max(med(v) for v in figures.render.values())
    return slowest


# generation through the browser --------------------------------------------------------------------
GEN_PROMPT = "What is a word embedding? Answer in two sentences."  # the Generate page's default prompt
GEN_CAPTION = re.compile(r"(\d+) tokens in ([\d.]+) s \(([\d.]+) tokens/s, first after ([\d.]+) s\)")
# In the page: counts every change of the streamed text (the code block under a ▌ cursor), and notes when
# the first text and the finished result's caption came. Python only reads these four times a second:
# polling the page every 20 ms, as this bench did, kept Chromium at ~75 % of a core (45 % at 0.25 s) and
# took 15-20 % of the generation's speed, the bench's own cost. textContent, not innerText: no layout.
WATCH_STREAM = """() => {
    window.__streamObserver?.disconnect();
    const results = () => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .map(e => e.textContent).filter(t => /tokens in [\\d.]+ s \\(/.test(t)).join('|');
    const w = window.__stream = {changes: 0, first: null, done: null, t0: performance.now(), last: '',
                                 before: results(), stopSeen: false};
    (window.__streamObserver = new MutationObserver(() => {
        const now = performance.now() - w.t0;
        const live = [...document.querySelectorAll('[data-testid="stCode"]')].find(e => e.textContent.includes('▌'));
        if (live && live.textContent !== w.last) {
            if (w.first === null && live.textContent.replace('▌', '').trim()) w.first = now;
            w.last = live.textContent; w.changes += 1;
        }
        const stop = [...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'Stop');
        w.stopSeen ||= stop;
        if (w.done === null) {  // a new result, or (the same numbers by chance) Stop came and went
            const r = results();
            if (r && (r !== w.before || (w.stopSeen && !stop))) w.done = now;
        }
    })).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@dataclass
class StreamFigures:
    page: list[float] = field(default_factory=list)  # tokens/s the page's job reported
    no_page: list[float] = field(default_factory=list)  # the same job in the same server, no page following it
    core: list[float] = field(default_factory=list)  # tokens/s of the same call in this process
    click: list[float] = field(default_factory=list)  # click → the finished text's caption
    first: list[float] = field(default_factory=list)  # click → the first streamed text on screen
    changes: list[int] = field(default_factory=list)  # how often the streamed text changed on screen
    tokens: int = 0
    same_text: bool = True


def _page_generation(page) -> tuple[float, float, float, int, int, str]:
    """One press of Generate: (job tokens/s, click → done s, click → first text s, text changes, tokens, text)."""
    tab = page.get_by_role("tabpanel", name="Generate")
    caption = tab.get_by_text(GEN_CAPTION)
    page.evaluate(WATCH_STREAM)
    t0 = time.perf_counter()
    tab.get_by_role("button", name="Generate", exact=True).click()
    while page.evaluate("window.__stream.done") is None:
        if time.perf_counter() - t0 > TIMEOUT_MS / 1000:
            raise TimeoutError("the generation did not finish")
        time.sleep(0.25)
    watch = page.evaluate("() => window.__stream")
    took = watch["done"] / 1000
    ended(page)
    found = GEN_CAPTION.search(caption.first.inner_text())
    text = tab.get_by_test_id("stCode").first.inner_text()
    first = watch["first"] / 1000 if watch["first"] is not None else float("nan")
    return float(found.group(3)), took, first, int(watch["changes"]), int(found.group(1)), text


async def _generation_without_a_page(url: str, wait: float) -> float:
    """Generate from a session with no browser (scripts/streamlit_client.py): press Generate, let the job
    run with nothing following it for ``wait`` seconds, then one run reads its result (tokens/s)."""
    from scripts.streamlit_client import Client, widget

    async with Client(url, {}) as session:
        await session.run()
        go = widget(await session.run("generate"), "button", label="Generate")
        await session.run("generate", widgets=({"id": go.id, "trigger_value": True},))
        await asyncio.sleep(wait)
        for _ in range(60):
            for element in await session.run("generate"):
                if element.WhichOneof("type") == "markdown":
                    found = GEN_CAPTION.search(element.markdown.body.replace("\\", ""))  # md() escapes
                    if found:
                        return float(found.group(3))
            await asyncio.sleep(1)
    raise TimeoutError("the generation with no page did not finish")


def stream_run(browser, tmp: Path, runs: int) -> StreamFigures:
    from core import models
    from core.generation import PRESETS, generate

    config = PRESETS["balanced"].with_(chat=True)  # what the page starts with for SmolLM2
    figures = StreamFigures()
    server = start_server(tmp / "stream", None, warm_up=False)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/generate")
        page.get_by_role("button", name=re.compile(r"^Load SmolLM2")).click()
        page.get_by_role("button", name="Generate", exact=True).wait_for(state="visible", timeout=TIMEOUT_MS)
        settle(page)
        m = models.load(models.SMOLLM_ID)
        generate(m, GEN_PROMPT, config.with_(max_new_tokens=4))  # first-call costs on this side too
        for run in range(1, runs + 1):
            rate, took, first, changes, tokens, text = _page_generation(page)
            page.goto("about:blank")  # the no-page run has the server to itself
            with ThreadPoolExecutor(1) as pool:  # its own event loop: Playwright's sync API holds this thread's
                figures.no_page.append(pool.submit(
                    asyncio.run, _generation_without_a_page(server.url.replace("localhost", "127.0.0.1"),
                                                            took * 1.5 + 1)).result())
            page.goto(f"{server.url}/generate")
            page.get_by_role("button", name="Generate", exact=True).wait_for(state="visible", timeout=TIMEOUT_MS)
            settle(page)
            figures.page.append(rate)
            figures.click.append(took)
            figures.first.append(first)
            figures.changes.append(changes)
            g = generate(m, GEN_PROMPT, config, on_text=lambda piece: None)
            figures.core.append(g.tokens_per_s)
            figures.tokens = len(g.tokens)
            figures.same_text &= tokens == len(g.tokens) and text.strip() == g.text.strip()
            print(f"  run {run}: page {rate:.1f} tok/s, no page {figures.no_page[-1]:.1f}, core {g.tokens_per_s:.1f} tok/s, "
                  f"load {os.getloadavg()[0]:.1f}",
                  file=sys.stderr)
    finally:
        context.close()
        server.stop()
    return figures


# (what the user does, what shows when the page has answered): SmolLM2 has 30 layers × 9 heads
ATTENTION_STEPS = (("layer slider ←", "slider:0", "Layer 28, head 0"), ("head slider →", "slider:1", "Layer 28, head 1"),
                   ("tab All heads", "tab:All heads", "Every layer × head"),
                   ("tab Mean over heads", "tab:Mean over heads", "mean over 9 heads"),
                   ("tab Rollout", "tab:Rollout", "Rollout to the last layer"),
                   ("tab Next-token guesses", "tab:Next-token guesses", "most likely next tokens"),
                   ("back to One head", "tab:One head", "Layer 28, head 1"))


def attention_run(browser, tmp: Path, runs: int) -> dict[str, list[float]]:
    """Each Attention interaction with SmolLM2 after its first pass: seconds from the key press or
    click until the page shows the answer (a fresh session per run, the model loaded once)."""
    server = start_server(tmp / "attention", None, warm_up=False)
    seconds: dict[str, list[float]] = {}
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        for run in range(1, runs + 1):
            page.goto(f"{server.url}/attention")
            load = page.get_by_role("button", name=re.compile(r"^Load SmolLM2"))
            chart = page.get_by_test_id("stPlotlyChart").first
            load.or_(chart).first.wait_for(state="visible", timeout=TIMEOUT_MS)
            if load.is_visible():
                load.click()
            page.get_by_text("Layer 29, head 0").first.wait_for(state="visible", timeout=TIMEOUT_MS)
            settle(page)
            for name, action, shows in ATTENTION_STEPS:
                kind, label = action.split(":", 1)
                t0 = time.perf_counter()
                if kind == "slider":
                    page.get_by_test_id("stSlider").nth(int(label)).get_by_role("slider").press(
                        "ArrowLeft" if "←" in name else "ArrowRight")
                else:
                    page.get_by_role("tab", name=label, exact=True).click()
                try:
                    page.get_by_text(shows).first.wait_for(state="visible", timeout=TIMEOUT_MS)
                except Exception:
                    page.screenshot(path=str(ROOT / "attention-bench-failure.png"), full_page=True)
                    raise
                ended(page)
                seconds.setdefault(name, []).append(time.perf_counter() - t0)
            print(f"  run {run}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in seconds.items()), file=sys.stderr)
    finally:
        context.close()
        server.stop()
    return seconds


def attention_report(seconds: dict[str, list[float]]) -> float:
    med = statistics.median
    print(f"\nAttention with SmolLM2 (30 layers × 9 heads), the page's default text, after its first pass: seconds "
          f"from the key press or click until the answer shows, median of {len(next(iter(seconds.values())))} runs.\n")
    print("| interaction | median s | runs |")
    print("|---|---:|---|")
    for name, values in seconds.items():
        print(f"| {name} | {med(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    return max(med(v) for v in seconds.values())


def stream_report(f: StreamFigures, load: tuple[float, float]) -> float:
    med = statistics.median
    print(f"\nGeneration through the browser: SmolLM2, the Generate page's defaults ({f.tokens} tokens), median of "
          f"{len(f.page)} alternating runs; load average {load[0]:.1f} at start, {load[1]:.1f} at the end; "
          f"{os.cpu_count()} CPUs; same text on both sides: {'yes' if f.same_text else 'NO'}.\n")
    print("| path | median | runs |")
    print("|---|---:|---|")
    rows = [("tokens/s, the Generate page (the job's own figure)", f.page, "{:.1f}"),
            ("tokens/s, the same job in the same server, no page following it", f.no_page, "{:.1f}"),
            ("tokens/s, `core.generation.generate` in a plain process", f.core, "{:.1f}"),
            ("s, click → finished text", f.click, "{:.2f}"), ("s, click → first streamed text", f.first, "{:.2f}"),
            ("changes of the streamed text on screen", f.changes, "{:.0f}")]
    for name, values, fmt in rows:
        print(f"| {name} | {fmt.format(med(values))} | {', '.join(fmt.format(v) for v in values)} |")
    print(f"\nPage against the same server with no page: {med(f.page) / med(f.no_page):.2f} (the goal's ratio); "
          f"against a plain process: {med(f.page) / med(f.core):.2f}; the server with no page against a plain "
          f"process: {med(f.no_page) / med(f.core):.2f}.")
    return med(f.page) / med(f.no_page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Home, Corpus + Load sample, Preprocess, Map + Draw")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median); default 3")
    parser.add_argument("--only", help="only the pages whose name contains this (e.g. Corpus)")
    parser.add_argument("--no-warm-up", action="store_true", help="CORPUS_LAB_WARMUP=0: no idle-time warm-up")
    parser.add_argument("--stream-only", action="store_true", help="only generation through the browser vs the core")
    parser.add_argument("--attention-only", action="store_true", help="only the Attention page's interactions")
    args = parser.parse_args()
    pages = tuple(p for p in PAGES if (p.quick or not args.quick) and (args.only or "") in p.name)
    tmp = Path(tempfile.mkdtemp(prefix="corpus-lab-bench-ui-"))
    load_start = os.getloadavg()[0]
    figures = Figures()
    everything = not (args.stream_only or args.attention_only)
    try:
        with chromium() as browser:
            if args.attention_only:
                attention = attention_run(browser, tmp, args.runs)
            if everything:
                words = seed_workspace(tmp / "seed")
                for run in range(1, args.runs + 1):
                    one_run(browser, tmp, tmp / "seed", pages, figures, run, not args.no_warm_up)
                trains = jobs.panel_run(browser, tmp, args.runs, jobs.JOBS[:1])
                attention = attention_run(browser, tmp, args.runs)
            if not args.attention_only:
                load_stream = os.getloadavg()[0]
                streams = stream_run(browser, tmp, args.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.attention_only:
        slowest = attention_report(attention)
        print(f"\nRESULT attention_slowest_interaction_s={slowest:.2f} goal<={GOAL_INTERACTION_S:g}")
        return
    if everything:
        slowest = report(figures, args.runs, words, (load_start, os.getloadavg()[0]))
        print("\nWith its job panel open (bench/jobs.py, every job):")
        jobs.report(trains)
        print(f"Slowest Attention interaction {attention_report(attention):.2f} s (goal <= {GOAL_INTERACTION_S:g})")
    ratio = stream_report(streams, (load_stream, os.getloadavg()[0]))
    print(f"\nRESULT browser_generate_ratio={ratio:.2f} goal>={GOAL_STREAM:g}")
    if everything:
        print(f"RESULT slowest_first_render_s={slowest:.2f} goal<={GOAL_RENDER_S:g}")


if __name__ == "__main__":
    main()
