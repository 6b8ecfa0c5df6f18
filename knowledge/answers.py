"""Citizen-facing Spanish text built from knowledge records (the bot and the desk both use it).

Plain text with single line breaks (every channel can show it; Rasa's REST channel would split a
text at blank lines into several messages), short enough for a phone screen: lists are cut to a
few items and end with the link to the full card.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from knowledge.feeds import Procedure, Unit
from knowledge.text import fold

Aspect = Literal["documents", "requirements", "deadline", "fee", "channels", "unit", "link"]
MAX_ITEMS = 4
SUMMARY_CHARS = 240

# Words that ask about one part of a procedure ("¿y qué papeles necesito?"), folded.
ASPECT_WORDS: dict[Aspect, tuple[str, ...]] = {
    "documents": (
        "papel", "papeles", "documento", "documentos", "documentacion", "llevar", "aportar",
        "adjuntar", "presentar que", "que hay que presentar", "que tengo que presentar",
    ),
    "requirements": (
        "requisito", "requisitos", "quien puede", "quienes pueden", "puedo pedir",
        "puedo solicitar", "tengo derecho", "condiciones", "me corresponde",
    ),
    "deadline": (
        "plazo", "plazos", "cuando", "hasta cuando", "fecha", "fechas", "cuanto tarda",
        "cuanto tardan", "convocatoria",
    ),
    "fee": (
        "cuesta", "cuestan", "precio", "tasa", "tasas", "cuanto vale", "gratis", "gratuito",
        "pagar", "pago", "coste", "importe",
    ),
    "channels": (
        "como lo pido", "como se pide", "como solicito", "como se solicita", "donde",
        "por internet", "online", "en persona", "presencial", "como lo presento",
        "como se presenta", "como lo hago", "como se hace", "como tramito", "sede",
    ),
    "unit": ("quien lo tramita", "que organismo", "que unidad", "telefono", "contacto", "correo"),
    "link": ("enlace", "link", "web", "pagina", "url"),
}  # fmt: skip


def aspects(question: str) -> list[Aspect]:
    """The parts of a procedure a question asks about, in the order of ``ASPECT_WORDS``."""
    folded = f" {re.sub(r'[^a-z0-9ñ ]+', ' ', fold(question))} "
    folded = " ".join(folded.split())
    folded = f" {folded} "
    return [a for a, words in ASPECT_WORDS.items() if any(f" {w} " in folded for w in words)]


def summary(procedure: Procedure) -> str:
    text = procedure.summary or procedure.text
    text = " ".join(text.split())
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = text[:SUMMARY_CHARS].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"


def _items(values: Sequence[str]) -> str:
    shown = [f"• {v.rstrip('.')}" for v in values[:MAX_ITEMS]]
    if len(values) > MAX_ITEMS:
        shown.append(f"• … y {len(values) - MAX_ITEMS} más (véalo en el enlace)")
    return "\n".join(shown)


def _section(aspect: Aspect, procedure: Procedure, unit: Unit | None) -> str | None:
    if aspect == "documents" and procedure.documents:
        return f"Documentación:\n{_items(procedure.documents)}"
    if aspect == "requirements" and procedure.requirements:
        return f"Requisitos:\n{_items(procedure.requirements)}"
    if aspect == "deadline" and procedure.deadline:
        return f"Plazo: {procedure.deadline}"
    if aspect == "fee" and procedure.fee:
        return f"Tasa: {procedure.fee}"
    if aspect == "channels" and procedure.channels:
        return f"Cómo solicitarlo: {', '.join(procedure.channels)}"
    if aspect == "unit" and unit is not None:
        return unit_card(unit, [])
    if aspect == "link" and procedure.url:
        return f"Más información: {procedure.url}"
    return None


def procedure_card(procedure: Procedure, unit: Unit | None = None) -> str:
    """The whole card: title, summary, requirements, documents, deadline, fee, channels, link."""
    parts = [procedure.title, summary(procedure)]
    card_aspects: tuple[Aspect, ...] = ("requirements", "documents", "deadline", "fee", "channels")
    for aspect in card_aspects:
        section = _section(aspect, procedure, unit)
        if section:
            parts.append(section)
    if unit is not None:
        parts.append(f"Lo tramita: {unit.name}")
    if procedure.url:
        parts.append(f"Más información: {procedure.url}")
    return "\n".join(parts)


def procedure_aspects(
    procedure: Procedure, asked: Sequence[Aspect], unit: Unit | None = None
) -> str:
    """Only what was asked about the procedure already in the conversation."""
    sections = [s for s in (_section(a, procedure, unit) for a in asked) if s]
    if not sections:
        missing = "Esa información no figura en la ficha del trámite."
        sections = [missing + (f" Puede consultarla en {procedure.url}" if procedure.url else "")]
    elif "link" not in asked and procedure.url:
        sections.append(f"Más información: {procedure.url}")
    return f"Sobre «{procedure.title}»:\n" + "\n".join(sections)


def unit_card(unit: Unit, parents: Sequence[Unit]) -> str:
    acronym = unit.abbreviation if unit.abbreviation and unit.abbreviation.isupper() else None
    lines = [f"{unit.name} ({acronym})" if acronym else unit.name]
    if parents and parents[0].level != "raiz":
        lines.append(f"Depende de: {parents[0].name}")
    if unit.phone:
        lines.append(f"Teléfono: {unit.phone}")
    if unit.email:
        lines.append(f"Correo electrónico: {unit.email}")
    if unit.address:
        lines.append(f"Dirección: {unit.address}")
    return "\n".join(lines)


def button_title(text: str, limit: int = 60) -> str:
    """A button label short enough for every channel (WhatsApp lists cut at 24–72 characters)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
