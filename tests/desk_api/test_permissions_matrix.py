"""The permissions matrix: every route of the app, every role, real requests.

For each HTTP route and WebSocket of ``create_app()`` (pages, the desk API, the bot's
self-service API, Miespacio's cookie routes, the web chat, channel webhooks, sandboxes), the
table in ``tests/support/access.py`` declares who may use it among anonymous, n1, n2 of unit A,
n2 of unit B, supervisor, admin and the citizen (with the credential the route expects). The
test sends each role's request to the real app on SQLite and PostgreSQL, against objects of
unit A built once per database (a conversation derived to unit A, a case of unit A, a
participation process of unit A with a document and a proposal, a Miespacio citizen...):

- allowed → neither 401 nor 403 (nor 404 when the object is the role's);
- refused → exactly the declared code: 401 without (the right kind of) credentials, 403, or
  404 where the API must not confirm that an object exists;
- webhooks signed by their provider: no signature → 401/403 only.

A route of the app without an entry fails the test with the routes to declare, e.g.
``declare the expected access of: GET /api/desk/cases/{code}/draft``. To declare one, add a
``Rule`` line to ``ACCESS`` in ``tests/support/access.py`` (its docstring explains the fields)
and, if its path has a new placeholder, the object behind it to ``Objects.params`` here.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from pydantic import SecretStr
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount, WebSocketRoute

from bot.processes import free_port
from connectors import pii_vault
from desk_api.app import create_app
from desk_api.miespacio_models import MiespacioSession
from desk_api.models import Agent, Conversation, Unit, utcnow
from desk_api.security import create_self_service_token
from desk_api.selfservice.models import Case, CaseEvent
from desk_api.selfservice.models import Citizen as CitizenAccount
from desk_api.services import accounts
from desk_api.services.miespacio_auth import COOKIE, CSRF_HEADER, hash_session
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.conftest import TABLES
from tests.desk_api.test_inbox_views import add_conversation
from tests.support import databases
from tests.support.access import ACCESS, AGENTS, PDF, REVIEWERS, ROLES, STAFF, Rule
from tests.support.db import database
from tests.support.fake_telegram import serve_fake_telegram
from tests.support.servers import web_app_in_thread

UNIT_A, UNIT_B = "SAMPLE-DEP", "SAMPLE-OTRA"
# Routes whose allowed use changes the objects for the rest: checked last, in this order.
LAST = ("/close", "/auth/logout", "/resolve", "/return", "/acceso/salir")


def order(key: str) -> int:
    return next((i + 1 for i, end in enumerate(LAST) if key.endswith(end)), 0)


def declared_routes(app: FastAPI) -> list[str]:
    """``"METHOD /path"`` of every HTTP route and ``"WS /path"`` of every socket (HEAD aside),
    mounted apps' included; ``"MOUNT /path"`` for static files."""

    def walk(routes: list[BaseRoute], prefix: str) -> Iterator[str]:
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI ≥ 0.16x includes lazily
            if included is not None:
                context = route.include_context  # type: ignore[attr-defined]
                yield from walk(included.routes, prefix + context.prefix)
            elif isinstance(route, Mount):
                mounted = getattr(route.app, "routes", None)  # an app of its own: its routes
                if mounted is None:
                    yield f"MOUNT {prefix}{route.path}"  # static files
                else:
                    yield from walk(mounted, prefix + route.path)
            elif isinstance(route, WebSocketRoute | APIWebSocketRoute):
                yield f"WS {prefix}{route.path}"
            else:
                for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
                    yield f"{method} {prefix}{getattr(route, 'path', '')}"

    return list(dict.fromkeys(walk(app.routes, "")))


@dataclass
class Objects:
    """The app and unit A's objects; one per database for the whole module."""

    url: str
    settings: Settings
    tokens: dict[str, str]  # agent role → desk token
    webchat: str  # the web chat token of the conversation
    selfservice: str
    cookie: str
    csrf: str
    params: dict[str, str]


def _settings(database_url: str, tmp: Path) -> Settings:
    return Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp / "var",
        retrain_launch=False,  # a retrain job is queued, not run (its own tests run one)
    )


@pytest.fixture(scope="module", params=databases.BACKENDS)
def matrix_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "tuatencion.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    databases.truncate(url, TABLES)
    return url


