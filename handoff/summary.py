"""The short summary an agent reads before taking a handed-off conversation."""

from __future__ import annotations

from collections.abc import Sequence

from handoff.contract import HandoffReason, HandoffRequest

REASON_TEXT = {
    HandoffReason.CITIZEN_REQUEST: "El ciudadano pidió hablar con una persona.",
    HandoffReason.LOW_CONFIDENCE: "El asistente no entendió dos mensajes seguidos.",
    HandoffReason.BOT_UNAVAILABLE: "El asistente virtual no respondía.",
    HandoffReason.DIRECT_TO_DESK: "Mensaje de un canal que atiende directamente el equipo.",
}
QUOTED_MESSAGES = 3
QUOTE_CHARS = 160


def build_summary(request: HandoffRequest, citizen_texts: Sequence[str]) -> str:
    """Reason, topics the bot detected and the citizen's last words, in one paragraph."""
    parts = [REASON_TEXT[request.reason]]
    topics = [i for i in dict.fromkeys(request.intents_seen) if i not in _SMALL_TALK]
    if topics:
        parts.append("Temas detectados: " + ", ".join(topics) + ".")
    if request.suggestions:
        titles = [str(s.get("title", "")) for s in request.suggestions if s.get("title")]
        parts.append("Trámites sugeridos: " + "; ".join(titles) + ".")
    recent = [t.strip() for t in citizen_texts if t.strip()][-QUOTED_MESSAGES:]
    if recent:
        quoted = "; ".join(f"«{_shorten(t)}»" for t in recent)
        parts.append(f"Últimos mensajes: {quoted}.")
    return " ".join(parts)


_SMALL_TALK = {
    "saludo",
    "despedida",
    "agradecimiento",
    "afirmar",
    "negar",
    "hablar_con_agente",
    "nlu_fallback",
    "bot_challenge",
}


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
