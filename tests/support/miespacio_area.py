"""A citizen's browser on Miespacio, spoken through httpx (cookies, Origin, CSRF header) the
way the page does it; and the rows a citizen's history is made of."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from desk_api.channel_models import ChannelIdentity
from desk_api.models import Conversation, utcnow
from desk_api.selfservice import sms, smtp_catcher
from desk_api.selfservice.models import Case, CaseEvent, Citizen, CitizenIdentity
from desk_api.services.miespacio_auth import COOKIE
from desk_api.services.transcript import append_message
from tests.support.db import database
from tests.support.miespacio import CODE, App

API = "/miespacio/api"


class Browser:
    """One browser: its cookie jar, its Origin, the CSRF token the page keeps."""

    def __init__(self, app: App, origin: str | None = None) -> None:
        self.app = app
        self.origin = origin or app.url
        self.http = httpx.AsyncClient(base_url=app.url, timeout=30, headers={"Origin": self.origin})
        self.csrf = ""

    @property
    def cookie(self) -> str | None:
        return self.http.cookies.get(COOKIE)

    async def ask_code(self, destination: str) -> httpx.Response:
        return await self.http.post(f"{API}/acceso/codigo", json={"destino": destination})

    async def verify(self, challenge: str, code: str) -> httpx.Response:
        response = await self.http.post(
            f"{API}/acceso/verificar", json={"desafio": challenge, "codigo": code}
        )
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    async def login(self, destination: str) -> httpx.Response:
        kind = "mail" if "@" in destination else "sms"
        seen = sent(self.app, kind)
        asked = await self.ask_code(destination)
        assert asked.status_code == 202, asked.text
        code = await new_code(self.app, kind, seen)
        signed = await self.verify(asked.json()["desafio"], code)
        assert signed.status_code == 200, signed.text
        return signed

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(f"{API}{path}", **kwargs)

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A state-changing call with the page's CSRF header."""
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return await self.http.request(method, f"{API}{path}", headers=headers, **kwargs)

    async def aclose(self) -> None:
        await self.http.aclose()


def texts(app: App, kind: str) -> list[str]:
    """What reached the development catcher (``mail``) or the SMS sandbox, newest first."""
    if kind == "mail":
        return [m.text for m in smtp_catcher.list_mail(app.mail_dir)]
    return [m.text for m in sms.list_sms(app.sms_dir)]


def sent(app: App, kind: str) -> int:
    return len(texts(app, kind))


async def new_code(app: App, kind: str, seen: int) -> str:
    """The code of the message that arrives after the first ``seen`` ones: codes are sent
    after the answer (its timing must not tell whether the account exists)."""
    for _ in range(200):  # 10 s
        if sent(app, kind) > seen:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no new {kind} after {seen}")
    match = CODE.search(texts(app, kind)[0])
    assert match, texts(app, kind)[0]
    return match.group(1)


async def citizen(database_url: str, email: str | None = None, phone: str | None = None) -> str:
    """A Miespacio account (as the bot's sign-up leaves it)."""
    async with database(database_url) as session:
        row = Citizen(
            id=str(uuid.uuid4()),
            email=email,
            phone=phone,
            privacy_accepted_at=utcnow(),
            privacy_version="2026-01",
        )
        session.add(row)
        await session.commit()
        return row.id


async def link(database_url: str, conversation_id: str, citizen_id: str) -> None:
    async with database(database_url) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.citizen_id = citizen_id
        await session.commit()


async def telegram_conversation(database_url: str, citizen_id: str, *texts: str) -> str:
    """A Telegram conversation of a verified identity of the citizen (not linked directly)."""
    async with database(database_url) as session:
        user_hash = uuid.uuid4().hex
        identity = ChannelIdentity(
            channel="telegram", user_hash=user_hash, address="123", created_at=utcnow()
        )
        session.add(identity)
        session.add(
            CitizenIdentity(
                citizen_id=citizen_id,
                channel="telegram",
                channel_user=user_hash,
                verified_by="email",
            )
        )
        await session.flush()
        conversation = Conversation(
            id=str(uuid.uuid4()),
            channel="telegram",
            identity_id=identity.id,
            outbound="outbox",
            controller="bot",
            state="bot",
        )
        session.add(conversation)
        await session.flush()
        for index, text in enumerate(texts):
            await append_message(
                session, conversation.id, "citizen" if index % 2 == 0 else "bot", text
            )
        await session.commit()
        return conversation.id


async def case(
    database_url: str, citizen_id: str | None, conversation_id: str | None, code: str,
    answer: str | None = None,
) -> None:  # fmt: skip
    async with database(database_url) as session:
        row = Case(
            code=code,
            kind="queja",
            status="respondida" if answer else "registrada",
            conversation_id=conversation_id,
            citizen_id=citizen_id,
            channel="webchat",
            unit_code="A11002345",
            unit_name="Servicio de Atención a la Ciudadanía",
            description="La oficina de Mérida estaba cerrada en horario de apertura.",
            contact_preference="canal",
            deadline=date.today() + timedelta(days=20),
            answer=answer,
            answered_at=utcnow() if answer else None,
        )
        session.add(row)
        await session.flush()
        session.add(CaseEvent(case_id=row.id, kind="registrada", actor_type="citizen"))
        if answer:
            session.add(
                CaseEvent(
                    case_id=row.id,
                    kind="respondida",
                    actor_type="agent",
                    actor_id="7",
                    note="nota interna de la unidad",
                )
            )
        await session.commit()
