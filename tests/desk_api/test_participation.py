"""Citizen participation: units publish processes, citizens send proposals (through the bot's
self-service API or Miespacio's service functions), units moderate and answer them; anyone reads
the open processes and their published proposals."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
import websockets
from pydantic import SecretStr
from sqlalchemy import select

from connectors import pii_vault
from desk_api.errors import NotFound
from desk_api.live import LiveHub
from desk_api.models import AuditEvent, Conversation, Message
from desk_api.participation_models import ParticipatoryProcess, Proposal
from desk_api.security import create_self_service_token
from desk_api.selfservice.models import Citizen as CitizenAccount
from desk_api.services import participation
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen, DeskAgent, next_event
from tests.support.db import database
from tests.support.servers import web_app_in_thread

Login = Callable[[str], Awaitable[DeskAgent]]
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DNI = "12345678Z"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """No Rasa needed: citizens reach these routes through the bot's actions, tested apart."""
    return Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
    )


@pytest.fixture
def web(settings: Settings, seeded: dict[str, tuple[str, str]]) -> Iterator[str]:
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield base_url


def process_body(**changes: Any) -> dict[str, Any]:
    today = participation.today()
    body = {
        "title": "Plan de Juventud de Extremadura 2027",
        "description": "Propuestas para el nuevo plan: empleo, vivienda y ocio para jóvenes.",
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
    }
    return {**body, **changes}


async def create(agent: DeskAgent, **changes: Any) -> dict[str, Any]:
    response = await agent.call("POST", "/participation/processes", json=process_body(**changes))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def bot_token(web: str, settings: Settings, said: str = "") -> tuple[str, str]:
    """A citizen's web chat conversation and the self-service token its bot actions get."""
    citizen = await Citizen(web).start()
    await citizen.aclose()
    if said:
        async with database(settings) as session:
            await pii_vault.mask(session, citizen.conversation_id, said)
            await session.commit()
    return citizen.conversation_id, create_self_service_token(
        citizen.conversation_id, settings.jwt_key(), 10
    )


async def propose(web: str, token: str, process_id: int, **changes: Any) -> httpx.Response:
    body = {
        "proceso": process_id,
        "titulo": "Bonos de alquiler joven",
        "texto": "Que el bono de alquiler llegue también a quien trabaja en el campo.",
        **changes,
    }
    async with httpx.AsyncClient(base_url=web) as client:
        return await client.post(
            "/api/selfservice/participacion/propuestas",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )


