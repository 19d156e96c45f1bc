"""Classifier fine-tuning throughput: ``core.classify.encoder.train_encoder`` against a plain HF ``Trainer``.

Usage: ``.venv/bin/python bench/classify.py [--quick]``. all-MiniLM-L6-v2 in float32 on the CPU with a new
two-class head, fine-tuned on the Movie-review polarity sample (200 sentences, pos/neg) split stratified
70 / 10 / 20 (``core.classify.split.make_split``, seed 42). Both sides get the same texts, the same tokeniser
and ``max_length`` 128 (padded per batch), and the same settings: batch 16 (validation 32), learning rate
5e-5, 10% warm-up then linear decay, weight decay 0.01, seed 42, a validation after every epoch.

- *ours*: the whole ``train_encoder``: a private copy of the model, the progress / metrics / Cancel callback,
  a loss row per step, validation macro F1 per epoch, saving safetensors;
- *plain*: ``AutoModelForSequenceClassification.from_pretrained(minilm)`` and
  ``Trainer(model, args, train, eval, collator, compute_metrics=accuracy).train()`` with default logging and
  no checkpoints.

Examples/s = training examples × epochs / seconds of ``trainer.train()`` (validations included, on both
sides); the table also shows the training steps alone and the whole call. Runs alternate ours, plain, ours,
plain…; medians. ``--quick``: 1 epoch, 2 rounds; otherwise 3 epochs (the default), 3 rounds. Then
``baseline_scores``: test accuracy and macro F1 of TF-IDF + logistic regression and of the fine-tuned
encoder on the test part. The last line is ``RESULT classify_throughput_ratio=<ours/plain examples/s> goal>=0.9``.

torch's threads sleep rather than spin while they wait (``share_cpu_politely``, as the app runs them): on a
shared 2-core machine spinning made a first tiny-BERT run 8× slower.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.device import share_cpu_politely  # noqa: E402

share_cpu_politely()

import numpy as np  # noqa: E402

from core import models  # noqa: E402
from core.classify import encoder  # noqa: E402
from core.classify.encoder import EncoderClassifier, EncoderConfig, train_encoder  # noqa: E402
from core.classify.split import SplitConfig, labelled, make_split  # noqa: E402
from core.corpus.samples import load_sample  # noqa: E402

GOAL = 0.9


def data() -> dict:
    """The polarity sample's train / validation / test texts and class indexes, and the class names."""
    texts, labels, _ = labelled(load_sample("polarity").documents)
    split = make_split(labels, SplitConfig())
    parts = {name: ([texts[i] for i in split.part(name)], [int(split.y[i]) for i in split.part(name)])
             for name in ("train", "validation", "test")}
    return {"classes": split.classes, **parts}


def ours(d: dict, config: EncoderConfig, folder: Path) -> dict:
    start = time.perf_counter()
    m = train_encoder(*d["train"], *d["validation"], d["classes"], config, folder, device="cpu")
    return {"examples_per_s": m["examples_per_s"], "step_examples_per_s": m["step_examples_per_s"],
            "train_s": m["train_seconds"], "call_s": time.perf_counter() - start, "val_f1": m["val_f1"]}


