"""The desk's working tools in the machine's Chromium: a private note (never in the citizen's
chat), a label on the conversation (detail, list row and filter), a canned answer picked from
the composer with the keyboard, and a search whose result opens the conversation at the
message. Screenshots go to the artifacts folder."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.support.clients import Citizen, DeskAgent
from tests.web.test_browser import SHOTS
from tests.web.test_desk_channels import desk_page
from tests.web.test_webchat_a11y import AXE, serious

# The parts this test drives: the composer (note toggle, canned listbox), labels, lists, search.
AXE_CONTEXT = {"include": [["#reply-form"], ["#detail-labels"], ["#transcript"], [".sidebar"]]}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


async def axe_problems(page: Page) -> list[str]:
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "([context, tags]) => axe.run(context, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        [AXE_CONTEXT, AXE_TAGS],
    )
    return serious(list(result["violations"]))


async def test_notes_labels_canned_answers_and_search(
    web: str, browser: Browser, seeded: dict[str, tuple[str, str]], database_url: str
) -> None:
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    citizen = await Citizen(web).start()
    answer = await citizen.say("Hablar con una persona", payload="/hablar_con_agente")
    assert answer["controller"] == "human"
    await citizen.say("Quiero pedir la beca de comedor para mi hija, ¿qué papeles hacen falta?")
    cid = citizen.conversation_id
    admin = await DeskAgent(web).login(*seeded["admin"])
    label = await admin.call("POST", "/labels", json={"name": "Urgente", "color": "#d1242f"})
    assert label.status_code == 201, label.text
    greeting = "Buenos días, {nombre}: le atiende {agente}. ¿En qué puedo ayudarle?"
    made = await admin.call(
        "POST", "/canned", json={"shortcut": "saludo", "title": "Saludo", "body": greeting}
    )
    assert made.status_code == 201, made.text
    await admin.aclose()

    desk = await desk_page(browser, web, *seeded["n1"])
    row = desk.locator(f'.conv-item[data-id="{cid}"]')
    await row.click()
    await desk.click("#btn-take")
    await expect(desk.locator("#reply-text")).to_be_enabled()

    # A private note: its own style and marker, in the transcript; never in the citizen's chat.
    await desk.click("#note-toggle")
    await expect(desk.locator("#note-toggle")).to_have_attribute("aria-pressed", "true")
    await expect(desk.locator("#reply-send")).to_have_text("Guardar nota")
    await desk.fill("#reply-text", "Ya llamó ayer por lo mismo; tiene prisa.")
    await desk.click("#reply-send")
    note = desk.locator("#transcript .tmsg--note")
    await expect(note).to_have_count(1)
    await expect(note.locator(".tmsg__marker")).to_have_text("Nota interna")
    await expect(note).to_contain_text("Ya llamó ayer por lo mismo")
    await expect(desk.locator("#transcript .tmsg--agent")).to_have_count(0)
    history = [m["text"] for m in (await citizen.history())["messages"]]
    assert not any("Ya llamó ayer" in t for t in history)

    # A canned answer from the composer, only with the keyboard: «/salu», Intro, review, send.
    await desk.click("#note-toggle")
    await expect(desk.locator("#reply-send")).to_have_text("Enviar respuesta")
    await desk.locator("#reply-text").press_sequentially("/salu")
    option = desk.locator("#canned-list [role=option]")
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text("/saludo")
    await expect(desk.locator("#reply-text")).to_have_attribute(
        "aria-activedescendant", re.compile("^canned-option-")
    )
    assert await axe_problems(desk) == []  # a note in the transcript, the listbox open
    await desk.keyboard.press("Enter")
    await expect(desk.locator("#reply-text")).to_have_value(
        "Buenos días: le atiende Lucía Martín. ¿En qué puedo ayudarle?"
    )
    await expect(desk.locator("#canned-status")).to_contain_text("el nombre de la persona")
    await expect(desk.locator("#canned-list")).to_be_hidden()
    await desk.keyboard.press("Control+Enter")
    await expect(desk.locator("#transcript .tmsg--agent")).to_have_count(1)
    await desk.screenshot(path=str(SHOTS / f"desk-tools-note-canned-{backend}.png"), full_page=True)

    # A label: in the detail, on the list row, and as a filter of the lists.
    await desk.select_option("#label-add", label="Urgente")
    await desk.click("#label-add-button")
    await expect(desk.locator("#labels-list .label-chip__name")).to_have_text(["Urgente"])
    await desk.click("#tab-all")
    await expect(row.locator(".label-chip")).to_have_text("Urgente")
    await desk.select_option("#filter-label", label="Urgente")
    await expect(desk.locator("#conversation-list .conv-item")).to_have_count(1)
    await desk.select_option("#filter-channel", "telegram")
    await expect(desk.locator("#list-status")).to_contain_text("No hay conversaciones con estos")
    await desk.select_option("#filter-channel", "")
    await desk.select_option("#filter-label", "")

    # Search: "becas" finds the citizen's "beca"; the result opens the conversation there.
    await desk.fill("#search-q", "becas")
    await desk.press("#search-q", "Enter")
    hit = desk.locator(".search-hit").first
    await expect(hit.locator("mark")).to_have_text(["beca"])
    await expect(desk.locator("#search-title")).to_have_text("Resultados de «becas»")
    await hit.click()
    found = desk.locator("#transcript .tmsg.is-found")
    await expect(found).to_contain_text("beca de comedor para mi hija")
    await expect(found).to_be_focused()
    assert await axe_problems(desk) == []  # search results, a label on the conversation
    await desk.screenshot(path=str(SHOTS / f"desk-tools-search-{backend}.png"), full_page=True)
    await desk.click("#search-close")
    await expect(desk.locator("#search-q")).to_be_focused()
    await expect(desk.locator("#inbox")).to_be_visible()
    await citizen.aclose()
