"""The gateway's provider-channel path and the persistent outbox, on both databases.

The provider is the outside world, so it is the only thing faked: ``Provider`` records what it
is asked to send and fails on demand, the way a real API would. Rasa is not running here (its
URL points at a closed port), which is itself a path under test: the bot-unavailable handoff.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.processes import free_port
from connectors.attachments import AttachmentStore
from connectors.channels import (
    Capabilities,
    DeliveryFailed,
    InboundMessage,
    IncomingFile,
    Outgoing,
    Recipient,
)
from connectors.delivery import DeliveryWorker, RetryPolicy
from connectors.gateway import ChannelLimits, Gateway
from connectors.identities import user_hash
from connectors.rasa_client import RasaClient
from desk_api.channel_models import Attachment, ChannelIdentity, Delivery, InboundReceipt
from desk_api.db import make_engine, make_sessionmaker
from desk_api.errors import TooManyRequests
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import AuditEvent, Conversation, Message, as_utc, utcnow
from desk_api.selfservice.models import Citizen, CitizenIdentity
from desk_api.services.transcript import append_message
from handoff.contract import Controller, State

KEY = b"k" * 32


@dataclass
class Provider:
    """A provider API as the channel sees it: takes messages, or fails as told."""

    name: str
    capabilities: Capabilities
    sent: list[tuple[Recipient, Outgoing]] = field(default_factory=list)
    failures: list[DeliveryFailed | Exception] = field(default_factory=list)

    async def send(self, recipient: Recipient, message: Outgoing) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((recipient, message))
        return f"{self.name}-{len(self.sent)}"


@dataclass
class Rig:
    sessions: async_sessionmaker[AsyncSession]
    gateway: Gateway
    worker: DeliveryWorker
    hub: LiveHub
    chat: Provider  # a messaging channel without buttons (WhatsApp-like)
    mail: Provider  # a channel that goes straight to the desk (email-like)
    store: AttachmentStore

    def inbound(self, text: str, **extra: Any) -> InboundMessage:
        values: dict[str, Any] = {
            "channel": "chat",
            "user_id": "+34600111222",
            "address": "chat:+34600111222",
            "text": text,
        }
        values.update(extra)
        return InboundMessage(**values)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.sessions() as session:
            found = await session.scalar(select(func.count()).select_from(model).where(*where))
            return int(found or 0)

    async def all(self, model: Any, *where: Any) -> list[Any]:
        async with self.sessions() as session:
            order = list(model.__table__.primary_key.columns)
            return list(await session.scalars(select(model).where(*where).order_by(*order)))


@pytest.fixture
async def rig(database_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    hub = LiveHub()
    rasa = RasaClient(f"http://127.0.0.1:{free_port()}", None, 2.0)  # nobody listens
    store = AttachmentStore(tmp_path / "attachments")
    gateway = Gateway(
        sessions,
        rasa,
        hub,
        4000,
        identity_key=KEY,
        limits=ChannelLimits(
            max_message_chars=200,
            max_attachment_bytes=1000,
            flood_messages_per_minute=3,
            conversation_idle=timedelta(hours=24),
        ),
        attachments=store,
    )
    chat = Provider("chat", Capabilities(buttons=False))
    mail = Provider("mail", Capabilities(buttons=False, bot=False))
    gateway.register(chat)
    gateway.register(mail)
    worker = DeliveryWorker(sessions, gateway.providers, hub, RetryPolicy(3, 0.05, 0.2))
    gateway.worker = worker
    yield Rig(sessions, gateway, worker, hub, chat, mail, store)
    await rasa.aclose()
    await engine.dispose()


async def test_a_first_message_makes_an_identity_whose_number_stays_in_the_gateway(
    rig: Rig,
) -> None:
    accepted = await rig.gateway.accept(rig.inbound("Hola, mi DNI es 12345678Z", external_id="m1"))
    assert accepted.status == "accepted"
    [identity] = await rig.all(ChannelIdentity)
    assert identity.user_hash == user_hash(KEY, "chat", "+34600111222")
    assert "600111222" not in identity.user_hash
    assert accepted.metadata["channel_user"] == identity.user_hash
    assert accepted.bot_text is not None and "12345678Z" not in accepted.bot_text  # masked
    [conversation] = await rig.all(Conversation)
    assert (conversation.channel, conversation.identity_id) == ("chat", identity.id)
    assert conversation.outbound == "outbox"
    # Rasa is down: the route hands off, and the notice goes out through the outbox.
    replies = await rig.gateway.route(accepted)
    assert [r.sender for r in replies] == ["system"]
    async with rig.sessions() as session:
        conversation = await session.get(Conversation, conversation.id)
        assert conversation is not None
        assert (conversation.controller, conversation.state) == (Controller.HUMAN, State.QUEUED)
    assert await rig.worker.run_once() == 1
    [(recipient, outgoing)] = rig.chat.sent
    assert recipient.address == "chat:+34600111222"
    assert outgoing.text == replies[0].text
    [delivery] = await rig.all(Delivery)
    assert (delivery.status, delivery.provider_message_id, delivery.attempts) == (
        "sent",
        "chat-1",
        1,
    )


async def test_a_provider_retry_changes_nothing(rig: Rig) -> None:
    first = await rig.gateway.accept(rig.inbound("Hola", external_id="SM1"))
    again = await rig.gateway.accept(rig.inbound("Hola", external_id="SM1"))
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert await rig.count(Message) == 1
    assert await rig.count(InboundReceipt) == 1


async def test_concurrent_retries_store_one_message(rig: Rig) -> None:
    await rig.gateway.accept(rig.inbound("primero", external_id="u0"))  # the identity exists
    results = await asyncio.gather(
        *(rig.gateway.accept(rig.inbound("otra vez", external_id="u1")) for _ in range(5))
    )
    assert sorted(r.status for r in results) == ["accepted"] + ["duplicate"] * 4
    assert await rig.count(Message, Message.text == "otra vez") == 1


async def test_a_flood_is_told_once_and_not_stored(rig: Rig) -> None:
    statuses = [
        (await rig.gateway.accept(rig.inbound(f"mensaje {i}", external_id=f"f{i}"))).status
        for i in range(6)
    ]
    assert statuses == ["accepted"] * 3 + ["limited"] * 3
    citizen = await rig.all(Message, Message.sender == "citizen")
    assert [m.text for m in citizen] == ["mensaje 0", "mensaje 1", "mensaje 2"]
    notices = await rig.all(Message, Message.sender == "system")
    assert len(notices) == 1 and "muchos mensajes" in notices[0].text
    # A minute later the window reopens.
    async with rig.sessions() as session:
        await session.execute(
            update(ChannelIdentity).values(window_started_at=utcnow() - timedelta(minutes=2))
        )
        await session.commit()
    assert (await rig.gateway.accept(rig.inbound("ya", external_id="f9"))).status == "accepted"


async def test_oversize_text_and_files_are_refused_with_a_reason(rig: Rig) -> None:
    long = await rig.gateway.accept(rig.inbound("x" * 201, external_id="l1"))
    assert long.status == "rejected"
    assert await rig.count(Message, Message.sender == "citizen") == 0
    assert "demasiado largo (201 caracteres)" in long.notices[0].text

    photo = IncomingFile("foto.jpg", "image/jpeg", b"\xff\xd8" + b"a" * 500)
    huge = IncomingFile("../../etc/enorme.pdf", "application/pdf", b"%PDF" + b"b" * 2000)
    accepted = await rig.gateway.accept(rig.inbound("", external_id="l2", files=[photo, huge]))
    assert accepted.status == "accepted"
    [attachment] = await rig.all(Attachment)
    assert (attachment.filename, attachment.size_bytes) == ("foto.jpg", 502)
    assert attachment.sha256 == hashlib.sha256(photo.data).hexdigest()
    assert rig.store.path(attachment.sha256).read_bytes() == photo.data
    told = [n.text for n in accepted.notices]
    assert any("«../../etc/enorme.pdf»: supera el tamaño máximo de 1 KB" in t for t in told)
    assert any("He guardado el archivo «foto.jpg»" in t for t in told)
    assert accepted.bot_text is None  # nothing for the bot to read
    assert await rig.gateway.route(accepted) == []


async def test_a_quiet_bot_conversation_ends_but_a_persons_continues(rig: Rig) -> None:
    first = await rig.gateway.accept(rig.inbound("hola", external_id="i1"))
    day_ago = utcnow() - timedelta(hours=25)
    async with rig.sessions() as session:
        await session.execute(update(Conversation).values(updated_at=day_ago))
        await session.commit()
    second = await rig.gateway.accept(rig.inbound("hola otra vez", external_id="i2"))
    assert second.conversation_id != first.conversation_id

    async with rig.sessions() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == second.conversation_id)
            .values(updated_at=day_ago, controller=Controller.HUMAN, state=State.QUEUED)
        )
        await session.commit()
    third = await rig.gateway.accept(rig.inbound("¿sigue ahí?", external_id="i3"))
    assert third.conversation_id == second.conversation_id


async def test_an_answer_to_numbered_options_is_the_option(rig: Rig) -> None:
    accepted = await rig.gateway.accept(rig.inbound("quiero pagar la ITV", external_id="n1"))
    assert accepted.conversation_id is not None
    buttons = [
        {"title": "Turismo", "payload": '/elegir{"c": "turismo"}'},
        {"title": "Motocicleta", "payload": '/elegir{"c": "moto"}'},
    ]
    async with rig.sessions() as session:
        await append_message(
            session, accepted.conversation_id, "bot", "¿Qué vehículo?", buttons=buttons
        )
        await session.commit()
    chosen = await rig.gateway.accept(rig.inbound("la segunda", external_id="n2"))
    assert chosen.bot_text == '/elegir{"c": "moto"}'
    free = await rig.gateway.accept(rig.inbound("no lo sé", external_id="n3"))
    assert free.bot_text == "no lo sé"  # the options were answered already


async def test_a_direct_to_desk_channel_queues_with_suggestions_and_threads_replies(
    rig: Rig,
) -> None:
    inbound = rig.inbound(
        "Asunto: beca\n\nQuiero pedir una beca",
        channel="mail",
        user_id="ana@example.org",
        address="ana@example.org",
        external_id="<a1@example.org>",
        metadata={"suggestions": [{"code": "1234", "title": "Becas de estudio", "url": "u"}]},
    )
    accepted = await rig.gateway.accept(inbound)
    replies = await rig.gateway.route(accepted)
    assert len(replies) == 1 and "por este mismo medio" in replies[0].text
    [conversation] = await rig.all(Conversation)
    assert conversation.state == State.QUEUED and conversation.handoff is not None
    assert conversation.handoff["reason"] == "direct_to_desk"
    assert "Becas de estudio" in conversation.handoff["summary"]
    await rig.worker.run_once()
    [(_, ack)] = rig.mail.sent
    assert ack.thread == ["<a1@example.org>"]
    # Weeks later, a reply to our acknowledgement continues the same conversation.
    async with rig.sessions() as session:
        await session.execute(
            update(Conversation).values(
                updated_at=utcnow() - timedelta(days=30), controller=Controller.BOT
            )
        )
        await session.commit()
    reply = rig.inbound(
        "Adjunto lo que faltaba",
        channel="mail",
        user_id="ana@example.org",
        address="ana@example.org",
        external_id="<a2@example.org>",
        replies_to=["mail-1"],
    )
    assert (await rig.gateway.accept(reply)).conversation_id == conversation.id
    # Someone else quoting our id does not enter Ana's conversation.
    stranger = rig.inbound(
        "Hola",
        channel="mail",
        user_id="eva@example.org",
        address="eva@example.org",
        external_id="<e1@example.org>",
        replies_to=["mail-1"],
    )
    assert (await rig.gateway.accept(stranger)).conversation_id != conversation.id


async def _agent_messages(rig: Rig, conversation_id: str, *texts: str) -> None:
    async with rig.sessions() as session:
        for text in texts:
            await append_message(session, conversation_id, "agent", text)
        await session.commit()


async def test_the_outbox_keeps_order_and_retries_with_backoff(rig: Rig) -> None:
    accepted = await rig.gateway.accept(rig.inbound("hola", external_id="o1"))
    assert accepted.conversation_id is not None
    await _agent_messages(rig, accepted.conversation_id, "uno", "dos")
    rig.chat.failures = [DeliveryFailed("503", transient=True)]
    assert await rig.worker.run_once() == 1  # "uno" failed; "dos" must wait behind it
    assert rig.chat.sent == []
    [first, second] = await rig.all(Delivery)
    assert (first.status, first.attempts, first.last_error) == ("pending", 1, "503")
    assert second.attempts == 0
    await asyncio.sleep(0.1)
    await rig.worker.run_once()
    await rig.worker.run_once()
    assert [m.text for _, m in rig.chat.sent] == ["uno", "dos"]
    assert {d.status for d in await rig.all(Delivery)} == {"sent"}


async def test_an_unforeseen_client_error_is_retried_then_given_up(rig: Rig) -> None:
    accepted = await rig.gateway.accept(rig.inbound("hola", external_id="o2"))
    assert accepted.conversation_id is not None
    await _agent_messages(rig, accepted.conversation_id, "respuesta")
    rig.chat.failures = [ConnectionResetError(), TimeoutError(), ConnectionResetError()]
    async with rig.hub.subscribe(DESK_TOPIC) as events:
        for _ in range(3):
            await rig.worker.run_once()
            await asyncio.sleep(0.25)
        [delivery] = await rig.all(Delivery)
        assert (delivery.status, delivery.attempts) == ("failed", 3)
        event = events.get_nowait()
    assert event["type"] == "delivery.failed"
    assert event["conversation_id"] == accepted.conversation_id
    [audit] = await rig.all(AuditEvent, AuditEvent.action == "delivery.failed")
    assert audit.details is not None and audit.details["attempts"] == 3


async def test_a_permanent_failure_is_not_retried(rig: Rig) -> None:
    accepted = await rig.gateway.accept(rig.inbound("hola", external_id="o3"))
    assert accepted.conversation_id is not None
    await _agent_messages(rig, accepted.conversation_id, "respuesta")
    rig.chat.failures = [DeliveryFailed("400 número no válido", transient=False)]
    await rig.worker.run_once()
    [delivery] = await rig.all(Delivery)
    assert (delivery.status, delivery.attempts) == ("failed", 1)


async def test_a_closed_channel_reroutes_to_the_citizens_other_verified_channel(rig: Rig) -> None:
    on_chat = await rig.gateway.accept(rig.inbound("hola", external_id="r1"))
    on_mail = rig.inbound(
        "hola", channel="mail", user_id="ana@example.org", address="ana@example.org",
        external_id="<r2@example.org>",
    )  # fmt: skip
    await rig.gateway.accept(on_mail)
    async with rig.sessions() as session:
        citizen = Citizen(
            id="c-1", email="ana@example.org", privacy_accepted_at=utcnow(), privacy_version="1"
        )
        session.add(citizen)
        await session.flush()
        for channel, hashed in (
            ("chat", user_hash(KEY, "chat", "+34600111222")),
            ("mail", user_hash(KEY, "mail", "ana@example.org")),
        ):
            session.add(CitizenIdentity(citizen_id="c-1", channel=channel, channel_user=hashed,
                                        verified_by="email"))  # fmt: skip
        await session.execute(
            update(Conversation)
            .where(Conversation.id == on_chat.conversation_id)
            .values(citizen_id="c-1")
        )
        await session.commit()
    assert on_chat.conversation_id is not None
    await _agent_messages(rig, on_chat.conversation_id, "Su solicitud está resuelta.")
    rig.chat.failures = [DeliveryFailed("fuera de la ventana de 24 h", transient=False,
                                        elsewhere=True)]  # fmt: skip
    await rig.worker.run_once()
    await rig.worker.run_once()
    deliveries = await rig.all(Delivery)
    assert sorted((d.channel, d.status) for d in deliveries) == [
        ("chat", "failed"), ("mail", "sent")
    ]  # fmt: skip
    [(recipient, outgoing)] = rig.mail.sent
    assert (recipient.address, outgoing.text) == ("ana@example.org", "Su solicitud está resuelta.")


async def test_a_send_whose_worker_died_is_sent_after_its_lease(rig: Rig) -> None:
    accepted = await rig.gateway.accept(rig.inbound("hola", external_id="w1"))
    assert accepted.conversation_id is not None
    await _agent_messages(rig, accepted.conversation_id, "respuesta")
    async with rig.sessions() as session:  # claimed by a worker that then crashed
        await session.execute(
            update(Delivery).values(
                status="sending", attempts=1, next_attempt_at=utcnow() + timedelta(seconds=60)
            )
        )
        await session.commit()
    assert await rig.worker.run_once() == 0  # its lease still runs
    async with rig.sessions() as session:
        await session.execute(
            update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await rig.worker.run_once() == 1
    [delivery] = await rig.all(Delivery)
    assert (delivery.status, delivery.attempts) == ("sent", 2)


async def test_the_running_worker_sends_when_woken(rig: Rig) -> None:
    accepted = await rig.gateway.accept(rig.inbound("hola", external_id="k1"))
    assert accepted.conversation_id is not None
    rig.worker.start()
    try:
        await _agent_messages(rig, accepted.conversation_id, "enseguida")
        rig.worker.wake()
        for _ in range(100):
            if rig.chat.sent:
                break
            await asyncio.sleep(0.02)
    finally:
        await rig.worker.stop()
    assert [m.text for _, m in rig.chat.sent] == ["enseguida"]


async def test_messages_to_the_web_chat_never_enter_the_outbox(rig: Rig) -> None:
    conversation, _token = await rig.gateway.start_conversation("webchat")
    await _agent_messages(rig, conversation.id, "hola")
    assert await rig.count(Delivery) == 0


async def test_the_web_chat_refuses_a_flood_with_a_clear_message(rig: Rig) -> None:
    conversation, token = await rig.gateway.start_conversation("webchat")
    for i in range(3):
        await rig.gateway.receive(conversation.id, token, f"mensaje {i}")
    with pytest.raises(TooManyRequests, match="muchos mensajes"):
        await rig.gateway.receive(conversation.id, token, "uno más")
    assert await rig.count(Message, Message.sender == "citizen") == 3


async def test_a_verified_identity_brings_its_citizen_into_new_conversations(rig: Rig) -> None:
    async with rig.sessions() as session:
        session.add(
            Citizen(id="c-2", email="eva@example.org", privacy_accepted_at=utcnow(),
                    privacy_version="1")
        )  # fmt: skip
        await session.flush()
        hashed = user_hash(KEY, "chat", "+34600111222")
        session.add(
            CitizenIdentity(citizen_id="c-2", channel="chat", channel_user=hashed,
                            verified_by="email")
        )  # fmt: skip
        await session.commit()
    accepted = await rig.gateway.accept(rig.inbound("hola", external_id="v1"))
    [conversation] = await rig.all(Conversation, Conversation.id == accepted.conversation_id)
    assert conversation.citizen_id == "c-2"
    other = await rig.gateway.accept(rig.inbound("hola", user_id="+34600999888", external_id="v2"))
    [stranger] = await rig.all(Conversation, Conversation.id == other.conversation_id)
    assert stranger.citizen_id is None


async def test_a_new_call_starts_a_new_conversation_unless_a_person_attends(rig: Rig) -> None:
    first = await rig.gateway.accept(rig.inbound("hola", external_id="c1"))
    again = await rig.gateway.accept(rig.inbound("hola", external_id="c2", new_conversation=True))
    assert again.conversation_id != first.conversation_id
    follow = await rig.gateway.accept(rig.inbound("y otra cosa", external_id="c3"))
    assert follow.conversation_id == again.conversation_id
    async with rig.sessions() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == again.conversation_id)
            .values(controller=Controller.HUMAN, state=State.QUEUED)
        )
        await session.commit()
    held = await rig.gateway.accept(rig.inbound("hola", external_id="c4", new_conversation=True))
    assert held.conversation_id == again.conversation_id


async def test_a_provider_asking_to_wait_is_waited_for(rig: Rig) -> None:
    accepted = await rig.gateway.accept(rig.inbound("hola", external_id="t1"))
    assert accepted.conversation_id is not None
    await _agent_messages(rig, accepted.conversation_id, "respuesta")
    rig.chat.failures = [DeliveryFailed("429", transient=True, retry_after=30)]
    before = utcnow()
    await rig.worker.run_once()
    [delivery] = await rig.all(Delivery)
    assert delivery.status == "pending"
    waited = as_utc(delivery.next_attempt_at) - before
    assert timedelta(seconds=29) < waited < timedelta(seconds=35)  # not the 0.05 s backoff
    assert await rig.worker.run_once() == 0
