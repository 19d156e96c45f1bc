"""Fine-tuning: perplexity goes down, adapters load back exactly, Cancel resumes, two processes, refusals.

Everything trains the tiny random GPT-2 (byte tokens, 2 layers × 32 wide) on a small synthetic
corpus, a few seconds per run. One LoRA and one full run are shared by the module (``trained``);
tests that need their own run use the per-test workspace from ``CORPUS_LAB_HOME``.
"""

import errno
import io
import json
import os
import random
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from core import finetune, models
from core.corpus.readers import ReadOptions, Source
from core.corpus.store import ingest_sources, load_documents
from core.errors import UserError
from core.finetune import FinetuneConfig
from core.finetune import estimate as finetune_estimate
from core.finetune import export as finetune_export
from core.finetune import train as finetune_train
from core.jobs import Cancelled
from core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
WORDS = "the river bank flooded after a storm and the town moved its savings to a bank on the hill".split()
# ~13 optimizer steps of 8 blocks × 64 bytes over the 27 training documents
LORA = FinetuneConfig(base="tiny-gpt2", method="lora", block_size=64, learning_rate=3e-2, warmup_ratio=0.0)
FULL = FinetuneConfig(base="tiny-gpt2", method="full", block_size=64, learning_rate=3e-3, warmup_ratio=0.0)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def cache(monkeypatch):
    fresh = models.ModelCache(budget=2**30)
    monkeypatch.setattr(models.cache, "CACHE", fresh)
    return fresh


def make_corpus(ws: Workspace, n_docs: int = 30, words: int = 50, seed: int = 0) -> str:
    """``n_docs`` documents of random words from a 15-word vocabulary: easy to learn, so the loss falls fast."""
    rng = random.Random(seed)
    docs = [" ".join(rng.choice(WORDS) for _ in range(words)) + "." for _ in range(n_docs)]
    sources = [Source(f"doc{i:02d}.txt", d.encode()) for i, d in enumerate(docs)]
    return ingest_sources(ws, sources, ReadOptions(), name="rivers").id


