"""The two pages in a real browser (Debian's Chromium driven by Playwright): a citizen chats,
asks for a person, an informer takes it in the desk and answers, the citizen reloads."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

CHROMIUM = os.environ.get("TUA_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = Path(os.environ.get("TUA_SCREENSHOTS", "/tmp/tuatencion-screenshots"))


async def send(page: Page, text: str) -> None:
    await page.fill("#chat-input", text)
    await page.press("#chat-input", "Enter")


async def desk_page(browser: Browser, web: str, username: str, password: str) -> Page:
    """The desk in a new browser context, logged in."""
    desk = await (await browser.new_context(locale="es-ES")).new_page()
    await desk.goto(f"{web}/desk")
    await desk.fill("#login-username", username)
    await desk.fill("#login-password", password)
    await desk.click("#login-submit")
    return desk


async def test_citizen_and_informer_in_real_browsers(
    browser: Browser, web: str, seeded: dict[str, tuple[str, str]], database_url: str
) -> None:
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    chat = await (await browser.new_context(locale="es-ES")).new_page()
    await chat.goto(f"{web}/")
    await expect(chat.locator("#chat-connection")).to_have_attribute("data-state", "online")
    await send(chat, "Hola, buenas tardes")
    await expect(chat.locator(".msg--bot").first).to_contain_text("Tuatención")
    await chat.locator(".msg__buttons button", has_text="Horario").first.click()
    await expect(chat.locator(".msg--bot").last).to_contain_text("900 222 012")
    await send(chat, "quiero hablar con una persona")
    await expect(chat.locator("#chat-human-banner")).to_be_visible()
    await expect(chat.locator(".msg--system").last).to_contain_text("atención")

    desk = await desk_page(browser, web, *seeded["n1"])
    await expect(desk.locator("#agent-name")).to_contain_text("Lucía")
    await expect(desk.locator("#count-queue")).to_have_text("1")
    await desk.locator("#conversation-list .conv-item").first.click()
    await expect(desk.locator("#handoff-body")).to_contain_text("hablar")
    await desk.click("#btn-take")
    await expect(desk.locator("#reply-text")).to_be_enabled()
    await desk.fill("#reply-text", "Buenas tardes, le atiende Lucía. ¿En qué puedo ayudarle?")
    await desk.click("#reply-send")
    await expect(desk.locator("#transcript .tmsg--agent")).to_have_count(1)

    await expect(chat.locator(".msg--agent")).to_contain_text("le atiende Lucía")
    await send(chat, "Quería preguntar por la beca de mi hija")
    await expect(desk.locator("#transcript .tmsg--citizen").last).to_contain_text("beca")
    await chat.screenshot(path=SHOTS / f"webchat-{backend}.png", full_page=True)
    await desk.screenshot(path=SHOTS / f"desk-{backend}.png", full_page=True)

    before = await chat.locator(".msg").count()
    await chat.reload()
    await expect(chat.locator(".msg--agent")).to_contain_text("le atiende Lucía")
    assert await chat.locator(".msg").count() == before
    await expect(chat.locator("#chat-human-banner")).to_be_visible()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_knowledge_in_the_chat_and_agent_assist_in_the_desk(
    browser: Browser, web: str, seeded: dict[str, tuple[str, str]]
) -> None:
    context = await browser.new_context(
        locale="es-ES",
        geolocation={"latitude": 38.9174, "longitude": -6.3442},
        permissions=["geolocation"],
    )
    chat = await context.new_page()
    await chat.goto(f"{web}/")
    await expect(chat.locator("#chat-connection")).to_have_attribute("data-state", "online")
    await send(chat, "quiero sacar la licencia de pesca")
    card = chat.locator(".msg--bot", has_text="Documentación:").last
    await expect(card).to_contain_text("Licencia de pesca continental")
    await expect(card.locator("a[href^='https://']")).to_have_count(1)
    alternatives = chat.locator(".msg--bot", has_text="Si buscaba otro trámite").last
    await expect(alternatives.locator(".msg__button").first).to_be_visible()

    # Sharing the location from the office form (the browser's geolocation, rounded).
    await send(chat, "necesito ir a una oficina de la junta")
    await chat.locator(".msg__buttons button", has_text="Compartir mi ubicación").last.click()
    await expect(chat.locator(".msg--bot", has_text="cerca de Mérida")).to_have_count(1)
    await expect(chat.locator(".msg--bot").last).to_contain_text("Hoy")  # one bubble per office

    await send(chat, "quiero hablar con una persona")
    await expect(chat.locator("#chat-human-banner")).to_be_visible()

    desk = await desk_page(browser, web, *seeded["n1"])
    await desk.locator("#conversation-list .conv-item").first.click()
    suggestions = desk.locator("#assist-list .assist__item")
    await expect(desk.locator("#assist-status")).to_contain_text("seguridad", timeout=30_000)
    await expect(suggestions.first).to_be_visible()
    await desk.fill("#assist-query", "renovar el título de familia numerosa")
    await desk.press("#assist-query", "Enter")
    await expect(suggestions.first).to_contain_text("Renovación del título de familia numerosa")
    await desk.click("#btn-take")
    await expect(desk.locator("#reply-text")).to_be_enabled()
    await suggestions.first.get_by_role("button").click()
    await expect(desk.locator("#reply-text")).to_have_value(
        re.compile(r"^Renovación del título de familia numerosa")
    )
    await desk.click("#reply-send")
    await expect(chat.locator(".msg--agent").last).to_contain_text("Más información: https://")
    await desk.screenshot(path=SHOTS / "desk-assist.png", full_page=True)
