"""«Posponer»: validation, the «Pospuestas» view, and waking up by time, by the citizen writing
and by hand. Time is frozen where it matters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
import websockets
from sqlalchemy import select

from desk_api.assignment_models import ConversationSnooze
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import AuditEvent
from desk_api.services import snooze
from desk_api.settings import Settings
from tests.desk_api.test_assignment import bot_down_settings, event_where, hand_off, listed
from tests.desk_api.test_inbox_views import add_conversation, agent_ids
from tests.desk_api.test_notes import Login
from tests.support.db import database

NOW = datetime(2026, 12, 10, 10, 30, tzinfo=UTC)  # 11:30 in Mérida


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return bot_down_settings(database_url, tmp_path, monkeypatch)


async def snooze_call(agent: Any, cid: str, **body: Any) -> Any:
    return await agent.call("PUT", f"/conversations/{cid}/snooze", json=body)


async def test_validation_views_and_waking_by_hand(
    web: str, login: Login, settings: Settings
) -> None:
    async with database(settings) as s:
        agents = await agent_ids(s)
        cid = await add_conversation(s, state="assigned", agent_id=agents["informador"])
        await s.commit()
    with time_machine.travel(NOW, tick=True):  # the whole test: tokens are valid 12 hours
        n1, n1_b = await login("n1"), await login("n1_b")
        cases: dict[str, dict[str, Any]] = {
            "La fecha y hora para posponer deben ser posteriores a este momento.": {
                "until": (NOW - timedelta(minutes=1)).isoformat()
            },
            "Solo se puede posponer una conversación hasta 30 días.": {
                "until": (NOW + timedelta(days=30, minutes=1)).isoformat()
            },
            "Indique hasta cuándo quiere posponer la conversación o elija «Hasta que responda "
            "el ciudadano».": {},
            "Elija una fecha y hora o «Hasta que responda el ciudadano», pero no las dos.": {
                "until": (NOW + timedelta(hours=1)).isoformat(),
                "until_reply": True,
            },
        }
        for message, body in cases.items():
            refused = await snooze_call(n1, cid, **body)
            assert refused.status_code == 422 and refused.json()["detail"] == message
        garbage = await snooze_call(n1, cid, until="mañana")
        assert garbage.status_code == 422
        # Only the assignee snoozes.
        assert (await snooze_call(n1_b, cid, until_reply=True)).status_code == 403
        # No offset: the desk's local time (Madrid, UTC+1 in December).
        done = await snooze_call(n1, cid, until="2026-12-10T13:00:00")
        assert done.status_code == 200, done.text
        assert done.json()["until"].startswith("2026-12-10T12:00:00")
        # Thirty days exactly is allowed.
        limit = await snooze_call(n1, cid, until=(NOW + timedelta(days=30)).isoformat())
        assert limit.status_code == 200
        assert cid not in await listed(n1, "mine") and cid not in await listed(n1, "waiting")
        assert cid in await listed(n1, "snoozed") and cid not in await listed(n1_b, "snoozed")
        [row] = await n1.ok("GET", "/conversations", params={"view": "snoozed"})
        assert row["snooze"]["until"].startswith("2027-01-09T10:30")
        assert (await n1.ok("GET", f"/conversations/{cid}"))["snooze"]["until_reply"] is False
        assert (await n1_b.call("DELETE", f"/conversations/{cid}/snooze")).status_code == 403
        woken = await n1.ok("DELETE", f"/conversations/{cid}/snooze")
        assert woken["snooze"] is None
        assert cid in await listed(n1, "mine") and cid not in await listed(n1, "snoozed")
        audit = await n1.ok("GET", f"/conversations/{cid}/audit")
        trail = [(e["action"], e["details"]) for e in audit if e["action"].startswith("snooze")]
        assert trail == [
            ("snooze", {"until": "2026-12-10T12:00:00+00:00", "until_reply": False}),
            ("snooze", {"until": "2027-01-09T10:30:00+00:00", "until_reply": False}),
            ("snooze.wake", {"reason": "agent"}),
        ]


async def test_it_wakes_when_its_time_comes(web: str, login: Login, settings: Settings) -> None:
    async with database(settings) as s:
        agents = await agent_ids(s)
        cid = await add_conversation(s, state="assigned", agent_id=agents["informador"])
        later = await add_conversation(s, state="assigned", agent_id=agents["informador"])
        await s.commit()
    with time_machine.travel(NOW, tick=True):
        n1 = await login("n1")
        assert (await snooze_call(n1, cid, until="2026-12-10T12:00:00+01:00")).status_code == 200
        assert (await snooze_call(n1, later, until="2026-12-11T09:00:00+01:00")).status_code == 200
    hub = LiveHub()
    async with hub.subscribe(DESK_TOPIC) as events, database(settings) as s:
        with time_machine.travel(datetime(2026, 12, 10, 10, 59, tzinfo=UTC)):
            assert await snooze.wake_due(s, hub) == []  # a minute early
        with time_machine.travel(datetime(2026, 12, 10, 11, 0, 1, tzinfo=UTC)):
            assert await snooze.wake_due(s, hub) == [cid]
        event = events.get_nowait()
    assert event["type"] == "conversation.updated" and event["conversation"]["id"] == cid
    assert event["assignment"] == {
        "agent_id": agents["informador"],
        "kind": "woken",
        "reason": "time",
    }
    with time_machine.travel(datetime(2026, 12, 10, 11, 1, tzinfo=UTC), tick=True):
        assert cid in await listed(n1, "mine") and await listed(n1, "snoozed") == [later]


async def test_the_citizen_writing_wakes_it_and_a_resolve_drops_it(
    web: str, login: Login, settings: Settings
) -> None:
    citizen = await hand_off(web)
    cid = citizen.conversation_id
    n1 = await login("n1")
    await n1.ok("POST", f"/conversations/{cid}/take")
    assert (await snooze_call(n1, cid, until_reply=True)).status_code == 200
    assert await listed(n1, "snoozed") == [cid]
    async with websockets.connect(n1.ws_url()) as ws:
        await asyncio.sleep(0.2)
        await citizen.say("¿Hay alguna novedad?")
        event = await event_where(ws, "conversation.updated", lambda e: "assignment" in e)
    assert event["assignment"]["kind"] == "woken" and event["assignment"]["reason"] == "citizen"
    assert cid in await listed(n1, "mine") and await listed(n1, "snoozed") == []
    # Snoozed again, then resolved: the snooze goes with it.
    assert (await snooze_call(n1, cid, until_reply=True)).status_code == 200
    await n1.ok("POST", f"/conversations/{cid}/resolve")
    async with database(settings) as s:
        assert await s.get(ConversationSnooze, cid) is None
        wakes = list(
            await s.scalars(
                select(AuditEvent.details).where(
                    AuditEvent.conversation_id == cid, AuditEvent.action == "snooze.wake"
                )
            )
        )
    assert wakes == [{"reason": "citizen"}]
    # A resolved conversation cannot be snoozed.
    late = await snooze_call(n1, cid, until_reply=True)
    assert late.status_code == 409
    await citizen.aclose()


@pytest.mark.parametrize("kind", ["queue", "resolved"])
async def test_only_open_conversations_of_mine_can_be_snoozed(
    web: str, login: Login, settings: Settings, kind: str
) -> None:
    async with database(settings) as s:
        cid = await add_conversation(s, state="queued" if kind == "queue" else "resolved")
        await s.commit()
    n1 = await login("n1")
    refused = await snooze_call(n1, cid, until_reply=True)
    assert refused.status_code == 409
