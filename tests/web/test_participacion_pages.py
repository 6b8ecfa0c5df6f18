"""Participation in the machine's Chromium: an N2 agent creates and publishes a process from the
desk's participation page, publishes and answers a citizen's proposal (arriving live), and the
public page shows it with personal data masked. Accessibility checked with axe-core; screenshots
go to the artifacts folder."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from desk_api.security import create_self_service_token
from desk_api.services.participation import today
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen
from tests.support.servers import web_app_in_thread
from tests.web.test_browser import SHOTS
from tests.web.test_desk_channels import desk_page
from tests.web.test_webchat_a11y import AXE, AXE_TAGS, serious


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


async def axe_problems(page: Page) -> list[str]:
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return serious(list(result["violations"]))


async def test_a_unit_runs_a_process_and_the_public_sees_it(
    web: str,
    browser: Browser,
    seeded: dict[str, tuple[str, str]],
    settings: Settings,
    database_url: str,
) -> None:
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    desk = await desk_page(browser, web, *seeded["n2"])
    await desk.click("a[href='/desk/participacion']")
    await expect(desk.locator("#live-status")).to_have_text("En directo")
    await desk.click("#new-process")
    await desk.fill("#f-title", "Plan de Juventud 2027")
    await desk.fill("#f-description", "Ideas para el empleo, la vivienda y el ocio de los jóvenes.")
    await desk.fill("#f-start", (today() - timedelta(days=1)).isoformat())
    await desk.fill("#f-end", (today() - timedelta(days=2)).isoformat())
    await desk.click("#process-form button[type=submit]")
    await expect(desk.locator("#error")).to_have_text(
        "La fecha de fin debe ser posterior a la fecha de inicio."
    )
    await desk.fill("#f-end", (today() + timedelta(days=20)).isoformat())
    await desk.click("#process-form button[type=submit]")
    await expect(desk.locator("#d-meta")).to_contain_text("Borrador")
    await desk.click("#d-publish")
    await expect(desk.locator("#d-meta")).to_contain_text("Abierto")
    process_id = (await httpx.AsyncClient(base_url=web).get("/api/participacion/procesos")).json()[
        0
    ]["id"]

    # A citizen's proposal arrives (through the bot's self-service API) and shows up live.
    citizen = await Citizen(web).start()
    await citizen.aclose()
    token = create_self_service_token(citizen.conversation_id, settings.jwt_key(), 10)
    async with httpx.AsyncClient(base_url=web) as client:
        sent = await client.post(
            "/api/selfservice/participacion/propuestas",
            json={
                "proceso": process_id,
                "titulo": "Bono de alquiler en los pueblos",
                "texto": "Llámenme al 612 345 678: propongo ampliar el bono joven a los pueblos.",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 201, sent.text
    proposal = desk.locator("#d-proposals article")
    await expect(proposal).to_contain_text("Pendiente de revisar")
    await expect(proposal).to_contain_text("612 345 678")  # the unit reads what was written
    assert await axe_problems(desk) == []
    await desk.screenshot(path=str(SHOTS / f"participacion-desk-{backend}.png"), full_page=True)
    await proposal.get_by_role("button", name="Publicar", exact=True).click()
    await expect(proposal).to_contain_text("Publicada")
    await proposal.get_by_label("Respuesta pública de la unidad").fill(
        "La incluiremos en el borrador del plan."
    )
    # While the answer is being written, another proposal arrives and the list is drawn again
    # (live): what the agent was writing stays.
    async with httpx.AsyncClient(base_url=web) as client:
        another = await client.post(
            "/api/selfservice/participacion/propuestas",
            json={
                "proceso": process_id,
                "titulo": "Transporte nocturno",
                "texto": "Un autobús nocturno los fines de semana entre los pueblos.",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert another.status_code == 201, another.text
    await expect(desk.locator("#d-proposals article")).to_have_count(2)
    proposal = desk.locator("#d-proposals article", has_text="Bono de alquiler")
    await expect(proposal.get_by_label("Respuesta pública de la unidad")).to_have_value(
        "La incluiremos en el borrador del plan."
    )
    await proposal.get_by_role("button", name="Responder").click()
    await expect(proposal).to_contain_text("Respondida")

    public = await (await browser.new_context(locale="es-ES")).new_page()
    await public.goto(f"{web}/participacion")
    await expect(public.locator("#estado")).to_have_text("Hay 1 proceso abierto.")
    card = public.locator("article.process")
    await expect(card).to_contain_text("Plan de Juventud 2027")
    await expect(card).to_contain_text("Llámenme al [TELEFONO]")
    await expect(card).to_contain_text("La incluiremos en el borrador del plan.")
    assert "612 345 678" not in await public.content()
    assert await axe_problems(public) == []
    await public.set_viewport_size({"width": 390, "height": 844})  # a phone
    await public.screenshot(
        path=str(SHOTS / f"participacion-publica-{backend}.png"), full_page=True
    )
