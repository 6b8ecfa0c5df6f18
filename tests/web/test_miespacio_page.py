"""Miespacio in the machine's Chromium: log in with the code read from the SMS sandbox, see the
conversations and cases, open a conversation and write into it (and see the web chat's next
message arrive live), change the preferences, read a case's answer, log out. Screenshots go to
the artifacts folder; axe-core finds nothing serious in any of those states."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from desk_api.miespacio_models import MiespacioPreferences, MiespacioSession
from tests.support.clients import Citizen
from tests.support.miespacio import App, rows, serve
from tests.support.miespacio_area import case, citizen, link, new_code
from tests.web.test_browser import SHOTS
from tests.web.test_webchat_a11y import AXE, axe_violations, serious, tab_until


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    with serve(database_url, tmp_path, monkeypatch) as served:
        yield served


async def no_serious_problems(page: Page, where: str) -> None:
    problems = serious(await axe_violations(page, AXE))
    assert problems == [], f"{where}: {problems}"


async def test_a_citizen_uses_miespacio(app: App, browser: Browser, database_url: str) -> None:
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    citizen_id = await citizen(app.database_url, email="ana.garcia@correo.es", phone="+34612345678")
    chat = await Citizen(app.url).start()
    await chat.say("¿Qué papeles hacen falta para la beca de comedor?")  # no bot: the desk's
    await link(app.database_url, chat.conversation_id, citizen_id)
    answer = "Hemos revisado el horario de la oficina; disculpe las molestias."
    await case(app.database_url, citizen_id, None, "QS-2026-000042", answer=answer)

    # The page's CSP allows no injected script: axe needs the bypass, the page does not.
    context = await browser.new_context(locale="es-ES", bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{app.url}/miespacio")
    await expect(page.locator("#acceso-titulo")).to_be_visible()
    await expect(page.locator("#menu")).to_be_hidden()
    await page.screenshot(path=str(SHOTS / f"miespacio-acceso-{backend}.png"), full_page=True)
    await no_serious_problems(page, "acceso")

    # Bad input is explained next to the field; then the code arrives by SMS (the sandbox).
    await page.fill("#destino", "924 00 00 00")
    await page.keyboard.press("Enter")
    await expect(page.locator("#destino-error")).to_contain_text("teléfono móvil")
    await page.fill("#destino", "612 345 678")
    await page.keyboard.press("Enter")
    await expect(page.locator("#codigo-enviado")).to_contain_text("6** *** *78")
    await expect(page.locator("#codigo")).to_be_focused()
    await page.fill("#codigo", await new_code(app, "sms", 0))
    await page.keyboard.press("Enter")

    await expect(page.locator("#resumen-titulo")).to_be_focused()
    chat_link = page.get_by_role("link", name="Consulta por Chat web")
    await expect(chat_link).to_be_visible()
    await expect(page.get_by_role("link", name="Queja QS-2026-000042")).to_be_visible()
    await expect(page.locator("#cuenta")).to_contain_text("a***@correo.es")
    await page.screenshot(path=str(SHOTS / f"miespacio-resumen-{backend}.png"), full_page=True)
    await no_serious_problems(page, "resumen")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.screenshot(
        path=str(SHOTS / f"miespacio-resumen-movil-{backend}.png"), full_page=True
    )
    await page.set_viewport_size({"width": 1280, "height": 800})

    # Open the conversation with the keyboard and write into it.
    await tab_until(page, "Consulta por Chat web")  # every stop shows a visible focus
    await page.keyboard.press("Enter")
    await expect(page.locator("#conversacion-titulo")).to_have_text("Consulta por Chat web")
    transcript = page.locator("#transcripcion")
    await expect(transcript).to_contain_text("¿Qué papeles hacen falta para la beca de comedor?")
    await page.fill("#texto", "Escribo desde Miespacio: ¿me pueden contestar por aquí?")
    await page.click("#form-escribir button[type=submit]")
    await expect(transcript.locator(".line--citizen").last).to_contain_text(
        "Escribo desde Miespacio"
    )
    assert (await chat.history())["messages"][-1]["text"].startswith("Escribo desde Miespacio")
    # Live: what the citizen writes on the web chat shows up here without reloading.
    await chat.say("Y otra cosa desde el chat del portal")
    await expect(transcript).to_contain_text("Y otra cosa desde el chat del portal", timeout=8000)
    await page.screenshot(path=str(SHOTS / f"miespacio-conversacion-{backend}.png"), full_page=True)
    await no_serious_problems(page, "conversación")

    # Preferences: a verified channel, email notices, two topics of the catalogue.
    await page.click("#nav-preferencias")
    await expect(page.locator("#preferencias-titulo")).to_be_focused()
    await page.get_by_label("SMS", exact=True).check()
    await page.get_by_label("Por correo electrónico").check()
    await page.get_by_label("Vivienda").check()
    await page.get_by_label("Educación").check()
    await page.click("#form-preferencias button[type=submit]")
    await expect(page.locator("#aviso")).to_have_text("Preferencias guardadas.")
    (saved,) = await rows(app.database_url, MiespacioPreferences)
    assert saved.preferred_channel == "sms" and saved.notify_email and not saved.notify_sms
    assert saved.topics == ["Educación", "Vivienda"]
    await page.screenshot(path=str(SHOTS / f"miespacio-preferencias-{backend}.png"), full_page=True)
    await no_serious_problems(page, "preferencias")

    # A case: its history and the formal answer.
    await page.click("#nav-resumen")
    await page.get_by_role("link", name="Queja QS-2026-000042").click()
    await expect(page.locator("#caso-respuesta")).to_contain_text("Hemos revisado el horario")
    await expect(page.locator("#caso-historial li")).to_have_count(2)
    await no_serious_problems(page, "caso")

    # Logout: back to the login page; the session row is gone, a reload stays logged out.
    await page.click("#salir")
    await expect(page.locator("#acceso-titulo")).to_be_visible()
    assert await rows(app.database_url, MiespacioSession) == []
    await page.reload()
    await expect(page.locator("#acceso-titulo")).to_be_visible()
    await expect(page.locator("#menu")).to_be_hidden()
    await context.close()
    await chat.aclose()
