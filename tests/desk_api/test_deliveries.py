"""The outbox in the desk: failed deliveries are listed, announced live and sent again.

The conversation is a Telegram one whose channel this app does not run (no token configured),
so the real delivery worker fails every message permanently ("canal telegram no configurado"):
a real permanent failure, with no fake provider needed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from sqlalchemy import select, update

from connectors import identities
from desk_api.channel_models import ChannelIdentity, Delivery
from desk_api.models import AuditEvent, Conversation, utcnow
from desk_api.services.transcript import append_message
from desk_api.settings import Settings
from tests.support.clients import DeskAgent, next_event
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]
NOT_CONFIGURED = "canal telegram no configurado"


async def queued_telegram_conversation(settings: Settings) -> str:
    """A Telegram citizen's conversation waiting in the N1 queue (what the gateway leaves after
    "quiero hablar con una persona"); replies to it leave through the outbox."""
    now = utcnow()
    async with database(settings) as session:
        identity = await identities.upsert(
            session, "telegram", uuid.uuid4().hex, str(uuid.uuid4().int)[:9], now
        )
        await session.flush()
        conversation = Conversation(
            id=str(uuid.uuid4()),
            channel="telegram",
            identity_id=identity.id,
            outbound="outbox",
            controller="human",
            state="queued",
            tier="n1",
            handed_off_at=now,
            handoff={"reason": "citizen_request", "summary": "Quiere hablar con una persona."},
            created_at=now,
            updated_at=now,
        )
        session.add(conversation)
        await session.flush()
        await append_message(session, conversation.id, "citizen", "quiero hablar con una persona")
        await session.commit()
        return conversation.id


async def settled(agent: DeskAgent, cid: str, count: int) -> list[dict[str, Any]]:
    """The conversation's deliveries once the worker has dealt with ``count`` of them."""
    async with asyncio.timeout(15):
        while True:
            rows: list[dict[str, Any]] = await agent.ok("GET", f"/conversations/{cid}/deliveries")
            if len(rows) >= count and all(r["status"] in ("sent", "failed") for r in rows):
                return rows
            await asyncio.sleep(0.1)


async def test_a_failed_delivery_is_shown_live_and_sent_again(
    web: str, login: Login, settings: Settings
) -> None:
    cid = await queued_telegram_conversation(settings)
    n1 = await login("n1")
    async with websockets.connect(n1.ws_url()) as ws:
        await n1.ok("POST", f"/conversations/{cid}/take")  # its notice goes out too
        reply = await n1.ok(
            "POST", f"/conversations/{cid}/messages", json={"text": "Buenos días, le atiendo."}
        )
        failures = [await next_event(ws, "delivery.failed") for _ in range(2)]
        event = next(e for e in failures if e["delivery"]["message_id"] == reply["id"])
        assert event["conversation_id"] == cid
        assert event["conversation"]["id"] == cid  # the socket's visibility rule needs it
        assert event["delivery"]["error"] == NOT_CONFIGURED

        rows = await settled(n1, cid, 2)
        failed = next(r for r in rows if r["message_id"] == reply["id"])
        assert failed["status"] == "failed" and failed["channel"] == "telegram"
        assert failed["attempts"] == 1 and failed["last_error"] == NOT_CONFIGURED
        detail = await n1.ok("GET", f"/conversations/{cid}")
        assert {d["id"] for d in detail["deliveries"]} == {r["id"] for r in rows}

        again = await n1.ok("POST", f"/deliveries/{failed['id']}/retry")
        assert again["status"] == "pending" and again["attempts"] == 0
        updated = await next_event(ws, "delivery.updated")
        assert updated["delivery"]["id"] == failed["id"]
        assert updated["conversation"]["id"] == cid
        refailed = await next_event(ws, "delivery.failed")  # the worker was woken at once
        assert refailed["delivery"]["id"] == failed["id"]

    # Closing the conversation also lets the server's socket pump notice the closed socket
    # (it waits for the next event), so the app stops at once at the end of the test.
    await asyncio.sleep(0.2)
    await n1.ok("POST", f"/conversations/{cid}/resolve")
    rows = await settled(n1, cid, 3)
    retried = next(r for r in rows if r["id"] == failed["id"])
    assert retried["status"] == "failed" and retried["attempts"] == 1
    async with database(settings) as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.conversation_id == cid, AuditEvent.action.like("delivery.%"))
                .order_by(AuditEvent.id)
            )
        )
        retry = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "delivery.retry")
        )
    # The take notice, the reply twice, the resolve notice, the satisfaction question.
    assert actions.count("delivery.failed") == 5 and actions.count("delivery.retry") == 1
    assert retry is not None and retry.actor_id == str(n1.me["id"])
    assert retry.details == {
        "delivery_id": failed["id"],
        "message_id": reply["id"],
        "channel": "telegram",
        "previous_error": NOT_CONFIGURED,
    }


async def test_who_may_retry_and_what_cannot_be_retried(
    web: str, login: Login, settings: Settings
) -> None:
    cid = await queued_telegram_conversation(settings)
    n1, n2 = await login("n1"), await login("n2")
    await n1.ok("POST", f"/conversations/{cid}/take")
    reply = await n1.ok("POST", f"/conversations/{cid}/messages", json={"text": "Le atiendo."})
    rows = await settled(n1, cid, 2)
    failed = next(r for r in rows if r["message_id"] == reply["id"])

    # N2 of another unit sees neither the conversation nor its deliveries.
    assert (await n2.call("GET", f"/conversations/{cid}/deliveries")).status_code == 404
    refused = await n2.call("POST", f"/deliveries/{failed['id']}/retry")
    assert refused.status_code == 404
    assert (await n1.call("POST", "/deliveries/999999/retry")).status_code == 404
    anonymous = DeskAgent(web)
    assert (await anonymous.call("POST", f"/deliveries/{failed['id']}/retry")).status_code == 401
    await anonymous.aclose()

    # Sent already: nothing to retry.
    notice = next(r for r in rows if r["id"] != failed["id"])
    async with database(settings) as session:
        await session.execute(
            update(Delivery).where(Delivery.id == notice["id"]).values(status="sent")
        )
        await session.commit()
    sent = await n1.call("POST", f"/deliveries/{notice['id']}/retry")
    assert sent.status_code == 409 and sent.json()["detail"] == "Ese mensaje ya se ha entregado."

    # Rerouted to another channel of the citizen by the worker: retrying would send it twice.
    async with database(settings) as session:
        other = await identities.upsert(
            session, "whatsapp", uuid.uuid4().hex, "+34600000000", utcnow()
        )
        await session.flush()
        session.add(
            Delivery(
                conversation_id=cid,
                message_id=reply["id"],
                channel="whatsapp",
                identity_id=other.id,
                status="sent",
            )
        )
        await session.commit()
    twice = await n1.call("POST", f"/deliveries/{failed['id']}/retry")
    assert twice.status_code == 409
    assert (
        twice.json()["detail"] == "Ese mensaje ya se ha enviado (o se está enviando) por WhatsApp."
    )
    async with database(settings) as session:
        retries = await session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "delivery.retry")
        )
        assert retries is None  # refused requests changed nothing
        assert await session.get(ChannelIdentity, other.id) is not None
