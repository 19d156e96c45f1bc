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

Layout: ``config`` (settings, id, checks), ``lora`` (which layers), ``data`` (blocks), ``estimate``
(pre-flight), ``train`` (the run), ``export`` (zip, accelerate command), ``__main__`` (command line).
"""

from core.finetune.config import HUB_IDS, KIND, METHOD_LABELS, METHODS, SCHEDULERS, FinetuneConfig, finetune_id
from core.finetune.data import Data, prepare_data, validation_texts
from core.finetune.estimate import Estimate, duration, preflight
from core.finetune.export import accelerate_command, export_zip
from core.finetune.lora import lora_targets
from core.finetune.train import run

__all__ = ["HUB_IDS", "KIND", "METHOD_LABELS", "METHODS", "SCHEDULERS", "Data", "Estimate", "FinetuneConfig",
           "accelerate_command", "duration", "export_zip", "finetune_id", "lora_targets", "preflight", "prepare_data",
           "run", "validation_texts"]
