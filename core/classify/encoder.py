"""The fine-tuned transformer classifier: an encoder (MiniLM by default) with a new classification head,
trained with the HF ``Trainer``, saved as safetensors, read back by ``EncoderClassifier``.

    >>> metrics = train_encoder(texts, labels, val_texts, val_labels, ["neg", "pos"], EncoderConfig(), folder, ctx)
    >>> clf = EncoderClassifier.load(folder)
    >>> clf.predict_proba(["a warm, funny film"])      # array([[0.08, 0.92]]): one column per class
    >>> clf.explain("a warm, funny film")              # [("a", -0.01), ("warm", 0.41), (",", 0.0), ...]

The model is a private copy (``models.fresh``; cached models never change) under a new head seeded by
``config.seed``. LoRA adapts the attention's query and value and trains the head in full; it is
merged before saving, so the folder is a plain ``*ForSequenceClassification`` that loads without peft.
``encoder.json`` is written last: a folder without it is not a finished classifier.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core import models
from core.errors import UserError
from core.finetune.estimate import _pick_device, duration
from core.jobs import NoJob
from core.models.registry import known
from core.workspace import atomic_write_text

METHODS = ("full", "lora")
# Full fine-tuning moves every weight a little; LoRA's low-rank adapters start at zero and need ~10× the step
# (the LoRA paper used 4e-4-5e-4 for RoBERTa on GLUE).
LEARNING_RATES = {"full": 5e-5, "lora": 5e-4}
DONE = "encoder.json"  # written last: classes, config, metrics
EXPLAIN_STEPS = 16  # explain's integrated-gradient steps: one batch of 16 copies, ~0.1-0.4 s for MiniLM on 2 cores
_LORA_TARGETS = (("query", "value"), ("q_lin", "v_lin"), ("q_proj", "v_proj"))  # BERT/RoBERTa, DistilBERT, others


@dataclass(frozen=True)
class EncoderConfig:
    """How to fine-tune. ``learning_rate`` left out (None) takes the method's default (``LEARNING_RATES``)."""

    base: str = models.MINILM_ID
    method: str = "full"  # "full" | "lora"
    epochs: int = 3
    learning_rate: float | None = None  # → 5e-5 (full) or 5e-4 (lora)
    batch_size: int = 16
    max_length: int = 128
    lora_r: int = 8
    seed: int = 42

    def __post_init__(self):
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", LEARNING_RATES.get(self.method, LEARNING_RATES["full"]))

    def to_dict(self) -> dict:
        return asdict(self)


def _check(config: EncoderConfig, classes, n_train: int) -> None:
    if config.method not in METHODS:
        raise UserError(f"Unknown fine-tuning method '{config.method}'; choose full or lora.")
    if len(classes) < 2 or len(set(classes)) != len(classes) or n_train < 2:
        raise UserError("A classifier needs at least two different classes and two labelled training texts.")
    for name, value, low in (("epochs", config.epochs, 1), ("batch size", config.batch_size, 1),
                             ("maximum length", config.max_length, 8), ("LoRA rank", config.lora_r, 1)):
        if value < low:
            raise UserError(f"The {name} must be at least {low} (it is {value}).")
    if not 0 < config.learning_rate < 1:
        raise UserError(f"The learning rate must be between 0 and 1 (it is {config.learning_rate:g}).")


def _indexes(labels, classes) -> list[int]:
    """Labels as class indexes: class names, or already indexes into ``classes``."""
    position = {c: i for i, c in enumerate(classes)}
    position.update({i: i for i in range(len(classes)) if i not in position})
    bad = next((y for y in labels if y not in position), None)
    if bad is not None:
        raise UserError(f"The label {bad!r} is not one of the classes ({', '.join(map(str, classes))}).")
    return [position[y] for y in labels]


