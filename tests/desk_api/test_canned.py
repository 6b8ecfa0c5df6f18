"""Canned answers: who uses and who manages them (shared, per unit), and filling in their
variables for one conversation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from desk_api.desk_models import CannedAnswer
from desk_api.models import Unit
from desk_api.selfservice.business_days import spanish_date
from desk_api.services.canned import fill
from desk_api.settings import Settings
from tests.desk_api.test_inbox_views import add_conversation
from tests.support.clients import DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]
HANDOFF = {
    "reason": "citizen_request",
    "slots": {"tramite_actual": "PROC-2"},
    "suggestions": [
        {"code": "PROC-1", "title": "Beca de comedor escolar", "url": None},
        {"code": "PROC-2", "title": "Reconocimiento de la situación de dependencia", "url": None},
    ],
}


async def created(agent: DeskAgent, body: dict[str, Any]) -> dict[str, Any]:
    response = await agent.call("POST", "/canned", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def shortcuts(answers: list[dict[str, Any]]) -> list[str]:
    return [a["shortcut"] for a in answers]


def test_an_unknown_value_leaves_no_dangling_punctuation() -> None:
    values = {"agente": "Lucía Martín", "nombre": ""}
    assert fill("Buenos días, {nombre}: le atiende {agente}.", values).text == (
        "Buenos días: le atiende Lucía Martín."
    )
    assert fill("Estimado/a {Nombre}, gracias.\n{nombre}, adiós", values).text == (
        "Estimado/a, gracias.\nadiós"
    )
    out = fill("Hola {nombre} y bienvenido, {agente}", values)
    assert out.text == "Hola y bienvenido, Lucía Martín" and out.missing == ["nombre"]


async def test_who_uses_and_who_manages(web: str, login: Login) -> None:
    admin, n1, n2, n2_other = (
        await login("admin"), await login("n1"), await login("n2"), await login("n2_other")
    )  # fmt: skip
    greeting = "Buenos días, {nombre}: le atiende {agente}."
    shared = await created(admin, {"shortcut": "/Saludo", "title": "Saludo", "body": greeting})
    assert shared["unit"] is None and shared["shortcut"] == "saludo"
    assert shared["variables"] == ["nombre", "agente"]
    progress = "Su solicitud de {tramite} sigue su curso."
    dep = await created(n2, {"shortcut": "grado", "title": "Grado", "body": progress})
    assert dep["unit"]["code"] == "SAMPLE-DEP"  # an N2 agent writes for their own unit
    other = {"shortcut": "grado", "title": "Otra", "body": "Texto de otra unidad."}
    by_admin = await created(admin, {"unit_code": "SAMPLE-OTRA", **other})
    # Refused: N1 manages nothing; N2 not another unit's nor shared ones; clashes; bad input.
    refusals = [
        (n1, "POST", "/canned", {"shortcut": "x", "title": "x", "body": "x"}, 403),
        (n2, "POST", "/canned", {"unit_code": "SAMPLE-OTRA", "shortcut": "x", "title": "x",
                                 "body": "x"}, 403),
        (n2, "PATCH", f"/canned/{shared['id']}", {"title": "Mío"}, 403),
        (n2_other, "PATCH", f"/canned/{dep['id']}", {"title": "Mío"}, 403),
        (n2_other, "DELETE", f"/canned/{dep['id']}", None, 403),
        (n1, "DELETE", f"/canned/{shared['id']}", None, 403),
        (admin, "POST", "/canned", {"shortcut": "saludo", "title": "x", "body": "x"}, 409),
        (n2, "POST", "/canned", {"shortcut": "grado", "title": "x", "body": "x"}, 409),
        (admin, "POST", "/canned", {"shortcut": "con espacio", "title": "x", "body": "x"}, 422),
        (admin, "POST", "/canned", {"shortcut": "x", "title": "x", "body": "Hola {apodo}"}, 422),
        (admin, "POST", "/canned", {"unit_code": "NOPE", "shortcut": "x", "title": "x",
                                    "body": "x"}, 404),
        (admin, "PATCH", "/canned/999", {"title": "x"}, 404),
    ]  # fmt: skip
    for agent, method, path, body, status in refusals:
        response = await agent.call(method, path, json=body)
        assert response.status_code == status, (agent.me["username"], path, body, response.text)
    unknown = await admin.call(
        "POST", "/canned", json={"shortcut": "x", "title": "x", "body": "{apodo} y {Fecha}"}
    )
    assert unknown.json()["detail"].startswith("Variable desconocida en la respuesta: {apodo}.")
    # What each one may use: shared + their unit's (admin: all); ?unit= narrows it down.
    assert shortcuts(await n1.ok("GET", "/canned")) == ["saludo"]
    assert [a["id"] for a in await n2.ok("GET", "/canned")] == [dep["id"], shared["id"]]
    assert [a["id"] for a in await n2_other.ok("GET", "/canned")] == [by_admin["id"], shared["id"]]
    assert len(await admin.ok("GET", "/canned")) == 3
    assert [a["id"] for a in await admin.ok("GET", "/canned", params={"unit": "SAMPLE-DEP"})] == [
        dep["id"], shared["id"]]  # fmt: skip
    assert [a["id"] for a in await n1.ok("GET", "/canned", params={"unit": "SAMPLE-DEP"})] == [
        shared["id"]]  # fmt: skip
    # N2 edits and deletes their unit's; the admin the shared ones.
    edited = await n2.ok("PATCH", f"/canned/{dep['id']}", json={"body": "Hoy, {fecha}."})
    assert edited["variables"] == ["fecha"] and edited["updated_at"] > dep["updated_at"]
    assert (await n2.call("DELETE", f"/canned/{dep['id']}")).status_code == 204
    assert (await admin.call("DELETE", f"/canned/{shared['id']}")).status_code == 204
    assert shortcuts(await n2.ok("GET", "/canned")) == []
    assert [a["id"] for a in await admin.ok("GET", "/canned")] == [by_admin["id"]]


async def test_render_fills_the_variables(web: str, login: Login, settings: Settings) -> None:
    async with database(settings) as s:
        n1_cid = await add_conversation(s, state="queued", handoff=HANDOFF)
        dep_cid = await add_conversation(s, state="queued", tier="n2", unit="SAMPLE-DEP")
        dep_unit = await s.scalar(select(Unit).where(Unit.code == "SAMPLE-DEP"))
        assert dep_unit is not None
        # Written before its variables were checked (say, by a migration): render refuses it.
        legacy = CannedAnswer(shortcut="viejo", title="Viejo", body="Hola {alias}")
        dep_only = CannedAnswer(unit_id=dep_unit.id, shortcut="dep", title="Dep", body="{unidad}")
        s.add_all([legacy, dep_only])
        await s.commit()
        legacy_id, dep_only_id = legacy.id, dep_only.id
    admin, n1, n2, n2_other = (
        await login("admin"), await login("n1"), await login("n2"), await login("n2_other")
    )  # fmt: skip
    answer = await created(admin, {"shortcut": "todo", "title": "Todas las variables", "body": (
        "Buenos días, {nombre}: le atiende {agente}, de {unidad}. Sobre «{trámite}»: "
        "hoy, {fecha}, seguimos.")})  # fmt: skip
    today = spanish_date(datetime.now(ZoneInfo("Europe/Madrid")).date())

    def render(agent: DeskAgent, canned_id: int, cid: str) -> Any:
        return agent.call("POST", f"/canned/{canned_id}/render", params={"conversation_id": cid})

    filled = (await render(n1, answer["id"], n1_cid)).json()
    assert filled == {
        "text": (
            "Buenos días: le atiende Lucía Martín, de. Sobre «Reconocimiento de la situación de "
            f"dependencia»: hoy, {today}, seguimos."
        ),
        "missing": ["nombre", "unidad"],
    }
    by_n2 = (await render(n2, answer["id"], dep_cid)).json()
    assert "le atiende Javier Romero, de Servicio de Promoción" in by_n2["text"]
    assert "«»" in by_n2["text"] and by_n2["missing"] == ["nombre", "tramite"]
    assert (await render(n2, dep_only_id, dep_cid)).json()["text"].startswith("Servicio de")
    # Not visible, not theirs, not known.
    assert (await render(n2_other, answer["id"], dep_cid)).status_code == 404
    assert (await render(n2, answer["id"], n1_cid)).status_code == 404
    assert (await render(n1, dep_only_id, n1_cid)).status_code == 403
    assert (await render(n1, 999, n1_cid)).status_code == 404
    old = await render(n1, legacy_id, n1_cid)
    assert old.status_code == 422 and "{alias}" in old.json()["detail"]
    assert (await render(admin, dep_only_id, n1_cid)).status_code == 200
