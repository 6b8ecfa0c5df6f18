"""`pagar_tasa_itv`: the ITV fee as a modelo 050 self-assessment, paid through the gateway.

``formulario_itv`` collects the vehicle category, fuel, inspection type, plate and station, then
shows the fee breakdown and asks for confirmation; ``action_pagar_tasa_itv`` creates the 050 on
the platform and gives the justificante and the payment link. The citizen's words are read
with the vocabulary in ``desk_api.selfservice.itv`` ("coche", "gasoil", "me la tiraron"); buttons
send codes as entities. Fees, stations and payments live on the platform (``actions.platform``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import platform
from actions.forms_common import (
    INTERRUPTIONS,
    AskUnlessExplained,
    asking,
    explained_this_turn,
    latest_intent,
    latest_text,
)
from actions.knowledge_access import HUMAN_BUTTON
from desk_api.selfservice import itv

INTENT = "pagar_tasa_itv"
CATEGORY, FUEL, INSPECTION = "categoria_vehiculo", "combustible", "tipo_inspeccion"
PLATE, STATION, CONFIRMATION = "matricula", "estacion_itv", "confirmacion_itv"
FORM_SLOTS = (CATEGORY, FUEL, INSPECTION, PLATE, STATION, CONFIRMATION)
JUSTIFICANTE = "justificante_itv"
API = "/api/selfservice/itv"

# While this form asks, the ITV intent is an answer (its buttons use it), not an interruption.
OTHER_PURPOSES = INTERRUPTIONS - {INTENT}
YES = frozenset({"si", "sí", "vale", "de acuerdo", "ok", "adelante", "correcto", "claro"})

NOT_UNDERSTOOD = "No he entendido {what}. Elija una de estas opciones:"
SEVERAL_PLACES = "Hay varios municipios con ese nombre. ¿A cuál se refiere?"
NEAREST = "Estas son las estaciones ITV más cercanas a {place}. ¿En cuál pasará la inspección?"
CANCELLED = (
    "De acuerdo, lo dejamos: no he generado ninguna autoliquidación. ¿Puedo ayudarle en algo más?"
)
CONFIRM_AGAIN = "¿Genero la autoliquidación para que pueda pagarla? Responda «sí» o «no»."
CONFIRM_BUTTONS = [
    {"title": "Sí, generarla", "payload": "/afirmar"},
    {"title": "No, gracias", "payload": "/negar"},
]
# How this form's validation messages start: they ask again in their own words.
OPENINGS = (
    "No he entendido",
    "La matrícula",
    "«",
    "Estas son las estaciones",
    SEVERAL_PLACES,
    "No encuentro",
    CONFIRM_AGAIN,
    platform.UNAVAILABLE[:30],
)


def _payload(entity: str, value: str) -> str:
    return f'/{INTENT}{{"{entity}": "{value}"}}'


def _buttons(choices: tuple[itv.Choice, ...], entity: str) -> list[dict[str, str]]:
    return [
        {"title": c.label, "payload": _payload(entity, c.code)}
        for c in choices
        if c.code != itv.NO_ENGINE
    ]


def _other_purpose(tracker: Tracker) -> bool:
    return latest_intent(tracker) in OTHER_PURPOSES


def _entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value else None


class ValidateFormularioItv(FormValidationAction):
    def name(self) -> str:
        return "validate_formulario_itv"

    def _choice(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        choices: tuple[itv.Choice, ...],
        what: str,
    ) -> dict[str, Any]:
        """A button's code, or the citizen's words when the slot is empty or being asked."""
        if _other_purpose(tracker):
            return {}
        given = _entity(tracker, slot)
        found = itv.choose(choices, given) if given else None
        if found is None and (tracker.get_slot(slot) is None or asking(tracker, slot)):
            text = latest_text(tracker)
            found = itv.choose(choices, text) if text else None
        if found is not None:
            return {slot: found.code}
        if asking(tracker, slot):
            dispatcher.utter_message(
                text=NOT_UNDERSTOOD.format(what=what), buttons=_buttons(choices, slot)
            )
            return {slot: None}
        return {}

    async def extract_categoria_vehiculo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._choice(dispatcher, tracker, CATEGORY, itv.CATEGORIES, "qué vehículo es")

    async def extract_combustible(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        category = tracker.get_slot(CATEGORY)
        if category == "remolque":  # a trailer has no engine: nothing to ask
            return {FUEL: itv.NO_ENGINE}
        if tracker.get_slot(FUEL) == itv.NO_ENGINE and category is not None:
            return {FUEL: None}
        return self._choice(dispatcher, tracker, FUEL, itv.FUELS, "qué combustible usa")

    async def extract_tipo_inspeccion(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._choice(
            dispatcher, tracker, INSPECTION, itv.INSPECTIONS, "qué inspección necesita"
        )

    async def extract_matricula(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        if _other_purpose(tracker) or not text.strip():
            return {}
        plate = itv.find_plate(text)
        if plate is not None and (tracker.get_slot(PLATE) is None or asking(tracker, PLATE)):
            return {PLATE: plate.canonical}
        if plate is None and asking(tracker, PLATE):
            dispatcher.utter_message(text=itv.plate_problem(text))
            return {PLATE: None}
        return {}

    async def extract_estacion_itv(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        chosen = _entity(tracker, STATION)
        if chosen:
            return {STATION: chosen}
        if _other_purpose(tracker) or not asking(tracker, STATION):
            return {}
        where = _entity(tracker, "municipio") or latest_text(tracker).strip()
        if not where:
            return {}
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "GET", f"{API}/estaciones?municipio={quote(where[:120])}"
        )
        if answer is None:
            return {STATION: None}
        if not answer.ok:
            dispatcher.utter_message(text=answer.detail)
            return {STATION: None}
        candidates = answer.body.get("candidatos") or []
        if candidates:
            dispatcher.utter_message(
                text=SEVERAL_PLACES,
                buttons=[
                    {"title": c["nombre"], "payload": _payload("municipio", c["ine_code"])}
                    for c in candidates
                ],
            )
            return {STATION: None}
        place = (answer.body.get("municipio") or {}).get("nombre") or where
        dispatcher.utter_message(
            text=NEAREST.format(place=place),
            buttons=[
                {"title": _station_title(s), "payload": _payload(STATION, s["id"])}
                for s in answer.body.get("estaciones", [])
            ],
        )
        return {STATION: None}

    async def extract_confirmacion_itv(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not asking(tracker, CONFIRMATION) or _other_purpose(tracker):
            return {}
        words = itv.fold(latest_text(tracker))
        if latest_intent(tracker) == "afirmar" or words in {itv.fold(w) for w in YES}:
            return {CONFIRMATION: True}
        dispatcher.utter_message(text=CONFIRM_AGAIN, buttons=CONFIRM_BUTTONS)
        return {CONFIRMATION: None}

    def validate_categoria_vehiculo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CATEGORY: value if value in itv.CATEGORY_CODES else None}

    def validate_combustible(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {FUEL: value if value in itv.FUEL_CODES else None}

    def validate_tipo_inspeccion(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {INSPECTION: value if value in itv.INSPECTION_CODES else None}

    def validate_matricula(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        plate = itv.normalise_plate(value) if isinstance(value, str) else None
        return {PLATE: plate.canonical if plate else None}


def _station_title(station: dict[str, Any]) -> str:
    distance = station.get("distancia_km")
    if distance is None:
        return str(station["nombre"])
    shown = "en su municipio" if distance < 1 else f"a {distance:.0f} km".replace(".", ",")
    return f"{station['nombre']} ({shown})"


class ActionAskCategoriaVehiculo(AskUnlessExplained):
    question = "¿Qué tipo de vehículo va a pasar la ITV?"
    openings, buttons = OPENINGS, _buttons(itv.CATEGORIES, CATEGORY)

    def name(self) -> str:
        return "action_ask_categoria_vehiculo"


class ActionAskCombustible(AskUnlessExplained):
    question = "¿Qué combustible usa el vehículo?"
    openings, buttons = OPENINGS, _buttons(itv.FUELS, FUEL)

    def name(self) -> str:
        return "action_ask_combustible"


class ActionAskTipoInspeccion(AskUnlessExplained):
    question = "¿Qué inspección necesita?"
    openings, buttons = OPENINGS, _buttons(itv.INSPECTIONS, INSPECTION)

    def name(self) -> str:
        return "action_ask_tipo_inspeccion"


class ActionAskMatricula(AskUnlessExplained):
    question = (
        "¿Cuál es la matrícula del vehículo? Por ejemplo, 1234 BCD, o BA-1234-XY si es de las "
        "antiguas."
    )
    openings = OPENINGS

    def name(self) -> str:
        return "action_ask_matricula"


class ActionAskEstacionItv(AskUnlessExplained):
    question = (
        "¿En qué municipio vive, o dónde le viene mejor pasar la ITV? Le propongo las "
        "estaciones más cercanas."
    )
    openings = OPENINGS

    def name(self) -> str:
        return "action_ask_estacion_itv"


def _order(tracker: Tracker) -> dict[str, Any]:
    return {
        "categoria": tracker.get_slot(CATEGORY),
        "combustible": tracker.get_slot(FUEL),
        "inspeccion": tracker.get_slot(INSPECTION),
    }


def summary(quote_body: dict[str, Any], plate: str, station: str) -> str:
    """The fee breakdown as the citizen reads it before confirming."""
    vehicle = quote_body["categoria"]["texto"]
    if quote_body["combustible"]["codigo"] != itv.NO_ENGINE:
        vehicle += f", {quote_body['combustible']['texto'].lower()}"
    lines = [
        "Resumen de su autoliquidación de la tasa de ITV (modelo 050):",
        f"• Vehículo: {vehicle}",
        f"• Inspección: {quote_body['inspeccion']['texto']}",
        f"• Matrícula: {plate}",
        f"• Estación: {station}",
        "",
        f"Importe según la tarifa de {quote_body['anio']}:",
    ]
    lines += [f"• {x['concepto']}: {x['importe_texto']}" for x in quote_body["lineas"]]
    lines.append(f"• IVA ({quote_body['iva_porcentaje']} %): {quote_body['iva_texto']}")
    lines += [f"• {label}" for label in quote_body.get("exenciones", [])]
    lines += [f"Total: {quote_body['total_texto']}", "", "¿Genero la autoliquidación para pagarla?"]
    return "\n".join(lines)


class ActionAskConfirmacionItv(Action):
    """Shows the breakdown from the platform's tariff and asks to go ahead."""

    def name(self) -> str:
        return "action_ask_confirmacion_itv"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if explained_this_turn(tracker, OPENINGS):
            return []
        quote_answer = await platform.call_or_apologise(
            tracker, dispatcher, "POST", f"{API}/presupuesto", _order(tracker)
        )
        stations = quote_answer and await platform.call_or_apologise(
            tracker, dispatcher, "GET", f"{API}/estaciones"
        )
        if quote_answer is None or stations is None:
            return []
        if not quote_answer.ok:
            dispatcher.utter_message(text=quote_answer.detail, buttons=[HUMAN_BUTTON])
            return []
        station_id = tracker.get_slot(STATION)
        names = {s["id"]: s["nombre"] for s in stations.body.get("estaciones", [])}
        text = summary(
            quote_answer.body, str(tracker.get_slot(PLATE)), names.get(station_id, station_id)
        )
        dispatcher.utter_message(text=text, buttons=CONFIRM_BUTTONS)
        return []


