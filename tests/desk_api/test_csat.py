"""CSAT: the citizen rates the attention after a person resolved it, on their own channel.

The real app, the real Rasa stack (its tracker proves what the bot was never shown), real
databases; only Twilio is faked (a local server speaking its REST API, driven by ``twilio``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import websockets
from sqlalchemy import select, update

from bot.processes import free_port
from connectors.channels import Capabilities, InboundMessage, Outgoing, Recipient
from connectors.delivery import DeliveryWorker, RetryPolicy
from connectors.gateway import Gateway
from connectors.rasa_client import RasaClient
from desk_api.db import make_engine, make_sessionmaker
from desk_api.desk_models import SatisfactionSurvey
from desk_api.live import LiveHub
from desk_api.models import Agent, AuditEvent, Conversation, Unit, utcnow
from desk_api.services import accounts, csat, desk
from desk_api.services.desk import DeskContext
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen, DeskAgent, next_event
from tests.support.db import database
from tests.support.fake_twilio import FakeTwilio, TwilioWebhooks
from tests.support.servers import web_app_in_thread

Login = Callable[[str], Awaitable[DeskAgent]]
rasa = pytest.mark.rasa


def press(rating: int) -> dict[str, str]:
    return {"payload": csat.PAYLOAD.format(rating)}


@pytest.fixture(autouse=True)
def _fresh_csat_settings() -> Iterator[None]:
    """``TUA_CSAT_*`` is read once per process; tests that change it start from a clean read."""
    csat.get_settings.cache_clear()
    yield
    csat.get_settings.cache_clear()


async def surveys(settings: Settings | str, conversation_id: str) -> list[SatisfactionSurvey]:
    async with database(settings) as session:
        found = await session.scalars(
            select(SatisfactionSurvey)
            .where(SatisfactionSurvey.conversation_id == conversation_id)
            .order_by(SatisfactionSurvey.id)
        )
        return list(found)


async def user_texts(settings: Settings, conversation_id: str) -> list[str]:
    """What Rasa's tracker recorded the citizen saying."""
    assert settings.rasa_token is not None
    client = RasaClient(settings.rasa_url, settings.rasa_token.get_secret_value(), 10)
    try:
        events = await client.tracker_events(conversation_id)
    finally:
        await client.aclose()
    return [str(e.get("text")) for e in events if e.get("event") == "user"]


async def attended_and_resolved(citizen: Citizen, agent: DeskAgent) -> str:
    cid = citizen.conversation_id
    answer = await citizen.say("Hablar con una persona", payload="/hablar_con_agente")
    assert answer["controller"] == "human"
    await agent.ok("POST", f"/conversations/{cid}/take")
    await agent.ok("POST", f"/conversations/{cid}/messages", json={"text": "Ya está resuelto."})
    await agent.ok("POST", f"/conversations/{cid}/resolve")
    return cid


# --- the rules, without the app -----------------------------------------------------------------


def test_option_n_is_rating_n_and_the_comment_rule() -> None:
    titles = [b["title"] for b in csat.buttons()]
    assert titles == ["1 · Muy mala", "2 · Mala", "3 · Regular", "4 · Buena", "5 · Muy buena"]
    assert [csat.pressed_rating(b["payload"]) for b in csat.buttons()] == [1, 2, 3, 4, 5]
    assert csat.pressed_rating('/valorar_atencion{"valoracion": 6}') is None
    assert csat.pressed_rating("/hablar_con_agente") is None
    assert [csat.typed_rating(t) for t in ("4", " 5 ", "0", "6", "45", "cuatro")] == [
        4, 5, None, None, None, None,
    ]  # fmt: skip
    comments = ["Muy amable y rápida, gracias", "todo bien", "La espera fue larga."]
    for text in comments:
        assert csat.is_comment(text, text), text
    not_comments = [
        ("¿Cuál es el horario de la oficina de Mérida?", None),
        ("y el horario?", None),
        ("Quiero pagar la tasa de la ITV", None),
        ("Hola otra vez", None),
        ("Necesito otro certificado", None),
        ("Cómo pido cita", None),
        ("Horario de atención", "/horario_atencion"),  # a button: never a comment
    ]
    for text, payload in not_comments:
        assert not csat.is_comment(text, payload or text), text


