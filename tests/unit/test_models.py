"""The model core: registry, refusals, the shared cache, locks, OOM recovery, and the two bundled models.

Tiny random GPT-2/BERT cover the logic in milliseconds; the bundled MiniLM and SmolLM2 are loaded
for real. SmolLM2's GGUF conversion (~15 s on 2 cores) happens once per machine into the shared
models folder, like the app's; the conversion's mechanics (once, atomic, several processes at
once, Cancel) are tested on a fake converter in temp folders. Tests that need a known cache state
swap in a fresh ``ModelCache`` so the bundled models stay loaded.
"""

import json
import multiprocessing
import socket
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from core import models
from core.errors import UserError
from core.jobs import Cancelled
from core.workspace import Workspace


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # `make test` sets it too; here so a lone pytest run never waits on the network either.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def cache(monkeypatch):
    """A fresh, empty process cache (8 GiB budget) for this test only."""
    fresh = models.ModelCache(budget=8 * 2**30)
    monkeypatch.setattr(models.cache, "CACHE", fresh)
    return fresh


class Recorder:
    """A JobContext stand-in that remembers the progress messages."""

    def __init__(self):
        self.messages = []

    def progress(self, fraction, message=None):
        self.messages.append(message)

    def check_cancelled(self):
        pass


@pytest.fixture(scope="module")
def smollm():
    """SmolLM2 from the shared models folder (converted there first if this machine never did): (model, messages)."""
    models.unload_all()  # a real load, not a cache hit: under two workers another module may have left it loaded
    ctx = Recorder()
    m = models.load(models.SMOLLM_ID, ctx=ctx)
    yield m, ctx.messages
    models.unload_all()  # later test modules start with an empty cache


# --- tiny models ----------------------------------------------------------------------------------
def test_tiny_models_are_cached_and_give_attentions(cache):
    gpt = models.tiny_model("causal")
    assert models.tiny_model("causal") is gpt
    assert gpt.key == "tiny-gpt2|cpu|float32|default" and gpt.spec.kind == "causal"
    enc = gpt.tokenizer("hello world", return_tensors="pt")
    assert gpt.tokenizer.convert_ids_to_tokens(enc["input_ids"][0])[:6] == ["h", "e", "l", "l", "o", "Ġ"]
    with models.model_lock(gpt), torch.inference_mode():
        assert gpt.model(**enc).logits.shape == (1, 11, 257)  # (batch, seq, vocab)

    bert = models.tiny_model("encoder", attentions=True)
    enc = bert.tokenizer("the bank of the river", return_tensors="pt")
    with models.model_lock(bert), torch.inference_mode():
        att = torch.stack(bert.model(**enc, output_attentions=True).attentions)[:, 0]
    assert att.shape == (2, 4, 7, 7)  # (layers, heads, seq, seq) with [CLS] and [SEP]
    torch.testing.assert_close(att.sum(-1), torch.ones(2, 4, 7))


def test_tiny_weights_are_reproducible_and_leave_the_callers_rng_alone(cache):
    state = torch.random.get_rng_state()
    first = models.tiny_model("causal").model.state_dict()
    models.unload_all()
    second = models.tiny_model("causal").model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_request_without_attentions_reuses_an_eager_copy(cache):
    eager = models.tiny_model("encoder", attentions=True)
    assert models.tiny_model("encoder") is eager
    assert models.tiny_model("encoder", attentions=True) is eager
    assert [e["key"] for e in models.loaded()] == ["tiny-bert|cpu|float32|eager"]


def test_dtypes(cache):
    m = models.load("tiny-gpt2", dtype="bfloat16", device="cpu")
    assert m.dtype == "bfloat16" and next(m.model.parameters()).dtype == torch.bfloat16
    assert m.bytes == models.estimate_bytes(m.spec, "bfloat16")  # tiny-gpt2 has no buffers to speak of
    with pytest.raises(UserError, match="float32 or bfloat16"):
        models.load("tiny-gpt2", dtype="float16", device="cpu")
    with pytest.raises(UserError, match="Unknown number format"):
        models.load("tiny-gpt2", dtype="int8", device="cpu")
    assert models.default_dtype("cpu", "encoder") == "float32"
    assert models.dtype_choices("cpu", "encoder")[0] == "float32"
    assert models.default_dtype("cpu", "causal") == ("bfloat16" if models.cpu_has_bf16() else "float32")


