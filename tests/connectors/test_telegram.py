"""Telegram end to end: the real app and the real Rasa stack, python-telegram-bot against a local
fake Bot API (tests/support/fake_telegram.py), on SQLite and PostgreSQL.

Updates reach the webhook as Telegram posts them (secret-token header); replies leave through
the outbox to the fake, which refuses what Telegram refuses.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from telegram import Bot

from bot.processes import free_port
from connectors import location, telegram_format
from connectors.channels import DeliveryFailed, Outgoing, Recipient
from connectors.gateway import Gateway
from connectors.rasa_client import RasaClient
from connectors.telegram import TelegramChannel, TelegramSettings
from desk_api.channel_models import Attachment, ChannelIdentity, Delivery, InboundReceipt
from desk_api.db import make_engine, make_sessionmaker
from desk_api.live import LiveHub
from desk_api.models import AuditEvent, Conversation, Message
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import DeskAgent
from tests.support.fake_telegram import TOKEN, FakeBotAPI, serve_fake_telegram
from tests.support.miespacio import rows
from tests.support.servers import web_app_in_thread

SECRET = "s3cret-token_for-the-webhook-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
ANA, LUIS = 51001, 51002
NO_WARM_UP = KnowledgeSettings(warm_up=False)  # loaded when a question needs it
STICKER = {"file_id": "st1", "file_unique_id": "st1u", "type": "regular", "width": 512,
           "height": 512, "is_animated": False, "is_video": False}  # fmt: skip


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with serve_fake_telegram() as api:
        yield api


def configure(monkeypatch: pytest.MonkeyPatch, fake: FakeBotAPI, mode: str) -> None:
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))  # this app's own mail catcher
    monkeypatch.setenv("TUA_TELEGRAM_TOKEN", fake.token)
    monkeypatch.setenv("TUA_TELEGRAM_API_URL", fake.api_url)
    monkeypatch.setenv("TUA_TELEGRAM_MODE", mode)
    monkeypatch.setenv("TUA_TELEGRAM_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("TUA_TELEGRAM_SET_WEBHOOK", "true")
    monkeypatch.setenv("TUA_TELEGRAM_POLL_TIMEOUT_SECONDS", "1")


@pytest.fixture
def app(settings: Settings, fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real app with Telegram in webhook mode and a short outbox backoff."""
    configure(monkeypatch, fake, "webhook")
    quick = settings.model_copy(update={"delivery_backoff_seconds": 0.2})
    with web_app_in_thread(quick, NO_WARM_UP) as url:
        yield url


