"""The models in memory: one process-wide cache shared by every browser session, and the lock
each model is run under.

Loading SmolLM2 costs ~1 s and 256 MB, so a session must not load its own copy: ``CACHE`` holds
each model once, keyed by ``"<id>|<device>|<dtype>|<attention>"``, within a memory budget
(``CORPUS_LAB_MODEL_MEMORY_MB``, else 80% of the GPU or 40% of RAM), least recently used out
first. Cached models are shared and read-only: run them under ``model_lock``, which lets one
caller at a time use a model and turns out-of-memory into a message after freeing memory.

    >>> with model_lock(m), torch.inference_mode():
    ...     out = m.model(**batch)
    >>> loaded()   # [{"key": "all-minilm-l6-v2|cpu|float32|eager", "name": "all-MiniLM-L6-v2", "mb": 86.7, ...}]
"""

from __future__ import annotations

import gc
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from core.device import default_device, trim_heap
from core.errors import UserError
from core.models.registry import ModelSpec
from core.turns import TurnLock

ENV_BUDGET = "CORPUS_LAB_MODEL_MEMORY_MB"  # the cache's memory budget, in MB


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
    lock: TurnLock = field(default_factory=TurnLock, repr=False)  # sessions take turns, in arrival order


def model_key(model_id: str, device: str, dtype: str, attention: str) -> str:
    return f"{model_id}|{device}|{dtype}|{attention}"


def _default_budget() -> int:
    """``CORPUS_LAB_MODEL_MEMORY_MB``, else 80% of the GPU's memory, else 40% of the machine's RAM."""
    if os.environ.get(ENV_BUDGET):
        return int(float(os.environ[ENV_BUDGET]) * 2**20)
    if default_device() == "cuda":  # asked without torch where there is no GPU driver
        import torch

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
        self._budget = budget
        self._entries: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    @property
    def budget(self) -> int:
        # Worked out on first use, not at import: it may import torch (~3 s), and every page that
        # imports the model core would otherwise pay that on its first render.
        if self._budget is None:
            self._budget = _default_budget()
        return self._budget

    @budget.setter
    def budget(self, value: int) -> None:
        self._budget = value

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


# Looked up as ``cache.CACHE`` at every use (never imported by value), so a test can swap in a fresh one.
CACHE = ModelCache()


def _release_memory() -> None:
    import torch

    gc.collect()
    device = default_device()
    if device == "cuda":
        torch.cuda.empty_cache()
    elif device == "mps":
        torch.mps.empty_cache()
    trim_heap()


def cached(model_id: str, device: str, dtype: str, attentions: bool) -> LoadedModel | None:
    """The model if it is in memory: with eager attention when ``attentions``, else any copy
    (a request without attentions happily reuses an eager one)."""
    hit = CACHE.get(model_key(model_id, device, dtype, "eager" if attentions else "default"))
    if hit is None and not attentions:
        hit = CACHE.get(model_key(model_id, device, dtype, "eager"))
    return hit


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


def is_oom(exc: BaseException) -> bool:
    """Out of memory on any device: torch's own error, Python's, or a RuntimeError that says so."""
    import torch

    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


@contextmanager
def model_lock(m: LoadedModel, on_wait: Callable[[int], None] | None = None) -> Iterator[LoadedModel]:
    """Run a shared model, one caller at a time; GPU out-of-memory becomes a message.

    Two sessions running one model at once would only split the same cores (CPU) or double
    the activations in GPU memory, so they take turns, first come first served; ``on_wait(n)``
    hears how many are ahead while it waits. Hold it for one forward or one ``generate``, not
    for a whole page. On out-of-memory every other cached model is unloaded,
    the allocator's cache emptied, and a UserError raised; the model stays loaded for a retry.
    """
    oom = None
    m.lock.acquire(on_wait=on_wait)
    try:
        yield m
    except Exception as exc:
        if not is_oom(exc):
            raise
        oom = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    finally:
        m.lock.release()
    if oom is not None:  # outside the except block, so the traceback's tensors are already gone
        CACHE.unload_all(keep=m.key)
        raise UserError(f"{m.spec.label} ran out of {m.device.upper()} memory ({oom}). Memory was freed; try a shorter "
                        "text or fewer tokens, or unload other models.")
