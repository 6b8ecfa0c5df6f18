"""The whole spine: web chat → Rasa → actions → handoff → N1 → N2 → back to the bot.

Real Rasa server with the trained model, real action server (rasa-sdk on Python 3.11), the real
web app as its own process (started the way `tuatencion run` starts it), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import httpx
import pytest
import websockets
from pydantic import SecretStr

from bot import processes
from bot.processes import free_port
from bot.settings import BotSettings
from connectors.rasa_client import RasaClient
from desk_api.settings import Settings
from tests.support.clients import Citizen, DeskAgent, next_event

pytestmark = pytest.mark.rasa


@pytest.fixture
def web_process(settings: Settings, seeded: dict[str, tuple[str, str]]) -> Iterator[str]:
    """The web app as a separate uvicorn process configured only through the environment."""
    bot = BotSettings(web_port=free_port())
    env = {
        "TUA_DATABASE_URL": settings.database_url,
        "TUA_RASA_URL": settings.rasa_url,
        "TUA_RASA_TOKEN": settings.rasa_token.get_secret_value() if settings.rasa_token else "",
        "TUA_JWT_SECRET": settings.jwt_secret.get_secret_value() if settings.jwt_secret else "",
        "TUA_VAR_DIR": str(settings.var_dir),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    service = processes.web_service(bot, env)
    supervisor = processes.Supervisor(bot.project_root)
    supervisor.start(service)
    try:
        supervisor.wait_healthy(service, timeout=60)
        yield f"http://{bot.web_host}:{bot.web_port}"
    finally:
        supervisor.stop()


def texts(messages: list[dict]) -> str:
    return " ".join(m["text"] for m in messages)


async def test_conversation_goes_bot_n1_n2_and_back_to_bot(
    web_process: str, seeded: dict[str, tuple[str, str]], settings: Settings
) -> None:
    citizen = await Citizen(web_process).start()
    n1 = await DeskAgent(web_process).login(*seeded["n1"])
    n2 = await DeskAgent(web_process).login(*seeded["n2"])
    cid = citizen.conversation_id

    # 1. The bot greets and answers a question with the real phone hours.
    greeting = await citizen.say("Hola, buenos días")
    assert greeting["controller"] == "bot"
    assert greeting["replies"] and greeting["replies"][0]["sender"] == "bot"
    assert "Tuatención" in texts(greeting["replies"])
    assert greeting["replies"][0]["buttons"], "the greeting offers buttons"
    hours = await citizen.say("a que hora se puede llamar al telefono de atencion?")
    assert "900 222 012" in texts(hours["replies"])
    assert "16:00 a 18:00" in texts(hours["replies"])

    # 2. The citizen asks for a person: queued for N1, told how many are ahead; N1 is notified.
    async with websockets.connect(n1.ws_url()) as n1_ws:
        handoff = await citizen.say("quiero hablar con una persona, por favor")
        queued = await next_event(n1_ws, "conversation.queued")
    assert handoff["controller"] == "human"
    assert "por delante" in texts(handoff["replies"]) or "siguiente" in texts(handoff["replies"])
    assert queued["conversation"]["id"] == cid
    summary = queued["conversation"]["handoff"]
    assert summary["reason"] == "citizen_request"
    assert summary["intent"] == "hablar_con_agente"
    assert "horario_atencion" in summary["intents_seen"]
    assert "Últimos mensajes" in summary["summary"]
    queue = await n1.ok("GET", "/conversations", params={"view": "queue"})
    assert [c["id"] for c in queue] == [cid]
    assert await n2.ok("GET", "/conversations", params={"view": "queue"}) == []

    async with websockets.connect(citizen.ws_url()) as chat_ws:
        # 3. N1 takes it and replies; the reply reaches the citizen's chat.
        taken = await n1.ok("POST", f"/conversations/{cid}/take")
        assert taken["state"] == "assigned" and taken["assigned_agent"]["id"] == n1.me["id"]
        notice = await next_event(chat_ws, "message")
        assert notice["message"]["sender"] == "system" and "Le atiende" in notice["message"]["text"]
        await n1.ok(
            "POST",
            f"/conversations/{cid}/messages",
            json={"text": "Buenos días, soy Lucía. ¿En qué puedo ayudarle?"},
        )
        delivered = await next_event(chat_ws, "message")
        assert delivered["message"]["sender"] == "agent"
        assert delivered["message"]["text"] == "Buenos días, soy Lucía. ¿En qué puedo ayudarle?"
        assert delivered["message"]["tier"] == "n1"

        # 4. The citizen's message reaches the agent, and not the bot.
        question = "Quiero saber como va mi expediente de dependencia de mi madre"
        async with websockets.connect(n1.ws_url()) as n1_ws:
            sent = await citizen.say(question)
            seen = await next_event(n1_ws, "message.created")
        assert sent["replies"] == [] and sent["controller"] == "human"
        assert seen["message"]["text"] == question and seen["conversation_id"] == cid
        rasa = RasaClient(settings.rasa_url, settings.rasa_token.get_secret_value(), 10)  # type: ignore[union-attr]
        try:
            events = await rasa.tracker_events(cid)
        finally:
            await rasa.aclose()
        assert question not in [e.get("text") for e in events if e.get("event") == "user"]
        assert any(e.get("event") == "pause" for e in events), "tracker paused as a safety net"

        # 5. N1 derives to the dependency unit (N2); that unit is notified and takes it.
        async with websockets.connect(n2.ws_url()) as n2_ws:
            derived = await n1.ok(
                "POST",
                f"/conversations/{cid}/derive",
                json={
                    "unit_code": "SAMPLE-DEP",
                    "reason": "Consulta sobre expediente de dependencia",
                },
            )
            n2_event = await next_event(n2_ws, "conversation.queued")
        assert derived["tier"] == "n2" and derived["state"] == "queued"
        assert derived["derivations"][0]["to_unit"]["code"] == "SAMPLE-DEP"
        assert n2_event["conversation"]["id"] == cid
        await n2.ok("POST", f"/conversations/{cid}/take")
        await n2.ok(
            "POST",
            f"/conversations/{cid}/messages",
            json={"text": "Su expediente está en fase de valoración."},
        )
        while True:
            event = await next_event(chat_ws, "message")
            if event["message"]["sender"] == "agent":
                break
        assert event["message"]["text"] == "Su expediente está en fase de valoración."
        assert event["message"]["tier"] == "n2"

        # 6. N2 resolves: control returns to the bot, which answers again.
        resolved = await n2.ok("POST", f"/conversations/{cid}/resolve", json={"note": "Informado"})
        assert resolved["controller"] == "bot" and resolved["state"] == "resolved"
    again = await citizen.say("hola otra vez")
    assert again["controller"] == "bot"
    assert again["replies"] and again["replies"][0]["sender"] == "bot"

    # 7. One transcript, complete and ordered.
    history = (await citizen.history())["messages"]
    assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
    senders = [m["sender"] for m in history]
    assert senders[0] == "citizen" and senders[1] == "bot"
    flow = [m["sender"] for m in history if m["sender"] != "bot" or m["seq"] < 3]
    assert flow.count("agent") == 2
    texts_in_order = [m["text"] for m in history]
    for before, after in [
        ("Hola, buenos días", "quiero hablar con una persona, por favor"),
        (
            "quiero hablar con una persona, por favor",
            "Buenos días, soy Lucía. ¿En qué puedo ayudarle?",
        ),
        ("Buenos días, soy Lucía. ¿En qué puedo ayudarle?", question),
        (question, "Su expediente está en fase de valoración."),
        ("Su expediente está en fase de valoración.", "hola otra vez"),
    ]:
        assert texts_in_order.index(before) < texts_in_order.index(after)
    desk_view = await n2.ok("GET", f"/conversations/{cid}")
    assert [m["id"] for m in desk_view["messages"]] == [m["id"] for m in history]

    # 8. Every state change is in the audit trail, in order, with its actor.
    audit = await n1.ok("GET", f"/conversations/{cid}/audit")
    actions = [(a["action"], a["actor_type"]) for a in audit]
    assert actions == [
        ("conversation.start", "citizen"),
        ("handoff", "bot"),
        ("take", "agent"),
        ("reply", "agent"),
        ("derive", "agent"),
        ("take", "agent"),
        ("reply", "agent"),
        ("resolve", "agent"),
    ]
    assert audit[2]["actor_id"] == str(n1.me["id"]) and audit[5]["actor_id"] == str(n2.me["id"])
    for client in (citizen, n1, n2):
        await client.aclose()


VAGUE_MESSAGES = [
    "xkq wpzt blorf",
    "lo de mi cuñado del mes pasado",
    "necesito que me miren lo mio",
    "y entonces que hago con el papel ese",
    "pues eso lo que le dije al otro",
    "qwpz mnbv lkjh",
    "lo del otro día con la chica aquella",
]


async def not_understood(settings: Settings, count: int) -> list[str]:
    """Messages the current model really classifies as nlu_fallback (asked to Rasa itself)."""
    token = settings.rasa_token.get_secret_value() if settings.rasa_token else ""
    found = []
    async with httpx.AsyncClient(base_url=settings.rasa_url, timeout=10) as client:
        for text in VAGUE_MESSAGES:
            parsed = (
                await client.post("/model/parse", params={"token": token}, json={"text": text})
            ).json()
            if parsed["intent"]["name"] == "nlu_fallback":
                found.append(text)
    assert len(found) >= count, f"the model understood almost every vague message: {found}"
    return found[:count]


async def test_two_misunderstood_messages_in_a_row_hand_off(
    citizen: Citizen, settings: Settings, login
) -> None:
    first_text, second_text = await not_understood(settings, 2)
    first = await citizen.say(first_text)
    assert first["controller"] == "bot"
    assert first["replies"] and first["replies"][0]["sender"] == "bot", "asks to rephrase"
    understood = await citizen.say("hola")  # an understood turn breaks the streak
    assert understood["controller"] == "bot"
    await citizen.say(first_text)
    second = await citizen.say(second_text)
    assert second["controller"] == "human"
    n1 = await login("n1")
    [queued] = await n1.ok("GET", "/conversations", params={"view": "queue"})
    assert queued["handoff"]["reason"] == "low_confidence"
    assert queued["handoff"]["intent"] != "nlu_fallback", "the bot's best guess is reported"


async def test_bot_down_hands_off_instead_of_losing_the_message(
    database_url: str, seeded: dict[str, tuple[str, str]], tmp_path
) -> None:
    from tests.support.servers import web_app_in_thread

    dead = Settings(
        database_url=database_url,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        jwt_secret=SecretStr("x" * 40),
        var_dir=tmp_path,
    )
    with web_app_in_thread(dead) as base:
        citizen = await Citizen(base).start()
        answer = await citizen.say("necesito ayuda con una beca")
        assert answer["controller"] == "human"
        assert "no está disponible" in texts(answer["replies"])
        agent = await DeskAgent(base).login(*seeded["n1"])
        queue = await agent.ok("GET", "/conversations", params={"view": "queue"})
        assert queue[0]["handoff"]["reason"] == "bot_unavailable"
        health = (await citizen.http.get("/healthz")).json()
        assert health["rasa"]["ok"] is False
        await citizen.aclose()
        await agent.aclose()