async def test_who_manages_processes_and_bad_input(web: str, login: Login) -> None:
    n1, n2, n2_other, admin = (
        await login("n1"), await login("n2"), await login("n2_other"), await login("admin")
    )  # fmt: skip
    mine = await create(n2)
    assert (mine["unit"]["code"], mine["status"], mine["may_manage"]) == (
        "SAMPLE-DEP",
        "draft",
        True,
    )
    other = await create(admin, unit_code="SAMPLE-OTRA", title="Estrategia de Economía Verde")
    pid, oid = mine["id"], other["id"]
    refusals = [
        (n1, "POST", "/participation/processes", process_body(), 403),
        (n2, "POST", "/participation/processes", process_body(unit_code="SAMPLE-OTRA"), 403),
        (admin, "POST", "/participation/processes", process_body(), 422),  # which unit?
        (n2_other, "PUT", f"/participation/processes/{pid}", process_body(), 403),
        (n2_other, "POST", f"/participation/processes/{pid}/publish", None, 403),
        (n1, "POST", f"/participation/processes/{pid}/publish", None, 403),
        (n2, "POST", f"/participation/processes/{oid}/close", None, 403),
        (n2, "POST", f"/participation/processes/{pid}/close", None, 409),  # a draft
        (n2, "GET", "/participation/processes/999999", None, 404),
        (n2, "GET", "/participation/processes/99999999999", None, 422),  # no overflow (500)
    ]
    for agent, method, path, body, expected in refusals:
        response = await agent.call(method, path, json=body)
        assert response.status_code == expected, (agent.me["username"], path, response.text)
    # Everyone reads every process; only the unit (and administrators) may manage it.
    for agent, manages in ((n1, set()), (n2, {pid}), (n2_other, {oid}), (admin, {pid, oid})):
        listed = await agent.ok("GET", "/participation/processes")
        assert {p["id"] for p in listed} == {pid, oid}
        assert {p["id"] for p in listed if p["may_manage"]} == manages
    # Dates and texts, refused in Spanish.
    today = participation.today()
    same_day = process_body(ends_on=(today - timedelta(days=1)).isoformat())
    bad = await n2.call("PUT", f"/participation/processes/{pid}", json=same_day)
    assert bad.status_code == 422
    assert bad.json()["detail"] == "La fecha de fin debe ser posterior a la fecha de inicio."
    bad = await n2.call(
        "POST", "/participation/processes", json=process_body(starts_on="2026-13-01")
    )
    assert bad.status_code == 422 and "no es válida: use el formato AAAA-MM-DD" in bad.text
    bad = await n2.call("POST", "/participation/processes", json=process_body(title="  ab "))
    assert bad.status_code == 422 and "título es demasiado corto" in bad.json()["detail"]
    edited = await n2.ok(
        "PUT", f"/participation/processes/{pid}", json=process_body(title="Plan de Juventud")
    )
    assert edited["title"] == "Plan de Juventud" and edited["status"] == "draft"
    ended = (today - timedelta(days=1)).isoformat()
    old = await create(n2, starts_on=(today - timedelta(days=9)).isoformat(), ends_on=ended)
    late = await n2.call("POST", f"/participation/processes/{old['id']}/publish")
    assert late.status_code == 422 and "ya ha pasado" in late.json()["detail"]
    async with httpx.AsyncClient(base_url=web) as anonymous:
        assert (await anonymous.get("/api/desk/participation/processes")).status_code == 401
        created = await anonymous.post("/api/desk/participation/processes", json=process_body())
        assert created.status_code == 401


