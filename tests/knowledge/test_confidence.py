"""The answer-confidence model: threshold choice, fitting, and what the shipped model does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge.calibration import Examples, choose_threshold, fit
from knowledge.confidence import FEATURES, ConfidenceModel
from knowledge.settings import PACKAGE, KnowledgeSettings


def test_threshold_is_the_lowest_that_keeps_the_precision() -> None:
    probabilities = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = np.array([1, 1, 1, 0, 1, 0, 0])
    # Answering down to 0.6 gives 4 right of 5 (0.8); down to 0.8 gives 3 of 3.
    assert choose_threshold(probabilities, labels, 0.8) == 0.6
    assert choose_threshold(probabilities, labels, 0.9) == 0.8
    assert choose_threshold(probabilities, np.zeros(7, dtype=int), 0.5) == 1.0


def test_tied_probabilities_are_answered_together() -> None:
    probabilities = np.array([0.9, 0.7, 0.7, 0.2])
    labels = np.array([1, 1, 0, 0])
    # At 0.7 both tied questions are answered: 2 of 3 right (never 2 of 2).
    assert choose_threshold(probabilities, labels, 0.65) == 0.7
    assert choose_threshold(probabilities, labels, 0.7) == 0.9


def test_fit_separates_right_from_wrong_best_answers() -> None:
    rng = np.random.default_rng(1)
    right = rng.normal(0.8, 0.08, size=(60, len(FEATURES)))
    wrong = rng.normal(0.3, 0.08, size=(60, len(FEATURES)))
    examples = Examples(
        rows=np.vstack([right, wrong]),
        labels=np.array([1] * 60 + [0] * 60),
        in_scope=np.array([True] * 90 + [False] * 30),
        without_results=0,
    )
    model = fit(examples, target_precision=0.9)
    assert model.report["out_of_fold"]["precision"] >= 0.9  # type: ignore[index]
    high = dict(zip(FEATURES, [0.8] * len(FEATURES), strict=True))
    low = dict(zip(FEATURES, [0.3] * len(FEATURES), strict=True))
    assert model.probability(high) > model.threshold > model.probability(low)


def test_fit_refuses_too_few_wrong_answers() -> None:
    examples = Examples(
        np.ones((20, len(FEATURES))), np.array([1] * 18 + [0] * 2), np.ones(20, bool), 0
    )
    with pytest.raises(ValueError, match="at least 5 right and 5 wrong"):
        fit(examples, 0.85)


def test_a_model_for_other_features_or_a_broken_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps({"coefficients": [1.0], "intercept": 0.0, "threshold": 0.5, "features": ["x"]})
    )
    with pytest.raises(ValueError, match="run `tuatencion knowledge calibrate` again"):
        ConfidenceModel.load(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="unreadable confidence model"):
        ConfidenceModel.load(broken)
    with pytest.raises(ValueError, match="unreadable"):
        ConfidenceModel.load(tmp_path / "missing.json")


def test_the_shipped_model_was_fitted_for_its_precision_target() -> None:
    model = ConfidenceModel.load(KnowledgeSettings().calibration)
    report = model.report
    out_of_fold = report["out_of_fold"]
    assert isinstance(out_of_fold, dict)
    assert out_of_fold["precision"] >= report["target_precision"]
    # Fitted on the evaluation sets as they are now: adding questions means calibrating again.
    for key, name in (("in_scope", "queries.jsonl"), ("out_of_scope", "out_of_scope.jsonl")):
        lines = (PACKAGE / "eval" / name).read_text(encoding="utf-8").splitlines()
        assert int(str(report[key])) == sum(1 for line in lines if line.strip()), key
    assert 0.0 < model.threshold < 1.0
