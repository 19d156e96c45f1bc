"""Which models exist: the registry the pickers offer, and ``resolve`` from a model id to a spec.

A spec says where a model's weights come from and what it is (causal LM or encoder), without
reading any weight. Ids are the built-in names (bundled, Hub, tiny), ``owner/name`` Hub ids,
folder paths, and ``finetune:<artifact id>`` for models fine-tuned in the workspace. Folders
and artifacts are checked here, before anything loads: safetensors only, no custom code.

    >>> resolve("gpt2").kind, resolve("gpt2").source
    ('causal', 'hub')
    >>> [s.id for s in registry(ws)][:2]
    ['smollm2-135m-instruct', 'all-minilm-l6-v2']
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from core.models.hub import hub_config
from core.workspace import Workspace

CAUSAL, ENCODER = "causal", "encoder"
SMOLLM_ID = "smollm2-135m-instruct"
MINILM_ID = "all-minilm-l6-v2"
# Set by the test suite: the pickers offer the tiny random models too, so page tests that are not
# about a real model's output run in milliseconds instead of loading SmolLM2.
ENV_TINY = "CORPUS_LAB_TINY_MODELS"


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


# Hub entries use the short legacy ids (the Hub redirects them): that is the name most HF caches hold them under.
_HUB_NOTE = "Hugging Face Hub: needs the internet once, or the HF cache."
_BUILTIN = [
    ModelSpec(SMOLLM_ID, "SmolLM2-135M-Instruct", CAUSAL, "bundled", params=134_515_008, chat=True,
              description="Small chat model (30 layers, 9 heads), bundled and offline. Apache-2.0."),
    ModelSpec(MINILM_ID, "all-MiniLM-L6-v2", ENCODER, "bundled", params=22_713_216,
              description="Sentence encoder (BERT, 6 layers × 12 heads), bundled and offline. MIT."),
    ModelSpec("distilgpt2", "DistilGPT2", CAUSAL, "hub", "distilgpt2", 81_912_576, _HUB_NOTE),
    ModelSpec("gpt2", "GPT-2 small", CAUSAL, "hub", "gpt2", 124_439_808, _HUB_NOTE),
    ModelSpec("bert-base-uncased", "BERT base uncased", ENCODER, "hub", "bert-base-uncased", 109_482_240, _HUB_NOTE),
    ModelSpec("distilbert-base-uncased", "DistilBERT base uncased", ENCODER, "hub", "distilbert-base-uncased",
              66_362_880, _HUB_NOTE),
    ModelSpec("roberta-base", "RoBERTa base", ENCODER, "hub", "roberta-base", 124_645_632, _HUB_NOTE),
]
_TINY = [
    ModelSpec("tiny-gpt2", "Tiny random GPT-2", CAUSAL, "tiny", description="Random weights, 2 layers × 4 heads; for tests."),
    ModelSpec("tiny-bert", "Tiny random BERT", ENCODER, "tiny", description="Random weights, 2 layers × 4 heads; for tests."),
]
_KNOWN = {s.id: s for s in _BUILTIN + _TINY}


def tiny_offered() -> bool:
    """Whether ``CORPUS_LAB_TINY_MODELS`` asks the pickers to offer the tiny models (read at every call)."""
    return os.environ.get(ENV_TINY, "").strip().lower() in {"1", "true", "yes", "on"}


def registry(ws: Workspace | None = None, *, tiny: bool | None = None) -> list[ModelSpec]:
    """What the model pickers offer: bundled first, then Hub ids, the tiny models when asked
    (``tiny``; by default when ``CORPUS_LAB_TINY_MODELS`` is set), then the workspace's fine-tunes."""
    tiny = tiny_offered() if tiny is None else tiny
    specs = list(_BUILTIN) + (list(_TINY) if tiny else [])
    ws = ws or Workspace.from_env()
    for manifest in ws.list("finetune"):
        try:
            specs.append(_artifact_spec(ws, manifest.id))
        except UserError:
            continue  # a half-usable artifact is listed by the Fine-tune page, not offered here
    for manifest in ws.list("classifier"):
        if manifest.config.get("method") == "encoder":
            try:
                specs.append(_classifier_spec(ws, manifest.id))
            except UserError:
                continue
    return specs


