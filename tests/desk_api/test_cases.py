"""Complaints and suggestions end to end: the bot registers them with its conversation token, the
citizen asks for their status, the responsible unit answers them in the desk — the real web app
on both databases (no Rasa: the bot's calls are made as its actions make them)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import websockets
from playwright.async_api import async_playwright, expect
from pydantic import SecretStr
from sqlalchemy import select

from connectors import pii_vault
from desk_api.db import make_engine, make_sessionmaker
from desk_api.models import AuditEvent, Conversation, Unit
from desk_api.security import create_self_service_token
from desk_api.selfservice.business_days import (
    BusinessCalendar,
    add_business_days,
    registration_day,
    spanish_date,
)
from desk_api.selfservice.models import Case, CaseEvent, Citizen
from desk_api.services import accounts
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen as ChatCitizen
from tests.support.clients import DeskAgent
from tests.support.servers import web_app_in_thread
from tests.web.test_browser import ARGS, CHROMIUM

SERVICIO_JUEGO = "A11900111"  # Servicio de Juego y Espectáculos Públicos (sample DIR3 feed)
DG_INTERIOR = "A11900110"  # its parent: DG de Emergencias, Protección Civil e Interior
TRANSPARENCIA = "A11900121"  # no desk unit in its chain → the default unit
NEUTRAL = "No encontramos ninguna solicitud con ese código y esos datos"
NO_APPROVAL = '{"queja": false, "sugerencia": false}'  # the one-step answer
DESCRIPTION = "Llamé tres veces al servicio y nadie me atendió ni me devolvió la llamada."
AGENTS = {
    "n2": ("juego_n2", "juego-unidad-n2"),
    "n2_other": ("especialista", "especialista-n2"),  # demo N2 of SAMPLE-DEP
    "n1": ("informador", "informador-n1"),
    "admin": ("admin", "admin-tuatencion"),
}


@dataclass
class Platform:
    base_url: str
    settings: Settings

    def bot(self, conversation_id: str) -> httpx.AsyncClient:
        """A client with the self-service token the gateway would give the bot."""
        token = create_self_service_token(conversation_id, self.settings.jwt_key(), 10)
        return httpx.AsyncClient(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    async def conversation(self, said: str = "") -> tuple[ChatCitizen, httpx.AsyncClient]:
        """A web-chat conversation whose vault holds what the citizen ``said``."""
        citizen = await ChatCitizen(self.base_url).start()
        if said:
            masked = await self.db(lambda s: pii_vault.mask(s, citizen.conversation_id, said))
            assert "[" in masked
        return citizen, self.bot(citizen.conversation_id)

    async def db(self, work: Any) -> Any:
        engine = make_engine(self.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    async def verify(self, *conversation_ids: str) -> str:
        """Link conversations to one Miespacio account (what the sign-up flow does)."""
        citizen_id = str(uuid.uuid4())

        async def link(session: Any) -> None:
            session.add(
                Citizen(id=citizen_id, privacy_accepted_at=datetime.now(UTC), privacy_version="t")
            )
            await session.flush()
            for conversation_id in conversation_ids:
                conversation = await session.get(Conversation, conversation_id)
                conversation.citizen_id = citizen_id

        await self.db(link)
        return citizen_id


@pytest.fixture
def cases_approval() -> str | None:
    """``TUA_CASES_APPROVAL`` for the app (None: the default, approval for quejas only);
    tests of the one-step answer parametrize it off."""
    return None


@pytest.fixture
def platform(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cases_approval: str | None
) -> Iterator[Platform]:
    if cases_approval is not None:
        monkeypatch.setenv("TUA_CASES_APPROVAL", cases_approval)
    settings = Settings(
        database_url=database_url,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        rasa_url="http://127.0.0.1:9",
    )

    async def seed() -> None:
        engine = make_engine(database_url)
        async with make_sessionmaker(engine)() as session:
            await accounts.seed_demo(session)
            await accounts.create_unit(session, DG_INTERIOR, "DG de Emergencias e Interior")
            await accounts.create_agent(
                session, "juego_n2", "Marta Ruiz", "n2", "juego-unidad-n2", DG_INTERIOR
            )
            await session.commit()
        await engine.dispose()

    asyncio.run(seed())
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield Platform(base_url, settings)


@pytest.fixture
async def desk(platform: Platform) -> AsyncIterator[dict[str, DeskAgent]]:
    agents = {
        role: await DeskAgent(platform.base_url).login(*credentials)
        for role, credentials in AGENTS.items()
    }
    yield agents
    for agent in agents.values():
        await agent.aclose()


def complaint(**changes: Any) -> dict[str, Any]:
    body = {
        "tipo": "queja",
        "descripcion": DESCRIPTION,
        "unidad": SERVICIO_JUEGO,
        "fecha": (date.today() - timedelta(days=2)).isoformat(),
        "dni": "[DNI_1]",
        "contacto": "email",
        "contacto_ref": "[EMAIL_1]",
    }
    return {**body, **changes}


def expected_deadline(days: int = 15) -> date:
    calendar = BusinessCalendar()
    today = datetime.now(ZoneInfo("Europe/Madrid")).date()
    return add_business_days(registration_day(today, calendar), days, calendar)


@pytest.mark.parametrize("cases_approval", [NO_APPROVAL])
async def test_a_complaint_is_registered_routed_and_answered(
    platform: Platform, desk: dict[str, DeskAgent]
) -> None:
    citizen, bot = await platform.conversation("12345678Z y ana@correo.es, 612 345 678")
    async with bot:
        created = await bot.post("/api/selfservice/casos", json=complaint())
        assert created.status_code == 201, created.text
        body = created.json()
        year = datetime.now(ZoneInfo("Europe/Madrid")).year
        assert body["codigo"] == f"QS-{year}-000001"
        assert body["tipo"] == "queja"
        assert body["unidad"] == "Servicio de Juego y Espectáculos Públicos"
        deadline = expected_deadline()
        assert body["plazo"] == deadline.isoformat()
        assert body["plazo_texto"] == spanish_date(deadline)

        second = await bot.post(
            "/api/selfservice/casos",
            json=complaint(
                tipo="sugerencia",
                unidad=TRANSPARENCIA,
                fecha=None,
                dni=None,
                contacto="canal",
                contacto_ref=None,
                descripcion="Podrían publicar el estado de las solicitudes: mi [TELEFONO_1].",
            ),
        )
        assert second.status_code == 201, second.text
        assert second.json()["codigo"] == f"QS-{year}-000002"

    # The case record keeps the personal data; the audit trail and the transcript notice do not.
    async def stored(session: Any) -> tuple[list[Case], list[CaseEvent], list[AuditEvent]]:
        found = list(await session.scalars(select(Case).order_by(Case.id)))
        trail = list(await session.scalars(select(CaseEvent).order_by(CaseEvent.id)))
        audits = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "case.create"))
        )
        return found, trail, audits

    (first, suggestion), trail, audits = await platform.db(stored)
    assert (first.dni, first.contact, first.contact_preference) == (
        "12345678Z",
        "ana@correo.es",
        "email",
    )
    assert first.unit_code == SERVICIO_JUEGO and first.unit is not None
    assert first.unit.code == DG_INTERIOR  # routed to the parent's desk unit
    assert first.channel == "webchat" and first.conversation_id == citizen.conversation_id
    assert first.occurred_on == date.today() - timedelta(days=2)
    assert suggestion.unit is not None and suggestion.unit.code == "TUA-QYS"
    assert suggestion.unit.name == "Unidad de Quejas y Sugerencias"
    assert (suggestion.dni, suggestion.contact) == (None, None)
    assert suggestion.description.endswith("mi +34612345678.")  # the record keeps the value
    assert [e.kind for e in trail] == ["registrada", "registrada"]
    assert "12345678Z" not in json.dumps([a.details for a in audits])
    history = await citizen.history()
    notices = [m["text"] for m in history["messages"] if m["sender"] == "system"]
    assert any(first.code in n and spanish_date(first.deadline) in n for n in notices)
    assert all("12345678Z" not in n and "ana@correo.es" not in n for n in notices)

    # The unit's N2 agent sees it (not the other unit's agent); N1 sees all but cannot answer.
    listed = await desk["n2"].ok("GET", "/cases")
    assert [c["code"] for c in listed] == [first.code]
    assert listed[0]["kind"] == "queja" and listed[0]["deadline"] == first.deadline.isoformat()
    assert await desk["n2_other"].ok("GET", "/cases") == []
    hidden = await desk["n2_other"].call("GET", f"/cases/{first.code}")
    assert hidden.status_code == 404 and "no tiene permiso" in hidden.json()["detail"]
    assert {c["code"] for c in await desk["n1"].ok("GET", "/cases")} == {
        first.code,
        suggestion.code,
    }
    refused = await desk["n1"].call("POST", f"/cases/{first.code}/answer", json={"text": "Hola"})
    assert refused.status_code == 403 and "Solo la unidad" in refused.json()["detail"]

    detail = await desk["n2"].ok("GET", f"/cases/{first.code.lower()}")
    assert detail["description"] == DESCRIPTION and detail["dni"] == "12345678Z"
    assert detail["contact"] == "ana@correo.es" and detail["status"] == "registrada"

    # The answer reaches the citizen live on the conversation's channel and in its transcript.
    async with websockets.connect(citizen.ws_url()) as ws:
        answer = "Lamentamos lo ocurrido. Hemos reforzado la atención telefónica del servicio."
        answered = await desk["n2"].ok("POST", f"/cases/{first.code}/answer", json={"text": answer})
        assert answered["status"] == "respondida" and answered["answer"] == answer
        assert [e["kind"] for e in answered["events"]] == ["registrada", "respondida"]
        async with asyncio.timeout(10):
            while True:
                event = json.loads(await ws.recv())
                if event.get("type") == "message":
                    break
        assert first.code in event["message"]["text"] and answer in event["message"]["text"]
    history = await citizen.history()
    assert any(answer in m["text"] for m in history["messages"])
    again = await desk["n2"].call("POST", f"/cases/{first.code}/answer", json={"text": "Otra"})
    assert again.status_code == 409

    async with platform.bot(citizen.conversation_id) as bot:
        status = await bot.post("/api/selfservice/casos/consulta", json={"codigo": first.code})
        assert status.status_code == 200, status.text
        assert status.json()["estado"] == "respondida" and status.json()["respuesta"] == answer
        assert status.json()["unidad"] == "Servicio de Juego y Espectáculos Públicos"

    closed = await desk["n2"].ok("POST", f"/cases/{first.code}/close", json={"note": "Fin"})
    assert closed["status"] == "cerrada" and closed["events"][-1]["note"] == "Fin"
    assert (await desk["n2"].call("POST", f"/cases/{first.code}/close")).status_code == 409
    assert await desk["n2"].ok("GET", "/cases", params={"status": "registrada"}) == []
    await citizen.aclose()


async def test_status_needs_the_conversation_a_second_factor_or_the_verified_account(
    platform: Platform,
) -> None:
    owner, bot = await platform.conversation("mi dni 12345678Z, correo ana@correo.es")
    async with bot:
        created = await bot.post("/api/selfservice/casos", json=complaint())
        assert created.status_code == 201, created.text
    code = created.json()["codigo"]

    # Another conversation: the code alone, a wrong DNI, someone else's email → the same 404.
    stranger, other = await platform.conversation("soy 87654321X y mi correo es eva@correo.es")
    async with other:
        for verification in (None, "[DNI_1]", "[EMAIL_1]", "[DNI_7]"):
            answer = await other.post(
                "/api/selfservice/casos/consulta",
                json={"codigo": code, "verificacion": verification},
            )
            assert answer.status_code == 404, answer.text
            assert answer.json() == {"detail": answer.json()["detail"]}
            assert answer.json()["detail"].startswith(NEUTRAL)
            assert "Juego" not in answer.text and "ana@" not in answer.text
        unknown = await other.post(
            "/api/selfservice/casos/consulta",
            json={"codigo": code.replace("000001", "000999"), "verificacion": "[DNI_1]"},
        )
        assert unknown.status_code == 404 and unknown.json() == answer.json()  # same answer
        bad = await other.post("/api/selfservice/casos/consulta", json={"codigo": "QS-12"})
        assert bad.status_code == 422 and "QS-AAAA-NNNNNN" in bad.json()["detail"]
        wrong_letter = await other.post(
            "/api/selfservice/casos/consulta",
            json={"codigo": code, "verificacion": "[DNI_INVALIDO]"},
        )
        assert wrong_letter.status_code == 422
        assert "La letra del DNI no corresponde al número" in wrong_letter.json()["detail"]
        # Too many failed attempts from one conversation: refused for a while.
        blocked = await other.post(
            "/api/selfservice/casos/consulta",
            json={"codigo": code, "verificacion": "[DNI_1]"},
        )
        assert blocked.status_code == 403 and "demasiadas consultas" in blocked.json()["detail"]

    # The right second factor, from a third conversation, with the code in a sloppy shape.
    helper, third = await platform.conversation("el dni 12345678z y el correo ANA@correo.es")
    async with third:
        sloppy = code.lower().replace("-", " ")
        for verification in ("[DNI_1]", "[EMAIL_1]"):
            answer = await third.post(
                "/api/selfservice/casos/consulta",
                json={"codigo": sloppy, "verificacion": verification},
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["codigo"] == code and answer.json()["estado"] == "registrada"
            assert answer.json()["respuesta"] is None
            assert answer.json()["plazo"] == expected_deadline().isoformat()

    # The verified account: its list, and any of its cases without a second factor.
    await platform.verify(owner.conversation_id, stranger.conversation_id)
    async with platform.bot(stranger.conversation_id) as verified:
        listed = await verified.get("/api/selfservice/casos")
        assert listed.status_code == 200 and [c["codigo"] for c in listed.json()] == [code]
    async with platform.bot(helper.conversation_id) as unverified:
        refused = await unverified.get("/api/selfservice/casos")
        assert refused.status_code == 403 and "Miespacio" in refused.json()["detail"]
    for client in (owner, stranger, helper):
        await client.aclose()


async def test_cases_are_stored_with_the_verified_account(platform: Platform) -> None:
    citizen, bot = await platform.conversation()
    citizen_id = await platform.verify(citizen.conversation_id)
    async with bot:
        created = await bot.post(
            "/api/selfservice/casos", json=complaint(dni=None, contacto="canal", contacto_ref=None)
        )
        assert created.status_code == 201, created.text
        mine = await bot.get("/api/selfservice/casos")
        assert [c["codigo"] for c in mine.json()] == [created.json()["codigo"]]
    case = await platform.db(lambda s: s.scalar(select(Case)))
    assert case.citizen_id == citizen_id
    await citizen.aclose()


async def test_concurrent_submissions_get_distinct_consecutive_codes(platform: Platform) -> None:
    citizens = [await platform.conversation("12345678Z ana@correo.es") for _ in range(6)]

    async def submit(bot: httpx.AsyncClient) -> str:
        async with bot:
            response = await bot.post("/api/selfservice/casos", json=complaint())
            assert response.status_code == 201, response.text
            return str(response.json()["codigo"])

    codes = await asyncio.gather(*(submit(bot) for _, bot in citizens))
    numbers = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert all(re.fullmatch(r"QS-\d{4}-\d{6}", code) for code in codes)
    # The default unit was not needed; no other unit was created by the race either.
    units = await platform.db(lambda s: s.scalars(select(Unit.code)))
    assert "TUA-QYS" not in list(units)
    for citizen, _ in citizens:
        await citizen.aclose()


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"dni": "[DNI_INVALIDO]"}, 422, "La letra del DNI no corresponde al número"),
        ({"dni": "[NIE_INVALIDO]"}, 422, "La letra del NIE no corresponde al número"),
        ({"dni": "[DNI_2]"}, 422, "No tengo ese DNI/NIE"),
        ({"dni": "[EMAIL_1]"}, 422, "No tengo ese DNI/NIE"),
        ({"descripcion": "Fatal."}, 422, "al menos 20 caracteres"),
        ({"descripcion": "x" * 4001}, 422, "demasiado largo"),
        ({"unidad": "A99999999"}, 422, "No encuentro esa unidad"),
        ({"fecha": (date.today() + timedelta(days=3)).isoformat()}, 422, "posterior a hoy"),
        ({"contacto": "telefono", "contacto_ref": "[EMAIL_1]"}, 422, "Necesito el teléfono"),
        ({"contacto": "email", "contacto_ref": None}, 422, "Necesito el correo electrónico"),
        ({"tipo": "denuncia"}, 422, "tipo"),
    ],
)
async def test_bad_submissions_are_refused_and_nothing_is_registered(
    platform: Platform, changes: dict[str, Any], status: int, message: str
) -> None:
    citizen, bot = await platform.conversation("12345678Z ana@correo.es")
    async with bot:
        refused = await bot.post("/api/selfservice/casos", json=complaint(**changes))
        assert refused.status_code == status, refused.text
        assert message in refused.json()["detail"]
        fine = await bot.post("/api/selfservice/casos", json=complaint())
        assert fine.status_code == 201
        assert fine.json()["codigo"].endswith("-000001")  # the refused one took no number
    await citizen.aclose()


async def test_only_the_bot_of_a_conversation_may_register(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url) as anonymous:
        response = await anonymous.post("/api/selfservice/casos", json=complaint())
        assert response.status_code == 401
        desk_like = await anonymous.get("/api/desk/cases", headers={"Authorization": "Bearer nope"})
        assert desk_like.status_code == 401


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("cases_approval", [NO_APPROVAL])
async def test_the_desk_page_lists_opens_and_answers_a_case(
    platform: Platform, chromium: str
) -> None:
    citizen, bot = await platform.conversation("12345678Z y ana@correo.es")
    async with bot:
        code = (await bot.post("/api/selfservice/casos", json=complaint())).json()["codigo"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = await (await browser.new_context(locale="es-ES")).new_page()
            await page.goto(f"{platform.base_url}/desk")
            await page.fill("#login-username", AGENTS["n2"][0])
            await page.fill("#login-password", AGENTS["n2"][1])
            await page.click("#login-submit")
            await page.click("#cases-toggle")
            row = page.locator("#cases-rows tr", has_text=code)
            await expect(row).to_contain_text("Servicio de Juego y Espectáculos Públicos")
            await expect(row).to_contain_text("Pendiente")
            await row.click()
            await expect(page.locator("#case-description")).to_have_text(DESCRIPTION)
            await expect(page.locator("#case-meta")).to_contain_text("ana@correo.es")
            await page.fill("#case-answer-text", "Gracias por avisarnos: ya está resuelto.")
            await page.click("#case-answer-send")
            await expect(page.locator("#case-answer")).to_have_text(
                "Gracias por avisarnos: ya está resuelto."
            )
            await expect(page.locator("#case-meta")).to_contain_text("Respondida")
            await page.click("#cases-toggle")  # back to the conversations
            await expect(page.locator(".layout")).to_be_visible()
        finally:
            await browser.close()
    history = await citizen.history()
    assert any("ya está resuelto" in m["text"] for m in history["messages"])
    await citizen.aclose()
