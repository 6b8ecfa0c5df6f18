"""Fit the answer-confidence model and choose its threshold by measurement.

Examples are citizen questions with their relevant procedures (the evaluation set) and
questions the inventory does not cover (relevant list empty). A question is a positive when what
the bot would show (the best card and the runners-up close enough to be offered as alternatives)
includes a relevant procedure. The threshold is the lowest probability at which answers are
right at least ``target_precision`` of the time, read off out-of-fold predictions so the figure
is not the model grading its own homework.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from knowledge.confidence import FEATURES, ConfidenceModel, Vocabulary, features, shown
from knowledge.evaluation import Query
from knowledge.search import Searcher

FOLDS = 5


@dataclass
class Examples:
    rows: np.ndarray  # one row of FEATURES per question that had results
    labels: np.ndarray  # 1 when the card or an offered alternative is relevant
    in_scope: np.ndarray  # the question has a relevant procedure in the inventory
    without_results: int  # questions with no result at all (never answered)


def collect(
    searcher: Searcher, vocabulary: Vocabulary, queries: Sequence[Query], margin: float
) -> Examples:
    rows, labels, in_scope = [], [], []
    empty = 0
    for query in queries:
        hits = searcher.search(query.query, k=5)
        if not hits:
            empty += 1
            continue
        values = features(query.query, hits, vocabulary)
        rows.append([values[name] for name in FEATURES])
        labels.append(int(any(h.procedure.id in query.relevant for h in shown(hits, margin))))
        in_scope.append(bool(query.relevant))
    return Examples(
        np.asarray(rows, dtype=np.float64),
        np.asarray(labels, dtype=np.int64),
        np.asarray(in_scope, dtype=bool),
        empty,
    )


def choose_threshold(
    probabilities: np.ndarray, labels: np.ndarray, target_precision: float
) -> float:
    """The lowest threshold whose answered set reaches the target precision (1.0 if none)."""
    order = np.argsort(-probabilities, kind="stable")
    correct = np.cumsum(labels[order])
    answered = np.arange(1, len(order) + 1)
    precision = correct / answered
    # The answered set at threshold probabilities[order[i]] is order[: i + 1] (ties included).
    best = None
    for i in range(len(order)):
        if i + 1 < len(order) and probabilities[order[i + 1]] == probabilities[order[i]]:
            continue
        if precision[i] >= target_precision:
            best = i
    return float(probabilities[order[best]]) if best is not None else 1.0


def fit(examples: Examples, target_precision: float, seed: int = 0) -> ConfidenceModel:
    if len(set(examples.labels.tolist())) < 2 or min(np.bincount(examples.labels)) < FOLDS:
        raise ValueError(
            f"calibration needs at least {FOLDS} right and {FOLDS} wrong best answers; "
            "add questions (and questions outside the inventory)"
        )
    classifier = LogisticRegression(C=1.0, max_iter=2000)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    out_of_fold = cross_val_predict(
        classifier, examples.rows, examples.labels, cv=folds, method="predict_proba"
    )[:, 1]
    threshold = choose_threshold(out_of_fold, examples.labels, target_precision)
    classifier.fit(examples.rows, examples.labels)
    answered = out_of_fold >= threshold
    positives = examples.labels == 1
    report: dict[str, object] = {
        "target_precision": target_precision,
        "questions": int(len(examples.labels) + examples.without_results),
        "in_scope": int(examples.in_scope.sum()),
        "out_of_scope": int((~examples.in_scope).sum()),
        "without_results": examples.without_results,
        "best_is_right": int(positives.sum()),
        "out_of_fold": {
            "precision": _ratio(int((answered & positives).sum()), int(answered.sum())),
            "right_answers_kept": _ratio(int((answered & positives).sum()), int(positives.sum())),
            "in_scope_answered": _ratio(
                int((answered & examples.in_scope).sum()), int(examples.in_scope.sum())
            ),
            "out_of_scope_answered": _ratio(
                int((answered & ~examples.in_scope).sum()), int((~examples.in_scope).sum())
            ),
        },
    }
    return ConfidenceModel(
        coefficients=[float(c) for c in classifier.coef_[0]],
        intercept=float(classifier.intercept_[0]),
        threshold=round(threshold, 4),
        report=report,
    )


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0
