"""The «Informes» page in the machine's Chromium: an analyst's desk session, the accuracy report
with its charts and tables for the hand-computed fixture, the channel filter, a PDF download,
a bad filter explained in Spanish, no session at all; axe-core finds nothing serious."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support import reports
from tests.support.clients import DeskAgent
from tests.support.servers import web_app_in_thread
from tests.web.test_browser import SHOTS
from tests.web.test_webchat_a11y import AXE, axe_violations, serious

Login = Callable[[str], Awaitable[DeskAgent]]
REPORT_MS = 60_000  # drawing a dozen charts on a busy shared machine
PERIOD = f"from={reports.DAY_1}&to={reports.DAY_2}"


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
def web(settings: Settings, seeded: dict[str, tuple[str, str]]) -> Iterator[str]:
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield base_url


async def with_session(browser: Browser, agent: DeskAgent) -> Page:
    """A tab holding the desk's session, as /desk leaves it after logging in."""
    context = await browser.new_context(locale="es-ES", accept_downloads=True)
    await context.add_init_script(
        "sessionStorage.setItem('tuatencion.desk.token', "
        f"{json.dumps(agent.token)}); sessionStorage.setItem('tuatencion.desk.agent', "
        f"{json.dumps(json.dumps(agent.me))});"
    )
    return await context.new_page()


async def test_the_report_page(web: str, browser: Browser, login: Login, database_url: str) -> None:
    assert AXE.exists(), "axe-core not found: run scripts/install-axe.sh"
    await reports.seed(database_url)
    page = await with_session(browser, await login("analista"))
    await page.goto(f"{web}/desk/informes?{PERIOD}")
    report = page.locator("#informe-contenido")
    status = page.locator("#informe-estado")
    await expect(status).to_have_text("Informe actualizado.", timeout=REPORT_MS)
    summary = report.locator(".figures").first
    await expect(summary).to_contain_text("33,3 %")  # containment: 1 of 3
    await expect(summary).to_contain_text("28,6 %")  # fallbacks: 2 of 7
    await expect(summary).to_contain_text("sobre 4 mensajes anotados")
    assert await report.locator("svg[role='img']").count() >= 10
    await expect(
        report.locator("table").filter(has_text="Derivaciones por motivo")
    ).to_contain_text("El asistente no entendió")
    await expect(report).to_contain_text("ayudas para placas solares")
    assert serious(await axe_violations(page, AXE)) == []
    await page.screenshot(path=str(SHOTS / "informe-precision.png"), full_page=True)

    await page.select_option("#informe-canal", "whatsapp")
    await page.click("#informe-consultar")
    await expect(report.locator(".figures").first).to_contain_text(
        "0 de 1 conversaciones", timeout=REPORT_MS
    )

    async with page.expect_download(timeout=REPORT_MS) as download_info:
        await page.click("#informe-pdf")
    download = await download_info.value
    assert download.suggested_filename == "informe-precision-2026-11-02-2026-11-03.pdf"

    await page.fill("#informe-intencion", "pedir_pizza")
    await page.click("#informe-consultar")
    await expect(page.locator("#informe-error")).to_contain_text(
        "Intención desconocida", timeout=REPORT_MS
    )

    # No desk session in this tab: the page says where to log in.
    anonymous = await (await browser.new_context(locale="es-ES")).new_page()
    await anonymous.goto(f"{web}/desk/informes")
    await expect(anonymous.locator("#informe-login")).to_be_visible()
    assert serious(await axe_violations(anonymous, AXE)) == []
