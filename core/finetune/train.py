"""The run: a private copy of the base model trained with the HF ``Trainer``, watched, saved as an artifact."""

from __future__ import annotations

import errno
import json
import math
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from core import models
from core.errors import UserError
from core.finetune.config import HUB_IDS, KIND, FinetuneConfig, _causal_spec, _check, finetune_id
from core.finetune.data import _Blocks, _texts, prepare_data
from core.finetune.estimate import Plan, _check_block, _pick_device, duration, plan
from core.finetune.lora import _lora_config
from core.jobs import Cancelled, NoJob, SubProgress
from core.workspace import Manifest, Workspace, atomic_write_text, package_versions


def run(ws: Workspace, corpus_id: str, config: FinetuneConfig, ctx=None, *, device: str = "auto") -> Manifest:
    """Fine-tune, save the artifact, return its manifest (at once when it already exists).

    Reports through ``ctx``: progress with step k/N, tokens/s and the time left; a metric row
    ``{step, train_loss, tokens_per_s}`` after every optimizer step and ``{step, val_loss}`` at
    every validation (step 0 = the base model, then every quarter of the run). Cancel stops after
    the current step and raises ``Cancelled``, keeping a checkpoint that the next run with the
    same settings resumes from. Under ``accelerate launch`` every process trains its share and
    only the main one writes the artifact.
    """
    ctx = ctx or NoJob()
    began = time.perf_counter()
    _check(config)
    artifact_id = finetune_id(corpus_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    from core.corpus.store import KIND as CORPUS

    corpus = ws.manifest(CORPUS, corpus_id)
    spec = _causal_spec(config.base, ws)
    device = _pick_device(device)
    run_dir = ws.root / "runs" / f"finetune-{artifact_id}"
    args = _training_args(config, run_dir, device)
    with args.main_process_first(desc="loading the base model"):  # SmolLM2's one-time conversion: by one process
        ctx.progress(0.01, f"Loading {spec.label}")
        model, tokenizer = models.fresh(spec.id, ws=ws, ctx=SubProgress(ctx, 0.01, 0.06))
    _check_block(model, config)
    ctx.progress(0.06, "Tokenising the corpus")
    data = prepare_data(tokenizer, _texts(ws, corpus_id), config)
    ctx.check_cancelled()
    # Validate and keep a checkpoint every quarter of the run (whole steps: resuming compares them).
    run_plan = plan(len(data.train), config, args.world_size)
    args.eval_steps = args.save_steps = run_plan.eval_every
    params = sum(p.numel() for p in model.parameters())
    if config.method == "lora":
        import torch
        from peft import get_peft_model

        with torch.random.fork_rng(devices=[]):  # the adapter's initial A from the run's seed, not the global state
            torch.manual_seed(config.seed)
            model = get_peft_model(model, _lora_config(model, config))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    from transformers import PrinterCallback, ProgressCallback, Trainer
    from transformers.trainer_utils import get_last_checkpoint

    resume = get_last_checkpoint(str(run_dir)) if run_dir.is_dir() else None
    eval_batches = math.ceil(len(data.val) / (config.batch_size * args.world_size))
    watch = _watch(ctx, config, run_dir, args.world_size, eval_batches, run_plan)
    trainer = Trainer(model=model, args=args, train_dataset=_Blocks(data.train), eval_dataset=_Blocks(data.val),
                      callbacks=[watch])
    for quiet in (PrinterCallback, ProgressCallback):  # they print every log line to stdout
        trainer.remove_callback(quiet)
    main = trainer.is_world_process_zero()
    watch._message = f"Measuring {spec.label}'s validation perplexity before training ({data.val_tokens:,} tokens)"
    ctx.progress(0.08, watch._message)
    measured = time.perf_counter()
    before = trainer.evaluate()["eval_loss"]
    watch.eval_seconds = time.perf_counter() - measured  # the time left counts every validation still to come
    ctx.check_cancelled()
    if resume:
        watch.replay(resume)
        ctx.log(f"Resuming from the checkpoint of step {watch.resumed} in {run_dir}.")
        ctx.progress(0.1, f"Resuming from step {watch.resumed} (a checkpoint of an earlier run with these settings)")
    started = time.perf_counter()
    done, total = _checkpoint_steps(resume)
    if resume and done >= total:
        # Training had ended and only saving failed. Trainer would run one step more before noticing, so
        # take the checkpoint's weights as they are.
        trainer._load_from_checkpoint(resume)
        trainer.state.global_step = done
    else:
        with _disk_errors(ws, "training checkpoints"):
            try:
                trainer.train(resume_from_checkpoint=resume)
            except _ValidationStopped:
                # Cancel during a validation inside training: the step before it is complete, so it becomes
                # the checkpoint a rerun resumes from (the Trainer saves only after the validation ends).
                if main:
                    trainer._save_checkpoint(trainer.model, trial=None)
                    watch.save_curve()
    seconds = watch.seconds_before + time.perf_counter() - started
    if watch.bad_loss is not None:
        if main:
            shutil.rmtree(run_dir, ignore_errors=True)  # resuming would only diverge again
        step, value = watch.bad_loss
        raise UserError(f"The training loss became {'NaN' if math.isnan(value) else 'infinite'} at step {step} — the "
                        f"learning rate ({config.learning_rate:g}) is too high for this model; try 10× lower.")
    if watch.cancelled:
        ctx.log(f"Cancelled after step {trainer.state.global_step}; its checkpoint is kept in {run_dir}, so running "
                "the same settings again resumes from there.")
        raise Cancelled()
    after = watch.last_val(trainer.state.global_step)
    final_validation = after is None
    if final_validation:
        watch._fraction, watch._message = 0.95, "Measuring the validation perplexity after training"
        after = trainer.evaluate()["eval_loss"]
    if main:
        ctx.progress(0.97, "Saving")
        metrics = {
            "method": config.method, "base": spec.id, "params": params, "trainable_params": trainable,
            "train_tokens": data.train_tokens, "val_tokens": data.val_tokens, "steps": trainer.state.global_step,
            "tokens_trained": int(trainer.state.num_input_tokens_seen),  # counted by the Trainer as its steps read
            "evaluations": 1 + watch.evaluations + final_validation, "wall_seconds": round(time.perf_counter() - began, 1),
            "seconds": round(seconds, 1), "tokens_per_s": round(watch.tokens_per_s(), 1),
            "val_loss_before": round(before, 5), "val_loss_after": round(after, 5),
            "val_ppl_before": round(_perplexity(before), 4), "val_ppl_after": round(_perplexity(after), 4),
            "processes": args.world_size, "device": device, "resumed_from": watch.resumed, "curve": watch.rows,
        }
        size = f"LoRA r{config.lora_r}" if config.method == "lora" else "full"
        with _disk_errors(ws, "the fine-tuned model"):
            manifest = ws.create(KIND, artifact_id, name=f"{spec.label} + {corpus.name} ({size})",
                                 write=lambda folder: _save(folder, trainer.model, tokenizer, spec, ws, config, metrics),
                                 config={**config.to_dict(), "corpus": corpus_id}, parents=[corpus_id],
                                 versions=package_versions("torch", "transformers", "peft", "accelerate"))
        shutil.rmtree(run_dir, ignore_errors=True)
        ctx.progress(1.0, f"Done: validation perplexity {metrics['val_ppl_before']:,.2f} → {metrics['val_ppl_after']:,.2f}")
    trainer.accelerator.wait_for_everyone()  # the other processes return the main one's artifact
    return manifest if main else ws.manifest(KIND, artifact_id)


def _checkpoint_steps(checkpoint: str | None) -> tuple[int, int]:
    """(steps done, steps planned) of a Trainer checkpoint; (0, 0) without one."""
    try:
        state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
        return int(state["global_step"]), int(state["max_steps"])
    except (TypeError, OSError, ValueError, KeyError):
        return 0, 0


def _perplexity(loss: float) -> float:
    """exp(loss); a diverged model's loss of 1e4 would overflow, and no one reads a perplexity of 1e300."""
    return math.exp(min(loss, 700.0))


def _training_args(config: FinetuneConfig, run_dir: Path, device: str):
    import torch
    from transformers import TrainingArguments

    scheduler = {"constant": "constant_with_warmup"}.get(config.scheduler, config.scheduler)
    return TrainingArguments(
        output_dir=str(run_dir),
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        num_train_epochs=config.epochs, max_steps=config.max_steps if config.max_steps > 0 else -1,
        learning_rate=config.learning_rate, lr_scheduler_type=scheduler, weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio or 0,  # a float below 1 is a share of the steps
        logging_strategy="steps", logging_steps=1, include_num_input_tokens_seen=True,
        logging_nan_inf_filter=False,  # the callback must see a NaN loss, not the average that replaces it
        eval_strategy="steps", eval_steps=0.25, save_strategy="steps", save_steps=0.25, save_total_limit=1,  # run() sets steps
        seed=config.seed, data_seed=config.seed,
        use_cpu=device == "cpu", bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
        report_to="none", disable_tqdm=True, remove_unused_columns=False, dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )


class _ValidationStopped(Exception):
    """Cancel pressed during a validation inside training (raised from a Trainer callback)."""


def _watch(ctx, config: FinetuneConfig, run_dir: Path, world: int, eval_batches: int, run_plan: Plan):
    """The Trainer callback that reports to ``ctx``, stops on Cancel or a bad loss, and keeps the curve."""
    from transformers import TrainerCallback

    tokens_per_step = config.batch_size * config.grad_accum * config.block_size * world
    curve_file = run_dir / "curve.json"

    class Watch(TrainerCallback):
        def __init__(self):
            self.rows: list[dict] = []
            self.cancelled = False
            self.bad_loss: tuple[int, float] | None = None
            self.resumed = 0
            self.seconds_before = 0.0
            self.step_seconds: list[float] = []
            self._t0 = self._rate = None
            self.training = False
            self._fraction, self._message, self._batch = 0.08, "", 0
            self.eval_seconds = 0.0  # one validation, as measured (the one before training, then the latest)
            self.evaluations = 0  # validations during training
            self._eval_t0 = 0.0

        def replay(self, checkpoint: str) -> None:
            """The curve of the run that made the checkpoint, so the chart shows the whole run."""
            self.resumed = int(Path(checkpoint).name.rsplit("-", 1)[-1])
            try:
                saved = json.loads(curve_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return
            self.seconds_before = float(saved.get("seconds", 0.0))
            for row in saved.get("rows", []):
                if 0 < row.get("step", 0) <= self.resumed:
                    self.rows.append(row)
                    ctx.metric(**row)

        def on_train_begin(self, args, state, control, **kwargs):
            self.training = True

        def on_train_end(self, args, state, control, **kwargs):
            self.training = False

        def on_prediction_step(self, args, state, control, **kwargs):
            # A validation takes tens of seconds on a CPU and the Trainer offers no way to end it early:
            # Cancel ends it here, after the current batch.
            if ctx.cancelled and not self.training:
                raise Cancelled()  # before or after training: nothing to keep, or kept already
            if ctx.cancelled:
                self.cancelled = True
                raise _ValidationStopped()
            if self._batch == 0:
                self._eval_t0 = time.perf_counter()
            self._batch += 1
            batch = min(self._batch, eval_batches)
            if not self.training:
                ctx.progress(self._fraction, f"{self._message} · validating {batch}/{eval_batches}")
                return
            done, total = state.global_step, state.max_steps
            left = (self.eval_seconds * (eval_batches - batch) / max(eval_batches, 1) + self._mean() * (total - done)
                    + run_plan.evaluations_after(done) * self.eval_seconds)
            ctx.progress(self._fraction, f"Step {done}/{total} · validating {batch}/{eval_batches} · "
                                         f"about {duration(left)} left")

        def on_step_begin(self, args, state, control, **kwargs):
            self._t0 = time.perf_counter()

        def on_substep_end(self, args, state, control, **kwargs):
            self._stop_if_cancelled(control)

        def on_step_end(self, args, state, control, **kwargs):
            if self._t0 is not None:
                self.step_seconds.append(time.perf_counter() - self._t0)
                self._rate = tokens_per_step / self.step_seconds[-1]
            if state.global_step >= state.max_steps:
                control.should_save = True  # the final state too, so a failed save does not mean training again
            self._stop_if_cancelled(control)
            done, total = state.global_step, state.max_steps
            mean = self._mean()
            self._fraction = 0.1 + 0.85 * done / max(total, 1)
            # the validations still to come count too: on a CPU one can take longer than all the steps
            validations = run_plan.evaluations_after(done) + (1 if done % run_plan.eval_every == 0 else 0)
            left = mean * (total - done) + validations * self.eval_seconds
            self._message = (f"Step {done}/{total} · {tokens_per_step / mean if mean else 0:,.0f} tokens/s · "
                             f"about {duration(left)} left")
            ctx.progress(self._fraction, self._message)

        def _mean(self) -> float:
            return sum(self.step_seconds) / len(self.step_seconds) if self.step_seconds else 0.0

        def _stop_if_cancelled(self, control):
            if ctx.cancelled:
                self.cancelled = True
                control.should_training_stop = True
                control.should_save = True  # the checkpoint a rerun resumes from

        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if loss is None:
                return
            if not math.isfinite(loss):
                self.bad_loss = (state.global_step, loss)
                control.should_training_stop = True
                control.should_save = control.should_evaluate = False
                return
            self._add(step=state.global_step, train_loss=round(loss, 5), tokens_per_s=round(self._rate or 0.0, 1))

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if self.training and self._batch:
                self.eval_seconds = time.perf_counter() - self._eval_t0
                self.evaluations += 1
            self._batch = 0
            loss = (metrics or {}).get("eval_loss")
            if loss is not None and math.isfinite(loss):
                self._add(step=state.global_step, val_loss=round(loss, 5))
                ctx.log(f"step {state.global_step}: validation loss {loss:.4f} (perplexity {_perplexity(loss):,.2f})")

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.save_curve()

        def save_curve(self) -> None:
            spent = self.seconds_before + sum(self.step_seconds)
            atomic_write_text(curve_file, json.dumps({"rows": self.rows, "seconds": spent}))

        def _add(self, **row):
            self.rows.append(row)
            ctx.metric(**row)

        def last_val(self, step: int) -> float | None:
            rows = [r["val_loss"] for r in self.rows if "val_loss" in r and r["step"] == step and step > 0]
            return rows[-1] if rows else None

        def tokens_per_s(self) -> float:
            spent = sum(self.step_seconds)
            return tokens_per_step * len(self.step_seconds) / spent if spent else 0.0

    return Watch()


@contextmanager
def _disk_errors(ws: Workspace, what: str):
    """Out of disk space or a read-only workspace: a message, and nothing already saved is touched."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        raise UserError(f"Could not write {what} in the workspace {ws.root}: {exc.strerror or exc}. Free some disk "
                        "space (or make the workspace writable) and start it again: the finished training steps are "
                        "kept as a checkpoint, and earlier results are untouched.") from None


def _save(folder: Path, model, tokenizer, spec: models.ModelSpec, ws: Workspace, config: FinetuneConfig,
          metrics: dict) -> dict:
    """Write the adapter (LoRA) or the whole model (full) with its tokenizer, as safetensors."""
    if config.method == "lora":
        target = folder / "adapter"
        # Name a base others can download, so the exported adapter loads outside Corpus Lab too.
        model.peft_config["default"].base_model_name_or_path = _portable_base(spec)
    else:
        target = folder / "model"
        model.config.use_cache = True  # off for training; generation wants it
    _save_weights(model, tokenizer, target)
    source = _base_folder(spec)
    template = source / "chat_template.jinja" if source else None
    if template and template.is_file() and not (target / "chat_template.jinja").exists():
        shutil.copyfile(template, target / "chat_template.jinja")
    return metrics


def _save_weights(model, tokenizer, target: Path) -> None:
    # safetensors: transformers 5 and peft write nothing else. LoRA never trains the embeddings, so peft
    # need not look the base up to decide whether to save them.
    extra = {"save_embedding_layers": False} if hasattr(model, "peft_config") else {}
    model.save_pretrained(target, **extra)
    tokenizer.save_pretrained(target)


def _base_folder(spec: models.ModelSpec) -> Path | None:
    if spec.id == models.SMOLLM_ID:
        return models.smollm_dir()
    return Path(spec.path) if spec.source in ("local", "artifact") else None


def _portable_base(spec: models.ModelSpec) -> str:
    """Where others find the base: the Hub id for bundled and Hub models, the folder for local ones."""
    return HUB_IDS.get(spec.id) or (spec.path if spec.source in ("hub", "local") else spec.id)
