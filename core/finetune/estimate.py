"""The pre-flight estimate: steps, memory and time for a run, from shapes and a measured matmul rate."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from core import models
from core.errors import UserError
from core.finetune.config import FinetuneConfig, _causal_spec, _check
from core.finetune.data import _texts, _tokenizer, prepare_data
from core.finetune.lora import _label, _lora_config, _lora_params
from core.workspace import Workspace


@dataclass(frozen=True)
class Plan:
    """What a run will do, as ``run`` does it: the estimate and the progress line count from this."""

    steps: int  # optimizer steps
    eval_every: int  # a validation (and a checkpoint) every this many steps
    evaluations: int  # validations in all: the one before training, then every eval_every steps, and the last step
    tokens_trained: int  # tokens the training steps read (blocks × block size)

    def evaluations_after(self, step: int) -> int:
        """Validations still to come once ``step`` steps are done (the one before training not counted)."""
        ahead = self.steps // self.eval_every - step // self.eval_every
        return ahead + (1 if self.steps % self.eval_every else 0)


def plan(n_train_blocks: int, config: FinetuneConfig, world: int = 1) -> Plan:
    """The run's plan for ``n_train_blocks`` training blocks: steps, validations, tokens trained."""
    steps = _steps(n_train_blocks, config, world)
    every = max(1, math.ceil(steps / 4))
    # The Trainer walks the blocks in batches, epoch after epoch (an epoch's last batch may be short).
    per_batch = config.batch_size * world
    batches_per_epoch = max(1, math.ceil(n_train_blocks / per_batch))
    epochs, rest = divmod(steps * config.grad_accum, batches_per_epoch)
    blocks = epochs * n_train_blocks + min(rest * per_batch, n_train_blocks)
    return Plan(steps, every, 1 + steps // every + (1 if steps % every else 0), blocks * config.block_size)


FEW_STEPS, FEW_TOKENS = 10, 10_000  # below either, a run teaches the model little worth comparing


@dataclass(frozen=True)
class Estimate:
    params: int
    trainable: int
    steps: int
    train_tokens: int  # tokens in the training split (what one epoch reads)
    memory_bytes: int
    seconds: float  # the whole run: loading, training and every validation
    fits: bool
    reason: str = ""  # when it does not fit: what to change
    tokens_trained: int = 0  # what the steps read: steps × batch × block, fewer than train_tokens with a step cap
    evaluations: int = 0
    val_tokens: int = 0
    val_seconds: float = 0.0  # of ``seconds``, the validations

    @property
    def summary(self) -> str:
        """e.g. '8 steps over 8,192 tokens; 1.4 M of 134.5 M parameters trained; 3 validations; ~1.9 GB, ~3 min'."""
        text = (f"{self.steps:,} steps over {self.tokens_trained:,} tokens; {_count(self.trainable)} of "
                f"{_count(self.params)} parameters trained; {self.evaluations} validations of {self.val_tokens:,} "
                f"tokens; ~{self.memory_bytes / 2**30:,.2f} GB, ~{duration(self.seconds)}")
        return text if self.fits else f"{text}. {self.reason}"

    def __str__(self) -> str:
        return self.summary

    @property
    def too_little(self) -> str:
        """Why this run will barely change the model (empty when it has enough to learn from): a run of a
        step or two on a few hundred tokens finishes, and its before/after comparison shows only noise."""
        if self.steps >= FEW_STEPS and self.tokens_trained >= FEW_TOKENS:
            return ""
        return (f"Only {self.steps:,} optimizer step{'s' if self.steps != 1 else ''} over {self.tokens_trained:,} "
                f"tokens: too little text for the model to learn much, so the before/after comparison will mostly "
                f"show noise. Use a bigger corpus (a bundled sample has about 60,000 words), or more epochs to "
                f"see the loss move at least.")


def _max_positions(model) -> int | None:
    config = model.config
    return getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)


def _check_block(model, config: FinetuneConfig) -> None:
    limit = _max_positions(model)
    if limit and config.block_size > limit:
        raise UserError(f"{_label(model)} reads at most {limit:,} tokens at once; choose a block size of {limit:,} or less.")


