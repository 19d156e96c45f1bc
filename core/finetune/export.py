"""Sharing a fine-tune: the zip that transformers/peft load, and the ``accelerate launch`` command."""

from __future__ import annotations

import io
import json
import shlex
import zipfile

from core.finetune.config import HUB_IDS, KIND, FinetuneConfig
from core.workspace import Manifest, Workspace


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