async def post(url: str, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
    headers = {HEADER: secret} if secret is not None else {}
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{url}/webhooks/telegram", json=update, headers=headers)


async def deliver(url: str, update: dict[str, Any]) -> None:
    response = await post(url, update)
    assert response.status_code == 200, response.text


async def count(database_url: str, model: type[Any], *where: Any) -> int:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            total = await session.scalar(select(func.count()).select_from(model).where(*where))
            return int(total or 0)
    finally:
        await engine.dispose()


async def conversation_of(database_url: str, chat_id: int) -> Conversation:
    [identity] = await rows(
        database_url, ChannelIdentity,
        ChannelIdentity.channel == "telegram", ChannelIdentity.address == str(chat_id),
    )  # fmt: skip
    [conversation] = await rows(database_url, Conversation, Conversation.identity_id == identity.id)
    return conversation


async def eventually(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 20) -> Any:
    """The first truthy result of an async ``check``, polled for ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# --- the channel through the app and the bot -----------------------------------------------


@pytest.mark.rasa
async def test_conversation_with_buttons_and_a_handoff_answered_from_the_desk(
    app: str,
    fake: FakeBotAPI,
    settings: Settings,
    seeded: dict[str, tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    assert fake.webhook is not None and fake.webhook["url"] == f"{app}/webhooks/telegram"
    assert fake.webhook["secret_token"] == SECRET

    # The bot greets; its buttons are an inline keyboard pointing at the stored message.
    await deliver(app, fake.text(ANA, "hola"))
    greeting = await fake.wait_text(ANA, "Tuatención")
    callbacks = [b["callback_data"] for row in greeting["reply_markup"]["inline_keyboard"]
                 for b in row]  # fmt: skip
    assert callbacks and all(re.fullmatch(r"o:\d+:\d", c) for c in callbacks)

    # A form with buttons: the citizen presses one and the form goes on.
    await deliver(app, fake.text(ANA, "quiero pagar la tasa de la ITV"))
    question = await fake.wait_text(ANA, "tipo de vehículo")
    pressed = fake.press(ANA, question, "Turismo")
    await deliver(app, pressed)
    await fake.wait_text(ANA, "combustible")
    answered = fake.successful("answerCallbackQuery")
    assert [c.params["callback_query_id"] for c in answered] == [pressed["callback_query"]["id"]]
    conversation = await conversation_of(settings.database_url, ANA)
    said = await rows(
        settings.database_url, Message,
        Message.conversation_id == conversation.id, Message.sender == "citizen",
    )  # fmt: skip
    assert [m.text for m in said] == ["hola", "quiero pagar la tasa de la ITV", "Turismo (coche)"]

    # A button of someone else's message is not theirs to press.
    stolen = fake.press(LUIS, question, "Motocicleta")
    await deliver(app, stolen)
    await fake.wait_for(lambda: len(fake.successful("answerCallbackQuery")) == 2, what="answer")
    assert fake.successful("answerCallbackQuery")[1].params["text"].startswith("Esta opción")
    assert await count(settings.database_url, InboundReceipt) == 3, "the stolen press is dropped"
    assert await count(settings.database_url, ChannelIdentity) == 1

    # Another citizen asks for a person: queued; an agent takes it and answers on Telegram.
    await deliver(app, fake.text(LUIS, "quiero hablar con una persona"))
    await fake.wait_text(LUIS, "Le paso con una persona")
    agent = await DeskAgent(app).login(*seeded["n1"])
    try:
        queue = await agent.ok("GET", "/conversations", params={"view": "queue"})
        [queued] = [c for c in queue if c["channel"] == "telegram"]
        await agent.ok("POST", f"/conversations/{queued['id']}/take")
        await fake.wait_text(LUIS, "Le atiende")
        answer = "Buenos días, soy Lucía. ¿En qué puedo ayudarle?"
        await agent.ok("POST", f"/conversations/{queued['id']}/messages", json={"text": answer})
        await fake.wait_text(LUIS, answer)
        # The citizen's answer reaches the desk, not the bot.
        before = len(fake.sent_to(LUIS))
        follow_up = "Quería saber cómo va mi expediente"
        await deliver(app, fake.text(LUIS, follow_up))

        async def seen_by_desk() -> bool:
            detail = await agent.ok("GET", f"/conversations/{queued['id']}")
            return follow_up in [m["text"] for m in detail["messages"]]

        await eventually(seen_by_desk, "the citizen's message at the desk")
        await asyncio.sleep(0.5)
        assert len(fake.sent_to(LUIS)) == before, "the bot does not answer while a person does"
    finally:
        await agent.aclose()
    logged = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("HTTP Request" in line for line in logged), "httpx logs other requests"
    assert not [line for line in logged if fake.token in line], "Bot API URLs carry the token"


@pytest.mark.rasa
async def test_forged_secrets_groups_and_unreadable_updates_store_nothing(
    app: str, fake: FakeBotAPI, settings: Settings
) -> None:
    update = fake.text(ANA, "hola")
    for secret in ("not-the-secret", None, SECRET + "x", ""):
        response = await post(app, update, secret)
        assert response.status_code == 403, response.text
    await asyncio.sleep(0.3)
    assert fake.attempts("sendMessage") == []

    # Groups get one polite answer when they address the bot; stickers a polite answer;
    # what is not a message at all is acknowledged (Telegram must not retry it forever).
    group = -100200300
    await deliver(app, fake.group_text(group, ANA, "hola a todos"))
    await deliver(app, fake.group_text(group, ANA, "/start@tua_bot"))
    await fake.wait_text(group, "solo atiende conversaciones privadas")
    await deliver(app, fake.message_update(LUIS, sticker=STICKER))
    await fake.wait_text(LUIS, "no puedo leer este tipo de mensaje")
    await deliver(app, {"update_id": 1, "edited_message": {"unexpected": True}})
    await deliver(app, {"no": "update"})
    assert len(fake.sent_to(group)) == 1
    for model in (ChannelIdentity, InboundReceipt, Conversation, Message):
        assert await count(settings.database_url, model) == 0, model.__name__


@pytest.mark.rasa
async def test_the_same_update_twice_is_one_message_and_one_answer(
    app: str, fake: FakeBotAPI, settings: Settings
) -> None:
    update = fake.text(ANA, "/start")  # what Telegram sends when a citizen opens the bot
    responses = await asyncio.gather(*(post(app, update) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    await deliver(app, update)  # and once more, later
    await fake.wait_text(ANA, "Tuatención")
    await asyncio.sleep(1.0)  # a second answer would have arrived by now
    assert len(fake.sent_to(ANA)) == 1
    assert await count(settings.database_url, InboundReceipt) == 1
    [said] = await rows(settings.database_url, Message, Message.sender == "citizen")
    assert said.text == "/start"


@pytest.mark.rasa
async def test_photo_and_document_are_kept_and_an_oversize_file_is_not_fetched(
    app: str, fake: FakeBotAPI, settings: Settings
) -> None:
    small, medium, large = b"\xff\xd8small", b"\xff\xd8medium" * 10, b"\xff\xd8large" * 1000
    photo = fake.photo(ANA, [small, medium, large])
    fake.fail("getFile", 502, "Bad Gateway")
    unavailable = await post(app, photo)
    assert unavailable.status_code == 503, "Telegram is asked to deliver the update again"
    assert await count(settings.database_url, InboundReceipt) == 0
    await deliver(app, photo)
    await fake.wait_text(ANA, "He guardado el archivo")
    pdf = b"%PDF-1.4 informe " * 100
    await deliver(app, fake.document(ANA, pdf, "informe médico.pdf", "application/pdf",
                                     caption="Le adjunto el informe"))  # fmt: skip
    huge = fake.document(ANA, b"%PDF", "escaneo.pdf", "application/pdf",
                         declared_size=settings.max_attachment_bytes + 1)  # fmt: skip
    await deliver(app, huge)
    await fake.wait_text(ANA, "«escaneo.pdf»: supera el tamaño máximo de 10 MB")

    stored = {a.filename: a for a in await rows(settings.database_url, Attachment)}
    assert set(stored) == {f"foto-{photo['message']['message_id']}.jpg", "informe médico.pdf"}
    kept_photo = stored[f"foto-{photo['message']['message_id']}.jpg"]
    assert kept_photo.sha256 == hashlib.sha256(large).hexdigest()
    assert kept_photo.size_bytes == len(large) and kept_photo.content_type == "image/jpeg"
    path = settings.var_dir / "attachments" / kept_photo.sha256[:2] / kept_photo.sha256
    assert path.read_bytes() == large
    assert stored["informe médico.pdf"].sha256 == hashlib.sha256(pdf).hexdigest()
    fetched = [c.params["file_id"] for c in fake.successful("getFile")]
    assert huge["message"]["document"]["file_id"] not in fetched
    assert photo["message"]["photo"][-1]["file_id"] in fetched
    assert photo["message"]["photo"][0]["file_id"] not in fetched  # only the largest size


@pytest.mark.rasa
async def test_bot_api_outage_is_retried_and_a_blocked_bot_fails_for_good(
    app: str, fake: FakeBotAPI, settings: Settings
) -> None:
    fake.fail("sendMessage", 500, times=2)
    await deliver(app, fake.text(ANA, "hola"))
    await fake.wait_text(ANA, "Tuatención")
    statuses = [c.status for c in fake.attempts("sendMessage")]
    assert statuses == [500, 500, 200]
    [delivery] = await rows(settings.database_url, Delivery)
    assert delivery.status == "sent" and delivery.attempts == 3
    assert delivery.provider_message_id == str(fake.sent_to(ANA)[0]["message_id"])

    # The citizen blocked the bot: no retrying; the failure is audited for the desk.
    fake.block(LUIS)
    await deliver(app, fake.text(LUIS, "hola"))

    async def failed() -> list[Delivery]:
        return await rows(settings.database_url, Delivery, Delivery.status == "failed")

    [lost] = await eventually(failed, "the failed delivery")
    assert lost.attempts == 1 and "blocked" in (lost.last_error or "")
    [audited] = await rows(
        settings.database_url, AuditEvent, AuditEvent.action == "delivery.failed"
    )
    assert audited.conversation_id == lost.conversation_id
    assert len(fake.attempts("sendMessage")) == 4


@pytest.mark.rasa
async def test_location_button_asks_the_phone_and_a_shared_location_finds_offices(
    app: str, fake: FakeBotAPI
) -> None:
    await deliver(
        app, fake.text(ANA, "necesito ir a una oficina de la junta a registrar unos papeles")
    )
    await fake.wait_text(ANA, "municipio o código postal")
    [asked] = fake.successful("sendMessage")
    keyboard = asked.params["reply_markup"]["keyboard"]
    assert keyboard == [[{"text": "Compartir mi ubicación", "request_location": True}]]
    await deliver(app, fake.location(ANA, 39.4753, -6.3724))
    await fake.wait_text(ANA, "Oficinas más cercanas a su ubicación (cerca de Cáceres)")


# --- long polling --------------------------------------------------------------------------


@pytest.mark.rasa
async def test_polling_mode_takes_updates_from_get_updates(
    settings: Settings, fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, fake, "polling")
    fake.webhook = {"url": "https://old.example/webhooks/telegram"}  # left from a deployment
    first = fake.text(ANA, "hola")
    fake.queue(first)
    with web_app_in_thread(settings, NO_WARM_UP) as url:
        await fake.wait_text(ANA, "Tuatención")
        assert fake.webhook is None, "polling removes the webhook first"
        later = fake.text(ANA, "¿a qué hora se puede llamar al teléfono de atención?")
        fake.queue(later)
        await fake.wait_text(ANA, "900 222 012")

        def offsets() -> list[int]:
            return [int(c.params.get("offset") or 0) for c in fake.successful("getUpdates")]

        await fake.wait_for(lambda: later["update_id"] + 1 in offsets(), what="confirmed")
        assert first["update_id"] + 1 in offsets()
        webhook = await post(url, fake.text(ANA, "hola"))
        assert webhook.status_code == 404, "no webhook in polling mode"
    # Restarted: Telegram hands over an update again; the gateway already has it.
    fake.queue(later)
    with web_app_in_thread(settings, NO_WARM_UP):
        await fake.wait_for(
            lambda: any(int(c.params.get("offset") or 0) > later["update_id"]
                        for c in fake.successful("getUpdates")[-3:]),
            what="the replayed update confirmed",
        )  # fmt: skip
    said = await rows(settings.database_url, Message, Message.sender == "citizen")
    assert [m.text for m in said] == ["hola", later["message"]["text"]]


# --- sending: formatting and error mapping against the fake, without the app ---------------


@pytest.fixture
async def channel(fake: FakeBotAPI, tmp_path: Path) -> Any:
    database = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    engine = make_engine(database)
    sessions = make_sessionmaker(engine)
    rasa = RasaClient("http://127.0.0.1:9", None, 1)
    gateway = Gateway(sessions, rasa, LiveHub(), 4000)
    bot = Bot(TOKEN, base_url=fake.api_url, base_file_url=f"{fake.base_url}/file/bot")
    async with bot:
        yield TelegramChannel(
            bot, gateway, sessions, identity_key=b"k", max_attachment_bytes=1024,
            secret_token=SECRET,
        )  # fmt: skip
    await rasa.aclose()
    await engine.dispose()


def outgoing(text: str, buttons: list[dict[str, str]] | None = None) -> Outgoing:
    return Outgoing(message_id=987654, conversation_id="c", sender="bot", text=text,
                    buttons=buttons or [])  # fmt: skip


def recipient(chat_id: int) -> Recipient:
    return Recipient(identity_id=1, channel="telegram", address=str(chat_id), user_hash="h",
                     last_inbound_at=None)  # fmt: skip


async def test_long_text_is_split_and_long_payloads_fit_in_callback_data(
    channel: TelegramChannel, fake: FakeBotAPI
) -> None:
    fake.chat(ANA)
    paragraph = "Requisitos del trámite: " + "documentación acreditativa " * 40
    text = "\n\n".join([paragraph] * 12)  # ~13 000 characters
    long_payload = '/pagar_tasa_itv{"categoria_vehiculo": "camion_pesado", "extra": "' + "x" * 80
    buttons = [{"title": "Camión pesado", "payload": long_payload + '"}'},
               {"title": "Hablar con una persona", "payload": "/hablar_con_agente"}]  # fmt: skip
    provider_id = await channel.send(recipient(ANA), outgoing(text, buttons))
    sent = sorted(fake.sent_to(ANA), key=lambda m: m["message_id"])
    assert len(sent) == 4 and all(len(m["text"]) <= 4096 for m in sent)
    assert " ".join(m["text"] for m in sent).split() == text.split()
    assert provider_id == str(sent[-1]["message_id"])
    assert [m.get("reply_markup") is not None for m in sent] == [False, False, False, True]
    data = [row[0]["callback_data"] for row in sent[-1]["reply_markup"]["inline_keyboard"]]
    assert data == ["o:987654:0", "o:987654:1"]


async def test_location_button_with_others_gets_a_keyboard_of_its_own(
    channel: TelegramChannel, fake: FakeBotAPI
) -> None:
    fake.chat(ANA)
    buttons = [{"title": "Mérida", "payload": '/buscar_oficina{"municipio": "06083"}'},
               {"title": "Compartir mi ubicación", "payload": "tua:ubicacion"}]  # fmt: skip
    await channel.send(recipient(ANA), outgoing("¿Qué municipio?", buttons))
    first, second = (c.params for c in fake.successful("sendMessage"))
    assert first["reply_markup"]["inline_keyboard"] == [
        [{"text": "Mérida", "callback_data": "o:987654:0"}]
    ]
    assert second["reply_markup"]["keyboard"] == [
        [{"text": "Compartir mi ubicación", "request_location": True}]
    ]
    assert "Compartir mi ubicación" in second["text"]


@pytest.mark.parametrize(
    ("status", "description", "retry_after", "transient"),
    [
        (500, "Internal Server Error", None, True),
        (502, "Bad Gateway", None, True),
        (429, "Too Many Requests: retry after 3", 3, True),
        (403, "Forbidden: bot was blocked by the user", None, False),
        (400, "Bad Request: chat not found", None, False),
    ],
)
async def test_provider_errors_map_to_transient_or_permanent(
    channel: TelegramChannel,
    fake: FakeBotAPI,
    status: int,
    description: str,
    retry_after: int | None,
    transient: bool,
) -> None:
    fake.chat(ANA)
    fake.fail("sendMessage", status, description, retry_after=retry_after)
    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(recipient(ANA), outgoing("Hola"))
    assert failed.value.transient is transient and not failed.value.elsewhere
    assert TOKEN not in failed.value.reason


async def test_unreachable_bot_api_is_transient(channel: TelegramChannel) -> None:
    with socket.socket() as held:  # bound, never listening: connections are refused
        held.bind(("127.0.0.1", 0))
        channel.bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{held.getsockname()[1]}/bot")
        with pytest.raises(DeliveryFailed) as failed:
            await channel.send(recipient(ANA), outgoing("Hola"))
    assert failed.value.transient


# --- settings and formatting ---------------------------------------------------------------


def test_settings_refuse_a_webhook_without_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN", "MODE", "SECRET_TOKEN", "API_URL", "FILE_URL"):
        monkeypatch.delenv(f"TUA_TELEGRAM_{name}", raising=False)
    plain = TelegramSettings(token=SecretStr("1:x"))
    assert plain.resolved_mode("development") == "polling"
    assert plain.resolved_mode("production") == "webhook"
    plain.check("development")
    with pytest.raises(ValueError, match="required in webhook mode"):
        plain.check("production")
    with pytest.raises(ValueError, match="required in webhook mode"):
        TelegramSettings(mode="webhook", secret_token=SecretStr("con espacios")).check(
            "development"
        )
    for placeholder in ("changeme", "secret", "short-but-valid"):
        with pytest.raises(ValueError, match="real secret"):
            TelegramSettings(secret_token=SecretStr(placeholder)).check("production")
    TelegramSettings(secret_token=SecretStr(SECRET)).check("production")
    assert plain.files_url() == "https://api.telegram.org/file/bot"
    custom = TelegramSettings(api_url="http://127.0.0.1:8081/bot{token}/")
    assert custom.files_url() == "http://127.0.0.1:8081/file/bot{token}/"


def test_split_text_cuts_at_paragraphs_lines_or_words() -> None:
    text = "\n\n".join(["a" * 3000, "b" * 3000, "c " * 2500])
    pieces = telegram_format.split_text(text)
    assert all(len(p) <= telegram_format.MAX_TEXT for p in pieces)
    assert pieces[0] == "a" * 3000 and pieces[1] == "b" * 3000
    assert "".join(pieces).replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert telegram_format.split_text("x" * 5000) == ["x" * 4096, "x" * 904]
    assert telegram_format.split_text("  ") == []


def test_commands_and_locations_as_the_bot_reads_them() -> None:
    assert telegram_format.command("/start") == ("/start", "/saludo")
    assert telegram_format.command("/start@tua_bot abc") == ("/start@tua_bot abc", "/saludo")
    assert telegram_format.command("/horario") == ("horario", None)
    assert telegram_format.command("hola") == ("hola", None)
    assert location.payload(38.8794, -6.9707) == (
        '/buscar_oficina{"latitud": 38.88, "longitud": -6.97}'
    )
    assert telegram_format.parse_callback_data("o:12:3") == (12, 3)
    for forged in ("o:12", "x:1:2", "o:1:2:3", None, "o:-1:0"):
        assert telegram_format.parse_callback_data(forged) is None