async def test_publishing_documents_and_the_public_view(web: str, login: Login) -> None:
    n2, n2_other = await login("n2"), await login("n2_other")
    process = await create(n2)
    pid = process["id"]
    upload = await n2.call(
        "POST",
        f"/participation/processes/{pid}/documents",
        files={"file": ("borrador plan.exe", PDF, "application/x-msdownload")},
    )
    assert upload.status_code == 201, upload.text
    document = upload.json()
    # The bytes decide: a PDF misnamed .exe is kept as a PDF with a truthful name.
    assert (document["filename"], document["content_type"]) == (
        "borrador plan.pdf",
        "application/pdf",
    )
    page = b"<html><script>alert(1)</script></html>"
    refused = await n2.call(
        "POST",
        f"/participation/processes/{pid}/documents",
        files={"file": ("anexo.html", page, "text/html")},
    )
    assert refused.status_code == 422 and "solo se admiten documentos PDF" in refused.text
    foreign = await n2_other.call(
        "POST",
        f"/participation/processes/{pid}/documents",
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert foreign.status_code == 403
    async with httpx.AsyncClient(base_url=web) as anonymous:
        # A draft is not public: neither listed, nor readable, nor its documents.
        assert (await anonymous.get("/api/participacion/procesos")).json() == []
        assert (await anonymous.get(f"/api/participacion/procesos/{pid}")).status_code == 404
        url = f"/api/participacion/documentos/{document['id']}"
        assert (await anonymous.get(url)).status_code == 404
        # Agents of any unit read it.
        download = await n2_other.call("GET", f"/participation/documents/{document['id']}")
        assert download.status_code == 200 and download.content == PDF
        published = await n2.ok("POST", f"/participation/processes/{pid}/publish")
        assert published["status"] == "open" and published["published_at"]
        again = await n2.call("POST", f"/participation/processes/{pid}/publish")
        assert again.status_code == 409
        [listed] = (await anonymous.get("/api/participacion/procesos")).json()
        assert listed["titulo"] == process["title"] and listed["estado"] == "abierto"
        assert listed["unidad"] == published["unit"]["name"]
        assert [d["url"] for d in listed["documentos"]] == [url]
        public_file = await anonymous.get(url)
        assert public_file.status_code == 200 and public_file.content == PDF
        assert public_file.headers["content-disposition"].startswith("attachment")
        assert public_file.headers["x-content-type-options"] == "nosniff"
        page_html = await anonymous.get("/participacion")
        assert page_html.status_code == 200 and 'lang="es"' in page_html.text
        # Scheduled processes are public but not open; closing ends it before its date.
        later = await create(
            n2,
            starts_on=(participation.today() + timedelta(days=3)).isoformat(),
            ends_on=(participation.today() + timedelta(days=9)).isoformat(),
        )
        scheduled = await n2.ok("POST", f"/participation/processes/{later['id']}/publish")
        assert scheduled["status"] == "scheduled"
        assert [p["id"] for p in (await anonymous.get("/api/participacion/procesos")).json()] == [
            pid
        ]
        closed = await n2.ok("POST", f"/participation/processes/{pid}/close")
        assert closed["status"] == "closed"
        assert (await n2.call("POST", f"/participation/processes/{pid}/close")).status_code == 409
        assert (await anonymous.get("/api/participacion/procesos")).json() == []
        shown = (await anonymous.get(f"/api/participacion/procesos/{pid}")).json()
        assert shown["estado"] == "cerrado"
        edit = await n2.call("PUT", f"/participation/processes/{pid}", json=process_body())
        assert edit.status_code == 409


async def test_a_proposal_from_the_bot_to_its_answer(
    web: str, login: Login, settings: Settings
) -> None:
    n1, n2, n2_other, admin = (
        await login("n1"), await login("n2"), await login("n2_other"), await login("admin")
    )  # fmt: skip
    process = await create(n2)
    pid = process["id"]
    cid, token = await bot_token(web, settings, f"mi dni es {DNI}")
    draft = await propose(web, token, pid)
    assert draft.status_code == 404  # not published yet: not open to proposals
    await n2.ok("POST", f"/participation/processes/{pid}/publish")
    async with websockets.connect(
        n2.ws_url().replace("/api/desk/ws", "/api/desk/participation/ws")
    ) as live:
        await asyncio.sleep(0.2)
        texto = "Mi DNI es [DNI_1]: pido que el bono de alquiler joven llegue a los pueblos."
        sent = await propose(web, token, pid, texto=texto)
        assert sent.status_code == 201, sent.text
        created = await next_event(live, "proposal.created")
    mine = sent.json()
    assert (mine["estado"], mine["proceso_titulo"]) == ("received", process["title"])
    assert created["proposal"] == {"id": mine["id"], "process_id": pid, "status": "received"}
    assert DNI not in json.dumps(created)
    # The unit reads what the citizen wrote (the bot only ever saw the reference).
    [stored] = await n1.ok("GET", f"/participation/processes/{pid}/proposals")
    assert (
        stored["text"]
        == f"Mi DNI es {DNI}: pido que el bono de alquiler joven llegue a los pueblos."
    )
    assert (stored["channel"], stored["conversation_id"]) == ("webchat", cid)
    # Only the unit (or an administrator) moderates; N1 and other units read only.
    for agent in (n1, n2_other):
        refused = await agent.call(
            "POST", f"/participation/proposals/{mine['id']}/moderate", json={"decision": "publish"}
        )
        assert refused.status_code == 403
    early = await n2.call(
        "POST", f"/participation/proposals/{mine['id']}/answer", json={"text": "Gracias."}
    )
    assert early.status_code == 409 and "Publique la propuesta" in early.json()["detail"]
    published = await n2.ok(
        "POST", f"/participation/proposals/{mine['id']}/moderate", json={"decision": "publish"}
    )
    assert published["status"] == "published"
    twice = await n2.call(
        "POST", f"/participation/proposals/{mine['id']}/moderate", json={"decision": "reject"}
    )
    assert twice.status_code == 409
    async with httpx.AsyncClient(base_url=web) as anonymous:
        [public] = (await anonymous.get("/api/participacion/procesos")).json()
    [shown] = public["propuestas"]
    # Public: personal data masked, no author, no conversation.
    assert shown["texto"].startswith("Mi DNI es [DNI]:") and DNI not in json.dumps(public)
    assert set(shown) == {
        "id",
        "titulo",
        "texto",
        "estado",
        "respuesta",
        "fecha",
        "fecha_respuesta",
    }
    answer = "Lo estudiaremos para la convocatoria de 2027: gracias por su propuesta."
    answered = await admin.ok(
        "POST", f"/participation/proposals/{mine['id']}/answer", json={"text": answer}
    )
    assert answered["status"] == "answered" and answered["answer"] == answer
    again = await n2.call(
        "POST", f"/participation/proposals/{mine['id']}/answer", json={"text": "Otra"}
    )
    assert again.status_code == 409
    # A second proposal is rejected: a reason is required and the citizen is told it.
    second = (await propose(web, token, pid, titulo="Otra idea para el plan")).json()
    no_reason = await n2.call(
        "POST", f"/participation/proposals/{second['id']}/moderate", json={"decision": "reject"}
    )
    assert no_reason.status_code == 422 and "motivo" in no_reason.json()["detail"]
    reason = "Repite una propuesta ya publicada."
    rejected = await n2.ok(
        "POST",
        f"/participation/proposals/{second['id']}/moderate",
        json={"decision": "reject", "reason": reason},
    )
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", reason)
    # The bot lists the conversation's proposals with their status and answer.
    async with httpx.AsyncClient(base_url=web) as client:
        own = await client.get(
            "/api/selfservice/participacion/propuestas",
            headers={"Authorization": f"Bearer {token}"},
        )
        [status_second, status_first] = own.json()
        assert (status_first["estado"], status_first["respuesta"]) == ("answered", answer)
        assert status_second["motivo_rechazo"] == reason
        assert (await client.get("/api/selfservice/participacion/propuestas")).status_code == 401
    async with database(settings) as session:
        texts = list(
            await session.scalars(
                select(Message.text).where(Message.conversation_id == cid).order_by(Message.seq)
            )
        )
        audit = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("proposal.%"))
                .order_by(AuditEvent.id)
            )
        )
    assert any(t.startswith("Propuesta «Bonos de alquiler joven» enviada") for t in texts)
    assert any(answer in t for t in texts) and any(reason in t for t in texts)
    assert [e.action for e in audit] == [
        "proposal.submit", "proposal.publish", "proposal.answer", "proposal.submit",
        "proposal.reject",
    ]  # fmt: skip
    assert DNI not in json.dumps([e.details for e in audit])
    assert "alquiler" not in json.dumps([e.details for e in audit])


