"""The accuracy report through the real app and the real CLI, on SQLite and PostgreSQL: the
CLI's JSON equals the API's, the HTML file is standalone with its SVG charts, the PDF is a
real PDF with the fixture's numbers, only analysts, content teams, supervisors and
administrators get it, and bad filters are refused in Spanish."""

from __future__ import annotations

import io
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from pypdf import PdfReader

from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.desk_api.test_cli import cli
from tests.support import reports
from tests.support.clients import DeskAgent
from tests.support.servers import web_app_in_thread

Login = Callable[[str], Awaitable[DeskAgent]]
PERIOD = {"from": reports.DAY_1.isoformat(), "to": reports.DAY_2.isoformat()}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """No Rasa: the report only reads the database."""
    return Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
    )


@pytest.fixture
def web(settings: Settings, seeded: dict[str, tuple[str, str]]) -> Iterator[str]:
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield base_url


async def test_cli_json_equals_the_api_and_the_files(
    web: str, login: Login, database_url: str, tmp_path: Path
) -> None:
    await reports.seed(database_url)
    analyst = await login("analista")
    api = await analyst.ok("GET", "/reports/accuracy", params={**PERIOD, "channel": "webchat"})
    html_file, pdf_file = tmp_path / "informe.html", tmp_path / "informe.pdf"
    run = cli(
        database_url, "report", "accuracy", "--from", PERIOD["from"], "--to", PERIOD["to"],
        "--channel", "webchat", "--json", "--html", str(html_file), "--pdf", str(pdf_file),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == api
    assert api["traffic"]["totals"]["containment_rate"] == 0.5  # A of A and B (web chat)
    # The Spanish spelling of the same command gives the same numbers.
    spanish = cli(
        database_url, "informe", "precision", "--desde", PERIOD["from"], "--hasta",
        PERIOD["to"], "--canal", "webchat",
    )  # fmt: skip
    assert json.loads(spanish.stdout) == api

    page = html_file.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="es">' in page
    assert page.count("<svg") >= 10 and 'role="img"' in page
    assert '<title id="grafico-confusion-reservados-title">' in page
    assert not re.search(r'(src|href)="(https?:|/)', page)  # no external asset
    assert "50,0 %" in page and "Chat web" in page

    data = pdf_file.read_bytes()
    assert data.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Informe de precisión del asistente" in text
    assert "Contención 50,0 % 1 de 2 conversaciones sin derivar" in text
    assert "Exactitud en evaluación 66,7 %" in text

    bad = cli(database_url, "report", "accuracy", "--from", "2026-11-05", "--to", "2026-11-01")
    assert bad.returncode == 2 and "posterior" in bad.stderr


async def test_downloads_roles_and_bad_filters(web: str, login: Login, database_url: str) -> None:
    await reports.seed(database_url)
    content = await login("contenidos")
    html = await content.call("GET", "/reports/accuracy.html", params=PERIOD)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert (
        'filename="informe-precision-2026-11-02-2026-11-03.html"'
        in html.headers["content-disposition"]
    )
    fragment = await content.call(
        "GET", "/reports/accuracy.html", params={**PERIOD, "fragment": "true"}
    )
    assert fragment.text.lstrip().startswith('<article class="report"')
    assert "content-disposition" not in fragment.headers
    pdf = await content.call("GET", "/reports/accuracy.pdf", params=PERIOD)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"

    for role in ("supervisor", "admin"):
        assert (
            await (await login(role)).call("GET", "/reports/accuracy", params=PERIOD)
        ).status_code == 200
    informer = await login("n1")
    refused = await informer.call("GET", "/reports/accuracy", params=PERIOD)
    assert refused.status_code == 403

    for params, message in (
        ({"from": "2026-11-05", "to": "2026-11-01"}, "La fecha «desde» es posterior"),
        ({**PERIOD, "channel": "fax"}, "Canal desconocido: «fax»"),
        ({**PERIOD, "intent": "pedir_pizza"}, "Intención desconocida: «pedir_pizza»"),
    ):
        answer = await content.call("GET", "/reports/accuracy", params=params)
        assert answer.status_code == 422 and message in answer.json()["detail"], answer.text
