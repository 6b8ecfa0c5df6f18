"""A citizen's shared location, the same on every channel that can send one: the web chat's
«Compartir mi ubicación» button, Telegram's location, WhatsApp's location message."""

from __future__ import annotations

import json

# The bot's button that asks for the location; channels that cannot send one leave it out.
SHARE_BUTTON_PAYLOAD = "tua:ubicacion"
# What the transcript shows instead of the coordinates.
SHARED_TEXT = "He compartido mi ubicación"


def payload(latitude: float | str, longitude: float | str) -> str | None:
    """The office search's payload for a shared point, rounded to about a kilometre: enough to
    find the nearest offices, too coarse to be the citizen's address. None if not a point."""
    try:
        point = {"latitud": round(float(latitude), 2), "longitud": round(float(longitude), 2)}
    except (TypeError, ValueError):
        return None
    if not (-90 <= point["latitud"] <= 90 and -180 <= point["longitud"] <= 180):
        return None
    return f"/buscar_oficina{json.dumps(point)}"