async def _seed(settings: Settings) -> dict[str, str]:
    async with database(settings) as session:
        await accounts.seed_demo(session)
        await accounts.create_unit(session, UNIT_B, "Otra unidad (muestra)")
        await accounts.create_agent(session, "otra_n2", "Elena Gil", "n2", "otra-unidad-n2", UNIT_B)
        citizen = CitizenAccount(
            id=str(uuid.uuid4()),
            email="ana.garcia@correo.es",
            privacy_accepted_at=utcnow(),
            privacy_version="2026-01",
        )
        session.add(citizen)
        await session.flush()
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(
            MiespacioSession(
                id_hash=hash_session(cookie),
                citizen_id=citizen.id,
                csrf_token=csrf,
                created_at=utcnow(),
                last_seen_at=utcnow(),
                expires_at=utcnow() + timedelta(hours=8),
            )
        )
        await session.commit()
        return {"citizen_id": citizen.id, "cookie": cookie, "csrf": csrf}


async def _derive_to_unit_a(
    settings: Settings, conversation_id: str, citizen_id: str
) -> dict[str, str]:
    """The citizen's conversation derived to unit A and attended there (by n2 of unit A); a
    second one of unit A, for resolving; one at N1 attended by n1, for deriving; a case of unit
    A; a DNI in the conversation's vault."""
    async with database(settings) as session:
        unit = await session.scalar(select(Unit).where(Unit.code == UNIT_A))
        assert unit is not None
        agents = dict((await session.execute(select(Agent.username, Agent.id))).tuples().all())
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.controller, conversation.state = "human", "assigned"
        conversation.tier, conversation.unit_id = "n2", unit.id
        conversation.assigned_agent_id = agents["especialista"]
        conversation.handed_off_at = utcnow()
        conversation.handoff = {"reason": "citizen_request"}
        conversation.citizen_id = citizen_id
        spare = await add_conversation(
            session, state="assigned", tier="n2", unit=UNIT_A, agent_id=agents["especialista"]
        )
        at_n1 = await add_conversation(session, state="assigned", agent_id=agents["informador"])
        await pii_vault.mask(session, conversation_id, "Mi DNI es 12345678Z")
        case = Case(
            code="QS-2026-000001",
            kind="queja",
            conversation_id=conversation_id,
            citizen_id=citizen_id,
            channel="webchat",
            unit_id=unit.id,
            unit_code=UNIT_A,
            unit_name=unit.name,
            description="La oficina de Mérida estaba cerrada en horario de apertura.",
            contact_preference="canal",
            deadline=utcnow().date() + timedelta(days=20),
        )
        session.add(case)
        await session.flush()
        session.add(CaseEvent(case_id=case.id, kind="registrada", actor_type="citizen"))
        await session.commit()
        return {"code": case.code, "spare_conversation": spare, "n1_conversation": at_n1}


CREDENTIALS = {
    "n1": ("informador", "informador-n1"),
    "n2_a": ("especialista", "especialista-n2"),
    "n2_b": ("otra_n2", "otra-unidad-n2"),
    "supervisor": ("supervision", "supervision-tuatencion"),
    "admin": ("admin", "admin-tuatencion"),
    "contenidos": ("contenidos", "contenidos-tuatencion"),
    "analista": ("analista", "analista-tuatencion"),
}