async def test_bad_proposals_are_refused_in_spanish(
    web: str, login: Login, settings: Settings
) -> None:
    n2 = await login("n2")
    process = await create(n2)
    await n2.ok("POST", f"/participation/processes/{process['id']}/publish")
    _, token = await bot_token(web, settings)
    short = await propose(web, token, process["id"], texto="Más bancos")
    assert short.status_code == 422 and "al menos 20 caracteres" in short.json()["detail"]
    untitled = await propose(web, token, process["id"], titulo="  ")
    assert untitled.status_code == 422 and "título es demasiado corto" in untitled.json()["detail"]
    missing = await propose(web, token, 424242)
    assert missing.status_code == 404
    assert (await propose(web, token, 2**40)).status_code == 422
    await n2.ok("POST", f"/participation/processes/{process['id']}/close")
    closed = await propose(web, token, process["id"])
    assert closed.status_code == 409 and "no está abierto" in closed.json()["detail"]
    assert (await propose(web, "no-es-un-token", process["id"])).status_code == 401


async def test_a_citizens_proposals_whoever_authenticated_them(
    web: str, login: Login, settings: Settings
) -> None:
    """The service functions Miespacio uses: by account, across linked conversations; never
    another citizen's."""
    n2 = await login("n2")
    process = await create(n2)
    await n2.ok("POST", f"/participation/processes/{process['id']}/publish")
    cid, token = await bot_token(web, settings)
    other_cid, other_token = await bot_token(web, settings)
    assert (await propose(web, token, process["id"])).status_code == 201
    assert (
        await propose(web, other_token, process["id"], titulo="Idea de otra")
    ).status_code == 201
    now = datetime.now(UTC)
    async with database(settings) as session:
        for account in ("ana", "luis"):
            session.add(
                CitizenAccount(
                    id=f"citizen-{account}", privacy_accepted_at=now, privacy_version="2026-01"
                )
            )
        await session.flush()
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        conversation.citizen_id = "citizen-ana"
        await session.commit()
        hub = LiveHub()
        web_proposal = await participation.submit_proposal(
            session,
            hub,
            participation.NewProposal(
                process_id=process["id"],
                title="Desde Miespacio",
                text="Una propuesta escrita en el área personal de Miespacio.",
                channel="miespacio",
                citizen_id="citizen-ana",
            ),
        )
        ana = await participation.proposals_of_citizen(session, "citizen-ana")
        luis = await participation.proposals_of_citizen(session, "citizen-luis")
    assert [p.titulo for p in ana] == ["Desde Miespacio", "Bonos de alquiler joven"]
    assert [p.canal for p in ana] == ["miespacio", "webchat"] and web_proposal.citizen_id
    assert luis == [] and other_cid not in {p.id for p in ana}


