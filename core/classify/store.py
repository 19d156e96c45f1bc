"""A classifier as an artifact: trained on one split of a corpus, scored on its test part, read back to
predict, explain and label.

``train(ws, corpus_id, config, ctx)`` runs the whole thing as one job: the labelled documents
(``split.labelled``), the stratified split, the model (``linear`` or ``encoder``), the predicted
probabilities on the validation and test parts, and the scorecard (``metrics``). The folder holds
``split.json`` (which documents went where), ``test_proba.npy``/``val_proba.npy`` (so a threshold or
a cell of the confusion matrix is a lookup, not a new pass), ``scorecard.json`` and the model in
``model/`` — NumPy, JSON and safetensors, no pickle. Ids are content hashes of (corpus, method, split,
settings, vectors), so the same settings on the same corpus give the same classifier.

    m = train(ws, corpus_id, ClassifierConfig(method="tfidf"))
    clf = load(ws, m.id)
    clf.predict_proba(["a new text"]), clf.explain("a new text"), clf.scorecard(threshold=0.7)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.classify import metrics
from core.classify.encoder import EncoderConfig
from core.classify.split import Split, SplitConfig, labelled, make_split
from core.corpus.store import load_documents
from core.errors import UserError
from core.jobs import NoJob, SubProgress
from core.workspace import Manifest, Workspace, atomic_write_text, package_versions, read_artifact_files

KIND = "classifier"
METHODS = {
    "tfidf": "TF-IDF + logistic regression",
    "mean_vectors": "Mean word vectors + logistic regression",
    "encoder": "Fine-tuned transformer",
}


@dataclass(frozen=True)
class ClassifierConfig:
    method: str = "tfidf"  # one of METHODS
    split: SplitConfig = field(default_factory=SplitConfig)
    vectors_id: str | None = None  # mean_vectors: the word vectors the documents are averaged from
    encoder: EncoderConfig | None = None  # encoder: how to fine-tune (None: the defaults)

    def to_dict(self) -> dict:
        d = {"method": self.method, "split": self.split.to_dict()}
        if self.method == "mean_vectors":
            d["vectors_id"] = self.vectors_id
        if self.method == "encoder":
            d["encoder"] = (self.encoder or EncoderConfig()).to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ClassifierConfig:
        encoder = EncoderConfig(**d["encoder"]) if d.get("encoder") else None
        return cls(d["method"], SplitConfig(**d["split"]), d.get("vectors_id"), encoder)

    def parents(self, corpus_id: str) -> list[str]:
        return [corpus_id] + ([self.vectors_id] if self.method == "mean_vectors" and self.vectors_id else [])


def classifier_id(corpus_id: str, config: ClassifierConfig) -> str:
    return Workspace.artifact_id(KIND, config.to_dict(), parents=config.parents(corpus_id))


def prepare(ws: Workspace, corpus_id: str, split: SplitConfig) -> tuple[list[str], Split, dict]:
    """(labelled texts, their split, report of dropped documents); ``UserError`` when no classifier can be made."""
    split.check()
    texts, labels, report = labelled(load_documents(ws, corpus_id))
    return texts, make_split(labels, split), report


class _MeanVectors:
    """The mean-vectors baseline's view of a vectors artifact: documents as the mean of their known words' unit
    vectors, found by the pipeline that made the vectors' tokens (zeros when no word is known)."""

    def __init__(self, ws: Workspace, vectors_id: str):
        from core.docmap import pipeline_of
        from core.embeddings.store import load_vectors
        from core.preprocess import Pipeline

        kv = load_vectors(ws, vectors_id)
        self.index, self.unit = kv.key_to_index, kv.get_normed_vectors()
        self.pipe = Pipeline(pipeline_of(ws, vectors_id))

    def tokenize(self, text: str) -> list[str]:
        return [t for sentence in self.pipe.process(text) for t in sentence]

    def word_vector(self, word: str):
        return self.unit[self.index[word]] if word in self.index else None

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.unit.shape[1]), np.float32)
        for i, text in enumerate(texts):
            rows = [self.index[t] for t in self.tokenize(text) if t in self.index]
            if rows:
                out[i] = self.unit[rows].mean(axis=0)
        return out


class Classifier:
    """A trained classifier with its split and scores; ``predict_proba`` and ``explain`` work on any text."""

    def __init__(self, ws: Workspace, manifest: Manifest):
        self.manifest = manifest
        self.config = ClassifierConfig.from_dict(manifest.config)
        folder = ws.path(KIND, manifest.id)
        data = read_artifact_files(ws, KIND, manifest.id, ["split.json", "test_proba.npy", "val_proba.npy"],
                                   "classifier")
        self.split = Split.from_dict(data["split.json"])
        self.classes = self.split.classes
        self.test_proba, self.val_proba = data["test_proba.npy"], data["val_proba.npy"]
        self._vectors = _MeanVectors(ws, self.config.vectors_id) if self.config.method == "mean_vectors" else None
        if self.config.method == "encoder":
            from core.classify.encoder import EncoderClassifier

            self._model = EncoderClassifier.load(folder / "model")
        else:
            from core.classify.linear import LinearModel

            self._model = LinearModel.load(folder / "model")

    @property
    def name(self) -> str:
        return self.manifest.name

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        if self._vectors is not None:
            return self._model.predict_proba(texts, embed=self._vectors.embed)
        return self._model.predict_proba(texts)

    def explain(self, text: str, target: int | None = None) -> list[tuple[str, float]]:
        """Each word of ``text`` with how much it pushed toward ``target`` (default: the predicted class)."""
        if self.config.method == "encoder":
            return self._model.explain(text, target)  # integrated gradients toward the target class
        if self._vectors is not None:
            return self._model.explain(text, target=target, word_vector=self._vectors.word_vector,
                                       tokenize=self._vectors.tokenize)
        return self._model.explain(text, target=target)

    def scorecard(self, threshold: float | None = None) -> dict:
        return metrics.scorecard(self.split.y[self.split.test], self.test_proba, self.classes, threshold)