def plain(d: dict, config: EncoderConfig) -> dict:
    """What a user would write with transformers alone, on the same texts and settings."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    start = time.perf_counter()
    classes = d["classes"]
    tokenizer = AutoTokenizer.from_pretrained(models.minilm_dir())
    model = AutoModelForSequenceClassification.from_pretrained(
        models.minilm_dir(), num_labels=len(classes), id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)}, dtype=torch.float32, use_safetensors=True)

    def encode(texts, labels):
        enc = tokenizer(texts, truncation=True, max_length=config.max_length)
        return [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                 "token_type_ids": enc["token_type_ids"][i], "labels": y} for i, y in enumerate(labels)]

    def accuracy(p):
        return {"accuracy": float(np.mean(np.asarray(p.predictions).argmax(-1) == p.label_ids))}

    steps = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            steps.append(time.perf_counter() - self.t0)

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=config.batch_size,
                                 per_device_eval_batch_size=2 * config.batch_size, num_train_epochs=config.epochs,
                                 learning_rate=config.learning_rate, weight_decay=0.01, warmup_steps=0.1,
                                 eval_strategy="epoch", save_strategy="no", seed=config.seed, use_cpu=True,
                                 report_to="none", disable_tqdm=True)
        trainer = Trainer(model=model, args=args, train_dataset=encode(*d["train"]),
                          eval_dataset=encode(*d["validation"]), data_collator=DataCollatorWithPadding(tokenizer),
                          compute_metrics=accuracy, callbacks=[StepTimer()])
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # its default logging prints a dict per validation
            trainer.train()
        train_s = time.perf_counter() - t0
    examples = len(d["train"][0]) * config.epochs
    return {"examples_per_s": examples / train_s, "step_examples_per_s": examples / sum(steps), "train_s": train_s,
            "call_s": time.perf_counter() - start}


# ---- baselines: what the fine-tune is worth against TF-IDF + logistic regression --------------------------------
def baseline_scores(d: dict, encoder_folder: Path) -> None:
    """Test accuracy and macro F1 on the stratified split's test part: TF-IDF + LR, and the fine-tuned encoder
    (``encoder_folder``, one of the runs above). Chance = always guessing the training set's commonest class."""
    from core.classify.metrics import chance, scorecard

    test_texts, y_test = d["test"]
    rows = []
    try:
        from core.classify.linear import train_tfidf
    except ImportError:
        train_tfidf = None
    if train_tfidf is not None:
        start = time.perf_counter()
        model = train_tfidf(*d["train"], d["classes"])
        rows.append(("TF-IDF + logistic regression", scorecard(y_test, model.predict_proba(test_texts), d["classes"]),
                     time.perf_counter() - start))
    clf = EncoderClassifier.load(encoder_folder, device="cpu")
    rows.append((f"MiniLM fine-tuned ({clf.info['config']['epochs']} epochs, full)",
                 scorecard(y_test, clf.predict_proba(test_texts), d["classes"]), clf.info["metrics"]["train_seconds"]))
    print(f"\nTest part of the polarity split ({len(test_texts)} sentences, trained on {len(d['train'][0])}; chance "
          f"{chance(d['train'][1], y_test):.2f}):\n")
    print("| classifier | test accuracy | test macro F1 | training s |")
    print("|---|---:|---:|---:|")
    for name, card, seconds in rows:
        print(f"| {name} | {card['accuracy']:.3f} | {card['macro']['f1']:.3f} | {seconds:.1f} |")
    if train_tfidf is None:
        print("(core/classify/linear.py has no train_tfidf yet: the lead adds the baselines.)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch, 2 rounds (about a minute)")
    args = parser.parse_args(argv)
    rounds, epochs = (2, 1) if args.quick else (3, 3)

    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()  # the "Loading weights" bars
    transformers.logging.set_verbosity_error()  # the plain side's "newly initialized" head report
    d = data()
    config = EncoderConfig(epochs=epochs)
    work = Path(tempfile.mkdtemp(prefix="bench-classify-"))
    print(f"{os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, load average {os.getloadavg()[0]:.2f}; "
          f"MiniLM float32 on the CPU; {len(d['train'][0])} training / {len(d['validation'][0])} validation sentences, "
          f"{epochs} epoch(s), batch {config.batch_size}, max_length {config.max_length}; {rounds} round(s) alternating, "
          "median\n")
    runs: dict[str, list[dict]] = {"ours": [], "plain": []}
    try:
        for i in range(rounds):
            runs["ours"].append(ours(d, config, work / f"ours-{i}"))
            runs["plain"].append(plain(d, config))
        med = {side: {k: statistics.median(r[k] for r in rs) for k in ("examples_per_s", "step_examples_per_s",
                                                                      "train_s", "call_s")}
               for side, rs in runs.items()}
        print("| | examples/s (train()) | examples/s (steps alone) | train() s | whole call s |")
        print("|---|---:|---:|---:|---:|")
        for side, name in (("ours", "ours: train_encoder"), ("plain", "plain Trainer")):
            m = med[side]
            print(f"| {name} | {m['examples_per_s']:,.1f} | {m['step_examples_per_s']:,.1f} | {m['train_s']:.1f} | "
                  f"{m['call_s']:.1f} |")
        ratio = med["ours"]["examples_per_s"] / med["plain"]["examples_per_s"]
        steps_ratio = med["ours"]["step_examples_per_s"] / med["plain"]["step_examples_per_s"]
        print(f"| ratio ours/plain | {ratio:.3f} | {steps_ratio:.3f} | | |")
        rate = med["ours"]["examples_per_s"]
        n_train, n_val = len(d["train"][0]), len(d["validation"][0])
        words = float(np.mean([len(t.split()) for t in d["train"][0]]))
        guess = encoder.estimate_seconds(n_train, n_val, config, mean_words=words)
        print(f"\nestimate_seconds: {guess:.1f} s guessed for this run ({words:.0f} words a text), "
              f"{med['ours']['call_s']:.1f} s measured (ours, whole call; {rate:.1f} examples/s here, "
              f"{encoder._PIECES_PER_S['full']:,.0f} padded word pieces/s assumed)")
        baseline_scores(d, work / f"ours-{rounds - 1}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nRESULT classify_throughput_ratio={ratio:.3f} goal>={GOAL}")


if __name__ == "__main__":
    main()
