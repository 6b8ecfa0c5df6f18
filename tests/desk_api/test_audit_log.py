"""The audit log for inspection: only supervisors and administrators read it; filters by
conversation, agent, action and Spanish days; pages without gaps; CSV and JSON Lines exports
that stream every matching row (in batches), protect Excel from formulas, and are audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from desk_api.models import AuditEvent
from desk_api.services import audit_log
from desk_api.settings import Settings
from tests.desk_api.test_inbox_views import agent_ids
from tests.support.clients import DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]
NOW = datetime.now(UTC).replace(microsecond=0)


def event(action: str, days_ago: float, **fields: Any) -> dict[str, Any]:
    return {
        "action": action,
        "actor_type": "agent",
        "actor_id": None,
        "conversation_id": None,
        "details": None,
        "created_at": NOW - timedelta(days=days_ago),
        **fields,
    }


@pytest.fixture
async def history(
    web: str, settings: Settings, seeded: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    async with database(settings) as s:
        ids = await agent_ids(s)
        n1, n2 = str(ids[seeded["n1"][0]]), str(ids[seeded["n2"][0]])
        rows = [
            event("take", 40, actor_id=n1, conversation_id="c-old"),
            event("take", 2, actor_id=n1, conversation_id="c-1"),
            event("derive", 2, actor_id=n1, conversation_id="c-1", details={"unit_code": "X"}),
            event("take", 1, actor_id=n2, conversation_id="c-1"),
            event('=HYPERLINK("http://x")', 1, actor_type="system", conversation_id="c-2"),
            event("reply", 0, actor_id=n2, conversation_id="c-2"),
        ]
        await s.execute(insert(AuditEvent), rows)
        await s.commit()
    return {"n1": seeded["n1"][0], "n2": seeded["n2"][0]}


async def listed(who: DeskAgent, **params: Any) -> list[dict[str, Any]]:
    return list(await who.ok("GET", "/audit", params=params))


async def test_only_supervision_reads_the_log(
    history: dict[str, Any], login: Login, web: str
) -> None:
    for role in ("n1", "n2"):
        agent = await login(role)
        for path in ("/audit", "/audit/export?from=2026-01-01"):
            response = await agent.call("GET", path)
            assert response.status_code == 403, (role, path)
            assert "supervisión" in response.json()["detail"]
    stranger = DeskAgent(web)
    assert (await stranger.call("GET", "/audit")).status_code == 401
    await stranger.aclose()


async def test_filters_and_pages(history: dict[str, Any], login: Login) -> None:
    admin = await login("admin")
    everything = await listed(admin, limit=200)
    ours = [e for e in everything if e["conversation_id"] in ("c-old", "c-1", "c-2")]
    assert [e["action"] for e in ours][:2] == ["reply", '=HYPERLINK("http://x")']  # newest first
    assert [e["action"] for e in await listed(admin, conversation="c-1")] == [
        "take", "derive", "take"
    ]  # fmt: skip
    by_n1 = await listed(admin, agent=history["n1"])
    assert {(e["action"], e["conversation_id"]) for e in by_n1} >= {
        ("take", "c-old"), ("take", "c-1"), ("derive", "c-1")
    }  # fmt: skip
    assert all(e["actor_username"] == history["n1"] for e in by_n1)
    assert [e["conversation_id"] for e in await listed(admin, action="derive")] == ["c-1"]
    days = {"from": (NOW - timedelta(days=3)).date().isoformat(), "to": NOW.date().isoformat()}
    recent = {e["conversation_id"] for e in await listed(admin, **days)}
    assert "c-old" not in recent and {"c-1", "c-2"} <= recent
    # Pages of 2 follow the cursor without losing or repeating a row.
    seen: list[int] = []
    before: str | None = None
    while True:
        params = {"limit": 2, **({"before": before} if before else {})}
        response = await admin.call("GET", "/audit", params=params)
        assert response.status_code == 200
        seen += [e["id"] for e in response.json()]
        before = response.headers.get("X-Next-Cursor")
        if not before:
            break
    assert seen == [e["id"] for e in everything]
    unknown = await admin.call("GET", "/audit", params={"agent": "nadie"})
    assert unknown.status_code == 404 and "nadie" in unknown.json()["detail"]
    backwards = await admin.call("GET", "/audit", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert backwards.status_code == 422 and "posterior" in backwards.json()["detail"]


async def test_exports_stream_every_row_and_are_audited(
    history: dict[str, Any], login: Login, settings: Settings
) -> None:
    admin = await login("admin")
    refused = await admin.call("GET", "/audit/export")
    assert refused.status_code == 422 and "periodo" in refused.json()["detail"]
    too_long = await admin.call("GET", "/audit/export", params={"from": "2020-01-01"})
    assert too_long.status_code == 422 and "366" in too_long.json()["detail"]

    response = await admin.call("GET", "/audit/export", params={"conversation": "c-1"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="auditoria-c-1.csv"' in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == audit_log.CSV_HEADER
    assert [r[2] for r in rows[1:]] == ["take", "derive", "take"]  # oldest first
    assert json.loads(rows[2][7]) == {"unit_code": "X"}

    injected = await admin.call("GET", "/audit/export", params={"conversation": "c-2"})
    actions = [r[2] for r in csv.reader(io.StringIO(injected.text[1:]), delimiter=";")][1:]
    assert actions == ['\'=HYPERLINK("http://x")', "reply"]  # Excel sees text, not a formula

    lines = await admin.call(
        "GET", "/audit/export", params={"conversation": "c-1", "format": "jsonl"}
    )
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in lines.text.splitlines()]
    # The CSV export of this conversation is in its trail now (but no export holds itself).
    assert [r["action"] for r in records] == ["take", "derive", "take", "audit.exported"]
    assert records[0]["actor_username"] == history["n1"]

    exports = await listed(admin, action="audit.exported")
    assert len(exports) == 3  # CSV of c-1 and of c-2, JSON Lines of c-1; refusals leave no trace
    assert exports[0]["details"] == {"format": "jsonl", "filters": {"conversation_id": "c-1"}}
    assert exports[0]["actor_username"] == admin.me["username"]


async def test_a_large_export_is_complete(
    history: dict[str, Any], login: Login, settings: Settings
) -> None:
    """More rows than a batch: every one, once, in order."""
    total = audit_log.EXPORT_BATCH * 2 + 7
    async with database(settings) as s:
        await s.execute(
            insert(AuditEvent),
            [event("reply", 0, conversation_id="c-big", details={"n": n}) for n in range(total)],
        )
        await s.commit()
    admin = await login("admin")
    response = await admin.call(
        "GET", "/audit/export", params={"conversation": "c-big", "format": "jsonl"}
    )
    assert [json.loads(line)["details"]["n"] for line in response.text.splitlines()] == list(
        range(total)
    )
