"""Miespacio sign-up with one-time codes: the real web app, real SMTP to the real development
catcher (aiosmtpd), both databases. The clock is set through the service's ``now``."""

from __future__ import annotations

import logging
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.processes import free_port
from connectors import pii_vault
from desk_api.channel_models import ChannelIdentity
from desk_api.db import make_engine, make_sessionmaker
from desk_api.errors import Conflict, InvalidInput, Unavailable
from desk_api.models import AuditEvent, Conversation
from desk_api.selfservice import miespacio, sms, smtp_catcher
from desk_api.selfservice.mail import MailSender, MailSettings
from desk_api.selfservice.miespacio import Miespacio, MiespacioSettings, RateLimited
from desk_api.selfservice.models import Citizen, CitizenIdentity, OtpChallenge
from desk_api.selfservice.outbox import Outbox
from desk_api.selfservice.sms import FileSmsSender
from desk_api.selfservice.smtp_catcher import SmtpCatcher
from knowledge.settings import KnowledgeSettings
from tests.support.miespacio import CODE, App, make_settings, rows, say, serve
from tests.support.servers import web_app_in_thread

API = "/api/selfservice/miespacio"
PROJECT_LOGGERS = ("desk_api", "connectors", "mail.log", "uvicorn", "httpx", "sqlalchemy")


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with serve(database_url, tmp_path, monkeypatch) as served:
        yield served


async def test_sign_up_with_a_code_sent_by_email(app: App) -> None:
    conversation_id = await app.conversation("mi correo es Ana.Garcia@Correo.es")
    async with app.bot(conversation_id) as bot:
        before = datetime.now(UTC)
        sent = await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
        assert sent.status_code == 201, sent.text
        body = sent.json()
        assert body["destino_enmascarado"] == "a***@correo.es"
        assert body["intentos_restantes"] == 5
        expires = datetime.fromisoformat(body["caduca_en"])
        assert timedelta(minutes=9) < expires - before <= timedelta(minutes=10, seconds=5)

        (mail,) = smtp_catcher.list_mail(app.mail_dir)  # delivered by real SMTP
        assert mail.to == "ana.garcia@correo.es"
        assert mail.sender.startswith("Tuatención <")
        assert mail.subject == "Su código de verificación de Miespacio"
        code = app.last_code()
        assert "Caduca en 10 minutos" in mail.text
        assert mail.html is not None and code in mail.html
        challenge = (await rows(app.database_url, OtpChallenge))[0]
        assert challenge.status == "pending" and code not in challenge.code_hash  # only an HMAC

        page = await bot.get("/sandbox/correo")  # the developer reads it there too
        assert page.status_code == 200 and "Su código de verificación de Miespacio" in page.text
        one = await bot.get(f"/sandbox/correo/{mail.id}")
        assert one.status_code == 200 and code in one.text
        assert (await bot.get("/sandbox/correo/..%2Fjwt_secret")).status_code == 404

        early = await bot.post(f"{API}/alta", json={"acepta_privacidad": True})
        assert early.status_code == 409 and "confirmar el código" in early.json()["detail"]
        short = await bot.post(f"{API}/verificar", json={"codigo": "12345"})
        assert short.status_code == 422 and "6 cifras" in short.json()["detail"]
        spaced = f"{code[:3]} {code[3:]}"  # as people type it
        ok = await bot.post(f"{API}/verificar", json={"codigo": spaced})
        assert ok.status_code == 200 and ok.json() == {"verificado": True}

        notice = await bot.get(f"{API}/aviso-privacidad")
        assert notice.json()["version"] == "2026-01" and "Responsable" in notice.json()["texto"]
        public = await bot.get(notice.json()["url"])
        assert public.status_code == 200 and "Aviso de privacidad" in public.text
        refused = await bot.post(f"{API}/alta", json={"acepta_privacidad": False})
        assert refused.status_code == 422 and "aviso de privacidad" in refused.json()["detail"]
        assert not await rows(app.database_url, Citizen)

        done = await bot.post(f"{API}/alta", json={"acepta_privacidad": True})
        assert done.status_code == 201, done.text
        account = done.json()
        assert account["cuenta_existente"] is False
        assert account["destino_enmascarado"] == "a***@correo.es"
        again = await bot.post(f"{API}/alta", json={"acepta_privacidad": True})
        assert again.status_code == 201 and again.json() == account  # idempotent
        assert (await bot.post(f"{API}/verificar", json={"codigo": code})).status_code == 200
        me = (await bot.get("/api/selfservice/me")).json()
        assert me["citizen_id"] == account["citizen_id"]

    (citizen,) = await rows(app.database_url, Citizen)
    assert (citizen.id, citizen.email, citizen.phone) == (
        account["citizen_id"],
        "ana.garcia@correo.es",
        None,
    )
    assert citizen.privacy_version == "2026-01" and citizen.privacy_accepted_at is not None
    (identity,) = await rows(app.database_url, CitizenIdentity)
    assert (identity.citizen_id, identity.channel, identity.channel_user, identity.verified_by) == (
        citizen.id,
        "webchat",
        conversation_id,
        "email",
    )
    audit = await rows(app.database_url, AuditEvent, AuditEvent.action.like("miespacio.%"))
    assert [e.action for e in audit] == [
        "miespacio.code_sent",
        "miespacio.code_verified",
        "miespacio.signed_up",
    ]
    assert "correo.es" not in str([e.details for e in audit])  # no personal data in the trail