class ActionPagarTasaItv(Action):
    """Creates the 050 and gives the justificante, the amount and the payment link."""

    def name(self) -> str:
        return "action_pagar_tasa_itv"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        if tracker.get_slot(CONFIRMATION) is not True:
            dispatcher.utter_message(text=CANCELLED)
            return reset
        order = {
            **_order(tracker),
            "matricula": tracker.get_slot(PLATE),
            "estacion": tracker.get_slot(STATION),
        }
        answer = await platform.call_or_apologise(
            tracker, dispatcher, "POST", f"{API}/autoliquidaciones", order
        )
        if answer is None:
            return [SlotSet(CONFIRMATION, None)]  # asking again shows the summary again
        if not answer.ok:
            dispatcher.utter_message(text=answer.detail, buttons=[HUMAN_BUTTON])
            return reset
        body = answer.body
        dispatcher.utter_message(
            text=(
                f"He generado la autoliquidación (modelo 050) n.º {body['justificante']} por "
                f"{body['importe_texto']}, matrícula {body['matricula']}.\n"
                f"Puede pagarla con tarjeta aquí: {body['url_pago']}\n"
                "Cuando se confirme el pago le enviaré el justificante en esta conversación."
            )
        )
        return [*reset, SlotSet(JUSTIFICANTE, body["justificante"])]


class ActionCancelarPagoItv(Action):
    """ "Déjalo" during the form: nothing is created and the answers are forgotten, so the next
    payment starts afresh."""

    def name(self) -> str:
        return "action_cancelar_pago_itv"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if latest_intent(tracker) != "despedida":  # a goodbye gets utter_despedida only
            dispatcher.utter_message(text=CANCELLED)
        return [SlotSet(slot, None) for slot in FORM_SLOTS]
