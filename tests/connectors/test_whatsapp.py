"""WhatsApp through Twilio, end to end: the real app, the real Rasa stack and the real ``twilio``
client against a local fake of Twilio's REST API; inbound webhooks signed as Twilio signs them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr
from sqlalchemy import update
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from bot.processes import free_port
from connectors import identities, location
from connectors.channels import DeliveryFailed, Outgoing, Recipient
from connectors.rasa_client import RasaClient
from connectors.twilio_client import make_client, public_request_url, signature_valid
from connectors.whatsapp import (
    SEND_LOCATION,
    WhatsAppChannel,
    WhatsAppSettings,
    in_window,
    render,
    split_body,
    template_text,
)
from desk_api.channel_models import Attachment, ChannelIdentity, Delivery, InboundReceipt
from desk_api.db import make_engine, make_sessionmaker
from desk_api.models import AuditEvent, Conversation, Message, utcnow
from desk_api.selfservice.models import Citizen, CitizenIdentity
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import DeskAgent
from tests.support.fake_twilio import STALLED, FakeTwilio, Sent, TwilioWebhooks
from tests.support.miespacio import rows
from tests.support.servers import web_app_in_thread

T = TypeVar("T")
ACCOUNT_SID = "AC" + secrets.token_hex(16)
AUTH_TOKEN = secrets.token_hex(16)
BUSINESS = "+34900222012"
PHONE = "+34600111222"
OTHER_PHONE = "+34611222333"
TEMPLATE_SID = "HX" + secrets.token_hex(16)
MAX_ATTACHMENT = 64 * 1024
rasa = pytest.mark.rasa


def wa(number: str) -> str:
    return f"whatsapp:{number}"


@dataclass
class WhatsApp:
    url: str
    settings: Settings
    twilio: FakeTwilio
    hooks: TwilioWebhooks

    def user_hash(self, phone: str) -> str:
        return identities.user_hash(self.settings.identity_key(), "whatsapp", phone)

    async def agent(self, credentials: tuple[str, str]) -> DeskAgent:
        return await DeskAgent(self.url).login(*credentials)

    async def rows(self, model: type[T], *where: Any) -> list[T]:
        return await rows(self.settings.database_url, model, *where)

    async def execute(self, statement: Any) -> None:
        engine = make_engine(self.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                await session.execute(statement)
                await session.commit()
        finally:
            await engine.dispose()

    async def add(self, *objects: Any) -> None:
        engine = make_engine(self.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                for obj in objects:
                    session.add(obj)
                    await session.flush()
                await session.commit()
        finally:
            await engine.dispose()

    async def last_wrote_ago(self, phone: str, ago: timedelta) -> None:
        """Move the citizen's last message back in time (the 24-hour window, without sleeping)."""
        await self.execute(
            update(ChannelIdentity)
            .where(
                ChannelIdentity.channel == "whatsapp",
                ChannelIdentity.user_hash == self.user_hash(phone),
            )
            .values(last_inbound_at=utcnow() - ago)
        )


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).running() as fake:
        yield fake


Serve = Callable[[str | None], AbstractAsyncContextManager[WhatsApp]]


@pytest.fixture
def serve(
    settings: Settings,
    seeded: dict[str, tuple[str, str]],
    twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> Serve:
    """Start the real app with WhatsApp configured on the fake Twilio (``TUA_TWILIO_*``)."""

    @asynccontextmanager
    async def start(template: str | None) -> AsyncIterator[WhatsApp]:
        env = {
            "ACCOUNT_SID": ACCOUNT_SID,
            "AUTH_TOKEN": AUTH_TOKEN,
            "API_URL": twilio.url,
            "WHATSAPP_FROM": wa(BUSINESS),
            "WHATSAPP_STATUS_CALLBACK": "true",
            "TIMEOUT_SECONDS": "1.5",
        }
        for key, value in env.items():
            monkeypatch.setenv(f"TUA_TWILIO_{key}", value)
        if template:
            monkeypatch.setenv("TUA_TWILIO_WHATSAPP_TEMPLATE_SID", template)
        else:
            monkeypatch.delenv("TUA_TWILIO_WHATSAPP_TEMPLATE_SID", raising=False)
        # Other channels' listeners stay out of the way (a busy default port costs seconds).
        monkeypatch.setenv("TUA_EMAIL_LISTEN_PORT", "0")
        monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))
        fast = settings.model_copy(
            update={"delivery_backoff_seconds": 0.05, "max_attachment_bytes": MAX_ATTACHMENT}
        )
        with web_app_in_thread(fast, KnowledgeSettings(warm_up=False)) as url:
            hooks = TwilioWebhooks(url, twilio, BUSINESS)
            try:
                yield WhatsApp(url, fast, twilio, hooks)
            finally:
                await hooks.aclose()

    return start


