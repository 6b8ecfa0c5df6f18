"""Settings for the bot tooling and the processes `tuatencion run` supervises."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
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

    @property
    def rasa_bin(self) -> Path:
        return self.rasa_venv / "bin" / "rasa"

    @property
    def training_inputs(self) -> list[Path]:
        root = self.project_root
        return [root / "config.yml", root / "domain.yml", root / "nlu_data"]


@lru_cache
def get_bot_settings() -> BotSettings:
    return BotSettings()