def test_csv_is_for_spanish_excel() -> None:
    rows = [
        csat.ReportRow("7", '=HYPERLINK("x")', 3, 2, 0.667, 4.5, {"4": 1, "5": 1}),
        csat.ReportRow("8", "José Núñez", 1, 0, 0.0, None, {}),
    ]
    data = csat.as_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:6] == [
        "Clave", "Nombre", "Encuestas", "Respuestas", "Tasa de respuesta (%)", "Media",
    ]  # fmt: skip
    assert table[1] == ["7", '\'=HYPERLINK("x")', "3", "2", "66,7", "4,50", "0", "0", "0", "1", "1"]
    assert table[2] == ["8", "José Núñez", "1", "0", "0,0", "", *"00000"]


# --- web chat, end to end -----------------------------------------------------------------------


@rasa
async def test_web_chat_rating_and_comment_never_reach_the_bot(
    citizen: Citizen, login: Login, settings: Settings
) -> None:
    n1 = await login("n1")
    cid = citizen.conversation_id
    async with websockets.connect(citizen.ws_url()) as ws:
        await attended_and_resolved(citizen, n1)
        while True:  # the question arrives live, with its buttons
            pushed = (await next_event(ws, "message"))["message"]
            if pushed["buttons"]:
                break
    assert pushed["sender"] == "bot" and pushed["text"] == csat.QUESTION
    assert [b["title"] for b in pushed["buttons"]][-1] == "5 · Muy buena"
    [survey] = await surveys(settings, cid)
    assert (survey.status, survey.agent_id, survey.unit_id, survey.channel) == (
        "asked", n1.me["id"], None, "webchat",
    )  # fmt: skip

    rated = await citizen.say("4 · Buena", **press(4))
    assert [r["text"] for r in rated["replies"]] == [csat.THANKS_RATING]
    assert rated["controller"] == "bot"
    again = await citizen.say("5 · Muy buena", **press(5))  # a second press: thanked only
    assert [r["text"] for r in again["replies"]] == [csat.ALREADY_RATED]
    comment = "Muy amable y rápida, gracias"
    thanked = await citizen.say(comment)
    assert [r["text"] for r in thanked["replies"]] == [csat.THANKS_COMMENT]
    [survey] = await surveys(settings, cid)
    assert (survey.status, survey.rating, survey.comment) == ("closed", 4, comment)
    assert survey.rated_at is not None

    # The survey is over: the next message is the bot's again.
    answer = await citizen.say("¿cuál es el horario de la oficina de Mérida?")
    assert answer["replies"] and all(r["sender"] == "bot" for r in answer["replies"])
    assert csat.THANKS_COMMENT not in [r["text"] for r in answer["replies"]]
    said = await user_texts(settings, cid)
    assert said[-1] == "¿cuál es el horario de la oficina de Mérida?"
    assert not any("valorar_atencion" in t or "Buena" in t or comment in t for t in said)
    # The trail keeps the rating, not the comment's words.
    async with database(settings) as session:
        trail = list(await session.scalars(
            select(AuditEvent).where(
                AuditEvent.conversation_id == cid, AuditEvent.action.like("csat.%")
            ).order_by(AuditEvent.id)
        ))  # fmt: skip
    assert [(e.action, (e.details or {}).get("rating")) for e in trail] == [
        ("csat.rate", 4), ("csat.comment", None),
    ]  # fmt: skip
    assert comment not in json.dumps([e.details for e in trail])


