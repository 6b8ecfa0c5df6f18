"""«Etiquetas y respuestas predefinidas» in the machine's Chromium: the admin adds, renames and
deletes a label; an N2 agent adds and edits a ready answer of its unit and sees a Spanish error
for an unknown variable; an N1 informer only reads; axe-core finds nothing serious."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.web.test_browser import SHOTS
from tests.web.test_webchat_a11y import AXE, axe_violations, serious


async def settings_page(browser: Browser, web: str, username: str, password: str) -> Page:
    page = await (await browser.new_context(locale="es-ES")).new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the «¿Borrar…?» confirmations
    await page.goto(f"{web}/desk")
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    await expect(page.locator("#ws-status")).to_have_attribute("data-state", "online")
    await page.click("a[href='/desk/ajustes']")
    await expect(page.locator("#canned-block")).to_be_visible()
    return page


async def test_labels_and_canned_answers_are_managed_here(
    web: str, browser: Browser, seeded: dict[str, tuple[str, str]]
) -> None:
    assert AXE.exists(), "axe-core not found: run scripts/install-axe.sh"
    admin = await settings_page(browser, web, *seeded["admin"])
    await admin.fill("#label-name", "Urgente")
    await admin.click("#label-submit")
    await expect(admin.locator("#settings-status")).to_have_text("Etiqueta «Urgente» añadida.")
    await admin.click("button:has-text('Editar «Urgente»')")
    await admin.fill("#label-name", "Muy urgente")
    await admin.click("#label-submit")
    await expect(admin.locator("#labels-rows")).to_contain_text("Muy urgente")
    await admin.fill("#label-name", "Muy urgente")
    await admin.click("#label-submit")  # the name exists already: the API's Spanish answer
    await expect(admin.locator("#settings-error")).to_be_visible()
    assert serious(await axe_violations(admin, AXE)) == []
    await admin.screenshot(path=str(SHOTS / "desk-settings-admin.png"), full_page=True)
    await admin.click("button:has-text('Borrar «Muy urgente»')")
    await expect(admin.locator("#labels-rows")).not_to_contain_text("Muy urgente")

    n2 = await settings_page(browser, web, *seeded["n2"])
    await expect(n2.locator("#label-form")).to_be_hidden()  # labels: the admin's
    await expect(n2.locator("#canned-unit option")).to_have_count(1)  # its own unit only
    await n2.fill("#canned-shortcut", "plazo-beca")
    await n2.fill("#canned-title-input", "Plazo de la beca")
    await n2.fill("#canned-body", "Hola, {ciudadano}: el plazo termina el 30 de junio.")
    await n2.click("#canned-submit")
    await expect(n2.locator("#settings-error")).to_contain_text("{ciudadano}")
    await n2.fill("#canned-body", "Hola, {nombre}: el plazo de {tramite} termina el 30 de junio.")
    await n2.click("#canned-submit")
    await expect(n2.locator("#canned-rows")).to_contain_text("/plazo-beca")
    await n2.click("button:has-text('Editar «Plazo de la beca»')")
    await n2.fill("#canned-title-input", "Plazo de la beca de comedor")
    await n2.click("#canned-submit")
    await expect(n2.locator("#canned-rows")).to_contain_text("Plazo de la beca de comedor")
    assert serious(await axe_violations(n2, AXE)) == []

    n1 = await settings_page(browser, web, *seeded["n1"])
    await expect(n1.locator("#canned-form")).to_be_hidden()
    await expect(n1.locator("#canned-readonly")).to_be_visible()
    await expect(n1.locator("#canned-rows button")).to_have_count(0)
