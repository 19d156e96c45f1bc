"""Every CUDA path the app has, in one command, as one table.

Usage: ``.venv/bin/python bench/gpu.py [--quick] [--device auto|cuda|cpu]``.

On a machine without a GPU it is a dry run on the CPU (``torch-cpu`` for GloVe, float32 instead of
bf16, no ``torch.compile``, a real out-of-memory replaced by the allocator's error raised from inside
a forward pass), so the script and the paths it calls cannot rot between GPU sessions. Rows:

1. GloVe on torch (the Lee sample's co-occurrences) against the numba CPU trainer in the same run;
2. SmolLM2 greedy generation: the app's dynamic cache, a static cache, and a static cache with
   ``torch.compile`` (CUDA only: transformers compiles by itself there);
3. a LoRA fine-tune of SmolLM2, bf16 where the GPU supports it, a few optimizer steps;
4. the model cache's out-of-memory recovery: a forward pass that asks for far more memory than
   the device has ends in a plain message, other models are unloaded, and the model still answers.

Each row runs on its own: one failing prints its error in the table and the others go on. The last
line is ``RESULT gpu_paths_ok=<passed>/<rows> device=<cuda|cpu>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def glove_row(ws, tokens_path: Path, device: str, quick: bool) -> str:
    from core.embeddings.glove import train_glove

    epochs = 5 if quick else 15
    numba = train_glove(tokens_path, vector_size=50, epochs=epochs, min_count=5, device="cpu")
    torch_dev = "cuda" if device == "cuda" else "torch-cpu"
    other = train_glove(tokens_path, vector_size=50, epochs=epochs, min_count=5, device=torch_dev)
    assert other.costs[-1] < other.costs[0], f"{torch_dev} cost did not fall: {other.costs}"
    return (f"{torch_dev}: {other.seconds_training:.2f} s, cost {other.costs[0]:.3f} → {other.costs[-1]:.3f}; "
            f"numba cpu {numba.seconds_training:.2f} s ({numba.seconds_training / other.seconds_training:.1f}×)")


def generation_row(m, device: str, quick: bool) -> str:
    import torch

    from core.generation import GenerationConfig, generate

    new = 32 if quick else 128
    g = generate(m, "The river bank was flooded after the storm, so", GenerationConfig(strategy="greedy", max_new_tokens=new))
    parts = [f"app (dynamic cache): {g.tokens_per_s:.1f} tok/s"]
    ids = torch.tensor([m.tokenizer("The river bank was flooded after the storm, so")["input_ids"]], device=m.device)
    # transformers compiles the forward by itself when the cache is static on a GPU; disable_compile
    # gives the static cache alone.
    variants = [("static cache", {"cache_implementation": "static", "disable_compile": True})]
    if device == "cuda":
        variants.append(("static + torch.compile", {"cache_implementation": "static"}))
    for name, extra in variants:
        with torch.inference_mode():
            m.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=4, do_sample=False, **extra)  # compile/warm
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            out = m.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, do_sample=False,
                                   min_new_tokens=new, **extra)
            if device == "cuda":
                torch.cuda.synchronize()
        made = out.shape[1] - ids.shape[1]
        parts.append(f"{name}: {made / (time.perf_counter() - start):.1f} tok/s")
    return "; ".join(parts)


def finetune_row(ws, corpus_id: str, device: str, quick: bool) -> str:
    from core.finetune import FinetuneConfig, run

    config = FinetuneConfig(method="lora", max_steps=3 if quick else 20, batch_size=4, seed=1,
                            max_train_tokens=4096 if quick else 32_768)
    start = time.perf_counter()
    manifest = run(ws, corpus_id, config, device=device)
    mt = manifest.metrics
    return (f"{mt['device']} bf16={device == 'cuda'}: {mt['steps']} steps in {time.perf_counter() - start:.1f} s "
            f"({mt['tokens_per_s']:,.0f} tokens/s); validation perplexity {mt['val_ppl_before']:.2f} → "
            f"{mt['val_ppl_after']:.2f}")


def oom_row(m, device: str) -> str:
    import torch

    from core import models
    from core.errors import UserError

    other = models.tiny_model("encoder")  # something the recovery should unload

    def too_big(module, args):
        if device == "cuda":  # a real allocation far past the card's memory
            torch.empty(int(torch.cuda.get_device_properties(0).total_memory * 4), dtype=torch.uint8, device="cuda")
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1099511627776 bytes")

    hook = m.model.register_forward_pre_hook(too_big)
    enc = m.tokenizer("hello", return_tensors="pt").to(m.device)
    try:
        with models.model_lock(m), torch.inference_mode():
            m.model(**enc)
        raise AssertionError("no out-of-memory was raised")
    except UserError as exc:
        message = str(exc)
    finally:
        hook.remove()
    kept = [e["key"] for e in models.loaded()]
    assert m.key in kept and other.key not in kept, kept
    with models.model_lock(m), torch.inference_mode():
        m.model(**enc)
    return f"'{message[:70]}…'; other models unloaded, the model answers again"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, tokens and steps")
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    args = parser.parse_args()

    import torch

    from core import models
    from core.corpus.store import ingest_sample
    from core.preprocess import PipelineConfig
    from core.tokens import build_tokens, sentences_path
    from core.workspace import Workspace

    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    ws = Workspace(Path(tempfile.mkdtemp(prefix="corpus-lab-gpu-")))
    corpus = ingest_sample(ws, "lee")
    tokens = build_tokens(ws, corpus.id, PipelineConfig())
    name = torch.cuda.get_device_name(0) if device == "cuda" else "no GPU: dry run on the CPU"
    print(f"Device: {device} ({name}); torch {torch.__version__}\n")
    m = models.load(models.SMOLLM_ID, ws=ws, device=device)
    rows = [
        ("GloVe on torch", lambda: glove_row(ws, sentences_path(ws, tokens.id), device, args.quick)),
        (f"Generation, SmolLM2 {m.dtype}", lambda: generation_row(m, device, args.quick)),
        ("LoRA fine-tune, SmolLM2", lambda: finetune_row(ws, corpus.id, device, args.quick)),
        ("Out-of-memory recovery", lambda: oom_row(m, device)),
    ]
    print("| path | ok | result |")
    print("|---|---|---|")
    passed = 0
    for title, row in rows:
        try:
            result, ok = row(), True
        except Exception as exc:  # a broken path is a row of the table, not the end of the run
            traceback.print_exc(limit=3, file=sys.stderr)
            result, ok = f"{type(exc).__name__}: {exc}".replace("|", "/")[:200], False
        passed += ok
        print(f"| {title} | {'yes' if ok else 'NO'} | {result} |", flush=True)
    print(f"RESULT gpu_paths_ok={passed}/{len(rows)} device={device}")


if __name__ == "__main__":
    main()