async def test_a_second_channel_joins_the_same_citizen_only_after_its_own_code(app: App) -> None:
    first = await app.conversation("ana@correo.es")
    async with app.bot(first) as bot:
        await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
        await bot.post(f"{API}/verificar", json={"codigo": app.last_code()})
        account = (await bot.post(f"{API}/alta", json={"acepta_privacidad": True})).json()

    second = await app.conversation("escríbame a ANA@correo.es")
    async with app.bot(second) as bot:
        sent = await bot.post(f"{API}/codigo", json={"destino": "EMAIL_1"})
        assert sent.status_code == 201
        claimed = await bot.post(f"{API}/alta", json={"acepta_privacidad": True})
        assert claimed.status_code == 409  # knowing the address is not enough
        assert (await bot.get("/api/selfservice/me")).json()["citizen_id"] is None
        await bot.post(f"{API}/verificar", json={"codigo": app.last_code()})
        joined = await bot.post(f"{API}/alta", json={"acepta_privacidad": True})
        assert joined.status_code == 201
        assert joined.json() == {**account, "cuenta_existente": True}
        assert (await bot.get("/api/selfservice/me")).json()["citizen_id"] == account["citizen_id"]

    assert len(await rows(app.database_url, Citizen)) == 1
    identities = await rows(app.database_url, CitizenIdentity)
    assert sorted(i.channel_user for i in identities) == sorted([first, second])
    assert {i.citizen_id for i in identities} == {account["citizen_id"]}


async def test_a_messaging_identity_is_linked_by_its_hash_not_by_its_conversation(
    app: App,
) -> None:
    """A WhatsApp number or a Telegram chat is linked as the gateway knows it (the identity's
    keyed hash), so the citizen is recognised in their later conversations too."""
    engine = make_engine(app.database_url)
    async with make_sessionmaker(engine)() as session:
        identity = ChannelIdentity(channel="whatsapp", user_hash="h" * 64, address="whatsapp:+34")
        session.add(identity)
        await session.flush()
        conversation = Conversation(
            id=str(uuid.uuid4()), channel="whatsapp", identity_id=identity.id, outbound="outbox"
        )
        session.add(conversation)
        await session.commit()
    await engine.dispose()
    await say(app.database_url, conversation.id, "luis@correo.es")
    async with app.bot(conversation.id) as bot:
        await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
        await bot.post(f"{API}/verificar", json={"codigo": app.last_code()})
        done = await bot.post(f"{API}/alta", json={"acepta_privacidad": True})
        assert done.status_code == 201, done.text
    (link,) = await rows(app.database_url, CitizenIdentity)
    assert (link.channel, link.channel_user) == ("whatsapp", "h" * 64)
    assert link.citizen_id == done.json()["citizen_id"]


