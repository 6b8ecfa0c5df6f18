"""Typed settings for the web app (gateway + desk). Read only here; validated at start-up."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev"}


class Settings(BaseSettings):
    """Everything the web app needs; environment variables prefixed ``TUA_``."""

    model_config = SettingsConfigDict(env_prefix="TUA_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    # TUA_DATABASE_URL, or the conventional DATABASE_URL; SQLite needs no set-up.
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/tuatencion.db",
        validation_alias=AliasChoices("TUA_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    var_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Rasa server (its HTTP API listens on loopback only, protected by a token).
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr | None = None
    rasa_timeout_seconds: float = 10.0
    # Under `tuatencion run`, the file naming the Rasa that serves the promoted model (it moves
    # to another port on a blue-green model swap, see bot/swap.py); it overrides rasa_url.
    rasa_endpoint_file: Path | None = None
    # A retrain asked from the desk runs in a process the app starts
    # (`tuatencion modelo reentrenar --job ID`); False: jobs are only queued, for a worker
    # started elsewhere (a training machine) with that same command.
    retrain_launch: bool = True
    # What the bot understood of each typed message, kept masked for the content teams
    # (connectors/nlu_capture.py). Rasa's parse is read once a conversation has been quiet for
    # ``nlu_parse_quiet_seconds`` (or its oldest waiting turn is ``…_max_wait_seconds`` old),
    # looking every ``nlu_parse_interval_seconds``.
    nlu_capture: bool = True
    nlu_parse_interval_seconds: float = Field(default=10.0, gt=0)
    nlu_parse_quiet_seconds: float = Field(default=30.0, ge=0)
    nlu_parse_max_wait_seconds: float = Field(default=300.0, ge=0)

    # Desk authentication.
    jwt_secret: SecretStr | None = None
    jwt_ttl_minutes: int = Field(default=12 * 60, ge=5)

    # Where the action server reaches this app's self-service API (loopback in development),
    # and how long the per-conversation token the gateway hands the bot is valid.
    internal_url: str = "http://127.0.0.1:8000"
    self_service_token_minutes: int = Field(default=120, ge=5)

    # Limits on citizen input.
    max_message_chars: int = Field(default=4000, ge=100)
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    flood_messages_per_minute: int = Field(default=20, ge=1)  # per channel identity

    # Provider channels (Telegram, WhatsApp, voice, email). The public URL is what providers
    # call and sign (Twilio signs the exact URL it requested).
    public_url: str = "http://127.0.0.1:8000"
    # Keys the HMAC of provider user ids (chat ids, phone numbers, emails); in development a
    # random one is kept under ``var_dir``. Changing it splits every citizen from their past.
    identity_secret: SecretStr | None = None
    # A messaging-channel conversation the bot holds starts afresh after this long idle.
    conversation_idle_hours: float = Field(default=24.0, gt=0)
    # The persistent outbox: attempts before a delivery is marked failed, and the backoff.
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_seconds: float = Field(default=2.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=600.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            for name in ("jwt_secret", "rasa_token", "identity_secret"):
                value = getattr(self, name)
                if value is None or value.get_secret_value() in PLACEHOLDER_SECRETS:
                    raise ValueError(
                        f"TUA_{name.upper()} must be set to a real secret in production"
                    )
        return self

    def jwt_key(self) -> str:
        """The JWT signing key; in development a random one is kept under ``var_dir``."""
        return self._secret(self.jwt_secret, "jwt_secret")

    def identity_key(self) -> bytes:
        """The key of channel identities' HMAC (see ``connectors.identities``)."""
        return self._secret(self.identity_secret, "identity_secret").encode()

    def _secret(self, configured: SecretStr | None, name: str) -> str:
        if configured is not None:
            return configured.get_secret_value()
        path = self.var_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
