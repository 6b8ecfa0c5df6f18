"""What the citizen is told at each step of a handoff (system messages, in Spanish, «usted»)."""

from __future__ import annotations

import math

from handoff.contract import HandoffReason


def queued(position_ahead: int, reason: HandoffReason) -> str:
    if reason == HandoffReason.DIRECT_TO_DESK:
        return (
            "Hemos recibido su mensaje. Una persona del equipo de atención lo leerá y le "
            "responderá por este mismo medio, normalmente en el siguiente día hábil."
        )
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


def too_long(length: int, limit: int) -> str:
    return (
        f"Su mensaje es demasiado largo ({length} caracteres) y no lo hemos registrado. "
        f"El máximo es {limit}: ¿puede resumirlo o enviarlo en varias partes?"
    )


def file_too_large(filename: str, limit_bytes: int) -> str:
    megabytes = limit_bytes / (1024 * 1024)
    size = f"{megabytes:.0f} MB" if megabytes >= 1 else f"{math.ceil(limit_bytes / 1024)} KB"
    return (
        f"No hemos podido guardar el archivo «{filename}»: supera el tamaño máximo de {size}. "
        "Puede enviarlo más pequeño o en varias partes."
    )


def flooding() -> str:
    return (
        "Ha enviado muchos mensajes en muy poco tiempo. Espere un minuto, por favor: "
        "los siguientes mensajes de este minuto no se registrarán."
    )


def flooding_refused() -> str:
    return (
        "Ha enviado muchos mensajes en muy poco tiempo y no hemos registrado este. "
        "Espere un minuto y vuelva a enviarlo, por favor."
    )


def file_kept(filenames: list[str]) -> str:
    names = ", ".join(f"«{name}»" for name in filenames)
    return (
        f"He guardado {'el archivo' if len(filenames) == 1 else 'los archivos'} {names} en esta "
        "conversación. Si quiere que lo revise una persona, escriba «hablar con una persona»."
    )