class Recorder:
    """A JobContext stand-in: keeps metric rows, progress messages and the log; cancels on request."""

    def __init__(self, cancel_after_train_rows: int | None = None):
        self.rows, self.messages, self.logs = [], [], []
        self._cancel_after = cancel_after_train_rows

    @property
    def cancelled(self) -> bool:
        done = sum("train_loss" in r for r in self.rows)
        return self._cancel_after is not None and done >= self._cancel_after

    def progress(self, fraction, message=None):
        self.messages.append(message)

    def metric(self, **values):
        self.rows.append(values)

    def log(self, message):
        self.logs.append(message)

    def partial(self, value): ...

    def check_cancelled(self):
        if self.cancelled:
            raise Cancelled()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One LoRA and one full run on the same corpus: (workspace, corpus id, {"lora": manifest, "full": manifest})."""
    ws = Workspace(tmp_path_factory.mktemp("finetune-ws"))
    corpus_id = make_corpus(ws)
    runs = {}
    for config in (LORA, FULL):
        ctx = Recorder()
        runs[config.method] = finetune.run(ws, corpus_id, config, ctx)
        runs[config.method + "_ctx"] = ctx
    return ws, corpus_id, runs


@pytest.mark.parametrize("method", ["lora", "full"])
def test_fine_tuning_lowers_validation_perplexity(trained, method):
    ws, corpus_id, runs = trained
    m, ctx = runs[method], runs[method + "_ctx"]
    metrics = m.metrics
    assert metrics["val_ppl_after"] < 0.9 * metrics["val_ppl_before"], metrics
    assert metrics["val_loss_after"] < metrics["val_loss_before"]
    assert metrics["method"] == method and metrics["base"] == "tiny-gpt2"
    assert 0 < metrics["trainable_params"] <= metrics["params"]
    assert (metrics["trainable_params"] == metrics["params"]) == (method == "full")
    # every optimizer step reported once, validation at step 0 (the base) and at the end
    steps = metrics["steps"]
    assert [r["step"] for r in ctx.rows if "train_loss" in r] == list(range(1, steps + 1))
    assert all(r["tokens_per_s"] > 0 for r in ctx.rows if "train_loss" in r)
    val_steps = [r["step"] for r in ctx.rows if "val_loss" in r]
    assert val_steps[0] == 0 and val_steps[-1] == steps and len(val_steps) >= 4
    assert metrics["curve"] == ctx.rows
    assert any(msg and f"Step {steps}/{steps}" in msg and "tokens/s" in msg for msg in ctx.messages)
    est = finetune.preflight(ws, corpus_id, LORA if method == "lora" else FULL)
    assert steps == est.steps
    # the pre-flight counts what the run does: the tokens its steps read and its validations
    assert est.tokens_trained == metrics["tokens_trained"] and est.evaluations == metrics["evaluations"]
    assert est.evaluations == len(val_steps)
    assert m.parents == [corpus_id] and m.config["corpus"] == corpus_id
    assert m.name == "Tiny random GPT-2 + rivers (" + ("LoRA r8)" if method == "lora" else "full)")
    folder = ws.path(finetune.KIND, m.id)
    inner = folder / ("adapter" if method == "lora" else "model")
    assert (inner / ("adapter_model.safetensors" if method == "lora" else "model.safetensors")).is_file()
    assert (inner / "tokenizer.json").is_file()
    assert not (ws.root / "runs" / f"finetune-{m.id}").exists()  # checkpoints go once the artifact is saved
    again = finetune.run(ws, corpus_id, LORA if method == "lora" else FULL, Recorder())
    assert again == m  # done once: the same settings return the artifact at once


def test_lora_adapter_loads_back_with_identical_logits(trained, cache):
    from peft import PeftModel

    ws, _, runs = trained
    m = runs["lora"]
    tuned = models.load(f"finetune:{m.id}", ws=ws, device="cpu", dtype="float32")
    assert tuned.spec.base == "tiny-gpt2" and tuned.spec.kind == models.CAUSAL
    assert models.estimate_bytes(tuned.spec, "float32") == 4 * m.metrics["params"]  # the base's size
    assert f"finetune:{m.id}" in [s.id for s in models.registry(ws)]
    ids = tuned.tokenizer("the town moved its savings", return_tensors="pt")["input_ids"]
    # the reference: a fresh base with the adapter applied on the fly by peft (not merged)
    base, _ = models.fresh("tiny-gpt2")
    reference = PeftModel.from_pretrained(base, ws.path(finetune.KIND, m.id) / "adapter").eval()
    plain, _ = models.fresh("tiny-gpt2")
    with torch.inference_mode():
        got = tuned.model(ids).logits
        want = reference(input_ids=ids).logits
        untouched = plain.eval()(ids).logits
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    assert (got - untouched).abs().max() > 1e-2  # the adapter really changed the model
    with torch.inference_mode():  # merged into a plain model: attentions still come back
        assert models.load(f"finetune:{m.id}", ws=ws, device="cpu", dtype="float32", attentions=True).model(
            ids, output_attentions=True).attentions[0].shape == (1, 4, ids.shape[1], ids.shape[1])


def test_full_fine_tune_loads_as_a_model(trained, cache):
    ws, _, runs = trained
    tuned = models.load(f"finetune:{runs['full'].id}", ws=ws, device="cpu", dtype="float32")
    assert not tuned.spec.base and tuned.spec.path.endswith("model")
    ids = tuned.tokenizer("the bank", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        assert tuned.model(ids).logits.shape == (1, ids.shape[1], 257)


def test_cancel_stops_within_a_step_keeps_a_checkpoint_and_resumes():
    ws = Workspace.from_env()
    corpus_id = make_corpus(ws)
    config = FinetuneConfig(base="tiny-gpt2", block_size=64, max_steps=8, learning_rate=3e-2, warmup_ratio=0.0)
    ctx = Recorder(cancel_after_train_rows=1)
    with pytest.raises(Cancelled):
        finetune.run(ws, corpus_id, config, ctx)
    logged = [r["step"] for r in ctx.rows if "train_loss" in r]
    assert 1 <= len(logged) <= 2, logged
    run_dir = ws.root / "runs" / f"finetune-{finetune.finetune_id(corpus_id, config)}"
    checkpoints = sorted(run_dir.glob("checkpoint-*"))
    assert [c.name for c in checkpoints] == [f"checkpoint-{logged[-1]}"]
    assert not ws.exists(finetune.KIND, finetune.finetune_id(corpus_id, config))

    again = Recorder()
    m = finetune.run(ws, corpus_id, config, again)
    assert m.metrics["resumed_from"] == logged[-1]
    assert any("Resuming from the checkpoint" in line for line in again.logs)
    new_steps = [r["step"] for r in again.rows if "train_loss" in r and r not in ctx.rows]
    assert new_steps == list(range(logged[-1] + 1, 9))  # only the steps not done before
    assert [r["step"] for r in m.metrics["curve"] if "train_loss" in r] == list(range(1, 9))  # the whole curve
    assert m.metrics["val_ppl_after"] < m.metrics["val_ppl_before"]
    assert not run_dir.exists()

    early = FinetuneConfig(base="tiny-gpt2", block_size=64, max_steps=8, seed=5)
    with pytest.raises(Cancelled):  # pressed before training starts: nothing to keep
        finetune.run(ws, corpus_id, early, Recorder(cancel_after_train_rows=0))
    assert not (ws.root / "runs" / f"finetune-{finetune.finetune_id(corpus_id, early)}").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_with_accelerate_launch_write_the_artifact_once():
    ws = Workspace.from_env()
    corpus_id = make_corpus(ws)
    config = FinetuneConfig(base="tiny-gpt2", method="lora", block_size=64, max_steps=4, batch_size=4,
                            learning_rate=3e-2, warmup_ratio=0.0)
    env = {**os.environ, "CORPUS_LAB_HOME": str(ws.root), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    # `--cpu` would start one process only (accelerate's multi-CPU path wants mpirun); `--multi_gpu` on a
    # machine without GPUs starts two CPU processes that Trainer joins with gloo.
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--multi_gpu",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(_free_port()),
               "-m", "core.finetune", "--corpus", corpus_id, "--config", json.dumps(config.to_dict()), "--device", "cpu"]
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count(f"Saved {finetune.KIND}/") == 1, out.stdout  # rank 0 only
    [m] = ws.list(finetune.KIND)
    assert m.id == finetune.finetune_id(corpus_id, config)
    assert m.metrics["processes"] == 2 and m.metrics["steps"] == 4
    assert not list((ws.root / ".tmp").iterdir())


def test_a_corpus_smaller_than_two_blocks_says_how_much_text_is_needed():
    ws = Workspace.from_env()
    corpus_id = ingest_sources(ws, [Source("a.txt", b"Too short to learn from.")], ReadOptions(), name="tiny").id
    config = FinetuneConfig(base="tiny-gpt2", block_size=64)
    with pytest.raises(UserError, match=r"needs at least ~128 tokens \(about \d+ words\); this corpus has 25 tokens"):
        finetune.run(ws, corpus_id, config)
    with pytest.raises(UserError, match="needs at least"):
        finetune.preflight(ws, corpus_id, config)


def test_a_learning_rate_far_too_high_stops_on_nan_and_says_so():
    ws = Workspace.from_env()
    corpus_id = make_corpus(ws)
    config = FinetuneConfig(base="tiny-gpt2", method="full", block_size=64, max_steps=6, learning_rate=1e6,
                            warmup_ratio=0.0)
    ctx = Recorder()
    with pytest.raises(UserError, match=r"loss became NaN at step \d — the learning rate \(1e\+06\) is too high"):
        finetune.run(ws, corpus_id, config, ctx)
    assert len([r for r in ctx.rows if "train_loss" in r]) < 6  # stopped at once
    assert not (ws.root / "runs" / f"finetune-{finetune.finetune_id(corpus_id, config)}").exists()
    assert not ws.list(finetune.KIND)


def test_a_full_disk_while_saving_keeps_earlier_artifacts_and_the_training(monkeypatch):
    ws = Workspace.from_env()
    corpus_id = make_corpus(ws)
    first = finetune.run(ws, corpus_id, FinetuneConfig(base="tiny-gpt2", block_size=64, max_steps=2))
    before = {p.name: p.read_bytes() for p in (ws.path(finetune.KIND, first.id) / "adapter").iterdir()}

    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    real_save = finetune_train._save_weights
    monkeypatch.setattr(finetune_train, "_save_weights", disk_full)
    config = FinetuneConfig(base="tiny-gpt2", block_size=64, max_steps=3, seed=1)
    with pytest.raises(UserError, match="No space left on device. Free some disk space"):
        finetune.run(ws, corpus_id, config)
    assert [m.id for m in ws.list(finetune.KIND)] == [first.id]
    assert {p.name: p.read_bytes() for p in (ws.path(finetune.KIND, first.id) / "adapter").iterdir()} == before
    assert not list((ws.root / ".tmp").iterdir())

    monkeypatch.setattr(finetune_train, "_save_weights", real_save)  # space freed: the rerun saves without training again
    ctx = Recorder()
    m = finetune.run(ws, corpus_id, config, ctx)
    assert m.metrics["resumed_from"] == 3 and not [r for r in ctx.rows if "train_loss" in r and r["step"] > 3]


def test_lora_targets_per_architecture_and_refusals():
    from transformers import AutoModelForCausalLM, LlamaConfig

    assert finetune.lora_targets(models.fresh("tiny-gpt2")[0]) == ("c_attn", "c_proj")
    assert finetune.lora_targets(models.build_tiny("encoder", {})[0]) == ("query", "key", "value")
    with torch.device("meta"):
        llama = AutoModelForCausalLM.from_config(LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                                             num_attention_heads=4, vocab_size=100))
    assert finetune.lora_targets(llama) == ("q_proj", "k_proj", "v_proj", "o_proj")
    with pytest.raises(UserError, match="has no layers LoRA can adapt.*choose Full fine-tuning"):
        finetune.lora_targets(torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.LayerNorm(4)))

    ws = Workspace.from_env()
    corpus_id = make_corpus(ws, n_docs=6)
    config = FinetuneConfig(base="tiny-gpt2", block_size=64, max_steps=2, target_modules=("nope",))
    with pytest.raises(UserError, match="has no layers LoRA can adapt named nope.*choose Full fine-tuning"):
        finetune.run(ws, corpus_id, config)
    with pytest.raises(UserError, match="is an encoder"):
        finetune.run(ws, corpus_id, FinetuneConfig(base="tiny-bert", block_size=64))


@pytest.mark.parametrize(("method", "weights"), [("lora", "adapter/adapter_model.safetensors"),
                                                 ("full", "model/model.safetensors")])
def test_export_zip_holds_safetensors_a_readme_and_no_pickles(trained, method, weights):
    ws, _, runs = trained
    z = zipfile.ZipFile(io.BytesIO(finetune.export_zip(ws, runs[method].id)))
    names = z.namelist()
    assert weights in names and "README.md" in names and "manifest.json" in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt", ".pickle"))]
    readme = z.read("README.md").decode()
    if method == "lora":
        assert "adapter/adapter_config.json" in names
        assert "PeftModel.from_pretrained" in readme and "tiny-gpt2" in readme
        assert json.loads(z.read("adapter/adapter_config.json"))["base_model_name_or_path"] == "tiny-gpt2"
    else:
        assert "AutoModelForCausalLM.from_pretrained(\"model\")" in readme


def test_smollm_readme_names_its_hub_original():
    from core.workspace import Manifest

    readme = finetune_export._readme(Manifest("finetune", "x", "n", config={"base": models.SMOLLM_ID}), "adapter")
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in readme and "GGUF" in readme


def test_preflight_fits_the_defaults_and_refuses_an_absurd_batch():
    ws = Workspace.from_env()
    corpus_id = make_corpus(ws)
    ok = finetune.preflight(ws, corpus_id, FinetuneConfig(base="tiny-gpt2", block_size=64))
    assert ok.fits and not ok.reason
    assert ok.params == 41_888 and 0 < ok.trainable < ok.params and ok.steps > 0 and ok.seconds > 0
    assert "steps over" in str(ok)
    huge = finetune.preflight(ws, corpus_id, FinetuneConfig(base="tiny-gpt2", block_size=256, batch_size=200_000,
                                                             method="full"))
    assert not huge.fits and huge.memory_bytes > 50 * 2**30
    assert "smaller batch size (now 200000" in huge.reason and "LoRA instead" in huge.reason
    with pytest.raises(UserError, match="reads at most 256 tokens"):
        finetune.preflight(ws, corpus_id, FinetuneConfig(base="tiny-gpt2", block_size=512))
    with pytest.raises(UserError, match="learning rate must be a positive number"):
        finetune.preflight(ws, corpus_id, FinetuneConfig(base="tiny-gpt2", learning_rate=0))


def test_a_run_on_too_little_text_is_flagged_before_it_starts():
    ws = Workspace.from_env()
    config = FinetuneConfig(base="tiny-gpt2", block_size=64)
    tiny = finetune.preflight(ws, make_corpus(ws, n_docs=4, words=60), config)
    assert tiny.fits and "too little text" in tiny.too_little and f"Only {tiny.steps} optimizer step" in tiny.too_little
    enough = finetune.preflight(ws, make_corpus(ws, n_docs=300, words=60, seed=1), config)
    assert enough.steps >= finetune_estimate.FEW_STEPS and enough.tokens_trained >= finetune_estimate.FEW_TOKENS
    assert enough.too_little == ""


def test_validation_texts_are_held_out_documents_and_1_document_corpora_split_by_blocks(trained):
    ws, corpus_id, _ = trained
    held_out = finetune.validation_texts(ws, corpus_id, LORA)
    docs = [d.text for d in load_documents(ws, corpus_id)]
    assert len(held_out) == 3 and set(held_out) <= set(docs)  # 10% of 30 documents
    tokenizer = models.byte_tokenizer()
    data = finetune.prepare_data(tokenizer, docs, LORA)
    assert data.val_texts == tuple(held_out)
    assert all(len(b) == 64 for b in data.train + data.val)
    train_text = {tokenizer.decode(b) for b in data.train}
    assert not any(t in d for t in train_text for d in held_out)  # no training block comes from a held-out document
    capped = finetune.prepare_data(tokenizer, docs, FinetuneConfig(block_size=64, max_train_tokens=640))
    assert capped.train_tokens == 640 and capped.val == data.val

    one = finetune.prepare_data(tokenizer, [" ".join(docs)], FinetuneConfig(block_size=64))
    assert len(one.val) == round(0.1 * (len(one.train) + len(one.val))) >= 1
    assert len(one.val_texts) == 1 and one.val_texts[0] in " ".join(docs)


def test_finetune_id_is_stable_and_config_round_trips():
    config = FinetuneConfig(base="tiny-gpt2", target_modules=("c_attn",))
    assert FinetuneConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert FinetuneConfig.from_dict({**config.to_dict(), "corpus": "ab12"}) == config  # a manifest's config
    assert finetune.finetune_id("ab12", config) == finetune.finetune_id("ab12", FinetuneConfig.from_dict(config.to_dict()))
    assert finetune.finetune_id("ab12", FinetuneConfig()) == "25d9daac8caad51d"  # ids on disk must not drift
    assert finetune.finetune_id("ab12", config) != finetune.finetune_id("cd34", config)
    assert finetune.finetune_id("ab12", config) != finetune.finetune_id("ab12", FinetuneConfig(base="tiny-gpt2"))


def test_accelerate_command_and_config():
    command, text = finetune.accelerate_command("ab12", FULL, num_processes=4)
    assert command.startswith("accelerate launch --config_file finetune.yaml -m core.finetune --corpus ab12 --config '{")
    config = yaml.safe_load(text)
    assert config["num_processes"] == 4 and config["distributed_type"] == "MULTI_GPU"
    assert "DEEPSPEED" in text and "FSDP" in text
    assert json.loads(command.split("--config ", 1)[1].strip("'")) == FULL.to_dict()


class CancelInValidation(Recorder):
    """Presses Cancel at the first validation batch after training began; counts the batches after it."""

    def __init__(self):
        super().__init__()
        self.pressed_at = None

    @property
    def cancelled(self) -> bool:
        return self.pressed_at is not None

    def progress(self, fraction, message=None):
        super().progress(fraction, message)
        trained = any("train_loss" in r for r in self.rows)
        if self.pressed_at is None and trained and "validating" in (message or ""):
            self.pressed_at = len(self.messages)


def test_a_step_capped_run_trains_the_tokens_its_estimate_says_and_counts_validations_in_the_time_left():
    ws = Workspace.from_env()
    corpus_id = make_corpus(ws)
    config = FinetuneConfig(base="tiny-gpt2", block_size=64, batch_size=4, max_steps=3, learning_rate=3e-2,
                            warmup_ratio=0.0)
    est = finetune.preflight(ws, corpus_id, config)
    assert est.tokens_trained == 3 * 4 * 64 < est.train_tokens  # not the whole training split
    assert est.evaluations == 4 and est.val_seconds <= est.seconds  # before, then after steps 1, 2 and 3
    ctx = Recorder()
    m = finetune.run(ws, corpus_id, config, ctx)
    assert m.metrics["tokens_trained"] == est.tokens_trained and m.metrics["evaluations"] == est.evaluations
    assert any(msg and msg.startswith("Step 1/3 ·") and "left" in msg for msg in ctx.messages)


def test_the_plan_counts_steps_validations_and_tokens_as_the_trainer_runs_them():
    capped = finetune_estimate.plan(100, FinetuneConfig(base="tiny-gpt2", block_size=64, batch_size=8, max_steps=10))
    assert (capped.steps, capped.eval_every, capped.evaluations) == (10, 3, 5)  # 0, then 3, 6, 9 and the last, 10
    assert capped.tokens_trained == 80 * 64
    assert [capped.evaluations_after(k) for k in (0, 3, 4, 9, 10)] == [4, 3, 3, 1, 1]
    wrap = finetune_estimate.plan(20, FinetuneConfig(base="tiny-gpt2", block_size=64, batch_size=8, max_steps=4))
    assert wrap.tokens_trained == (20 + 8) * 64  # an epoch of 8 + 8 + 4 blocks, then one batch of the next
    epochs = finetune_estimate.plan(20, FinetuneConfig(base="tiny-gpt2", block_size=64, batch_size=8, epochs=2))
    assert (epochs.steps, epochs.tokens_trained) == (6, 40 * 64)


def test_cancel_during_a_validation_ends_it_at_once_and_keeps_the_last_step():
    ws = Workspace.from_env()
    corpus_id = make_corpus(ws, n_docs=60)
    config = FinetuneConfig(base="tiny-gpt2", block_size=32, batch_size=1, max_steps=8, learning_rate=3e-2,
                            warmup_ratio=0.0)
    ctx = CancelInValidation()
    with pytest.raises(Cancelled):
        finetune.run(ws, corpus_id, config, ctx)
    validating = [m for m in ctx.messages if "validating" in (m or "")]
    total = int(validating[0].rsplit("/", 1)[1])
    assert total >= 10  # a validation long enough that stopping early means something
    after = [m for m in ctx.messages[ctx.pressed_at:] if "validating" in (m or "")]
    assert len(after) <= 1, after  # at most the batch already running, not the other batches
    logged = [r["step"] for r in ctx.rows if "train_loss" in r]
    run_dir = ws.root / "runs" / f"finetune-{finetune.finetune_id(corpus_id, config)}"
    assert [c.name for c in run_dir.glob("checkpoint-*")] == [f"checkpoint-{logged[-1]}"]
    again = finetune.run(ws, corpus_id, config, Recorder())
    assert again.metrics["resumed_from"] == logged[-1] and again.metrics["steps"] == 8
