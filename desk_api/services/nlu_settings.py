"""Settings of the annotation inbox and the export; environment variables ``TUA_NLU_REVIEW_*``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class NluReviewSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUA_NLU_REVIEW_", env_file=".env", extra="ignore")

    # Below this confidence a prediction is «Baja confianza» and rises in the inbox.
    low_confidence: float = Field(default=0.7, gt=0, le=1)
    # How long an item handed out by «siguiente» stays reserved for its annotator.
    claim_minutes: int = Field(default=10, ge=1, le=240)
    # Char n-gram TF-IDF cosine from which two examples are near-duplicates.
    near_duplicate: float = Field(default=0.9, gt=0, le=1)
    # The repository whose domain.yml, nlu_data/ and held-out set the export reads and writes.
    project_root: Path = ROOT
    # «Hechas hoy» counts days in Spain.
    timezone: str = "Europe/Madrid"

    @property
    def domain_file(self) -> Path:
        return self.project_root / "domain.yml"

    @property
    def nlu_dir(self) -> Path:
        return self.project_root / "nlu_data"

    @property
    def export_file(self) -> Path:
        return self.project_root / "nlu_data" / "nlu" / "anotaciones.yml"

    @property
    def held_out_file(self) -> Path:
        return self.project_root / "tests" / "rasa" / "nlu_eval.yml"


@lru_cache
def get_settings() -> NluReviewSettings:
    return NluReviewSettings()
