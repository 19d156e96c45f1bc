"""Loading a model: ``load`` for the shared cache, ``fresh`` for a private copy to train,
``meta_model`` for its shapes without weights.

Every path reads safetensors only, never runs code that comes with a model
(``trust_remote_code=False``), and asks for eager attention when attentions are wanted
(transformers 5 silently returns none under SDPA). A model whose estimate (parameters × bytes
per value) is over the cache's budget is refused before a weight is read; out-of-memory while
loading unloads the other models and says so.

    >>> m = load("all-minilm-l6-v2", attentions=True); m.key
    'all-minilm-l6-v2|cpu|float32|eager'
    >>> model, tokenizer = fresh("tiny-gpt2")     # private, on the CPU, outside the cache
    >>> sum(p.numel() for p in meta_model(resolve("gpt2")).parameters())   # 124_439_808, no memory
"""

from __future__ import annotations

import time
from pathlib import Path

from core.device import DTYPES, default_device, default_dtype
from core.errors import UserError
from core.jobs import NoJob
from core.models import cache
from core.models.bundled import ensure_smollm, minilm_dir, smollm_config, smollm_dir, smollm_ready
from core.models.cache import ENV_BUDGET, LoadedModel, is_oom, model_key
from core.models.hub import from_hub, hub_config
from core.models.registry import MINILM_ID, SMOLLM_ID, ModelSpec, auto_class, resolve
from core.models.tiny import build_tiny, tiny_config
from core.workspace import Workspace


def load(
    model_id: str,
    *,
    ws: Workspace | None = None,
    attentions: bool = False,
    dtype: str = "auto",
    device: str = "auto",
    ctx=None,
) -> LoadedModel:
    """The model and tokenizer for ``model_id``, from the cache when it is there.

    ``attentions=True`` loads it with eager attention (transformers 5 returns no attentions
    under SDPA); a request without attentions happily reuses an eager copy already in memory.
    ``ctx`` (a JobContext) gets progress and may cancel between steps. A model whose estimate
    (parameters × bytes per value) exceeds the budget is refused before any weight is read.

    >>> m = load("all-minilm-l6-v2"); m.key, m is load("all-minilm-l6-v2")
    ('all-minilm-l6-v2|cpu|float32|default', True)
    """
    ctx = ctx or NoJob()
    spec = resolve(model_id, ws)
    device = default_device() if device == "auto" else device
    dtype = default_dtype(device, spec.kind) if dtype == "auto" else dtype
    if dtype not in DTYPES:
        raise UserError(f"Unknown number format '{dtype}'; choose one of {', '.join(DTYPES)}.")
    if device == "cpu" and dtype == "float16":
        raise UserError("float16 is slow and inexact on a CPU; choose float32 or bfloat16.")
    hit = cache.cached(spec.id, device, dtype, attentions)
    if hit is not None:
        return hit
    attention = "eager" if attentions else "default"
    key = model_key(spec.id, device, dtype, attention)
    estimate = estimate_bytes(spec, dtype)
    budget = cache.CACHE.budget
    if estimate > budget:
        params = estimate // DTYPES[dtype]
        raise UserError(
            f"{spec.label} needs about {estimate / 2**20:,.0f} MB in {dtype} ({params / 1e6:,.0f} M parameters × "
            f"{DTYPES[dtype]} bytes), more than the model memory budget of {budget / 2**20:,.0f} MB. Choose a smaller "
            f"model{' or bfloat16' if dtype == 'float32' else ''}, or raise {ENV_BUDGET}.")
    return cache.CACHE.get_or_load(key, estimate, lambda: _build(spec, key, device, dtype, attention, ws, ctx))


def estimate_bytes(spec: ModelSpec, dtype: str) -> int:
    """Parameters × bytes per value; the parameters counted from the config alone when unknown."""
    params = spec.params if spec.params is not None else sum(p.numel() for p in meta_model(spec).parameters())
    return params * DTYPES[dtype]


def meta_model(spec: ModelSpec, ws: Workspace | None = None):
    """The model built on the meta device: its shapes and layers without memory, so a 7 B model costs nothing.

    A LoRA artifact has its base's shapes (merging adds no parameters). SmolLM2 before its
    one-time conversion uses its known config, so asking needs neither the conversion nor the GGUF.
    """
    import torch
    from transformers import AutoConfig

    if spec.base:
        spec = resolve(spec.base, ws)
    try:
        if spec.source == "tiny":
            config = tiny_config(spec.kind)
        elif spec.id == SMOLLM_ID:
            config = AutoConfig.from_pretrained(smollm_dir()) if smollm_ready() else smollm_config()
        elif spec.source == "hub":
            config = hub_config(spec.path)
        else:
            config = AutoConfig.from_pretrained(spec.path, trust_remote_code=False)
        with torch.device("meta"):
            return auto_class(spec.kind).from_config(config, trust_remote_code=False)
    except UserError:
        raise
    except (ValueError, KeyError, OSError) as exc:
        raise UserError(f"transformers cannot build '{spec.label}': {str(exc).strip().splitlines()[0]}") from None


