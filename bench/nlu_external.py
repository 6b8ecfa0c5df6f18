"""External check of the NLU pipeline on a public Spanish benchmark (not the platform's domain).

Trains `config.yml`'s NLU pipeline on Facebook's multilingual task-oriented dialog data, Spanish
train split, and evaluates on its test split (and on the test split without the 333 sentences that
also occur in train), reading the data from ../shared (never copied into the repository).

    .venv/bin/python -m bench.nlu_external [--data ../shared/external/benchmarks/fb_mtod_es]
"""

from __future__ import annotations

import csv
import json
import subprocess
import tempfile
import time
from pathlib import Path

import typer
import yaml
from rich.console import Console

from bot.evaluate import summarize
from bot.settings import BotSettings
from bot.training import rasa_env

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "external" / "benchmarks" / "fb_mtod_es"
console = Console(stderr=True)


def read_pairs(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(row["text"].strip(), row["intent"]) for row in csv.DictReader(handle)]


def to_rasa_yaml(pairs: list[tuple[str, str]], path: Path) -> None:
    """Rasa NLU YAML; intent names made Rasa-safe (``alarm/set_alarm`` → ``alarm__set_alarm``)."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in pairs:
        if text:
            by_intent.setdefault(intent.replace("/", "__"), []).append(text)
    nlu = [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in dict.fromkeys(texts))}
        for intent, texts in sorted(by_intent.items())
    ]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True))


def nlu_only_config(path: Path) -> None:
    """The project's pipeline without the FallbackClassifier (it has no fallback data here)."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "FallbackClassifier"]
    config.pop("policies", None)
    path.write_text(yaml.safe_dump(config, allow_unicode=True))


def rasa(*args: str, cache: Path) -> None:
    """Run the Rasa CLI with its own empty cache, so training time is a cold, full training."""
    env = {**rasa_env(), "RASA_CACHE_DIRECTORY": str(cache)}
    subprocess.run([str(BotSettings().rasa_bin), *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def main(
    data: Path = typer.Option(DEFAULT_DATA, help="Folder with the *-es.text_intent.csv"),
) -> None:
    train = read_pairs(data / "train-es.text_intent.csv")
    test = read_pairs(data / "test-es.text_intent.csv")
    seen = {t.lower() for t, _ in train}
    test_unseen = [(t, i) for t, i in test if t.lower() not in seen]
    results: dict[str, object] = {
        "train_examples": len(train),
        "test_examples": len(test),
        "test_unseen_examples": len(test_unseen),
    }
    with tempfile.TemporaryDirectory(prefix="tuatencion-mtod-") as tmp_name:
        tmp = Path(tmp_name)
        to_rasa_yaml(train, tmp / "train.yml")
        nlu_only_config(tmp / "config.yml")
        started = time.perf_counter()
        rasa("train", "nlu", "--config", str(tmp / "config.yml"), "--nlu", str(tmp / "train.yml"),
             "--out", str(tmp), "--fixed-model-name", "mtod", cache=tmp / "cache")  # fmt: skip
        results["train_seconds"] = round(time.perf_counter() - started, 1)
        for name, pairs in (("test", test), ("test_unseen", test_unseen)):
            to_rasa_yaml(pairs, tmp / f"{name}.yml")
            out = tmp / f"out-{name}"
            rasa("test", "nlu", "--nlu", str(tmp / f"{name}.yml"), "--model",
                 str(tmp / "mtod.tar.gz"), "--out", str(out), "--no-plot",
                 cache=tmp / "cache")  # fmt: skip
            report = summarize(json.loads((out / "intent_report.json").read_text()))
            results[name] = {k: report[k] for k in ("accuracy", "macro_f1", "weighted_f1")}
    (ROOT / "docs" / "benchmarks-nlu-external.json").write_text(
        json.dumps(results, indent=2) + "\n"
    )
    console.print_json(json.dumps(results))


if __name__ == "__main__":
    typer.run(main)
