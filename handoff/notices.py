"""What the citizen is told at each step of a handoff (system messages, in Spanish, «usted»)."""

from __future__ import annotations

from handoff.contract import HandoffReason


def queued(position_ahead: int, reason: HandoffReason) -> str:
    opening = {
        HandoffReason.CITIZEN_REQUEST: "Le paso con una persona del equipo de atención.",
        HandoffReason.LOW_CONFIDENCE: (
            "Para no hacerle perder tiempo, le paso con una persona del equipo de atención."
        ),
        HandoffReason.BOT_UNAVAILABLE: (
            "El asistente virtual no está disponible en este momento. "
            "Le paso con una persona del equipo de atención."
        ),
    }[reason]
    if position_ahead == 0:
        ahead = "Es usted el siguiente en ser atendido."
    elif position_ahead == 1:
        ahead = "Hay 1 persona por delante de usted."
    else:
        ahead = f"Hay {position_ahead} personas por delante de usted."
    return (
        f"{opening} {ahead} Puede seguir escribiendo aquí; verá la respuesta en esta conversación."
    )


def taken(agent_name: str, tier: str) -> str:
    who = "del equipo de atención" if tier == "n1" else "de la unidad especializada"
    return f"Le atiende {agent_name}, {who}."


def derived(unit_name: str) -> str:
    return (
        f"Hemos trasladado su consulta a una unidad especializada: {unit_name}. "
        "Le responderán en esta misma conversación."
    )


def resolved() -> str:
    return (
        "La persona que le atendía ha dado por resuelta su consulta. "
        "Vuelve a atenderle el asistente virtual: escriba si necesita algo más."
    )