def fresh(model_id: str, *, ws: Workspace | None = None, ctx=None, dtype: str = "float32"):
    """A private ``(model, tokenizer)`` on the CPU, outside the cache: for training, which changes weights.

    Cached models are shared between sessions and must never change, so fine-tuning builds its own
    copy the same way ``load`` would (tiny from its config with seed 0, SmolLM2 from the converted
    safetensors, anything else with ``from_pretrained(..., use_safetensors=True)``).

    >>> model, tokenizer = fresh("tiny-gpt2"); model is tiny_model().model
    False
    """
    import torch

    spec = resolve(model_id, ws)
    return _weights(spec, {"dtype": getattr(torch, dtype), "trust_remote_code": False}, "cpu", ws, ctx or NoJob())


def _build(spec: ModelSpec, key: str, device: str, dtype: str, attention: str, ws, ctx) -> LoadedModel:
    import torch

    start = time.perf_counter()
    ctx.check_cancelled()
    ctx.progress(0.02, f"Loading {spec.label}")
    kwargs = {"dtype": getattr(torch, dtype), "trust_remote_code": False}
    if attention == "eager":
        kwargs["attn_implementation"] = "eager"
    oom = None
    try:
        model, tokenizer = _weights(spec, kwargs, device, ws, ctx)
    except Exception as exc:
        if not is_oom(exc):
            raise
        oom = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if oom is not None:  # outside the except block, so the traceback's tensors are already gone
        cache.CACHE.unload_all()
        raise UserError(f"There is not enough {device.upper()} memory to load {spec.label} ({oom}). Other models were "
                        "unloaded to free memory; try again, or choose a smaller model or bfloat16.")
    if next(model.parameters()).device.type != device:
        model.to(device)  # models built from a config start on the CPU
    model.eval()
    model.requires_grad_(False)  # shared and read-only: no autograd graph, ever
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token  # so batches can be padded
    nbytes = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
    ctx.progress(1.0, f"{spec.label} loaded")
    return LoadedModel(spec, model, tokenizer, device, dtype, attention, key, nbytes, time.perf_counter() - start)


def _weights(spec: ModelSpec, kwargs: dict, device: str, ws, ctx):
    """A new (model, tokenizer) for a spec, from wherever its weights live; never the cache."""
    if spec.source == "tiny":
        return build_tiny(spec.kind, kwargs)
    if spec.base:
        return _merged(spec, kwargs, device, ws, ctx)
    if spec.id == SMOLLM_ID:
        folder = str(ensure_smollm(ctx))
    elif spec.id == MINILM_ID:
        folder = str(minilm_dir())
    else:
        folder = spec.path
    ctx.check_cancelled()
    ctx.progress(0.9, f"Reading the {spec.label} weights")
    return _pretrained(spec, folder, kwargs, device)


def _merged(spec: ModelSpec, kwargs: dict, device: str, ws, ctx):
    """A LoRA adapter artifact: a fresh base, the adapter on top, merged into a plain model.

    Merging (W + B·A·alpha/r, once) makes it as fast as the base and keeps ``output_attentions``
    working; the adapter folder's tokenizer is the one it was trained with.
    """
    from peft import PeftModel
    from transformers import AutoTokenizer

    base_model, tokenizer = _weights(resolve(spec.base, ws), kwargs, device, ws, ctx)
    ctx.progress(0.95, f"Merging the adapter of {spec.label}")
    model = PeftModel.from_pretrained(base_model, spec.path, is_trainable=False).merge_and_unload()
    if (Path(spec.path) / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(spec.path, trust_remote_code=False)
    return model, tokenizer


def _pretrained(spec: ModelSpec, source: str, kwargs: dict, device: str):
    from transformers import AutoTokenizer

    cls = auto_class(spec.kind)
    if device != "cpu":
        kwargs = {**kwargs, "device_map": device}  # straight onto the GPU, no CPU copy in between

    def fetch(local: bool):
        extra = {"local_files_only": True} if local or spec.source != "hub" else {}
        model = cls.from_pretrained(source, use_safetensors=True, **kwargs, **extra)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **extra)
        return model, tokenizer

    if spec.source == "hub":
        return from_hub(spec.id, fetch)
    try:
        return fetch(True)
    except OSError as exc:
        raise UserError(f"Could not load {spec.label} from {source}: {str(exc).strip().splitlines()[0]}") from None
