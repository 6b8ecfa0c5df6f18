"""Deadlines through the real app: the inbox shows and filters them, derivation keeps them, the
lifespan worker escalates breaches to the supervisors only (live and listed), and the report.

No Rasa needed: conversations are written straight into the database as handed off."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import websockets
from pydantic import SecretStr
from sqlalchemy import select, update

from desk_api.deadline_models import Deadline
from desk_api.models import Conversation, utcnow
from desk_api.services import calendar, deadlines
from desk_api.settings import Settings
from tests.desk_api.test_inbox_views import add_conversation, agent_ids
from tests.support.clients import EVENT_TIMEOUT, Citizen, DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The app without a Rasa server: nothing here goes through the bot."""
    return Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
    )


@pytest.fixture(autouse=True)
def _fast_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TUA_DEADLINES_CHECK_SECONDS", "0.2")
    monkeypatch.setenv("TUA_KB_WARM_UP", "false")  # no search index built: not needed here
    calendar.reset()
    yield
    calendar.reset()


async def handed_off(settings: Settings, days_ago: float, **kwargs: object) -> str:
    """A queued conversation whose clock started ``days_ago`` (30: long overdue)."""
    async with database(settings) as session:
        cid = await add_conversation(session, state="queued", **kwargs)  # type: ignore[arg-type]
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        await deadlines.start_conversation(
            session, conversation, utcnow() - timedelta(days=days_ago)
        )
        await session.commit()
        return cid


async def types_until(ws: websockets.ClientConnection, wanted: str, count: int) -> list[str]:
    seen: list[str] = []
    async with asyncio.timeout(EVENT_TIMEOUT):
        while seen.count(wanted) < count:
            seen.append(json.loads(await ws.recv()).get("type"))
    return seen


async def test_escalations_reach_the_supervisor_only(settings: Settings, login: Login) -> None:
    n1, n2, admin, supervisor = (
        await login("n1"), await login("n2"), await login("admin"), await login("supervisor"),
    )  # fmt: skip
    async with (
        websockets.connect(n1.ws_url()) as n1_ws,
        websockets.connect(supervisor.ws_url()) as supervisor_ws,
    ):
        await asyncio.sleep(0.2)
        late = [await handed_off(settings, 30), await handed_off(settings, 30)]
        # Two targets (first answer, resolution) of two conversations: four breaches.
        supervisor_saw = await types_until(supervisor_ws, "deadline.escalated", 4)
        n1_saw = await types_until(n1_ws, "deadline.breached", 4)
    assert "deadline.escalated" not in n1_saw
    assert supervisor_saw.count("deadline.breached") == 4  # supervisors see every conversation
    listed = await supervisor.ok("GET", "/deadlines/escalations")
    # Both targets of both conversations breached; each recorded once.
    assert sorted((a["conversation_id"], a["target"]) for a in listed) == sorted(
        (cid, target) for cid in late for target in ("first_response", "resolution")
    )
    for other in (n1, n2, admin):
        refused = await other.call("GET", "/deadlines/escalations")
        assert refused.status_code == 403
        assert "supervisión" in refused.json()["detail"]
    first = listed[0]["id"]
    assert (await n1.call("POST", f"/deadlines/escalations/{first}/acknowledge")).status_code == 403
    done = await supervisor.ok("POST", f"/deadlines/escalations/{first}/acknowledge")
    assert done["acknowledged_at"] is not None
    assert first not in [a["id"] for a in await supervisor.ok("GET", "/deadlines/escalations")]
    assert first in [a["id"] for a in await supervisor.ok("GET", "/deadlines/escalations?all=1")]
    missing = await supervisor.call("POST", "/deadlines/escalations/999999/acknowledge")
    assert missing.status_code == 404
    audit = await supervisor.ok("GET", f"/conversations/{listed[0]['conversation_id']}/audit")
    assert {"deadline.breach", "deadline.acknowledge"} <= {e["action"] for e in audit}
    # A supervisor sees every conversation but administers nothing (the label catalogue, say).
    assert {c["id"] for c in await supervisor.ok("GET", "/conversations?view=all")} >= set(late)
    label = await supervisor.call("POST", "/labels", json={"name": "urgente"})
    assert label.status_code == 403


