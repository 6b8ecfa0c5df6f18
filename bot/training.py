"""Train the Rasa model through the CLI, cached by a hash of the training inputs."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

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


# tqdm's bar as DIET and TED print it: "Epochs:  42%|████▏     | 21/50 [00:12<00:17, ...]"
EPOCH_BAR = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
Progress = Callable[[float], None]


def total_epochs(settings: BotSettings) -> int:
    """Sum of ``epochs`` over the pipeline and policies of config.yml (what tqdm will count)."""
    config = yaml.safe_load((settings.project_root / "config.yml").read_text()) or {}
    components = [*(config.get("pipeline") or []), *(config.get("policies") or [])]
    return sum(int(c.get("epochs", 0)) for c in components if isinstance(c, dict))


class EpochCounter:
    """Turns Rasa's tqdm output into a 0–1 fraction of all epochs of all trained components.

    Bars follow one another (DIET, then TED); a bar whose count goes back down is the next
    component's."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self._finished = 0  # epochs of the components already trained
        self._done, self._of = 0, 0  # the bar being drawn

    def feed(self, line: str) -> float | None:
        match = EPOCH_BAR.search(line)
        if match is None:
            return None
        done, of = int(match.group(1)), int(match.group(2))
        if self._of and (done < self._done or of != self._of):
            self._finished += self._of  # a new bar: the previous component is done
        self._done, self._of = done, of
        return min(1.0, (self._finished + done) / self.total)


def _stream(command: list[str], cwd: Path, on_line: Callable[[str], None]) -> tuple[int, str]:
    """Run ``command``; call ``on_line`` for every line or carriage-return segment of its
    output (tqdm redraws with \\r); return its exit code and the output's tail."""
    process = subprocess.Popen(
        command, cwd=cwd, env=rasa_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    tail: deque[str] = deque(maxlen=40)
    buffer = b""
    while chunk := os.read(process.stdout.fileno(), 4096):
        buffer += chunk
        *parts, buffer = re.split(rb"[\r\n]", buffer)
        for part in parts:
            if part.strip():
                line = part.decode(errors="replace")
                tail.append(line)
                on_line(line)
    return process.wait(), "\n".join(tail)


def train(
    settings: BotSettings, *, force: bool = False, on_progress: Progress | None = None
) -> TrainResult:
    """Train unless a model for exactly this data exists; returns the model to serve.

    ``on_progress`` receives the fraction of training epochs done (0–1), from tqdm's output."""
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
    if on_progress is None:
        code = subprocess.run(command, cwd=root, env=rasa_env(), check=False).returncode
        tail = ""
    else:
        counter = EpochCounter(total_epochs(settings))

        def on_line(line: str) -> None:
            fraction = counter.feed(line)
            if fraction is not None:
                on_progress(fraction)

        code, tail = _stream(command, root, on_line)
    if code != 0 or not target.exists():
        raise TrainingFailed(f"rasa train failed with exit code {code}: {tail[-1500:]}")
    return TrainResult(target, hash_, trained=True, seconds=time.monotonic() - started)


def latest_model(settings: BotSettings) -> Path | None:
    """The model for the current data if trained, else None."""
    target = model_path(settings, data_hash(settings))
    return target if target.exists() else None
