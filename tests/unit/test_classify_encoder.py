"""The fine-tuned encoder classifier: it learns a planted signal, Cancel leaves nothing, the folder is safetensors
that loads back exactly, explanations come in words, LoRA saves a plain model.

Everything trains the tiny random BERT (2 layers × 32 wide, MiniLM's WordPiece vocabulary) on 48 short texts
whose class is one planted word; a run takes ~2 s. One full run is shared by the module (``trained``).
"""

import random
import sys

import numpy as np
import pytest

from core import models
from core.classify import encoder
from core.classify.encoder import EncoderClassifier, EncoderConfig, estimate_seconds, train_encoder
from core.device import share_cpu_politely
from core.errors import UserError
from core.jobs import Cancelled, NoJob

# torch's threads sleep, not spin, while they wait (as in the app): next to other work on 2 cores, spinning made
# the first training run 8× slower. Too late (and harmless) when another test module has imported torch already.
share_cpu_politely()
CLASSES = ["neg", "pos"]
PLANTED = {"neg": "terrible", "pos": "wonderful"}
FILLER = "the a film story movie plot actor scene long short time people unbelievably".split()  # the last: 4 pieces
# A tiny random BERT needs a far higher learning rate than MiniLM: 48 steps take the validation loss from 0.69 to
# ~0.02; by then its tanh pooler is saturated (p = 0.977 or 0.023 for every text), which test_explain relies on.
TINY = EncoderConfig(base="tiny-bert", epochs=8, learning_rate=5e-3, batch_size=8)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def planted(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` texts of five filler words and, somewhere, the one word that gives the class away."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = CLASSES[i % 2]
        words = [rng.choice(FILLER) for _ in range(5)]
        words.insert(rng.randrange(6), PLANTED[label])
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


class Recorder(NoJob):
    def __init__(self, cancel_at_step: int | None = None):
        self.rows, self.messages, self.cancel_at = [], [], cancel_at_step

    def metric(self, **values):
        self.rows.append(values)

    def progress(self, fraction, message=None):
        self.messages.append((fraction, message))

    def check_cancelled(self):
        steps = [r["step"] for r in self.rows if "train_loss" in r]
        if self.cancel_at is not None and steps and steps[-1] >= self.cancel_at:
            raise Cancelled()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One full run: (folder, metrics, recorder, the in-memory model and tokenizer that were saved)."""
    folder = tmp_path_factory.mktemp("clf") / "model"
    saved = {}
    real_save = encoder._save

    def keep(folder_, model, tokenizer, *args):
        saved["model"], saved["tokenizer"] = model, tokenizer
        return real_save(folder_, model, tokenizer, *args)

    ctx = Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(encoder, "_save", keep)
        metrics = train_encoder(*planted(48, 0), *planted(24, 1), CLASSES, TINY, folder, ctx, device="cpu")
    return folder, metrics, ctx, saved


def test_training_learns_the_planted_word_and_reports(trained):
    folder, metrics, ctx, _ = trained
    losses = [r["train_loss"] for r in ctx.rows if "train_loss" in r]
    assert len(losses) == metrics["steps"] == 48  # 8 epochs × 48 / 8, a loss row per step
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])
    epochs = [r for r in ctx.rows if "val_f1" in r]
    assert [r["epoch"] for r in epochs] == list(range(1, 9)) and metrics["curve"] == epochs
    assert metrics["val_accuracy"] >= 0.9 and metrics["val_f1"] >= 0.9  # chance: 0.5
    assert metrics["trainable_params"] == metrics["params"] > 0 and metrics["examples_per_s"] > 0
    assert any(m and m.startswith("Epoch 8/8 · step 48/48") and "left" in m for _, m in ctx.messages)
    fractions = [f for f, _ in ctx.messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_folder_is_safetensors_only(trained):
    folder = trained[0]
    names = {p.name for p in folder.rglob("*")}
    assert {"model.safetensors", "config.json", "encoder.json", "tokenizer_config.json"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]


def test_save_then_load_predicts_the_same(trained):
    folder, _, _, saved = trained
    texts = planted(10, 2)[0] + ["", "a much longer text " * 40]  # empty and past max_length too
    before = EncoderClassifier(saved["model"].eval(), saved["tokenizer"], CLASSES, "cpu", TINY.max_length)
    clf = EncoderClassifier.load(folder, device="cpu")
    assert clf.classes == CLASSES and clf.model.config.id2label == {0: "neg", 1: "pos"}
    p = clf.predict_proba(texts, batch_size=4)
    assert p.shape == (12, 2) and np.allclose(p.sum(1), 1)
    np.testing.assert_allclose(p, before.predict_proba(texts, batch_size=4), rtol=0, atol=1e-6)
    assert clf.predict(["the wonderful film", "the terrible film"]) == ["pos", "neg"]


def test_explain_gives_words_with_the_planted_word_on_top(trained):
    clf = EncoderClassifier.load(trained[0], device="cpu")
    text = "the unbelievably terrible film story"
    assert any(p.startswith("##") for p in clf.tokenizer.tokenize(text))  # a word in pieces, to be merged
    assert clf.predict([text]) == ["neg"]
    explained = clf.explain(text)
    assert [w for w, _ in explained] == ["the", "unbelievably", "terrible", "film", "story"]
    top = max(explained, key=lambda ws: ws[1])
    assert top[0] == "terrible" and top[1] > 0.5 and all(abs(s) < 0.2 * top[1] for w, s in explained if w != "terrible")
    # toward the other class the planted word pulls the other way
    assert dict(clf.explain(text, target=1))["terrible"] < 0
    # Plain gradient × input (steps=1) at the text: this confident model's tanh pooler is saturated, so every word
    # reads ~0; the integrated gradients above do not.
    plain = dict(clf.explain(text, steps=1))
    assert abs(plain["terrible"]) < 0.1 * top[1]
    # a slow (Python) tokenizer's pieces are merged on their ## marks
    ids = clf.tokenizer("unbelievably good")["input_ids"]
    merged = encoder._words_from_pieces(clf.tokenizer, ids, [1.0] * len(ids))
    assert merged == [("unbelievably", float(len(ids) - 3)), ("good", 1.0)]


def test_cancel_stops_training_and_writes_nothing(tmp_path):
    folder = tmp_path / "model"
    ctx = Recorder(cancel_at_step=2)
    with pytest.raises(Cancelled):
        train_encoder(*planted(48, 0), *planted(24, 1), CLASSES, TINY, folder, ctx, device="cpu")
    assert max(r["step"] for r in ctx.rows if "train_loss" in r) == 2
    assert not folder.exists() or not any(folder.iterdir())
    with pytest.raises(UserError, match="no finished classifier"):
        EncoderClassifier.load(folder)


def test_lora_saves_a_merged_model_that_loads_without_peft(tmp_path, monkeypatch):
    folder = tmp_path / "lora"
    config = EncoderConfig(base="tiny-bert", method="lora", epochs=2, batch_size=8, learning_rate=1e-2)
    metrics = train_encoder(*planted(32, 0), [], [], CLASSES, config, folder, device="cpu")
    assert 0 < metrics["trainable_params"] < metrics["params"] / 2
    assert metrics["val_f1"] is None and metrics["curve"] == []  # no validation texts: nothing to validate
    assert not (folder / "adapter_config.json").exists()
    monkeypatch.setitem(sys.modules, "peft", None)  # `import peft` now fails
    clf = EncoderClassifier.load(folder, device="cpu")
    weights = dict(clf.model.named_parameters())
    assert not [n for n in weights if "lora" in n or "modules_to_save" in n]
    # merged: the adapted query/value differ from the base, the untouched key does not
    base = models.fresh("tiny-bert")[0].state_dict()
    layer = "encoder.layer.0.attention.self"
    assert not weights[f"bert.{layer}.query.weight"].equal(base[f"{layer}.query.weight"])
    assert weights[f"bert.{layer}.key.weight"].equal(base[f"{layer}.key.weight"])
    assert weights["bert.pooler.dense.weight"].equal(base["pooler.dense.weight"])  # frozen under LoRA
    assert clf.predict_proba(["the wonderful film"]).shape == (1, 2)


def test_config_and_refusals(tmp_path):
    assert EncoderConfig().learning_rate == 5e-5 and EncoderConfig(method="lora").learning_rate == 5e-4
    assert EncoderConfig(method="lora", learning_rate=1e-3).to_dict()["learning_rate"] == 1e-3
    assert EncoderConfig().to_dict()["base"] == models.MINILM_ID
    texts, labels = planted(8, 0)
    for config, y, match in [(EncoderConfig(base="tiny-bert", method="prefix"), labels, "method"),
                             (TINY, labels[:-1] + ["meh"], "not one of the classes"),
                             (EncoderConfig(base="tiny-gpt2"), labels, "encoder")]:
        with pytest.raises(UserError, match=match):
            train_encoder(texts, y, [], [], CLASSES, config, tmp_path / "x")
    # indexes into the classes are labels too
    assert encoder._indexes([1, "neg", np.int64(1)], CLASSES) == [1, 0, 1]


def test_estimate_grows_with_the_work():
    base = estimate_seconds(160, 40, EncoderConfig())
    assert 5 < base < 120  # ~3 epochs of 160 sentences on 2 cores
    assert estimate_seconds(1600, 40, EncoderConfig()) > 5 * base
    assert estimate_seconds(160, 40, EncoderConfig(epochs=6)) > 1.5 * base
    assert estimate_seconds(160, 40, EncoderConfig(method="lora")) < base
    assert estimate_seconds(160, 40, EncoderConfig(base="bert-base-uncased")) > 3 * base
    long = estimate_seconds(160, 40, EncoderConfig(), mean_words=300)  # cut at 128 pieces: ~3× a sentence's time
    assert 2 * base < long < 4 * base and long == estimate_seconds(160, 40, EncoderConfig(), mean_words=3000)


@pytest.mark.real_model
def test_minilm_fine_tunes_on_polarity_sentences(tmp_path):
    from core.corpus.samples import load_sample

    docs = load_sample("polarity").documents
    pick = [d for d in docs if d.label == "pos"][:25] + [d for d in docs if d.label == "neg"][:25]
    random.Random(0).shuffle(pick)
    train, val = pick[:40], pick[40:]
    metrics = train_encoder([d.text for d in train], [d.label for d in train], [d.text for d in val],
                            [d.label for d in val], CLASSES, EncoderConfig(epochs=1), tmp_path / "m", device="cpu")
    assert metrics["steps"] == 3 and metrics["params"] > 22_000_000 and len(metrics["curve"]) == 1
    clf = EncoderClassifier.load(tmp_path / "m", device="cpu")
    p = clf.predict_proba([d.text for d in val])
    assert p.shape == (10, 2) and np.allclose(p.sum(1), 1)
    assert all(not w.startswith("##") for w, _ in clf.explain(val[0].text))
