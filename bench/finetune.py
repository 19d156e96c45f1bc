"""Fine-tuning throughput: Corpus Lab's ``core.finetune.run`` against a plain HF ``Trainer`` on the same work.

Usage: ``.venv/bin/python bench/finetune.py [--quick]``. SmolLM2-135M-Instruct in float32 on the CPU,
the Lee sample cut into the same blocks for both sides (``prepare_data``), the same TrainingArguments
settings (batch, learning rate, schedule, warm-up, seed, steps) and, for LoRA, the same adapter
(r 8, alpha 16, dropout 0.05 on q/k/v/o). Ours is the whole ``run``: a private model copy, per-step
metrics and progress, validation before/during/after (held to 1% of the documents here, so it stays
small), checkpoints, saving. The peer is ``Trainer(model, args, train_dataset).train()`` with no
evaluation, no checkpoints and the default logging. Both sides' training speed is measured the
same way: tokens per optimizer step / the median time from ``on_step_begin`` to ``on_step_end``
(the first step, a warm-up, left out). Ours and the peer alternate, LoRA then full, for several
rounds; the table shows medians. Without ``--quick`` it also times one default LoRA run
(``FinetuneConfig()``) on the whole Lee sample, end to end. The last line is
``RESULT finetune_throughput_ratio=<ours/plain tokens per s, LoRA and full pooled> goal>=0.9``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core import finetune, models  # noqa: E402
from core.corpus.store import ingest_sample  # noqa: E402
from core.finetune import data as finetune_data  # noqa: E402
from core.finetune import estimate as finetune_estimate  # noqa: E402
from core.jobs import NoJob  # noqa: E402
from core.workspace import Workspace  # noqa: E402

GOAL = 0.9
WS = ROOT / "bench" / "data" / "finetune-ws"  # keeps the converted SmolLM2 (~20 s) between runs
LEARNING_RATES = {"lora": 2e-4, "full": 5e-5}


def config(method: str, steps: int, batch: int) -> finetune.FinetuneConfig:
    return finetune.FinetuneConfig(method=method, learning_rate=LEARNING_RATES[method], max_steps=steps, batch_size=batch,
                                   val_fraction=0.01)


class Recorder(NoJob):
    def __init__(self):
        self.rows = []

    def metric(self, **values):
        self.rows.append(values)


def ours(ws: Workspace, corpus_id: str, cfg: finetune.FinetuneConfig) -> dict:
    ctx = Recorder()
    start = time.perf_counter()
    m = finetune.run(ws, corpus_id, cfg, ctx, device="cpu")
    wall = time.perf_counter() - start
    ws.delete(finetune.KIND, m.id)  # the next round must train again
    rates = [r["tokens_per_s"] for r in ctx.rows if "train_loss" in r and r["step"] > 1]
    return {"tokens_per_s": statistics.median(rates), "wall": wall}


def plain(ws: Workspace, corpus_id: str, cfg: finetune.FinetuneConfig) -> dict:
    """What a user would write with transformers + peft alone, on the same blocks."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments

    from core.corpus.store import load_documents

    folder = models._ensure_smollm(ws, NoJob())
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    tokenizer = finetune_data._tokenizer(models.resolve(models.SMOLLM_ID), ws)
    data = finetune.prepare_data(tokenizer, [d.text for d in load_documents(ws, corpus_id)], cfg)
    if cfg.method == "lora":
        model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16, lora_dropout=0.05,
                                                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    blocks = torch.tensor(data.train, dtype=torch.long)
    dataset = [{"input_ids": b, "labels": b} for b in blocks]
    times = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - self.t0)

    args = TrainingArguments(output_dir=str(ws.root / "runs" / "plain"), per_device_train_batch_size=cfg.batch_size,
                             max_steps=cfg.max_steps, learning_rate=cfg.learning_rate, lr_scheduler_type=cfg.scheduler,
                             warmup_steps=cfg.warmup_ratio, seed=cfg.seed, use_cpu=True, report_to="none",
                             save_strategy="no", disable_tqdm=True)
    Trainer(model=model, args=args, train_dataset=dataset, callbacks=[StepTimer()]).train()
    wall = time.perf_counter() - start
    tokens = cfg.batch_size * cfg.block_size
    return {"tokens_per_s": tokens / statistics.median(times[1:]), "wall": wall}


