"""Evaluate a trained model on any Rasa NLU YAML file with `rasa test nlu`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bot.settings import BotSettings
from bot.training import rasa_env


class EvaluationFailed(Exception):
    pass


def eval_hash(nlu_file: Path) -> str:
    """What an evaluation is cached by, together with the model: the held-out file's bytes."""
    return hashlib.sha256(nlu_file.read_bytes()).hexdigest()[:16]


def evaluate(settings: BotSettings, model: Path, nlu_file: Path) -> dict[str, Any]:
    """accuracy, macro/weighted F1 and per-intent scores from Rasa's own intent report."""
    return evaluate_with_predictions(settings, model, nlu_file)[0]


def evaluate_with_predictions(
    settings: BotSettings, model: Path, nlu_file: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The summary and every held-out example's prediction (``--successes`` and the errors)."""
    if not nlu_file.is_file():
        raise EvaluationFailed(f"NLU file not found: {nlu_file}")
    with tempfile.TemporaryDirectory(prefix="tuatencion-eval-") as out:
        command = [
            str(settings.rasa_bin), "test", "nlu",
            "--nlu", str(nlu_file),
            "--model", str(model),
            "--out", out,
            "--no-plot",
            "--successes",
        ]  # fmt: skip
        completed = subprocess.run(
            command,
            cwd=settings.project_root,
            env=rasa_env(),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        report_path = Path(out) / "intent_report.json"
        if completed.returncode != 0 or not report_path.exists():
            tail = completed.stderr.decode(errors="replace")[-2000:]
            raise EvaluationFailed(
                f"rasa test nlu failed with exit code {completed.returncode}: {tail}"
            )
        report = json.loads(report_path.read_text())
        examples: list[dict[str, Any]] = []
        for name in ("intent_successes.json", "intent_errors.json"):
            path = Path(out) / name
            if path.exists():
                examples.extend(json.loads(path.read_text()))
    return summarize(report), predictions(examples)


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    aggregate = {"accuracy", "macro avg", "weighted avg", "micro avg"}
    per_intent = {
        name: {
            "precision": round(float(values["precision"]), 4),
            "recall": round(float(values["recall"]), 4),
            "f1": round(float(values["f1-score"]), 4),
            "support": int(values["support"]),
        }
        for name, values in sorted(report.items())
        if name not in aggregate and isinstance(values, dict)
    }
    return {
        "accuracy": round(float(report["accuracy"]), 4),
        "macro_f1": round(float(report["macro avg"]["f1-score"]), 4),
        "weighted_f1": round(float(report["weighted avg"]["f1-score"]), 4),
        "per_intent": per_intent,
    }


def predictions(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's per-example records → [{text, intent, predicted, confidence}], in text order."""
    rows = []
    for example in examples:
        predicted = example.get("intent_prediction") or {}
        rows.append(
            {
                "text": str(example["text"]),
                "intent": str(example["intent"]),
                "predicted": predicted.get("name"),
                "confidence": round(float(predicted.get("confidence") or 0.0), 4),
            }
        )
    return sorted(rows, key=lambda row: (row["intent"], row["text"]))