@rasa
async def test_other_messages_close_the_survey_and_go_to_the_bot(
    web: str, login: Login, settings: Settings
) -> None:
    n1, n2 = await login("n1"), await login("n2")
    # 1. A question instead of a rating: the survey closes unanswered, the bot answers.
    first = await Citizen(web).start()
    try:
        await attended_and_resolved(first, n1)
        answer = await first.say("¿cuál es el horario de la oficina de Mérida?")
        assert answer["replies"] and csat.THANKS_RATING not in str(answer["replies"])
        typed = await first.say("4")  # no survey open any more: the bot's, too
        assert csat.THANKS_RATING not in str(typed["replies"])
        late = await first.say("4 · Buena", **press(4))  # an old button: not for the bot
        assert [r["text"] for r in late["replies"]] == [csat.SURVEY_CLOSED]
        [survey] = await surveys(settings, first.conversation_id)
        assert (survey.status, survey.rating) == ("closed", None)
        said = await user_texts(settings, first.conversation_id)
        assert said[-2:] == ["¿cuál es el horario de la oficina de Mérida?", "4"]
    finally:
        await first.aclose()

    # 2. Derived to N2 and resolved there; answered after TUA_CSAT_ANSWER_HOURS: the bot's.
    second = await Citizen(web).start()
    try:
        cid = second.conversation_id
        await second.say("Hablar con una persona", payload="/hablar_con_agente")
        await n1.ok("POST", f"/conversations/{cid}/take")
        await n1.ok(
            "POST",
            f"/conversations/{cid}/derive",
            json={"unit_code": "SAMPLE-DEP", "reason": "Dependencia"},
        )
        await n2.ok("POST", f"/conversations/{cid}/take")
        await n2.ok("POST", f"/conversations/{cid}/resolve")
        [survey] = await surveys(settings, cid)
        assert survey.agent_id == n2.me["id"] and survey.unit_id is not None
        async with database(settings) as session:
            await session.execute(
                update(SatisfactionSurvey)
                .where(SatisfactionSurvey.id == survey.id)
                .values(asked_at=utcnow() - timedelta(hours=24, minutes=1))
            )
            await session.commit()
        expired = await second.say("5")
        assert csat.THANKS_RATING not in str(expired["replies"])
        [survey] = await surveys(settings, cid)
        assert (survey.status, survey.rating) == ("closed", None)
        assert (await user_texts(settings, cid))[-1] == "5"
    finally:
        await second.aclose()

    # 3. After the rating, a new request is not a comment: it closes the survey, the bot answers.
    third = await Citizen(web).start()
    try:
        await attended_and_resolved(third, n1)
        await third.say("3")  # typed: a rating too
        request = await third.say("quiero pagar la tasa de la ITV")
        assert any(r["buttons"] for r in request["replies"]), "the bot's ITV form asks"
        [survey] = await surveys(settings, third.conversation_id)
        assert (survey.status, survey.rating, survey.comment) == ("closed", 3, None)
    finally:
        await third.aclose()


@rasa
async def test_nothing_is_asked_when_disabled(
    citizen: Citizen, login: Login, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUA_CSAT_ENABLED", "false")
    csat.get_settings.cache_clear()
    cid = await attended_and_resolved(citizen, await login("n1"))
    assert await surveys(settings, cid) == []
    history = (await citizen.history())["messages"]
    assert csat.QUESTION not in [m["text"] for m in history]
    typed = await citizen.say("4")
    assert (await user_texts(settings, cid))[-1] == "4" and typed["replies"]


# --- WhatsApp, end to end -----------------------------------------------------------------------

ACCOUNT_SID = "AC" + secrets.token_hex(16)
AUTH_TOKEN = secrets.token_hex(16)
BUSINESS = "+34900222012"
PHONE = "+34600111333"


@dataclass
class WhatsApp:
    url: str
    twilio: FakeTwilio
    hooks: TwilioWebhooks

    async def said(self, text: str, after: int) -> str:
        sent = await self.twilio.wait_for_text(text, to=f"whatsapp:{PHONE}", after=after)
        return sent.body


@pytest.fixture
async def whatsapp(
    settings: Settings, seeded: dict[str, tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WhatsApp]:
    """The real app with WhatsApp configured on a local fake of Twilio (``TUA_TWILIO_*``)."""
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).running() as twilio:
        for key, value in {
            "ACCOUNT_SID": ACCOUNT_SID,
            "AUTH_TOKEN": AUTH_TOKEN,
            "API_URL": twilio.url,
            "WHATSAPP_FROM": f"whatsapp:{BUSINESS}",
            "TIMEOUT_SECONDS": "1.5",
        }.items():
            monkeypatch.setenv(f"TUA_TWILIO_{key}", value)
        monkeypatch.delenv("TUA_TWILIO_WHATSAPP_TEMPLATE_SID", raising=False)
        monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))
        fast = settings.model_copy(update={"delivery_backoff_seconds": 0.05})
        with web_app_in_thread(fast, KnowledgeSettings(warm_up=False)) as url:
            hooks = TwilioWebhooks(url, twilio, BUSINESS)
            try:
                yield WhatsApp(url, twilio, hooks)
            finally:
                await hooks.aclose()