@pytest.fixture
async def app(serve: Serve) -> AsyncIterator[WhatsApp]:
    async with serve(None) as running:
        yield running


@pytest.fixture
async def app_with_template(serve: Serve) -> AsyncIterator[WhatsApp]:
    async with serve(TEMPLATE_SID) as running:
        yield running


async def eventually(check: Callable[[], Awaitable[T | None]], seconds: float = 15.0) -> T:
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def user_events(settings: Settings, conversation_id: str) -> list[dict[str, Any]]:
    """What Rasa's tracker recorded the citizen saying (text and metadata)."""
    assert settings.rasa_token is not None
    client = RasaClient(settings.rasa_url, settings.rasa_token.get_secret_value(), 10)
    try:
        events = await client.tracker_events(conversation_id)
    finally:
        await client.aclose()
    return [e for e in events if e.get("event") == "user"]


# --- formatting (no app) ----------------------------------------------------------------------


def test_options_are_numbered_and_location_becomes_a_sentence() -> None:
    buttons = [
        {"title": "Turismo (coche)", "payload": "/a"},
        {"title": "Motocicleta o ciclomotor", "payload": "/b"},
        {"title": "Compartir mi ubicación", "payload": "tua:ubicacion"},
    ]
    assert render("¿Qué vehículo?", buttons) == (
        "¿Qué vehículo?\n\n1. Turismo (coche)\n2. Motocicleta o ciclomotor\n\n"
        f"Responda 1 o 2.\n\n{SEND_LOCATION}"
    )
    only_location = render("¿Dónde está?", [buttons[2]])
    assert only_location == f"¿Dónde está?\n\n{SEND_LOCATION}"
    assert render("Hola", []) == "Hola"


def test_long_texts_are_split_at_boundaries_within_1600_characters() -> None:
    paragraph = "Frase de prueba con varias palabras. " * 30  # ~1100 characters
    text = f"{paragraph.strip()}\n\n{paragraph.strip()}\n\n{paragraph.strip()}"
    parts = split_body(text)
    assert len(parts) == 3 and all(len(p) <= 1600 for p in parts)
    assert parts == [paragraph.strip()] * 3
    words = " ".join(["palabra"] * 500)  # 3999 characters, no sentences
    parts = split_body(words)
    assert all(len(p) <= 1600 for p in parts) and " ".join(parts) == words
    assert all(not p.endswith("palab") for p in parts), "cut between words"
    assert split_body("x" * 4000) == ["x" * 1600, "x" * 1600, "x" * 800]
    assert split_body("  corto  ") == ["corto"]


def test_template_variables_are_one_short_line() -> None:
    assert template_text("Hola:\n\n1. Uno\t2. Dos") == "Hola: 1. Uno 2. Dos"
    long = template_text("a " * 2000)
    assert len(long) == 900 and long.endswith("…")


def test_locations_are_rounded_and_the_window_is_24_hours() -> None:
    assert location.payload("38.8794", "-6.9707") == (
        '/buscar_oficina{"latitud": 38.88, "longitud": -6.97}'
    )
    assert location.payload("norte", "-6.9") is None
    assert location.payload("123", "0") is None
    now = utcnow()
    assert in_window(now - timedelta(hours=23), now)
    assert not in_window(now - timedelta(hours=24), now)
    assert not in_window(None, now)