def end_to_end(ws: Workspace, corpus_id: str) -> None:
    cfg = finetune.FinetuneConfig()
    estimate = finetune.preflight(ws, corpus_id, cfg)
    ctx = Recorder()
    start = time.perf_counter()
    m = finetune.run(ws, corpus_id, cfg, ctx)
    wall = time.perf_counter() - start
    ws.delete(finetune.KIND, m.id)
    x = m.metrics
    print(f"\nDefault LoRA run on the whole Lee sample (`FinetuneConfig()`: block {cfg.block_size}, batch {cfg.batch_size}, "
          f"{cfg.epochs:g} epoch, max_train_tokens {cfg.max_train_tokens:,}):\n")
    print("| train tokens | val tokens | steps | training tokens/s | wall min | preflight estimate min | "
          "val ppl before → after |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {x['train_tokens']:,} | {x['val_tokens']:,} | {x['steps']} | {x['tokens_per_s']:,.0f} | {wall / 60:.1f} | "
          f"{estimate.seconds / 60:.1f} | {x['val_ppl_before']:.2f} → {x['val_ppl_after']:.2f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 steps, batch 2 (about a minute)")
    args = parser.parse_args(argv)
    rounds, steps, batch = (1, 3, 2) if args.quick else (3, 6, 4)

    import torch

    ws = Workspace(WS)
    corpus_id = ingest_sample(ws, "lee").id
    models._ensure_smollm(ws, NoJob())
    print(f"{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, load average {os.getloadavg()[0]:.2f}; "
          f"SmolLM2-135M float32 on the CPU; {steps} steps of {batch} × 128 tokens; {rounds} round(s) alternating, "
          "median\n")
    results = {}
    for method in ("lora", "full"):
        cfg = config(method, steps, batch)
        runs = {"ours": [], "plain": []}
        for _ in range(rounds):
            runs["ours"].append(ours(ws, corpus_id, cfg))
            runs["plain"].append(plain(ws, corpus_id, cfg))
        results[method] = {side: {k: statistics.median(r[k] for r in rs) for k in ("tokens_per_s", "wall")}
                           for side, rs in runs.items()}
    print("| method | ours tokens/s | plain Trainer tokens/s | ratio ours/plain | ours whole run s | plain train() s |")
    print("|---|---:|---:|---:|---:|---:|")
    for method, r in results.items():
        print(f"| {method} | {r['ours']['tokens_per_s']:,.0f} | {r['plain']['tokens_per_s']:,.0f} | "
              f"{r['ours']['tokens_per_s'] / r['plain']['tokens_per_s']:.3f} | {r['ours']['wall']:.1f} | "
              f"{r['plain']['wall']:.1f} |")
    flops = finetune_estimate._device_flops("cpu")
    params = 134_515_008
    print(f"\nMatmul probe: {flops / 1e9:,.0f} GFLOP/s; measured training reaches "
          f"{4 * params * results['lora']['ours']['tokens_per_s'] / flops:.2f} (LoRA, 4 × params per token) and "
          f"{6 * params * results['full']['ours']['tokens_per_s'] / flops:.2f} (full, 6 ×) of it "
          f"(preflight assumes {finetune_estimate._EFFICIENCY}).")
    if not args.quick:
        end_to_end(ws, corpus_id)
    pooled_ours = sum(r["ours"]["tokens_per_s"] for r in results.values())
    pooled_plain = sum(r["plain"]["tokens_per_s"] for r in results.values())
    print(f"\nRESULT finetune_throughput_ratio={pooled_ours / pooled_plain:.3f} goal>={GOAL}")


if __name__ == "__main__":
    main()
