"""The Rasa project itself: data validation, test stories, evaluation command, domain contract."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import training
from bot.evaluate import summarize
from bot.settings import BotSettings

pytestmark = pytest.mark.rasa
ROOT = Path(__file__).resolve().parents[2]
INTENTS = [
    "saludo", "despedida", "agradecimiento", "afirmar", "negar", "pagar_tasa_itv",
    "consultar_directorio", "buscar_oficina", "registro_miespacio", "presentar_queja",
    "presentar_sugerencia", "informacion_tramite", "estado_expediente", "estado_solicitud",
    "hablar_con_agente", "horario_atencion", "participacion", "fuera_de_ambito", "bot_challenge",
    "dar_codigo", "reenviar_codigo", "informar_dato",
]  # fmt: skip


def rasa(*args: str) -> subprocess.CompletedProcess[str]:
    settings = BotSettings()
    return subprocess.run(
        [str(settings.rasa_bin), *args],
        cwd=ROOT,
        env=training.rasa_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_domain_has_exactly_the_contract_intents() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    assert sorted(domain["intents"]) == sorted(INTENTS)


def test_every_intent_has_at_least_30_examples() -> None:
    counts: dict[str, int] = {}
    for path in (ROOT / "nlu_data" / "nlu").glob("*.yml"):
        for item in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in item:
                examples = [line for line in item["examples"].splitlines() if line.strip()]
                counts[item["intent"]] = counts.get(item["intent"], 0) + len(examples)
    assert {i: counts.get(i, 0) for i in INTENTS if counts.get(i, 0) < 30} == {}


def test_every_custom_action_has_a_class_and_vice_versa() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    declared = {a for a in domain.get("actions", []) if a.startswith(("action_", "validate_"))}
    implemented = set()
    for path in (ROOT / "actions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "name":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Constant):
                        implemented.add(ret.value.value)
    assert declared == implemented


def test_rasa_data_validate_passes() -> None:
    result = rasa(
        "data", "validate", "--domain", "domain.yml", "--data", "nlu_data", "--config", "config.yml"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_rasa_test_stories_pass(tmp_path: Path) -> None:
    model = training.train(BotSettings()).model
    result = rasa(
        "test", "core",
        "--stories", "tests/rasa/test_stories.yml",
        "--model", str(model),
        "--out", str(tmp_path),
        "--e2e",  # without it Rasa trusts the intent labels and never runs the NLU
        "--fail-on-prediction-errors",
        "--no-plot",
    )  # fmt: skip
    failed = (tmp_path / "failed_test_stories.yml").read_text() if result.returncode else ""
    assert result.returncode == 0, failed or result.stderr[-3000:]


def evaluate_cli(nlu_file: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desk_api.cli", "evaluate", nlu_file],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_evaluate_command_prints_json_last() -> None:
    result = evaluate_cli("tests/rasa/nlu_eval.yml")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {"accuracy", "macro_f1", "weighted_f1", "per_intent"}
    assert set(report["per_intent"]) >= set(INTENTS)
    assert report["accuracy"] >= 0.85, report


def test_evaluate_command_refuses_a_missing_file() -> None:
    result = evaluate_cli("no/such/file.yml")
    assert result.returncode == 2 and "NLU file not found" in result.stderr


def test_summarize_reads_rasa_intent_report() -> None:
    report = {
        "saludo": {"precision": 1.0, "recall": 0.5, "f1-score": 2 / 3, "support": 2},
        "negar": {"precision": 0.5, "recall": 1.0, "f1-score": 2 / 3, "support": 1},
        "accuracy": 2 / 3,
        "macro avg": {"f1-score": 2 / 3},
        "weighted avg": {"f1-score": 2 / 3},
    }
    assert summarize(report) == {
        "accuracy": 0.6667,
        "macro_f1": 0.6667,
        "weighted_f1": 0.6667,
        "per_intent": {
            "negar": {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1},
            "saludo": {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2},
        },
    }