async def _build(url: str, settings: Settings, seeded: dict[str, str]) -> Objects:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        tokens = {}
        for role, (username, password) in CREDENTIALS.items():
            response = await http.post(
                "/api/desk/auth/login", json={"username": username, "password": password}
            )
            assert response.status_code == 200, (role, response.text)
            tokens[role] = response.json()["access_token"]
        started = (await http.post("/api/chat/conversations")).json()
        cid, webchat = started["conversation_id"], started["token"]
        built = await _derive_to_unit_a(settings, cid, seeded["citizen_id"])
        as_n2 = {"Authorization": f"Bearer {tokens['n2_a']}"}
        today = utcnow().date()
        process = await http.post(
            "/api/desk/participation/processes",
            headers=as_n2,
            json={
                "title": "Plan de Juventud de Extremadura 2027",
                "description": "Propuestas para el nuevo plan de empleo y vivienda joven.",
                "starts_on": (today - timedelta(days=1)).isoformat(),
                "ends_on": (today + timedelta(days=30)).isoformat(),
            },
        )
        assert process.status_code == 201, process.text
        pid = process.json()["id"]
        published = await http.post(
            f"/api/desk/participation/processes/{pid}/publish", headers=as_n2
        )
        assert published.status_code == 200, published.text
        document = await http.post(
            f"/api/desk/participation/processes/{pid}/documents",
            headers=as_n2,
            files={"file": ("borrador.pdf", PDF, "application/pdf")},
        )
        assert document.status_code == 201, document.text
        selfservice = create_self_service_token(cid, settings.jwt_key(), 60)
        proposal = await http.post(
            "/api/selfservice/participacion/propuestas",
            headers={"Authorization": f"Bearer {selfservice}"},
            json={
                "proceso": pid,
                "titulo": "Bonos de alquiler joven",
                "texto": "Que llegue al campo.",
            },
        )
        assert proposal.status_code in (200, 201), proposal.text
        as_admin = {"Authorization": f"Bearer {tokens['admin']}"}
        labels, canned = [], []
        for name in ("Urgente", "Para borrar"):
            label = await http.post("/api/desk/labels", headers=as_admin, json={"name": name})
            assert label.status_code == 201, label.text
            labels.append(str(label.json()["id"]))
        for shortcut in ("/horario", "/borrar"):
            answer = await http.post(
                "/api/desk/canned",
                headers=as_admin,
                json={"unit_code": UNIT_A, "shortcut": shortcut, "title": "Horario",
                      "body": "De 9 a 14."},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
            canned.append(str(answer.json()["id"]))
        me = await http.get("/api/desk/me", headers={"Authorization": f"Bearer {tokens['n1']}"})
    return Objects(
        url=url,
        settings=settings,
        tokens=tokens,
        webchat=webchat,
        selfservice=selfservice,
        cookie=seeded["cookie"],
        csrf=seeded["csrf"],
        params={
            "conversation_id": cid,
            **built,
            "process_id": str(pid),
            "document_id": str(document.json()["id"]),
            "proposal_id": str(proposal.json().get("id", 1)),
            "label_id": labels[0],
            "spare_label": labels[1],
            "canned_id": canned[0],
            "spare_canned": canned[1],
            "agent_id": str(me.json()["id"]),
            "citizen_id": seeded["citizen_id"],
            "ref": "DNI_1",
            # Not built here (their own tests cover them): rules say ``owned=False``.
            "attachment_id": "1",
            "delivery_id": "1",
            "task_id": "1",
            "alert_id": "1",
            "mail_id": "no-existe",
            "justificante": "0000000000000",
            "checkout": "no-existe",
            "numero": "EXP-2026-000001",
            "job_id": "1",
            "version": "2026-01-01.1",
            "turn_id": "1",
        },
    )


@pytest.fixture(scope="module")
def objects(matrix_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Objects]:
    settings = _settings(matrix_db, tmp_path_factory.mktemp("var"))
    seeded = asyncio.run(_seed(settings))
    with pytest.MonkeyPatch.context() as patch, serve_fake_telegram() as telegram:
        patch.setenv("TUA_SMTP_PORT", str(free_port()))
        patch.setenv("TUA_EMAIL_LISTEN_PORT", "0")
        # The channels with webhooks, configured (their providers are never reached here).
        patch.setenv("TUA_TELEGRAM_TOKEN", telegram.token)
        patch.setenv("TUA_TELEGRAM_API_URL", telegram.api_url)
        patch.setenv("TUA_TELEGRAM_MODE", "webhook")
        patch.setenv("TUA_TELEGRAM_SECRET_TOKEN", secrets.token_urlsafe(32))
        patch.setenv("TUA_TELEGRAM_SET_WEBHOOK", "false")
        patch.setenv("TUA_TWILIO_ACCOUNT_SID", "AC" + secrets.token_hex(16))
        patch.setenv("TUA_TWILIO_AUTH_TOKEN", secrets.token_hex(16))
        patch.setenv("TUA_TWILIO_API_URL", "http://127.0.0.1:9")
        patch.setenv("TUA_TWILIO_WHATSAPP_FROM", "whatsapp:+34900222012")
        with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
            yield asyncio.run(_build(url, settings, seeded))


def _params(objects: Objects, rule: Rule) -> dict[str, str]:
    chosen = {name: objects.params[other] for name, other in rule.objects.items()}
    return {**objects.params, **chosen}


def _request(objects: Objects, role: str, key: str, rule: Rule) -> dict[str, Any]:
    method, path = key.split(" ", 1)
    if method == "MOUNT":
        method, path = "GET", rule.example or path
    params = _params(objects, rule)
    headers: dict[str, str] = {"Origin": objects.url}
    cookies: dict[str, str] = {}
    if role in STAFF:
        headers["Authorization"] = f"Bearer {objects.tokens[role]}"
    elif role == "citizen":
        if rule.citizen == "selfservice":
            headers["Authorization"] = f"Bearer {objects.selfservice}"
        elif rule.citizen == "miespacio":
            cookies[COOKIE] = objects.cookie
            headers[CSRF_HEADER] = objects.csrf
        else:
            headers["Authorization"] = f"Bearer {objects.webchat}"
    kwargs: dict[str, Any] = {
        "method": method,
        "url": path.format(**params),
        "headers": headers,
        "cookies": cookies,
        "params": {name: value.format(**params) for name, value in rule.query.items()},
    }
    if rule.files is not None:
        kwargs["files"] = rule.files
        kwargs["data"] = rule.form
    elif rule.form is not None:
        kwargs["data"] = rule.form
    elif rule.body is not None:
        kwargs["json"] = rule.body
    elif method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return kwargs


def expected(role: str, rule: Rule) -> str:
    """What the role must get: ``allowed``, or the exact refusal code."""
    if role in rule.allowed:
        return "allowed"
    if role in rule.codes:
        return str(rule.codes[role])
    if role in REVIEWERS and rule.citizen is None and rule.refused in (403, 404):
        return "403"  # their role is refused before the route looks at anything
    has_credential = role in AGENTS if rule.citizen is None else role == "citizen"
    if role == "citizen" and rule.citizen is None:
        has_credential = False  # a citizen's token is no desk session
    return str(rule.refused if has_credential else rule.anonymous)


async def _socket(objects: Objects, role: str, key: str, rule: Rule) -> int:
    path = key.split(" ", 1)[1].format(**_params(objects, rule))
    base = objects.url.replace("http://", "ws://")
    token = objects.tokens.get(role) or (objects.webchat if role == "citizen" else "")
    headers = {"Origin": objects.url}
    if role == "citizen" and rule.citizen == "miespacio":
        headers["Cookie"] = f"{COOKIE}={objects.cookie}"
        token = ""
    url = f"{base}{path}" + (f"?token={token}" if token else "")
    try:
        async with websockets.connect(url, additional_headers=headers, open_timeout=10):
            return 101
    except websockets.InvalidStatus as exc:
        return exc.response.status_code


def _verdict(role: str, rule: Rule, status: int) -> str | None:
    want = expected(role, rule)
    if want == "allowed":
        refused = {401, 403, 404} if rule.owned else {401, 403}
        return None if status not in refused and status < 500 else f"allowed, got {status}"
    if rule.signed:
        return None if status in (401, 403) else f"refused (401/403), got {status}"
    return None if str(status) == want else f"refused with {want}, got {status}"


async def _check(objects: Objects, keys: list[str]) -> list[str]:
    failures = []
    async with httpx.AsyncClient(base_url=objects.url, timeout=30) as http:
        for key in keys:
            rule = ACCESS[key]
            roles = ["anonymous"] if rule.signed else list(ROLES)
            roles.sort(key=lambda role: role in rule.allowed)  # refusals first: state intact
            for role in roles:
                if key.startswith("WS "):
                    status = await _socket(objects, role, key, rule)
                else:
                    response = await http.request(**_request(objects, role, key, rule))
                    status = response.status_code
                problem = _verdict(role, rule, status)
                if problem:
                    failures.append(f"{key} as {role}: {problem}")
    return failures


def test_every_route_declares_its_access() -> None:
    app = create_app(_settings("sqlite+aiosqlite://", Path("/nonexistent")))
    routes = declared_routes(app)
    missing = [r for r in routes if r not in ACCESS]
    assert not missing, "declare the expected access of: " + ", ".join(missing)
    stale = sorted(set(ACCESS) - set(routes))
    assert not stale, "no such route any more (remove from ACCESS): " + ", ".join(stale)


def test_the_matrix(objects: Objects) -> None:
    keys = sorted(ACCESS, key=order)
    failures = asyncio.run(_check(objects, keys))
    assert not failures, "\n".join(failures)
