"""«Modelos del asistente» in the machine's Chromium: the content team presses «Reentrenar» and
watches a real retrain job (its own process: training reused from bot/models when the data
hash matches, then a real `rasa test nlu`) move through its stages to the promoted version;
the analyst reads without the button; rollback asks for confirmation; axe finds nothing serious.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from bot import training
from bot.settings import BotSettings
from desk_api.services import accounts, model_registry
from desk_api.settings import Settings
from tests.support.db import database
from tests.support.servers import web_app_in_thread
from tests.web.test_browser import SHOTS
from tests.web.test_webchat_a11y import AXE, axe_violations, serious

# A browser test of the page: one database is enough (the registry's tests cover both).
pytestmark = [pytest.mark.rasa, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
def models_web(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if os.environ.get("TUA_TEST_NO_RASA"):
        pytest.skip("TUA_TEST_NO_RASA is set")
    models = tmp_path / "models"
    models.mkdir()
    cached = training.latest_model(BotSettings())
    if cached is not None:  # the job reuses the shipped data's model instead of training
        os.link(cached, models / cached.name)
    monkeypatch.setenv("TUA_MODELS_DIR", str(models))  # read by the job's own process
    settings = Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
    )

    async def seed() -> None:
        async with database(settings) as session:
            await accounts.seed_demo(session)
            await session.commit()

    asyncio.run(seed())
    with web_app_in_thread(settings) as base_url:
        yield base_url


async def signed_in(browser: Browser, web: str, username: str, password: str) -> Page:
    """The desk's session in this tab (what /desk stores after login), then the page."""
    async with httpx.AsyncClient(base_url=web) as http:
        login = await http.post(
            "/api/desk/auth/login", json={"username": username, "password": password}
        )
        token = login.json()["access_token"]
        me = (await http.get("/api/desk/me", headers={"Authorization": f"Bearer {token}"})).json()
    page = await (await browser.new_context(locale="es-ES")).new_page()
    await page.goto(f"{web}/desk/modelos")
    await page.evaluate(
        """([token, agent]) => {
            sessionStorage.setItem('tuatencion.desk.token', token);
            sessionStorage.setItem('tuatencion.desk.agent', JSON.stringify(agent));
        }""",
        [token, me],
    )
    await page.reload()
    await expect(page.locator("#models-page")).to_be_visible()
    return page


async def test_retrain_from_the_page_with_live_progress(
    models_web: str, browser: Browser, database_url: str
) -> None:
    assert AXE.exists(), "axe-core not found: run scripts/install-axe.sh"
    page = await signed_in(browser, models_web, "contenidos", "contenidos-tuatencion")
    await expect(page.locator("#models-empty")).to_be_visible()
    assert serious(await axe_violations(page, AXE)) == []

    await page.click("#models-retrain")
    await expect(page.locator("#models-retrain")).to_be_disabled()
    status = page.locator("#models-job-status")
    await expect(status).to_contain_text("Evaluación del modelo candidato", timeout=120_000)
    value = int(await page.locator("#models-progress").get_attribute("value") or "0")
    assert 0 < value < 100
    await page.screenshot(path=str(SHOTS / "models-progress.png"), full_page=True)
    assert serious(await axe_violations(page, AXE)) == []

    await expect(status).to_contain_text("Último reentrenamiento: Promovida", timeout=300_000)
    rows = page.locator("#models-rows tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("En servicio")
    await expect(rows.first).to_contain_text("contenidos")
    await page.screenshot(path=str(SHOTS / "models-list.png"), full_page=True)
    async with database(database_url) as session:
        promoted = await model_registry.promoted(session)
        assert promoted is not None and promoted.metrics and promoted.predictions

    # Rollback: a second version, promoted; «Revertir» on the first asks first.
    async with database(database_url) as session:
        other = await model_registry.register(
            session, file_name="otro.tar.gz", data_hash="otro", created_by="prueba"
        )
        await session.commit()
        await model_registry.promote(session, other.version, "admin")
    await page.reload()
    revert = page.get_by_role("button", name=f"Revertir a la versión {promoted.version}")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
    await revert.click()
    await expect(rows.filter(has_text=other.version)).to_contain_text("En servicio")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await revert.click()
    await expect(status).to_contain_text(f"La versión {promoted.version} vuelve a estar")
    await expect(rows.filter(has_text=promoted.version)).to_contain_text("En servicio")

    analyst = await signed_in(browser, models_web, "analista", "analista-tuatencion")
    await expect(analyst.locator("#models-rows tr")).to_have_count(2)
    await expect(analyst.locator("#models-retrain")).to_be_hidden()
    await expect(analyst.get_by_role("button", name="Revertir")).to_have_count(0)
