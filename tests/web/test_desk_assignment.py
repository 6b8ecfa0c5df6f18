"""Assignment in the machine's Chromium: the informer becomes available from the header and gets
the hand-off automatically; the unit returns it to N1 with an answer (dialog, keyboard only),
which N1 sees prominently; N1 postpones it; the supervisor sees the team's status and load.
Screenshots go to the artifacts folder; axe-core checks the new parts."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from desk_api.settings import Settings
from tests.desk_api.test_assignment import ANSWER, bot_down_settings, hand_off
from tests.support.clients import DeskAgent
from tests.web.test_browser import SHOTS
from tests.web.test_desk_channels import desk_page
from tests.web.test_webchat_a11y import AXE, serious

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return bot_down_settings(database_url, tmp_path, monkeypatch)


async def axe_problems(page: Page, *selectors: str) -> list[str]:
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "([context, tags]) => axe.run(context, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        [{"include": [[s] for s in selectors]}, AXE_TAGS],
    )
    return serious(list(result["violations"]))


async def test_status_auto_assignment_return_to_n1_and_snooze(
    web: str, browser: Browser, seeded: dict[str, tuple[str, str]], database_url: str
) -> None:
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    n1_page = await desk_page(browser, web, *seeded["n1"])
    status = n1_page.locator("#agent-status")
    await expect(status).to_have_value("away")  # new agents start away
    await status.select_option("available")
    await expect(n1_page.locator("#agent-load")).to_have_text("0/5 abiertas")

    citizen = await hand_off(web)
    cid = citizen.conversation_id
    await expect(n1_page.locator(".toast").filter(has_text="Se le ha asignado")).to_be_visible()
    await expect(n1_page.locator("#agent-load")).to_have_text("1/5 abiertas")
    await n1_page.click("#tab-mine")
    await n1_page.locator(f'.conv-item[data-id="{cid}"]').click()
    await expect(n1_page.locator("#btn-snooze")).to_be_visible()
    await expect(n1_page.locator("#btn-return")).to_be_hidden()  # N1 derives, it does not return

    n1_api = await DeskAgent(web).login(*seeded["n1"])
    await n1_api.ok("POST", f"/conversations/{cid}/derive", json={
        "unit_code": "SAMPLE-DEP", "reason": "Valoración de la dependencia"})  # fmt: skip
    await n1_api.aclose()

    # The unit's specialist becomes available, gets it, and returns it — keyboard only.
    n2_page = await desk_page(browser, web, *seeded["n2"])
    await n2_page.locator("#agent-status").select_option("available")
    await expect(n2_page.locator("#agent-load")).to_have_text("1/5 abiertas")
    await n2_page.click("#tab-mine")
    await n2_page.locator(f'.conv-item[data-id="{cid}"]').click()
    await expect(n2_page.locator("#btn-return")).to_be_visible()
    await n2_page.focus("#btn-return")
    await n2_page.keyboard.press("Enter")
    await expect(n2_page.locator("#return-dialog")).to_be_visible()
    await expect(n2_page.locator("#return-answer")).to_be_focused()
    await n2_page.keyboard.press("Tab")
    await n2_page.keyboard.press("Tab")
    await expect(n2_page.locator("#return-dialog-submit")).to_be_focused()
    await n2_page.keyboard.press("Enter")  # empty: refused, in Spanish
    await expect(n2_page.locator("#return-dialog-error")).to_have_text(
        "Escriba la respuesta de la unidad para N1."
    )
    await n2_page.locator("#return-answer").press_sequentially(ANSWER[:40])
    await n2_page.locator("#return-answer").fill(ANSWER)
    await n2_page.screenshot(path=SHOTS / f"desk-return-dialog-{backend}.png", full_page=True)
    assert await axe_problems(n2_page, "#return-dialog") == []
    await n2_page.focus("#return-dialog-submit")
    await n2_page.keyboard.press("Enter")
    await expect(n2_page.locator("#return-dialog")).to_be_hidden()
    await expect(n2_page.locator("#agent-load")).to_have_text("0/5 abiertas")

    # Back to the N1 informer who derived it (available, with room), answer in full view.
    await expect(n1_page.locator(".toast").filter(has_text="ha devuelto")).to_be_visible()
    await n1_page.click("#tab-mine")
    await n1_page.locator(f'.conv-item[data-id="{cid}"]').click()
    answer = n1_page.locator("#unit-answer")
    await expect(answer).to_be_visible()
    await expect(answer.locator(".unit-answer__text")).to_have_text(ANSWER)
    await expect(answer).to_contain_text("Javier Romero")
    history = [m["text"] for m in (await citizen.history())["messages"]]
    assert not any("RESPUESTA-UNIDAD" in t for t in history)
    await n1_page.screenshot(path=SHOTS / f"desk-unit-answer-{backend}.png", full_page=True)
    assert await axe_problems(n1_page, "#unit-answer", ".agent-status", ".detail__actions") == []

    # «Posponer» until the citizen answers: out of «Mías», into «Pospuestas».
    await n1_page.click("#btn-snooze")
    await n1_page.check("#snooze-mode-reply")
    await expect(n1_page.locator("#snooze-until")).to_be_disabled()
    assert await axe_problems(n1_page, "#snooze-dialog") == []
    await n1_page.click("#snooze-dialog-submit")
    await expect(n1_page.locator("#snooze-dialog")).to_be_hidden()
    await expect(n1_page.locator("#btn-wake")).to_be_visible()
    await expect(n1_page.locator(f'#conversation-list .conv-item[data-id="{cid}"]')).to_have_count(
        0
    )
    await n1_page.click("#tab-snoozed")
    snoozed = n1_page.locator(f'.conv-item[data-id="{cid}"]')
    await expect(snoozed.locator(".badge--snoozed")).to_have_text("Pospuesta hasta que responda")
    await n1_page.set_viewport_size({"width": 390, "height": 844})  # a phone: still usable
    await expect(n1_page.locator("#agent-status")).to_be_visible()
    await n1_page.screenshot(path=SHOTS / f"desk-snoozed-phone-{backend}.png", full_page=True)
    await n1_page.set_viewport_size({"width": 1280, "height": 900})
    await citizen.say("Gracias, ¿entonces ya está valorada?")
    woken = n1_page.locator(".toast").filter(has_text="El ciudadano ha escrito")
    await expect(woken).to_be_visible()
    await expect(n1_page.locator(f'.conv-item[data-id="{cid}"]')).to_have_count(0)

    # The supervisor's panel: everyone's status and load, live.
    admin_page = await desk_page(browser, web, *seeded["admin"])
    await expect(admin_page.locator(".agent-status")).to_be_hidden()  # not assigned work
    await admin_page.click("#team-toggle")
    team = admin_page.locator("#team-dialog")
    await expect(team.locator("tr", has_text="Lucía Martín")).to_contain_text("Disponible")
    await expect(team.locator("tr", has_text="Lucía Martín")).to_contain_text("1 / 5")
    await expect(team.locator("tr", has_text="Pedro Sánchez")).to_contain_text("Ausente")
    await n1_page.locator("#agent-status").select_option("busy")
    await expect(team.locator("tr", has_text="Lucía Martín")).to_contain_text("Ocupado")
    await admin_page.screenshot(path=SHOTS / f"desk-team-{backend}.png", full_page=True)
    assert await axe_problems(admin_page, "#team-dialog") == []
    await citizen.aclose()
