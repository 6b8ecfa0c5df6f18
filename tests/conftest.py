"""Shared fixtures: real databases (SQLite and PostgreSQL), a real Rasa stack, the real web app."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot import processes, training
from bot.processes import free_port
from bot.settings import BotSettings
from desk_api.db import make_engine, make_sessionmaker
from desk_api.migrations_runner import upgrade
from desk_api.services import accounts
from desk_api.settings import Settings
from tests.support import databases
from tests.support.clients import Citizen, DeskAgent
from tests.support.servers import web_app_in_thread

TABLES = [
    "deadline_alerts", "deadlines",
    "case_answer_revisions", "case_answer_drafts",
    "participation_proposals", "participation_documents", "participation_processes",
    "agent_availability", "conversation_snoozes",
    "satisfaction_surveys", "conversation_notes", "conversation_labels", "labels",
    "canned_answers", "training_jobs", "model_versions",
    "miespacio_sessions", "miespacio_login_codes", "miespacio_preferences",
    "deliveries", "inbound_receipts", "attachments", "desk_tasks", "in_person_attentions",
    "case_events", "cases", "payment_events", "payments", "otp_challenges", "pii_vault",
    "audit_events", "messages", "derivations", "conversations", "citizen_identities",
    "citizens", "channel_identities", "agents", "units", "counters",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_shared_listeners(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps started by tests open no fixed-port listener (the email channel's SMTP server in
    development); the tests that need one set its port themselves."""
    monkeypatch.setenv("TUA_EMAIL_LISTEN_PORT", "0")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> str:
    return databases.recreate(databases.PG_TEST_DB)


@pytest.fixture(params=databases.BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "tuatencion.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    databases.truncate(url, TABLES)
    return url


@pytest.fixture(scope="session")
def rasa_stack() -> Iterator[dict[str, str]]:
    """The trained model served by a real Rasa server, with the real action server."""
    if os.environ.get("TUA_TEST_NO_RASA"):
        pytest.skip("TUA_TEST_NO_RASA is set")
    if os.environ.get("TUA_TEST_RASA_URL"):  # reuse a running stack while developing
        yield {
            "url": os.environ["TUA_TEST_RASA_URL"],
            "token": os.environ["TUA_TEST_RASA_TOKEN"],
            "model": "external",
        }
        return
    bot = BotSettings(rasa_port=free_port(), action_port=free_port())
    model = training.train(bot).model
    token = secrets.token_urlsafe(16)
    action_url = f"http://127.0.0.1:{bot.action_port}/webhook"
    services = [
        processes.action_service(bot),
        processes.rasa_service(bot, model, token, action_url),
    ]
    supervisor = processes.Supervisor(bot.project_root)
    try:
        for service in services:
            supervisor.start(service)
        for service in services:
            supervisor.wait_healthy(service, timeout=300)
        yield {"url": f"http://127.0.0.1:{bot.rasa_port}", "token": token, "model": str(model)}
    finally:
        supervisor.stop()


@pytest.fixture
def settings(database_url: str, rasa_stack: dict[str, str], tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        rasa_url=rasa_stack["url"],
        rasa_token=SecretStr(rasa_stack["token"]),
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        nlu_parse_interval_seconds=0.2,  # Rasa's parse of recorded turns at once, not later
        nlu_parse_quiet_seconds=0,
    )


@pytest.fixture
def seeded(settings: Settings) -> dict[str, tuple[str, str]]:
    """The demo units and agents; maps role → (username, password)."""

    async def seed() -> list[tuple[str, str, str]]:
        engine = make_engine(settings.database_url)
        async with make_sessionmaker(engine)() as session:
            created = await accounts.seed_demo(session)
            await accounts.create_unit(session, "SAMPLE-OTRA", "Otra unidad (muestra)")
            await accounts.create_agent(
                session, "otra_n2", "Elena Gil", "n2", "otra-unidad-n2", "SAMPLE-OTRA"
            )
            await accounts.create_agent(
                session, "informador2", "Pedro Sánchez", "n1", "informador-n1-b"
            )
            await session.commit()
        await engine.dispose()
        return created

    created = asyncio.run(seed())
    users = {role: (username, password) for username, password, role in created}
    users["n2_other"] = ("otra_n2", "otra-unidad-n2")
    users["n1_b"] = ("informador2", "informador-n1-b")
    return users


@pytest.fixture
def web(settings: Settings, seeded: dict[str, tuple[str, str]]) -> Iterator[str]:
    with web_app_in_thread(settings) as base_url:
        yield base_url


@pytest.fixture
async def citizen(web: str) -> AsyncIterator[Citizen]:
    client = await Citizen(web).start()
    yield client
    await client.aclose()


@pytest.fixture
async def login(
    web: str, seeded: dict[str, tuple[str, str]]
) -> AsyncIterator[Callable[[str], Awaitable[DeskAgent]]]:
    clients: list[DeskAgent] = []

    async def _login(role: str) -> DeskAgent:
        agent = await DeskAgent(web).login(*seeded[role])
        clients.append(agent)
        return agent

    yield _login
    for client in clients:
        await client.aclose()
