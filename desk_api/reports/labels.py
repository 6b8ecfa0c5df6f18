"""How codes are shown to people: channels, hand-off reasons, procedures (by their title)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from connectors.channels import CHANNEL_NAMES
from knowledge.feeds import Procedure, load_feed
from knowledge.settings import KnowledgeSettings

REASON_LABELS = {
    "citizen_request": "Lo pidió el ciudadano",
    "low_confidence": "El asistente no entendió",
    "bot_unavailable": "El asistente no estaba disponible",
    "direct_to_desk": "Canal sin asistente: directo a atención",
    "desconocido": "Motivo no registrado",
}


def channel(code: str) -> str:
    return CHANNEL_NAMES.get(code, code)


def reason(code: str) -> str:
    return REASON_LABELS.get(code, code)


@lru_cache(maxsize=2)
def procedure_titles(inventory: Path | None = None) -> dict[str, str]:
    """Procedure id → title, from the knowledge inventory (read once per process)."""
    path = inventory or KnowledgeSettings().inventory
    return {p.id: p.title for p in load_feed(path, Procedure).records}


def procedure(code: str) -> str:
    return procedure_titles().get(code, "Trámite desconocido en el inventario")