def resolve(model_id: str, ws: Workspace | None = None) -> ModelSpec:
    """The spec for a model id, or a UserError that says why there is none.

    >>> resolve("./my-model")   # UserError: There is no folder ./my-model ...
    """
    model_id = (model_id or "").strip()
    if not model_id:
        raise UserError("Choose a model first.")
    if model_id in _KNOWN:
        return _KNOWN[model_id]
    if model_id.startswith("finetune:"):
        return _artifact_spec(ws or Workspace.from_env(), model_id.split(":", 1)[1])
    if model_id.startswith("classifier:"):
        return _classifier_spec(ws or Workspace.from_env(), model_id.split(":", 1)[1])
    if _looks_like_path(model_id):
        return _local_spec(Path(model_id).expanduser().absolute())
    if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", model_id):
        config = hub_config(model_id)
        return ModelSpec(model_id, model_id, kind_of(config), "hub", model_id, description="Hugging Face Hub")
    raise UserError(f"'{model_id}' is neither a known model, a Hugging Face Hub id (owner/name) nor a folder path.")


def known(model_id: str) -> ModelSpec | None:
    """A built-in spec (bundled, Hub or tiny) by id, without any lookup."""
    return _KNOWN.get(model_id)


def auto_class(kind: str):
    """The transformers Auto class that builds a model of this kind (with its LM head for causal ones)."""
    from transformers import AutoModel, AutoModelForCausalLM

    return AutoModelForCausalLM if kind == CAUSAL else AutoModel


def kind_of(config) -> str:
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


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", "\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", text)) or Path(text).is_dir()


def _local_spec(folder: Path) -> ModelSpec:
    config = _check_folder(folder)
    folder = folder.resolve()
    return ModelSpec(str(folder), folder.name, kind_of(config), "local", str(folder), description=f"Local folder {folder}")


def _artifact_spec(ws: Workspace, artifact_id: str) -> ModelSpec:
    """A fine-tuned model in the workspace: ``finetune/<id>/`` holding a full model folder
    (config.json, model.safetensors, tokenizer) next to its manifest or under ``model/``, or a
    PEFT LoRA adapter under ``adapter/`` for the base model named in the manifest's config.

    An adapter is loaded onto a fresh copy of its base and merged (``loading._merged``), so it
    costs what the base costs and runs as a plain model."""
    manifest = ws.manifest("finetune", artifact_id)
    folder = ws.path("finetune", artifact_id)
    description = f"Fine-tuned in this workspace ({artifact_id})"
    if (folder / "adapter" / "adapter_config.json").is_file():
        folder = folder / "adapter"
        base = str(manifest.config.get("base") or "")
        _check_adapter(folder, base)
        base_spec = _KNOWN.get(base)
        # Fine-tunes are language models: the kind is known without resolving the base (no Hub call here).
        return ModelSpec(f"finetune:{artifact_id}", manifest.name or artifact_id, CAUSAL, "artifact", str(folder),
                         params=base_spec.params if base_spec else None, description=f"{description}; LoRA on {base}",
                         chat=(folder / "chat_template.jinja").is_file(), base=base)
    if (folder / "model" / "config.json").is_file():
        folder = folder / "model"
    config = _check_folder(folder)
    return ModelSpec(f"finetune:{artifact_id}", manifest.name or artifact_id, kind_of(config), "artifact", str(folder),
                     description=description, chat=(folder / "chat_template.jinja").is_file())


def _classifier_spec(ws: Workspace, artifact_id: str) -> ModelSpec:
    """A transformer fine-tuned on the Classify page (``classifier/<id>/model``): on the Attention page it is
    the encoder under its classification head, which ``AutoModel`` reads without the head."""
    manifest = ws.manifest("classifier", artifact_id)
    folder = ws.path("classifier", artifact_id) / "model"
    _check_folder(folder)
    return ModelSpec(f"classifier:{artifact_id}", manifest.name or artifact_id, ENCODER, "artifact", str(folder),
                     description=f"Classifier trained in this workspace ({artifact_id})")


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