def test_the_signed_url_is_the_public_one() -> None:
    """Behind a proxy the app is reached at an internal address; Twilio signed the public one."""
    public, params = "https://tuatencion.juntaex.es/", {"Body": "hola", "MessageSid": "SM1"}

    def request(signed_url: str) -> Request:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_url, params)
        return Request({
            "type": "http",
            "method": "POST",
            "path": "/webhooks/whatsapp",
            "query_string": b"rc=5",
            "headers": [(b"host", b"10.0.0.7:8000"), (b"x-twilio-signature", signature.encode())],
            "scheme": "http",
            "server": ("10.0.0.7", 8000),
        })  # fmt: skip

    from_twilio = request("https://tuatencion.juntaex.es/webhooks/whatsapp?rc=5")
    assert public_request_url(from_twilio, public) == (
        "https://tuatencion.juntaex.es/webhooks/whatsapp?rc=5"
    )
    assert signature_valid(from_twilio, params, AUTH_TOKEN, public)
    internal = request("http://10.0.0.7:8000/webhooks/whatsapp?rc=5")
    assert not signature_valid(internal, params, AUTH_TOKEN, public)
    assert not signature_valid(from_twilio, {**params, "Body": "adiós"}, AUTH_TOKEN, public)
    assert not signature_valid(from_twilio, params, "", public)


