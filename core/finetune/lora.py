"""Which layers LoRA adapts, per architecture, and the PEFT config for a run."""

from __future__ import annotations

from core.errors import UserError
from core.finetune.config import FinetuneConfig

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
