"""Training the question model from the shipped corpus and, per deployment, the officers'
feedback (false alarms and misses). Needs scikit-learn, imported only here and only when a
model is trained; the bot itself reads the result with ``questions.classifier``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from linli.questions.classifier import Classifier, Head, features

# Inverse regularisation per head, chosen by grouped cross-validation on the train split only
# (out-of-fold F1 for the question head, false alarms at the urgent recall for the other).
C_QUESTION = 4.0
C_URGENT = 16.0
URGENT_RECALL = 0.95  # the urgent threshold keeps at least this out-of-fold recall
FOLDS = 5
FEEDBACK_WEIGHT = 3.0  # an officer's correction counts as much as three corpus lines
MIN_WEIGHT = 1e-4  # weights smaller than this are left out of the file


@dataclass(frozen=True)
class Example:
    """One labelled message. ``urgent`` None: unknown (an officer's ``!flag`` without
    ``urgent``), so the example trains the question head only."""

    text: str
    question: bool
    urgent: bool | None
    group: str
    weight: float = 1.0
    kind: str = ""
    topic: str = ""
    mention: bool = False
    split: str = "train"


def read_corpus(text: str) -> list[Example]:
    """The corpus's JSON lines as examples (both splits; filter on ``split``)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        out.append(Example(
            text=row["text"], question=bool(row["question"]), urgent=bool(row["urgent"]),
            group=row["group"], kind=row["kind"], topic=row.get("topic", ""),
            mention=bool(row.get("mention")), split=row.get("split", "train"),
        ))
    return out


def _fit(rows: Sequence[dict[str, float]], labels: Sequence[int],
         weights: Sequence[float], c: float) -> tuple[Any, Any]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = DictVectorizer()
    x = vec.fit_transform(rows)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, solver="lbfgs")
    model.fit(x, list(labels), sample_weight=list(weights))
    return vec, model


def _head(vec: Any, model: Any, threshold: float) -> Head:
    names = vec.get_feature_names_out()
    coef = model.coef_[0]
    weights = {str(n): round(float(w), 5) for n, w in zip(names, coef, strict=True)
               if abs(w) >= MIN_WEIGHT}
    return Head(round(float(model.intercept_[0]), 5), weights, round(threshold, 4))


def _out_of_fold(rows: Sequence[dict[str, float]], labels: Sequence[int],
                 weights: Sequence[float], groups: Sequence[str], c: float) -> list[float]:
    """Probabilities for each example from models that never saw its group."""
    from sklearn.model_selection import GroupKFold

    n_groups = len(set(groups))
    folds = min(FOLDS, n_groups)
    probs = [0.0] * len(rows)
    if folds < 2 or len(set(labels)) < 2:
        return probs
    for train_idx, test_idx in GroupKFold(n_splits=folds).split(rows, labels, groups):
        tl = [labels[i] for i in train_idx]
        if len(set(tl)) < 2:
            continue
        vec, model = _fit([rows[i] for i in train_idx], tl, [weights[i] for i in train_idx], c)
        p = model.predict_proba(vec.transform([rows[i] for i in test_idx]))[:, 1]
        for i, pi in zip(test_idx, p, strict=True):
            probs[i] = float(pi)
    return probs


def _best_f1_threshold(probs: Sequence[float], labels: Sequence[int]) -> float:
    best, best_f1 = 0.5, -1.0
    for step in range(20, 81):
        t = step / 100
        tp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and y)
        fp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and not y)
        fn = sum(1 for p, y in zip(probs, labels, strict=True) if p < t and y)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1 + 1e-9:
            best, best_f1 = t, f1
    return best


def _recall_threshold(probs: Sequence[float], labels: Sequence[int], recall: float) -> float:
    positives = sorted((p for p, y in zip(probs, labels, strict=True) if y), reverse=True)
    if not positives:
        return 0.5
    keep = max(1, int(len(positives) * recall + 0.9999))
    return max(0.05, min(0.5, positives[keep - 1] - 1e-6))


def train(examples: Iterable[Example], info: dict[str, Any] | None = None) -> Classifier:
    """Fit both heads on ``examples``; thresholds from out-of-fold predictions (grouped by
    template or feedback item, so a threshold is not tuned on lines the model has seen)."""
    data = list(examples)
    feats = [features(e.text) for e in data]
    groups = [e.group for e in data]
    weights = [e.weight for e in data]
    q_labels = [int(e.question) for e in data]
    q_probs = _out_of_fold(feats, q_labels, weights, groups, C_QUESTION)
    q_threshold = _best_f1_threshold(q_probs, q_labels)
    vec, model = _fit(feats, q_labels, weights, C_QUESTION)
    question = _head(vec, model, q_threshold)

    known = [i for i, e in enumerate(data) if e.urgent is not None]
    u_feats = [feats[i] for i in known]
    u_labels = [int(bool(data[i].urgent)) for i in known]
    u_weights = [weights[i] for i in known]
    u_probs = _out_of_fold(u_feats, u_labels, u_weights, [groups[i] for i in known], C_URGENT)
    u_threshold = _recall_threshold(u_probs, u_labels, URGENT_RECALL)
    vec, model = _fit(u_feats, u_labels, u_weights, C_URGENT)
    urgent = _head(vec, model, u_threshold)
    meta = {"examples": len(data), "urgent_examples": len(known), **(info or {})}
    return Classifier(question, urgent, meta)
