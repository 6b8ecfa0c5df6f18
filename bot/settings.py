"""Settings for the bot tooling and the processes `tuatencion run` supervises."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUA_", env_file=".env", extra="ignore")

    project_root: Path = ROOT
    rasa_venv: Path = ROOT / ".venv-rasa"
    models_dir: Path = ROOT / "bot" / "models"
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    rasa_token: SecretStr | None = None
    # SQLite file of Rasa's trackers, shared by the old and the new Rasa during a model swap
    # (`tuatencion run` sets it under var/); None: in-memory trackers (tests, one server).
    tracker_db: Path | None = None

    # Retraining (`tuatencion modelo reentrenar`): the held-out file both models are compared
    # on (default: tests/rasa/nlu_eval.yml under project_root) and the gate's margins.
    eval_nlu: Path | None = None
    max_intent_f1_drop: float = Field(default=0.05, ge=0, le=1)
    macro_f1_tolerance: float = Field(default=0.0, ge=0, le=1)
    # A training job whose heartbeat is older than this is taken for dead (marked failed).
    training_job_stale_seconds: float = Field(default=120.0, ge=10)
    # Blue-green swap under `tuatencion run`: how often the supervisor looks for a newly
    # promoted model, and how long the old Rasa keeps running after the switch (requests in
    # flight finish on it).
    swap_poll_seconds: float = Field(default=3.0, gt=0)
    swap_drain_seconds: float = Field(default=15.0, ge=0)

    @property
    def rasa_bin(self) -> Path:
        return self.rasa_venv / "bin" / "rasa"

    @property
    def eval_file(self) -> Path:
        return self.eval_nlu or self.project_root / "tests" / "rasa" / "nlu_eval.yml"

    @property
    def training_inputs(self) -> list[Path]:
        root = self.project_root
        return [root / "config.yml", root / "domain.yml", root / "nlu_data"]


@lru_cache
def get_bot_settings() -> BotSettings:
    return BotSettings()
