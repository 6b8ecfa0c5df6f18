"""The email channel over real SMTP on loopback: ``smtplib`` sends to the app's listener, the
app sends through an ``aiosmtpd`` relay started here, an agent answers from the desk API.

No Rasa: email never reaches the bot (``Capabilities(bot=False)``), it goes to N1 directly.
"""

from __future__ import annotations

import asyncio
import inspect
import smtplib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from bot.processes import free_port
from connectors import identities
from desk_api.channel_models import Attachment, ChannelIdentity, Delivery, InboundReceipt
from desk_api.db import make_engine, make_sessionmaker
from desk_api.models import AuditEvent, Conversation, Message, utcnow
from desk_api.services import accounts
from desk_api.services.transcript import append_message
from desk_api.settings import Settings
from tests.support.clients import DeskAgent
from tests.support.miespacio import make_settings, rows
from tests.support.servers import web_app_in_thread

ADDRESS = "tuatencion@juntaex.es"
CITIZEN = "maria.lopez@example.com"
STRANDED = "0b9a1c52-8f0e-4d61-9a57-3f1d2c4b5a60"
ITV_QUESTION = (
    "Buenos días:\n\nTengo que pasar la ITV de mi furgoneta y no sé cuánto cuesta la tasa "
    "de la inspección técnica ni en qué estación puedo pedir cita.\n\nUn saludo,\nMaría"
)


class _Capture:
    """The relay's handler: keeps every message; refuses the addresses in ``refuse``."""

    def __init__(self, received: list[EmailMessage], refuse: set[str]) -> None:
        self.received = received
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.received.append(mail)
        return "250 2.0.0 Ok: queued"


@dataclass
class FakeRelay:
    port: int
    received: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            _Capture(self.received, self.refuse), hostname="127.0.0.1", port=self.port
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class EmailApp:
    url: str
    smtp_port: int
    relay: FakeRelay
    settings: Settings

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    async def send(self, mail: EmailMessage | bytes, to: str = ADDRESS) -> None:
        raw = mail if isinstance(mail, bytes) else mail.as_bytes(policy=policy.SMTP)  # CRLF
        await asyncio.to_thread(self._send, raw, to)

    def _send(self, raw: bytes, to: str) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
            smtp.sendmail(CITIZEN, [to], raw)

    async def agent(self) -> DeskAgent:
        return await DeskAgent(self.url).login("informador", "informador-n1")


def seed(database_url: str) -> None:
    async def run() -> None:
        engine = make_engine(database_url)
        async with make_sessionmaker(engine)() as session:
            await accounts.seed_demo(session)
        await engine.dispose()

    asyncio.run(run())


@dataclass
class Prepared:
    settings: Settings
    listen_port: int
    relay: FakeRelay


@pytest.fixture
def prepared(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Prepared:
    """Environment and database for an app whose email channel listens on a free port and
    relays through a FakeRelay (not started); delivery backoff shortened for the tests."""
    listen_port, relay_port = free_port(), free_port()
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))  # the dev catcher: out of the way
    monkeypatch.setenv("TUA_EMAIL_LISTEN_PORT", str(listen_port))
    monkeypatch.setenv("TUA_EMAIL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TUA_EMAIL_SMTP_PORT", str(relay_port))
    seed(database_url)
    settings = make_settings(
        database_url, tmp_path, delivery_backoff_seconds=0.3, delivery_backoff_max_seconds=1
    )
    return Prepared(settings, listen_port, FakeRelay(relay_port))


@pytest.fixture
def app(prepared: Prepared) -> Iterator[EmailApp]:
    prepared.relay.start()
    try:
        with web_app_in_thread(prepared.settings) as url:
            yield EmailApp(url, prepared.listen_port, prepared.relay, prepared.settings)
    finally:
        prepared.relay.stop()


WAIT_SECONDS = 20.0


async def until(probe: Callable[[], Any]) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {probe}")
        await asyncio.sleep(0.1)


