"""The fine-tuning settings, their id, and the checks a run makes before it starts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from core import models
from core.errors import UserError
from core.workspace import Workspace

KIND = "finetune"
METHODS = ("lora", "full")
METHOD_LABELS = {"lora": "LoRA", "full": "full fine-tuning"}  # how people write them
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
