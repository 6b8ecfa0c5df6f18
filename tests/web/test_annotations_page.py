"""«Anotaciones» in the machine's Chromium: the content team signs in on /desk and lands on the
page; annotates with the keyboard (pick an alternative, save, noise, skip) and sees the next
item each time; marks an entity by selecting words; two annotators get different items; the
analyst reads only; axe-core finds nothing serious."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from desk_api.nlu_models import NluTurn
from desk_api.services import accounts
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.db import database
from tests.support.nlu import add_turn
from tests.support.servers import web_app_in_thread
from tests.web.test_browser import SHOTS
from tests.web.test_webchat_a11y import AXE, axe_violations, serious


@pytest.fixture
def rasa_stack() -> dict[str, str]:
    """The page needs no bot: the turns are inserted as the gateway records them."""
    return {"url": "http://127.0.0.1:9", "token": "unused", "model": "none"}


@pytest.fixture
def web(settings: Settings, seeded: dict[str, tuple[str, str]]) -> Iterator[str]:
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as base_url:
        yield base_url


async def seed(settings: Settings) -> dict[str, int]:
    async with database(settings) as session:
        await accounts.create_agent(session, "contenidos2", "Luis Prieto", "contenidos",
                                    "contenidos-clave-segura")  # fmt: skip
        lost = await add_turn(session, "blablabla no se", "nlu_fallback", 0.31, outcome="fallback")
        lost.ranking = [{"intent": "nlu_fallback", "confidence": 0.31},
                        {"intent": "fuera_de_ambito", "confidence": 0.28}]  # fmt: skip
        itv = await add_turn(session, "cuanto cuesta la itv de un coche en Mérida",
                             "informacion_tramite", 0.52)  # fmt: skip
        itv.ranking = [{"intent": "informacion_tramite", "confidence": 0.52},
                       {"intent": "pagar_tasa_itv", "confidence": 0.40}]  # fmt: skip
        handed = await add_turn(session, "mi dni es [DNI] y quiero hablar con alguien",
                                "hablar_con_agente", 0.93, outcome="handoff")  # fmt: skip
        calm = await add_turn(session, "hola buenas", "saludo", 0.99)
        await session.commit()
        return {"lost": lost.id, "itv": itv.id, "handed": handed.id, "calm": calm.id}


async def signed_in(browser: Browser, web: str, username: str, password: str) -> Page:
    page = await (await browser.new_context(locale="es-ES", accept_downloads=True)).new_page()
    await page.goto(f"{web}/desk")
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    return page


async def test_annotating_with_the_keyboard(
    web: str, browser: Browser, settings: Settings, seeded: dict[str, tuple[str, str]]
) -> None:
    assert AXE.exists(), "axe-core not found: run scripts/install-axe.sh"
    ids = await seed(settings)
    page = await signed_in(browser, web, *seeded["contenidos"])
    await expect(page).to_have_url(f"{web}/desk/anotaciones")  # not the attention inbox
    editor = page.locator("#ann-editor")
    text = page.locator("#ann-text")
    await expect(text).to_have_text("blablabla no se")  # the top item, reserved for Marta
    await expect(page.locator("#ann-badges")).to_contain_text("El asistente no entendió")
    await expect(page.locator("#ann-stats")).to_contain_text("Pendientes: 4")
    await expect(page.locator("#ann-list .item")).to_have_count(4)
    # j/k walk the list (highest priority first); k comes back to the reserved one.
    await page.locator("body").press("j")
    await expect(text).to_have_text("mi dni es [DNI] y quiero hablar con alguien")
    await expect(page.locator("#ann-list .item[aria-current='true']")).to_contain_text(
        "quiero hablar con alguien"
    )
    await page.locator("body").press("k")
    await expect(text).to_have_text("blablabla no se")
    assert serious(await axe_violations(page, AXE)) == []

    # A second annotator, meanwhile, gets the next one: the hand-off, placeholder styled.
    luis = await signed_in(browser, web, "contenidos2", "contenidos-clave-segura")
    luis_text = luis.locator("#ann-text")
    await expect(luis_text).to_have_text("mi dni es [DNI] y quiero hablar con alguien")
    await expect(luis_text.locator(".ph")).to_have_text("[DNI]")
    await expect(luis.locator("#ann-badges")).to_contain_text("Derivada a persona")

    # Marta: 2 picks «fuera_de_ambito» (the second alternative), c saves; the next item comes,
    # not Luis's.
    await page.locator("body").press("2")
    await expect(page.locator("#ann-intent")).to_have_value("fuera_de_ambito")
    await page.locator("body").press("c")
    await expect(page.locator("#ann-notice")).to_have_text("Corregido: fuera_de_ambito.")
    await expect(text).to_have_text("cuanto cuesta la itv de un coche en Mérida")
    await expect(page.locator("#ann-badges")).to_contain_text("Baja confianza 0,52")

    # She marks «Mérida» as the municipality by selecting it, searches the intent, saves.
    await page.evaluate(
        """() => {
          const node = document.querySelector('#ann-text').firstChild;
          const start = node.textContent.indexOf('Mérida');
          const range = document.createRange();
          range.setStart(node, start);
          range.setEnd(node, start + 'Mérida'.length);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }"""
    )
    await page.select_option("#ann-entity", "municipio")
    await page.click("#ann-mark")
    await expect(text.locator("mark.entity")).to_have_text("Mérida")
    assert serious(await axe_violations(page, AXE)) == []
    await page.screenshot(path=str(SHOTS / "anotaciones.png"), full_page=True)
    await page.locator("body").press("/")
    await expect(page.locator("#ann-intent")).to_be_focused()
    await page.fill("#ann-intent", "pagar_tasa_itv")
    await page.locator("#ann-intent").press("Escape")
    await page.locator("body").press("c")
    await expect(page.locator("#ann-notice")).to_have_text("Corregido: pagar_tasa_itv.")
    await expect(text).to_have_text("hola buenas")
    await page.locator("body").press("n")
    await expect(page.locator("#ann-notice")).to_have_text(
        "No quedan mensajes pendientes con estos filtros."
    )
    await expect(editor).to_be_hidden()

    # Luis skips his: nothing else is pending.
    await luis.locator("body").press("s")
    await expect(luis.locator("#ann-notice")).to_have_text(
        "No quedan mensajes pendientes con estos filtros."
    )

    async with database(settings) as session:
        rows = {
            turn.id: turn for turn in await session.scalars(select(NluTurn).order_by(NluTurn.id))
        }
    assert (rows[ids["lost"]].status, rows[ids["lost"]].reviewed_intent) == (
        "annotated", "fuera_de_ambito"
    )  # fmt: skip
    assert rows[ids["calm"]].status == "noise"
    assert rows[ids["itv"]].reviewed_intent == "pagar_tasa_itv"
    assert rows[ids["itv"]].reviewed_entities == [
        {"entity": "municipio", "start": 36, "end": 42, "value": "Mérida"}
    ]
    assert rows[ids["handed"]].status == "pending"

    # The analyst lands on the reports; on this page they read, without actions.
    analyst = await signed_in(browser, web, *seeded["analista"])
    await expect(analyst).to_have_url(f"{web}/desk/informes")
    await analyst.goto(f"{web}/desk/anotaciones")
    await expect(analyst.locator("#ann-text")).to_be_visible()
    await expect(analyst.locator("#ann-confirm")).to_be_hidden()
    await expect(analyst.locator("#ann-download")).to_be_hidden()