@rasa
async def test_whatsapp_numbered_option_rates_and_the_comment_is_kept(
    whatsapp: WhatsApp, seeded: dict[str, tuple[str, str]], settings: Settings
) -> None:
    twilio, hooks = whatsapp.twilio, whatsapp.hooks
    await hooks.message(PHONE, "quiero hablar con una persona")
    await whatsapp.said("Le paso con una persona", after=0)
    n1 = await DeskAgent(whatsapp.url).login(*seeded["n1"])
    try:
        [queued] = await n1.ok("GET", "/conversations", params={"view": "queue"})
        cid = queued["id"]
        await n1.ok("POST", f"/conversations/{cid}/take")
        seen = len(twilio.messages)
        await n1.ok("POST", f"/conversations/{cid}/resolve")
    finally:
        await n1.aclose()
    question = await whatsapp.said("¿Cómo valora", after=seen)
    assert "\n1. 1 · Muy mala\n" in question and "\n5. 5 · Muy buena\n" in question
    assert question.endswith("Responda 1, 2, 3, 4 o 5.")

    seen = len(twilio.messages)
    await hooks.message(PHONE, "la cuarta")
    await whatsapp.said(csat.THANKS_RATING, after=seen)
    seen = len(twilio.messages)
    await hooks.message(PHONE, "Me resolvieron todo muy rápido")
    await whatsapp.said(csat.THANKS_COMMENT, after=seen)
    [survey] = await surveys(settings, cid)
    assert (survey.channel, survey.rating, survey.comment, survey.status) == (
        "whatsapp", 4, "Me resolvieron todo muy rápido", "closed",
    )  # fmt: skip
    said = await user_texts(settings, cid)
    assert said == ["quiero hablar con una persona"], "the bot saw neither rating nor comment"


# --- a channel without buttons that goes straight to the desk (email-like), at the gateway ---


@dataclass
class Mail:
    """A provider API that records what it is asked to send (the outside world, faked)."""

    name: str = "mail"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(False, bot=False))
    sent: list[Outgoing] = field(default_factory=list)

    async def send(self, recipient: Recipient, message: Outgoing) -> str | None:
        self.sent.append(message)
        return f"mail-{len(self.sent)}"


