"""Labels: the admin's catalogue (unique names whatever the case, #rrggbb colours) and labels on
conversations (anyone who may see the conversation; idempotent; audited; live to the desk)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import websockets

from desk_api.settings import Settings
from tests.desk_api.test_inbox_views import add_conversation
from tests.support.clients import DeskAgent, next_event
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]


async def created(agent: DeskAgent, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await agent.call("POST", path, json=body)
    assert response.status_code == 201, f"POST {path}: {response.status_code} {response.text}"
    return dict(response.json())


async def two_conversations(settings: Settings) -> tuple[str, str]:
    """One in the N1 queue, one derived to SAMPLE-DEP."""
    async with database(settings) as s:
        n1 = await add_conversation(s, state="queued", hours_ago=2)
        dep = await add_conversation(s, state="queued", tier="n2", unit="SAMPLE-DEP", hours_ago=1)
        await s.commit()
    return n1, dep


async def test_catalogue_is_the_admins(web: str, login: Login) -> None:
    admin, n1, n2 = await login("admin"), await login("n1"), await login("n2")
    first = await admin.call("POST", "/labels", json={"name": "  Urgente ", "color": "#D1242F"})
    assert first.status_code == 201, first.text
    urgent = first.json()
    assert urgent["name"] == "Urgente" and urgent["color"] == "#d1242f"
    for agent in (n1, n2):
        refused = await agent.call("POST", "/labels", json={"name": "Mía"})
        assert refused.status_code == 403 and "administración" in refused.json()["detail"]
        assert (
            await agent.call("PATCH", f"/labels/{urgent['id']}", json={"color": "#000000"})
        ).status_code == 403
        assert (await agent.call("DELETE", f"/labels/{urgent['id']}")).status_code == 403
    duplicate = await admin.call("POST", "/labels", json={"name": "URGENTE"})
    assert duplicate.status_code == 409 and "«Urgente»" in duplicate.json()["detail"]
    accented = await created(admin, "/labels", {"name": "Ávila"})
    assert accented["color"] == "#5a6470"  # the default grey
    assert (await admin.call("POST", "/labels", json={"name": "ávila"})).status_code == 409
    bad_colour = await admin.call("POST", "/labels", json={"name": "Azul", "color": "blue"})
    assert bad_colour.status_code == 422 and "#rrggbb" in bad_colour.json()["detail"]
    assert (await admin.call("POST", "/labels", json={"name": " "})).status_code == 422
    assert (await admin.call("POST", "/labels", json={"name": "x" * 49})).status_code == 422
    # Everyone reads the catalogue (to label), sorted by name.
    assert [label["name"] for label in await n2.ok("GET", "/labels")] == ["Ávila", "Urgente"]
    renamed = await admin.ok(
        "PATCH", f"/labels/{urgent['id']}", json={"name": "Muy urgente", "color": "#bf3989"}
    )
    assert renamed == {"id": urgent["id"], "name": "Muy urgente", "color": "#bf3989"}
    clash = await admin.call("PATCH", f"/labels/{urgent['id']}", json={"name": "ÁVILA"})
    assert clash.status_code == 409
    assert (await admin.call("PATCH", "/labels/999", json={"name": "Nada"})).status_code == 404
    stranger = DeskAgent(web)
    assert (await stranger.call("GET", "/labels")).status_code == 401
    await stranger.aclose()


async def test_labels_on_conversations(web: str, login: Login, settings: Settings) -> None:
    n1_id, dep_id = await two_conversations(settings)
    admin, n1, n2, n2_other = (
        await login("admin"), await login("n1"), await login("n2"), await login("n2_other")
    )  # fmt: skip
    urgent = await created(admin, "/labels", {"name": "Urgente", "color": "#d1242f"})
    later = await created(admin, "/labels", {"name": "Ayudas", "color": "#1f6feb"})
    path = f"/conversations/{n1_id}/labels"

    async with websockets.connect(n1.ws_url()) as ws:
        await asyncio.sleep(0.2)
        first = await n1.ok("PUT", f"{path}/{urgent['id']}")
        event = await next_event(ws, "conversation.labels")
    assert first == [urgent]
    assert event["conversation_id"] == n1_id and event["labels"] == [urgent]
    assert event["conversation"]["labels"] == [urgent]
    assert event["conversation"]["last_message"] == "Quiero hablar con una persona"
    again = await n1.ok("PUT", f"{path}/{urgent['id']}")  # idempotent
    both = await n1.ok("PUT", f"{path}/{later['id']}")
    assert again == [urgent] and both == [later, urgent]  # by name
    assert await admin.ok("GET", path) == [later, urgent]
    # N2 sees neither the conversation nor its labels; the other unit neither.
    for agent in (n2, n2_other):
        assert (await agent.call("PUT", f"{path}/{urgent['id']}")).status_code == 404
        assert (await agent.call("GET", path)).status_code == 404
    assert (await n1.call("PUT", f"{path}/999")).status_code == 404
    # Labels show in the inbox rows and filter the inbox.
    rows = await n1.ok("GET", "/conversations", params={"view": "queue"})
    assert [r["labels"] for r in rows if r["id"] == n1_id] == [[later, urgent]]
    dep_path = f"/conversations/{dep_id}/labels/{urgent['id']}"
    assert await n2.ok("PUT", dep_path) == [urgent]
    assert (await n2_other.call("PUT", dep_path)).status_code == 404
    assert [r["id"] for r in await n1.ok("GET", "/conversations", params={
        "view": "all", "label": urgent["id"]})] == [dep_id, n1_id]  # fmt: skip
    assert [r["id"] for r in await n2.ok("GET", "/conversations", params={
        "view": "all", "label": urgent["id"]})] == [dep_id]  # fmt: skip

    assert await n1.ok("DELETE", f"{path}/{urgent['id']}") == [later]
    assert await n1.ok("DELETE", f"{path}/{urgent['id']}") == [later]  # idempotent
    audit = await n1.ok("GET", f"/conversations/{n1_id}/audit")
    trail = [(e["action"], e["details"]["label_id"]) for e in audit if "label" in e["action"]]
    assert trail == [
        ("label.added", urgent["id"]),
        ("label.added", later["id"]),
        ("label.removed", urgent["id"]),
    ]
    # Deleting a label takes it off every conversation.
    assert (await admin.call("DELETE", f"/labels/{later['id']}")).status_code == 204
    assert await n1.ok("GET", path) == []
    assert [label["id"] for label in await n1.ok("GET", "/labels")] == [urgent["id"]]
    assert (await admin.call("DELETE", f"/labels/{later['id']}")).status_code == 404
