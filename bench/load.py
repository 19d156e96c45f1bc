"""Generation next to heavy work, through the app's own job system, with the scheduler off and on.

Usage: ``.venv/bin/python bench/load.py [--quick]``.

In one process, as the server runs them: the bundled SmolLM2 (greedy, 48 new tokens, the Generate
page's job kind) is timed

- alone;
- next to a Word2Vec job (CBOW, 2 workers, the Wikipedia sample, as many epochs as it takes) —
  ``before``: ``CORPUS_LAB_SCHEDULER=0`` semantics (every job runs at once, nothing yields),
  ``after``: the scheduler (heavy jobs pause at their checkpoints while a generation runs);
- without ``--quick``, next to a LoRA fine-tune of the same model, before and after.

Rounds alternate before/after; medians. Then five generations are submitted at once (five sessions
pressing Generate), and each one's time to first token is recorded: they are served in arrival
order, one at a time on the one model, so the spread is the queue. Last line:
``RESULT gen_under_load_ratio=<after: under load / alone> goal>=0.5``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from core.device import share_cpu_politely  # noqa: E402

share_cpu_politely()  # as app.py does: the server's torch threads sleep rather than spin while they wait

GOAL = 0.5
NEW_TOKENS = 48
PROMPT = "The river bank was flooded after the storm, so the town"


def generate_once(m) -> tuple[float, float]:
    """(tokens/s, seconds to the first token from submit) for one generation job."""
    from core.generation import GenerationConfig, generate
    from core.jobs import REGISTRY

    config = GenerationConfig(strategy="greedy", max_new_tokens=NEW_TOKENS, repetition_penalty=1.1)
    first: list[float] = []
    start = time.perf_counter()
    job = REGISTRY.submit("bench generate", lambda ctx: generate(
        m, PROMPT, config, on_text=lambda _p: first or first.append(time.perf_counter())), kind="generate")
    job.wait()
    if job.error:
        raise SystemExit(job.error)
    return job.result.tokens_per_s, (first[0] if first else time.perf_counter()) - start


def next_to(start_heavy, m) -> float:
    """Generation tokens/s while the heavy job started by ``start_heavy()`` is really running."""
    job = start_heavy()
    deadline = time.monotonic() + 600
    while job.progress < 0.02 and not job.is_finished and time.monotonic() < deadline:
        time.sleep(0.05)  # past vocabulary building / model loading: the heavy part has begun
    if job.is_finished:
        raise SystemExit(f"the heavy job ended before the generation started: {job.error or job.status}")
    time.sleep(0.5)
    rate, _ = generate_once(m)
    still = not job.is_finished
    job.cancel()
    job.wait()
    if not still:
        print("  (the heavy job ended during the generation: the reading is optimistic)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Word2Vec only, 2 rounds (about a minute)")
    args = parser.parse_args()
    rounds = 2 if args.quick else 3

    from core import models
    from core.corpus.store import ingest_sample
    from core.embeddings.config import EmbeddingConfig
    from core.embeddings.train import train_vectors
    from core.finetune import FinetuneConfig
    from core.finetune import run as finetune_run
    from core.jobs import REGISTRY
    from core.preprocess import PipelineConfig
    from core.scheduler import SCHEDULER
    from core.tokens import build_tokens
    from core.workspace import Workspace

    ws = Workspace(Path(tempfile.mkdtemp(prefix="corpus-lab-load-")))
    corpus = ingest_sample(ws, "wikipedia")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    m = models.load(models.SMOLLM_ID, ws=ws)
    generate_once(m)  # warm-up
    n = 0

    def word2vec():
        nonlocal n
        n += 1  # a new seed each time, so no run finds the last one's artifact and ends at once
        config = EmbeddingConfig(epochs=200, workers=2, seed=n)
        return REGISTRY.submit("bench word2vec", lambda ctx: train_vectors(ws, tokens.id, config, ctx=ctx), kind="vectors")

    def lora():
        nonlocal n
        n += 1
        config = FinetuneConfig(method="lora", max_steps=400, seed=n)
        return REGISTRY.submit("bench lora", lambda ctx: finetune_run(ws, corpus.id, config, ctx=ctx), kind="finetune")

    heavies = {"Word2Vec, 2 workers": word2vec}
    if not args.quick:
        heavies["LoRA fine-tune"] = lora
    print(f"SmolLM2 {m.dtype} on {m.device}, torch threads: default; greedy, {NEW_TOKENS} new tokens; "
          f"load average {os.getloadavg()[0]:.2f}; {rounds} rounds alternating, median\n")
    alone = []
    results: dict[str, dict[str, list[float]]] = {h: {"before": [], "after": []} for h in heavies}
    for _ in range(rounds):
        alone.append(generate_once(m)[0])
        for name, start in heavies.items():
            for mode in ("before", "after"):
                SCHEDULER.enabled = mode == "after"
                results[name][mode].append(next_to(start, m))
    SCHEDULER.enabled = True
    solo = statistics.median(alone)
    print("| next to | before tok/s | ratio to alone | after tok/s | ratio to alone |")
    print("|---|---:|---:|---:|---:|")
    print(f"| nothing | {solo:.1f} | 1.00 | {solo:.1f} | 1.00 |")
    ratios = {}
    for name, by_mode in results.items():
        before, after = statistics.median(by_mode["before"]), statistics.median(by_mode["after"])
        ratios[name] = after / solo
        print(f"| {name} | {before:.1f} | {before / solo:.2f} | {after:.1f} | {after / solo:.2f} |")

    # Five sessions press Generate at the same moment.
    from core.generation import GenerationConfig, generate

    config = GenerationConfig(strategy="greedy", max_new_tokens=32, repetition_penalty=1.1)
    firsts: dict[int, float] = {}
    start = time.perf_counter()
    jobs = []
    for i in range(5):
        def work(ctx, i=i):
            return generate(m, PROMPT, config, on_text=lambda _p: firsts.setdefault(i, time.perf_counter() - start))
        jobs.append(REGISTRY.submit(f"session {i}", work, kind="generate"))
    for job in jobs:
        job.wait()
    ttft = sorted(firsts.values())
    p95 = ttft[min(len(ttft) - 1, round(0.95 * (len(ttft) - 1)))]
    order = sorted(firsts, key=firsts.get)
    print(f"\nFive sessions at once, 32 tokens each: first token after {', '.join(f'{t:.1f}' for t in ttft)} s "
          f"(p50 {statistics.median(ttft):.1f} s, p95 {p95:.1f} s); served in order {order}; "
          f"all done in {time.perf_counter() - start:.1f} s; errors: {sum(1 for j in jobs if j.error)}")
    worst = min(ratios.values())
    print(f"RESULT gen_under_load_ratio={worst:.2f} goal>={GOAL}")


if __name__ == "__main__":
    main()
