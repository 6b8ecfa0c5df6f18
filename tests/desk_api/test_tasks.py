"""Callbacks («Llamadas pendientes»): the voicemails left out of hours, as the desk lists and
closes them. The tasks are created with ``tasks.create_callback``, as the voice channel does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from sqlalchemy import select

from connectors import identities
from desk_api.models import AuditEvent, Conversation, utcnow
from desk_api.services import tasks
from desk_api.settings import Settings
from tests.support.clients import DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]
CALLER = "+34612345678"


async def voicemails(settings: Settings, *due: date) -> tuple[str, list[int]]:
    """A phone call's conversation with one voicemail per due day, as the voice channel leaves
    them (it commits)."""
    now = utcnow()
    async with database(settings) as session:
        identity = await identities.upsert(session, "voz", uuid.uuid4().hex, CALLER, now)
        await session.flush()
        conversation = Conversation(
            id=str(uuid.uuid4()), channel="voz", identity_id=identity.id, outbound="live"
        )
        session.add(conversation)
        await session.flush()
        created = [
            tasks.create_callback(
                session,
                conversation_id=conversation.id,
                identity_id=identity.id,
                due_on=day,
                details={
                    "recording_url": f"https://api.twilio.com/recordings/RE{i}",
                    "recording_sid": f"RE{i}",
                    "duration": "42",
                    "transcription": f"Llamo por la beca número {i}, llámenme, por favor.",
                    "call_sid": f"CA{i}",
                },
            )
            for i, day in enumerate(due)
        ]
        await session.commit()
        return conversation.id, [t.id for t in created]


async def test_callbacks_are_listed_soonest_first_with_what_the_informer_needs(
    web: str, login: Login, settings: Settings
) -> None:
    today = date.today()
    cid, (later, overdue) = await voicemails(
        settings, today + timedelta(days=3), today - timedelta(days=2)
    )
    n1 = await login("n1")
    listed = await n1.ok("GET", "/tasks")
    assert [t["id"] for t in listed] == [overdue, later]
    first = listed[0]
    assert first["overdue"] is True and listed[1]["overdue"] is False
    assert first["kind"] == "callback" and first["status"] == "open"
    assert first["conversation_id"] == cid and first["channel"] == "voz"
    assert first["phone"] == CALLER and first["phone_display"] == "612 34 56 78"
    assert first["recording_url"] == "https://api.twilio.com/recordings/RE1"
    assert first["transcription"] == "Llamo por la beca número 1, llámenme, por favor."
    assert first["duration_seconds"] == 42 and first["due_on"] == str(today - timedelta(days=2))
    assert await n1.ok("GET", "/tasks", params={"status": "done"}) == []
    admin = await login("admin")
    assert [t["id"] for t in await admin.ok("GET", "/tasks")] == [overdue, later]
    async with database(settings) as session:
        created = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "task.created"))
        )
    assert {e.details["recording_sid"] for e in created if e.details} == {"RE0", "RE1"}
    assert all(e.conversation_id == cid and e.actor_type == "system" for e in created)

    # Only N1 and administrators make callbacks.
    n2 = await login("n2")
    refused = await n2.call("GET", "/tasks")
    assert refused.status_code == 403 and "N1" in refused.json()["detail"]
    assert (
        await n2.call("POST", f"/tasks/{overdue}/done", json={"outcome": "x"})
    ).status_code == 403
    anonymous = DeskAgent(web)
    assert (await anonymous.call("GET", "/tasks")).status_code == 401
    await anonymous.aclose()
    assert (await n1.call("GET", "/tasks", params={"status": "later"})).status_code == 422


async def test_a_callback_is_closed_once_with_its_outcome(
    web: str, login: Login, settings: Settings
) -> None:
    _, (task_id, other_id) = await voicemails(settings, date.today(), date.today())
    n1, n1_b = await login("n1"), await login("n1_b")
    blank = await n1.call("POST", f"/tasks/{task_id}/done", json={"outcome": "   "})
    assert blank.status_code == 422 and "resultado" in blank.json()["detail"]
    assert (await n1.call("POST", "/tasks/999999/done", json={"outcome": "x"})).status_code == 404

    # Two informers close the same callback at once: one wins, the other learns it.
    first, second = await asyncio.gather(
        n1.call(
            "POST", f"/tasks/{task_id}/done", json={"outcome": "Llamada hecha: cita el lunes."}
        ),
        n1_b.call("POST", f"/tasks/{task_id}/done", json={"outcome": "Le he llamado yo."}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    winner, loser = (n1, n1_b) if first.status_code == 200 else (n1_b, n1)
    won = (first if first.status_code == 200 else second).json()
    lost = second if first.status_code == 200 else first
    assert lost.json()["detail"] == "Otra persona ya ha marcado esta llamada como hecha."
    assert won["status"] == "done" and won["done_by"]["id"] == winner.me["id"]
    assert won["done_at"] is not None and won["overdue"] is False

    # The winner pressing it again changes nothing (idempotent), the loser still gets 409.
    again = await winner.ok("POST", f"/tasks/{task_id}/done", json={"outcome": "Otra cosa"})
    assert again["outcome"] == won["outcome"] and again["done_at"] == won["done_at"]
    assert (
        await loser.call("POST", f"/tasks/{task_id}/done", json={"outcome": "x"})
    ).status_code == 409

    assert [t["id"] for t in await n1.ok("GET", "/tasks")] == [other_id]
    done = await n1.ok("GET", "/tasks", params={"status": "done"})
    assert [t["id"] for t in done] == [task_id] and done[0]["outcome"] == won["outcome"]
    async with database(settings) as session:
        audited = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "task.done"))
        )
    assert len(audited) == 1 and audited[0].actor_id == str(winner.me["id"])
    assert audited[0].details == {"task_id": task_id, "kind": "callback", "outcome": won["outcome"]}
