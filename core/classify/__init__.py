"""Classify: train a classifier on a corpus' labels and score it honestly. The split (``split.py``), the
scikit-learn baselines (``linear.py``), the fine-tuned transformer (``encoder.py``), the scorecard
(``metrics.py``) and the artifact that ties them together (``store.py``)."""

from core.classify.encoder import EncoderConfig, estimate_seconds
from core.classify.split import SplitConfig
from core.classify.store import KIND, METHODS, Classifier, ClassifierConfig, classifier_id, load, of_corpus, prepare, train

__all__ = ["KIND", "METHODS", "Classifier", "ClassifierConfig", "EncoderConfig", "SplitConfig", "classifier_id",
           "estimate_seconds", "load", "of_corpus", "prepare", "train"]
