"""Where the knowledge base comes from and how it answers (environment variables ``TUA_KB_*``).

The shipped feeds are sample data; a deployment points these paths at its real exports
(procedure inventory, DIR3 units, offices) and at its own embedding model.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.dense import DEFAULT_MODEL
from knowledge.search import DEFAULT_EXPANSION_WEIGHT, DEFAULT_LEXICAL_WEIGHT

PACKAGE = Path(__file__).resolve().parent
DATA = PACKAGE / "data"
ROOT = PACKAGE.parent


class KnowledgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUA_KB_", env_file=".env", extra="ignore")

    inventory: Path = DATA / "inventory.jsonl"
    units: Path = DATA / "units.jsonl"
    offices: Path = DATA / "offices.jsonl"
    geo_dir: Path = DATA / "geo"
    # Built (or rebuilt when the inventory changes) on first use.
    index_dir: Path = ROOT / "var" / "knowledge-index"
    model: str = DEFAULT_MODEL
    lexical_weight: float = Field(default=DEFAULT_LEXICAL_WEIGHT, ge=0.0, le=1.0)
    expansion_weight: float = Field(default=DEFAULT_EXPANSION_WEIGHT, ge=0.0, le=1.0)
    # Answer confidence model written by `tuatencion knowledge calibrate`.
    calibration: Path = PACKAGE / "calibration.json"
    # Below this estimated probability that the best procedure is right, offer a person.
    answer_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # Runners-up are offered as alternatives when their fused score is this close to the best.
    close_score_margin: float = Field(default=0.08, ge=0.0, le=1.0)
    # Torch/FAISS threads once the index is loaded (0: one per core). One is fastest under load.
    query_threads: int = Field(default=1, ge=0, le=64)
    timezone: str = "Europe/Madrid"
    # Load the index and the model when a process starts rather than on the first question.
    warm_up: bool = True


@lru_cache
def get_knowledge_settings() -> KnowledgeSettings:
    return KnowledgeSettings()
