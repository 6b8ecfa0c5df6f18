"""Citizen participation end to end: web chat → gateway → real Rasa → real actions → the
platform's self-service API → the citizen, on the real web app and database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.processes import free_port
from desk_api.models import Unit, utcnow
from desk_api.participation_models import ParticipatoryProcess, Proposal
from desk_api.services.participation import today
from desk_api.settings import Settings
from tests.support.clients import Citizen
from tests.support.db import database

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
    for button in buttons(answer):
        if button["title"].startswith(title):
            return await citizen.say(button["title"], payload=button["payload"])
    raise AssertionError(f"no button {title!r} in {buttons(answer)}")


async def open_process(settings: Settings, title: str) -> int:
    async with database(settings) as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "SAMPLE-DEP"))
        assert unit is not None
        process = ParticipatoryProcess(
            unit_id=unit.id,
            title=title,
            description="Propuestas para el nuevo plan de la Junta de Extremadura.",
            starts_on=today() - timedelta(days=1),
            ends_on=today() + timedelta(days=15),
            published_at=utcnow(),
        )
        session.add(process)
        await session.commit()
        return process.id


async def test_no_open_process_then_a_proposal_sent(citizen: Citizen, settings: Settings) -> None:
    none = await citizen.say("¿qué procesos de participación hay abiertos?")
    assert "no hay ningún proceso de participación abierto" in text(none), text(none)
    process_id = await open_process(settings, "Plan de Juventud 2027")
    listed = await citizen.say("quiero enviar una propuesta a un proceso participativo")
    assert "Plan de Juventud 2027" in text(listed), text(listed)
    titled = await press(citizen, listed, "Plan de Juventud 2027")
    assert "título breve" in text(titled), text(titled)
    short = await citizen.say("Bono")
    assert "demasiado corto" in text(short), text(short)
    asked = await citizen.say("Bono de alquiler en los pueblos")
    assert "explique su propuesta" in text(asked), text(asked)
    summary = await citizen.say(
        "Propongo que el bono de alquiler joven llegue también a los pueblos pequeños."
    )
    assert "• Proceso: Plan de Juventud 2027" in text(summary), text(summary)
    done = await press(citizen, summary, "Enviar")
    assert "Hemos recibido su propuesta «Bono de alquiler en los pueblos»" in text(done), text(done)
    async with database(settings) as session:
        [stored] = list(await session.scalars(select(Proposal)))
    assert (stored.process_id, stored.status, stored.channel) == (process_id, "received", "webchat")


async def test_looking_only_and_cancelling(citizen: Citizen, settings: Settings) -> None:
    await open_process(settings, "Estrategia de Economía Verde")
    listed = await citizen.say("quiero participar")
    assert "Estrategia de Economía Verde" in text(listed), text(listed)
    cancelled = await press(citizen, listed, "Solo quería consultarlos")
    assert "no envío ninguna propuesta" in text(cancelled), text(cancelled)
    again = await citizen.say("tengo una propuesta para un proceso participativo")
    titled = await press(citizen, again, "Estrategia de Economía Verde")
    assert "título breve" in text(titled), text(titled)
    gone = await citizen.say("déjalo")
    assert "no envío ninguna propuesta" in text(gone), text(gone)
