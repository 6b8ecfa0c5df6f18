"""What an annotator may choose: the intents and entities of ``domain.yml``, read from the file
(the domain is the source of truth; a renamed intent must not survive in a hard-coded list)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

FALLBACK_INTENT = "nlu_fallback"  # Rasa's FallbackClassifier: a prediction, never an annotation


@dataclass(frozen=True)
class Catalogue:
    intents: tuple[str, ...]
    entities: tuple[str, ...]


def _names(items: object) -> tuple[str, ...]:
    """Domain lists hold names or one-key mappings (``- informar_dato: {use_entities: []}``)."""
    names: list[str] = []
    for item in items or []:  # type: ignore[attr-defined]
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and len(item) == 1:
            names.append(str(next(iter(item))))
    return tuple(names)


@lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> Catalogue:
    domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    intents = tuple(name for name in _names(domain.get("intents")) if name != FALLBACK_INTENT)
    return Catalogue(intents=intents, entities=_names(domain.get("entities")))


def load(domain_file: Path) -> Catalogue:
    """The catalogue of ``domain_file``, re-read when the file changes."""
    return _read(domain_file, domain_file.stat().st_mtime_ns)
