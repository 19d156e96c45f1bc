"""The server's memory over the whole journey, and what unloading the models gives back.

Usage: ``.venv/bin/python bench/memory.py [--quick]``.

One process does what a long session does, in order: the tour (Lee sample → tokens → CBOW vectors →
UMAP map), an attention pass with all-MiniLM-L6-v2, a SmolLM2 generation, a short LoRA fine-tune of
SmolLM2, then unloads every model. After each step it prints the resident memory (what the sidebar
shows) next to the model cache's use. The claim checked: after the journey, resident memory stays
within the model budget's use plus a margin (``MARGIN_MB``: the interpreter, torch, numba, gensim,
UMAP and the Streamlit server's own share), and unloading the models gives memory back. Last line:
``RESULT journey_rss_over_models_mb=<peak RSS − models in memory> goal<=MARGIN_MB``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MARGIN_MB = 1500  # libraries, caches and sessions beside the models (measured 722 MB; docs/ARCHITECTURE.md, "Memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 fine-tuning steps instead of 20")
    args = parser.parse_args()

    from core import attention, models
    from core.demo import run_demo
    from core.device import resident_bytes
    from core.finetune import FinetuneConfig
    from core.finetune import run as finetune
    from core.generation import GenerationConfig, generate
    from core.jobs import REGISTRY
    from core.workspace import Workspace

    ws = Workspace(Path(tempfile.mkdtemp(prefix="corpus-lab-memory-")))
    rows, peak_over = [], 0.0

    def note(step: str) -> None:
        nonlocal peak_over
        rss, used = resident_bytes() / 2**20, models.memory()["used_bytes"] / 2**20
        peak_over = max(peak_over, rss - used)
        rows.append((step, rss, used))
        print(f"| {step} | {rss:,.0f} | {used:,.0f} | {rss - used:,.0f} |", flush=True)

    print(f"Model budget {models.memory()['budget_bytes'] / 2**20:,.0f} MB; margin allowed {MARGIN_MB:,} MB\n")
    print("| after | resident MB | models MB | resident − models MB |")
    print("|---|---:|---:|---:|")
    note("start (imports)")
    demo = REGISTRY.submit("tour", lambda ctx: run_demo(ws, ctx=ctx), kind="demo")
    demo.wait()
    demo = demo.result
    note("the tour: corpus → tokens → vectors → map")
    minilm = models.load(models.MINILM_ID, ws=ws, attentions=True)
    with models.model_lock(minilm):
        attention.attentions(minilm.model, minilm.tokenizer, "The bank of the river was steep. " * 8)
    note("attention, all-MiniLM-L6-v2")
    smol = models.load(models.SMOLLM_ID, ws=ws)
    generate(smol, "Tell me about the river bank.", GenerationConfig(strategy="greedy", max_new_tokens=64))
    note("generation, SmolLM2")
    # Through the job system, as the page runs it: a heavy job's end gives its memory back.
    REGISTRY.submit("fine-tune", lambda ctx: finetune(ws, demo.corpus_id, FinetuneConfig(
        method="lora", max_steps=3 if args.quick else 20, batch_size=4, max_train_tokens=4096 if args.quick else 32_768),
        ctx=ctx), kind="finetune").wait()
    note("LoRA fine-tune, SmolLM2 (3 steps)" if args.quick else "LoRA fine-tune, SmolLM2 (20 steps)")
    before_unload = rows[-1][1]
    del minilm, smol
    models.unload_all()
    gc.collect()
    note("every model unloaded")
    given_back = before_unload - rows[-1][1]
    print(f"\nUnloading gave back {given_back:,.0f} MB; the peak of resident memory beyond the models was "
          f"{peak_over:,.0f} MB (allowed {MARGIN_MB:,} MB).")
    print(f"RESULT journey_rss_over_models_mb={peak_over:.0f} goal<={MARGIN_MB}")


if __name__ == "__main__":
    main()
