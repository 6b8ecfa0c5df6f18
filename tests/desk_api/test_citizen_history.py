"""A citizen's history across channels, and who may see how much of it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from connectors import identities
from desk_api.models import Conversation, Unit, utcnow
from desk_api.selfservice.models import Case, Citizen, CitizenIdentity
from desk_api.services import tasks
from desk_api.services.transcript import append_message
from desk_api.settings import Settings
from tests.support.clients import DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]


def account(email: str) -> Citizen:
    return Citizen(
        id=str(uuid.uuid4()), email=email, privacy_accepted_at=utcnow(), privacy_version="2026-01"
    )


def conversation(days_ago: int, **fields: Any) -> Conversation:
    moment = utcnow() - timedelta(days=days_ago)
    return Conversation(id=str(uuid.uuid4()), created_at=moment, updated_at=moment, **fields)


async def ana_across_channels(settings: Settings) -> dict[str, str]:
    """Ana wrote on Telegram before verifying her account (the identity was linked later), on
    WhatsApp about her dependency file (derived to its N2 unit), and phoned out of hours
    (a callback); someone else chatted on the web."""
    now = utcnow()
    async with database(settings) as session:
        units = {u.code: u.id for u in await session.scalars(select(Unit))}
        ana, luis = account("ana@correo.es"), account("luis@correo.es")
        session.add_all([ana, luis])
        telegram_user = identities.user_hash(b"test-key", "telegram", "1234567")
        chat = await identities.upsert(session, "telegram", telegram_user, "1234567", now)
        phone = await identities.upsert(session, "voz", uuid.uuid4().hex, "+34612345678", now)
        await session.flush()
        session.add(
            CitizenIdentity(
                citizen_id=ana.id, channel="telegram", channel_user=telegram_user,
                verified_by="email",
            )
        )  # fmt: skip
        rows = {
            "telegram": conversation(
                3, channel="telegram", identity_id=chat.id, outbound="outbox",
                controller="bot", state="resolved", tier="n1", handed_off_at=now - timedelta(3),
                handoff={"reason": "citizen_request", "summary": "Pregunta por una beca."},
            ),
            "whatsapp": conversation(
                2, channel="whatsapp", citizen_id=ana.id, controller="human", state="queued",
                tier="n2", unit_id=units["SAMPLE-DEP"], handed_off_at=now - timedelta(2),
            ),
            "voz": conversation(1, channel="voz", citizen_id=ana.id, identity_id=phone.id),
            "luis_chat": conversation(
                1, channel="webchat", citizen_id=luis.id, controller="human", state="queued",
                tier="n1", handed_off_at=now,
            ),
        }  # fmt: skip
        session.add_all(rows.values())
        await session.flush()
        await append_message(
            session, rows["whatsapp"].id, "citizen", "Mi expediente de dependencia sigue parado."
        )
        rows["whatsapp"].updated_at = now - timedelta(days=2)
        tasks.create_callback(
            session,
            conversation_id=rows["voz"].id,
            identity_id=phone.id,
            due_on=date.today(),
            details={"recording_url": "https://example.test/RE1", "transcription": "Llámenme."},
        )
        await session.commit()
        return {"ana": ana.id, "luis": luis.id, **{k: v.id for k, v in rows.items()}}


async def complaint_for_another_unit(settings: Settings, ana: str, cid: str) -> None:
    async with database(settings) as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "SAMPLE-OTRA"))
        assert unit is not None
        session.add(
            Case(
                code="QS-2026-000007", kind="queja", status="registrada", conversation_id=cid,
                citizen_id=ana, channel="whatsapp", unit_id=unit.id, unit_code=unit.code,
                unit_name=unit.name, description="Nadie me contesta.",
                contact_preference="canal", deadline=date.today() + timedelta(days=21),
            )
        )  # fmt: skip
        await session.commit()


async def test_the_history_gathers_every_channel_newest_first(
    web: str, login: Login, settings: Settings
) -> None:
    ids = await ana_across_channels(settings)
    n1 = await login("n1")
    response = await n1.call(
        "POST",
        "/attentions",
        json={"email": "ana@correo.es", "topic": "Cita para dependencia", "outcome": "cita",
              "dni": "12345678Z", "notes": "Viene con su hija."},
    )  # fmt: skip
    assert response.status_code == 201
    in_person = response.json()
    await complaint_for_another_unit(settings, ids["ana"], ids["whatsapp"])

    history = await n1.ok("GET", f"/citizens/{ids['ana']}/history")
    conversations = history["conversations"]
    assert [c["id"] for c in conversations] == [
        in_person["conversation_id"], ids["voz"], ids["whatsapp"], ids["telegram"],
    ]  # fmt: skip
    assert [c["channel"] for c in conversations] == ["presencial", "voz", "whatsapp", "telegram"]
    by_channel = {c["channel"]: c for c in conversations}
    # The Telegram chat from before the verification is hers through the linked identity.
    assert by_channel["telegram"]["summary"] == "Pregunta por una beca."
    assert by_channel["whatsapp"]["summary"] == "Mi expediente de dependencia sigue parado."
    assert by_channel["whatsapp"]["unit"]["code"] == "SAMPLE-DEP"
    assert by_channel["whatsapp"]["tier"] == "n2" and by_channel["whatsapp"]["state"] == "queued"
    # The phone call never reached a person: listed, but the desk cannot open it.
    assert by_channel["voz"]["can_open"] is False and by_channel["voz"]["summary"] is None
    assert all(by_channel[c]["can_open"] for c in ("presencial", "whatsapp", "telegram"))
    assert [c["code"] for c in history["cases"]] == ["QS-2026-000007"]
    assert history["attentions"][0]["id"] == in_person["id"]
    assert history["attentions"][0]["dni"] == "12345678Z"
    assert [t["conversation_id"] for t in history["tasks"]] == [ids["voz"]]
    assert history["tasks"][0]["phone"] == "+34612345678"

    detail = await n1.ok("GET", f"/conversations/{ids['whatsapp']}")
    assert detail["citizen_id"] == ids["ana"]
    luis = await n1.ok("GET", f"/citizens/{ids['luis']}/history")
    assert [c["id"] for c in luis["conversations"]] == [ids["luis_chat"]]
    assert luis["cases"] == luis["attentions"] == luis["tasks"] == []


async def test_n2_agents_see_the_history_of_citizens_their_unit_handled(
    web: str, login: Login, settings: Settings
) -> None:
    ids = await ana_across_channels(settings)
    n1, n2, other_unit = await login("n1"), await login("n2"), await login("n2_other")
    url = f"/citizens/{ids['ana']}/history"
    assert (await n1.call("GET", "/citizens/nobody/history")).status_code == 404
    anonymous = DeskAgent(web)
    assert (await anonymous.call("GET", url)).status_code == 401
    await anonymous.aclose()

    # Her WhatsApp conversation is in Javier's unit (SAMPLE-DEP): he sees her history, with
    # summaries only of what he may open, no callbacks and no DNI.
    response = await n1.call(
        "POST", "/attentions",
        json={"email": "ana@correo.es", "topic": "Dependencia", "outcome": "pendiente",
              "dni": "12345678Z"},
    )  # fmt: skip
    assert response.status_code == 201
    history = await n2.ok("GET", url)
    openable = {c["channel"]: c["can_open"] for c in history["conversations"]}
    assert openable == {"presencial": False, "voz": False, "whatsapp": True, "telegram": False}
    assert [c["summary"] is not None for c in history["conversations"]] == [
        False, False, True, False,
    ]  # fmt: skip
    assert history["tasks"] == [] and history["attentions"][0]["dni"] is None
    assert (await n2.call("GET", f"/citizens/{ids['luis']}/history")).status_code == 404

    # Elena's unit handled nothing of Ana's... until a complaint of hers is routed there.
    refused = await other_unit.call("GET", url)
    assert refused.status_code == 404
    assert refused.json()["detail"] == (
        "No existe ese ciudadano o no tiene permiso para ver su historial."
    )
    await complaint_for_another_unit(settings, ids["ana"], ids["whatsapp"])
    history = await other_unit.ok("GET", url)
    assert [c["code"] for c in history["cases"]] == ["QS-2026-000007"]
    assert not any(c["can_open"] for c in history["conversations"])
    assert (await n2.ok("GET", url))["cases"] == []  # not his unit's case
