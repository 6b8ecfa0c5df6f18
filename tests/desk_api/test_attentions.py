"""In-person attentions: an informer registers whom they attended at an office; the attention
is a closed «presencial» conversation linked to the person's Miespacio account when found."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from desk_api.channel_models import InPersonAttention
from desk_api.models import utcnow
from desk_api.selfservice.models import Citizen
from desk_api.settings import Settings
from tests.support.clients import DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]


async def miespacio_account(settings: Settings, email: str | None, phone: str | None) -> str:
    """An account as Miespacio leaves it after the code was verified (normalised data)."""
    async with database(settings) as session:
        citizen = Citizen(
            id=str(uuid.uuid4()),
            email=email,
            phone=phone,
            privacy_accepted_at=utcnow(),
            privacy_version="2026-01",
        )
        session.add(citizen)
        await session.commit()
        return citizen.id


def attention(**changes: Any) -> dict[str, Any]:
    body = {
        "office_code": "OF-001",
        "topic": "Renovación del título de familia numerosa",
        "procedure_code": "PROC-0042",
        "procedure_title": "Renovación del título de familia numerosa",
        "outcome": "cita",
        "notes": "Trae el libro de familia; le damos cita para el martes.",
    }
    return {**body, **changes}


async def register(agent: DeskAgent, body: dict[str, Any]) -> dict[str, Any]:
    response = await agent.call("POST", "/attentions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def stored(settings: Settings) -> int:
    async with database(settings) as session:
        return int(await session.scalar(select(func.count()).select_from(InPersonAttention)) or 0)


async def test_an_attention_is_registered_as_a_closed_conversation_of_the_citizen(
    web: str, login: Login, settings: Settings
) -> None:
    ana = await miespacio_account(settings, "ana@correo.es", "+34612345678")
    n1 = await login("n1")
    response = await n1.call(
        "POST", "/attentions", json=attention(dni="12.345.678-z", email="  Ana@Correo.ES ")
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["citizen_id"] == ana and created["dni"] == "12345678Z"
    assert created["agent"]["id"] == n1.me["id"] and created["outcome"] == "cita"
    assert created["office_code"] == "OF-001" and created["procedure_code"] == "PROC-0042"

    cid = created["conversation_id"]
    detail = await n1.ok("GET", f"/conversations/{cid}")
    assert detail["channel"] == "presencial" and detail["state"] == "resolved"
    assert detail["controller"] == "human" and detail["citizen_id"] == ana
    assert detail["assigned_agent"]["id"] == n1.me["id"] and detail["handed_off_at"]
    assert [m["sender"] for m in detail["messages"]] == ["system", "agent"]
    assert "oficina OF-001" in detail["messages"][0]["text"]
    assert "se le ha dado cita" in detail["messages"][0]["text"]
    assert detail["messages"][1]["text"] == attention()["notes"]
    assert detail["handoff"]["reason"] == "in_person"
    assert detail["handoff"]["slots"]["Trámite"].startswith("Renovación del título")
    assert detail["deliveries"] == []  # nothing leaves: the person was there
    everything = await n1.ok("GET", "/conversations", params={"view": "all"})
    assert cid in [c["id"] for c in everything]
    audit = await n1.ok("GET", f"/conversations/{cid}/audit")
    assert [e["action"] for e in audit] == ["attention.created"]
    assert audit[0]["details"]["citizen_found"] is True
    assert "12345678Z" not in str(audit) and "ana@" not in str(audit)

    # By mobile, written as people write it; an unknown email is still registered, unlinked.
    by_phone = await register(n1, attention(phone="612 34 56 78"))
    assert by_phone["citizen_id"] == ana
    unknown = await n1.call("POST", "/attentions", json=attention(email="nadie@correo.es"))
    assert unknown.status_code == 201 and unknown.json()["citizen_id"] is None
    minimal = await n1.call(
        "POST", "/attentions", json={"topic": "Información general", "outcome": "resuelta"}
    )
    assert minimal.status_code == 201, minimal.text
    notes = await n1.ok("GET", f"/conversations/{minimal.json()['conversation_id']}")
    assert notes["messages"][1]["text"] == "Información general"


WRONG = [
    ({"dni": "12345678A"}, "La letra del DNI/NIE no corresponde al número"),
    ({"dni": "X1234567A"}, "La letra del DNI/NIE no corresponde al número"),
    ({"dni": "1234567"}, "no tiene un formato válido"),
    ({"dni": "B12345674"}, "Indique un DNI o un NIE"),  # a company's NIF
    ({"email": "ana@"}, "El correo electrónico no es válido."),
    ({"phone": "12345"}, "El teléfono no es válido"),
    ({"topic": "  "}, "El asunto de la atención no puede estar vacío"),
    ({"outcome": "perdida"}, "outcome"),
]


async def test_wrong_data_and_who_registers_and_sees_the_lists(
    web: str, login: Login, settings: Settings
) -> None:
    await miespacio_account(settings, "ana@correo.es", None)
    await miespacio_account(settings, None, "+34612345678")
    n1, n1_b, n2 = await login("n1"), await login("n1_b"), await login("n2")
    for changes, detail in WRONG:
        response = await n1.call("POST", "/attentions", json=attention(**changes))
        assert response.status_code == 422, changes
        assert detail in response.json()["detail"], (changes, response.json())
    two_people = await n1.call(
        "POST", "/attentions", json=attention(email="ana@correo.es", phone="612345678")
    )
    assert two_people.status_code == 422 and "dos cuentas distintas" in two_people.json()["detail"]
    refused = await n2.call("POST", "/attentions", json=attention())
    assert refused.status_code == 403 and "N1" in refused.json()["detail"]
    assert (await n2.call("GET", "/attentions")).status_code == 403
    assert await stored(settings) == 0

    first = await register(n1, attention(topic="Primera"))
    second = await register(n1_b, attention(topic="Segunda"))
    third = await register(n1, attention(topic="Tercera"))
    mine = await n1.ok("GET", "/attentions", params={"mine": 1})
    assert [a["id"] for a in mine] == [third["id"], first["id"]]  # newest first
    everyone = await n1_b.ok("GET", "/attentions")
    assert [a["id"] for a in everyone] == [third["id"], second["id"], first["id"]]
    assert everyone[1]["agent"]["full_name"] == "Pedro Sánchez"
    # The N2 agent does not see in-person conversations (no unit handled them).
    assert (await n2.call("GET", f"/conversations/{first['conversation_id']}")).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_form_pickers_offices_and_procedures(web: str, login: Login) -> None:
    n1 = await login("n1")
    offices = await n1.ok("GET", "/offices")
    assert any(o["id"] == "OF-001" and o["municipality"] == "Mérida" for o in offices)
    found = await n1.ok("GET", "/procedures", params={"q": "renovar el título de familia numerosa"})
    assert found[0]["title"] == "Renovación del título de familia numerosa"
    assert found[0]["id"].startswith("PROC-")
    assert (await n1.call("GET", "/procedures", params={"q": ""})).status_code == 422
    assert (await (await login("n2")).call("GET", "/offices")).status_code == 403