def _fresh_classifier(config: EncoderConfig, classes):
    """A private (model, tokenizer): the base's encoder weights under a new head, seeded by ``config.seed``.

    The base loads as ``models.fresh`` loads it (bundled, tiny, local, Hub; safetensors, no custom code); its
    weights then go into the ``*ForSequenceClassification`` body, so only the head is new, by design — no
    "newly initialized weights" warning to silence."""
    import torch
    from transformers import AutoModelForSequenceClassification

    spec = models.resolve(config.base)
    if spec.kind != models.ENCODER:
        raise UserError(f"{spec.label} is a language model that writes text; a classifier needs an encoder such as "
                        "all-MiniLM-L6-v2.")
    base, tokenizer = models.fresh(config.base)
    names = [str(c) for c in classes]
    settings = {**base.config.to_dict(), "num_labels": len(names), "id2label": dict(enumerate(names)),
                "label2id": {c: i for i, c in enumerate(names)}, "architectures": None}
    model_config = type(base.config).from_dict(settings)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        try:
            model = AutoModelForSequenceClassification.from_config(model_config, trust_remote_code=False)
        except ValueError:
            raise UserError(f"transformers has no classifier for {spec.label} ({model_config.model_type}).") from None
    body = getattr(model, model.base_model_prefix)
    body.load_state_dict(base.state_dict(), strict=False)
    missing = sorted(k for k in set(body.state_dict()) - set(base.state_dict()) if not k.startswith("pooler."))
    if missing:  # a base without a pooler gets a new one (seeded too), like the head
        raise UserError(f"The weights of {spec.label} do not fit its classifier ({missing[0]} is missing).")
    if tokenizer.pad_token is None:
        raise UserError(f"The tokenizer of {spec.label} has no padding token, so texts cannot be batched.")
    return model, tokenizer


def _with_lora(model, config: EncoderConfig):
    import torch
    from peft import LoraConfig, get_peft_model

    layers = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    targets = next((t for t in _LORA_TARGETS if set(t) <= layers), None)
    if targets is None:
        raise UserError("LoRA finds no attention query/value layers in this model; choose full fine-tuning.")
    # SEQ_CLS trains the new head (classifier/score) in full. BERT's pooler stays frozen: trained in full at LoRA's
    # rate it over-fit 140 polarity sentences in 5 epochs (validation accuracy 0.43-0.53, 0.72 without; 60 held out).
    lora = LoraConfig(task_type="SEQ_CLS", r=config.lora_r, lora_alpha=2 * config.lora_r, lora_dropout=0.1,
                      target_modules=list(targets))
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():  # the adapters' initial A from the run's seed
        warnings.filterwarnings("ignore", ".*is_gradient_checkpointing", FutureWarning)  # peft reading a renamed property
        torch.manual_seed(config.seed)
        return get_peft_model(model, lora)


def _encode(tokenizer, texts, labels, max_length: int) -> list[dict]:
    if not len(texts):
        return []
    enc = tokenizer([str(t) for t in texts], truncation=True, max_length=max_length)
    return [{**{k: v[i] for k, v in enc.items()}, "labels": y} for i, y in enumerate(labels)]


def _val_metrics(prediction) -> dict:
    """Accuracy and macro F1: the mean F1 over the classes in the truth or the predictions (as scikit-learn's)."""
    y_pred, y_true = np.asarray(prediction.predictions).argmax(-1), np.asarray(prediction.label_ids)
    f1 = [2 * np.sum((y_pred == c) & (y_true == c)) / (np.sum(y_pred == c) + np.sum(y_true == c))
          for c in np.union1d(y_true, y_pred)]
    return {"f1": float(np.mean(f1)), "accuracy": float(np.mean(y_pred == y_true))}


def training_args(config: EncoderConfig, output_dir: str, device: str, *, evaluate: bool, logging_steps: int = 1):
    """The Trainer settings of a run (the benchmark's plain Trainer uses the same)."""
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=2 * config.batch_size,
        num_train_epochs=config.epochs, learning_rate=config.learning_rate, weight_decay=0.01, warmup_steps=0.1,
        logging_strategy="steps", logging_steps=logging_steps, eval_strategy="epoch" if evaluate else "no",
        save_strategy="no", seed=config.seed, data_seed=config.seed, use_cpu=device == "cpu",
        bf16=device == "cuda" and torch.cuda.is_bf16_supported(), report_to="none", disable_tqdm=True,
        remove_unused_columns=False, dataloader_num_workers=0)