async def test_an_email_like_channel_rates_by_number_and_new_requests_go_to_the_desk(
    database_url: str,
) -> None:
    """No bot on the channel (Rasa is not even running): the rating is answered by the gateway,
    and the next request is handed to the desk as every message of that channel is."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    hub = LiveHub()
    rasa_down = RasaClient(f"http://127.0.0.1:{free_port()}", None, 2.0)
    gateway = Gateway(sessions, rasa_down, hub, 4000, identity_key=b"k" * 32)
    mail = Mail()
    gateway.register(mail)
    worker = DeliveryWorker(sessions, gateway.providers, hub, RetryPolicy(3, 0.05, 0.2))
    gateway.worker = worker
    external = iter(f"<m{n}@example.org>" for n in range(10))

    async def write(text: str) -> list[str]:
        inbound = InboundMessage("mail", "ana@example.org", "ana@example.org", text,
                                 external_id=next(external))  # fmt: skip
        replies = await gateway.route(await gateway.accept(inbound))
        await worker.run_once()
        return [r.text for r in replies]

    try:
        await write("No me llega el pago de la beca")
        async with sessions() as session:
            agent = await accounts.create_agent(
                session, "correo", "Ana Ruiz", "n1", "informador-correo"
            )
            await session.commit()
            [conversation] = list(await session.scalars(select(Conversation)))
            ctx = DeskContext(session, gateway, hub)
            await desk.take(ctx, agent, conversation.id)
            await desk.resolve(ctx, agent, conversation.id, None)
        await worker.run_once()
        question = mail.sent[-1]
        assert question.text == csat.QUESTION and len(question.buttons) == 5

        assert await write("5") == [csat.THANKS_RATING]  # option 5: rating 5
        [survey] = await surveys(database_url, conversation.id)
        assert (survey.rating, survey.agent_id, survey.channel) == (5, agent.id, "mail")
        assert mail.sent[-1].text == csat.THANKS_RATING, "the thanks went out by the channel"

        handed = await write("Otra duda: ¿cuándo pagan la beca?")
        assert csat.THANKS_COMMENT not in handed
        async with sessions() as session:
            again = await session.get(Conversation, conversation.id)
            assert again is not None and again.controller == "human"
        [survey] = await surveys(database_url, conversation.id)
        assert (survey.status, survey.comment) == ("closed", None)
    finally:
        await rasa_down.aclose()
        await engine.dispose()


# --- reports ------------------------------------------------------------------------------------

DAY = date(2026, 4, 1)  # Spain is UTC+2 then: the day starts at 22:00 UTC the day before


async def seed_surveys(settings: Settings) -> dict[str, int]:
    """Surveys of three agents on three channels; returns the agents' ids by role."""
    async with database(settings) as session:
        ids = {
            a.username: a.id for a in await session.scalars(select(Agent))
        }  # informador (n1), especialista (n2, SAMPLE-DEP), otra_n2 (SAMPLE-OTRA)
        units = {u.code: u.id for u in await session.scalars(select(Unit))}
        n1, n2, other = ids["informador"], ids["especialista"], ids["otra_n2"]
        dep, otra = units["SAMPLE-DEP"], units["SAMPLE-OTRA"]
        in_day = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 1 April, 00:30 in Mérida
        before = datetime(2026, 3, 31, 21, 30, tzinfo=UTC)  # 31 March, 23:30 in Mérida
        rows = [  # agent, unit, channel, rating, asked_at
            (n1, None, "webchat", 5, in_day),
            (n1, None, "webchat", 4, in_day),
            (n1, None, "whatsapp", None, in_day),
            (n1, None, "webchat", 1, before),  # outside the period
            (n2, dep, "telegram", 2, in_day),
            (n2, dep, "webchat", None, in_day),
            (other, otra, "email", 3, in_day),
        ]
        for index, (agent_id, unit_id, channel, rating, asked_at) in enumerate(rows):
            cid = f"c{index:035d}"
            session.add(
                Conversation(id=cid, channel=channel, handed_off_at=asked_at, unit_id=unit_id)
            )
            await session.flush()
            session.add(
                SatisfactionSurvey(
                    conversation_id=cid,
                    agent_id=agent_id,
                    unit_id=unit_id,
                    channel=channel,
                    status="closed" if rating else "asked",
                    rating=rating,
                    asked_at=asked_at,
                    rated_at=asked_at + timedelta(minutes=1) if rating else None,
                )
            )
        await session.commit()
    return {"n1": n1, "n2": n2, "n2_other": other}


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in rows}


