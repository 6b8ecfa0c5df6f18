"""The web chat for everyone (WCAG 2.1 AA) in the machine's Chromium: axe-core finds nothing
serious, a keyboard alone holds a whole conversation (options, files, downloads, the panel),
typing and uploads are announced, and the page survives 200 % zoom and reduced motion."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any

import pytest
import websockets
from PIL import Image
from playwright.async_api import Browser, FilePayload, Page, Route, expect

from tests.support.clients import DeskAgent, next_event
from tests.web.test_browser import SHOTS

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("TUA_AXE_JS", ROOT / "var/tools/axe/node_modules/axe-core/axe.min.js"))
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture
def axe() -> Path:
    assert AXE.exists(), f"axe-core not found at {AXE}: run scripts/install-axe.sh"
    return AXE


async def chat_page(browser: Browser, web: str, **context: Any) -> Page:
    page = await (await browser.new_context(locale="es-ES", **context)).new_page()
    await page.goto(f"{web}/")
    await expect(page.locator("#chat-connection")).to_have_attribute("data-state", "online")
    return page


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (0, 92, 38)).save(buffer, "PNG")
    return buffer.getvalue()


def file(name: str, mime: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


async def focused(page: Page) -> dict[str, str]:
    """What has the keyboard focus: id, class, text, accessible label, and whether the browser
    draws its focus indicator (``:focus-visible``) with a visible outline."""
    return dict(
        await page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {
                    id: el.id, cls: el.className, text: el.textContent.trim(),
                    label: el.getAttribute('aria-label') || '',
                    visible: String(el.matches(':focus-visible') && style.outlineStyle !== 'none'
                                    && parseFloat(style.outlineWidth) >= 2),
                };
            }"""
        )
    )


async def tab_until(page: Page, wanted: str, *, back: bool = False, limit: int = 25) -> None:
    """Press Tab (Shift+Tab if ``back``) until the focused element's id, text or label is
    ``wanted``; every stop on the way must show a visible focus indicator."""
    for _ in range(limit):
        await page.keyboard.press("Shift+Tab" if back else "Tab")
        now = await focused(page)
        if now["id"] or now["text"] or now["label"]:
            assert now["visible"] == "true", f"no visible focus on {now}"
        if wanted in (now["id"], now["text"], now["label"]):
            return
    raise AssertionError(f"{wanted!r} not reached with the keyboard")


async def axe_violations(page: Page, axe: Path) -> list[dict[str, Any]]:
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(path=str(axe))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return list(result["violations"])


def serious(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


async def test_axe_finds_no_serious_violations_in_any_state_of_the_chat(
    web: str, browser: Browser, login: Any, axe: Path
) -> None:
    page = await chat_page(browser, web)
    assert await page.get_attribute("html", "lang") == "es"
    assert serious(await axe_violations(page, axe)) == []  # empty conversation

    await page.fill("#chat-input", "hola")
    await page.press("#chat-input", "Enter")
    await expect(page.locator(".msg--bot .msg__buttons").first).to_be_visible()
    await page.set_input_files("#chat-file", [file("foto.png", "image/png", png())])
    await page.press("#chat-input", "Enter")
    await expect(page.locator(".msg--citizen .msg__file")).to_contain_text("foto.png")
    await page.fill("#chat-input", "quiero hablar con una persona")
    await page.press("#chat-input", "Enter")
    await expect(page.locator("#chat-human-banner")).to_be_visible()
    await page.set_input_files("#chat-file", [file("carta.txt", "text/plain", b"Hola\n")])
    await expect(page.locator("#chat-files")).to_be_visible()

    # The person's typing is shown and announced politely.
    agent: DeskAgent = await login("n1")
    conversation = await page.evaluate("JSON.parse(localStorage['tuatencion.chat'])")
    path = f"/conversations/{conversation['conversation_id']}"
    await agent.ok("POST", f"{path}/take")
    assert (await agent.call("POST", f"{path}/typing")).status_code == 204
    await expect(page.locator("#chat-typing")).to_have_attribute("aria-live", "polite")
    await expect(page.locator("#chat-typing-text")).to_have_text(
        "La persona que le atiende está escribiendo…"
    )
    await page.fill("#chat-input", "Un momento, busco el número")
    found = await axe_violations(page, axe)
    await page.screenshot(path=SHOTS / "webchat-a11y.png")
    assert serious(found) == [], serious(found)


async def test_keyboard_only_conversation_with_options_and_files(
    web: str, browser: Browser
) -> None:
    page = await chat_page(browser, web)
    # Intercept the file chooser from the start: Playwright turns interception on without
    # waiting, so switching it on at the keypress could let the native dialog win.
    page.on("filechooser", lambda _chooser: None)
    await page.keyboard.press("Tab")
    assert (await focused(page))["text"] == "Ir al chat de atención"
    await page.keyboard.press("Enter")  # the skip link lands in the message box
    assert (await focused(page))["id"] == "chat-input"

    async def slow_bot(route: Route) -> None:
        await asyncio.sleep(0.8)  # time to see the assistant "typing"
        await route.continue_()

    await page.route("**/api/chat/conversations/*/messages", slow_bot)
    await page.keyboard.type("hola")
    await page.keyboard.press("Enter")
    await expect(page.locator("#chat-typing-text")).to_have_text("El asistente está escribiendo…")
    log = page.locator("#chat-messages[role=log][aria-live=polite]")
    await expect(log.locator(".msg--bot .msg__buttons[role=group]").first).to_have_attribute(
        "aria-label", "Respuestas sugeridas"
    )
    await expect(page.locator("#chat-typing-text")).to_have_text("")
    await page.unroute("**/api/chat/conversations/*/messages")

    await tab_until(page, "Horario de atención", back=True)
    await page.keyboard.press("Space")
    await expect(log.locator(".msg--bot").last).to_contain_text("900 222 012")  # announced
    assert (await focused(page))["id"] == "chat-input"

    # Files: the paperclip opens the chooser from the keyboard; one chosen file is removed.
    await tab_until(page, "Adjuntar archivo", back=True)
    async with page.expect_file_chooser() as chooser:
        await page.keyboard.press("Enter")
    photo, notes = png(), "Matrícula 1234 ABC, cita del día 12.\n".encode()
    await (await chooser.value).set_files(
        [file("foto.png", "image/png", photo), file("notas.txt", "text/plain", notes)]
    )
    status = page.locator("#chat-status[role=status]")
    await expect(status).to_have_text("2 archivos preparados. Pulse Enviar para mandarlos.")
    await tab_until(page, "Quitar foto.png", back=True)
    await page.keyboard.press("Space")
    await expect(status).to_have_text("Archivo foto.png quitado.")
    assert (await focused(page))["label"] == "Quitar notas.txt"  # focus is not lost
    await expect(page.locator("#chat-files-list li")).to_have_count(1)
    await tab_until(page, "chat-input")
    await page.keyboard.type("Le adjunto mis notas")
    await page.keyboard.press("Enter")
    sent = log.locator(".msg--citizen").last
    await expect(sent).to_contain_text("Le adjunto mis notas")
    await expect(sent.locator(".msg__file")).to_have_accessible_name(
        f"Descargar notas.txt Texto, {len(notes)} bytes"
    )
    await expect(status).to_have_text("Archivo enviado.")
    await expect(page.locator("#chat-files")).to_be_hidden()

    # The sent file downloads from the transcript with the keyboard.
    await sent.locator(".msg__file").focus()
    async with page.expect_download() as download:
        await page.keyboard.press("Enter")
    saved = await (await download.value).path()
    assert await asyncio.to_thread(Path(saved).read_bytes) == notes

    # A refused file is explained in the alert and stays chosen to be removed.
    await page.set_input_files(
        "#chat-file", [file("programa.exe", "application/octet-stream", b"MZ\x90\x00" * 64)]
    )
    await page.locator("#chat-input").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#chat-error[role=alert]")).to_contain_text(
        "No podemos recibir el archivo «programa.exe»"
    )
    await expect(page.locator("#chat-files-list li")).to_contain_text("programa.exe")

    # Escape minimises the panel; the launcher brings it back with the focus in the box.
    await page.keyboard.press("Escape")
    await expect(page.locator("#chat-panel")).to_be_hidden()
    assert (await focused(page))["id"] == "chat-launcher"
    await page.keyboard.press("Enter")
    await expect(page.locator("#chat-panel")).to_be_visible()
    assert (await focused(page))["id"] == "chat-input"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # browser-side throttle