def new_mail(subject: str, body: str, message_id: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"María López <{CITIZEN}>"
    mail["To"] = ADDRESS
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


async def queued(agent: DeskAgent) -> list[dict[str, Any]]:
    return [c for c in await agent.ok("GET", "/conversations") if c["channel"] == "email"]


async def test_mail_to_desk_answer_threaded_and_reply_continues(app: EmailApp) -> None:
    agent = await app.agent()
    await app.send(new_mail("Consulta sobre la ITV", ITV_QUESTION, "<m1.maria@example.com>"))

    [summary] = await until(lambda: queued(agent))
    assert summary["tier"] == "n1" and summary["state"] == "queued"
    handoff = summary["handoff"]
    assert handoff["reason"] == "direct_to_desk"
    titles = [s["title"] for s in handoff["suggestions"]]
    assert 1 <= len(titles) <= 3 and any("Inspección Técnica de Vehículos" in t for t in titles)
    assert all(s["code"] and s["url"] for s in handoff["suggestions"])
    assert "Trámites sugeridos: " + titles[0] in handoff["summary"]

    [ack] = await until(lambda: app.relay.received)
    assert ack["To"] == CITIZEN and ack["Subject"] == "Re: Consulta sobre la ITV"
    assert ack["In-Reply-To"] == "<m1.maria@example.com>"
    assert ack["References"] == "<m1.maria@example.com>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Message-ID"].endswith(".tuatencion@juntaex.es>")
    assert "Hemos recibido su mensaje" in body_of(ack)
    html_part = ack.get_body(("html",))
    assert isinstance(html_part, EmailMessage) and "Hemos recibido su mensaje" in str(
        html_part.get_content()
    )

    conversation_id = summary["id"]
    await agent.ok("POST", f"/conversations/{conversation_id}/take")
    answer = "Buenos días, María. La tasa depende del vehículo: consulte las tarifas en la sede."
    await agent.ok("POST", f"/conversations/{conversation_id}/messages", json={"text": answer})
    await until(lambda: len(app.relay.received) >= 2)
    reply = app.relay.received[1]
    assert answer in body_of(reply)  # "Le atiende Lucía Martín…" is not mailed: chat only
    assert reply["Auto-Submitted"] is None
    assert reply["Subject"] == "Re: Consulta sobre la ITV"
    assert reply["In-Reply-To"] == "<m1.maria@example.com>"
    assert reply["References"].split() == ["<m1.maria@example.com>", ack["Message-ID"]]

    # The citizen answers from her mail client: quoted text below, our Message-ID referenced.
    follow_up = new_mail(
        "Re: Consulta sobre la ITV",
        "Gracias. ¿Puedo ir a la estación de Mérida?\n\n"
        f"El mar, 4 nov 2025 a las 10:00, Tuatención <{ADDRESS}> escribió:\n> {answer}\n",
        "<m2.maria@example.com>",
        In_Reply_To=reply["Message-ID"],
        References=f"<m1.maria@example.com> {ack['Message-ID']} {reply['Message-ID']}",
    )
    await app.send(follow_up)
    await app.send(follow_up)  # the sender's retry: stored once

    async def citizen_texts() -> list[str]:
        detail = await agent.ok("GET", f"/conversations/{conversation_id}")
        return [m["text"] for m in detail["messages"] if m["sender"] == "citizen"]

    texts = await until(lambda: _when(citizen_texts(), lambda t: len(t) == 2))
    assert (
        texts[1]
        == "Asunto: Re: Consulta sobre la ITV\n\nGracias. ¿Puedo ir a la estación de Mérida?"
    )
    await asyncio.sleep(1.0)
    assert await citizen_texts() == texts
    assert len(app.relay.received) == 2  # a person attends: no second acknowledgement
    assert [c["id"] for c in await agent.ok("GET", "/conversations", params={"view": "all"})] == [
        conversation_id
    ]
    await agent.aclose()


async def _when(value: Awaitable[Any], test: Callable[[Any], bool]) -> Any:
    result = await value
    return result if test(result) else None


async def test_html_only_mail_with_quote_and_attachment(app: EmailApp) -> None:
    pdf = b"%PDF-1.4\n% justificante de pago\n%%EOF\n"
    mail = EmailMessage()
    mail["From"] = f"María López <{CITIZEN}>"
    mail["To"] = ADDRESS
    mail["Subject"] = "Justificante del modelo 050"
    mail["Message-ID"] = "<html.maria@example.com>"
    mail.set_content(
        "<html><body><div>Adjunto el justificante de la tasa.</div><div>Gracias</div>"
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>De:</b> Tuatención<br>'
        "<b>Enviado:</b> lunes</div><div>Texto anterior de la conversación.</div></body></html>",
        subtype="html",
    )
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="justificante año.pdf")
    await app.send(mail)
    agent = await app.agent()
    [summary] = await until(lambda: queued(agent))
    detail = await agent.ok("GET", f"/conversations/{summary['id']}")
    [citizen] = [m for m in detail["messages"] if m["sender"] == "citizen"]
    assert citizen["text"] == (
        "Asunto: Justificante del modelo 050\n\nAdjunto el justificante de la tasa.\nGracias"
    )
    [stored] = await rows(app.database_url, Attachment)
    assert (stored.filename, stored.content_type, stored.size_bytes) == (
        "justificante año.pdf", "application/pdf", len(pdf),
    )  # fmt: skip
    assert stored.message_id == citizen["id"]
    path = app.settings.var_dir / "attachments" / stored.sha256[:2] / stored.sha256
    assert path.read_bytes() == pdf
    await agent.aclose()


async def test_mail_longer_than_a_message_keeps_its_full_text_as_a_file(app: EmailApp) -> None:
    paragraph = ("Les explico con detalle mi situación con la solicitud de la ayuda. " * 10).strip()
    body = "\n\n".join([paragraph] * 8)  # about 5,400 characters
    await app.send(new_mail("Explicación larga", body, "<long@example.com>"))
    agent = await app.agent()
    [summary] = await until(lambda: queued(agent))
    detail = await agent.ok("GET", f"/conversations/{summary['id']}")
    [citizen] = [m for m in detail["messages"] if m["sender"] == "citizen"]
    assert len(citizen["text"]) <= app.settings.max_message_chars
    assert citizen["text"].startswith("Asunto: Explicación larga\n\nLes explico")
    assert citizen["text"].endswith("sigue en el archivo adjunto «mensaje-completo.txt».")
    [stored] = await rows(app.database_url, Attachment)
    path = app.settings.var_dir / "attachments" / stored.sha256[:2] / stored.sha256
    assert stored.filename == "mensaje-completo.txt"
    assert path.read_text("utf-8") == f"Asunto: Explicación larga\n\n{body}"
    await agent.aclose()