def _steps(n_blocks: int, config: FinetuneConfig, world: int = 1) -> int:
    """Optimizer steps, counted as the Trainer counts them."""
    if config.max_steps > 0:
        return config.max_steps
    batches = math.ceil(n_blocks / (config.batch_size * world))
    return max(1, math.ceil(config.epochs * max(1, batches // config.grad_accum)))


_FLOPS: dict[str, float] = {}
_EVAL_EFFICIENCY = 0.45  # validation: forward only, but batch by batch (SmolLM2 on Lee: 8,192 tokens in 25-36 s, 2 cores)
_EFFICIENCY = 0.6  # training reaches about this share of a bare matmul's FLOP/s (bench/finetune.py: 0.56–0.63, 2 EPYC cores)


def _device_flops(device: str) -> float:
    """Matmul FLOP/s of the device: the fastest of ~0.2 s of repeats (the least disturbed), once per process."""
    if device not in _FLOPS:
        import torch

        dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
        n, k, m = (4096, 4096, 4096) if device == "cuda" else (1024, 576, 1536)  # CPU: a SmolLM2 MLP on 8 × 128 tokens
        a = torch.randn(n, k, device=device, dtype=dtype)
        b = torch.randn(k, m, device=device, dtype=dtype)
        a @ b  # warm-up
        _sync(device)
        best, start = float("inf"), time.perf_counter()
        while time.perf_counter() - start < 0.2:
            t0 = time.perf_counter()
            a @ b
            _sync(device)
            best = min(best, time.perf_counter() - t0)
        _FLOPS[device] = 2 * n * k * m / best
    return _FLOPS[device]


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _available_memory(device: str) -> int:
    if device == "cuda":
        import torch

        return int(torch.cuda.mem_get_info()[0])
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
    return 8 * 2**30


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def preflight(ws: Workspace, corpus_id: str, config: FinetuneConfig, *, device: str = "auto") -> Estimate:
    """Steps, memory and time of a run before it starts, in ~1 s: no weights are read.

    Parameters are counted on the meta device; the corpus is tokenised for the step count.
    Memory = fp32 weights + gradients and two AdamW states for the trained parameters +
    activations (about 70 bytes × batch × block × layers × hidden, plus the attention scores and
    the logits over the vocabulary). Time = (6 × params for full, 4 × for LoRA) × tokens seen,
    plus the validations (2 × params × validation tokens each, as many as ``plan`` counts), over the
    device's measured matmul FLOP/s × its efficiency. Settings or a
    corpus that ``run`` would refuse raise the same UserError.

    >>> preflight(ws, corpus_id, FinetuneConfig())   # SmolLM2, LoRA r8, on the Lee sample
    Estimate(params=134515008, trainable=921600, steps=32, train_tokens=32768, memory_bytes=3.1e9, ..., fits=True)
    """
    _check(config)
    device = _pick_device(device)
    spec = _causal_spec(config.base, ws)
    meta = models.meta_model(spec, ws)
    _check_block(meta, config)
    params = sum(p.numel() for p in meta.parameters())
    trainable = params if config.method == "full" else _lora_params(meta, _lora_config(meta, config))
    data = prepare_data(_tokenizer(spec, ws), _texts(ws, corpus_id), config)
    run_plan = plan(len(data.train), config)
    memory = _memory(meta, params, trainable, config)
    flops = (6 if config.method == "full" else 4) * params * run_plan.tokens_trained
    # plus what does not scale with the model: Trainer set-up and loading (~3 s), ~30 ms per step, and the
    # one-time SmolLM2 conversion
    setup = 3 + 0.03 * run_plan.steps + (20 if spec.id == models.SMOLLM_ID and not models.smollm_ready() else 0)
    rate = _device_flops(device)
    val_seconds = run_plan.evaluations * 2 * params * data.val_tokens / (rate * _EVAL_EFFICIENCY)
    seconds = flops / (rate * _EFFICIENCY) + setup + val_seconds
    free = _available_memory(device)
    fits, reason = memory <= 0.9 * free, ""
    if not fits:
        reason = (f"This needs about {memory / 2**30:,.1f} GB but only {free / 2**30:,.1f} GB of {device.upper()} memory "
                  f"is free. Choose a smaller batch size (now {config.batch_size}; gradient accumulation keeps the "
                  f"effective batch) or block size (now {config.block_size})"
                  + (", or LoRA instead of full fine-tuning." if config.method == "full" else "."))
    return Estimate(params, trainable, run_plan.steps, data.train_tokens, int(memory), round(seconds, 1), fits, reason,
                    tokens_trained=run_plan.tokens_trained, evaluations=run_plan.evaluations,
                    val_tokens=data.val_tokens, val_seconds=round(val_seconds, 1))


def _memory(meta, params: int, trainable: int, config: FinetuneConfig) -> int:
    c = meta.config
    hidden = getattr(c, "hidden_size", None) or getattr(c, "n_embd", 0)
    layers = getattr(c, "num_hidden_layers", None) or getattr(c, "n_layer", 0)
    heads = getattr(c, "num_attention_heads", None) or getattr(c, "n_head", 0)
    tokens = config.batch_size * config.block_size
    # fp32 weights; gradient + AdamW's two moments for what trains (LoRA's adapters are tiny)
    weights = 4 * params + 12 * trainable
    # Per layer, backward keeps ~70 bytes per token and hidden unit in fp32 (Korthikanti et al. 2022, doubled
    # for fp32) plus the attention probabilities (block² per head, a few copies); then logits, their softmax
    # and gradient over the whole vocabulary.
    activations = layers * (70 * tokens * hidden + 12 * config.batch_size * heads * config.block_size ** 2)
    logits = 12 * tokens * c.vocab_size
    return int(1.1 * (weights + activations + logits))


def _count(n: int) -> str:
    return f"{n / 1e6:,.1f} M" if n >= 1e6 else f"{n:,}"


def duration(seconds: float) -> str:
    """Seconds as people say them: "45 s", "12 min", "1.5 h"."""
    if seconds < 90:
        return f"{seconds:,.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"