def test_the_bf16_check_without_torch_agrees_with_torch():
    import torch

    # /proc/cpuinfo read (no torch on a first render) against oneDNN's own answer on this CPU
    assert models.cpu_has_bf16() == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


# --- the registry ---------------------------------------------------------------------------------
def test_registry_lists_bundled_hub_and_finetuned_models(tmp_path, cache, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    monkeypatch.delenv("CORPUS_LAB_TINY_MODELS")  # what a user sees
    ids = [s.id for s in models.registry(ws)]
    assert ids[:2] == ["smollm2-135m-instruct", "all-minilm-l6-v2"]
    assert {"gpt2", "distilgpt2", "bert-base-uncased", "distilbert-base-uncased", "roberta-base"} <= set(ids)
    assert "tiny-gpt2" not in ids and "tiny-gpt2" in [s.id for s in models.registry(ws, tiny=True)]
    monkeypatch.setenv("CORPUS_LAB_TINY_MODELS", "1")  # what the test suite sets
    ids = [s.id for s in models.registry(ws)]
    assert ids[:2] == ["smollm2-135m-instruct", "all-minilm-l6-v2"] and {"tiny-gpt2", "tiny-bert"} <= set(ids)

    tiny = models.tiny_model("causal")

    def write(folder):
        tiny.model.save_pretrained(folder)
        tiny.tokenizer.save_pretrained(folder)

    ws.create("finetune", "abc123", name="tiny on my corpus", write=write)
    spec = models.resolve("finetune:abc123", ws)
    assert (spec.source, spec.kind, spec.label) == ("artifact", "causal", "tiny on my corpus")
    assert spec in models.registry(ws)
    tuned = models.load("finetune:abc123", ws=ws, device="cpu", dtype="float32")
    assert tuned.model is not tiny.model
    weight = "transformer.wte.weight"
    torch.testing.assert_close(tuned.model.state_dict()[weight], tiny.model.state_dict()[weight])
    with pytest.raises(UserError, match="no finetune 'nope'"):
        models.resolve("finetune:nope", ws)


def test_local_folder_loads_and_is_named_by_its_absolute_path(tmp_path, cache):
    tiny = models.tiny_model("encoder")
    tiny.model.save_pretrained(tmp_path / "mine")
    tiny.tokenizer.save_pretrained(tmp_path / "mine")
    m = models.load(str(tmp_path / "mine"), device="cpu")
    assert m.spec.source == "local" and m.spec.kind == "encoder" and m.spec.id == str((tmp_path / "mine").resolve())
    assert m.dtype == "float32"


# --- the bundled models ---------------------------------------------------------------------------
@pytest.mark.real_model
def test_minilm_gives_attentions_with_eager():
    m = models.load(models.MINILM_ID, attentions=True, device="cpu")
    assert (m.spec.kind, m.dtype, m.attention) == ("encoder", "float32", "eager")
    enc = m.tokenizer("The bank of the river was muddy.", return_tensors="pt")
    with models.model_lock(m), torch.inference_mode():
        out = m.model(**enc, output_attentions=True)
    seq = enc["input_ids"].shape[1]
    assert len(out.attentions) == 6 and all(a.shape == (1, 12, seq, seq) for a in out.attentions)
    att = torch.stack(out.attentions)[:, 0]  # (layers, heads, seq, seq)
    torch.testing.assert_close(att.sum(-1), torch.ones(6, 12, seq), atol=1e-5, rtol=0)


@pytest.mark.real_model
def test_smollm_is_converted_to_safetensors_in_the_shared_models_folder(smollm):
    m, messages = smollm
    folder = models.smollm_dir()
    assert folder.parent == models.models_dir() and (folder / "model.safetensors").is_file() and models.smollm_ready()
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    assert json.loads((folder / "conversion.json").read_text())["parameters"] == 134_515_008
    assert messages[-1] == "SmolLM2-135M-Instruct loaded"
    assert m.spec.kind == "causal" and m.spec.chat and m.tokenizer.chat_template
    assert not list(folder.parent.glob(f".{folder.name}.tmp-*"))  # nothing half-written left behind


@pytest.mark.real_model
def test_smollm_is_a_cache_hit_then_a_reload_without_converting_after_unload(smollm):
    first = smollm[0]
    stamp = (models.smollm_dir() / "conversion.json").stat().st_mtime_ns
    assert models.load(models.SMOLLM_ID) is first
    assert models.unload(first.key) and not models.unload(first.key)
    third = models.load(models.SMOLLM_ID, ctx=(ctx := Recorder()))
    assert third is not first
    assert not any("Converting" in (msg or "") for msg in ctx.messages)
    assert (models.smollm_dir() / "conversion.json").stat().st_mtime_ns == stamp  # not written again

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    enc = third.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with models.model_lock(third), torch.inference_mode():
        out = third.model.generate(**enc, max_new_tokens=8, do_sample=False)
    assert "Paris" in third.tokenizer.decode(out[0, enc["input_ids"].shape[1]:])


# --- converting once per machine ------------------------------------------------------------------
def fake_write(calls):
    """A converter that writes a one-file model and counts its calls."""

    def write(folder: Path) -> int:
        calls.append(folder)
        (folder / "model.safetensors").write_bytes(b"weights")
        return 42

    return write


def test_models_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CORPUS_LAB_MODELS", str(tmp_path / "shared"))
    assert models.models_dir() == tmp_path / "shared" and models.smollm_dir() == tmp_path / "shared" / models.SMOLLM_ID
    monkeypatch.delenv("CORPUS_LAB_MODELS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert models.models_dir() == tmp_path / "cache" / "corpus-lab" / "models"


def test_convert_once_converts_once_and_again_for_another_source(tmp_path):
    target, calls = tmp_path / "models" / "m", []
    assert models.bundled.convert_once(target, {"v": 1}, fake_write(calls), Recorder(), "M") == target
    assert models.bundled.convert_once(target, {"v": 1}, fake_write(calls), Recorder(), "M") == target
    assert len(calls) == 1 and (target / "model.safetensors").read_bytes() == b"weights"
    assert json.loads((target / "conversion.json").read_text())["source"] == {"v": 1}
    models.bundled.convert_once(target, {"v": 2}, fake_write(calls), Recorder(), "M")  # e.g. a new GGUF
    assert len(calls) == 2 and json.loads((target / "conversion.json").read_text())["source"] == {"v": 2}
    assert sorted(p.name for p in target.parent.iterdir()) == [".m.lock", "m"]  # no temp folders left


def test_a_cancelled_or_crashed_conversion_leaves_nothing(tmp_path):
    target = tmp_path / "models" / "m"

    def cancelled(folder):
        (folder / "half.safetensors").write_bytes(b"half")
        raise Cancelled()

    with pytest.raises(Cancelled):
        models.bundled.convert_once(target, {"v": 1}, cancelled, Recorder(), "M")
    assert not target.exists() and not list(target.parent.glob(".m.tmp-*"))
    (target.parent / ".m.tmp-crashed").mkdir()  # what a killed process leaves: swept by the next writer
    calls = []
    models.bundled.convert_once(target, {"v": 1}, fake_write(calls), Recorder(), "M")
    assert len(calls) == 1 and not list(target.parent.glob(".m.tmp-*"))


def test_an_unwritable_models_folder_is_explained(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(UserError, match="Cannot create the models folder.*CORPUS_LAB_MODELS"):
        models.bundled.convert_once(tmp_path / "file" / "models" / "m", {"v": 1}, fake_write([]), Recorder(), "M")


def convert_in_a_child(target: Path, log: Path) -> None:
    def write(folder):
        with log.open("a") as f:
            f.write("converted\n")
        time.sleep(1)  # long enough for the other process to arrive while this one converts
        (folder / "model.safetensors").write_bytes(b"weights")
        return 1

    assert models.bundled.convert_once(target, {"v": 1}, write, Recorder(), "M") == target


def test_two_processes_at_once_convert_once(tmp_path):
    target, log = tmp_path / "models" / "m", tmp_path / "conversions.log"
    fork = multiprocessing.get_context("fork")  # a copy of this process: no second torch import
    children = [fork.Process(target=convert_in_a_child, args=(target, log)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0]
    assert log.read_text() == "converted\n" and (target / "model.safetensors").is_file()


def test_a_process_waiting_for_the_conversion_says_so_and_can_be_cancelled(tmp_path):
    from filelock import FileLock

    target = tmp_path / "models" / "m"
    target.parent.mkdir()

    class CancelWhileWaiting(Recorder):
        def check_cancelled(self):
            if any("Waiting for another" in (m or "") for m in self.messages):
                raise Cancelled()

    with FileLock(target.parent / ".m.lock"):  # another process is converting
        with pytest.raises(Cancelled):
            models.bundled.convert_once(target, {"v": 1}, fake_write([]), CancelWhileWaiting(), "M")
    assert not target.exists()


# --- the cache ------------------------------------------------------------------------------------
def test_budget_evicts_the_least_recently_used(cache):
    gpt_bytes = models.estimate_bytes(models.resolve("tiny-gpt2"), "float32")
    bert_bytes = models.estimate_bytes(models.resolve("tiny-bert"), "float32")
    cache.budget = gpt_bytes + bert_bytes + 100_000  # room for one BERT at a time (plus its small buffers)
    gpt = models.tiny_model("causal")
    bert = models.tiny_model("encoder")
    assert models.tiny_model("causal") is gpt  # touch: now BERT is the least recently used
    eager = models.tiny_model("encoder", attentions=True)
    assert [e["key"] for e in models.loaded()] == [eager.key, gpt.key]
    assert models.memory() == {"used_bytes": gpt.bytes + eager.bytes, "budget_bytes": cache.budget}
    assert bert.key not in [e["key"] for e in models.loaded()]
    assert models.loaded()[0]["mb"] == round(eager.bytes / 2**20, 1) and models.loaded()[0]["name"] == "Tiny random BERT"
    models.unload_all()
    assert models.loaded() == []


def test_a_model_larger_than_the_budget_is_refused_before_loading(tmp_path, cache):
    cache.budget = 2**20
    with pytest.raises(UserError, match=r"needs about 4 MB in float32 \(1 M parameters × 4 bytes\).*budget of 1 MB"):
        models.tiny_model("encoder")
    assert models.loaded() == []

    # GPT-2 XL's config next to a weights file that could not be loaded: only the estimate is read.
    folder = tmp_path / "gpt2-xl"
    folder.mkdir()
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 48, "n_embd": 1600, "n_head": 25}
    (folder / "config.json").write_text(json.dumps(config))
    save_file({"x": torch.zeros(1)}, folder / "model.safetensors")
    cache.budget = 2**30
    with pytest.raises(UserError, match=r"about 5,942 MB in float32 \(1,558 M parameters × 4 bytes\)"):
        models.load(str(folder), device="cpu", dtype="float32")


def test_four_threads_asking_for_one_model_load_it_once(cache, monkeypatch):
    builds, real_build = [], models.loading._build

    def slow_build(*args):
        builds.append(1)
        time.sleep(0.3)  # keep the window wide open
        return real_build(*args)

    monkeypatch.setattr(models.loading, "_build", slow_build)
    barrier, results = threading.Barrier(4), []

    def ask():
        barrier.wait()
        results.append(models.load("tiny-gpt2", device="cpu"))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert len(builds) == 1


def test_model_lock_lets_one_caller_run_a_model_at_a_time(cache):
    m = models.tiny_model("causal")
    inside, release, seen = threading.Event(), threading.Event(), []

    def hold():
        with models.model_lock(m):
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    seen.append(m.lock.acquire(blocking=False))  # another session: must wait
    release.set()
    holder.join(5)
    seen.append(m.lock.acquire(timeout=5))
    m.lock.release()
    assert seen == [False, True]


def test_out_of_memory_while_running_frees_memory_and_keeps_serving(cache):
    other = models.tiny_model("encoder")
    m = models.tiny_model("causal")

    def fake_oom(module, args):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    hook = m.model.register_forward_pre_hook(fake_oom)
    enc = m.tokenizer("hello", return_tensors="pt")
    try:
        with pytest.raises(UserError, match="ran out of CPU memory.*Memory was freed"):
            with models.model_lock(m), torch.inference_mode():
                m.model(**enc)
    finally:
        hook.remove()
    assert [e["key"] for e in models.loaded()] == [m.key]  # the others went, this one stays for a retry
    assert other.key not in [e["key"] for e in models.loaded()]
    assert m.lock.acquire(blocking=False)  # not left locked
    m.lock.release()
    with models.model_lock(m), torch.inference_mode():
        assert m.model(**enc).logits.shape == (1, 5, 257)
    with pytest.raises(ValueError, match="not an OOM"):  # anything else passes through untouched
        with models.model_lock(m):
            raise ValueError("not an OOM")


def test_out_of_memory_while_loading_is_reported(cache, monkeypatch):
    models.tiny_model("causal")

    def oom(*args):
        raise torch.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(models.loading, "build_tiny", oom)
    with pytest.raises(UserError, match="not enough CPU memory to load Tiny random BERT"):
        models.tiny_model("encoder")
    assert models.loaded() == []


def test_cancel_during_load_caches_nothing(cache):
    class CancelAtOnce(Recorder):
        def check_cancelled(self):
            raise Cancelled()

    with pytest.raises(Cancelled):
        models.load("tiny-bert", device="cpu", ctx=CancelAtOnce())
    assert models.loaded() == []


# --- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_id", ["gpt2", "nobody/no-such-model-xyz"])
def test_hub_ids_offline_say_so_without_touching_the_network(model_id, cache, monkeypatch):
    connects = []  # without a network huggingface_hub would retry for ~25 s: offline must not try at all
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: connects.append(args) or [])
    monkeypatch.setattr(socket.socket, "connect", lambda *args: connects.append(args))
    with pytest.raises(UserError, match="not in the Hugging Face cache.*offline \\(HF_HUB_OFFLINE=1\\)"):
        models.load(model_id)
    assert connects == []


def _folder(tmp_path, config=None, files=()):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config or {"model_type": "bert", "architectures": ["BertModel"]}))
    for name in files:
        (folder / name).write_bytes(b"\x80\x04not really a model")
    return folder