async def test_inbox_shows_and_filters_deadlines_and_derivation_keeps_them(
    settings: Settings, login: Login
) -> None:
    n1, n2_other = await login("n1"), await login("n2_other")
    late = await handed_off(settings, 30)
    fresh = await handed_off(settings, 0)
    soon = await handed_off(settings, 0)
    now = utcnow()
    async with database(settings) as session:  # warned, not yet due
        await session.execute(
            update(Deadline)
            .where(Deadline.conversation_id == soon)
            .values(first_response_warn_at=now - timedelta(minutes=5))
        )
        await session.commit()
    page = {c["id"]: c for c in await n1.ok("GET", "/conversations?view=queue")}
    assert page[late]["deadline"]["state"] == "vencido"
    assert page[late]["deadline"]["text"] == "Plazo vencido"
    assert page[late]["deadline"]["business_seconds_left"] < 0
    assert page[soon]["deadline"]["state"] == "proximo"
    assert page[fresh]["deadline"]["state"] in ("en_plazo", "proximo")
    breached = await n1.ok("GET", "/conversations?view=queue&deadline=breached")
    assert [c["id"] for c in breached] == [late]
    due_soon = await n1.ok("GET", "/conversations?view=queue&deadline=due_soon")
    assert soon in [c["id"] for c in due_soon] and late not in [c["id"] for c in due_soon]
    bad = await n1.call("GET", "/conversations?deadline=ayer")
    assert bad.status_code == 422

    # Taken, answered (paused: waiting for the citizen), derived: the resolution due stays.
    before = await n1.ok("GET", f"/conversations/{fresh}/deadline")
    await n1.ok("POST", f"/conversations/{fresh}/take")
    await n1.ok("POST", f"/conversations/{fresh}/messages", json={"text": "Le atiendo."})
    waiting = await n1.ok("GET", f"/conversations/{fresh}")
    assert waiting["deadline"]["paused"] is True and waiting["deadline"]["state"] == "pausado"
    assert waiting["deadline"]["first_response_at"] is not None
    await n1.ok("POST", f"/conversations/{fresh}/derive", json={
        "unit_code": "SAMPLE-DEP", "reason": "Es de dependencia"})  # fmt: skip
    after = await n1.ok("GET", f"/conversations/{fresh}/deadline")
    assert after["paused"] is False
    assert after["resolution_due"] >= before["resolution_due"]  # moved only by the pause
    assert after["started_at"] == before["started_at"]
    # Another unit may not see it, nor its deadline.
    assert (await n2_other.call("GET", f"/conversations/{fresh}/deadline")).status_code == 404


