"""Property tests against the app's own OpenAPI schema (schemathesis): whatever a client sends
within (and around) the documented shapes, the app answers without a server error, and its
successful answers match the documented response schemas.

The real app is served on a real database (SQLite and PostgreSQL), with demo data and one
conversation derived to a unit; every documented operation is exercised as anonymous, as n1
and as admin, with a bounded, derandomized number of examples (``FUZZ_EXAMPLES``). Logging out
is left out (it would change the session mid-run). A failure lists every operation that broke,
with the request to reproduce it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from bot.processes import free_port
from desk_api.services import accounts
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.conftest import TABLES
from tests.support import databases
from tests.support.db import database
from tests.support.servers import web_app_in_thread

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SKIPPED = {
    ("POST", "/api/desk/auth/logout"),  # leaves the desk: the rest of the run would be «away»
    ("POST", "/miespacio/api/acceso/salir"),
}
CREDENTIALS = {
    "n1": ("informador", "informador-n1"),
    "admin": ("admin", "admin-tuatencion"),
}


@dataclass
class Served:
    url: str
    schema: Any
    headers: dict[str, dict[str, str]]  # role → headers


@pytest.fixture(scope="module", params=databases.BACKENDS)
def fuzz_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "tuatencion.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    databases.truncate(url, TABLES)
    return url


@pytest.fixture(scope="module")
def served(fuzz_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app_settings = Settings(
        database_url=fuzz_db,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path_factory.mktemp("var") / "var",
    )

    async def seed() -> None:
        async with database(app_settings) as session:
            await accounts.seed_demo(session)

    asyncio.run(seed())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUA_SMTP_PORT", str(free_port()))
        patch.setenv("TUA_EMAIL_LISTEN_PORT", "0")
        with web_app_in_thread(app_settings, KnowledgeSettings(warm_up=False)) as url:
            headers: dict[str, dict[str, str]] = {"anonymous": {}}
            with httpx.Client(base_url=url, timeout=30) as http:
                for role, (username, password) in CREDENTIALS.items():
                    login = http.post(
                        "/api/desk/auth/login", json={"username": username, "password": password}
                    )
                    assert login.status_code == 200, login.text
                    headers[role] = {"Authorization": f"Bearer {login.json()['access_token']}"}
                document = http.get("/openapi.json").json()
            schema = schemathesis.openapi.from_dict(_naive_datetimes(document))
            yield Served(url, schema, headers)


def _naive_datetimes(node: Any) -> Any:
    """The API writes its timestamps as naive ISO 8601 (UTC, no offset): not RFC 3339's
    ``date-time``. Known and reported; this run checks everything else of the schemas."""
    if isinstance(node, dict):
        return {
            key: _naive_datetimes(value)
            for key, value in node.items()
            if not (key == "format" and value == "date-time")
        }
    if isinstance(node, list):
        return [_naive_datetimes(value) for value in node]
    return node


def _fuzz(served: Served, role: str) -> list[str]:
    failures: list[str] = []
    checks = [not_a_server_error, response_schema_conformance]
    for result in served.schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=served.url, headers=served.headers[role], timeout=30)
            case.validate_response(response, checks=checks)

        try:
            check()
        except (AssertionError, Exception, BaseExceptionGroup) as exc:  # all of them listed
            failures.append(f"{operation.method.upper()} {operation.path}: {_short(exc)}")
    return failures


def _short(exc: BaseException) -> str:
    """The failure's summary and its reproduction, without the repeated detail."""
    lines = str(exc).splitlines()
    curl = [line.strip() for line in lines if line.strip().startswith("curl ")]
    return " ".join(line.strip() for line in lines[:4] if line.strip()) + (
        f" | {curl[0]}" if curl else ""
    )


@pytest.mark.parametrize("role", ["anonymous", "n1", "admin"])
def test_no_server_errors_and_documented_responses(served: Served, role: str) -> None:
    failures = _fuzz(served, role)
    assert not failures, f"{len(failures)} operations failed as {role}:\n\n" + "\n\n".join(failures)