def train(ws: Workspace, corpus_id: str, config: ClassifierConfig, ctx=None) -> Manifest:
    """Split, train, score and save; returns the manifest (at once when these settings were trained before)."""
    ctx = ctx or NoJob()
    if config.method not in METHODS:
        raise UserError(f"Unknown classifier '{config.method}'; choose one of {', '.join(METHODS)}.")
    artifact_id = classifier_id(corpus_id, config)
    if ws.exists(KIND, artifact_id):
        return ws.manifest(KIND, artifact_id)
    if config.method == "mean_vectors" and not config.vectors_id:
        raise UserError("The mean-vectors baseline averages word vectors: train or choose vectors on the Embeddings page.")
    ctx.progress(0.01, "Splitting the labelled documents")
    texts, split, report = prepare(ws, corpus_id, config.split)
    part = {name: [texts[i] for i in split.part(name)] for name in ("train", "validation", "test")}
    y = {name: split.y[split.part(name)] for name in ("train", "validation", "test")}
    ctx.check_cancelled()

    def write(folder: Path) -> dict:
        model_dir = folder / "model"
        if config.method == "encoder":
            from core.classify.encoder import train_encoder

            run = train_encoder(part["train"], y["train"], part["validation"], y["validation"], split.classes,
                                config.encoder or EncoderConfig(), model_dir, SubProgress(ctx, 0.02, 0.9))
            from core.classify.encoder import EncoderClassifier

            model, predict = EncoderClassifier.load(model_dir), None
            extra = {k: run[k] for k in ("train_seconds", "examples_per_s", "val_f1", "curve", "trainable_params")
                     if k in run}
        else:
            from core.classify.linear import train_mean_vectors, train_tfidf

            ctx.progress(0.1, f"Fitting {METHODS[config.method]} on {len(part['train']):,} documents")
            if config.method == "tfidf":
                model, predict = train_tfidf(part["train"], y["train"], split.classes, seed=config.split.seed), None
            else:
                vectors = _MeanVectors(ws, config.vectors_id)
                model = train_mean_vectors(part["train"], y["train"], split.classes, vectors.embed,
                                           seed=config.split.seed)
                predict = vectors.embed
            model.save(model_dir)
            extra = {}
        ctx.check_cancelled()
        ctx.progress(0.92, "Scoring the test part")
        proba = {name: _proba(model, part[name], predict, len(split.classes)) for name in ("validation", "test")}
        card = metrics.scorecard(y["test"], proba["test"], split.classes)
        np.save(folder / "test_proba.npy", proba["test"], allow_pickle=False)
        np.save(folder / "val_proba.npy", proba["validation"], allow_pickle=False)
        atomic_write_text(folder / "split.json", json.dumps(split.to_dict()))
        atomic_write_text(folder / "scorecard.json", json.dumps(card))
        return {"accuracy": card["accuracy"], "macro_f1": card["macro"]["f1"], "weighted_f1": card["weighted"]["f1"],
                "chance": metrics.chance(y["train"], y["test"]), "n_test": len(part["test"]),
                "n_train": len(part["train"]), "classes": split.classes, "dropped": report,
                "problems": split.problems, **extra}

    corpus = ws.manifest("corpus", corpus_id)
    manifest = ws.create(KIND, artifact_id, name=f"{_title(config)} · {corpus.name}", write=write,
                         config=config.to_dict(), parents=config.parents(corpus_id),
                         versions=package_versions("scikit-learn", "transformers", "torch", "numpy"))
    m = manifest.metrics
    ctx.progress(1.0, f"Test accuracy {m['accuracy']:.1%} (always guessing the commonest class: {m['chance']:.1%})")
    return manifest


def _title(config: ClassifierConfig) -> str:
    if config.method != "encoder":
        return METHODS[config.method]
    from core import models

    encoder = config.encoder or EncoderConfig()
    try:
        label = models.resolve(encoder.base).label
    except UserError:
        label = encoder.base
    how = "LoRA" if encoder.method == "lora" else "fully"
    return f"{label} fine-tuned {how}, {encoder.epochs} epoch{'s' * (encoder.epochs != 1)}"


def _proba(model, texts: list[str], embed, k: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, k), np.float32)
    proba = model.predict_proba(texts, embed=embed) if embed is not None else model.predict_proba(texts)
    return np.asarray(proba, dtype=np.float32)


def load(ws: Workspace, artifact_id: str) -> Classifier:
    return Classifier(ws, ws.manifest(KIND, artifact_id))


def of_corpus(ws: Workspace, corpus_id: str) -> list[Manifest]:
    """The corpus' classifiers, best test macro F1 first: the leaderboard."""
    found = [m for m in ws.list(KIND) if m.parents and m.parents[0] == corpus_id]
    return sorted(found, key=lambda m: -float(m.metrics.get("macro_f1", 0)))

