"""The assistant answering from the knowledge base, through the gateway, real Rasa and actions.

Procedures (card, alternatives, follow-ups, not found), the unit directory and the office
locator, with their forms: asking, ambiguity, interruption, cancellation and bad input.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.clients import Citizen

pytestmark = [
    pytest.mark.rasa,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def text(answer: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in answer["replies"])


def buttons(answer: dict[str, Any]) -> list[dict[str, str]]:
    return [b for r in answer["replies"] for b in (r.get("buttons") or [])]


async def test_a_procedure_question_gets_its_card_and_follow_ups_use_it(
    citizen: Citizen,
) -> None:
    card = await citizen.say("quiero sacar la licencia de pesca")
    assert card["controller"] == "bot"
    assert "Licencia de pesca continental" in text(card)
    assert "Documentación:" in text(card) and "Más información: https://" in text(card)
    papers = await citizen.say("¿y qué papeles tengo que llevar?")
    assert text(papers).startswith("Sobre «Licencia de pesca continental»")
    assert "Documentación:" in text(papers) and "Requisitos" not in text(papers)
    fee = await citizen.say("¿cuánto cuesta?")
    assert "Tasa:" in text(fee) and "Licencia de pesca continental" in text(fee)


async def test_close_alternatives_are_buttons_that_open_their_card(citizen: Citizen) -> None:
    answer = await citizen.say("información sobre el título de familia numerosa")
    options = [b for b in buttons(answer) if "tramite_id" in b["payload"]]
    assert options, text(answer)
    chosen = options[0]
    card = await citizen.say(chosen["title"], payload=chosen["payload"])
    title = chosen["title"].rstrip("…")
    assert text(card).startswith(title), (title, text(card))


async def test_a_question_the_inventory_does_not_cover_offers_a_person(
    citizen: Citizen,
) -> None:
    answer = await citizen.say("información para renovar el pasaporte")
    assert "Más información: https://" not in text(answer), "no procedure card"
    assert any(b["payload"] == "/hablar_con_agente" for b in buttons(answer))


async def test_a_procedure_the_nlu_did_not_understand_is_still_answered(
    citizen: Citizen,
) -> None:
    # The NLU falls back on this wording; the knowledge base is sure about the procedure.
    answer = await citizen.say("permiso para las vaquillas de las fiestas")
    assert "Autorización de festejos taurinos populares" in text(answer), text(answer)


async def test_asking_for_a_procedure_without_saying_which(citizen: Citizen) -> None:
    answer = await citizen.say("Información de un trámite", payload="/informacion_tramite")
    assert "¿Sobre qué trámite" in text(answer)


async def test_directory_by_abbreviation_and_through_the_form(citizen: Citizen) -> None:
    sepad = await citizen.say("teléfono del SEPAD")
    assert "SEPAD" in text(sepad) and "Teléfono:" in text(sepad)
    ask = await citizen.say("me podéis dar un teléfono de contacto")
    assert "¿De qué consejería" in text(ask)
    housing = await citizen.say("el de la dirección general de vivienda")
    assert "Vivienda" in text(housing) and "Teléfono:" in text(housing)


async def test_directory_form_can_be_cancelled(citizen: Citizen) -> None:
    ask = await citizen.say("me podéis dar un teléfono de contacto")
    assert "¿De qué consejería" in text(ask)
    cancelled = await citizen.say("no, déjalo")
    assert "lo dejamos" in text(cancelled)
    after = await citizen.say("¿a qué hora atendéis por teléfono?")
    assert "900 222 012" in text(after)


async def test_offices_by_name_with_the_article_either_way(citizen: Citizen) -> None:
    for place in ("oficina en La Albuera", "Albuera, La"):
        answer = await citizen.say(place)
        body = text(answer)
        assert "Oficinas más cercanas a La Albuera" in body, body
        assert body.count(" km)") + body.count(" m)") >= 3
        assert "Hoy" in body and "Teléfono:" in body


async def test_a_locality_is_measured_from_its_own_point(citizen: Citizen) -> None:
    answer = await citizen.say("oficina en Valdesalor")
    body = text(answer)
    assert "Oficinas más cercanas a Valdesalor (Cáceres)" in body, body
    assert "a menos de 50 m" not in body, "Valdesalor is ~15 km from the offices in Cáceres"


async def test_office_form_asks_survives_an_interruption_and_answers(citizen: Citizen) -> None:
    ask = await citizen.say("necesito ir a una oficina de la junta a registrar unos papeles")
    assert "¿En qué municipio o código postal" in text(ask)
    assert any(b["payload"] == "tua:ubicacion" for b in buttons(ask))
    hours = await citizen.say("espera, ¿cuál es el horario de atención telefónica?")
    assert "900 222 012" in text(hours)
    assert "¿En qué municipio o código postal" in text(hours), "the form asks again"
    answer = await citizen.say("06800")
    assert "Oficinas más cercanas a Mérida" in text(answer)


async def test_ambiguous_names_unknown_postal_codes_and_shared_locations(
    citizen: Citizen,
) -> None:
    ambiguous = await citizen.say("busco una oficina en Villanueva")
    options = [b for b in buttons(ambiguous) if "municipio" in b["payload"]]
    assert len(options) >= 2 and "varios municipios" in text(ambiguous)
    serena = next(b for b in options if "Serena" in b["title"])
    answer = await citizen.say(serena["title"], payload=serena["payload"])
    assert "Oficinas más cercanas a Villanueva de la Serena" in text(answer)

    unknown = await citizen.say("oficina cerca del código postal 28001")
    assert "28001 no corresponde" in text(unknown)
    nowhere = await citizen.say("en ningún sitio concreto")
    assert "No encuentro ese lugar" in text(nowhere)
    shared = await citizen.say(
        "He compartido mi ubicación", payload='/buscar_oficina{"latitud": 39.47, "longitud": -6.37}'
    )
    assert "Oficinas más cercanas a su ubicación (cerca de Cáceres)" in text(shared)


@pytest.mark.parametrize(
    "message",
    ["🙂🙂🙂", "x" * 3999, "'; DROP TABLE procedures; -- licencia de pesca",
     "<script>alert('oficina')</script> oficina en Zafra"],
)  # fmt: skip
async def test_bad_input_never_breaks_the_assistant(citizen: Citizen, message: str) -> None:
    answer = await citizen.say(message)
    assert answer["controller"] == "bot", "no handoff for an action error"
    assert answer["replies"], "the bot always answers"
    follow = await citizen.say("gracias")
    assert follow["replies"]
