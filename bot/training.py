"""Train the Rasa model through the CLI, cached by a hash of the training inputs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bot.settings import BotSettings


class TrainingFailed(Exception):
    pass


@dataclass
class TrainResult:
    model: Path
    data_hash: str
    trained: bool  # False when a cached model for the same data was reused
    seconds: float


def data_hash(settings: BotSettings) -> str:
    """sha256 over config, domain and every training file (path and content), order-stable."""
    digest = hashlib.sha256()
    for base in settings.training_inputs:
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in files:
            digest.update(str(path.relative_to(settings.project_root)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(settings: BotSettings, hash_: str) -> Path:
    return settings.models_dir / f"tuatencion-{hash_}.tar.gz"


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONWARNINGS", "ignore")
    env["RASA_TELEMETRY_ENABLED"] = "false"
    return env


def train(settings: BotSettings, *, force: bool = False) -> TrainResult:
    """Train unless a model for exactly this data exists; returns the model to serve."""
    hash_ = data_hash(settings)
    target = model_path(settings, hash_)
    if target.exists() and not force:
        return TrainResult(target, hash_, trained=False, seconds=0.0)
    if not settings.rasa_bin.exists():
        raise TrainingFailed(f"Rasa is not installed at {settings.rasa_bin}; run `make install`.")
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    root = settings.project_root
    started = time.monotonic()
    command = [
        str(settings.rasa_bin), "train",
        "--config", str(root / "config.yml"),
        "--domain", str(root / "domain.yml"),
        "--data", str(root / "nlu_data"),
        "--out", str(settings.models_dir),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    completed = subprocess.run(command, cwd=root, env=rasa_env(), check=False)
    if completed.returncode != 0 or not target.exists():
        raise TrainingFailed(f"rasa train failed with exit code {completed.returncode}")
    return TrainResult(target, hash_, trained=True, seconds=time.monotonic() - started)


def latest_model(settings: BotSettings) -> Path | None:
    """The model for the current data if trained, else None."""
    target = model_path(settings, data_hash(settings))
    return target if target.exists() else None