async def test_five_wrong_codes_block_the_code_and_a_new_one_works(app: App) -> None:
    conversation_id = await app.conversation("mi email: luis@ejemplo.org")
    async with app.bot(conversation_id) as bot:
        await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
        code = app.last_code()
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        details = []
        for _ in range(5):
            answer = await bot.post(f"{API}/verificar", json={"codigo": wrong})
            assert answer.status_code == 422
            details.append(answer.json()["detail"])
        assert details == [
            "El código no es correcto. Le quedan 4 intentos.",
            "El código no es correcto. Le quedan 3 intentos.",
            "El código no es correcto. Le quedan 2 intentos.",
            "El código no es correcto. Le queda 1 intento.",
            "El código no es correcto. Ha superado el número de intentos. Pida un código nuevo.",
        ]
        sixth = await bot.post(f"{API}/verificar", json={"codigo": code})  # even the right one
        assert sixth.status_code == 422
        assert sixth.json()["detail"] == "Ha superado el número de intentos. Pida un código nuevo."
        assert (await bot.post(f"{API}/alta", json={"acepta_privacidad": True})).status_code == 409

        resent = await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})  # nothing lost
        assert resent.status_code == 201 and resent.json()["intentos_restantes"] == 5
        new_code = app.last_code()
        assert (await bot.post(f"{API}/verificar", json={"codigo": new_code})).status_code == 200
        assert (await bot.post(f"{API}/alta", json={"acepta_privacidad": True})).status_code == 201
    statuses = sorted(c.status for c in await rows(app.database_url, OtpChallenge))
    assert statuses == ["blocked", "completed"]


async def test_references_are_only_this_conversations_emails_and_mobiles(app: App) -> None:
    other = await app.conversation("soy pepe@correo.es, móvil 612 345 678")
    conversation_id = await app.conversation(
        "DNI 12345678Z, fijo 924 123 456, móvil +34 699 11 22 33"
    )
    async with app.bot(conversation_id) as bot:
        for ref in ("[EMAIL_1]", "[DNI_1]", "hola", "[EMAIL_INVALIDO]", "[IBAN_1]"):
            answer = await bot.post(f"{API}/codigo", json={"destino": ref})
            assert answer.status_code == 422, ref
            assert "correo electrónico o un teléfono móvil" in answer.json()["detail"]
        landline = await bot.post(f"{API}/codigo", json={"destino": "[TELEFONO_1]"})
        assert landline.status_code == 422 and "no es un teléfono móvil" in landline.text

        mobile = await bot.post(f"{API}/codigo", json={"destino": "[TELEFONO_2]"})
        assert mobile.status_code == 201 and mobile.json()["destino_enmascarado"] == "6** *** *33"
        (text,) = sms.list_sms(app.sms_dir)
        assert text.to == "+34699112233" and "Miespacio" in text.text
        page = await bot.get("/sandbox/correo")
        assert text.text in page.text  # SMS shown on the same sandbox page
        code = CODE.search(text.text)
        assert code is not None

    async with app.bot(other) as bot:  # another conversation cannot use that code
        stolen = await bot.post(f"{API}/verificar", json={"codigo": code.group(1)})
        assert stolen.status_code == 409 and "Pida uno primero" in stolen.json()["detail"]
    async with app.bot(conversation_id) as bot:
        assert (await bot.post(f"{API}/verificar", json={"codigo": code.group(1)})).is_success
        done = await bot.post(f"{API}/alta", json={"acepta_privacidad": True})
        assert done.status_code == 201 and done.json()["destino_enmascarado"] == "6** *** *33"
    (citizen,) = await rows(app.database_url, Citizen)
    assert (citizen.email, citizen.phone) == (None, "+34699112233")
    async with httpx.AsyncClient(base_url=app.url) as anonymous:
        answer = await anonymous.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
        assert answer.status_code == 401


async def test_rate_limit_answers_429_with_when_to_retry(app: App) -> None:
    conversation_id = await app.conversation("ana@correo.es")
    async with app.bot(conversation_id) as bot:
        for _ in range(3):
            assert (await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})).is_success
        limited = await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
        assert limited.status_code == 429
        assert re.fullmatch(
            r"Ha pedido demasiados códigos en poco tiempo\. Por seguridad, podrá pedir otro a "
            r"partir de las \d\d:\d\d\.",
            limited.json()["detail"],
        )
    assert len(smtp_catcher.list_mail(app.mail_dir)) == 3