async def test_wrong_recipient_refused_auto_replies_and_loops_not_stored(app: EmailApp) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await app.send(new_mail("Hola", "Hola", "<wrong@example.com>"), to="otra@juntaex.es")
    assert refused.value.recipients["otra@juntaex.es"][0] == 550
    await app.send(
        new_mail(
            "Fuera de la oficina",
            "Estaré fuera hasta el lunes.",
            "<ooo@example.com>",
            Auto_Submitted="auto-replied",
        )
    )
    looped = new_mail("Re: Consulta", "Hemos recibido su mensaje.", "<loop@juntaex.es>")
    looped.replace_header("From", ADDRESS)  # our own mail coming back: never answered
    await app.send(looped)
    await asyncio.sleep(0.5)
    assert await rows(app.database_url, InboundReceipt) == []
    assert await rows(app.database_url, Conversation) == []
    assert app.relay.received == []


async def test_relay_down_then_up_the_acknowledgement_is_retried_and_sent(app: EmailApp) -> None:
    app.relay.stop()
    await app.send(new_mail("Consulta sobre la ITV", ITV_QUESTION, "<down@example.com>"))

    async def retried() -> bool:
        deliveries = await rows(app.database_url, Delivery)
        return bool(deliveries) and deliveries[0].attempts >= 2

    await until(retried)
    [delivery] = await rows(app.database_url, Delivery)
    assert delivery.status in ("pending", "sending") and delivery.provider_message_id is None
    assert delivery.last_error is not None and "smtp" in delivery.last_error
    assert CITIZEN not in delivery.last_error
    app.relay.start()
    [ack] = await until(lambda: app.relay.received)
    assert ack["In-Reply-To"] == "<down@example.com>"
    [delivery] = await until(
        lambda: _when(rows(app.database_url, Delivery), lambda d: d[0].status == "sent")
    )
    assert delivery.provider_message_id == ack["Message-ID"]


async def test_relay_refusing_the_address_marks_the_delivery_failed(app: EmailApp) -> None:
    app.relay.refuse.add(CITIZEN)
    await app.send(new_mail("Consulta", "¿Dónde está la oficina de Mérida?", "<bad@example.com>"))
    [delivery] = await until(
        lambda: _when(rows(app.database_url, Delivery), lambda d: d and d[0].status == "failed")
    )
    assert delivery.attempts == 1 and delivery.last_error == "smtp 550"
    [event] = await rows(app.database_url, AuditEvent, AuditEvent.action == "delivery.failed")
    assert event.details is not None and CITIZEN not in str(event.details)


async def test_mail_stored_but_never_handed_off_is_swept_to_the_desk(prepared: Prepared) -> None:
    """What an app that stopped between the SMTP 250 and the handoff leaves behind."""
    settings, relay = prepared.settings, prepared.relay
    long_ago = utcnow() - timedelta(minutes=10)
    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as session:
        hashed = identities.user_hash(settings.identity_key(), "email", CITIZEN)
        identity = ChannelIdentity(channel="email", user_hash=hashed, address=CITIZEN)
        session.add(identity)
        await session.flush()
        conversation = Conversation(
            id=STRANDED, channel="email", identity_id=identity.id,
            outbound="outbox", controller="bot", state="bot",
        )  # fmt: skip
        session.add(conversation)
        await session.flush()
        text = "Asunto: Ayuda de comedor\n\n¿Cuándo se pide la ayuda de comedor escolar?"
        message = await append_message(session, conversation.id, "citizen", text)
        session.add(
            InboundReceipt(
                channel="email",
                external_id="<stranded@example.com>",
                conversation_id=conversation.id,
                message_id=message.id,
            )
        )
        await session.flush()
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(updated_at=long_ago, created_at=long_ago)
        )
        await session.commit()
    await engine.dispose()

    relay.start()
    try:
        with web_app_in_thread(settings) as url:
            agent = await DeskAgent(url).login("informador", "informador-n1")
            [summary] = await until(lambda: queued(agent))
            assert summary["id"] == STRANDED
            assert any("comedor" in s["title"].lower() for s in summary["handoff"]["suggestions"])
            [ack] = await until(lambda: relay.received)
            assert ack["Subject"] == "Re: Ayuda de comedor"
            assert ack["In-Reply-To"] == "<stranded@example.com>"
            await agent.aclose()
    finally:
        relay.stop()
    system = await rows(
        settings.database_url,
        Message,
        Message.conversation_id == STRANDED,
        Message.sender == "system",
    )
    assert len(system) == 1  # handed off once