def train_encoder(train_texts, train_y, val_texts, val_y, classes, config: EncoderConfig, folder: Path, ctx=None, *,
                  device: str = "auto") -> dict:
    """Fine-tune ``config.base`` on the labelled texts, save it to ``folder``, return the run's metrics.

    Labels are class names (or indexes into ``classes``). Reports progress (epoch, step, examples/s, time
    left), ``{step, train_loss}`` as it trains and ``{epoch, val_loss, val_f1, val_accuracy}`` (macro F1) after
    every epoch when there are validation texts. Cancel stops after the current step (or validation batch)
    with ``Cancelled``, before anything is written to ``folder``. The model of the last epoch is kept.
    """
    ctx = ctx or NoJob()
    began = time.perf_counter()
    classes = list(classes)
    _check(config, classes, len(train_texts))
    train_labels, val_labels = _indexes(train_y, classes), _indexes(val_y, classes)
    if len(train_labels) != len(train_texts) or len(val_labels) != len(val_texts):
        raise UserError("Every text needs exactly one label.")
    device = _pick_device(device)
    label = models.resolve(config.base).label
    ctx.progress(0.01, f"Loading {label}")
    model, tokenizer = _fresh_classifier(config, classes)
    ctx.check_cancelled()
    ctx.progress(0.04, f"Tokenising {len(train_texts):,} training and {len(val_texts):,} validation texts")
    train = _encode(tokenizer, train_texts, train_labels, config.max_length)
    val = _encode(tokenizer, val_texts, val_labels, config.max_length)
    params = sum(p.numel() for p in model.parameters())
    if config.method == "lora":
        model = _with_lora(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    ctx.check_cancelled()

    from transformers import DataCollatorWithPadding, PrinterCallback, ProgressCallback, Trainer

    steps = config.epochs * math.ceil(len(train) / config.batch_size)
    watch = _watch(ctx, config, steps, math.ceil(len(val) / (2 * config.batch_size)))
    with tempfile.TemporaryDirectory(prefix="corpus-lab-classify-") as run_dir:  # the Trainer wants one; nothing is saved
        args = training_args(config, run_dir, device, evaluate=bool(val), logging_steps=max(1, steps // 200))
        trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val or None,
                          data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=_val_metrics if val else None,
                          callbacks=[watch])
        for quiet in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(quiet)
        started = time.perf_counter()
        trainer.train()  # Cancel raises Cancelled from the callback, out of here
        train_seconds = time.perf_counter() - started
    ctx.check_cancelled()
    ctx.progress(0.97, "Saving")
    model = trainer.model.merge_and_unload() if config.method == "lora" else trainer.model
    last = watch.curve[-1] if watch.curve else {}
    examples = len(train) * config.epochs
    metrics = {
        "base": config.base, "method": config.method, "device": device, "classes": [str(c) for c in classes],
        "n_train": len(train), "n_val": len(val), "epochs": config.epochs, "steps": trainer.state.global_step,
        "params": params, "trainable_params": trainable,
        "train_seconds": round(train_seconds, 2), "examples_per_s": round(examples / train_seconds, 1),  # validations in
        "step_examples_per_s": round(examples / max(sum(watch.step_seconds), 1e-9), 1),  # training steps alone
        "val_f1": last.get("val_f1"), "val_accuracy": last.get("val_accuracy"), "val_loss": last.get("val_loss"),
        "curve": watch.curve, "losses": watch.losses,
    }
    _save(Path(folder), model, tokenizer, config, classes, metrics)
    metrics["wall_seconds"] = round(time.perf_counter() - began, 2)
    f1 = f"validation macro F1 {last['val_f1']:.3f}" if last else "no validation texts"
    ctx.progress(1.0, f"Done in {duration(metrics['wall_seconds'])}: {f1}")
    return metrics


def _watch(ctx, config: EncoderConfig, total: int, eval_batches: int):
    """The Trainer callback: progress, the loss and validation curves, Cancel between steps."""
    from transformers import TrainerCallback

    class Watch(TrainerCallback):
        def __init__(self):
            self.step_seconds, self.curve, self.losses = [], [], []  # seconds per step, {epoch, val_*}, {step, train_loss}
            self.eval_seconds = self._t0 = self._eval_t0 = None

        def on_step_begin(self, args, state, control, **kwargs):
            self._t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.step_seconds.append(time.perf_counter() - self._t0)
            ctx.check_cancelled()  # raises Cancelled out of trainer.train(): nothing has been saved
            done = state.global_step
            mean = sum(self.step_seconds) / len(self.step_seconds)
            epoch = min(config.epochs, max(1, math.ceil(state.epoch or 0)))
            per_eval = self.eval_seconds if self.eval_seconds is not None else mean * eval_batches / 3
            left = mean * (total - done) + per_eval * (config.epochs - epoch + 1) * (eval_batches > 0)
            ctx.progress(0.05 + 0.9 * done / max(total, 1),
                         f"Epoch {epoch}/{config.epochs} · step {done}/{total} · "
                         f"{config.batch_size / mean:,.0f} examples/s · about {duration(left)} left")

        def on_prediction_step(self, args, state, control, **kwargs):
            ctx.check_cancelled()
            if self._eval_t0 is None:
                self._eval_t0 = time.perf_counter()

        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if loss is not None:
                self.losses.append({"step": state.global_step, "train_loss": round(float(loss), 5)})
                ctx.metric(**self.losses[-1])

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if self._eval_t0 is not None:
                self.eval_seconds, self._eval_t0 = time.perf_counter() - self._eval_t0, None
            m = metrics or {}
            row = {"epoch": round(state.epoch or 0), "val_loss": round(float(m.get("eval_loss", math.nan)), 5),
                   "val_f1": round(float(m.get("eval_f1", math.nan)), 4),
                   "val_accuracy": round(float(m.get("eval_accuracy", math.nan)), 4)}
            self.curve.append(row)
            ctx.metric(**row)
            ctx.log(f"epoch {row['epoch']}: validation loss {row['val_loss']:.4f}, macro F1 {row['val_f1']:.3f}")

    return Watch()


def _save(folder: Path, model, tokenizer, config: EncoderConfig, classes, metrics: dict) -> None:
    """safetensors weights + config.json + tokenizer files, then ``encoder.json`` (last: the folder is done)."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)  # transformers 5 writes safetensors only
    tokenizer.save_pretrained(folder)
    info = {"classes": [str(c) for c in classes], "config": config.to_dict(), "metrics": metrics}
    atomic_write_text(folder / DONE, json.dumps(info, indent=1))


class EncoderClassifier:
    """A trained classifier read back from its folder; safe to share between threads (weights never change)."""

    def __init__(self, model, tokenizer, classes, device: str = "cpu", max_length: int = 128, info: dict | None = None):
        self.model, self.tokenizer, self.device, self.max_length = model, tokenizer, device, max_length
        self.classes = list(classes)
        self.info = info or {}

    @classmethod
    def load(cls, folder, device: str = "auto") -> EncoderClassifier:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        folder = Path(folder)
        try:
            info = json.loads((folder / DONE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UserError(f"{folder} holds no finished classifier (no readable {DONE}); train it again.") from None
        device = _pick_device(device)
        kwargs = {"use_safetensors": True, "trust_remote_code": False, "local_files_only": True}
        model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False, local_files_only=True)
        model.to(device).eval().requires_grad_(False)
        return cls(model, tokenizer, info["classes"], device, int(info["config"].get("max_length", 128)), info)

    def predict_proba(self, texts, batch_size: int = 32) -> np.ndarray:
        """(n, k) class probabilities, columns in ``classes`` order; texts batched by length, returned in order."""
        import torch

        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start:start + batch_size]
                enc = self.tokenizer([texts[i] for i in rows], truncation=True, max_length=self.max_length,
                                     padding=True, return_tensors="pt")
                logits = self.model(**enc.to(self.device)).logits.float()
                out[rows] = torch.softmax(logits, -1).cpu().numpy()
        return out

    def predict(self, texts, batch_size: int = 32) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(texts, batch_size).argmax(1)]

    def explain(self, text: str, target: int | None = None, steps: int = EXPLAIN_STEPS) -> list[tuple[str, float]]:
        """(word, score) in the text's order: how much each word pushed toward ``target`` (a class index; default
        the predicted class); positive pushes toward it. Special tokens left out, a word's pieces summed.

        Gradient × input on the word embeddings, summed over the embedding, for the class's log-odds (its logit −
        logsumexp of the others'), the gradient averaged over ``steps`` copies of the embeddings scaled 1/steps … 1
        (integrated gradients from a zero embedding, in one batch). ``steps=1`` is plain gradient × input at the
        text: it reads ~0 for every word once a confident model's tanh pooler saturates (see the tests)."""
        import torch

        fast = getattr(self.tokenizer, "is_fast", False)
        enc = self.tokenizer(text, truncation=True, max_length=self.max_length, return_tensors="pt",
                             return_offsets_mapping=fast)
        offsets = enc.pop("offset_mapping")[0].tolist() if fast else None
        word_ids = enc.word_ids() if fast else None
        enc = enc.to(self.device)
        ids = enc.pop("input_ids")
        steps = max(1, int(steps))
        with torch.inference_mode(False), torch.enable_grad():
            x = self.model.get_input_embeddings()(ids).detach()
            scale = torch.arange(1, steps + 1, device=x.device, dtype=x.dtype).div(steps).view(-1, 1, 1)
            path = (scale * x).requires_grad_(True)
            logits = self.model(inputs_embeds=path, **{k: v.expand(steps, -1) for k, v in enc.items()}).logits.float()
            best = int(logits[-1].argmax()) if target is None else int(target)
            others = torch.cat([logits[:, :best], logits[:, best + 1:]], 1)
            (logits[:, best] - torch.logsumexp(others, 1)).sum().backward()
        scores = (path.grad.mean(0) * x[0]).sum(-1).float().cpu().tolist()
        if fast:
            return _words_from_offsets(text, word_ids, offsets, scores)
        return _words_from_pieces(self.tokenizer, ids[0].tolist(), scores)


def _words_from_offsets(text: str, word_ids, offsets, scores) -> list[tuple[str, float]]:
    spans: dict[int, list] = {}
    for word, (start, end), score in zip(word_ids, offsets, scores, strict=True):
        if word is None:
            continue  # [CLS], [SEP], padding
        span = spans.setdefault(word, [start, end, 0.0])
        span[0], span[1], span[2] = min(span[0], start), max(span[1], end), span[2] + score
    return [(text[s:e], float(v)) for s, e, v in spans.values()]


def _words_from_pieces(tokenizer, ids: list[int], scores) -> list[tuple[str, float]]:
    """A slow tokenizer: WordPiece ``##`` continuations joined to the word before."""
    words: list[list] = []
    for token_id, token, score in zip(ids, tokenizer.convert_ids_to_tokens(ids), scores, strict=True):
        if token_id not in tokenizer.all_special_ids:
            if token.startswith("##") and words:
                words[-1][0], words[-1][1] = words[-1][0] + token[2:], words[-1][1] + score
            else:
                words.append([token, score])
    return [(w, float(v)) for w, v in words]


# MiniLM training on 2 EPYC cores (torch 2.13 CPU, batch 16, one other process busy on the machine), measured with
# train_encoder over 2 epochs of 140 polarity sentences (28 word pieces on average; a batch pads to its longest, ~47):
# 24 examples/s full, 28.6 LoRA; the same 140 examples as 128-piece texts: 8.0/s full. Both are ~1,050 padded word
# pieces/s (full), so time scales with the padded length. Validation: 60 sentences in 0.73 s, ~3.4× training's rate.
_PIECES_PER_S = {"full": 1050.0, "lora": 1250.0}
_EVAL_SPEEDUP = 3.4
_SETUP_SECONDS = 3.0  # building the model and the Trainer, saving (5 s on a process's first run, 0.7 s after)


def estimate_seconds(n_train: int, n_val: int, config: EncoderConfig, *, mean_words: float | None = None) -> float:
    """A pre-flight guess of a run's seconds on a 2-core CPU, from the measured rate above.

    ``mean_words``: the texts' mean length in words (default: sentences of ~20 words); a word is ~1.2 word pieces
    and a batch pads to ~1.7× the mean, up to ``max_length``. Scaled by parameters for a base other than MiniLM
    (when its size is known without a lookup); a GPU is much faster than this says.
    """
    pieces = min(config.max_length, 1.7 * (1.2 * (20.0 if mean_words is None else mean_words) + 2))
    rate = _PIECES_PER_S.get(config.method, _PIECES_PER_S["full"]) / pieces  # training examples per second
    spec, minilm = known(config.base), known(models.MINILM_ID)
    if spec is not None and spec.params:
        rate *= minilm.params / spec.params
    per_epoch = n_train / rate + n_val / (rate * _EVAL_SPEEDUP)
    return round(_SETUP_SECONDS + config.epochs * per_epoch, 1)