async def test_no_code_or_address_in_the_logs(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # the app's level (aiosqlite's DEBUG dumps SQL parameters)
    for name in PROJECT_LOGGERS:  # the app's loggers do not propagate to the root
        logging.getLogger(name).addHandler(caplog.handler)
    try:
        conversation_id = await app.conversation("maria.lopez@correo.es 611 22 33 44")
        async with app.bot(conversation_id) as bot:
            await bot.post(f"{API}/codigo", json={"destino": "[TELEFONO_1]"})
            await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
            code = app.last_code()
            wrong = "000000" if code != "000000" else "111111"
            await bot.post(f"{API}/verificar", json={"codigo": wrong})
            await bot.post(f"{API}/verificar", json={"codigo": code})
            assert (await bot.post(f"{API}/alta", json={"acepta_privacidad": True})).is_success
    finally:
        for name in PROJECT_LOGGERS:
            logging.getLogger(name).removeHandler(caplog.handler)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "miespacio.signed_up" in logged  # the flow was logged...
    for secret in (code, "maria.lopez", "611223344", "611 22 33 44", "+34611223344"):
        assert secret not in logged  # ...without the code or the address


async def test_smtp_down_answers_503_and_leaves_no_usable_code(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("TUA_SMTP_CATCHER", "false")
    monkeypatch.setenv("TUA_SMTP_TIMEOUT_SECONDS", "2")
    settings = make_settings(database_url, tmp_path)
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
        app = App(url, settings, database_url)
        conversation_id = await app.conversation("ana@correo.es")
        async with app.bot(conversation_id) as bot:
            down = await bot.post(f"{API}/codigo", json={"destino": "[EMAIL_1]"})
            assert down.status_code == 503
            assert down.json()["detail"] == (
                "No hemos podido enviar el código ahora mismo. Inténtelo de nuevo en unos minutos."
            )
            for code in ("000000", "123456"):
                answer = await bot.post(f"{API}/verificar", json={"codigo": code})
                assert answer.status_code == 409  # no code to guess
    (challenge,) = await rows(database_url, OtpChallenge)
    assert challenge.status == "failed" and challenge.attempts == 0
    assert not (tmp_path / "var" / "mail").exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_no_sandbox_and_no_catcher_in_production(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("TUA_SMTP_PORT", str(port))
    settings = make_settings(
        database_url, tmp_path, environment="production", rasa_token=SecretStr("r" * 32)
    )
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/sandbox/correo")).status_code == 404
            assert (
                await http.get("/sandbox/correo/20261129T101010123456-abcdef12")
            ).status_code == 404
        with pytest.raises(ConnectionRefusedError):  # nothing listens where the catcher would
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


# The service with the clock in the test's hands.


@dataclass
class Kit:
    ctx: Miespacio
    catcher: SmtpCatcher
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[Kit]:
    port = free_port()
    catcher = SmtpCatcher(tmp_path / "mail", port)
    catcher.start()
    outbox = Outbox(
        mail=MailSender(MailSettings(port=port, timeout_seconds=2)),
        sms=FileSmsSender(tmp_path / "sms"),
        mail_dir=tmp_path / "mail",
        sms_dir=tmp_path / "sms",
    )
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        for conversation_id in ("c1", "c2"):
            session.add(Conversation(id=conversation_id, channel="webchat"))
        await session.commit()
        await pii_vault.mask(session, "c1", "ana@correo.es, luis@correo.es y eva@correo.es")
        await session.commit()
    try:
        yield Kit(Miespacio.build(MiespacioSettings(), "k" * 48, outbox), catcher, sessions)
    finally:
        catcher.stop()
        await engine.dispose()


def _code(mail_dir: Path) -> str:
    match = CODE.search(smtp_catcher.list_mail(mail_dir)[0].text)
    assert match
    return match.group(1)


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Madrid


async def test_an_expired_code_is_refused_and_a_late_sign_up_too(service: Kit) -> None:
    ctx, sessions = service.ctx, service.sessions
    async with sessions() as session:
        sent = await miespacio.request_code(session, ctx, "c1", "[EMAIL_1]", T0)
        assert sent.expires_at == T0 + timedelta(minutes=10)
        code = _code(ctx.outbox.mail_dir)
        with pytest.raises(InvalidInput, match=r"^El código ha caducado \(vale 10 minutos\)\. "):
            await miespacio.verify_code(session, ctx, "c1", code, T0 + timedelta(minutes=10))
        assert await miespacio.attempts_left(session, ctx, "c1") == 5  # no attempt spent

        await miespacio.request_code(session, ctx, "c1", "[EMAIL_1]", T0 + timedelta(minutes=11))
        code = _code(ctx.outbox.mail_dir)
        await miespacio.verify_code(session, ctx, "c1", code, T0 + timedelta(minutes=12))
        with pytest.raises(Conflict, match="demasiado tiempo"):
            await miespacio.sign_up(
                session, ctx, "c1", "webchat", "c1", True, T0 + timedelta(minutes=43)
            )
        done = await miespacio.sign_up(
            session, ctx, "c1", "webchat", "c1", True, T0 + timedelta(minutes=41)
        )
        citizen = await session.get(Citizen, done.citizen_id)
        assert citizen is not None and citizen.privacy_version == "2026-01"


async def test_a_new_code_replaces_the_previous_one_only_once_sent(service: Kit) -> None:
    ctx, catcher, sessions = service.ctx, service.catcher, service.sessions
    async with sessions() as session:
        await miespacio.request_code(session, ctx, "c1", "[EMAIL_1]", T0)
        first = _code(ctx.outbox.mail_dir)
        await miespacio.request_code(session, ctx, "c1", "[EMAIL_1]", T0 + timedelta(minutes=1))
        second = _code(ctx.outbox.mail_dir)
        if first != second:
            with pytest.raises(InvalidInput, match="no es correcto"):
                await miespacio.verify_code(session, ctx, "c1", first, T0 + timedelta(minutes=2))
        await miespacio.request_code(session, ctx, "c1", "[EMAIL_2]", T0 + timedelta(minutes=3))
        third = _code(ctx.outbox.mail_dir)

        catcher.stop()  # the mail server goes down: the new code is not sent...
        with pytest.raises(Unavailable):
            await miespacio.request_code(session, ctx, "c1", "[EMAIL_3]", T0 + timedelta(minutes=4))
        # ...so the one the citizen already has still works
        await miespacio.verify_code(session, ctx, "c1", third, T0 + timedelta(minutes=5))
        done = await miespacio.sign_up(
            session, ctx, "c1", "webchat", "c1", True, T0 + timedelta(minutes=6)
        )
        citizen = await session.get(Citizen, done.citizen_id)
        assert citizen is not None and citizen.email == "luis@correo.es"


async def test_rate_limits_per_address_and_per_conversation(service: Kit) -> None:
    ctx, sessions = service.ctx, service.sessions
    async with sessions() as session:
        for minute in range(3):
            at = T0 + timedelta(minutes=minute)
            await miespacio.request_code(session, ctx, "c1", "[EMAIL_1]", at)
        with pytest.raises(RateLimited, match=r"a partir de las 11:00\.$"):  # Madrid time
            await miespacio.request_code(session, ctx, "c1", "[EMAIL_1]", T0 + timedelta(minutes=5))
        for minute in (6, 7):
            at = T0 + timedelta(minutes=minute)
            await miespacio.request_code(session, ctx, "c1", "[EMAIL_2]", at)
        with pytest.raises(RateLimited):  # five per conversation and hour
            await miespacio.request_code(session, ctx, "c1", "[EMAIL_3]", T0 + timedelta(minutes=8))
        later = T0 + timedelta(minutes=61)
        await miespacio.request_code(session, ctx, "c1", "[EMAIL_1]", later)
        count = await session.scalar(select(func.count()).select_from(OtpChallenge))
        assert count == 6


async def test_a_linked_conversation_adds_a_mobile_but_never_a_second_email(service: Kit) -> None:
    ctx, sessions = service.ctx, service.sessions
    async with sessions() as session:

        async def verify(ref: str, minute: int) -> None:
            at = T0 + timedelta(minutes=minute)
            await miespacio.request_code(session, ctx, "c1", ref, at)
            if ref.startswith("[EMAIL"):
                code = _code(ctx.outbox.mail_dir)
            else:
                code = CODE.findall(sms.list_sms(ctx.outbox.sms_dir)[0].text)[0]
            await miespacio.verify_code(session, ctx, "c1", code, at)

        await verify("[EMAIL_1]", 0)
        first = await miespacio.sign_up(session, ctx, "c1", "webchat", "c1", True, T0)
        assert (
            await pii_vault.mask(session, "c1", "y mi móvil 699 112 233")
            == "y mi móvil [TELEFONO_1]"
        )
        await session.commit()
        await verify("[TELEFONO_1]", 1)
        second = await miespacio.sign_up(session, ctx, "c1", "webchat", "c1", True, T0)
        assert (second.citizen_id, second.existing_account) == (first.citizen_id, True)
        citizen = await session.get(Citizen, first.citizen_id, populate_existing=True)
        assert citizen is not None
        assert (citizen.email, citizen.phone) == ("ana@correo.es", "+34699112233")

        await verify("[EMAIL_2]", 2)
        with pytest.raises(Conflict, match="ya está vinculada a otra cuenta"):
            await miespacio.sign_up(session, ctx, "c1", "webchat", "c1", True, T0)
        await session.rollback()
        assert await session.scalar(select(func.count()).select_from(Citizen)) == 1
