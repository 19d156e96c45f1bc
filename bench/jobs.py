"""Every job panel's cost: a job's speed with its page open in Chromium against the same job with no browser.

Usage: ``.venv/bin/python bench/jobs.py [--quick] [--runs N] [--only NAME]``. For each job below, on a fresh
``streamlit run app.py`` (Hub offline, no idle-time warm-up, so nothing else lands in a measurement) with its own
copy of a seed workspace, Chromium opens the job's page, sets the form as listed and presses its button:

- *watched*: the page stays open and follows the job in its panel (progress bar, message, live chart, Cancel)
  until the artifact appears;
- *detached*, the peer: the same click, then the tab leaves for ``about:blank`` as soon as the progress bar
  shows; the job goes on in the server with nothing following it.

The figure is the job's own seconds, which it writes into its artifact (``metrics["seconds"]``; a fine-tuning's
``wall_seconds``, validations included), so the page's
first render and the wait for the click are not in it. The artifact is deleted after each run, so the next
run computes it again. One detached run of each job comes first and is not counted (model files read,
numba's functions loaded, the analysis index built). Then ``--runs`` rounds (5; 1 with ``--quick``), each
alternating watched and detached, which goes first alternating too. Speed kept = the median over the rounds of
detached seconds / watched seconds: the two runs of a round are back to back, so the ratio is taken before this
machine's speed drifts (the same job's seconds moved by up to a fifth within a quarter of an hour here, more than
the panel's cost, and the ratio of the two medians moved with it: 0.78-0.97 for the same code). The ratio of the
medians is printed too. Five rounds, not three: one pair's ratio scattered by up to a seventh either way here (the
map, 2.5-3.3 s, the same code: pairs 0.81-1.15), so three pairs' median could move by 0.05 between two runs.

``--quick`` (about a minute and a half) runs the three jobs without a torch model (Word2Vec, the map, LDA) once.
The last line is ``RESULT slowest_panel_speed_kept=<the lowest job's figure> goal>=0.95``.

Chromium runs on the same two cores as the server here, as it does on a laptop that runs ``make run`` (a server
watched from other machines keeps its cores to itself).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.browser import TIMEOUT_MS, VIEWPORT, chromium, seed_lee, settle, start_server  # noqa: E402

GOAL = 0.95
W2V_EPOCHS = 30  # ~10 s on the Wikipedia sample: long enough for the live loss chart (it starts after 5 s)
LDA_PASSES = 100  # ~8 s on Lee (10 passes take ~1 s, over before the panel's costs show)
FT_STEPS = 3  # SmolLM2 LoRA: ~7 s a step on 2 cores, plus the validations before and after
FT_VALIDATION = 0.02  # the least the form allows: at 0.1 the two validations took most of a ~90 s run


def _fill(page, label: str, value: object) -> None:
    box = page.get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    settle(page)


@dataclass(frozen=True)
class PanelJob:
    """A job a user starts from a page: where, with what, and which artifact kind it writes."""

    name: str
    seed: str  # "lee" or "wikipedia": the workspace it starts from (seed_workspaces)
    path: str
    button: str
    kind: str
    form: Callable = lambda page: None  # sets the page's form before the click
    quick: bool = False
    metric: str = "seconds"  # the artifact's metric that is the job's own time
    exact: bool = True  # False: the button's label starts with ``button`` ("Draw the map of 1,593 words")


def _word2vec(page) -> None:
    _fill(page, "Epochs", W2V_EPOCHS)


def _lda(page) -> None:
    _fill(page, "Passes", LDA_PASSES)


def _embedded(page) -> None:
    page.get_by_text("Embedding topics (MiniLM").click()
    settle(page)


def _finetune(page) -> None:
    _fill(page, "Max steps (0 = by epochs)", FT_STEPS)
    page.get_by_text("More settings", exact=True).click()
    settle(page)
    _fill(page, "Validation share", FT_VALIDATION)
    page.get_by_role("button", name="Start fine-tuning").and_(page.locator(":enabled")).wait_for(timeout=TIMEOUT_MS)


JOBS = (
    PanelJob(f"Word2Vec (CBOW, {W2V_EPOCHS} epochs, Wikipedia sample)", "wikipedia", "embeddings", "Train", "vectors",
             _word2vec, quick=True),
    PanelJob("Map (UMAP, the Lee model's whole vocabulary)", "lee", "map", "Draw the map", "map", quick=True,
             exact=False),
    PanelJob(f"LDA topics (Lee, 8 topics, {LDA_PASSES} passes)", "lee", "topics", "Find topics", "topics", _lda,
             quick=True),
    PanelJob("Embedding topics (Lee: MiniLM, UMAP, HDBSCAN)", "lee", "topics", "Find topics", "topics", _embedded),
    PanelJob(f"Fine-tune (SmolLM2 LoRA, {FT_STEPS} steps, Lee)", "lee", "finetune", "Start fine-tuning", "finetune",
             _finetune, metric="wall_seconds"),  # its "seconds" leave the validations out
)


def seed_workspaces(root: Path) -> dict[str, Path]:
    from core.corpus.store import ingest_sample
    from core.preprocess import PipelineConfig
    from core.tokens import build_tokens
    from core.workspace import Workspace

    seed_lee(root / "lee")
    ws = Workspace(root / "wikipedia")
    corpus = ingest_sample(ws, "wikipedia")
    ws.set_state("active_corpus", corpus.id)
    ws.set_state("active_tokens", build_tokens(ws, corpus.id, PipelineConfig()).id)
    return {"lee": root / "lee", "wikipedia": root / "wikipedia"}


@dataclass
class Figures:
    watched: list[float] = field(default_factory=list)
    detached: list[float] = field(default_factory=list)

    def kept(self) -> float:
        """The median of the rounds' detached / watched seconds (the goal's figure)."""
        return statistics.median(d / w for d, w in zip(self.detached, self.watched, strict=True))

    def of_medians(self) -> float:
        return statistics.median(self.detached) / statistics.median(self.watched)


def one_job(page, url: str, served, job: PanelJob, watched: bool) -> float:
    """Start ``job`` from a fresh session; return its seconds (from its artifact) once it has written it."""
    page.goto(f"{url}/{job.path}")
    button = page.get_by_role("button", name=job.button, exact=job.exact)
    button.wait_for(state="visible", timeout=TIMEOUT_MS)
    settle(page)
    job.form(page)
    before = {m.id for m in served.list(job.kind)}
    button.click()
    if not watched:
        page.get_by_test_id("stProgress").first.wait_for(state="visible", timeout=TIMEOUT_MS)
        page.goto("about:blank")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not (new := [m for m in served.list(job.kind) if m.id not in before]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{job.name}: no artifact after {TIMEOUT_MS / 1000:.0f} s")
        time.sleep(0.2)
    if watched:
        settle(page)
    served.delete(job.kind, new[0].id)
    return float(new[0].metrics[job.metric])


def panel_run(browser, tmp: Path, runs: int, jobs: tuple[PanelJob, ...]) -> dict[str, Figures]:
    from core.workspace import Workspace

    seeds = seed_workspaces(tmp / "seeds")
    figures: dict[str, Figures] = {}
    for n, job in enumerate(jobs):
        server = start_server(tmp / f"job{n}", seeds[job.seed], warm_up=False)
        served = Workspace(server.home)
        context = browser.new_context(viewport=VIEWPORT)
        f = figures[job.name] = Figures()
        try:
            page = context.new_page()
            first = one_job(page, server.url, served, job, watched=False)
            print(f"  {job.name}: first run (not counted) {first:.2f} s", file=sys.stderr)
            for run in range(runs):
                for watched in (run % 2 == 0, run % 2 == 1):
                    (f.watched if watched else f.detached).append(one_job(page, server.url, served, job, watched))
                print(f"  {job.name}, round {run + 1}: watched {f.watched[-1]:.2f} s, detached {f.detached[-1]:.2f} s",
                      file=sys.stderr)
        finally:
            context.close()
            server.stop()
    return figures


def report(figures: dict[str, Figures]) -> float:
    def show(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})"

    print("| job | watched s | detached s | speed kept (paired) | of the medians |")
    print("|---|---|---|---:|---:|")
    for name, f in figures.items():
        print(f"| {name} | {show(f.watched)} | {show(f.detached)} | {f.kept():.2f} | {f.of_medians():.2f} |")
    return min(f.kept() for f in figures.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Word2Vec, the map and LDA, one round")
    parser.add_argument("--runs", type=int, help="rounds per job (median); default 5, 1 with --quick")
    parser.add_argument("--only", default="", help="only the jobs whose name contains this (e.g. Word2Vec)")
    args = parser.parse_args()
    jobs = tuple(j for j in JOBS if (j.quick or not args.quick) and args.only in j.name)
    runs = args.runs or (1 if args.quick else 5)
    tmp = Path(tempfile.mkdtemp(prefix="corpus-lab-bench-jobs-"))
    try:
        with chromium() as browser:
            figures = panel_run(browser, tmp, runs, jobs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    slowest = report(figures)
    print(f"\nRESULT slowest_panel_speed_kept={slowest:.2f} goal>={GOAL:g}")


if __name__ == "__main__":
    main()
