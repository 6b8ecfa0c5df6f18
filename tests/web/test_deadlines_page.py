"""Deadlines in the machine's Chromium: the desk's badges (text, not colour alone) and the
deadline filter for N1; the «Plazos» page with the supervisors' escalations; axe-core finds
nothing serious. No Rasa: conversations are written into the database as handed off."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from desk_api.deadline_models import Deadline
from desk_api.models import utcnow
from desk_api.settings import Settings
from tests.desk_api.test_deadlines_api import _fast_worker, handed_off, settings
from tests.support.db import database
from tests.web.test_browser import SHOTS
from tests.web.test_desk_tools import axe_problems
from tests.web.test_webchat_a11y import AXE, axe_violations, serious

__all__ = ["_fast_worker", "settings"]  # fixtures: the app without Rasa, a quick worker


async def desk_page(browser: Browser, web: str, username: str, password: str) -> Page:
    page = await (await browser.new_context(locale="es-ES")).new_page()
    await page.goto(f"{web}/desk")
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    await expect(page.locator("#ws-status")).to_have_attribute("data-state", "online")
    return page


async def test_badges_filter_and_escalations(
    web: str, browser: Browser, settings: Settings, seeded: dict[str, tuple[str, str]]
) -> None:
    assert AXE.exists(), "axe-core not found: run scripts/install-axe.sh"
    late = await handed_off(settings, 30, channel="telegram")
    await handed_off(settings, 0)
    informer = await desk_page(browser, web, *seeded["n1"])
    items = informer.locator("#conversation-list .conv-item")
    await expect(items).to_have_count(2)
    overdue = items.filter(has_text="Plazo vencido")
    await expect(overdue).to_have_count(1)
    await expect(overdue).to_have_attribute("data-id", late)
    await expect(overdue.locator(".badge--deadline-vencido")).to_contain_text("hábiles")
    await informer.select_option("#filter-deadline", "breached")
    await expect(items).to_have_count(1)
    await overdue.click()
    await expect(informer.locator("#detail-meta")).to_contain_text("resolución antes del")
    assert await axe_problems(informer) == []
    await informer.screenshot(path=str(SHOTS / "desk-deadlines.png"), full_page=True)

    # A conversation of the queue reaches its warning: the worker tells the queue's agents live.
    soon = await handed_off(settings, 0, channel="whatsapp")
    async with database(settings) as session:
        await session.execute(
            update(Deadline)
            .where(Deadline.conversation_id == soon)
            .values(first_response_warn_at=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    notice = informer.locator("#toasts .toast", has_text="Aviso de plazo")
    await expect(notice).to_contain_text("vence pronto (1.ª respuesta)")

    # The supervisor's page: the escalations (two targets of the late one), then the report.
    supervisor = await desk_page(browser, web, *seeded["supervisor"])
    await supervisor.goto(f"{web}/desk/plazos")
    rows = supervisor.locator("#escalation-rows tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("telegram")
    await rows.first.get_by_role("button", name="Marcar revisada").click()
    await expect(rows).to_have_count(1)
    await expect(supervisor.locator("#plazos-rows tr").first).to_be_visible()
    assert serious(await axe_violations(supervisor, AXE)) == []
    await supervisor.screenshot(path=str(SHOTS / "deadlines-page.png"), full_page=True)

    # N1 has no report and no escalations: the page says so.
    await informer.goto(f"{web}/desk/plazos")
    await expect(informer.locator("#plazos-error")).to_contain_text("supervisión")
    await expect(informer.locator("#plazos-escalations")).to_be_hidden()