@pytest.mark.parametrize(
    ("config", "files", "message"),
    [
        (None, ["pytorch_model.bin"], r"only pickle-based weights \(pytorch_model.bin\).*safetensors only"),
        (None, [], r"has no model weights \(no \*.safetensors file\)"),
        (None, ["model.safetensors", "modeling_evil.py"], r"brings its own Python code \(modeling_evil.py\)"),
        ({"model_type": "bert", "auto_map": {"AutoModel": "x.Y"}}, ["model.safetensors"], r"own Python code \(auto_map"),
        ({"architectures": ["X"]}, ["model.safetensors"], "does not say which architecture"),
        ({"model_type": "nonsense"}, ["model.safetensors"], "transformers cannot build 'model'"),
    ],
)
def test_bad_folders_are_refused_in_plain_words(tmp_path, config, files, message, cache):
    with pytest.raises(UserError, match=message):
        models.load(str(_folder(tmp_path, config, files)))
    assert models.loaded() == []


def test_missing_folder_file_and_nonsense_ids(tmp_path):
    with pytest.raises(UserError, match=f"There is no folder {tmp_path / 'nope'}"):
        models.resolve(str(tmp_path / "nope"))
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(UserError, match="is a file"):
        models.resolve(str(tmp_path / "weights.safetensors"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="has no config.json"):
        models.resolve(str(tmp_path / "empty"))
    with pytest.raises(UserError, match="Choose a model"):
        models.resolve("  ")
    with pytest.raises(UserError, match="neither a known model"):
        models.resolve("what is this?")
