"""Generation throughput: Corpus Lab's ``core.generation.generate`` against a bare ``model.generate``.

Usage: ``.venv/bin/python bench/generation.py [--quick] [--device auto|cpu|cuda] [--dtype ...] [--threads N]``.
Loads the bundled SmolLM2-135M-Instruct once (default dtype of ``models.load``: bfloat16 on a CPU with
native bf16) from the workspace in ``CORPUS_LAB_HOME`` (else a temporary one, converting the GGUF
first, ~20 s) and, for two sizes of work (short: ~20-token prompt, 32 new tokens; long: ~400-token
prompt, 128 new tokens) and two strategies (greedy; sampling with a seed), runs alternately:

- ours: ``generate(m, prompt, config, on_text=...)``: templating, the lock, the seeded private RNG,
  the streamer decoding every token and handing it to a callback, the stop/cancel criterion, raw
  logits kept for every step and turned into probability, entropy and top-5 per token;
- bare: ``m.model.generate(ids, ...)`` with the same ids, settings, seed and pad token, and a
  minimal ``BaseStreamer`` that only notes when the first generated token arrives (no decoding).

Both sides must produce the same token ids (checked). Tokens/s = generated tokens / wall time of the
call; first-token latency = ours: ``Generation.first_token_s`` (the streamer's first generated token,
from just before ``model.generate``), bare: the recording streamer, from just before the call.
Median over the rounds. On CUDA it also compares, for the bare call, the dynamic KV cache with a
static one with and without ``torch.compile`` (transformers compiles the forward by itself when the
cache is static on a GPU). The last line is ``RESULT generate_throughput_ratio=<ours/bare> goal>=0.95``:
the geometric mean over the four cases of ours tok/s / bare tok/s (a pooled Σ seconds ratio would let
one case slowed by a busy neighbour outweigh the others). On a shared 2-core machine ``--threads 1``
is far steadier: with both cores in use, a neighbour stalls torch's OpenMP barriers at random.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GOAL = 0.95
PARAGRAPH = ("The river bank was flooded after the storm, so the town moved its savings to the bank on the hill. "
             "Nobody in the valley had seen the water rise so fast, and the old mill by the bridge was lost. "
             "In the spring the farmers rebuilt the walls along the fields, and the children planted willows "
             "where the water had cut into the meadow. ")


def prompts(tokenizer) -> dict[str, tuple[str, int]]:
    """name → (prompt text, new tokens): ~20 tokens → 32 new, ~400 tokens → 128 new."""
    ids = tokenizer(PARAGRAPH * 12)["input_ids"]
    return {"short": (tokenizer.decode(ids[:20]), 32), "long": (tokenizer.decode(ids[:400]), 128)}


def configs():
    from core.generation import GenerationConfig

    return {
        "greedy": GenerationConfig(strategy="greedy", repetition_penalty=1.1),
        "sample": GenerationConfig(strategy="sample", temperature=0.7, top_k=50, top_p=0.9, repetition_penalty=1.1, seed=0),
    }


def ours(m, prompt: str, config) -> tuple[float, float, list[int]]:
    from core.generation import generate

    pieces: list[str] = []
    start = time.perf_counter()
    g = generate(m, prompt, config, on_text=pieces.append)  # a callback, as the Generate page's job has
    seconds = time.perf_counter() - start
    return seconds, g.first_token_s, [t.id for t in g.tokens]


def bare(m, prompt: str, config, **extra) -> tuple[float, float, list[int]]:
    """The peer: one plain ``model.generate`` call with the same settings; nothing of ours."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    class FirstToken(BaseStreamer):  # records the first generated token's time; decodes nothing
        def __init__(self):
            self.calls, self.first = 0, None

        def put(self, value):
            self.calls += 1
            if self.calls == 2 and self.first is None:  # the first put is the prompt
                self.first = time.perf_counter()

        def end(self):
            pass

    ids = torch.tensor([m.tokenizer(prompt)["input_ids"]], device=m.device)
    kwargs = dict(max_new_tokens=config.max_new_tokens, repetition_penalty=config.repetition_penalty,
                  pad_token_id=m.tokenizer.pad_token_id)
    if config.strategy == "sample":
        kwargs.update(do_sample=True, temperature=config.temperature, top_k=config.top_k, top_p=config.top_p)
    else:
        kwargs.update(do_sample=False)
    streamer = FirstToken()
    with torch.inference_mode():
        torch.manual_seed(config.seed)
        start = time.perf_counter()
        out = m.model.generate(ids, attention_mask=torch.ones_like(ids), streamer=streamer, **kwargs, **extra)
        if m.device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return seconds, (streamer.first or start + seconds) - start, out[0, ids.shape[1]:].tolist()