async def test_report_and_csv(settings: Settings, login: Login) -> None:
    n1, n2, supervisor = await login("n1"), await login("n2"), await login("supervisor")
    late = await handed_off(settings, 30)
    await handed_off(settings, 0, channel="telegram")
    await handed_off(settings, 30, tier="n2", unit="SAMPLE-DEP")
    async with database(settings) as session:
        ids = await agent_ids(session)
        await session.execute(
            update(Conversation)
            .where(Conversation.id == late)
            .values(state="assigned", assigned_agent_id=ids["informador"])
        )
        await session.commit()
    await n1.ok("POST", f"/conversations/{late}/resolve", json={"note": "Hecho"})
    period = f"from={(utcnow() - timedelta(days=40)).date()}"
    rows = {
        r["key"]: r
        for r in await supervisor.ok("GET", f"/reports/deadlines?group=channel&{period}")
    }
    assert rows["webchat"]["total"] == 2 and rows["telegram"]["total"] == 1
    assert rows["webchat"]["closed"] == 1 and rows["webchat"]["on_time"] == 0
    assert rows["webchat"]["on_time_rate"] == 0.0 and rows["webchat"]["breaches"] == 2
    assert rows["webchat"]["mean_first_response_hours"] > 8
    tiers = {
        r["key"]: r for r in await supervisor.ok("GET", f"/reports/deadlines?group=tier&{period}")
    }
    assert tiers["n1"]["total"] == 2 and tiers["n2"]["total"] == 1
    units = await n2.ok("GET", f"/reports/deadlines?group=unit&{period}")
    assert [r["key"] for r in units] == ["SAMPLE-DEP"]  # N2: its unit only
    assert (await n1.call("GET", "/reports/deadlines")).status_code == 403
    backwards = await supervisor.call("GET", "/reports/deadlines?from=2026-12-10&to=2026-12-01")
    assert backwards.status_code == 422 and "posterior" in backwards.json()["detail"]
    assert (await supervisor.call("GET", "/reports/deadlines?group=agent")).status_code == 422
    csv = await supervisor.call("GET", f"/reports/deadlines?group=channel&format=csv&{period}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeffGrupo;Atenciones;Cerradas;En plazo;% en plazo")
    assert "webchat;2;1;0;0,0;2;" in csv.text
    page = await supervisor.http.get("/desk/plazos")
    assert page.status_code == 200 and "Plazos" in page.text
    async with database(settings) as session:
        assert await session.scalar(select(Deadline.resolved_at).where(
            Deadline.conversation_id == late)) is not None  # fmt: skip


async def test_the_real_hand_off_pauses_resumes_and_resolves(
    citizen: Citizen, login: Login
) -> None:
    """Through the gateway (the bot is down here, so the first message goes to the desk)."""
    answer = await citizen.say("Necesito ayuda con la dependencia de mi madre")
    assert answer["controller"] == "human"
    cid = citizen.conversation_id
    n1 = await login("n1")
    started = await n1.ok("GET", f"/conversations/{cid}/deadline")
    assert started["state"] in ("en_plazo", "proximo") and started["target"] == "first_response"
    assert started["first_response_at"] is None and started["office_code"] == "OF-001"
    await n1.ok("POST", f"/conversations/{cid}/take")
    await n1.ok("POST", f"/conversations/{cid}/messages", json={"text": "¿Me dice su DNI?"})
    paused = await n1.ok("GET", f"/conversations/{cid}/deadline")
    assert paused["state"] == "pausado" and paused["target"] == "resolution"
    assert cid in [c["id"] for c in await n1.ok("GET", "/conversations?view=waiting")]
    await citizen.say("Un momento, lo busco")
    resumed = await n1.ok("GET", f"/conversations/{cid}/deadline")
    assert resumed["paused"] is False and resumed["state"] in ("en_plazo", "proximo")
    await n1.ok("POST", f"/conversations/{cid}/resolve", json={"note": "Informada"})
    done = await n1.ok("GET", f"/conversations/{cid}/deadline")
    assert done["state"] == "cumplido" and done["resolved_at"] is not None


async def test_in_person_attention_uses_its_office(settings: Settings, login: Login) -> None:
    n1 = await login("n1")
    pending = await n1.call("POST", "/attentions", json={
        "office_code": "OF-002", "topic": "Ayuda al alquiler", "outcome": "pendiente",
        "notes": "Falta el certificado de empadronamiento"})  # fmt: skip
    solved = await n1.call("POST", "/attentions", json={
        "office_code": "OF-003", "topic": "Cita previa", "outcome": "resuelta"})  # fmt: skip
    assert pending.status_code == solved.status_code == 201
    async with database(settings) as session:
        rows = {
            d.office_code: d for d in await session.scalars(select(Deadline).order_by(Deadline.id))
        }
    assert set(rows) == {"OF-002", "OF-003"}  # Badajoz's and Cáceres' local holidays apply
    assert rows["OF-002"].resolved_at is None and rows["OF-002"].first_response_at is not None
    assert rows["OF-003"].resolved_at is not None
    open_one = rows["OF-002"].conversation_id
    assert open_one is not None
    shown = await n1.ok("GET", f"/conversations/{open_one}/deadline")
    assert shown["target"] == "resolution" and shown["office_code"] == "OF-002"
