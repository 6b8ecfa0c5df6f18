"""What the OpenAPI fuzzing (test_openapi_fuzz.py) found: inputs the schema allowed and the app
answered with a server error; each now a 422 with a sentence in Spanish."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.processes import free_port
from desk_api.errors import InvalidInput
from desk_api.services.spreadsheet import LAST_DAY, OUT_OF_RANGE, Period
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen, DeskAgent
from tests.support.servers import web_app_in_thread

Login = Callable[[str], Awaitable[DeskAgent]]
HUGE = 9_223_372_036_854_775_809  # past SQLite's 64 bits
PAST_INT4 = 3_000_000_000  # past PostgreSQL's 32-bit ids
RANGE = "está fuera del rango admitido."


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
    )


@pytest.fixture
def web(
    settings: Settings, seeded: dict[str, tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield base_url


async def test_ids_out_of_range_are_refused_not_a_server_error(web: str, login: Login) -> None:
    admin, supervisor = await login("admin"), await login("supervisor")
    citizen = await Citizen(web).start()
    cid = citizen.conversation_id
    for number in (HUGE, PAST_INT4):
        calls = [
            (admin, "POST", f"/deliveries/{number}/retry", None),
            (admin, "POST", f"/tasks/{number}/done", {"outcome": "Hecho"}),
            (admin, "PATCH", f"/canned/{number}", {"title": "Horario"}),
            (admin, "DELETE", f"/canned/{number}", None),
            (admin, "POST", f"/canned/{number}/render?conversation_id={cid}", None),
            (admin, "PATCH", f"/labels/{number}", {"name": "Urgente"}),
            (admin, "DELETE", f"/labels/{number}", None),
            (admin, "PUT", f"/conversations/{cid}/labels/{number}", None),
            (admin, "DELETE", f"/conversations/{cid}/labels/{number}", None),
            (admin, "PUT", f"/agents/{number}/capacity", {}),
            (supervisor, "POST", f"/deadlines/escalations/{number}/acknowledge", None),
            (admin, "GET", f"/conversations?label={number}", None),
            (admin, "GET", f"/audit?before={number}", None),
        ]
        for agent, method, path, body in calls:
            response = await agent.call(method, path, json=body)
            assert response.status_code == 422, f"{method} {path}: {response.text}"
            assert response.json()["detail"].endswith(RANGE), response.text
        history = await citizen.http.get(
            f"/api/chat/conversations/{cid}/messages",
            params={"after": number},
            headers=citizen.headers,
        )
        assert history.status_code == 422 and history.json()["detail"].endswith(RANGE)
    await citizen.aclose()


async def test_report_dates_out_of_range_are_refused_not_a_server_error(login: Login) -> None:
    admin = await login("admin")
    for path in (
        "/audit?to=0001-01-01",
        "/audit?conversation=&to=0001-01-01",
        "/audit?from=0001-01-01&to=2026-01-01",
        "/audit?from=9999-12-31&to=9999-12-31",
        "/audit/export?from=0001-01-01&to=0001-01-02",
        "/reports/csat?from=0001-01-01&to=0001-01-02",
        "/reports/deadlines?to=0001-01-01",
        "/reports/deadlines?from=9999-12-31&to=9999-12-31",
    ):
        response = await admin.call("GET", path)
        assert response.status_code == 422, f"{path}: {response.text}"
        assert response.json()["detail"] == OUT_OF_RANGE
    assert (await admin.call("GET", "/audit?from=2026-01-01&to=2026-01-31")).status_code == 200


def test_a_period_stays_within_the_dates_python_can_count() -> None:
    last = Period.of(LAST_DAY, LAST_DAY, "Europe/Madrid")
    assert last.bounds("Europe/Madrid")[1] == datetime(2999, 12, 31, 23, tzinfo=UTC)
    early = Period.of(None, date(1900, 1, 10), "Europe/Madrid")  # 30 days back: clipped
    assert early.start == date(1900, 1, 1)
    with pytest.raises(InvalidInput):
        Period.of(date(1899, 12, 31), None, "Europe/Madrid")


async def test_the_schema_documents_the_validation_errors_the_app_sends(
    web: str, login: Login
) -> None:
    admin = await login("admin")
    async with httpx.AsyncClient(base_url=web) as http:
        schema = (await http.get("/openapi.json")).json()
    documented = schema["components"]["schemas"]["HTTPValidationError"]
    assert documented["properties"]["detail"]["type"] == "string"
    assert documented["required"] == ["detail"]
    sent = await admin.call("POST", "/labels", json={"name": 7})
    assert sent.status_code == 422
    assert isinstance(sent.json()["detail"], str) and sent.json()["errors"][0]["loc"] == [
        "body",
        "name",
    ]


async def test_an_export_named_after_odd_filters_is_still_sent(login: Login) -> None:
    admin = await login("admin")
    for conversation in ('x"\ny', "ñandú", "a;b c"):
        response = await admin.call("GET", "/audit/export", params={"conversation": conversation})
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert disposition.isascii() and disposition.count('"') == 2, disposition
    plain = await admin.call("GET", "/audit/export", params={"conversation": "abc-123"})
    assert plain.headers["content-disposition"] == 'attachment; filename="auditoria-abc-123.csv"'


async def test_text_the_database_cannot_keep_is_refused_not_a_server_error(
    web: str, login: Login, settings: Settings
) -> None:
    """PostgreSQL refuses NUL (U+0000) in text; SQLite keeps it. Neither is a server error."""
    admin = await login("admin")
    citizen = await Citizen(web).start()
    calls = [
        await admin.call("POST", "/labels", json={"name": "ur\x00gente"}),
        await admin.call(
            "POST", "/canned", json={"shortcut": "/nulo", "title": "a\x00b", "body": "Texto"}
        ),
        await admin.call("GET", "/audit", params={"agent": "ad\x00min"}),
        await citizen.http.post(
            f"/api/chat/conversations/{citizen.conversation_id}/messages",
            json={"text": "hola\x00"},
            headers=citizen.headers,
        ),
    ]
    await citizen.aclose()
    for response in calls:
        assert response.status_code < 500, response.text
        if response.status_code == 422:
            assert response.json()["detail"] == (
                "El texto contiene caracteres no admitidos (como el carácter nulo)."
            )
    if settings.database_url.startswith("postgresql"):
        assert [r.status_code for r in calls] == [422, 422, 422, 422]
