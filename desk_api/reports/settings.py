"""The accuracy reports' settings; environment variables prefixed ``TUA_REPORTS_``."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk_api.reports.clustering import Method


class ReportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUA_REPORTS_", env_file=".env", extra="ignore")

    # How unanswered questions are grouped: "tfidf" (character n-grams) or "minilm".
    clustering: Method = "tfidf"
    # The most recent unanswered messages that are clustered (the count covers all of them).
    unanswered_cap: int = Field(default=2000, ge=10, le=20000)
    top_clusters: int = Field(default=10, ge=1, le=50)
    top_procedures: int = Field(default=15, ge=1, le=100)


@lru_cache
def get_settings() -> ReportSettings:
    return ReportSettings()