def test_a_process_is_open_until_midnight_in_extremadura() -> None:
    """Both dates included, in Spanish local time (CET in winter, CEST in summer)."""
    process = ParticipatoryProcess(
        starts_on=date(2027, 3, 1),
        ends_on=date(2027, 3, 28),  # the night Spain moves to summer time
        published_at=datetime(2027, 2, 1, tzinfo=UTC),
    )
    moments = [
        ("2027-02-28T22:59:00+00:00", "scheduled"),  # 23:59 CET
        ("2027-02-28T23:00:00+00:00", "open"),  # 00:00 CET on 1 March
        ("2027-03-28T21:59:00+00:00", "open"),  # 23:59 CEST on 28 March
        ("2027-03-28T22:00:00+00:00", "closed"),  # 00:00 CEST on 29 March
    ]
    for moment, expected in moments:
        with time_machine.travel(datetime.fromisoformat(moment), tick=False):
            assert participation.status_of(process) == expected, moment
    process.closed_at = datetime(2027, 3, 10, tzinfo=UTC)
    with time_machine.travel(datetime(2027, 3, 15, 12, tzinfo=UTC), tick=False):
        assert participation.status_of(process) == "closed"
    process.published_at = None
    assert participation.status_of(process, date(2027, 3, 15)) == "draft"


async def test_moderation_races_have_one_winner(web: str, login: Login, settings: Settings) -> None:
    """Two agents of the unit decide on the same proposal at once: one wins, one gets 409."""
    n2, admin = await login("n2"), await login("admin")
    process = await create(n2)
    await n2.ok("POST", f"/participation/processes/{process['id']}/publish")
    _, token = await bot_token(web, settings)
    proposal = (await propose(web, token, process["id"])).json()
    path = f"/participation/proposals/{proposal['id']}/moderate"
    results = await asyncio.gather(
        n2.call("POST", path, json={"decision": "publish"}),
        admin.call("POST", path, json={"decision": "reject", "reason": "Duplicada."}),
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    async with database(settings) as session:
        stored = await session.get(Proposal, proposal["id"])
        assert stored is not None and stored.status in ("published", "rejected")
        events = list(
            await session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.in_(("proposal.publish", "proposal.reject"))
                )
            )
        )
    assert len(events) == 1
    with pytest.raises(NotFound):
        async with database(settings) as session:
            await participation.public_process(session, 987654)


def test_analytics_never_see_personal_data() -> None:
    proposal = Proposal(
        id=7,
        process_id=3,
        channel="whatsapp",
        status="received",
        title=f"Soy {DNI}",
        text="Llámenme al 612 345 678 o escriban a ana@correo.es: más autobuses a Zafra.",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    record = participation.masked_for_analytics(proposal)
    assert record["title"] == "Soy [DNI]"
    assert record["text"] == "Llámenme al [TELEFONO] o escriban a [EMAIL]: más autobuses a Zafra."
    assert "citizen_id" not in record and "conversation_id" not in record
