"""Deadlines on real databases (SQLite and PostgreSQL), time frozen with ``time-machine``:
computed at hand-off, paused while waiting for the citizen, warned and breached once each (also
with two workers at once, on PostgreSQL), closed on resolution."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from desk_api.deadline_models import Deadline, DeadlineAlert
from desk_api.live import LiveHub
from desk_api.models import AuditEvent, Conversation, Unit
from desk_api.selfservice.models import Case
from desk_api.services import accounts, calendar, deadlines
from desk_api.services.transcript import append_message
from tests.desk_api.test_inbox_views import add_conversation
from tests.support.db import database

MADRID = ZoneInfo("Europe/Madrid")
HOUR = 3600


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of December 2026 (or another month) in Madrid, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


class RecordingHub(LiveHub):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.events.append(event)
        super().publish(topic, event)


@pytest.fixture(autouse=True)
def _default_deadline_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("FIRST_RESPONSE_HOURS", "RESOLUTION_DAYS", "WARN_RATIO", "DEFAULT_OFFICE"):
        monkeypatch.delenv(f"TUA_DEADLINES_{name}", raising=False)
    calendar.reset()
    yield
    calendar.reset()


async def seeded_conversation(url: str, channel: str = "webchat") -> str:
    async with database(url) as session:
        if not await session.scalar(select(func.count()).select_from(accounts.Agent)):
            await accounts.seed_demo(session)
        conversation_id = await add_conversation(session, state="queued", channel=channel)
        await session.commit()
        return conversation_id


async def hand_off(url: str, conversation_id: str, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        async with database(url) as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            await deadlines.start_conversation(session, conversation)
            await session.commit()


async def say(url: str, conversation_id: str, sender: str, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        async with database(url) as session:
            await append_message(session, conversation_id, sender, "…")
            await session.commit()


async def row(url: str, conversation_id: str) -> Deadline:
    async with database(url) as session:
        found = await session.scalar(
            select(Deadline).where(Deadline.conversation_id == conversation_id)
        )
        assert found is not None
        return found


async def state(url: str, conversation_id: str, moment: datetime) -> deadlines.DeadlineOut:
    async with database(url) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        found = await deadlines.deadline_of(session, conversation, moment)
        assert found is not None
        return found


async def test_hand_off_pause_resume_and_resolution(database_url: str) -> None:
    cid = await seeded_conversation(database_url)
    # Wednesday 9 December 2026, 10:00 in Madrid; the seat (Mérida) rests on Thursday 10.
    await hand_off(database_url, cid, at(12, 9, 10))
    deadline = await row(database_url, cid)
    assert deadlines.as_utc(deadline.first_response_due) == at(12, 11, 10)  # 8 business hours
    assert deadlines.as_utc(deadline.resolution_due) == at(12, 17, 18)  # 5 opening days
    assert (await state(database_url, cid, at(12, 9, 12))).state == "en_plazo"

    # The agent answers at 11:00: first answer in 1 business hour, and the clock pauses.
    await say(database_url, cid, "agent", at(12, 9, 11))
    deadline = await row(database_url, cid)
    assert deadlines.as_utc(deadline.first_response_at or at(1, 1, 0)) == at(12, 9, 11)
    assert deadline.first_response_seconds == HOUR
    paused = await state(database_url, cid, at(12, 14, 9))
    assert paused.state == "pausado" and paused.paused and paused.text.startswith("En pausa")
    # Waiting, the deadline does not run out even past its due time.
    assert (await state(database_url, cid, at(12, 30, 9))).state == "pausado"

    # The citizen answers on Friday 11 at 10:00: 5.5 + 1.5 business hours were paused.
    await say(database_url, cid, "citizen", at(12, 11, 10))
    deadline = await row(database_url, cid)
    assert deadline.paused_since is None and deadline.paused_seconds == 7 * HOUR
    assert deadlines.as_utc(deadline.resolution_due) == at(12, 18, 17)  # 18:00 + 7 h
    # Another agent message pauses again; a desk notice (a derivation) resumes the clock.
    await say(database_url, cid, "agent", at(12, 14, 9))
    await say(database_url, cid, "system", at(12, 14, 10))
    deadline = await row(database_url, cid)
    assert deadline.paused_seconds == 8 * HOUR  # the first answer stays
    assert deadlines.as_utc(deadline.first_response_at or at(1, 1, 0)) == at(12, 9, 11)

    # Resolved on Monday 21 at 9:00: late (the due was Friday 18 at 18:00).
    with time_machine.travel(at(12, 21, 9), tick=False):
        async with database(database_url) as session:
            await deadlines.on_resolved(session, cid)
            await session.commit()
    final = await state(database_url, cid, at(12, 28, 9))
    assert final.state == "incumplido" and final.resolved_at == at(12, 21, 9)


async def test_warning_and_breach_are_recorded_once(database_url: str) -> None:
    cid = await seeded_conversation(database_url)
    await hand_off(database_url, cid, at(12, 9, 10))  # first answer due Friday 11, 10:00
    hub = RecordingHub()

    async def check(moment: datetime) -> int:
        with time_machine.travel(moment, tick=False):
            async with database(database_url) as session:
                return await deadlines.check(session, hub)

    assert await check(at(12, 9, 17)) == 0
    # The warning at 80 % of 8 business hours (6.4 h): Wednesday 10:00-14:30 and 16:00-17:54;
    # the breach on Friday at 10:00 (Thursday is a local holiday at the seat, Mérida).
    assert await check(at(12, 9, 17, 54)) == 1
    assert await check(at(12, 9, 17, 59)) == 0
    assert await check(at(12, 11, 9, 59)) == 0
    assert await check(at(12, 11, 10)) == 1  # the breach
    assert await check(at(12, 11, 11)) == 0
    assert [e["type"] for e in hub.events] == [
        "deadline.warning", "deadline.breached", "deadline.escalated"]  # fmt: skip
    warning = hub.events[0]
    assert warning["conversation"]["id"] == cid and warning["alert"]["target"] == "first_response"
    assert warning["conversation"]["deadline"]["state"] == "proximo"
    assert hub.events[2]["audience"] == "supervisor"
    async with database(database_url) as session:
        alerts = list(await session.scalars(select(DeadlineAlert).order_by(DeadlineAlert.id)))
        audits = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("deadline.%"))
            )
        )
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        listed = await deadlines.deadline_of(session, conversation, at(12, 11, 11))
    assert [(a.kind, a.target) for a in alerts] == [
        ("warning", "first_response"), ("breach", "first_response")]  # fmt: skip
    assert sorted(audits) == ["deadline.breach", "deadline.warning"]
    assert listed is not None and listed.state == "vencido"
    assert listed.business_seconds_left == -HOUR


async def test_two_workers_record_each_alert_once(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent workers need PostgreSQL's row locks and unique index waits")
    ids = [await seeded_conversation(database_url) for _ in range(6)]
    for cid in ids:
        await hand_off(database_url, cid, at(12, 1, 10))
    moment = at(12, 2, 17)  # first answers overdue since 2 December at 10:00

    async def worker() -> int:
        async with database(database_url) as session:
            return await deadlines.check(session, None, moment)

    results = await asyncio.gather(*(worker() for _ in range(4)))
    assert sum(results) == 6
    async with database(database_url) as session:
        count = await session.scalar(select(func.count()).select_from(DeadlineAlert))
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "deadline.breach")
        )
    assert count == 6 and audits == 6


async def test_per_channel_first_response_and_settings(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUA_DEADLINES_FIRST_RESPONSE_HOURS", "2")
    monkeypatch.setenv("TUA_DEADLINES_RESOLUTION_DAYS", "1")
    monkeypatch.setenv("TUA_DEADLINES_DEFAULT_OFFICE", "OF-003")  # Cáceres: no holiday on 10th
    calendar.reset()
    web = await seeded_conversation(database_url)
    voice = await seeded_conversation(database_url, channel="voz")
    await hand_off(database_url, web, at(12, 9, 13))
    await hand_off(database_url, voice, at(12, 9, 13))
    web_row, voice_row = await row(database_url, web), await row(database_url, voice)
    assert deadlines.as_utc(web_row.first_response_due) == at(12, 9, 16, 30)  # 2 h over lunch
    assert deadlines.as_utc(voice_row.first_response_due) == at(12, 10, 9)  # voice: 4 h
    assert deadlines.as_utc(web_row.resolution_due) == at(12, 10, 18)  # Cáceres works on 10th
    assert web_row.office_code == "OF-003"


async def test_a_complaint_runs_to_the_end_of_its_legal_day(database_url: str) -> None:
    registered = at(12, 1, 10)  # Tuesday 1 December 2026
    async with database(database_url) as session:
        await accounts.seed_demo(session)
        unit = await session.scalar(select(Unit).where(Unit.code == "SAMPLE-DEP"))
        assert unit is not None
        case = Case(
            code="QS-2026-000001", kind="queja", status="registrada", channel="webchat",
            unit_id=unit.id, unit_code="A11000000", unit_name="Consejería (muestra)",
            description="La oficina estaba cerrada en horario de atención.",
            contact_preference="canal", deadline=date(2026, 12, 23),
        )  # fmt: skip
        session.add(case)
        await session.flush()
        with time_machine.travel(registered, tick=False):
            deadline = await deadlines.start_case(session, case)
        await session.commit()
        # The whole last day counts: until midnight in Madrid (23:00 UTC in winter).
        assert deadlines.as_utc(deadline.resolution_due) == datetime(2026, 12, 23, 23, tzinfo=UTC)
        assert deadlines.as_utc(deadline.first_response_due) == at(12, 3, 10)  # 16 h
        hub = RecordingHub()
        assert await deadlines.check(session, hub, at(12, 3, 10)) == 1  # first action overdue
        assert hub.events[0]["audience"] == "unit" and hub.events[0]["unit_code"] == "SAMPLE-DEP"
        assert hub.events[0]["alert"]["case_code"] == "QS-2026-000001"
        assert hub.events[1]["type"] == "deadline.escalated"
        await deadlines.on_case_done(session, case, at(12, 22, 12))
        await session.commit()
        shown = await deadlines.deadline_of(session, case, at(12, 28, 9))
    assert shown is not None and shown.state == "incumplido"  # the first action came late
    assert shown.resolved_at == at(12, 22, 12)


async def test_old_breaches_do_not_hide_new_ones(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadlines, "CHECK_BATCH", 1)
    first, second = await seeded_conversation(database_url), await seeded_conversation(database_url)
    await hand_off(database_url, first, at(12, 9, 10))
    await hand_off(database_url, second, at(12, 9, 10))

    async def check() -> int:
        async with database(database_url) as session:
            return await deadlines.check(session, None, at(12, 11, 10))

    assert [await check(), await check(), await check()] == [1, 1, 0]
    async with database(database_url) as session:
        alerted = set(await session.scalars(select(DeadlineAlert.conversation_id)))
    assert alerted == {first, second}
