"""`buscar_oficina`: the nearest offices with distance, address, today's hours and open-now.

``formulario_oficina`` collects slot ``ubicacion`` (the point and its name, as JSON) from a
shared location (entities ``latitud``/``longitud``), a button (entity ``municipio``), or the
text: municipality with or without accents or article, locality, postal code or coordinates.
Several municipalities for one name ("Villanueva") become buttons to choose from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms_common import AskUnlessExplained, asking, is_interruption, latest_text
from actions.knowledge_access import HUMAN_BUTTON, KnowledgeUnavailable, apologise, consult
from knowledge.base import KnowledgeBase
from knowledge.geo import Place, Resolution

SLOT = "ubicacion"
NEAREST = 3
FAR_KM = 30.0  # a shared point farther than this from any municipality is outside Extremadura
ASK = (
    "¿En qué municipio o código postal se encuentra? Así le indico las oficinas más cercanas. "
    "En el chat web también puede compartir su ubicación."
)
SHARE_BUTTON = {"title": "Compartir mi ubicación", "payload": "tua:ubicacion"}
AMBIGUOUS = "Hay varios municipios con ese nombre. ¿A cuál se refiere?"
UNKNOWN_POSTAL_CODE = (
    "El código postal {code} no corresponde a ningún municipio de Extremadura. ¿Puede decirme "
    "el nombre de su municipio?"
)
NOT_FOUND = (
    "No encuentro ese lugar en Extremadura. Dígame el nombre del municipio (por ejemplo, "
    "«Almendralejo» o «La Albuera») o su código postal (por ejemplo, 06200)."
)


# How the validation messages start (they already ask again, in their own words).
VALIDATION_OPENINGS = (AMBIGUOUS, UNKNOWN_POSTAL_CODE[:20], NOT_FOUND[:20])


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return None


def _from_entities(kb: KnowledgeBase, tracker: Tracker) -> Resolution | None:
    lat = _number(next(tracker.get_latest_entity_values("latitud"), None))
    lon = _number(next(tracker.get_latest_entity_values("longitud"), None))
    if lat is not None and lon is not None:
        return kb.gazetteer.resolve_coordinates(lat, lon)
    code = next(tracker.get_latest_entity_values("municipio"), None)
    if code:
        place = kb.gazetteer.municipality(str(code))
        return Resolution(place=place)
    return None


class ValidateFormularioOficina(FormValidationAction):
    def name(self) -> str:
        return "validate_formulario_oficina"

    async def extract_ubicacion(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        if is_interruption(tracker):
            return {}

        def resolve(kb: KnowledgeBase) -> Resolution | None:
            given = _from_entities(kb, tracker)
            if given is not None:
                return given
            return kb.gazetteer.resolve(text) if text.strip() else None

        try:
            resolution = await consult(resolve)
        except KnowledgeUnavailable as exc:
            apologise(dispatcher, exc)
            return {}
        if resolution is None:
            return {}
        if resolution.place is not None:
            return {SLOT: resolution.place.slot_value}
        if resolution.candidates:
            dispatcher.utter_message(
                text=AMBIGUOUS,
                buttons=[
                    {"title": p.label, "payload": f'/buscar_oficina{{"municipio": "{p.ine_code}"}}'}
                    for p in resolution.candidates[:5]
                ],
            )
            return {SLOT: None}
        if resolution.unknown_postal_code:
            code = resolution.unknown_postal_code
            dispatcher.utter_message(text=UNKNOWN_POSTAL_CODE.format(code=code))
            return {SLOT: None}
        if asking(tracker, SLOT):
            dispatcher.utter_message(text=NOT_FOUND)
            return {SLOT: None}
        return {}

    def validate_ubicacion(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {SLOT: value if isinstance(value, str) and value else None}


class ActionAskUbicacion(AskUnlessExplained):
    question, openings, buttons = ASK, VALIDATION_OPENINGS, [SHARE_BUTTON]

    def name(self) -> str:
        return "action_ask_ubicacion"


def nearest_text(kb: KnowledgeBase, place: Place, now: datetime) -> str:
    """The nearest offices to a place, as the citizen reads them."""
    nearby = kb.locator.nearest(place.lat, place.lon, k=NEAREST)
    if place.matched == "coordinates" and (place.distance_km or 0.0) > FAR_KM:
        header = (
            "Su ubicación parece estar fuera de Extremadura. Estas son las oficinas de la Junta "
            "más cercanas:"
        )
    elif place.matched == "coordinates":
        header = f"Oficinas más cercanas a su ubicación (cerca de {place.name}):"
    else:
        header = f"Oficinas más cercanas a {place.label}:"
    blocks = [header]
    for number, item in enumerate(nearby, start=1):
        office = item.office
        lines = [f"{number}. {office.name} ({item.distance_text})"]
        address = ", ".join(p for p in (office.address, office.postal_code) if p)
        lines.append(f"{address} {office.municipality}".strip())
        if office.phone:
            lines.append(f"Teléfono: {office.phone}")
        lines.append(kb.locator.describe(office, now))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)  # Rasa sends each office as its own message


class ActionBuscarOficina(Action):
    def name(self) -> str:
        return "action_buscar_oficina"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        value = str(tracker.get_slot(SLOT) or "")

        def build(kb: KnowledgeBase) -> str | None:
            place = Place.from_slot_value(value)
            if place is None:
                return None
            return nearest_text(kb, place, datetime.now(ZoneInfo(kb.settings.timezone)))

        try:
            text = await consult(build)
        except KnowledgeUnavailable as exc:
            apologise(dispatcher, exc)
            return [SlotSet(SLOT, None)]
        if text is None:
            dispatcher.utter_message(text=NOT_FOUND, buttons=[HUMAN_BUTTON])
        else:
            dispatcher.utter_message(text=text)
        return [SlotSet(SLOT, None)]