def measure(m, rounds: int) -> float:
    from core.generation import generate

    cases = prompts(m.tokenizer)
    generate(m, cases["short"][0], configs()["greedy"].with_(max_new_tokens=4))  # warm-up, both code paths
    bare(m, cases["short"][0], configs()["greedy"].with_(max_new_tokens=4))
    print("| work | strategy | prompt tokens | new tokens | ours tok/s | bare tok/s | ratio ours/bare "
          "| ours first token s | bare first token s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for work, (prompt, new) in cases.items():
        for name, config in configs().items():
            config = config.with_(max_new_tokens=new)
            runs = {"ours": [], "bare": []}
            for _ in range(rounds):
                for side, fn in (("ours", ours), ("bare", bare)):
                    runs[side].append(fn(m, prompt, config))
            ids = {side: r[0][2] for side, r in runs.items()}
            assert ids["ours"] == ids["bare"], f"{work}/{name}: ours and bare wrote different tokens"
            n = len(ids["ours"])
            secs = {side: statistics.median(r[0] for r in rs) for side, rs in runs.items()}
            first = {side: statistics.median(r[1] for r in rs) for side, rs in runs.items()}
            ratios.append(secs["bare"] / secs["ours"])
            print(f"| {work} | {name} | {len(m.tokenizer(prompt)['input_ids'])} | {n} | {n / secs['ours']:.1f} | "
                  f"{n / secs['bare']:.1f} | {secs['bare'] / secs['ours']:.3f} | {first['ours']:.3f} | {first['bare']:.3f} |")
    return statistics.geometric_mean(ratios)


def static_cache(m, rounds: int) -> None:
    """GPU only: the bare call with a dynamic KV cache, a static one, and a static one compiled."""
    cases = prompts(m.tokenizer)
    prompt, new = cases["long"]
    config = configs()["greedy"].with_(max_new_tokens=new)
    variants = {
        "dynamic cache": {},
        "static cache, no compile": {"cache_implementation": "static", "disable_compile": True},
        "static cache + torch.compile (auto)": {"cache_implementation": "static"},
    }
    print(f"\n| bare generate, long greedy, {m.device} | tok/s | first token s | first call s (incl. compile) |")
    print("|---|---:|---:|---:|")
    reference = None
    for label, extra in variants.items():
        first_call = bare(m, prompt, config, **extra)  # compiles on the first call
        results = [bare(m, prompt, config, **extra) for _ in range(rounds)]
        ids = results[0][2]
        reference = reference or ids
        same = "" if ids == reference else " (different tokens!)"
        secs = statistics.median(r[0] for r in results)
        print(f"| {label}{same} | {len(ids) / secs:.1f} | {statistics.median(r[1] for r in results):.3f} | "
              f"{first_call[0]:.1f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5 (about a minute once converted)")
    parser.add_argument("--device", default="auto", help="auto (cuda → mps → cpu), cpu, cuda or mps")
    parser.add_argument("--dtype", default="auto", help="auto (models.load's default), float32, bfloat16 or float16")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default: torch's choice); 1 suffers least from a busy neighbour")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 5

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from core import models
    from core.workspace import Workspace

    home = os.environ.get("CORPUS_LAB_HOME")
    root = home or tempfile.mkdtemp(prefix="corpus-lab-bench-generation-")
    try:
        start = time.perf_counter()
        m = models.load(models.SMOLLM_ID, ws=Workspace(root), device=args.device, dtype=args.dtype)
        loaded = time.perf_counter() - start
        where = (torch.cuda.get_device_name() if m.device == "cuda"
                 else f"{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads")
        print(f"{m.spec.label}, {m.dtype} on {m.device} ({where}); load average {os.getloadavg()[0]:.2f}; "
              f"loaded in {loaded:.1f} s; {rounds} rounds alternating ours and bare, median\n")
        ratio = measure(m, rounds)
        if m.device == "cuda":
            static_cache(m, rounds)
        else:
            print("\n(static KV cache + torch.compile: measured on CUDA only; run with --device cuda on a GPU machine)")
        print(f"\nRESULT generate_throughput_ratio={ratio:.3f} goal>={GOAL}")
    finally:
        if not home:
            shutil.rmtree(root, ignore_errors=True)  # 540 MB of safetensors


if __name__ == "__main__":
    main()
