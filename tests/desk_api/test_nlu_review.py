"""The annotation inbox on SQLite and PostgreSQL, through the real app: what comes first and why
(Spanish badges), keyset pages, filters, claims for several annotators at once (a real race on
PostgreSQL), the optimistic lock on saving, intent and entity validation, noise and reopen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from desk_api.models import Agent, AuditEvent, utcnow
from desk_api.nlu_models import NluAnnotation, NluTurn
from desk_api.services import accounts, nlu_review
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import DeskAgent
from tests.support.db import database
from tests.support.nlu import add_turn, correct_topic, rate
from tests.support.servers import web_app_in_thread

Login = Callable[[str], Awaitable[DeskAgent]]


@pytest.fixture
def rasa_stack() -> dict[str, str]:
    """The inbox needs no bot: the turns are inserted as the gateway records them."""
    return {"url": "http://127.0.0.1:9", "token": "unused", "model": "none"}


@pytest.fixture
def web(settings: Settings, seeded: dict[str, tuple[str, str]]) -> Iterator[str]:
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield base_url


@pytest.fixture
async def turns(
    settings: Settings, seeded: dict[str, tuple[str, str]]
) -> AsyncIterator[dict[str, int]]:
    """Six messages, one per reason (and one with none)."""
    async with database(settings) as session:
        agent = await session.scalar(select(Agent.id).where(Agent.username == "informador"))
        assert agent is not None
        calm = await add_turn(session, "¿Dónde pido el bono social?", confidence=0.95,
                              minutes_ago=60)  # fmt: skip
        lost = await add_turn(session, "blablabla asdf", "nlu_fallback", 0.30, outcome="fallback",
                              minutes_ago=50)  # fmt: skip
        handed = await add_turn(session, "quiero hablar con alguien ya", "hablar_con_agente", 0.9,
                                outcome="handoff", minutes_ago=40)  # fmt: skip
        unsure = await add_turn(session, "lo del coche ese", "informacion_tramite", 0.42,
                                minutes_ago=30)  # fmt: skip
        rated = await add_turn(session, "horario de la oficina de Cáceres", "horario_atencion",
                               0.92, minutes_ago=20)  # fmt: skip
        await rate(session, rated.conversation_id, 1)
        topic = await add_turn(session, "tengo una multa de tráfico", "informacion_tramite", 0.9,
                               minutes_ago=10)  # fmt: skip
        correct_topic(session, topic.conversation_id, agent, "Vivienda", "Vehículos")
        await session.commit()
        yield {"calm": calm.id, "lost": lost.id, "handed": handed.id, "unsure": unsure.id,
               "rated": rated.id, "topic": topic.id}  # fmt: skip


async def test_the_most_telling_come_first_with_their_reasons(
    web: str, login: Login, turns: dict[str, int]
) -> None:
    marta = await login("contenidos")
    page = await marta.ok("GET", "/nlu/turns")
    order = [item["id"] for item in page["items"]]
    # fallback+low (60), handoff (30), topic (25, newer), rating (25), low (20), nothing (0)
    assert order == [turns[k] for k in ("lost", "handed", "topic", "rated", "unsure", "calm")]
    badges = {item["id"]: [b["label"] for b in item["badges"]] for item in page["items"]}
    assert badges[turns["lost"]] == ["El asistente no entendió", "Baja confianza 0,30"]
    assert badges[turns["handed"]] == ["Derivada a persona"]
    assert badges[turns["topic"]] == ["El agente corrigió el tema: Vehículos"]
    assert badges[turns["rated"]] == ["Valoración 1/5"]
    assert badges[turns["unsure"]] == ["Baja confianza 0,42"]
    assert badges[turns["calm"]] == []
    assert page["next_cursor"] is None
    one = await marta.ok("GET", f"/nlu/turns/{turns['lost']}")
    assert one["priority"] == 60 and one == page["items"][0]
    gone = await marta.call("GET", "/nlu/turns/999999")
    assert gone.status_code == 404 and "no existe" in gone.json()["detail"]

    # Keyset pages of two give the same order, and a forged cursor a clear 422.
    seen, after = [], None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"after": after} if after else {})}
        chunk = await marta.ok("GET", "/nlu/turns", params=params)
        seen += [item["id"] for item in chunk["items"]]
        after = chunk["next_cursor"]
        if after is None:
            break
    assert seen == order
    forged = await marta.call("GET", "/nlu/turns", params={"after": "nada"})
    assert forged.status_code == 422
    assert "cursor de paginación" in forged.json()["detail"]

    # Filters.
    async def ids(**params: str | float) -> list[int]:
        found = await marta.ok("GET", "/nlu/turns", params=params)
        return [item["id"] for item in found["items"]]

    assert await ids(outcome="handoff") == [turns["handed"]]
    assert await ids(q="CÁCERES") == [turns["rated"]]  # case-insensitive, accents too
    assert await ids(max_confidence=0.5) == [turns["lost"], turns["unsure"]]
    assert await ids(intent="horario_atencion") == [turns["rated"]]
    assert await ids(status="annotated") == []
    bad = await marta.call("GET", "/nlu/turns", params={"status": "hecho"})
    assert bad.status_code == 422

    # The analyst reads the inbox, but does not annotate.
    ana = await login("analista")
    assert len((await ana.ok("GET", "/nlu/turns"))["items"]) == 6
    refused = await ana.call(
        "POST", f"/nlu/turns/{turns['calm']}/annotation", json={"action": "noise", "version": 1}
    )
    assert refused.status_code == 403

    stats = await marta.ok("GET", "/nlu/stats")
    assert stats["pending"] == 6
    assert stats["pending_by_reason"] == {"fallback": 1, "handoff": 1, "low_confidence": 2,
                                         "bad_rating": 1, "topic_corrected": 1}  # fmt: skip
    assert stats["done_today_by_me"] == 0


async def test_annotators_never_get_the_same_item(
    settings: Settings, seeded: dict[str, tuple[str, str]]
) -> None:
    """Eight annotators ask for the next item at the same moment, on separate connections:
    eight different items (PostgreSQL: a real race on the conditional UPDATE)."""
    async with database(settings) as session:
        team = [
            await accounts.create_agent(
                session, f"contenidos{n}", f"Anotadora {n}", "contenidos", "contenidos-clave-segura"
            )
            for n in range(8)
        ]
        for n in range(10):
            await add_turn(session, f"mensaje número {n}", "saludo", 0.5 + n / 100)
        await session.commit()

    async def next_for(agent: Agent) -> int | None:
        async with database(settings) as session:
            found = await nlu_review.claim_next(
                session, agent, nlu_review.InboxFilter(), threshold=0.7,
                timezone="Europe/Madrid", lease=timedelta(minutes=10),
            )  # fmt: skip
            return found.turn.id if found else None

    found = await asyncio.gather(*(next_for(agent) for agent in team))
    got = [turn_id for turn_id in found if turn_id is not None]
    assert len(set(got)) == 8, found

    # The first annotator skips theirs: it goes back (released), they get one of the two left.
    async with database(settings) as session:
        again = await nlu_review.claim_next(
            session, team[0], nlu_review.InboxFilter(), threshold=0.7, timezone="Europe/Madrid",
            lease=timedelta(minutes=10), skip=[got[0]],
        )  # fmt: skip
        assert again is not None and again.turn.id not in got
        held = await session.scalars(select(NluTurn.id).where(NluTurn.claimed_by == team[0].id))
        assert list(held) == [again.turn.id]
        # An expired reservation is free again.
        await session.execute(
            update(NluTurn)
            .where(NluTurn.id == got[1])
            .values(claimed_until=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
        free = set(await session.scalars(select(NluTurn.id))) - set(got) - {again.turn.id}
        taken = await nlu_review.claim_next(
            session, team[2], nlu_review.InboxFilter(), threshold=0.7, timezone="Europe/Madrid",
            lease=timedelta(minutes=10), skip=[*free, got[0], got[2]],
        )  # fmt: skip
        assert taken is not None and taken.turn.id == got[1]


async def test_saving_annotations(
    web: str, login: Login, settings: Settings, turns: dict[str, int]
) -> None:
    marta = await login("contenidos")
    admin = await login("admin")
    tid = turns["unsure"]
    path = f"/nlu/turns/{tid}/annotation"

    # «next» hands out the top item and shows it reserved to the others.
    first = (await marta.ok("POST", "/nlu/next", json={}))["item"]
    assert first["id"] == turns["lost"]
    listed = await admin.ok("GET", "/nlu/turns")
    assert next(i for i in listed["items"] if i["id"] == first["id"])["claimed_by_other"]
    skipped = await marta.call("POST", f"/nlu/turns/{first['id']}/release")
    assert skipped.status_code == 204
    second = (await marta.ok("POST", "/nlu/next", json={"skip": [first["id"]]}))["item"]
    assert second["id"] == turns["handed"]

    async def refused(body: dict[str, object], fragment: str, status: int = 422) -> None:
        response = await marta.call("POST", path, json=body)
        assert response.status_code == status, response.text
        assert fragment in response.json()["detail"], response.json()

    await refused({"action": "correct", "version": 1, "intent": "nlu_fallback"},
                  "no es una intención del dominio")  # fmt: skip
    await refused({"action": "correct", "version": 1, "intent": "vender_coche"},
                  "«vender_coche» no es una intención")  # fmt: skip
    await refused({"action": "correct", "version": 1}, "Elija la intención correcta")
    text = "lo del coche ese"
    await refused({"action": "correct", "version": 1, "intent": "pagar_tasa_itv",
                   "entities": [{"entity": "color", "start": 0, "end": 2}]},
                  "«color» no es una entidad")  # fmt: skip
    await refused({"action": "correct", "version": 1, "intent": "pagar_tasa_itv",
                   "entities": [{"entity": "categoria_vehiculo", "start": 10, "end": 40}]},
                  "queda fuera del texto")  # fmt: skip
    await refused({"action": "correct", "version": 1, "intent": "pagar_tasa_itv",
                   "entities": [{"entity": "categoria_vehiculo", "start": 7, "end": 12},
                                {"entity": "combustible", "start": 10, "end": 15}]},
                  "se solapan")  # fmt: skip
    lost = await marta.call(
        "POST", f"/nlu/turns/{turns['lost']}/annotation", json={"action": "confirm", "version": 1}
    )
    assert lost.status_code == 422 and "nada que confirmar" in lost.json()["detail"]
    missing = await marta.call("POST", "/nlu/turns/999999/annotation",
                               json={"action": "noise", "version": 1})  # fmt: skip
    assert missing.status_code == 404 and "no existe" in missing.json()["detail"]

    # Correct, with an entity over «coche» (start 7, end 12).
    saved = await marta.ok("POST", path, json={
        "action": "correct", "version": 1, "intent": "pagar_tasa_itv",
        "entities": [{"entity": "categoria_vehiculo", "start": 7, "end": 12}]})  # fmt: skip
    assert saved["status"] == "annotated" and saved["version"] == 2
    assert saved["reviewed_entities"] == [
        {"entity": "categoria_vehiculo", "start": 7, "end": 12, "value": text[7:12]}
    ]
    assert saved["reviewed_by"] == "Marta Sánchez"

    # The administrator saved on the version they saw: 409, saying who was first.
    late = await admin.call("POST", path, json={"action": "noise", "version": 1})
    assert late.status_code == 409
    assert late.json()["detail"].startswith("Marta Sánchez guardó este mensaje")

    # Noise, then reopen: back in the pending list.
    noise = await admin.ok("POST", path, json={"action": "noise", "version": 2})
    assert noise["status"] == "noise" and noise["reviewed_intent"] is None
    pending = [i["id"] for i in (await marta.ok("GET", "/nlu/turns"))["items"]]
    assert tid not in pending
    reopened = await marta.ok("POST", path, json={"action": "reopen", "version": 3})
    assert reopened["status"] == "pending"
    assert tid in [i["id"] for i in (await marta.ok("GET", "/nlu/turns"))["items"]]

    async with database(settings) as session:
        history = (
            await session.execute(
                select(NluAnnotation.action, NluAnnotation.intent, Agent.username)
                .join(Agent, Agent.id == NluAnnotation.agent_id)
                .where(NluAnnotation.turn_id == tid)
                .order_by(NluAnnotation.id)
            )
        ).all()
        assert [tuple(row) for row in history] == [
            ("correct", "pagar_tasa_itv", "contenidos"),
            ("noise", None, "admin"),
            ("reopen", None, "contenidos"),
        ]
        audited = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "nlu.annotate").order_by(AuditEvent.id)
        )
        assert audited is not None and audited.details is not None
        assert audited.details["turn_id"] == tid and audited.actor_type == "agent"
    stats = await marta.ok("GET", "/nlu/stats")
    assert (stats["done_today_by_me"], stats["done_today_by_team"]) == (1, 2)
    catalogue = await marta.ok("GET", "/nlu/catalogue")
    assert "pagar_tasa_itv" in catalogue["intents"] and "nlu_fallback" not in catalogue["intents"]
    assert "municipio" in catalogue["entities"]
