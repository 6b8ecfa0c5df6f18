"""The «Satisfacción» page in the machine's Chromium: the desk's session, the report by agent and
by unit, the CSV download, the N1 profile, no session at all; axe-core finds nothing serious."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from desk_api.settings import Settings
from tests.desk_api.test_csat import DAY, seed_surveys
from tests.web.test_browser import SHOTS
from tests.web.test_webchat_a11y import AXE, axe_violations, serious


async def logged_in(browser: Browser, web: str, username: str, password: str) -> Page:
    """Log in on the desk, then open the report in the same tab (the desk's session)."""
    page = await (await browser.new_context(locale="es-ES", accept_downloads=True)).new_page()
    await page.goto(f"{web}/desk")
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    await expect(page.locator("#ws-status")).to_have_attribute("data-state", "online")
    await page.goto(f"{web}/desk/satisfaccion")
    await expect(page.locator("#csat-report")).to_be_visible()
    return page


async def show_day(page: Page, group: str) -> None:
    await page.select_option("#csat-group", group)
    await page.fill("#csat-from", DAY.isoformat())
    await page.fill("#csat-to", DAY.isoformat())
    await page.click("#csat-submit")
    await expect(page.locator("#csat-caption")).to_contain_text(DAY.strftime("%d/%m/%Y"))


async def test_the_report_page_for_admin_and_n1(
    web: str,
    browser: Browser,
    settings: Settings,
    seeded: dict[str, tuple[str, str]],
) -> None:
    assert AXE.exists(), "axe-core not found: run scripts/install-axe.sh"
    await seed_surveys(settings)
    page = await logged_in(browser, web, *seeded["admin"])
    await show_day(page, "agent")
    rows = page.locator("#csat-rows tr")
    await expect(rows).to_have_count(3)
    lucia = rows.filter(has_text="Lucía Martín")
    await expect(lucia).to_contain_text(re.compile(r"66,7\s%"))
    await expect(lucia.locator("td").nth(3)).to_have_text("4,50")
    assert serious(await axe_violations(page, AXE)) == []
    await page.screenshot(path=str(SHOTS / "csat-report.png"), full_page=True)

    await show_day(page, "unit")
    await expect(rows.filter(has_text="Sin unidad (atención de N1)")).to_have_count(1)
    async with page.expect_download() as download_info:
        await page.click("#csat-csv")
    download = await download_info.value
    assert download.suggested_filename == f"satisfaccion-unit-{DAY}-{DAY}.csv"
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert data.startswith(b"\xef\xbb\xbf") and b"Sin unidad" in data

    # A day without surveys says so.
    await page.fill("#csat-from", "2026-01-01")
    await page.fill("#csat-to", "2026-01-02")
    await page.click("#csat-submit")
    await expect(page.locator("#csat-empty")).to_be_visible()

    # N1: its own row only; the other groupings cannot be chosen.
    informer = await logged_in(browser, web, *seeded["n1"])
    await expect(informer.locator("#csat-group option[value='unit']")).to_be_disabled()
    await show_day(informer, "agent")
    await expect(informer.locator("#csat-rows tr")).to_have_count(1)
    await expect(informer.locator("#csat-rows tr")).to_contain_text("Lucía Martín")

    # No desk session in this tab: the page says where to log in.
    anonymous = await (await browser.new_context(locale="es-ES")).new_page()
    await anonymous.goto(f"{web}/desk/satisfaccion")
    await expect(anonymous.locator("#csat-login")).to_be_visible()
    await expect(anonymous.locator("#csat-login a")).to_have_attribute("href", "/desk")
