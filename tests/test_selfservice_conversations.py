"""Self-service flows end to end: web chat → gateway (vault) → real Rasa → real actions → the
platform's self-service API → the citizen, on the real web app and database.

Each flow: the happy path, an interruption and resumption, a cancellation, and bad input.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from bot.processes import free_port
from desk_api.selfservice import smtp_catcher
from desk_api.settings import Settings
from tests.support.clients import Citizen

pytestmark = [
    pytest.mark.rasa,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture(autouse=True)
def own_mail_catcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each web app's development SMTP catcher on its own port."""
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))


def text(answer: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in answer["replies"])


def buttons(answer: dict[str, Any]) -> list[dict[str, str]]:
    return [b for r in answer["replies"] for b in (r.get("buttons") or [])]


async def press(citizen: Citizen, answer: dict[str, Any], title: str) -> dict[str, Any]:
    """Press the button whose title starts with ``title``, as the web chat does."""
    for button in buttons(answer):
        if button["title"].startswith(title):
            return await citizen.say(button["title"], payload=button["payload"])
    raise AssertionError(f"no button {title!r} in {buttons(answer)}")


async def wait_for(citizen: Citizen, fragment: str, seconds: float = 10) -> str:
    """A message with ``fragment`` that reaches the conversation later (payment, answer)."""
    for _ in range(int(seconds * 10)):
        for message in (await citizen.history())["messages"]:
            if fragment in message["text"]:
                return str(message["text"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no message with {fragment!r}")


# --- ITV ------------------------------------------------------------------------------------


async def test_itv_fee_paid_from_question_to_receipt(citizen: Citizen) -> None:
    asked = await citizen.say("quiero pagar la itv de mi coche diésel")
    assert "inspección" in text(asked).lower()
    plate = await press(citizen, asked, "Periódica")
    assert "matrícula" in text(plate)
    bad = await citizen.say("1234-AEI")
    assert "no es válida" in text(bad) and "consonantes" in text(bad)
    where = await citizen.say("1234 bcd")
    assert "municipio" in text(where)
    stations = await citizen.say("Mérida")
    summary = await press(citizen, stations, "Estación ITV de Mérida")
    assert "Total:" in text(summary) and "€" in text(summary)
    done = await press(citizen, summary, "Sí")
    found = re.search(r"n\.º (050\d{10}).*?(https?://\S+/sandbox/pasarela/\S+)", text(done), re.S)
    assert found, text(done)
    async with httpx.AsyncClient(timeout=30) as http:
        paid = await http.post(found.group(2), data={"accion": "pagar"})
        assert paid.status_code == 200
    notice = await wait_for(citizen, "Hemos recibido su pago")
    link = re.search(r"https?://\S+justificante\.pdf\S*", notice)
    assert link, notice
    async with httpx.AsyncClient(timeout=30) as http:
        pdf = await http.get(link.group(0))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_itv_interrupted_resumed_and_cancelled(citizen: Citizen) -> None:
    asked = await citizen.say("como pago la tasa de la itv de mi furgoneta")
    assert "combustible" in text(asked)
    interrupted = await citizen.say("espera, ¿cuál es el horario de atención?")
    assert "combustible" in text(interrupted), "the question is asked again"
    assert "horario" in text(interrupted).lower() or "lunes" in text(interrupted).lower()
    resumed = await citizen.say("gasoil")
    assert "inspección" in text(resumed).lower()
    cancelled = await citizen.say("no, déjalo")
    assert "no" in text(cancelled).lower() and "050" not in text(cancelled)
    again = await citizen.say("quiero pagar la itv")
    assert "vehículo" in text(again), "the answers were forgotten"


# --- Miespacio ------------------------------------------------------------------------------


async def test_miespacio_sign_up_with_an_emailed_code(citizen: Citizen, settings: Settings) -> None:
    asked = await citizen.say("quiero registrarme en miespacio")
    assert "correo" in text(asked).lower()
    sent = await citizen.say("mi correo es ana.garcia@correo.es")
    assert "a***@correo.es" in text(sent) or "***" in text(sent), text(sent)
    assert "ana.garcia@correo.es" not in text(sent)
    mail = smtp_catcher.list_mail(settings.var_dir / "mail")[0]
    code = re.search(r"\b(\d{6})\b", mail.text)
    assert code, mail.text
    wrong = await citizen.say("000000" if code.group(1) != "000000" else "111111")
    assert "no es correcto" in text(wrong) and "4 intentos" in text(wrong)
    interrupted = await citizen.say("¿cuál es el horario de atención?")
    assert "código" in text(interrupted)
    privacy = await citizen.say(code.group(1))
    assert "privacidad" in text(privacy).lower()
    done = await press(citizen, privacy, "Acepto")
    assert "Miespacio" in text(done)


async def test_miespacio_cancelled_and_bad_input(citizen: Citizen) -> None:
    await citizen.say("quiero darme de alta en miespacio")
    refused = await citizen.say("mi dni es 12345678Z")  # not an address: asked again
    assert "correo" in text(refused).lower() and "12345678Z" not in text(refused)
    cancelled = await citizen.say("déjalo")
    assert "no le doy de alta" in text(cancelled)


# --- Quejas y estado de la solicitud ---------------------------------------------------------


async def test_complaint_registered_and_its_status_asked_with_the_dni(
    citizen: Citizen, web: str
) -> None:
    asked = await citizen.say("quiero poner una queja")
    assert "qué pasó" in text(asked)
    unit = await citizen.say(
        "en la oficina de registro de Mérida me tuvieron dos horas esperando y nadie me atendió"
    )
    assert "servicio o unidad" in text(unit), text(unit)
    several = await citizen.say("la consejería de salud")
    when = await press(citizen, several, "Consejería de Salud")
    assert "qué día" in text(when).lower(), text(when)
    interrupted = await citizen.say("¿cuál es el horario de atención?")
    assert "qué día" in text(interrupted).lower(), "asked again after the interruption"
    dni = await citizen.say("ayer")
    assert "DNI" in text(dni), text(dni)
    wrong = await citizen.say("12345678A")
    assert "letra" in text(wrong), text(wrong)
    contact = await citizen.say("12345678Z")
    assert "12345678Z" not in text(contact)
    summary = await press(citizen, contact, "Por aquí mismo")
    assert "Confirmar" in str(buttons(summary)), text(summary)
    assert "12345678Z" not in text(summary)  # the bot only ever sees [DNI_1]
    done = await press(citizen, summary, "Confirmar")
    code = re.search(r"QS-\d{4}-\d{6}", text(done))
    assert code, text(done)

    status = await citizen.say("¿cómo va mi solicitud?")
    assert "código" in text(status).lower(), text(status)
    second_factor = await citizen.say(code.group(0).lower().replace("-", " "))
    assert "DNI" in text(second_factor), text(second_factor)
    shown = await citizen.say("con el 12345678Z")
    assert code.group(0) in text(shown) and "registrada" in text(shown).lower(), text(shown)

    stranger = await Citizen(web).start()  # someone else with the code and a valid DNI
    try:
        await stranger.say("quiero saber el estado de mi solicitud")
        await stranger.say(code.group(0))
        refused = await stranger.say("87654321X")
        assert "No encontramos" in text(refused), text(refused)
        assert "registrada" not in text(refused).lower() and "Salud" not in text(refused)
    finally:
        await stranger.aclose()


async def test_suggestion_cancelled_at_confirmation(citizen: Citizen) -> None:
    await citizen.say("tengo una sugerencia")
    await citizen.say("estaría bien poder pedir cita previa por whatsapp en las oficinas")
    several = await citizen.say("la consejería de salud")
    dni = await press(citizen, several, "Consejería de Salud")
    contact = await press(citizen, dni, "Prefiero no")
    summary = await press(citizen, contact, "Por aquí mismo")
    cancelled = await press(citizen, summary, "Cancelar")
    assert "no registro nada" in text(cancelled)
    again = await citizen.say("quiero hacer una sugerencia")
    assert "Cuénteme" in text(again) or "sugerencia" in text(again).lower(), text(again)
    assert "servicio o unidad" not in text(again), "the answers were forgotten"


# --- Expedientes ----------------------------------------------------------------------------


async def test_expediente_status_needs_the_holder(citizen: Citizen) -> None:
    asked = await citizen.say("quiero saber cómo va mi expediente")
    assert "EXP-" in text(asked)
    malformed = await citizen.say("el 12345")
    assert "EXP-" in text(malformed)
    holder = await citizen.say("EXP-2026-0001234")
    assert "DNI" in text(holder)
    stranger = await citizen.say("87654321X")  # a valid DNI, not the holder's
    assert "No encontramos" in text(stranger), text(stranger)
    assert "EXP-2026-0001234" not in text(stranger) or "fase" not in text(stranger).lower()
    again = await citizen.say("¿cómo va el expediente EXP-2026-0001234?")
    assert "DNI" in text(again)
    shown = await citizen.say("es el 30184726D")
    assert "EXP-2026-0001234" in text(shown) and "30184726D" not in text(shown), text(shown)


async def test_expediente_interrupted_resumed_and_cancelled(citizen: Citizen) -> None:
    asked = await citizen.say("quiero consultar el estado de un expediente")
    assert "EXP-" in text(asked)
    interrupted = await citizen.say("perdona, ¿eres un robot?")
    assert "EXP-" in text(interrupted), "the question is asked again"
    holder = await citizen.say("exp 2026 0002871")
    assert "DNI" in text(holder), text(holder)
    cancelled = await citizen.say("déjalo, ya lo miro otro día")
    assert "EXP-2026-0002871" not in text(cancelled) and "fase" not in text(cancelled).lower()
    again = await citizen.say("quiero saber cómo va mi expediente")
    assert "EXP-" in text(again), "the number was forgotten"
