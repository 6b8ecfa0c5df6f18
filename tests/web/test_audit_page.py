"""The «Registro de auditoría» page in the machine's Chromium: reachable from the desk for the
administrator only, filters, the next page, a JSON Lines export; axe-core finds nothing serious."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from playwright.async_api import Browser, expect
from sqlalchemy import insert

from desk_api.models import AuditEvent
from desk_api.settings import Settings
from tests.desk_api.test_audit_log import event
from tests.support.db import database
from tests.web.test_browser import SHOTS
from tests.web.test_webchat_a11y import AXE, axe_violations, serious


async def test_the_audit_page(
    web: str, browser: Browser, settings: Settings, seeded: dict[str, tuple[str, str]]
) -> None:
    assert AXE.exists(), "axe-core not found: run scripts/install-axe.sh"
    async with database(settings) as s:
        rows = [event("reply", 0, conversation_id="c-page", details={"n": n}) for n in range(60)]
        rows.append(event("derive", 0, conversation_id="c-otra", details={"unit_code": "X"}))
        await s.execute(insert(AuditEvent), rows)
        await s.commit()

    context = await browser.new_context(locale="es-ES", accept_downloads=True)
    page = await context.new_page()
    await page.goto(f"{web}/desk")
    await page.fill("#login-username", seeded["admin"][0])
    await page.fill("#login-password", seeded["admin"][1])
    await page.click("#login-submit")
    await expect(page.locator("#ws-status")).to_have_attribute("data-state", "online")
    await page.click("#audit-link")
    await expect(page.locator("#audit-report")).to_be_visible()
    table = page.locator("#audit-rows tr")
    await expect(table).to_have_count(50)  # a page; more behind «Cargar más»
    await page.click("#audit-more")
    await expect(table).to_have_count(61)
    await expect(page.locator("#audit-more")).to_be_hidden()

    await page.fill("#audit-conversation", "c-otra")
    await page.click("#audit-submit")
    await expect(table).to_have_count(1)
    await expect(table.first).to_contain_text("derive")
    await expect(table.first).to_contain_text('{"unit_code":"X"}')
    assert serious(await axe_violations(page, AXE)) == []
    await page.screenshot(path=str(SHOTS / "audit-log.png"), full_page=True)

    async with page.expect_download() as download_info:
        await page.click("#audit-jsonl")
    download = await download_info.value
    assert download.suggested_filename == "auditoria-c-otra.jsonl"
    text = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8")
    assert [json.loads(line)["action"] for line in text.splitlines()] == ["derive"]

    # An informer has no link, and the page refuses them clearly.
    informer = await (await browser.new_context(locale="es-ES")).new_page()
    await informer.goto(f"{web}/desk")
    await informer.fill("#login-username", seeded["n1"][0])
    await informer.fill("#login-password", seeded["n1"][1])
    await informer.click("#login-submit")
    await expect(informer.locator("#ws-status")).to_have_attribute("data-state", "online")
    await expect(informer.locator("#audit-link")).to_be_hidden()
    await informer.goto(f"{web}/desk/auditoria")
    await expect(informer.locator("#audit-error")).to_contain_text("supervisión")