@rasa
async def test_report_numbers_permissions_and_csv(
    web: str, login: Login, settings: Settings
) -> None:
    ids = await seed_surveys(settings)
    period = {"from": DAY.isoformat(), "to": DAY.isoformat()}
    admin, n1, n2 = await login("admin"), await login("n1"), await login("n2")

    agents = by_key(await admin.ok("GET", "/reports/csat", params={"group": "agent", **period}))
    assert set(agents) == {str(ids["n1"]), str(ids["n2"]), str(ids["n2_other"])}
    lucia = agents[str(ids["n1"])]
    assert lucia == {
        "key": str(ids["n1"]), "label": "Lucía Martín", "asked": 3, "answered": 2,
        "response_rate": 0.667, "average": 4.5,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    }  # fmt: skip
    units = by_key(await admin.ok("GET", "/reports/csat", params={"group": "unit", **period}))
    assert {k: (r["asked"], r["answered"], r["average"]) for k, r in units.items()} == {
        "sin-unidad": (3, 2, 4.5), "SAMPLE-DEP": (2, 1, 2.0), "SAMPLE-OTRA": (1, 1, 3.0),
    }  # fmt: skip
    channels = by_key(await admin.ok("GET", "/reports/csat", params={"group": "channel", **period}))
    assert channels["webchat"]["label"] == "Chat web"
    assert {k: r["asked"] for k, r in channels.items()} == {
        "webchat": 3, "whatsapp": 1, "telegram": 1, "email": 1,
    }  # fmt: skip
    wider = {"from": "2026-03-31", "to": "2026-04-01"}  # the day before, in Spain, counts now
    assert (
        by_key(await admin.ok("GET", "/reports/csat", params={"group": "agent", **wider}))[
            str(ids["n1"])
        ]["asked"]
        == 4
    )

    # N2: only its unit; N1: only its own row, and only by agent.
    assert set(by_key(await n2.ok("GET", "/reports/csat", params={"group": "unit", **period}))) == {
        "SAMPLE-DEP"
    }
    mine = await n1.ok("GET", "/reports/csat", params={"group": "agent", **period})
    assert [r["key"] for r in mine] == [str(ids["n1"])]
    refused = await n1.call("GET", "/reports/csat", params={"group": "unit", **period})
    assert refused.status_code == 403 and "propia valoración" in refused.json()["detail"]
    other = await login("n2_other")
    only = await other.ok("GET", "/reports/csat", params={"group": "agent", **period})
    assert [r["label"] for r in only] == ["Elena Gil"]
    anonymous = DeskAgent(web)
    try:
        assert (await anonymous.call("GET", "/reports/csat")).status_code == 401
    finally:
        await anonymous.aclose()
    for bad in ({"from": "2026-04-02", "to": "2026-04-01"}, {"from": "ayer"}, {"group": "x"}):
        response = await admin.call("GET", "/reports/csat", params=bad)
        assert response.status_code == 422, bad
    assert await admin.ok("GET", "/reports/csat") == []  # default: the last 30 days

    exported = await admin.call(
        "GET", "/reports/csat", params={"group": "unit", "format": "csv", **period}
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "satisfaccion-unit-2026-04-01-2026-04-01.csv" in exported.headers["content-disposition"]
    assert exported.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0][0] == "Clave" and len(table) == 4
    dep = next(r for r in table if r[0] == "SAMPLE-DEP")
    assert dep[2:6] == ["2", "1", "50,0", "2,00"]


@rasa
async def test_a_double_press_rates_once_and_a_new_attention_asks_again(
    citizen: Citizen, login: Login, settings: Settings
) -> None:
    """Two presses at once (a double tap): one rating stored, one thanked."""
    agent = await login("n1")
    cid = await attended_and_resolved(citizen, agent)
    started = time.monotonic()
    first, second = await asyncio.gather(
        citizen.say("4 · Buena", **press(4)), citizen.say("2 · Mala", **press(2))
    )
    assert time.monotonic() - started < 10
    texts = sorted(r["text"] for r in [*first["replies"], *second["replies"]])
    assert texts == sorted([csat.THANKS_RATING, csat.ALREADY_RATED])
    [survey] = await surveys(settings, cid)
    assert survey.status == "rated" and survey.rating in (2, 4)
    # A second attention in the same conversation: a new survey; the first one keeps its rating.
    await attended_and_resolved(citizen, agent)
    earlier, later = await surveys(settings, cid)
    assert (earlier.status, earlier.rating) == ("closed", survey.rating)
    assert (later.status, later.rating) == ("asked", None)
