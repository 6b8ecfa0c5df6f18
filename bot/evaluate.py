"""Evaluate a trained model on any Rasa NLU YAML file with `rasa test nlu`."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bot.settings import BotSettings
from bot.training import rasa_env


class EvaluationFailed(Exception):
    pass


def evaluate(settings: BotSettings, model: Path, nlu_file: Path) -> dict[str, Any]:
    """accuracy, macro/weighted F1 and per-intent F1 from Rasa's own intent report."""
    if not nlu_file.is_file():
        raise EvaluationFailed(f"NLU file not found: {nlu_file}")
    with tempfile.TemporaryDirectory(prefix="tuatencion-eval-") as out:
        command = [
            str(settings.rasa_bin), "test", "nlu",
            "--nlu", str(nlu_file),
            "--model", str(model),
            "--out", out,
            "--no-plot",
        ]  # fmt: skip
        completed = subprocess.run(command, cwd=settings.project_root, env=rasa_env(), check=False)
        report_path = Path(out) / "intent_report.json"
        if completed.returncode != 0 or not report_path.exists():
            raise EvaluationFailed(f"rasa test nlu failed with exit code {completed.returncode}")
        report = json.loads(report_path.read_text())
    return summarize(report)


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    aggregate = {"accuracy", "macro avg", "weighted avg", "micro avg"}
    per_intent = {
        name: round(float(values["f1-score"]), 4)
        for name, values in sorted(report.items())
        if name not in aggregate and isinstance(values, dict)
    }
    return {
        "accuracy": round(float(report["accuracy"]), 4),
        "macro_f1": round(float(report["macro avg"]["f1-score"]), 4),
        "weighted_f1": round(float(report["weighted avg"]["f1-score"]), 4),
        "per_intent": per_intent,
    }
