"""Miespacio's web area through the real app: login with a code (real SMTP to the development
catcher, SMS to the sandbox), server-side sessions, the citizen's conversations, cases and
preferences, and that no citizen ever reaches another's data. Both databases; no Rasa (the bot
is unreachable, so a message the citizen writes hands the conversation to the desk)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import websockets
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.processes import free_port
from desk_api.db import make_engine, make_sessionmaker
from desk_api.errors import InvalidInput, Unauthorized
from desk_api.miespacio_models import MiespacioLoginCode, MiespacioPreferences, MiespacioSession
from desk_api.models import AuditEvent, Message, Unit, utcnow
from desk_api.participation_models import ParticipatoryProcess, Proposal
from desk_api.selfservice import smtp_catcher
from desk_api.selfservice.mail import MailSender, MailSettings
from desk_api.selfservice.miespacio import Miespacio, MiespacioSettings
from desk_api.selfservice.outbox import Outbox
from desk_api.selfservice.sms import FileSmsSender
from desk_api.selfservice.smtp_catcher import SmtpCatcher
from desk_api.services import miespacio_auth as auth
from desk_api.services.miespacio_auth import COOKIE, LoginRules, MiespacioAreaSettings, hash_session
from tests.desk_api.test_inbox_views import add_conversation
from tests.support.clients import Citizen
from tests.support.db import database
from tests.support.miespacio import CODE, App, rows, serve
from tests.support.miespacio_area import (
    API,
    Browser,
    case,
    citizen,
    link,
    new_code,
    sent,
    telegram_conversation,
)

EMAIL = "ana.garcia@correo.es"
PHONE = "+34612345678"


async def forget_codes(database_url: str) -> None:
    async with database(database_url) as session:
        await session.execute(delete(MiespacioLoginCode))
        await session.commit()


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with serve(database_url, tmp_path, monkeypatch) as served:
        yield served


async def test_login_with_an_email_code_opens_a_server_side_session(app: App) -> None:
    citizen_id = await citizen(app.database_url, email=EMAIL)
    browser = Browser(app)
    assert (await browser.get("/sesion")).status_code == 401  # anonymous
    elsewhere = Browser(app, origin="https://malo.example")  # login CSRF from another site
    assert (await elsewhere.ask_code(EMAIL)).status_code == 403
    await elsewhere.aclose()
    asked = await browser.ask_code("  Ana.Garcia@Correo.ES ")
    assert asked.status_code == 202, asked.text
    body = asked.json()
    assert body["destino_enmascarado"] == "a***@correo.es"
    code = await new_code(app, "mail", 0)
    (mail,) = smtp_catcher.list_mail(app.mail_dir)  # real SMTP to the catcher
    assert mail.to == EMAIL and mail.subject == "Su código para entrar en Miespacio"
    stored = (await rows(app.database_url, MiespacioLoginCode))[0]
    assert code not in stored.code_hash and EMAIL not in stored.destination_hash

    wrong = "000000" if code != "000000" else "111111"
    refused = await browser.verify(body["desafio"], wrong)
    assert refused.status_code == 422 and "no es correcto" in refused.json()["detail"]
    assert browser.cookie is None
    signed = await browser.verify(body["desafio"], f"{code[:3]} {code[3:]}")
    assert signed.status_code == 200, signed.text
    cookie_header = signed.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie_header.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "Path=/miespacio" in cookie_header and "SameSite=lax" in cookie_header
    assert "secure" not in attributes  # development over plain HTTP; Secure in production
    value = browser.cookie
    assert value is not None and len(value) >= 40
    (session_row,) = await rows(app.database_url, MiespacioSession)
    assert session_row.id_hash == hash_session(value) and value not in session_row.id_hash
    assert session_row.citizen_id == citizen_id

    me = await browser.get("/sesion")
    assert me.status_code == 200 and me.json()["correo"] == "a***@correo.es"
    assert me.json()["csrf_token"] == browser.csrf and me.json()["canales"] == ["email"]
    again = await browser.verify(body["desafio"], code)  # single use
    assert again.status_code == 422

    logins = await rows(app.database_url, AuditEvent, AuditEvent.action == "miespacio.login")
    assert [(e.actor_type, e.actor_id) for e in logins] == [("citizen", citizen_id)]
    assert EMAIL not in json.dumps([e.details for e in logins])
    await browser.aclose()


async def test_an_address_without_account_gets_the_same_answer(app: App) -> None:
    await citizen(app.database_url, email=EMAIL)
    browser = Browser(app)
    known = await browser.ask_code(EMAIL)
    unknown = await browser.ask_code("nadie@correo.es")
    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json())
    assert unknown.json()["mensaje"].startswith("Si esa dirección pertenece a una cuenta")
    await new_code(app, "mail", 0)
    await asyncio.sleep(0.5)
    assert sent(app, "mail") == 1  # only the account got a message
    codes = await rows(app.database_url, MiespacioLoginCode)
    assert len(codes) == 2  # both counted alike
    for attempt in ("123456", "654321"):
        tried = await browser.verify(unknown.json()["desafio"], attempt)
        assert tried.status_code == 422
        assert (
            tried.json()["detail"]
            == "El código no es correcto o ha caducado. Revíselo o pida uno nuevo."
        )
    bogus = await browser.verify(str(uuid.uuid4()), "123456")
    assert bogus.json()["detail"] == tried.json()["detail"]
    await browser.aclose()


async def test_bad_addresses_rate_limits_and_attempts(app: App) -> None:
    await citizen(app.database_url, phone=PHONE)
    browser = Browser(app)
    for bad, expected in (
        ("ana@", "correo electrónico válido"),
        ("924 00 00 00", "teléfono móvil"),  # a landline: the code goes by SMS
        ("12", "teléfono móvil"),
        ("x" * 300, "demasiado largo"),
    ):
        answer = await browser.ask_code(bad)
        assert answer.status_code == 422 and expected in answer.json()["detail"], answer.text
    # SMS: "612 345 678" is the account's +34612345678; the code reaches the sandbox.
    for seen in range(3):
        asked = await browser.ask_code("612 345 678")
        assert asked.status_code == 202 and asked.json()["destino_enmascarado"] == "6** *** *78"
        code = await new_code(app, "sms", seen)
    limited = await browser.ask_code("+34 612 34 56 78")  # the same destination, written otherwise
    assert limited.status_code == 429 and "demasiados códigos" in limited.json()["detail"]
    # Only the newest code works; five wrong attempts block it.
    newest = asked.json()["desafio"]
    for _attempt in range(5):
        wrong = await browser.verify(newest, "000000" if code != "000000" else "111111")
        assert wrong.status_code == 422
    assert "número de intentos" in wrong.json()["detail"]
    assert (await browser.verify(newest, code)).status_code == 422
    # Per IP: ten codes an hour from one address, whatever the destinations.
    for index in range(7):  # 3 already asked (the refused one is not counted)
        assert (await browser.ask_code(f"persona{index}@correo.es")).status_code == 202
    over = await browser.ask_code("otra@correo.es")
    assert over.status_code == 429
    await browser.aclose()


async def test_sessions_rotate_expire_and_end_at_logout(app: App) -> None:
    await citizen(app.database_url, email=EMAIL)
    browser = Browser(app)
    await browser.login(EMAIL)
    first = browser.cookie
    assert first is not None
    await browser.login(EMAIL)  # a new login rotates the id: the old one is gone
    second = browser.cookie
    assert second is not None and second != first
    stale = Browser(app)
    stale.http.cookies.set(COOKIE, first, path="/miespacio")
    assert (await stale.get("/sesion")).status_code == 401
    assert [r.id_hash for r in await rows(app.database_url, MiespacioSession)] == [
        hash_session(second)
    ]

    # Logout: CSRF token and same origin required; then the row is gone and the id refused.
    assert (
        await browser.send("POST", "/acceso/salir", headers={"X-CSRF-Token": ""})
    ).status_code == 403
    foreign = await browser.send(
        "POST", "/acceso/salir", headers={"Origin": "https://malo.example"}
    )
    assert foreign.status_code == 403
    assert (await browser.send("POST", "/acceso/salir")).status_code == 204
    assert await rows(app.database_url, MiespacioSession) == []
    replay = Browser(app)
    replay.http.cookies.set(COOKIE, second, path="/miespacio")
    assert (await replay.get("/sesion")).status_code == 401
    outs = await rows(app.database_url, AuditEvent, AuditEvent.action == "miespacio.logout")
    assert len(outs) == 1

    # Idle timeout (30 minutes) and absolute lifetime (8 hours), by ageing the rows.
    for field, age in (("last_seen_at", timedelta(minutes=31)), ("expires_at", timedelta(0))):
        await forget_codes(app.database_url)  # an hour later: the rate limit allows new codes
        await browser.login(EMAIL)
        assert (await browser.get("/sesion")).status_code == 200
        async with database(app.database_url) as session:
            row = await session.get(MiespacioSession, hash_session(browser.cookie or ""))
            assert row is not None
            setattr(row, field, utcnow() - age)
            await session.commit()
        assert (await browser.get("/sesion")).status_code == 401
        assert await rows(app.database_url, MiespacioSession) == []  # deleted, not just refused
    await browser.aclose()
    await stale.aclose()
    await replay.aclose()


async def test_overview_transcript_and_writing_into_a_conversation(app: App) -> None:
    citizen_id = await citizen(app.database_url, email=EMAIL)
    chat = await Citizen(app.url).start()
    await chat.say("¿Cuándo abre la oficina de Mérida?")  # no bot: handed to the desk
    await link(app.database_url, chat.conversation_id, citizen_id)
    telegram = await telegram_conversation(
        app.database_url, citizen_id, "Hola, quiero la beca de comedor", "Le explico los pasos."
    )
    await case(app.database_url, citizen_id, None, "QS-2026-000001",
               answer="Lamentamos lo ocurrido; hemos revisado el horario.")  # fmt: skip
    await case(app.database_url, None, chat.conversation_id, "QS-2026-000002")
    browser = Browser(app)
    await browser.login(EMAIL)

    sections = (await browser.get("/secciones")).json()
    assert [s["clave"] for s in sections] == ["consultas", "casos", "propuestas"]
    consultas = {item["id"]: item for item in sections[0]["elementos"]}
    assert set(consultas) == {chat.conversation_id, telegram}
    assert consultas[telegram]["titulo"] == "Consulta por Telegram"
    assert consultas[telegram]["resumen"] == "Le explico los pasos."
    assert consultas[chat.conversation_id]["estado"] == "En espera de una persona"
    # Handed to a person: the legal deadline for the answer shows; with the assistant: none.
    due = datetime.fromisoformat(consultas[chat.conversation_id]["plazo"])
    assert timedelta(hours=1) < due - datetime.now(UTC) < timedelta(days=40)
    assert consultas[telegram]["plazo"] is None
    assert {i["id"] for i in sections[1]["elementos"]} == {"QS-2026-000001", "QS-2026-000002"}

    detail = (await browser.get("/casos/qs-2026-000001")).json()
    assert detail["respuesta"].startswith("Lamentamos") and detail["estado_nombre"] == "Respondida"
    assert [h["clave"] for h in detail["historial"]] == ["registrada", "respondida"]
    assert "nota interna" not in json.dumps(detail)

    read = (await browser.get(f"/conversaciones/{telegram}")).json()
    assert [(m["remitente"], m["texto"]) for m in read["mensajes"]] == [
        ("citizen", "Hola, quiero la beca de comedor"),
        ("bot", "Le explico los pasos."),
    ]
    assert read["conversacion"]["canal_nombre"] == "Telegram"

    # Writing from Miespacio into the web chat conversation: one transcript, live to the chat.
    cid = chat.conversation_id
    async with websockets.connect(
        app.url.replace("http", "ws") + f"{API}/conversaciones/{cid}/ws",
        additional_headers={"Cookie": f"{COOKIE}={browser.cookie}", "Origin": app.url},
    ) as live:
        await asyncio.sleep(0.2)
        written = await browser.send(
            "POST", f"/conversaciones/{cid}/mensajes",
            json={"texto": "Escribo desde Miespacio: ¿hay novedades?", "client_message_id": "m-1"},
        )  # fmt: skip
        assert written.status_code == 200, written.text
        assert written.json()["atendida_por"] == "human"
        async with asyncio.timeout(10):
            while json.loads(await live.recv())["type"] != "actualizar":
                pass
    history = await chat.history()
    assert history["messages"][-1]["text"] == "Escribo desde Miespacio: ¿hay novedades?"
    assert history["messages"][-1]["sender"] == "citizen"
    repeated = await browser.send(
        "POST", f"/conversaciones/{cid}/mensajes",
        json={"texto": "Escribo desde Miespacio: ¿hay novedades?", "client_message_id": "m-1"},
    )  # fmt: skip
    assert repeated.json()["mensaje_seq"] == written.json()["mensaje_seq"]  # not stored twice
    assert (
        await browser.get(f"/conversaciones/{cid}", params={"despues": 2**40})
    ).status_code == 422
    newer = (await browser.get(f"/conversaciones/{cid}", params={"despues": 1})).json()
    assert newer["mensajes"][0]["seq"] == 2
    async with database(app.database_url) as session:
        texts = list(
            await session.scalars(select(Message.text).where(Message.conversation_id == cid))
        )
    assert texts.count("Escribo desde Miespacio: ¿hay novedades?") == 1
    # Writing into the Telegram conversation goes through the gateway too (bot unreachable:
    # the desk takes it) and its answers would leave on Telegram through the outbox.
    to_telegram = await browser.send(
        "POST", f"/conversaciones/{telegram}/mensajes", json={"texto": "Sigo aquí"}
    )
    assert to_telegram.status_code == 200 and to_telegram.json()["atendida_por"] == "human"
    blank = await browser.send("POST", f"/conversaciones/{cid}/mensajes", json={"texto": "  "})
    assert blank.status_code == 422
    audited = await rows(app.database_url, AuditEvent, AuditEvent.action == "miespacio.message")
    assert len(audited) == 3 and all(e.actor_id == citizen_id for e in audited)
    await chat.aclose()
    await browser.aclose()


async def test_preferences_only_verified_channels_and_catalogue_topics(app: App) -> None:
    citizen_id = await citizen(app.database_url, email=EMAIL)
    await telegram_conversation(app.database_url, citizen_id)
    browser = Browser(app)
    await browser.login(EMAIL)
    first = (await browser.get("/preferencias")).json()
    assert first["canal_preferido"] is None and first["temas"] == []
    assert first["canales_verificados"] == ["email", "telegram"]
    assert "Educación" in first["temas_disponibles"] and "Vivienda" in first["temas_disponibles"]
    wanted = {"canal_preferido": "telegram", "avisos_correo": True, "avisos_sms": False,
              "temas": ["Vivienda", "Educación", "Vivienda"]}  # fmt: skip
    saved = await browser.send("PUT", "/preferencias", json=wanted)
    assert saved.status_code == 200, saved.text
    assert saved.json()["temas"] == ["Educación", "Vivienda"]  # catalogue order, once
    assert (await browser.get("/preferencias")).json()["canal_preferido"] == "telegram"
    for bad, expected in (
        ({**wanted, "canal_preferido": "whatsapp"}, "canal que haya verificado"),
        ({**wanted, "avisos_sms": True}, "teléfono móvil verificado"),
        ({**wanted, "temas": ["Astrología"]}, "No existe el tema «Astrología»"),
    ):
        refused = await browser.send("PUT", "/preferencias", json=bad)
        assert refused.status_code == 422 and expected in refused.json()["detail"], refused.text
    no_csrf = await browser.http.put(f"{API}/preferencias", json=wanted)
    assert no_csrf.status_code == 403
    (row,) = await rows(app.database_url, MiespacioPreferences)
    assert row.topics == ["Educación", "Vivienda"] and row.notify_email is True
    (event,) = await rows(
        app.database_url, AuditEvent, AuditEvent.action == "miespacio.preferences"
    )
    assert event.actor_id == citizen_id and event.details is not None
    assert "preferred_channel" in event.details["changed"] and EMAIL not in json.dumps(
        event.details
    )
    await browser.aclose()


async def test_a_citizen_never_reaches_another_citizens_data(app: App) -> None:
    ana = await citizen(app.database_url, email=EMAIL)
    luis = await citizen(app.database_url, email="luis@correo.es")
    chat = await Citizen(app.url).start()
    await chat.say("Mi consulta privada")
    await link(app.database_url, chat.conversation_id, ana)
    telegram = await telegram_conversation(app.database_url, ana, "Otra consulta privada")
    await case(app.database_url, ana, None, "QS-2026-000009")
    mine = Browser(app)
    await mine.login(EMAIL)
    await mine.send("PUT", "/preferencias", json={"canal_preferido": "email", "temas": ["Empleo"]})
    other = Browser(app)
    await other.login("luis@correo.es")
    anonymous = Browser(app)
    missing = str(uuid.uuid4())
    reads = [
        f"/conversaciones/{chat.conversation_id}", f"/conversaciones/{telegram}",
        "/casos/QS-2026-000009",
    ]  # fmt: skip
    for path in reads:
        assert (await mine.get(path)).status_code == 200, path
        answer = await other.get(path)
        assert answer.status_code == 404, path  # not 403: the id is not confirmed
        assert "privada" not in answer.text
        assert (await anonymous.get(path)).status_code == 401
    assert (await other.get(f"/conversaciones/{missing}")).json()["detail"] == (
        await other.get(f"/conversaciones/{chat.conversation_id}")
    ).json()["detail"]  # an existing id of someone else looks exactly like a missing one
    for path in ("/conversaciones", "/casos", "/secciones"):
        body = (await other.get(path)).text
        assert chat.conversation_id not in body and telegram not in body and "000009" not in body
        assert (await anonymous.get(path)).status_code == 401
    assert (await other.get("/preferencias")).json()["temas"] == []  # Luis's own, empty
    assert (await anonymous.get("/preferencias")).status_code == 401
    for cid in (chat.conversation_id, telegram):
        write = await other.send("POST", f"/conversaciones/{cid}/mensajes", json={"texto": "hola"})
        assert write.status_code == 404
        assert (await anonymous.send("POST", f"/conversaciones/{cid}/mensajes",
                                     json={"texto": "hola"})).status_code == 401  # fmt: skip
        no_csrf = await mine.http.post(f"{API}/conversaciones/{cid}/mensajes", json={"texto": "x"})
        assert no_csrf.status_code == 403
        for cookie, origin in ((other.cookie, app.url), (mine.cookie, "https://malo.example")):
            with pytest.raises(websockets.InvalidStatus):  # closed before accepting
                async with websockets.connect(
                    app.url.replace("http", "ws") + f"{API}/conversaciones/{cid}/ws",
                    additional_headers={"Cookie": f"{COOKIE}={cookie}", "Origin": origin},
                ):
                    pass
    async with database(app.database_url) as session:
        texts = list(await session.scalars(select(Message.text)))
    assert "hola" not in texts and "x" not in texts
    assert (
        await rows(app.database_url, MiespacioPreferences, MiespacioPreferences.citizen_id == luis)
    ) == []
    for browser in (mine, other, anonymous):
        await browser.aclose()
    await chat.aclose()


async def test_the_page_is_served_with_strict_headers(app: App) -> None:
    browser = Browser(app)
    page = await browser.http.get("/miespacio")
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    await browser.aclose()


# The services with the clock in the test's hands.

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks go forward in Madrid


@dataclass
class Kit:
    rules: LoginRules
    catcher: SmtpCatcher
    sessions: async_sessionmaker[AsyncSession]
    mail_dir: Path


@pytest.fixture
async def kit(database_url: str, tmp_path: Path) -> AsyncIterator[Kit]:
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
    otp = Miespacio.build(MiespacioSettings(), "k" * 48, outbox)
    rules = LoginRules(MiespacioAreaSettings(), otp, True, "https://tuatencion.example")
    try:
        yield Kit(rules, catcher, make_sessionmaker(engine), tmp_path / "mail")
    finally:
        catcher.stop()
        await engine.dispose()


async def asked_and_sent(kit: Kit, session: AsyncSession, now: datetime) -> tuple[str, str]:
    asked = await auth.request_code(session, kit.rules, EMAIL, "10.0.0.1", now)
    assert asked.delivery is not None
    await auth.deliver_code(kit.sessions, kit.rules, asked.delivery)
    match = CODE.search(smtp_catcher.list_mail(kit.mail_dir)[0].text)
    assert match
    return asked.challenge_id, match.group(1)


async def test_codes_expire_are_superseded_and_die_if_not_sent(kit: Kit, database_url: str) -> None:
    await citizen(database_url, email=EMAIL)
    async with kit.sessions() as session:
        challenge, code = await asked_and_sent(kit, session, T0)
        with pytest.raises(InvalidInput, match="no es correcto o ha caducado"):
            await auth.verify_code(
                session, kit.rules, challenge, code, None, T0 + timedelta(minutes=10)
            )
        first, first_code = await asked_and_sent(kit, session, T0 + timedelta(minutes=11))
        second, second_code = await asked_and_sent(kit, session, T0 + timedelta(minutes=12))
        with pytest.raises(InvalidInput):  # the newer code replaced it
            await auth.verify_code(
                session, kit.rules, first, first_code, None, T0 + timedelta(minutes=13)
            )
        await auth.verify_code(
            session, kit.rules, second, second_code, None, T0 + timedelta(minutes=13)
        )
        kit.catcher.stop()  # the mail server goes down: that code was never sent, never works
        asked = await auth.request_code(
            session, kit.rules, EMAIL, "10.0.0.1", T0 + timedelta(minutes=70)
        )
        assert asked.delivery is not None
        await auth.deliver_code(kit.sessions, kit.rules, asked.delivery)
        with pytest.raises(InvalidInput):
            await auth.verify_code(
                session, kit.rules, asked.challenge_id, asked.delivery.code, None,
                T0 + timedelta(minutes=71),
            )  # fmt: skip
    (failed,) = await rows(database_url, MiespacioLoginCode, MiespacioLoginCode.status == "failed")
    assert failed.id == asked.challenge_id
    shown = repr(asked.delivery)  # never printed in a log or a traceback
    assert "code=" not in shown and EMAIL not in shown
    (audit_row,) = await rows(
        database_url, AuditEvent, AuditEvent.action == "miespacio.login_code_not_sent"
    )
    assert EMAIL not in json.dumps(audit_row.details)


async def test_a_session_lives_thirty_idle_minutes_and_eight_hours_at_most(
    kit: Kit, database_url: str
) -> None:
    await citizen(database_url, email=EMAIL)
    async with kit.sessions() as session:
        challenge, code = await asked_and_sent(kit, session, T0)
        signed = await auth.verify_code(session, kit.rules, challenge, code, None, T0)
        assert signed.expires_at == T0 + timedelta(hours=8)  # UTC: the clock change is no matter
        now = T0
        while now + timedelta(minutes=29) < signed.expires_at:  # used every 29 minutes
            now += timedelta(minutes=29)
            await auth.current(session, kit.rules, signed.cookie_value, now)
        with pytest.raises(Unauthorized):
            await auth.current(session, kit.rules, signed.cookie_value, signed.expires_at)
        assert await session.get(MiespacioSession, hash_session(signed.cookie_value)) is None

        challenge, code = await asked_and_sent(kit, session, T0 + timedelta(hours=9))
        signed = await auth.verify_code(
            session, kit.rules, challenge, code, None, T0 + timedelta(hours=9)
        )
        idle_end = T0 + timedelta(hours=9, minutes=30)
        await auth.current(session, kit.rules, signed.cookie_value, idle_end - timedelta(seconds=1))
        with pytest.raises(Unauthorized):
            await auth.current(
                session, kit.rules, signed.cookie_value, idle_end + timedelta(minutes=30)
            )

        # A session left idle and never presented again is tidied away at the next login.
        later = T0 + timedelta(hours=10, minutes=30)
        challenge, code = await asked_and_sent(kit, session, later)
        abandoned = await auth.verify_code(session, kit.rules, challenge, code, None, later)
        later += timedelta(minutes=45)
        challenge, code = await asked_and_sent(kit, session, later)
        await auth.verify_code(session, kit.rules, challenge, code, None, later)
        assert await session.get(MiespacioSession, hash_session(abandoned.cookie_value)) is None
    assert len(await rows(database_url, MiespacioSession)) == 1


async def test_a_code_opens_one_session_even_when_sent_twice_at_once(app: App) -> None:
    """Two tabs (or an attacker racing the citizen) send the right code together: the row lock
    lets exactly one of them in. PostgreSQL only: SQLite has no concurrent writers to race."""
    if not app.database_url.startswith("postgresql"):
        pytest.skip("row-lock race: PostgreSQL")
    await citizen(app.database_url, email=EMAIL)
    first, second = Browser(app), Browser(app)
    asked = await first.ask_code(EMAIL)
    code = await new_code(app, "mail", 0)
    answers = await asyncio.gather(
        *(b.verify(asked.json()["desafio"], code) for b in (first, second, first, second))
    )
    assert sorted(a.status_code for a in answers) == [200, 422, 422, 422]
    assert len(await rows(app.database_url, MiespacioSession)) == 1
    (used,) = await rows(app.database_url, MiespacioLoginCode)
    assert used.status == "used"
    await first.aclose()
    await second.aclose()


async def test_the_citizens_participation_proposals_are_a_section(app: App) -> None:
    """Proposals sent from the account (Miespacio or a linked conversation) show with their
    process and status; another citizen's never do."""
    citizen_id = await citizen(app.database_url, email=EMAIL)
    other_id = await citizen(app.database_url, email="otra@example.org")
    async with database(app.database_url) as session:
        unit = Unit(code="A11990001", name="Servicio de Parques")
        session.add(unit)
        await session.flush()
        process = ParticipatoryProcess(
            unit_id=unit.id, title="Parques de Mérida", description="Ideas para los parques",
            starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), published_at=utcnow(),
        )  # fmt: skip
        session.add(process)
        await session.flush()
        for who, title in ((citizen_id, "Más bancos a la sombra"), (other_id, "Fuentes nuevas")):
            session.add(
                Proposal(process_id=process.id, title=title, text="…", citizen_id=who,
                         channel="miespacio")
            )  # fmt: skip
        await session.commit()
    browser = Browser(app)
    await browser.login(EMAIL)
    sections = (await browser.get("/secciones")).json()
    assert [s["clave"] for s in sections] == ["consultas", "casos", "propuestas"]
    (item,) = sections[2]["elementos"]
    assert item["titulo"] == "Más bancos a la sombra"
    assert item["resumen"] == "Parques de Mérida" and item["estado"]
    await browser.aclose()


async def test_a_phone_call_is_read_but_not_continued_in_writing(app: App) -> None:
    """A call's transcript shows under the channel's name; writing into it is refused clearly."""
    citizen_id = await citizen(app.database_url, email=EMAIL)
    async with database(app.database_url) as session:
        call = await add_conversation(
            session, state="resolved", channel="voz", texts=(("citizen", "Llamo por la beca"),)
        )
        await session.commit()
    await link(app.database_url, call, citizen_id)
    browser = Browser(app)
    await browser.login(EMAIL)
    (mine,) = (await browser.get("/secciones")).json()[0]["elementos"]
    assert mine["titulo"] == "Consulta por Teléfono"
    read = (await browser.get(f"/conversaciones/{call}")).json()
    assert read["conversacion"]["canal_nombre"] == "Teléfono"
    written = await browser.send(
        "POST", f"/conversaciones/{call}/mensajes", json={"texto": "¿Hay novedades?"}
    )
    assert written.status_code == 422 and "llamada" in written.json()["detail"]
    await browser.aclose()
