"""The scorecard of a classifier on held-out documents, as plain JSON-safe numbers.

Everything a metric library computes comes from scikit-learn (``zero_division=0``: a class never
predicted scores 0 precision, not a warning). What it lacks is computed here: the top-label
reliability table and its expected calibration error, the thinning of curves, the chance line.

Classes are integer indices ``0..k-1`` into ``classes``; ``proba`` is (n, k) and rows sum to 1.
For two classes, the positive class is ``classes[1]`` and a ``threshold`` on its probability may
replace the argmax.
"""

from __future__ import annotations

import numpy as np

# scikit-learn is imported where a score is computed, not here: the Classify page imports this module
# on its first render, and sklearn.metrics costs ~1 s cold there.

BINS = 10  # equal-width confidence bins of the reliability table
MAX_POINTS = 200  # most points kept on a ROC or precision-recall curve


def predict(proba, threshold: float | None = None) -> np.ndarray:
    """Class index per row: the argmax, or for two classes ``proba[:, 1] >= threshold`` when one is given."""
    proba = np.asarray(proba)
    if threshold is None:
        return np.argmax(proba, axis=1).astype(np.int64)
    if proba.shape[1] != 2:
        raise ValueError(f"A threshold needs exactly two classes, not {proba.shape[1]}.")
    return (proba[:, 1] >= threshold).astype(np.int64)


def chance(y_train, y_test) -> float:
    """Test accuracy of always answering the training set's most frequent class (ties: the first)."""
    y_train, y_test = np.asarray(y_train, dtype=np.int64), np.asarray(y_test, dtype=np.int64)
    if len(y_train) == 0 or len(y_test) == 0:
        return 0.0
    majority = int(np.argmax(np.bincount(y_train)))
    return float(np.mean(y_test == majority))


def _floats(values) -> list[float]:
    return [float(v) for v in values]


def _thin(n: int, most: int = MAX_POINTS) -> np.ndarray:
    """At most ``most`` positions out of ``n``, evenly spread, first and last kept."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


def _prf(y_true, y_pred, labels, average) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def reliability(y_true, y_pred, proba) -> tuple[list[dict], float]:
    """Top-label calibration: per confidence bin, mean confidence vs accuracy; and the ECE.

    Confidence is the probability given to the predicted class. Empty bins have ``count`` 0 and
    ``None`` for confidence and accuracy. ECE = sum over bins of (count / n) * |accuracy - confidence|.
    """
    confidence = proba[np.arange(len(y_pred)), y_pred]
    correct = (y_pred == y_true).astype(float)
    which = np.clip((confidence * BINS).astype(np.int64), 0, BINS - 1)
    rows, ece = [], 0.0
    for b in range(BINS):
        mask = which == b
        count = int(mask.sum())
        row = {"lo": b / BINS, "hi": (b + 1) / BINS, "confidence": None, "accuracy": None, "count": count}
        if count:
            row["confidence"] = float(confidence[mask].mean())
            row["accuracy"] = float(correct[mask].mean())
            ece += count / len(y_true) * abs(row["accuracy"] - row["confidence"])
        rows.append(row)
    return rows, float(ece)


def _curves(y_true, score) -> dict:
    """ROC and precision-recall for the positive class (index 1); None where the test has one class only."""
    if len(np.unique(y_true)) < 2:
        return {"roc": None, "pr": None}
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    fpr, tpr, roc_thresholds = roc_curve(y_true, score)
    keep = _thin(len(fpr))
    # sklearn's first ROC threshold is +inf ("predict nothing positive"); 1.0 does the same for probabilities
    roc_thresholds = np.nan_to_num(roc_thresholds, posinf=1.0, neginf=0.0)
    roc = {
        "fpr": _floats(fpr[keep]),
        "tpr": _floats(tpr[keep]),
        "thresholds": _floats(np.minimum(roc_thresholds[keep], 1.0)),
        "auc": float(roc_auc_score(y_true, score)),
    }
    precision, recall, pr_thresholds = precision_recall_curve(y_true, score)
    keep = _thin(len(pr_thresholds))
    # as in sklearn, precision and recall carry one more point than thresholds: the final (recall 0, precision 1)
    pr = {
        "precision": _floats(precision[keep]) + [float(precision[-1])],
        "recall": _floats(recall[keep]) + [float(recall[-1])],
        "thresholds": _floats(pr_thresholds[keep]),
        "ap": float(average_precision_score(y_true, score)),
    }
    return {"roc": roc, "pr": pr}


def interval(successes: int, n: int, z: float = 1.96) -> list[float]:
    """The 95 % Wilson score interval of a proportion: how far a test accuracy could move on another sample of
    the same size (40 test documents at 60 % → 45–74 %), the first thing to ask of a small test part."""
    if n == 0:
        return [0.0, 1.0]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def scorecard(y_true, proba, classes: list[str], threshold: float | None = None) -> dict:
    """Everything the Classify page shows about predictions on one part, JSON-serialisable.

    Keys: n, classes, threshold, accuracy, accuracy_ci (95 % Wilson), macro / weighted {precision, recall, f1}, per_class
    [{class, precision, recall, f1, support}], confusion (rows true, columns predicted),
    reliability [{lo, hi, confidence, accuracy, count}], ece, log_loss; and for two classes
    roc {fpr, tpr, thresholds, auc} and pr {precision, recall, thresholds, ap} (None when the
    part holds a single class), positive class ``classes[1]``.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support

    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    k = len(classes)
    if proba.ndim != 2 or proba.shape != (len(y_true), k):
        raise ValueError(f"proba must be ({len(y_true)}, {k}), not {proba.shape}.")
    if len(y_true) == 0:
        raise ValueError("No documents to score.")
    labels = list(range(k))
    y_pred = predict(proba, threshold)
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0)
    table, ece = reliability(y_true, y_pred, proba)
    card = {
        "n": len(y_true),
        "classes": list(classes),
        "threshold": None if threshold is None else float(threshold),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "accuracy_ci": interval(int((y_true == y_pred).sum()), len(y_true)),
        "macro": _prf(y_true, y_pred, labels, "macro"),
        "weighted": _prf(y_true, y_pred, labels, "weighted"),
        "per_class": [
            {"class": c, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
            for i, c in enumerate(classes)
        ],
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).astype(int).tolist(),
        "reliability": table,
        "ece": ece,
        "log_loss": float(log_loss(y_true, proba / proba.sum(axis=1, keepdims=True), labels=labels)),  # float32 rows drift
    }
    if k == 2:
        card.update(_curves(y_true, proba[:, 1]))
    return card