def test_settings_need_an_account_and_a_whatsapp_number(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCOUNT_SID", "AUTH_TOKEN", "WHATSAPP_FROM", "WHATSAPP_TEMPLATE_VARIABLES"):
        monkeypatch.delenv(f"TUA_TWILIO_{name}", raising=False)
    assert not WhatsAppSettings().enabled
    monkeypatch.setenv("TUA_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TUA_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    assert not WhatsAppSettings().enabled, "no sender number"
    monkeypatch.setenv("TUA_TWILIO_WHATSAPP_FROM", "whatsapp:+34 900 22 20 12")
    config = WhatsAppSettings()
    assert config.enabled and config.whatsapp_from == wa(BUSINESS)
    assert config.whatsapp_template_variables == {"1": "{text}"}
    monkeypatch.setenv("TUA_TWILIO_WHATSAPP_FROM", "900222012")
    with pytest.raises(ValueError, match=r"E\.164"):
        WhatsAppSettings()
    monkeypatch.setenv("TUA_TWILIO_WHATSAPP_FROM", wa(BUSINESS))
    monkeypatch.setenv("TUA_TWILIO_WHATSAPP_TEMPLATE_VARIABLES", '{"1": "{nombre}"}')
    with pytest.raises(ValueError, match=r"only \{text\}"):
        WhatsAppSettings()


async def test_twilio_failures_become_transient_or_permanent(twilio: FakeTwilio) -> None:
    config = WhatsAppSettings(
        account_sid=ACCOUNT_SID,
        auth_token=SecretStr(AUTH_TOKEN),
        api_url=twilio.url,
        timeout_seconds=1,
        whatsapp_from=wa(BUSINESS),
    )
    recipient = Recipient(1, "whatsapp", wa(PHONE), "hash", utcnow() - timedelta(hours=1))
    message = Outgoing(1, "conversation", "agent", "Buenos días", [])

    async def failure(channel: WhatsAppChannel, to: Recipient = recipient) -> DeliveryFailed:
        with pytest.raises(DeliveryFailed) as raised:
            await channel.send(to, message)
        return raised.value

    channel = WhatsAppChannel(config, make_client(config), None)
    nowhere = config.model_copy(update={"api_url": f"http://127.0.0.1:{free_port()}"})
    unreachable = WhatsAppChannel(nowhere, make_client(nowhere), None)
    try:
        for status, transient in [(500, True), (503, True), (429, True), (400, False)]:
            twilio.fail_next(status)
            failed = await failure(channel)
            assert failed.transient is transient and not failed.elsewhere, status
            assert failed.reason.startswith(f"Twilio respondió {status}")
        twilio.stall_next()
        assert (await failure(channel)).reason == "Twilio no responde (TimeoutError)"
        assert (await failure(unreachable)).transient
        late = Recipient(1, "whatsapp", wa(PHONE), "hash", utcnow() - timedelta(hours=30))
        closed = await failure(channel, late)
        assert closed.elsewhere and not closed.transient
        assert await channel.send(recipient, message) == twilio.messages[-1].sid
        assert twilio.messages[-1].body == "Buenos días"
    finally:
        await channel.aclose()
        await unreachable.aclose()


# --- the channel, end to end ----------------------------------------------------------------


@rasa
async def test_conversation_with_handoff_to_an_agent(
    app: WhatsApp, seeded: dict[str, tuple[str, str]]
) -> None:
    twilio, hooks = app.twilio, app.hooks
    await hooks.message(PHONE, "hola")
    greeting = await twilio.wait_for_text("Tuatención", to=wa(PHONE))
    assert greeting.fields["From"] == wa(BUSINESS)
    assert "1. Horario de atención" in greeting.body and "Responda 1, 2, 3 o 4." in greeting.body
    assert greeting.fields["StatusCallback"] == f"{app.url}/webhooks/whatsapp/status"

    seen = len(twilio.messages)
    await hooks.message(PHONE, "quiero hablar con una persona")
    await twilio.wait_for_text("Le paso con una persona", to=wa(PHONE), after=seen)

    n1 = await app.agent(seeded["n1"])
    try:
        [queued] = await n1.ok("GET", "/conversations", params={"view": "queue"})
        assert queued["channel"] == "whatsapp"
        cid = queued["id"]
        await n1.ok("POST", f"/conversations/{cid}/take")
        await twilio.wait_for_text("Le atiende", to=wa(PHONE))
        await n1.ok(
            "POST",
            f"/conversations/{cid}/messages",
            json={"text": "Buenos días, soy Lucía. ¿En qué puedo ayudarle?"},
        )
        answer = await twilio.wait_for_text("soy Lucía", to=wa(PHONE))

        question = "Quiero saber cómo va mi expediente de dependencia"
        await hooks.message(PHONE, question)
        detail = await n1.ok("GET", f"/conversations/{cid}")
        assert detail["messages"][-1]["sender"] == "citizen"
        assert detail["messages"][-1]["text"] == question
    finally:
        await n1.aclose()

    # The bot never saw the citizen's words after the handoff, nor their phone number.
    said = await user_events(app.settings, cid)
    assert said and question not in [e.get("text") for e in said]
    assert said[0]["metadata"]["channel_user"] == app.user_hash(PHONE)
    assert PHONE.lstrip("+") not in json.dumps(said), "no phone number in Rasa's tracker"
    [identity] = await app.rows(ChannelIdentity)
    assert identity.user_hash == app.user_hash(PHONE) and identity.address == wa(PHONE)
    assert all(d.status == "sent" for d in await app.rows(Delivery))

    # Twilio's report that the agent's answer was not delivered reaches the audit trail.
    report = {"MessageSid": answer.sid or "", "MessageStatus": "undelivered",
              "ErrorCode": "63016", "AccountSid": ACCOUNT_SID, "To": wa(PHONE)}  # fmt: skip
    forged = await hooks.post("/webhooks/whatsapp/status", report, signature="forged")
    assert forged.status_code == 403
    reported = await hooks.post("/webhooks/whatsapp/status", report)
    assert reported.status_code == 204
    [noted] = await app.rows(AuditEvent, AuditEvent.action == "delivery.undelivered")
    assert noted.conversation_id == cid and (noted.details or {})["error_code"] == "63016"


@rasa
async def test_forged_or_unsigned_requests_get_403_and_nothing_is_stored(app: WhatsApp) -> None:
    hooks = app.hooks
    params = hooks.params(PHONE, "hola")
    path = "/webhooks/whatsapp"
    tampered = {**params, "Body": "quiero hablar con una persona"}
    for signature, body in [
        ("", params),  # no header
        ("not-a-signature", params),
        (hooks.signature(path, params, token="another-account-token"), params),
        (hooks.signature(path, params, url="https://elsewhere.example" + path), params),
        (hooks.signature(path, params), tampered),  # signed, then changed on the way
    ]:
        response = await hooks.post(path, body, signature=signature)
        assert response.status_code == 403, response.text
    for model in (ChannelIdentity, InboundReceipt, Conversation, Message, Delivery):
        assert await app.rows(model) == [], model.__name__
    assert app.twilio.requests == []


@rasa
async def test_a_retried_message_sid_is_stored_and_answered_once(app: WhatsApp) -> None:
    params = app.hooks.params(PHONE, "hola", message_sid="SM" + uuid.uuid4().hex)
    post = app.hooks.post
    together = await asyncio.gather(*[post("/webhooks/whatsapp", params) for _ in range(2)])
    later = await post("/webhooks/whatsapp", params)
    assert [r.status_code for r in [*together, later]] == [200, 200, 200]
    await app.twilio.wait_for_text("Tuatención", to=wa(PHONE))
    await asyncio.sleep(0.5)  # a second answer would have been sent by now
    assert [m.text for m in await app.rows(Message, Message.sender == "citizen")] == ["hola"]
    assert len(await app.rows(InboundReceipt)) == 1
    assert len([m for m in app.twilio.messages if "Tuatención" in m.body]) == 1


@rasa
async def test_answering_2_picks_the_second_option(app: WhatsApp) -> None:
    twilio = app.twilio
    await app.hooks.message(PHONE, "quiero pagar la tasa de la ITV")
    ask = await twilio.wait_for_text("¿Qué tipo de vehículo", to=wa(PHONE))
    assert "\n1. Turismo (coche)\n2. Motocicleta o ciclomotor\n" in ask.body
    assert ask.body.endswith("Responda 1, 2, 3, 4, 5, 6 o 7.")
    seen = len(twilio.messages)
    await app.hooks.message(PHONE, "2")
    fuel = await twilio.wait_for_text("¿Qué combustible", to=wa(PHONE), after=seen)
    assert "1. Gasolina" in fuel.body
    [conversation] = await app.rows(Conversation)
    said = await user_events(app.settings, conversation.id)
    assert said[-1]["text"] == '/pagar_tasa_itv{"categoria_vehiculo": "motocicleta"}'
    citizen = [m.text for m in await app.rows(Message, Message.sender == "citizen")]
    assert citizen == ["quiero pagar la tasa de la ITV", "2"]


@rasa
async def test_a_shared_location_finds_the_nearest_offices(app: WhatsApp) -> None:
    twilio = app.twilio
    await app.hooks.message(PHONE, "necesito ir a una oficina de la junta a registrar unos papeles")
    ask = await twilio.wait_for_text("¿En qué municipio", to=wa(PHONE))
    assert ask.body.endswith(SEND_LOCATION) and "Compartir mi ubicación" not in ask.body
    seen = len(twilio.messages)
    await app.hooks.message(PHONE, "", location=(39.4753, -6.3724))
    await twilio.wait_for_text(
        "Oficinas más cercanas a su ubicación (cerca de Cáceres)", after=seen
    )
    citizen = [m.text for m in await app.rows(Message, Message.sender == "citizen")]
    assert citizen[-1] == "He compartido mi ubicación", "no coordinates in the transcript"


@rasa
async def test_images_are_stored_for_the_desk_and_oversize_ones_refused(app: WhatsApp) -> None:
    twilio = app.twilio
    photo = b"\xff\xd8\xff\xe0" + secrets.token_bytes(20_000)
    huge = b"\xff\xd8\xff\xe0" + secrets.token_bytes(MAX_ATTACHMENT + 10)
    await app.hooks.message(
        PHONE, "", media=[(twilio.add_media(photo, "image/jpeg"), "image/jpeg")]
    )
    await twilio.wait_for_text("whatsapp-1.jpg", to=wa(PHONE))  # "He guardado el archivo…"
    [attachment] = await app.rows(Attachment)
    assert attachment.sha256 == hashlib.sha256(photo).hexdigest()
    assert (attachment.content_type, attachment.size_bytes) == ("image/jpeg", len(photo))
    stored = app.settings.var_dir / "attachments" / attachment.sha256[:2] / attachment.sha256
    assert stored.read_bytes() == photo

    media = [(twilio.add_media(huge, "image/jpeg"), "image/jpeg")]
    await app.hooks.message(PHONE, "y esta otra foto", media=media)
    await twilio.wait_for_text("supera el tamaño máximo", to=wa(PHONE))
    assert len(await app.rows(Attachment)) == 1
    assert len(twilio.media_fetches) == 2


@rasa
async def test_provider_outage_is_retried_and_refusals_marked_failed(app: WhatsApp) -> None:
    twilio = app.twilio
    twilio.fail_next(500)
    twilio.stall_next()  # Twilio does not answer in time
    await app.hooks.message(PHONE, "hola")
    greeting = await twilio.wait_for_text("Tuatención", to=wa(PHONE))
    assert [r.status for r in twilio.requests][:3] == [500, STALLED, 201]
    [delivery] = await app.rows(Delivery, Delivery.provider_message_id == greeting.sid)
    assert delivery.status == "sent" and delivery.attempts == 3

    twilio.fail_next(400)
    await app.hooks.message(PHONE, "adiós")

    async def failed() -> list[Delivery]:
        return await app.rows(Delivery, Delivery.status == "failed")

    [refused] = await eventually(failed)
    assert refused.attempts == 1 and refused.last_error == "Twilio respondió 400 (código 21211)"
    [audited] = await app.rows(AuditEvent, AuditEvent.action == "delivery.failed")
    assert (audited.details or {})["delivery_id"] == refused.id


async def _handed_off_and_taken(app: WhatsApp, n1: DeskAgent) -> str:
    await app.hooks.message(PHONE, "quiero hablar con una persona")
    await app.twilio.wait_for_text("Le paso con una persona", to=wa(PHONE))
    [queued] = await n1.ok("GET", "/conversations", params={"view": "queue"})
    await n1.ok("POST", f"/conversations/{queued['id']}/take")
    await app.twilio.wait_for_text("Le atiende", to=wa(PHONE))
    return str(queued["id"])


@rasa
async def test_a_late_answer_goes_out_as_the_approved_template(
    app_with_template: WhatsApp, seeded: dict[str, tuple[str, str]]
) -> None:
    app = app_with_template
    n1 = await app.agent(seeded["n1"])
    try:
        cid = await _handed_off_and_taken(app, n1)
        await app.last_wrote_ago(PHONE, timedelta(hours=25))
        await n1.ok(
            "POST",
            f"/conversations/{cid}/messages",
            json={"text": "Ya tenemos respuesta:\nsu solicitud está aprobada."},
        )
    finally:
        await n1.aclose()

    def templated(sent: list[Sent]) -> bool:
        return any(m.fields.get("ContentSid") == TEMPLATE_SID for m in sent)

    sent = await app.twilio.wait_for(templated)
    [template] = [m for m in sent if m.fields.get("ContentSid")]
    assert template.to == wa(PHONE) and template.fields["From"] == wa(BUSINESS)
    assert "Body" not in template.fields
    assert json.loads(template.fields["ContentVariables"]) == {
        "1": "Ya tenemos respuesta: su solicitud está aprobada."
    }
    [delivery] = await app.rows(Delivery, Delivery.provider_message_id == template.sid)
    assert delivery.status == "sent"


@rasa
async def test_a_late_answer_without_template_fails_and_goes_to_another_channel(
    app: WhatsApp, seeded: dict[str, tuple[str, str]]
) -> None:
    # A Miespacio citizen who verified two WhatsApp numbers; the second wrote recently.
    citizen = Citizen(
        id=str(uuid.uuid4()), phone=PHONE, privacy_accepted_at=utcnow(), privacy_version="1"
    )
    other = ChannelIdentity(
        channel="whatsapp",
        user_hash=app.user_hash(OTHER_PHONE),
        address=wa(OTHER_PHONE),
        last_inbound_at=utcnow() - timedelta(hours=1),
    )
    await app.add(
        citizen,
        *[
            CitizenIdentity(
                citizen_id=citizen.id,
                channel="whatsapp",
                channel_user=app.user_hash(phone),
                verified_by="phone",
            )
            for phone in (PHONE, OTHER_PHONE)
        ],
        other,
    )
    n1 = await app.agent(seeded["n1"])
    answer = "Su cita está confirmada para el lunes a las 10:00."
    try:
        cid = await _handed_off_and_taken(app, n1)
        [conversation] = await app.rows(Conversation, Conversation.id == cid)
        assert conversation.citizen_id == citizen.id
        await app.last_wrote_ago(PHONE, timedelta(hours=25))
        await n1.ok("POST", f"/conversations/{cid}/messages", json={"text": answer})
    finally:
        await n1.aclose()

    rerouted = await app.twilio.wait_for_text(answer)
    assert rerouted.to == wa(OTHER_PHONE)
    assert not [m for m in app.twilio.messages if answer in m.body and m.to == wa(PHONE)]
    [message] = await app.rows(Message, Message.text == answer)
    deliveries = {
        d.identity_id: d for d in await app.rows(Delivery, Delivery.message_id == message.id)
    }
    [first] = await app.rows(ChannelIdentity, ChannelIdentity.address == wa(PHONE))
    failed, sent = deliveries[first.id], deliveries[other.id]
    assert (failed.status, failed.last_error) == ("failed", "fuera de la ventana de 24 h")
    assert sent.status == "sent" and sent.provider_message_id == rerouted.sid
    [audited] = await app.rows(AuditEvent, AuditEvent.action == "delivery.failed")
    assert (audited.details or {})["rerouted_to"] == "whatsapp"