async def test_citizen_typing_reaches_the_desk_at_most_every_three_seconds(
    web: str, browser: Browser, login: Any
) -> None:
    page = await chat_page(browser, web)
    typing: list[str] = []
    page.on("request", lambda r: typing.append(r.url) if r.url.endswith("/typing") else None)
    await page.locator("#chat-input").press_sequentially("sin persona todavía")
    assert typing == []  # the bot holds the conversation: nobody to tell
    await page.fill("#chat-input", "quiero hablar con una persona")
    await page.press("#chat-input", "Enter")
    await expect(page.locator("#chat-human-banner")).to_be_visible()

    agent: DeskAgent = await login("n1")
    async with websockets.connect(agent.ws_url()) as desk:
        await page.locator("#chat-input").press_sequentially("Buenas tardes", delay=40)
        event = await next_event(desk, "typing")
        assert event["sender"] == "citizen"
    assert len(typing) == 1  # 13 keystrokes in half a second: one notice


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # layout only
async def test_zoom_200_reflow_and_reduced_motion(web: str, browser: Browser) -> None:
    # 1280×800 at 200 % zoom is a 640×400 CSS-pixel viewport; 320 px wide is 400 % (reflow).
    for width, height in [(640, 400), (320, 512)]:
        page = await chat_page(
            browser, web, viewport={"width": width, "height": height}, reduced_motion="reduce"
        )
        await page.fill("#chat-input", "¿cuál es el horario de la oficina de Mérida?")
        await page.press("#chat-input", "Enter")
        await expect(page.locator(".msg--bot").last).to_be_visible()
        await page.set_input_files("#chat-file", [file("foto.png", "image/png", png())])
        layout = await page.evaluate(
            """() => {
                const box = (id) => document.getElementById(id).getBoundingClientRect();
                const inside = (r) => r.left >= 0 && r.top >= 0 && r.right <= innerWidth
                    && r.bottom <= innerHeight;
                const dot = document.querySelector('.chat__typing-dots span');
                return {
                    scrollWidth: document.documentElement.scrollWidth,
                    controls: ['chat-attach', 'chat-input', 'chat-send', 'chat-minimize']
                        .every((id) => inside(box(id))),
                    log: box('chat-messages').height,
                    animation: getComputedStyle(dot).animationName,
                    scroll: getComputedStyle(document.getElementById('chat-messages'))
                        .scrollBehavior,
                };
            }"""
        )
        assert layout["scrollWidth"] <= width, layout  # no horizontal scrolling
        assert layout["controls"], layout
        assert layout["log"] >= 100, layout  # the conversation is still readable
        assert (layout["animation"], layout["scroll"]) == ("none", "auto"), layout
        await page.screenshot(path=SHOTS / f"webchat-{width}x{height}.png")
        await page.context.close()
